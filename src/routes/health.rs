use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::json;

use crate::startup::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 only when the database answers and a signing key is loaded.
pub async fn readyz(app: Data<AppState>) -> HttpResponse {
    let database = app.db.ping().await;
    let keys = !app.keys.keys().is_empty();
    let body = json!({"database": database, "keys": keys});
    if database && keys {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::json;

use crate::state::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 only when the database answers and a signing key is loaded.
pub async fn readyz(app: Data<AppState>) -> HttpResponse {
    let readiness = app.health.check().await;
    if readiness.is_ready() {
        HttpResponse::Ok().json(readiness)
    } else {
        HttpResponse::ServiceUnavailable().json(readiness)
    }
}

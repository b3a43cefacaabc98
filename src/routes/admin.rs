//! The admin API (API.md §7): signing keys, for users with the `admin` role.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::error::Error;
use crate::keys::{KeyState, KeyTiming, Kid};
use crate::routes::error::{ApiError, ApiResult};
use crate::routes::extract::Authenticated;
use crate::routes::no_store;
use crate::state::AppState;

/// `GET /admin/keys`: every key this replica holds, oldest first, with its state.
pub async fn keys(
    app: Data<AppState>,
    Authenticated(user): Authenticated,
) -> ApiResult<HttpResponse> {
    require_admin(&user)?;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(json!({ "keys": key_entries(&app) })))
}

/// `POST /admin/keys/rotate`: adds the next key, as `idgate keys rotate` does. This replica
/// publishes it at once, the others at their next reload; it signs after `keys.publish_lead`.
pub async fn rotate(
    app: Data<AppState>,
    Authenticated(user): Authenticated,
) -> ApiResult<HttpResponse> {
    require_admin(&user)?;
    let (ring, bits) = (app.keys.clone(), app.settings.keys.rsa_bits);
    let kid = actix_web::web::block(move || ring.rotate(bits))
        .await
        .map_err(|error| Error::Internal(anyhow::anyhow!("the key rotation task failed: {error}")))?
        .map_err(Error::Internal)?;
    tracing::info!(user.id = %user.id, key.kid = %kid, "key rotation through the admin API");
    Ok(HttpResponse::Created()
        .insert_header(no_store())
        .json(json!({ "kid": kid, "keys": key_entries(&app) })))
}

fn require_admin(user: &crate::db::models::User) -> Result<(), ApiError> {
    if user.role_list().iter().any(|role| role == "admin") {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

fn key_entries(app: &AppState) -> Vec<Value> {
    let timing = KeyTiming::from_settings(&app.settings);
    app.keys
        .states(timing)
        .into_iter()
        .map(|(kid, created_at, state)| entry(&kid, created_at, state))
        .collect()
}

fn entry(kid: &Kid, created_at: i64, state: KeyState) -> Value {
    let mut entry = json!({
        "kid": kid,
        "state": state.name(),
        "created_at": rfc3339(created_at),
    });
    match state {
        KeyState::Published { signs_from } => entry["signs_from"] = json!(rfc3339(signs_from)),
        KeyState::Retired {
            retired_at,
            prunable_from,
        } => {
            entry["retired_at"] = json!(rfc3339(retired_at));
            entry["prunable_from"] = json!(rfc3339(prunable_from));
        }
        KeyState::Signing | KeyState::Prunable => {}
    }
    entry
}

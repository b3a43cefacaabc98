//! Revocation (RFC 7009) and introspection (RFC 7662): what a client may do with a token it
//! holds, after authenticating.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::error::OAuthResult;
use super::form::{OAuthForm, client_credentials};
use crate::error::Error;
use crate::routes::no_store;
use crate::state::AppState;

/// `POST /oauth/revoke`: 200 whether or not the token was live (§2.2), so that nothing is
/// learnt about tokens; a token of another client is left alone.
pub async fn revoke(
    app: Data<AppState>,
    request: HttpRequest,
    mut form: OAuthForm,
) -> OAuthResult<HttpResponse> {
    let credentials = client_credentials(&request, &mut form)?;
    let client = app.clients.authenticate(credentials).await?;
    let token = form.required("token")?;
    // `token_type_hint` may be sent; the token's own header says what it is.
    app.sessions.revoke_for_client(&token, &client.id).await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).finish())
}

/// `POST /oauth/introspect`: for a confidential client (a resource server), what a live
/// token says; `{"active": false}` for anything else.
pub async fn introspect(
    app: Data<AppState>,
    request: HttpRequest,
    mut form: OAuthForm,
) -> OAuthResult<HttpResponse> {
    let credentials = client_credentials(&request, &mut form)?;
    let client = app.clients.authenticate(credentials).await?;
    if client.public {
        // A public client proves nothing by its id alone.
        return Err(Error::InvalidClient.into());
    }
    let token = form.required("token")?;
    let body = match app.sessions.introspect(&token).await? {
        None => json!({ "active": false }),
        Some(found) => {
            let mut body = json!({
                "active": true,
                "scope": found.scope,
                "client_id": found.client_id,
                "sub": found.sub,
                "iss": found.iss,
                "aud": found.aud,
                "exp": found.exp,
                "iat": found.iat,
                "jti": found.jti,
                "token_type": if found.access { "Bearer" } else { "refresh_token" },
            });
            if let Some(username) = found.username {
                body["username"] = json!(username);
            }
            if let Some(sid) = found.sid {
                body["sid"] = json!(sid);
            }
            body
        }
    };
    Ok(HttpResponse::Ok().insert_header(no_store()).json(body))
}

//! `Authorization: Bearer <access token>` on idgate's own endpoints.

use crate::db::models::User;
use crate::error::Error;
use crate::startup::AppState;
use crate::tokens::AccessClaims;
use crate::tokens::refresh::ensure_session_live;
use crate::tokens::verify::verify_access;

const INVALID: Error = Error::Unauthenticated {
    reason: "Given token not valid for any token type",
    code: "token_not_valid",
};

/// The token of an `Authorization` header value, if it is a Bearer one.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, Error> {
    let value = authorization.ok_or(Error::Unauthenticated {
        reason: "Authentication credentials were not provided.",
        code: "not_authenticated",
    })?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(INVALID)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(INVALID);
    }
    Ok(token.trim())
}

/// Verifies an access token and loads its user: the session must be live and the user active.
pub async fn authenticate(app: &AppState, token: &str) -> Result<(AccessClaims, User), Error> {
    let claims = verify_access(&app.keys, &app.settings, token).map_err(|_| INVALID)?;
    let (sid, user_id) = (claims.sid.clone(), claims.sub.clone());
    let user = app
        .db
        .run(move |conn| {
            ensure_session_live(conn, &sid).map_err(|_| INVALID)?;
            Ok(User::find(conn, &user_id)?)
        })
        .await?;
    match user {
        Some(user) if user.is_active => Ok((claims, user)),
        _ => Err(INVALID),
    }
}

//! `GET|POST /userinfo` (OpenID Connect Core §5.3): the signed-in user's claims, as far as the
//! access token's scope releases them.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::error::{OAuthError, OAuthResult};
use crate::error::Error;
use crate::routes::extract::{BearerProblem, bearer_token};
use crate::routes::no_store;
use crate::scope::Scope;
use crate::state::AppState;
use crate::tokens::Identity;
use crate::tokens::claims::IdentityClaims;
use crate::tokens::issue::identity_claims;

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    identity: IdentityClaims,
}

pub async fn userinfo(app: Data<AppState>, request: HttpRequest) -> OAuthResult<HttpResponse> {
    let token = bearer_token(&request).map_err(|problem| match problem {
        BearerProblem::Missing => OAuthError::MissingToken,
        BearerProblem::Malformed => OAuthError::InvalidToken,
    })?;
    let (claims, user) = match app.sessions.authenticate(token).await {
        Ok(found) => found,
        Err(Error::TokenInvalid) => return Err(OAuthError::InvalidToken),
        Err(other) => return Err(other.into()),
    };
    let scope = Scope::from_stored(&claims.scope);
    if !scope.contains("openid") {
        return Err(OAuthError::InsufficientScope("openid"));
    }
    let identity = Identity {
        user_id: &user.id,
        username: &user.username,
        email: user.email.as_deref(),
    };
    Ok(HttpResponse::Ok().insert_header(no_store()).json(UserInfo {
        sub: user.id.clone(),
        identity: identity_claims(&identity, &scope),
    }))
}

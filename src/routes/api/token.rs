use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::web::Data;
use serde::Serialize;

use crate::auth::Credentials;
use crate::routes::error::ApiResult;
use crate::routes::extract::ClientAddress;
use crate::routes::input::{Fields, FromFields, Input};
use crate::routes::no_store;
use crate::routes::scheduling::yield_to_ready_requests;
use crate::sessions::IssuedTokens;
use crate::state::AppState;

impl FromFields for Credentials {
    fn from_fields(fields: &mut Fields) -> Self {
        Credentials {
            username: fields.required("username"),
            password: fields.required_secret("password"),
        }
    }
}

pub struct RefreshInput {
    refresh: String,
}

impl FromFields for RefreshInput {
    fn from_fields(fields: &mut Fields) -> Self {
        RefreshInput {
            refresh: fields.required("refresh"),
        }
    }
}

pub struct TokenInput {
    token: String,
}

impl FromFields for TokenInput {
    fn from_fields(fields: &mut Fields) -> Self {
        TokenInput {
            token: fields.required("token"),
        }
    }
}

/// simplejwt's answer to a sign-in or a refresh. `Debug` shows neither token.
#[derive(Serialize)]
pub struct TokenPair {
    pub access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

impl From<IssuedTokens> for TokenPair {
    fn from(tokens: IssuedTokens) -> Self {
        TokenPair {
            access: tokens.access,
            refresh: tokens.refresh,
        }
    }
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &"<redacted>")
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

pub async fn obtain_pair(
    app: Data<AppState>,
    ClientAddress(client): ClientAddress,
    body: Input<Credentials>,
) -> ApiResult<HttpResponse> {
    let user = app
        .authenticator
        .authenticate(body.into_inner(), client)
        .await?;
    let tokens = app.sessions.start(&user).await?;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(TokenPair::from(tokens)))
}

pub async fn refresh_pair(
    app: Data<AppState>,
    body: Input<RefreshInput>,
) -> ApiResult<HttpResponse> {
    let tokens = app.sessions.refresh(&body.into_inner().refresh).await?;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(TokenPair::from(tokens)))
}

pub async fn verify(app: Data<AppState>, body: Input<TokenInput>) -> ApiResult<HttpResponse> {
    app.sessions.verify(&body.into_inner().token).await?;
    yield_to_ready_requests().await;
    Ok(empty_object())
}

pub async fn blacklist(app: Data<AppState>, body: Input<RefreshInput>) -> ApiResult<HttpResponse> {
    app.sessions.blacklist(&body.into_inner().refresh).await?;
    Ok(empty_object())
}

/// `{}`, simplejwt's answer to a successful verify or blacklist, without serialising anything.
fn empty_object() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(no_store())
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body("{}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_token() {
        let pair = TokenPair {
            access: "eyJhbGciOiJSUzI1NiJ9.secret-access".into(),
            refresh: Some("eyJhbGciOiJIUzI1NiJ9.secret-refresh".into()),
        };
        let shown = format!("{pair:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        let issued = IssuedTokens {
            access: pair.access.clone(),
            refresh: pair.refresh.clone(),
            id_token: Some("eyJhbGciOiJSUzI1NiJ9.secret-id".into()),
            scope: crate::scope::Scope::default(),
            expires_in: 300,
        };
        let shown = format!("{issued:?} {:?}", TokenPair::from(issued.clone()));
        assert!(!shown.contains("secret"), "{shown}");
        let credentials = Credentials {
            username: "alice".into(),
            password: secrecy::SecretString::from("hunter2 hunter2"),
        };
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }
}

//! An actix-web extractor (feature `actix`): a handler that takes [`Authenticated`] runs only
//! for requests with a valid bearer access token.
//!
//! Register the [`Verifier`] as app data (`App::new().app_data(verifier.clone())`, or as
//! `web::Data<Verifier>`). Refusals follow RFC 6750: 401 with `WWW-Authenticate: Bearer` (and
//! `error="invalid_token"` when a token was given), 403 `insufficient_scope` from
//! [`Authenticated::require_scope`] and [`Authenticated::require_role`], and 503 while the
//! issuer's keys cannot be had. Bodies are JSON, `{"detail", "code"}`, as idgate's own.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use idgate_verifier::Verifier;
//! use idgate_verifier::actix::{AuthError, Authenticated};
//!
//! async fn orders(user: Authenticated) -> Result<HttpResponse, AuthError> {
//!     user.require_scope("orders:read")?;
//!     Ok(HttpResponse::Ok().body(format!("the orders of user {}", user.sub)))
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let verifier = Verifier::builder("https://id.example.com")
//!     .audience("https://id.example.com")
//!     .build()
//!     .expect("a valid configuration");
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(verifier.clone())
//!         .route("/orders/", web::get().to(orders))
//! })
//! .bind(("127.0.0.1", 8000))?
//! .run()
//! .await
//! # }
//! ```

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};

use crate::{Claims, Verifier, VerifyError};

/// The claims of the request's verified bearer token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl Deref for Authenticated {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl Authenticated {
    /// Refuses (403 `insufficient_scope`) unless the token has `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<&Self, AuthError> {
        if self.0.has_scope(scope) {
            Ok(self)
        } else {
            Err(AuthError::InsufficientScope(scope.to_owned()))
        }
    }

    /// Refuses (403) unless the user holds `role`.
    pub fn require_role(&self, role: &str) -> Result<&Self, AuthError> {
        if self.0.has_role(role) {
            Ok(self)
        } else {
            Err(AuthError::MissingRole(role.to_owned()))
        }
    }

    pub fn into_claims(self) -> Claims {
        self.0
    }
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("authentication credentials were not provided")]
    Missing,
    #[error(transparent)]
    Invalid(#[from] VerifyError),
    #[error("the token lacks the scope {0:?}")]
    InsufficientScope(String),
    #[error("the user lacks the role {0:?}")]
    MissingRole(String),
    /// No [`Verifier`] was registered as app data: a mistake in the service, not the request.
    #[error("no Verifier is registered as app data")]
    NotConfigured,
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::Missing => StatusCode::UNAUTHORIZED,
            AuthError::Invalid(error) if error.rejects_token() => StatusCode::UNAUTHORIZED,
            AuthError::Invalid(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::InsufficientScope(_) | AuthError::MissingRole(_) => StatusCode::FORBIDDEN,
            AuthError::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let challenge = match self {
            AuthError::Missing => Some("Bearer".to_owned()),
            AuthError::Invalid(error) if error.rejects_token() => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{error}\""
            )),
            AuthError::InsufficientScope(scope) => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|value| HeaderValue::from_str(&value).ok()) {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if matches!(self, AuthError::Invalid(VerifyError::KeysUnavailable(_))) {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        let (detail, code) = match self {
            AuthError::Missing => (
                "Authentication credentials were not provided.".to_owned(),
                "not_authenticated",
            ),
            // The reason of an unavailable key set names the issuer's URL: kept for the log.
            AuthError::Invalid(VerifyError::KeysUnavailable(_)) => (
                "Cannot check tokens right now; try again shortly.".to_owned(),
                "keys_unavailable",
            ),
            AuthError::Invalid(error) => (format!("{error}."), "token_not_valid"),
            AuthError::InsufficientScope(_) | AuthError::MissingRole(_) => {
                (format!("{self}."), "permission_denied")
            }
            AuthError::NotConfigured => ("Internal server error.".to_owned(), "internal_error"),
        };
        response.json(serde_json::json!({ "detail": detail, "code": code }))
    }
}

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Authenticated, AuthError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = request.app_data::<Verifier>().cloned().or_else(|| {
            request
                .app_data::<web::Data<Verifier>>()
                .map(|data| data.get_ref().clone())
        });
        let token = bearer_token(request);
        Box::pin(async move {
            let Some(verifier) = verifier else {
                tracing::error!("Authenticated used without a Verifier registered as app data");
                return Err(AuthError::NotConfigured);
            };
            let token = token.ok_or(AuthError::Missing)?;
            match verifier.verify(&token).await {
                Ok(claims) => Ok(Authenticated(claims)),
                Err(error) => {
                    if error.worth_logging() {
                        tracing::warn!(reason = error.code(), %error, "bearer token refused");
                    }
                    Err(AuthError::Invalid(error))
                }
            }
        })
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case, RFC 7235 §2.1).
fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::test::TestRequest;

    #[test]
    fn the_bearer_token_is_read_whatever_the_scheme_case() {
        let request = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "bearer abc.def.ghi"))
            .to_http_request();
        assert_eq!(bearer_token(&request).as_deref(), Some("abc.def.ghi"));
        let request = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic abc"))
            .to_http_request();
        assert_eq!(bearer_token(&request), None);
        let request = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer "))
            .to_http_request();
        assert_eq!(bearer_token(&request), None);
    }

    #[actix_web::test]
    async fn refusals_say_how_to_authenticate() {
        let response = AuthError::Invalid(VerifyError::Expired).error_response();
        assert_eq!(response.status(), 401);
        let challenge = response.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert!(
            challenge
                .to_str()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        );

        let response = AuthError::InsufficientScope("greet".into()).error_response();
        assert_eq!(response.status(), 403);
        let challenge = response.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert_eq!(
            challenge,
            "Bearer error=\"insufficient_scope\", scope=\"greet\""
        );

        let response = AuthError::Invalid(VerifyError::KeysUnavailable("http://x: refused".into()))
            .error_response();
        assert_eq!(response.status(), 503);
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
        let body = to_bytes(response.into_body()).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("http://x"));
    }
}

//! How the OAuth endpoints show what went wrong: RFC 6749 §5.2 JSON, `{"error",
//! "error_description"}`, with the status codes it names (`invalid_client` is 401 with a
//! `WWW-Authenticate` challenge); the request's own problems (404, 405, 413, 415) the same way.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;

pub type OAuthResult<T> = Result<T, OAuthError>;

/// An error on its way to an OAuth client.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// A parameter missing, repeated or malformed; a body that is not a form.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// A protected resource without a Bearer token (RFC 6750 §3.1: a challenge, no error code).
    #[error("no bearer token")]
    MissingToken,
    /// A Bearer token that is not a live access token.
    #[error("the bearer token is not valid")]
    InvalidToken,
    /// A live access token without the scope the resource needs.
    #[error("the token lacks scope {0}")]
    InsufficientScope(&'static str),
    #[error("not found")]
    NoRoute,
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
}

impl OAuthError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        match self {
            OAuthError::Domain(error) => match error {
                Error::InvalidClient => (
                    S::UNAUTHORIZED,
                    "invalid_client",
                    "Client authentication failed.".into(),
                ),
                Error::InvalidCredentials => (
                    S::BAD_REQUEST,
                    "invalid_grant",
                    "No active account found with the given credentials.".into(),
                ),
                Error::TokenInvalid => (
                    S::BAD_REQUEST,
                    "invalid_grant",
                    "The grant is invalid, expired, revoked, or was issued to another client."
                        .into(),
                ),
                Error::UnauthorizedClient(reason) => {
                    (S::BAD_REQUEST, "unauthorized_client", reason.clone())
                }
                Error::InvalidScope(reason) => (S::BAD_REQUEST, "invalid_scope", reason.clone()),
                Error::Fields(fields) => {
                    let reasons: Vec<String> = fields
                        .iter()
                        .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                        .collect();
                    (S::BAD_REQUEST, "invalid_request", reasons.join("; "))
                }
                Error::Throttled { retry_after } => (
                    S::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    format!(
                        "Too many failed sign-ins. Expected available in {retry_after} seconds."
                    ),
                ),
                Error::Busy { .. } => (
                    S::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "Too many sign-ins in progress; try again shortly.".into(),
                ),
                Error::Unavailable(reason) => {
                    tracing::error!(error = %reason, "service unavailable");
                    (
                        S::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "Service temporarily unavailable.".into(),
                    )
                }
                // Not outcomes of the token endpoint; shown plainly should one arise.
                Error::RegistrationClosed
                | Error::UsernameTaken
                | Error::ClientIdTaken
                | Error::NotFound(_) => (S::BAD_REQUEST, "invalid_request", error.to_string()),
                Error::Internal(error) => {
                    tracing::error!(error = format!("{error:#}"), "internal error");
                    (
                        S::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "Internal server error.".into(),
                    )
                }
            },
            OAuthError::InvalidRequest(reason) => {
                (S::BAD_REQUEST, "invalid_request", reason.clone())
            }
            OAuthError::UnsupportedGrantType(grant) => (
                S::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type {grant:?} is not supported; use authorization_code, \
                     refresh_token, client_credentials or password"
                ),
            ),
            OAuthError::PayloadTooLarge { limit } => (
                S::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("Request body is larger than {limit} bytes."),
            ),
            OAuthError::UnsupportedMediaType(media) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                format!(
                    "Unsupported media type \"{media}\"; send application/x-www-form-urlencoded."
                ),
            ),
            OAuthError::MissingToken => (
                S::UNAUTHORIZED,
                "invalid_request",
                "A Bearer access token is required.".into(),
            ),
            OAuthError::InvalidToken => (
                S::UNAUTHORIZED,
                "invalid_token",
                "The access token is invalid, expired or revoked.".into(),
            ),
            OAuthError::InsufficientScope(scope) => (
                S::FORBIDDEN,
                "insufficient_scope",
                format!("The access token lacks the scope {scope:?}."),
            ),
            OAuthError::NoRoute => (S::NOT_FOUND, "not_found", "Not found.".into()),
            OAuthError::MethodNotAllowed(method) => (
                S::METHOD_NOT_ALLOWED,
                "invalid_request",
                format!("Method \"{method}\" not allowed."),
            ),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, error, description) = self.parts();
        let mut response = HttpResponse::build(status);
        response.insert_header(super::super::no_store());
        match self {
            // RFC 6749 §5.2: a failed client authentication names the scheme to use.
            OAuthError::Domain(Error::InvalidClient) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"idgate\""),
                ));
            }
            OAuthError::MissingToken => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"idgate\""));
            }
            OAuthError::InvalidToken => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            OAuthError::InsufficientScope(scope) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
                ));
            }
            OAuthError::Domain(Error::Throttled { retry_after }) => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            OAuthError::Domain(Error::Busy { retry_after }) => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            OAuthError::Domain(Error::Unavailable(_)) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            _ => {}
        }
        response.json(json!({ "error": error, "error_description": description }))
    }
}

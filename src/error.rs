//! What can go wrong, once, and how the HTTP API shows it.
//!
//! Domain code returns [`Error`]; handlers return [`ApiResult`], whose [`ApiError`] renders the
//! shapes simplejwt clients expect (`{"detail", "code"}`, or `{"<field>": ["…"]}`). The mapping
//! to status codes is one exhaustive `match`, so a new variant forces a decision. Internal
//! errors are logged once, here, with their cause chain, and never shown to the client.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Messages per field, as Django REST framework reports validation errors.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no active account found with the given credentials")]
    InvalidCredentials,
    #[error("token is invalid or expired")]
    TokenInvalid,
    /// A Bearer-protected endpoint without a usable access token.
    #[error("{reason}")]
    Unauthenticated {
        reason: &'static str,
        code: &'static str,
    },
    #[error("invalid input: {0:?}")]
    Fields(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("registration is closed")]
    RegistrationClosed,
    #[error("a user with that username already exists")]
    UsernameTaken,
    #[error("{0} not found")]
    NotFound(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("not found")]
    NoRoute,
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Too much work queued; the client should come back shortly.
    #[error("{0}")]
    Busy(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// One field, one message.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Fields(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        Error::Internal(anyhow::Error::new(error).context("database"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// An [`Error`] on its way to an HTTP client of the JSON API.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

fn detail(detail: &str, code: &str) -> serde_json::Value {
    json!({ "detail": detail, "code": code })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            Error::InvalidCredentials | Error::TokenInvalid | Error::Unauthenticated { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Error::Fields(_) | Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::RegistrationClosed => StatusCode::FORBIDDEN,
            Error::UsernameTaken => StatusCode::CONFLICT,
            Error::NotFound(_) | Error::NoRoute => StatusCode::NOT_FOUND,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unavailable(_) | Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match &self.0 {
            Error::InvalidCredentials => detail(
                "No active account found with the given credentials",
                "no_active_account",
            ),
            Error::TokenInvalid => detail("Token is invalid or expired", "token_not_valid"),
            Error::Unauthenticated { reason, code } => detail(reason, code),
            Error::Fields(fields) => json!(fields),
            Error::BadRequest(reason) => detail(reason, "parse_error"),
            Error::RegistrationClosed => detail("Registration is closed.", "permission_denied"),
            Error::UsernameTaken => {
                json!({"username": ["A user with that username already exists."]})
            }
            Error::NotFound(what) => detail(&format!("{what} not found."), "not_found"),
            Error::NoRoute => detail("Not found.", "not_found"),
            Error::PayloadTooLarge { limit } => detail(
                &format!("Request body is larger than {limit} bytes."),
                "payload_too_large",
            ),
            Error::UnsupportedMediaType(media) => detail(
                &format!("Unsupported media type \"{media}\" in request."),
                "unsupported_media_type",
            ),
            Error::MethodNotAllowed(method) => detail(
                &format!("Method \"{method}\" not allowed."),
                "method_not_allowed",
            ),
            Error::Unavailable(reason) => {
                tracing::error!(error = %reason, "service unavailable");
                detail("Service temporarily unavailable.", "unavailable")
            }
            Error::Busy(reason) => detail(reason, "busy"),
            Error::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                detail("Internal server error.", "internal_error")
            }
        };
        let mut response = HttpResponse::build(self.status_code());
        match &self.0 {
            // RFC 6750 §3: a protected resource says how to authenticate.
            Error::Unauthenticated { .. } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                ));
            }
            Error::Unavailable(_) | Error::Busy(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            _ => {}
        }
        response.json(body)
    }
}

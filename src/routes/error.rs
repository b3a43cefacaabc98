//! How the JSON API shows what went wrong: the shapes simplejwt clients expect (`{"detail",
//! "code"}`, or `{"<field>": ["…"]}`), with the status codes of API.md §3–§6.
//!
//! [`ApiError`] is a domain [`Error`] or a problem of the request itself (its body, its path,
//! its credentials). Both matches below are exhaustive, so a new variant forces a decision.
//! Internal errors are logged here, once, with their cause chain, and never shown.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::Error;

pub type ApiResult<T> = Result<T, ApiError>;

/// An error on its way to a client of the JSON API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// A Bearer-protected endpoint without an `Authorization` header.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// A valid user without the role the endpoint needs.
    #[error("permission denied")]
    PermissionDenied,
    /// A Bearer-protected endpoint with a token that is not a live access token.
    #[error("the bearer token is not valid")]
    InvalidBearer,
    /// A body that is not JSON or a form, or cannot be read.
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("not found")]
    NoRoute,
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
}

fn detail(detail: &str, code: &str) -> serde_json::Value {
    json!({ "detail": detail, "code": code })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(error) => match error {
                Error::InvalidCredentials | Error::TokenInvalid => StatusCode::UNAUTHORIZED,
                Error::Fields(_) => StatusCode::BAD_REQUEST,
                Error::RegistrationClosed => StatusCode::FORBIDDEN,
                Error::UsernameTaken => StatusCode::CONFLICT,
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                Error::InvalidClient => StatusCode::UNAUTHORIZED,
                Error::UnauthorizedClient(_) => StatusCode::FORBIDDEN,
                Error::InvalidScope(_) => StatusCode::BAD_REQUEST,
                Error::ClientIdTaken => StatusCode::CONFLICT,
                Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                Error::Busy { .. } | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::NotAuthenticated | ApiError::InvalidBearer => StatusCode::UNAUTHORIZED,
            ApiError::PermissionDenied => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let body = match self {
            ApiError::Domain(error) => match error {
                Error::InvalidCredentials => detail(
                    "No active account found with the given credentials",
                    "no_active_account",
                ),
                Error::TokenInvalid => detail("Token is invalid or expired", "token_not_valid"),
                Error::Fields(fields) => json!(fields),
                Error::RegistrationClosed => detail("Registration is closed.", "permission_denied"),
                Error::UsernameTaken => {
                    json!({"username": ["A user with that username already exists."]})
                }
                Error::NotFound(what) => detail(&format!("{what} not found."), "not_found"),
                Error::InvalidClient => {
                    response.insert_header((
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"idgate\""),
                    ));
                    detail("Client authentication failed.", "invalid_client")
                }
                Error::UnauthorizedClient(reason) => detail(reason, "unauthorized_client"),
                Error::InvalidScope(reason) => detail(reason, "invalid_scope"),
                Error::ClientIdTaken => {
                    json!({"client_id": ["A client with that client_id already exists."]})
                }
                // Django REST framework's throttling answer, word for word.
                Error::Throttled { retry_after } => {
                    response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
                    detail(
                        &format!(
                            "Request was throttled. Expected available in {retry_after} seconds."
                        ),
                        "throttled",
                    )
                }
                Error::Busy { retry_after } => {
                    response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
                    detail("Too many sign-ins in progress; try again shortly.", "busy")
                }
                Error::Unavailable(reason) => {
                    tracing::error!(error = %reason, "service unavailable");
                    response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
                    detail("Service temporarily unavailable.", "unavailable")
                }
                Error::Internal(error) => {
                    tracing::error!(error = format!("{error:#}"), "internal error");
                    detail("Internal server error.", "internal_error")
                }
            },
            ApiError::NotAuthenticated => {
                bearer_challenge(&mut response);
                detail(
                    "Authentication credentials were not provided.",
                    "not_authenticated",
                )
            }
            ApiError::InvalidBearer => {
                bearer_challenge(&mut response);
                detail(
                    "Given token not valid for any token type",
                    "token_not_valid",
                )
            }
            // Django REST framework's wording.
            ApiError::PermissionDenied => detail(
                "You do not have permission to perform this action.",
                "permission_denied",
            ),
            ApiError::BadRequest(reason) => detail(reason, "parse_error"),
            ApiError::PayloadTooLarge { limit } => detail(
                &format!("Request body is larger than {limit} bytes."),
                "payload_too_large",
            ),
            ApiError::UnsupportedMediaType(media) => detail(
                &format!("Unsupported media type \"{media}\" in request."),
                "unsupported_media_type",
            ),
            ApiError::NoRoute => detail("Not found.", "not_found"),
            ApiError::MethodNotAllowed(method) => detail(
                &format!("Method \"{method}\" not allowed."),
                "method_not_allowed",
            ),
        };
        response.json(body)
    }
}

/// RFC 6750 §3: a protected resource says how to authenticate.
fn bearer_challenge(response: &mut actix_web::HttpResponseBuilder) {
    response.insert_header((
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    ));
}

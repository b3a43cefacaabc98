//! Rendering pages: the templates under `templates/`, the security headers every page sends,
//! and [`PageError`], the HTML renderer of the domain error.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;
use secrecy::ExposeSecret;

use crate::error::Error;
use crate::secrets;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub style_nonce: &'a str,
    pub action: &'a str,
    pub client_id: &'a str,
    pub csrf_token: &'a str,
    pub params: Vec<(&'a str, &'a str)>,
    pub username: &'a str,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    style_nonce: &'a str,
    heading: &'a str,
    message: &'a str,
    is_error: bool,
}

/// An HTML answer with the headers of API.md §6: a Content-Security-Policy that allows only
/// this page's own inline style (by nonce) and form posts to idgate itself and to
/// `form_target` (the app a successful sign-in redirects to: browsers check the redirect after
/// a form post against `form-action` too), no framing, no referrer, no caching.
pub fn html(
    status: StatusCode,
    form_target: Option<&str>,
    render: impl FnOnce(&str) -> askama::Result<String>,
) -> HttpResponse {
    let nonce = secrets::new_opaque();
    let nonce = nonce.expose_secret();
    let body = match render(nonce) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "rendering a page");
            return PageError::from(Error::Internal(anyhow::anyhow!("rendering a page")))
                .error_response();
        }
    };
    let form_action = match form_target {
        Some(target) => format!("'self' {target}"),
        None => "'self'".to_owned(),
    };
    let mut response = HttpResponse::build(status);
    security_headers(&mut response, nonce, &form_action);
    response.content_type("text/html; charset=utf-8").body(body)
}

fn security_headers(response: &mut HttpResponseBuilder, nonce: &str, form_action: &str) {
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).expect("the policy is ASCII"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
}

/// A page with a heading and one paragraph.
pub fn message(status: StatusCode, heading: &str, text: &str) -> HttpResponse {
    let is_error = status.is_client_error() || status.is_server_error();
    html(status, None, |style_nonce| {
        MessagePage {
            style_nonce,
            heading,
            message: text,
            is_error,
        }
        .render()
    })
}

/// A redirect (303: the browser follows with GET whatever the method was) with the page
/// headers; `Referrer-Policy: no-referrer` keeps idgate's URL, and its query, from the app.
pub fn redirect(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, location))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response
}

/// What went wrong, as a page for the person at the browser.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// The request cannot be served as sent; the text says why, for a person.
    #[error("{1}")]
    Status(StatusCode, String),
}

impl PageError {
    pub fn bad_request(text: impl Into<String>) -> PageError {
        PageError::Status(StatusCode::BAD_REQUEST, text.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Status(status, _) => *status,
            PageError::Domain(error) => match error {
                Error::Busy { .. } | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                Error::InvalidCredentials
                | Error::TokenInvalid
                | Error::InvalidClient
                | Error::UnauthorizedClient(_)
                | Error::InvalidScope(_)
                | Error::Fields(_)
                | Error::RegistrationClosed
                | Error::UsernameTaken
                | Error::ClientIdTaken => StatusCode::BAD_REQUEST,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let text = match self {
            PageError::Status(_, text) => text.clone(),
            PageError::Domain(Error::Internal(error)) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                "Something went wrong on our side. Please try again.".into()
            }
            PageError::Domain(Error::Unavailable(reason)) => {
                tracing::error!(error = %reason, "service unavailable");
                "The sign-in service is briefly unavailable. Please try again in a moment.".into()
            }
            PageError::Domain(Error::Busy { .. }) => {
                "Too many sign-ins are in progress. Please try again in a moment.".into()
            }
            PageError::Domain(other) => other.to_string(),
        };
        let heading = if status == StatusCode::NOT_FOUND {
            "Page not found"
        } else if status.is_server_error() {
            "Please try again"
        } else {
            "This request cannot be completed"
        };
        let mut response = message(status, heading, &text);
        if let PageError::Domain(Error::Busy { retry_after } | Error::Throttled { retry_after }) =
            self
        {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).expect("digits"),
            );
        }
        response
    }
}

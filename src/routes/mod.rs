//! Where paths meet handlers: the one place routes are registered.

pub mod api;
pub mod cors;
pub mod health;
pub mod input;
pub mod well_known;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, guard, web};

use crate::error::{ApiError, Error};

pub const JWKS: &str = "/.well-known/jwks.json";
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
pub const OAUTH_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const TOKEN_OBTAIN: &str = "/api/token";
pub const TOKEN_REFRESH: &str = "/api/token/refresh";
pub const TOKEN_VERIFY: &str = "/api/token/verify";
pub const TOKEN_BLACKLIST: &str = "/api/token/blacklist";
pub const USERS: &str = "/api/users";
pub const USERS_ME: &str = "/api/users/me";
pub const USERS_ME_PASSWORD: &str = "/api/users/me/password";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";

/// Registers every route, each under its path with and without a trailing slash, so
/// `/api/token/` and `/api/token` are the same resource (matched directly: rewriting the path
/// in a middleware costs a regex per request).
pub fn configure(config: &mut web::ServiceConfig) {
    use api::{token, users};
    config
        .service(get(JWKS).route(read().to(well_known::jwks)))
        .service(get(OPENID_CONFIGURATION).route(read().to(well_known::openid_configuration)))
        .service(get(OAUTH_SERVER_METADATA).route(read().to(well_known::openid_configuration)))
        .service(post(TOKEN_OBTAIN).route(web::post().to(token::obtain_pair)))
        .service(post(TOKEN_REFRESH).route(web::post().to(token::refresh_pair)))
        .service(post(TOKEN_VERIFY).route(web::post().to(token::verify)))
        .service(post(TOKEN_BLACKLIST).route(web::post().to(token::blacklist)))
        .service(post(USERS).route(web::post().to(users::register)))
        .service(get(USERS_ME).route(read().to(users::me)))
        .service(post(USERS_ME_PASSWORD).route(web::post().to(users::change_password)))
        .service(get(HEALTHZ).route(read().to(health::healthz)))
        .service(get(READYZ).route(read().to(health::readyz)))
        .default_service(web::to(not_found));
}

fn get(path: &str) -> actix_web::Resource {
    with_allowed(path, "GET, HEAD")
}

/// GET, and HEAD with the same headers and no body (actix drops it).
fn read() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

fn post(path: &str) -> actix_web::Resource {
    with_allowed(path, "POST")
}

/// A resource that answers other methods with a JSON 405 and an `Allow` header.
fn with_allowed(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(vec![path.to_owned(), format!("{path}/")]).default_service(web::to(
        move |request: HttpRequest| async move {
            let mut response = actix_web::ResponseError::error_response(&ApiError(
                Error::MethodNotAllowed(request.method().to_string()),
            ));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        },
    ))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(Error::NoRoute.into())
}

/// `Cache-Control: no-store` for every answer that carries a token or a secret.
pub fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

//! Where paths meet handlers: the one place routes are registered.

pub mod admin;
pub mod api;
pub mod error;
pub mod extract;
pub mod health;
pub mod input;
pub mod middleware;
pub mod oauth;
pub mod scheduling;
pub mod sso;
pub mod well_known;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, guard, web};

use self::error::ApiError;
use self::oauth::error::OAuthError;
use self::sso::pages::PageError;

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
pub const REVOCATIONS: &str = "/api/revocations";
pub const ADMIN_KEYS: &str = "/admin/keys";
pub const ADMIN_KEYS_ROTATE: &str = "/admin/keys/rotate";
pub const OAUTH_TOKEN: &str = "/oauth/token";
pub const OAUTH_REVOKE: &str = "/oauth/revoke";
pub const OAUTH_INTROSPECT: &str = "/oauth/introspect";
pub const USERINFO: &str = "/userinfo";
pub const AUTHORIZE: &str = "/authorize";
pub const LOGIN: &str = sso::authorize::LOGIN_PATH;
pub const LOGOUT: &str = "/logout";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";

/// What the web layer derives from the settings once, not per request.
pub struct WebConfig {
    /// `public, max-age=<keys.jwks_max_age>` for the JWKS and discovery documents.
    pub jwks_cache_control: HeaderValue,
}

impl WebConfig {
    pub fn from_settings(settings: &crate::config::Settings) -> WebConfig {
        let max_age = settings.keys.jwks_max_age.0.as_secs();
        WebConfig {
            jwks_cache_control: HeaderValue::from_str(&format!("public, max-age={max_age}"))
                .expect("digits are a valid header value"),
        }
    }
}

/// Registers every route, each under its path with and without a trailing slash, so
/// `/api/token/` and `/api/token` are the same resource. Each spelling is its own resource:
/// actix matches a single static path by comparing strings, but a resource with a list of paths
/// by a regex set, which cost verify a tenth of its CPU (`regex_lite` in `perf`), and rewriting
/// the path in a middleware costs a regex too.
pub fn configure(config: &mut web::ServiceConfig) {
    use Methods::{Read, ReadWrite, Write};
    use api::{revocations, token, users};
    route(config, Read, JWKS, well_known::jwks);
    route(
        config,
        Read,
        OPENID_CONFIGURATION,
        well_known::openid_configuration,
    );
    route(
        config,
        Read,
        OAUTH_SERVER_METADATA,
        well_known::openid_configuration,
    );
    route(config, Write, TOKEN_OBTAIN, token::obtain_pair);
    route(config, Write, TOKEN_REFRESH, token::refresh_pair);
    route(config, Write, TOKEN_VERIFY, token::verify);
    route(config, Write, TOKEN_BLACKLIST, token::blacklist);
    route(config, Write, USERS, users::register);
    route(config, Read, USERS_ME, users::me);
    route(config, Write, USERS_ME_PASSWORD, users::change_password);
    route(config, Read, REVOCATIONS, revocations::feed);
    route(config, Read, ADMIN_KEYS, admin::keys);
    route(config, Write, ADMIN_KEYS_ROTATE, admin::rotate);
    route(config, Write, OAUTH_TOKEN, oauth::token::token);
    route(config, Write, OAUTH_REVOKE, oauth::tokens::revoke);
    route(config, Write, OAUTH_INTROSPECT, oauth::tokens::introspect);
    route(config, ReadWrite, USERINFO, oauth::userinfo::userinfo);
    route(config, ReadWrite, AUTHORIZE, sso::authorize::authorize);
    route(config, Write, LOGIN, sso::authorize::login);
    route(config, ReadWrite, LOGOUT, sso::logout::logout);
    route(config, Read, HEALTHZ, health::healthz);
    route(config, Read, READYZ, health::readyz);
    config.default_service(web::to(not_found));
}

/// The methods a resource answers; every other method gets a JSON 405 with `Allow`.
#[derive(Clone, Copy)]
enum Methods {
    /// GET, and HEAD with the same headers and no body (actix drops it).
    Read,
    Write,
    /// GET, HEAD and POST (OpenID Connect's userinfo).
    ReadWrite,
}

impl Methods {
    fn allow(self) -> &'static str {
        match self {
            Methods::Read => "GET, HEAD",
            Methods::Write => "POST",
            Methods::ReadWrite => "GET, HEAD, POST",
        }
    }

    fn route(self) -> actix_web::Route {
        match self {
            Methods::Read => web::route().guard(guard::Any(guard::Get()).or(guard::Head())),
            Methods::Write => web::post(),
            Methods::ReadWrite => {
                web::route().guard(guard::Any(guard::Get()).or(guard::Head()).or(guard::Post()))
            }
        }
    }
}

/// Registers `handler` at `path` and at `path/`.
fn route<F, Args>(config: &mut web::ServiceConfig, methods: Methods, path: &str, handler: F)
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    for spelling in [path.to_owned(), format!("{path}/")] {
        let allow = methods.allow();
        let resource = web::resource(spelling)
            .route(methods.route().to(handler.clone()))
            .default_service(web::to(move |request: HttpRequest| async move {
                let method = request.method().to_string();
                let mut response = match Surface::of(request.path()) {
                    Surface::OAuth => actix_web::ResponseError::error_response(
                        &OAuthError::MethodNotAllowed(method),
                    ),
                    Surface::Page => actix_web::ResponseError::error_response(&PageError::Status(
                        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                        format!("This page does not answer {method}."),
                    )),
                    Surface::Api => actix_web::ResponseError::error_response(
                        &ApiError::MethodNotAllowed(method),
                    ),
                };
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                response
            }));
        config.service(resource);
    }
}

/// A 404 in the shape of the surface the path belongs to.
async fn not_found(request: HttpRequest) -> HttpResponse {
    match Surface::of(request.path()) {
        Surface::OAuth => actix_web::ResponseError::error_response(&OAuthError::NoRoute),
        Surface::Page => actix_web::ResponseError::error_response(&PageError::Status(
            actix_web::http::StatusCode::NOT_FOUND,
            "There is no page at this address.".into(),
        )),
        Surface::Api => actix_web::ResponseError::error_response(&ApiError::NoRoute),
    }
}

/// Which shape a path's errors take: simplejwt JSON, RFC 6749 JSON, or HTML pages.
enum Surface {
    Api,
    OAuth,
    Page,
}

impl Surface {
    fn of(path: &str) -> Surface {
        let trimmed = path.trim_end_matches('/');
        if path.starts_with("/oauth/") || trimmed == USERINFO {
            Surface::OAuth
        } else if [AUTHORIZE, LOGIN, LOGOUT].contains(&trimmed) {
            Surface::Page
        } else {
            Surface::Api
        }
    }
}

/// `Cache-Control: no-store` for every answer that carries a token or a secret.
pub fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

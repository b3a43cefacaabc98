use actix_web::http::header::{self, EntityTag, Header, HeaderValue, IfNoneMatch};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::routes::{self, WebConfig};
use crate::state::AppState;

/// The JWKS document: cacheable by anyone, revalidated with its strong ETag.
pub async fn jwks(app: Data<AppState>, web: Data<WebConfig>, request: HttpRequest) -> HttpResponse {
    let keys = app.keys.current();
    let jwks = keys.jwks();
    let not_modified = match request.headers().get(header::IF_NONE_MATCH) {
        None => false,
        // What revalidating clients send: the ETag they were given, as is. Parsing it into
        // actix's typed header costs a tenth of the request (callgrind), so only other forms
        // are parsed.
        Some(value) if value.as_bytes() == jwks.etag.as_bytes() => true,
        // RFC 9110 §13.1.2: If-None-Match compares weakly, and `*` matches any current document.
        Some(_) => match IfNoneMatch::parse(&request) {
            Ok(IfNoneMatch::Any) => true,
            Ok(IfNoneMatch::Items(tags)) => {
                let current = EntityTag::new_strong(jwks.tag().to_owned());
                tags.iter().any(|tag| tag.weak_eq(&current))
            }
            Err(_) => false,
        },
    };
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, web.jwks_cache_control.clone()))
        .insert_header((header::ETAG, jwks.etag.as_str()))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ));
    if not_modified {
        response.finish()
    } else {
        response
            .content_type("application/json")
            .body(jwks.body.clone())
    }
}

/// OpenID Connect Discovery 1.0 and RFC 8414 metadata. Lists only what this build serves.
pub async fn openid_configuration(app: Data<AppState>, web: Data<WebConfig>) -> HttpResponse {
    let settings = &app.settings;
    HttpResponse::Ok()
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .insert_header((header::CACHE_CONTROL, web.jwks_cache_control.clone()))
        .json(json!({
            "issuer": settings.issuer,
            "jwks_uri": settings.url(routes::JWKS),
            "authorization_endpoint": settings.url(routes::AUTHORIZE),
            "token_endpoint": settings.url(routes::OAUTH_TOKEN),
            "end_session_endpoint": settings.url(routes::LOGOUT),
            "userinfo_endpoint": settings.url(routes::USERINFO),
            "revocation_endpoint": settings.url(routes::OAUTH_REVOKE),
            "introspection_endpoint": settings.url(routes::OAUTH_INTROSPECT),
            "revocation_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "grant_types_supported":
                ["authorization_code", "refresh_token", "client_credentials", "password"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "jti", "sid", "scope", "client_id", "roles",
                "user_id", "token_type", "auth_time", "nonce", "azp", "at_hash",
                "preferred_username", "email", "email_verified"
            ],
        }))
}

//! The two middlewares every request passes: its tracing span, and CORS.
//!
//! CORS for browsers on the origins of `cors.allowed_origins` (the Fetch standard's CORS
//! protocol). Other origins get no CORS headers, so browsers keep their answers from scripts;
//! the public documents (JWKS, discovery) allow every origin on their own. (`actix-cors` was
//! weighed and not taken: it overwrites the `*` of the public documents with the caller's
//! origin, answers every `OPTIONS` as a preflight, refuses unlisted origins with 400 rather than
//! answering without CORS headers, and boxes every request's future, verify's included.)

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use tracing::Instrument;

use crate::state::AppState;

const ALLOWED_METHODS: &str = "GET, HEAD, POST";
const ALLOWED_HEADERS: &str = "authorization, content-type";
/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "600";

pub async fn cors(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let allowed_origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|origin| {
            let origins = &request
                .app_data::<web::Data<AppState>>()
                .expect("AppState is registered by startup")
                .settings
                .cors
                .allowed_origins;
            origins
                .iter()
                .any(|allowed| allowed == "*" || origin.as_bytes() == allowed.as_bytes())
        })
        .cloned();
    let Some(origin) = allowed_origin else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = HttpResponse::build(StatusCode::NO_CONTENT)
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
            .insert_header((header::VARY, HeaderValue::from_static("Origin")))
            .finish();
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(response.map_into_left_body())
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const REQUEST_ID_PREFIX_LEN: usize = 16;

/// A random prefix per process and a counter: unique, and no `getrandom` call per request
/// (request ids identify, they are not secrets). Written straight into the header value: this
/// runs on every request, and `format!` plus a second copy showed in verify's profile.
fn next_request_id() -> HeaderValue {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<[u8; REQUEST_ID_PREFIX_LEN]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut prefix = [0; REQUEST_ID_PREFIX_LEN];
        let random = uuid::Uuid::new_v4().simple().to_string();
        prefix.copy_from_slice(&random.as_bytes()[..REQUEST_ID_PREFIX_LEN]);
        prefix
    });
    request_id(prefix, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `<prefix>-<count in hex>`, at least 8 digits and more once the count needs them.
fn request_id(prefix: &[u8; REQUEST_ID_PREFIX_LEN], count: u64) -> HeaderValue {
    let digits = (16 - count.leading_zeros() as usize / 4).max(8);
    let mut id = [0u8; REQUEST_ID_PREFIX_LEN + 1 + 16];
    id[..REQUEST_ID_PREFIX_LEN].copy_from_slice(prefix);
    id[REQUEST_ID_PREFIX_LEN] = b'-';
    let hex = &mut id[REQUEST_ID_PREFIX_LEN + 1..][..digits];
    for (position, byte) in hex.iter_mut().enumerate() {
        let nibble = (count >> (4 * (digits - 1 - position))) & 0xf;
        *byte = b"0123456789abcdef"[nibble as usize];
    }
    HeaderValue::from_bytes(&id[..REQUEST_ID_PREFIX_LEN + 1 + digits])
        .expect("a hex prefix and hex digits are a valid header value")
}

fn is_sane_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
}

/// One span per request: method, path (never the query, which could carry a secret), status,
/// latency and a request id, taken from `X-Request-Id` when the caller sent a sane one.
pub async fn request_span(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|id| is_sane_request_id(id.as_bytes()))
        .cloned()
        .unwrap_or_else(next_request_id);
    let span = tracing::info_span!(
        "request",
        http.method = %request.method(),
        http.path = %request.path(),
        request.id = request_id.to_str().unwrap_or_default(),
        http.status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let outcome = next.call(request).instrument(span.clone()).await;
    // Formatting a float costs about a microsecond; only pay it when the span is logged.
    if !span.is_disabled() {
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("latency_ms", format!("{latency_ms:.2}"));
    }
    match outcome {
        Ok(mut response) => {
            let status = response.status().as_u16();
            span.record("http.status", status);
            response.headers_mut().insert(REQUEST_ID, request_id);
            span.in_scope(|| tracing::info!("request finished"));
            Ok(response)
        }
        Err(error) => {
            span.in_scope(|| tracing::warn!(error = %error, "request failed"));
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_prefix_dash_hex() {
        let prefix = b"0123456789abcdef";
        assert_eq!(request_id(prefix, 0), "0123456789abcdef-00000000");
        assert_eq!(request_id(prefix, 0xbeef), "0123456789abcdef-0000beef");
        assert_eq!(request_id(prefix, 1 << 32), "0123456789abcdef-100000000");
        assert_eq!(
            request_id(prefix, u64::MAX),
            "0123456789abcdef-ffffffffffffffff"
        );
        assert_ne!(next_request_id(), next_request_id());
    }

    #[test]
    fn only_short_plain_request_ids_are_echoed() {
        assert!(is_sane_request_id(b"trace-42_a.b"));
        assert!(!is_sane_request_id(b""));
        assert!(!is_sane_request_id(b"a b"));
        assert!(!is_sane_request_id(b"<script>"));
        assert!(!is_sane_request_id(&[b'a'; 65]));
    }
}

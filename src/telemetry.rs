//! The tracing subscriber (pretty for people, JSON for machines) and the per-request span.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber; `RUST_LOG`, when set, overrides `log.level`.
pub fn init(settings: &LogSettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests build many apps in one process) keeps the first subscriber.
    let _ = match settings.format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
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

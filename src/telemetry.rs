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

/// A random prefix per process and a counter: unique, and no `getrandom` call per request
/// (request ids identify, they are not secrets).
fn next_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned());
    format!("{prefix}-{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed))
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
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(next_request_id);
    let span = tracing::info_span!(
        "request",
        http.method = %request.method(),
        http.path = %request.path(),
        request.id = %request_id,
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
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            span.in_scope(|| tracing::info!("request finished"));
            Ok(response)
        }
        Err(error) => {
            span.in_scope(|| tracing::warn!(error = %error, "request failed"));
            Err(error)
        }
    }
}

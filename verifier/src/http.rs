//! The few HTTP requests the verifier makes (discovery, JWKS, revocation feed), blocking, on
//! threads of the verifier's own: no async runtime is assumed.

use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{TlsConfig, TlsProvider};

/// Larger answers than this are not a JWKS or a revocation feed.
const MAX_BODY_BYTES: u64 = 1 << 20;

/// An answer, reduced to what the verifier reads.
pub(crate) struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    /// `Cache-Control: max-age`, or 0 for `no-cache`/`no-store`.
    pub max_age: Option<u64>,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new(timeout: Duration) -> Http {
        // rustls on aws-lc-rs, the cryptography the verifier checks signatures with: one C
        // library, not two.
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(3)
            .user_agent(concat!("idgate-verifier/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .new_agent();
        Http { agent }
    }

    /// GETs `url` with `headers`; an `Err` says, in one line, why no answer came.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Answer, String> {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request
            .call()
            .map_err(|error| format!("GET {url}: {error}"))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let max_age = header("cache-control").and_then(|value| max_age(&value));
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|error| format!("GET {url}: reading the answer: {error}"))?;
        Ok(Answer {
            status,
            etag,
            max_age,
            body,
        })
    }
}

/// The freshness lifetime a `Cache-Control` value gives, in seconds.
fn max_age(cache_control: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-cache" || directive == "no-store" {
            return Some(0);
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse().ok();
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::max_age;

    #[test]
    fn cache_control_gives_the_freshness_lifetime() {
        assert_eq!(max_age("public, max-age=300"), Some(300));
        assert_eq!(max_age("Max-Age=60"), Some(60));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("public, no-cache, max-age=300"), Some(0));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}

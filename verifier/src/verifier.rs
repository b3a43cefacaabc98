//! The verifier: configuration, and the checks every access token must pass.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::claims::Claims;
use crate::error::{ConfigError, VerifyError};
use crate::http::Http;
use crate::keys::{KeyCache, KeyPolicy, KeySource};
use crate::revocations::{Poller, RevocationFeed, RevocationList, RevocationStatus};

/// The signature algorithm tokens must use. It is fixed by configuration and compared with
/// the token's header, never taken from it: a token saying `none` or `HS256` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, what idgate signs access tokens with.
    #[default]
    RS256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
        }
    }
}

/// Verifies idgate access tokens offline. Cheap to clone: clones share one key cache and one
/// revocation list, and the background threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    algorithm: Algorithm,
    leeway: i64,
    keys: Arc<KeyCache>,
    revocations: Option<Arc<RevocationList>>,
    _poller: Option<Poller>,
}

/// Configures a [`Verifier`]; see [`Verifier::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    issuer: String,
    audience: Option<String>,
    jwks_uri: Option<String>,
    algorithm: Algorithm,
    leeway: Duration,
    policy: KeyPolicy,
    fetch_timeout: Duration,
    revocations: Option<RevocationFeed>,
}

impl Verifier {
    /// Starts configuring a verifier of tokens from `issuer` (exactly as idgate's `issuer`
    /// setting and its tokens' `iss` say it). The keys are found through the issuer's discovery
    /// document unless [`VerifierBuilder::jwks_uri`] names them.
    pub fn builder(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
            audience: None,
            jwks_uri: None,
            algorithm: Algorithm::RS256,
            leeway: Duration::from_secs(15),
            policy: KeyPolicy {
                unknown_kid_interval: Duration::from_secs(30),
                max_stale: Duration::from_secs(3600),
                min_fresh: Duration::from_secs(5),
                max_fresh: Duration::from_secs(86400),
                default_fresh: Duration::from_secs(300),
            },
            fetch_timeout: Duration::from_secs(5),
            revocations: None,
        }
    }

    /// Verifies an access token: its header (the configured algorithm, `typ: at+jwt`, a `kid`
    /// of the issuer's), its signature, `token_type: access`, `iss`, `aud`, `exp`, `nbf` and
    /// `iat` (with the leeway), and — when the revocation feed is polled — that its session was
    /// not signed out. Waits for the issuer only when no key it holds has the token's `kid`.
    ///
    /// The future needs no particular runtime:
    ///
    /// ```no_run
    /// # async fn example(verifier: idgate_verifier::Verifier, header: &str) {
    /// let token = header.strip_prefix("Bearer ").unwrap_or_default();
    /// match verifier.verify(token).await {
    ///     Ok(claims) if claims.has_role("admin") => { /* … */ }
    ///     Ok(_) => { /* 403 */ }
    ///     Err(error) if error.rejects_token() => { /* 401 */ }
    ///     Err(_) => { /* 503: the issuer's keys are unavailable */ }
    /// }
    /// # }
    /// ```
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let inner = &*self.inner;
        let (signing_input, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(VerifyError::Malformed)?;
        if payload.contains('.') {
            return Err(VerifyError::Malformed);
        }
        let kid = inner.check_header(header)?;
        let keys = inner.keys.keys_for(&kid).await?;
        let key = keys.get(&kid).ok_or(VerifyError::UnknownKey)?;
        let signature = decode_limited(signature, MAX_SIGNATURE_BYTES)?;
        key.verify_sig(signing_input.as_bytes(), &signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| VerifyError::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
        inner.check_claims(&claims, unix_now())?;
        Ok(claims)
    }

    /// Fetches the issuer's keys now, so that the first request does not wait for them; an
    /// error says why they could not be fetched (the verifier keeps trying on its own).
    pub async fn warm_up(&self) -> Result<(), VerifyError> {
        self.inner.keys.refresh().await
    }

    /// How polling the revocation feed goes; `None` when it is not polled.
    pub fn revocation_status(&self) -> Option<RevocationStatus> {
        self.inner.revocations.as_ref().map(|list| list.status())
    }

    /// The issuer tokens must come from.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience tokens must name.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("algorithm", &self.inner.algorithm)
            .finish_non_exhaustive()
    }
}

/// Longer headers and signatures than these are no RS256 access token's.
const MAX_HEADER_BYTES: usize = 1024;
const MAX_SIGNATURE_BYTES: usize = 1024;

/// The header members looked at. `jku`, `jwk`, `x5u` and `x5c` are never read: keys come
/// from the configured issuer only, whatever a token says.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    /// RFC 7515 §4.1.11: extensions the verifier must understand; it understands none.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

impl Inner {
    /// Checks the header; returns the token's `kid`.
    fn check_header(&self, encoded: &str) -> Result<String, VerifyError> {
        let header = decode_limited(encoded, MAX_HEADER_BYTES)?;
        let header: Header = serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
        if header.alg != self.algorithm.as_str() {
            return Err(VerifyError::Algorithm(header.alg.into_owned()));
        }
        if header.crit.is_some() {
            return Err(VerifyError::Malformed);
        }
        // RFC 9068 §4: `at+jwt`, which may be written with its media-type prefix.
        let typ = header.typ.as_deref().unwrap_or_default();
        let typ = typ
            .get(..12)
            .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
            .map_or(typ, |_| &typ[12..]);
        if !typ.eq_ignore_ascii_case("at+jwt") {
            return Err(VerifyError::NotAccessToken);
        }
        header
            .kid
            .map(Cow::into_owned)
            .ok_or(VerifyError::UnknownKey)
    }

    fn check_claims(&self, claims: &Claims, now: i64) -> Result<(), VerifyError> {
        if claims.token_type != "access" {
            return Err(VerifyError::NotAccessToken);
        }
        if claims.iss != self.issuer {
            return Err(VerifyError::Issuer);
        }
        if !claims.aud.contains(&self.audience) {
            return Err(VerifyError::Audience);
        }
        if now > claims.exp.saturating_add(self.leeway) {
            return Err(VerifyError::Expired);
        }
        let not_before = claims.nbf.unwrap_or(i64::MIN).max(claims.iat);
        if not_before > now.saturating_add(self.leeway) {
            return Err(VerifyError::NotYetValid);
        }
        if let (Some(list), Some(sid)) = (&self.revocations, &claims.sid)
            && list.is_revoked(sid)
        {
            return Err(VerifyError::Revoked);
        }
        Ok(())
    }
}

fn decode_limited(encoded: &str, limit: usize) -> Result<Vec<u8>, VerifyError> {
    if encoded.len() > limit * 4 / 3 + 4 {
        return Err(VerifyError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| VerifyError::Malformed)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

impl VerifierBuilder {
    /// The audience this service is: a token must name it in `aud` (idgate's
    /// `tokens.audience`, by default its issuer URL). Required.
    pub fn audience(mut self, audience: impl Into<String>) -> VerifierBuilder {
        self.audience = Some(audience.into());
        self
    }

    /// Where the issuer's JWKS is, skipping discovery.
    pub fn jwks_uri(mut self, jwks_uri: impl Into<String>) -> VerifierBuilder {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// The algorithm tokens must be signed with (RS256, the default).
    pub fn algorithm(mut self, algorithm: Algorithm) -> VerifierBuilder {
        self.algorithm = algorithm;
        self
    }

    /// How far `exp`, `nbf` and `iat` may be off, for clocks apart (default 15 s).
    pub fn leeway(mut self, leeway: Duration) -> VerifierBuilder {
        self.leeway = leeway;
        self
    }

    /// The shortest time between two fetches caused by tokens with an unknown `kid` (default
    /// 30 s): tokens with forged `kid`s cause at most one fetch per interval.
    pub fn unknown_kid_interval(mut self, interval: Duration) -> VerifierBuilder {
        self.policy.unknown_kid_interval = interval;
        self
    }

    /// How long past its freshness a key set is still used while the issuer cannot be reached
    /// (default 1 hour); after that, verification fails with
    /// [`VerifyError::KeysUnavailable`] until the issuer answers again.
    pub fn max_stale(mut self, max_stale: Duration) -> VerifierBuilder {
        self.policy.max_stale = max_stale;
        self
    }

    /// Bounds on how long a fetched key set is fresh: the issuer's `Cache-Control: max-age`,
    /// but no less than `min` (default 5 s) and no more than `max` (default 1 day).
    pub fn freshness_bounds(mut self, min: Duration, max: Duration) -> VerifierBuilder {
        self.policy.min_fresh = min;
        self.policy.max_fresh = max.max(min);
        self
    }

    /// How long one request to the issuer may take (default 5 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> VerifierBuilder {
        self.fetch_timeout = timeout;
        self
    }

    /// Polls idgate's revocation feed, so that tokens of signed-out sessions are refused
    /// within one poll interval instead of at their expiry.
    pub fn revocations(mut self, feed: RevocationFeed) -> VerifierBuilder {
        self.revocations = Some(feed);
        self
    }

    /// Checks the configuration and starts the revocation poller, if any. Keys are fetched on
    /// first use (or by [`Verifier::warm_up`]).
    pub fn build(self) -> Result<Verifier, ConfigError> {
        check_url("issuer", &self.issuer)?;
        if let Some(uri) = &self.jwks_uri {
            check_url("jwks_uri", uri)?;
        }
        let audience = self
            .audience
            .filter(|audience| !audience.is_empty())
            .ok_or_else(|| {
                ConfigError("an audience is required: the service's name in tokens' aud".into())
            })?;
        let http = Http::new(self.fetch_timeout);
        let (revocations, poller) = match self.revocations {
            None => (None, None),
            Some(feed) => {
                let url = feed.url.clone().unwrap_or_else(|| {
                    format!("{}/api/revocations", self.issuer.trim_end_matches('/'))
                });
                check_url("revocation feed url", &url)?;
                if feed.interval.is_zero() {
                    return Err(ConfigError(
                        "the revocation poll interval must not be 0".into(),
                    ));
                }
                let list = Arc::new(RevocationList::default());
                let poller = Poller::start(feed, url, http.clone(), self.leeway, list.clone())
                    .map_err(|error| {
                        ConfigError(format!("cannot start the revocation poller: {error}"))
                    })?;
                (Some(list), Some(poller))
            }
        };
        let source = KeySource {
            http,
            issuer: self.issuer.clone(),
            jwks_uri: Mutex::new(self.jwks_uri),
        };
        Ok(Verifier {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                audience,
                algorithm: self.algorithm,
                leeway: self.leeway.as_secs() as i64,
                keys: Arc::new(KeyCache::new(source, self.policy)),
                revocations,
                _poller: poller,
            }),
        })
    }
}

fn check_url(what: &str, text: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(text)
        .map_err(|error| ConfigError(format!("{what} {text:?} is not a URL: {error}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(ConfigError(format!(
            "{what} {text:?} must be an http or https URL"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_needs_an_audience_and_urls() {
        let error = Verifier::builder("https://id.example.com")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("audience"), "{error}");
        let error = Verifier::builder("id.example.com")
            .audience("api")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("not a URL"), "{error}");
        let error = Verifier::builder("ftp://id.example.com")
            .audience("api")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("http or https"), "{error}");
        let verifier = Verifier::builder("https://id.example.com")
            .audience("api")
            .build()
            .unwrap();
        assert_eq!(verifier.audience(), "api");
        assert_eq!(verifier.revocation_status(), None);
    }
}

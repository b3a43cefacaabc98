//! The issuer's public keys: fetched from its JWKS, cached as its `Cache-Control` says,
//! revalidated with `ETag`, and swapped whole so that a verification sees one set or the other.
//!
//! A verification never waits for a fetch while it knows the token's key: an expired copy is
//! revalidated in the background and used meanwhile, for at most `max_stale` past its freshness
//! when the issuer cannot be reached. It waits only when it holds no key set yet, or the
//! token's `kid` is unknown (a key published after the last fetch) — and then at most one fetch
//! runs at a time, for every waiter, and an unknown `kid` causes at most one fetch per
//! `unknown_kid_interval`, so forged `kid`s cannot make the verifier hammer the issuer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tokio::sync::watch;

use crate::error::VerifyError;
use crate::http::Http;

/// How the cache treats time.
#[derive(Debug, Clone)]
pub(crate) struct KeyPolicy {
    pub unknown_kid_interval: Duration,
    pub max_stale: Duration,
    /// Bounds on the freshness lifetime the issuer's `Cache-Control` gives (the lower bound
    /// keeps `no-cache` from meaning a fetch per request), and the lifetime when it gives none.
    pub min_fresh: Duration,
    pub max_fresh: Duration,
    pub default_fresh: Duration,
}

/// One fetched JWKS: the usable keys by `kid`, and how long they may be used.
pub(crate) struct KeySet {
    keys: Arc<HashMap<String, ParsedPublicKey>>,
    etag: Option<String>,
    fresh_until: Instant,
    stale_until: Instant,
}

impl KeySet {
    pub fn get(&self, kid: &str) -> Option<&ParsedPublicKey> {
        self.keys.get(kid)
    }
}

/// Where the keys come from: a JWKS URL given, or found by discovery on the first fetch.
pub(crate) struct KeySource {
    pub http: Http,
    pub issuer: String,
    pub jwks_uri: Mutex<Option<String>>,
}

#[derive(Default)]
struct FetchState {
    /// The fetch under way, which every verification that needs one waits for.
    in_flight: Option<watch::Receiver<bool>>,
    last_attempt: Option<Instant>,
    /// The last fetch an unknown `kid` caused: only those count against
    /// `unknown_kid_interval`. A fetch at start or at max-age must not hold back, for the rest
    /// of the interval, a key that begins to sign just after it.
    last_unknown_kid_fetch: Option<Instant>,
    /// Failed fetches since the last success, which space retries out.
    failures: u32,
    last_error: Option<String>,
    unreachable_since: Option<SystemTime>,
}

pub(crate) struct KeyCache {
    current: RwLock<Option<Arc<KeySet>>>,
    state: Mutex<FetchState>,
    source: KeySource,
    policy: KeyPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// No key set held yet, or the held one is past its stale bound.
    Keys,
    /// A key set is held but lacks the token's `kid`.
    UnknownKid,
    /// The held set is past its freshness: revalidate in the background.
    Revalidation,
}

impl KeyCache {
    pub fn new(source: KeySource, policy: KeyPolicy) -> KeyCache {
        KeyCache {
            current: RwLock::new(None),
            state: Mutex::new(FetchState::default()),
            source,
            policy,
        }
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn state(&self) -> MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A key set holding `kid`, fetching one first only when none held will do.
    pub async fn keys_for(self: &Arc<Self>, kid: &str) -> Result<Arc<KeySet>, VerifyError> {
        let now = Instant::now();
        let need = match self.current() {
            Some(set) if set.keys.contains_key(kid) && now < set.stale_until => {
                if now >= set.fresh_until {
                    self.start_fetch(Need::Revalidation);
                }
                return Ok(set);
            }
            Some(set) if now < set.stale_until => Need::UnknownKid,
            _ => Need::Keys,
        };
        if let Some(mut done) = self.start_fetch(need) {
            // An error means the fetching thread died; what it left is judged below.
            let _ = done.wait_for(|done| *done).await;
        }
        let now = Instant::now();
        match self.current() {
            Some(set) if now < set.stale_until => {
                if set.keys.contains_key(kid) {
                    Ok(set)
                } else {
                    Err(VerifyError::UnknownKey)
                }
            }
            _ => Err(VerifyError::KeysUnavailable(self.why_unavailable())),
        }
    }

    /// Fetches now (unless a fetch is under way, which is joined) and waits for the outcome.
    pub async fn refresh(self: &Arc<Self>) -> Result<(), VerifyError> {
        let done = {
            let mut state = self.state();
            match state.in_flight.clone() {
                Some(done) => Some(done),
                None => self.spawn_fetch(&mut state),
            }
        };
        if let Some(mut done) = done {
            let _ = done.wait_for(|done| *done).await;
        }
        if self.state().failures == 0 && self.current().is_some() {
            Ok(())
        } else {
            Err(VerifyError::KeysUnavailable(self.why_unavailable()))
        }
    }

    fn why_unavailable(&self) -> String {
        let state = self.state();
        let since = state
            .unreachable_since
            .and_then(|since| since.elapsed().ok())
            .map(|elapsed| format!(" (failing for {} s)", elapsed.as_secs()))
            .unwrap_or_default();
        match &state.last_error {
            Some(error) => format!("{error}{since}"),
            None => "no key set fetched yet".into(),
        }
    }

    /// Starts a fetch for `need` unless one is under way (then joins it) or the last attempt
    /// was too recent; returns what to wait on, if anything.
    fn start_fetch(self: &Arc<Self>, need: Need) -> Option<watch::Receiver<bool>> {
        let mut state = self.state();
        if let Some(in_flight) = &state.in_flight {
            return (need != Need::Revalidation).then(|| in_flight.clone());
        }
        let backoff = retry_delay(state.failures, &self.policy);
        if state
            .last_attempt
            .is_some_and(|last| last.elapsed() < backoff)
        {
            return None;
        }
        if need == Need::UnknownKid {
            if state
                .last_unknown_kid_fetch
                .is_some_and(|last| last.elapsed() < self.policy.unknown_kid_interval)
            {
                return None;
            }
            state.last_unknown_kid_fetch = Some(Instant::now());
        }
        let done = self.spawn_fetch(&mut state)?;
        (need != Need::Revalidation).then_some(done)
    }

    fn spawn_fetch(self: &Arc<Self>, state: &mut FetchState) -> Option<watch::Receiver<bool>> {
        let (finished, done) = watch::channel(false);
        state.last_attempt = Some(Instant::now());
        state.in_flight = Some(done.clone());
        let cache = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("idgate-jwks".into())
            .spawn(move || {
                cache.fetch();
                cache.state().in_flight = None;
                let _ = finished.send(true);
            });
        match spawned {
            Ok(_) => Some(done),
            Err(error) => {
                state.in_flight = None;
                state.last_error = Some(format!("cannot start a fetch: {error}"));
                None
            }
        }
    }

    /// One fetch (blocking): swaps in the new set, or records why there is none.
    fn fetch(&self) {
        let previous = self.current();
        match self.fetch_set(previous.as_deref()) {
            Ok(set) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(set));
                let mut state = self.state();
                if state.failures > 0 {
                    tracing::info!(issuer = %self.source.issuer, "the issuer's keys are reachable again");
                }
                state.failures = 0;
                state.last_error = None;
                state.unreachable_since = None;
            }
            Err(error) => {
                let mut state = self.state();
                if state.failures == 0 {
                    tracing::warn!(issuer = %self.source.issuer, %error, "cannot fetch the issuer's keys; keeping the last copy");
                }
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some(error);
                state.unreachable_since.get_or_insert_with(SystemTime::now);
            }
        }
    }

    fn fetch_set(&self, previous: Option<&KeySet>) -> Result<KeySet, String> {
        let url = self.source.jwks_uri()?;
        let etag = previous.and_then(|set| set.etag.as_deref());
        let headers: Vec<(&str, &str)> = etag
            .map(|etag| ("If-None-Match", etag))
            .into_iter()
            .chain([("Accept", "application/json")])
            .collect();
        let answer = self.source.http.get(&url, &headers)?;
        let fresh = answer
            .max_age
            .map(Duration::from_secs)
            .unwrap_or(self.policy.default_fresh)
            .clamp(self.policy.min_fresh, self.policy.max_fresh);
        let now = Instant::now();
        let (keys, etag) = match (answer.status, previous) {
            (304, Some(previous)) => (
                previous.keys.clone(),
                answer.etag.or_else(|| previous.etag.clone()),
            ),
            (200, _) => (Arc::new(parse_jwks(&answer.body, &url)?), answer.etag),
            (status, _) => return Err(format!("GET {url}: HTTP {status}")),
        };
        Ok(KeySet {
            keys,
            etag,
            fresh_until: now + fresh,
            stale_until: now + fresh + self.policy.max_stale,
        })
    }
}

/// After `failures` failed fetches in a row, how long before the next: 1 s, doubling, at most
/// the unknown-kid interval.
fn retry_delay(failures: u32, policy: &KeyPolicy) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doubled = Duration::from_secs(1u64 << (failures - 1).min(16));
    doubled.min(policy.unknown_kid_interval)
}

impl KeySource {
    /// The JWKS URL: given, or read from the issuer's discovery document once.
    fn jwks_uri(&self) -> Result<String, String> {
        let mut known = self.jwks_uri.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(uri) = &*known {
            return Ok(uri.clone());
        }
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let answer = self.http.get(&url, &[("Accept", "application/json")])?;
        if answer.status != 200 {
            return Err(format!("GET {url}: HTTP {}", answer.status));
        }
        let discovery: Discovery = serde_json::from_slice(&answer.body)
            .map_err(|error| format!("GET {url}: not a discovery document: {error}"))?;
        // OpenID Connect Discovery §4.3: the document must name exactly the issuer asked for.
        if discovery.issuer != self.issuer {
            return Err(format!(
                "GET {url}: the document is for issuer {:?}, not {:?}",
                discovery.issuer, self.issuer
            ));
        }
        *known = Some(discovery.jwks_uri.clone());
        Ok(discovery.jwks_uri)
    }
}

/// The RS256 signing keys of a JWKS, by `kid`; keys of other types or uses, or without a
/// `kid`, are skipped (an issuer may publish them), but a set with none usable is an error.
fn parse_jwks(body: &[u8], url: &str) -> Result<HashMap<String, ParsedPublicKey>, String> {
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Jwk {
        kty: String,
        kid: Option<String>,
        #[serde(rename = "use")]
        use_: Option<String>,
        alg: Option<String>,
        n: Option<String>,
        e: Option<String>,
    }
    let jwks: Jwks =
        serde_json::from_slice(body).map_err(|error| format!("GET {url}: not a JWKS: {error}"))?;
    let mut keys = HashMap::new();
    for jwk in jwks.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(jwk) else {
            continue;
        };
        let usable = jwk.kty == "RSA"
            && jwk.use_.as_deref().is_none_or(|use_| use_ == "sig")
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256");
        let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if !usable || keys.contains_key(&kid) {
            continue;
        }
        let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
            continue;
        };
        // RFC 7518 §3.3: at least 2048 bits. aws-lc checks the size only when verifying, so a
        // shorter key is kept out of the set here, where the JWKS is read.
        if modulus_bits(&n) < 2048 {
            continue;
        }
        let components = RsaPublicKeyComponents { n: &n, e: &e };
        if let Ok(key) = components.to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256) {
            keys.insert(kid, key);
        }
    }
    if keys.is_empty() {
        return Err(format!("GET {url}: the JWKS holds no usable RS256 key"));
    }
    Ok(keys)
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(modulus: &[u8]) -> usize {
    let significant = match modulus.iter().position(|byte| *byte != 0) {
        Some(first) => &modulus[first..],
        None => return 0,
    };
    significant.len() * 8 - significant[0].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> KeyPolicy {
        KeyPolicy {
            unknown_kid_interval: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
            min_fresh: Duration::from_secs(5),
            max_fresh: Duration::from_secs(86400),
            default_fresh: Duration::from_secs(300),
        }
    }

    #[test]
    fn retries_back_off_up_to_the_unknown_kid_interval() {
        let delays: Vec<u64> = (0..8)
            .map(|failures| retry_delay(failures, &policy()).as_secs())
            .collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(retry_delay(u32::MAX, &policy()).as_secs(), 30);
    }

    #[test]
    fn a_jwks_without_a_usable_key_is_an_error() {
        let body = br#"{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"RSA","kid":"b","use":"enc","n":"AQAB","e":"AQAB"}]}"#;
        let error = parse_jwks(body, "u").map(|_| ()).unwrap_err();
        assert!(error.contains("no usable RS256 key"), "{error}");
        assert!(parse_jwks(b"{}", "u").is_err());
        // A 1024-bit modulus (RFC 7518 §3.3 wants 2048 bits at least).
        let short = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        let body =
            format!(r#"{{"keys":[{{"kty":"RSA","kid":"short","n":"{short}","e":"AQAB"}}]}}"#);
        let error = parse_jwks(body.as_bytes(), "u").map(|_| ()).unwrap_err();
        assert!(error.contains("no usable RS256 key"), "{error}");
        assert!(parse_jwks(b"<html>", "u").is_err());
        assert_eq!(modulus_bits(&[0, 0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01; 256]), 2041);
        assert_eq!(modulus_bits(&[]), 0);
    }
}

//! Sign-outs that reach an offline verifier: a poller of idgate's revocation feed
//! (`GET /api/revocations?since=`, API.md §6) and the list of signed-out sessions it keeps.
//!
//! The poller runs on a thread of its own. Each poll asks for what was revoked since the
//! issuer's previous answer (less an overlap, so that a revocation committed late is not
//! missed); an entry is kept until no access token of its session can be valid any more, so the
//! list stays as small as the feed. When the issuer cannot be reached, the poller keeps the
//! list it has and retries, doubling its wait up to `max_backoff`.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::http::Http;

/// How far back each poll reaches before the issuer's previous `now`.
const OVERLAP_SECONDS: i64 = 30;

/// Where and how to poll idgate's revocation feed, with the credentials of a confidential
/// client registered at idgate (`idgate clients create …`).
#[derive(Clone)]
pub struct RevocationFeed {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) url: Option<String>,
    pub(crate) interval: Duration,
    pub(crate) max_backoff: Duration,
}

impl std::fmt::Debug for RevocationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationFeed")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("url", &self.url)
            .field("interval", &self.interval)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

impl RevocationFeed {
    /// The feed of the verifier's issuer (`<issuer>/api/revocations`), polled every 5 seconds.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> RevocationFeed {
        RevocationFeed {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            url: None,
            interval: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
        }
    }

    /// The feed's URL, when it is not `<issuer>/api/revocations`.
    pub fn url(mut self, url: impl Into<String>) -> RevocationFeed {
        self.url = Some(url.into());
        self
    }

    /// How often to poll: the longest a sign-out takes to reach this service.
    pub fn interval(mut self, interval: Duration) -> RevocationFeed {
        self.interval = interval;
        self
    }

    /// The longest wait between retries while the issuer cannot be reached.
    pub fn max_backoff(mut self, max_backoff: Duration) -> RevocationFeed {
        self.max_backoff = max_backoff;
        self
    }
}

/// How the poller is doing, for a service's health page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationStatus {
    /// When the feed last answered; `None` before its first answer.
    pub last_success: Option<SystemTime>,
    /// Why the latest poll failed, while polls are failing.
    pub last_error: Option<String>,
    /// Signed-out sessions currently refused.
    pub revoked_sessions: usize,
}

/// The signed-out sessions, each with the moment (on this machine's clock) until which its
/// tokens are refused.
#[derive(Default)]
pub(crate) struct RevocationList {
    revoked: RwLock<HashMap<String, Instant>>,
    status: Mutex<RevocationStatus>,
}

impl RevocationList {
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sid)
            .is_some_and(|until| Instant::now() < *until)
    }

    pub fn status(&self) -> RevocationStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        status.revoked_sessions = self
            .revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        status
    }

    /// Adds an answer's entries and forgets those that no longer matter. `until` is on the
    /// issuer's clock: it is carried over to this machine's through the answer's `now`, so the
    /// two clocks need not agree.
    fn merge(&self, answer: &FeedAnswer, leeway: Duration) {
        let received = Instant::now();
        let mut revoked = self.revoked.write().unwrap_or_else(PoisonError::into_inner);
        for entry in &answer.revoked {
            let remaining = entry.until.saturating_sub(answer.now).max(0) as u64;
            let until = received + Duration::from_secs(remaining) + leeway;
            let kept = revoked.entry(entry.sid.clone()).or_insert(until);
            *kept = (*kept).max(until);
        }
        revoked.retain(|_, until| received < *until);
    }

    fn record(&self, outcome: Result<(), String>) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                status.last_success = Some(SystemTime::now());
                status.last_error = None;
            }
            Err(error) => status.last_error = Some(error),
        }
    }
}

#[derive(Deserialize)]
struct FeedAnswer {
    now: i64,
    revoked: Vec<FeedEntry>,
}

#[derive(Deserialize)]
struct FeedEntry {
    sid: String,
    until: i64,
}

/// The polling thread; dropping this stops it.
pub(crate) struct Poller {
    _stop: mpsc::Sender<()>,
}

impl Poller {
    /// Starts polling at once, on a thread of its own.
    pub fn start(
        feed: RevocationFeed,
        url: String,
        http: Http,
        leeway: Duration,
        list: Arc<RevocationList>,
    ) -> std::io::Result<Poller> {
        let (stop, stopped) = mpsc::channel();
        let credentials = format!(
            "{}:{}",
            form_encode(&feed.client_id),
            form_encode(&feed.client_secret)
        );
        let authorization = format!("Basic {}", STANDARD.encode(credentials));
        std::thread::Builder::new()
            .name("idgate-revocations".into())
            .spawn(move || {
                let mut since = 0;
                let mut failures = 0u32;
                loop {
                    let outcome = poll(&http, &url, &authorization, since);
                    let wait = match outcome {
                        Ok(answer) => {
                            if failures > 0 {
                                tracing::info!(%url, "the revocation feed answers again");
                            }
                            failures = 0;
                            list.merge(&answer, leeway);
                            list.record(Ok(()));
                            since = answer.now - OVERLAP_SECONDS;
                            feed.interval
                        }
                        Err(error) => {
                            if failures == 0 {
                                tracing::warn!(%error, "cannot poll the revocation feed; keeping the last list");
                            }
                            failures = failures.saturating_add(1);
                            list.record(Err(error));
                            backoff(feed.interval, feed.max_backoff, failures)
                        }
                    };
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        // The verifier was dropped.
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        Ok(Poller { _stop: stop })
    }
}

fn poll(http: &Http, url: &str, authorization: &str, since: i64) -> Result<FeedAnswer, String> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}since={}", since.max(0));
    let answer = http.get(
        &url,
        &[
            ("Authorization", authorization),
            ("Accept", "application/json"),
        ],
    )?;
    match answer.status {
        200 => serde_json::from_slice(&answer.body)
            .map_err(|error| format!("GET {url}: not a revocation feed: {error}")),
        401 => Err(format!(
            "GET {url}: HTTP 401: the issuer refused the client's credentials"
        )),
        status => Err(format!("GET {url}: HTTP {status}")),
    }
}

/// The wait after `failures` failed polls in a row: the interval, doubling, at most `max`.
fn backoff(interval: Duration, max: Duration, failures: u32) -> Duration {
    interval
        .saturating_mul(1u32 << failures.min(16))
        .min(max.max(interval))
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_polls_back_off_to_the_bound() {
        let waits: Vec<u64> = (1..6)
            .map(|failures| {
                backoff(Duration::from_secs(5), Duration::from_secs(60), failures).as_secs()
            })
            .collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        assert_eq!(
            backoff(Duration::from_secs(5), Duration::from_secs(60), u32::MAX),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn entries_are_kept_until_their_tokens_have_expired_on_the_issuers_clock() {
        let list = RevocationList::default();
        // The issuer's clock is far ahead of this machine's: only the difference counts.
        let answer = FeedAnswer {
            now: 10_000_000,
            revoked: vec![
                FeedEntry {
                    sid: "live".into(),
                    until: 10_000_300,
                },
                FeedEntry {
                    sid: "over".into(),
                    until: 9_999_000,
                },
            ],
        };
        list.merge(&answer, Duration::ZERO);
        assert!(list.is_revoked("live"));
        assert!(!list.is_revoked("over"));
        assert!(!list.is_revoked("other"));
        assert_eq!(list.status().revoked_sessions, 1);
    }
}

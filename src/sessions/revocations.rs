//! Which sign-in sessions are revoked, held in memory so that verifying an access token needs
//! no database round trip.
//!
//! The set holds every family revoked within the life of an access token (`access_ttl +
//! leeway`); older revocations cannot matter, since every access token they could cut off has
//! expired. Each replica re-reads recent revocations every second, and at once after it revokes
//! something itself, so a revocation reaches its own replica immediately and the others within
//! about a second.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::clock::Clock;
use crate::db::Db;
use crate::db::models::{BrowserSession, RefreshFamily};
use crate::error::Error;

/// How far back each re-read reaches before the last one, so that a revocation whose commit
/// landed late (a transaction waiting out a busy database) is still seen.
const OVERLAP_SECONDS: i64 = 30;

#[derive(Default)]
struct Known {
    /// Family id → unix seconds of its revocation.
    revoked: HashMap<String, i64>,
    /// Revocations at or before this moment (less the overlap) have been read.
    read_until: Option<i64>,
}

/// One entry of the revocation feed (API.md §6): a session whose access tokens may still be
/// alive, and the last moment one of them could be valid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RevokedSession {
    pub sid: String,
    pub revoked_at: i64,
    pub until: i64,
}

/// What a verifier polling the feed is told: the issuer's clock, and the revocations.
#[derive(Debug, serde::Serialize)]
pub struct RevocationFeed {
    pub now: i64,
    pub revoked: Vec<RevokedSession>,
}

/// The revoked sessions this replica knows of.
pub struct Revocations {
    db: Db,
    clock: Clock,
    /// Seconds a revocation can matter: the life of an access token, leeway included.
    horizon: i64,
    known: RwLock<Known>,
}

impl Revocations {
    /// An empty set; call [`Revocations::sync`] to read what is revoked.
    pub fn new(db: Db, clock: Clock, horizon: i64) -> Revocations {
        Revocations {
            db,
            clock,
            horizon,
            known: RwLock::new(Known::default()),
        }
    }

    /// True when the session `sid` is known to be revoked.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.known
            .read()
            .expect("no reader panics holding the lock")
            .revoked
            .contains_key(sid)
    }

    /// Every session revoked at or after `since` (unix seconds) whose access tokens may still be
    /// alive, oldest revocation first: read from the database rather than this replica's copy,
    /// so that a verifier polling any replica is told of every replica's revocations at once.
    /// An access token outlives its session's revocation by at most its lifetime plus the
    /// leeway, so older revocations are left out and the feed stays small.
    pub async fn feed(&self, since: i64) -> Result<RevocationFeed, Error> {
        let now = self.clock.now();
        let horizon = self.horizon;
        let from = since.max(now - horizon);
        let mut revoked = self
            .db
            .run(move |conn| {
                let mut revoked = RefreshFamily::revoked_since(conn, from)?;
                revoked.extend(BrowserSession::revoked_since(conn, from)?);
                Ok(revoked)
            })
            .await?;
        revoked.sort_unstable_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(RevocationFeed {
            now,
            revoked: revoked
                .into_iter()
                .map(|(sid, revoked_at)| RevokedSession {
                    sid,
                    revoked_at,
                    until: revoked_at + horizon,
                })
                .collect(),
        })
    }

    /// Reads revocations since the last read, and forgets those no access token can outlive.
    pub async fn sync(&self) -> Result<(), Error> {
        let now = self.clock.now();
        let horizon = now - self.horizon;
        let since = {
            let known = self
                .known
                .read()
                .expect("no reader panics holding the lock");
            known
                .read_until
                .map_or(horizon, |until| (until - OVERLAP_SECONDS).max(horizon))
        };
        let recent = self
            .db
            .run(move |conn| {
                let mut revoked = RefreshFamily::revoked_since(conn, since)?;
                revoked.extend(BrowserSession::revoked_since(conn, since)?);
                Ok(revoked)
            })
            .await?;
        let mut known = self
            .known
            .write()
            .expect("no writer panics holding the lock");
        known.revoked.extend(recent);
        known.revoked.retain(|_, revoked_at| *revoked_at >= horizon);
        known.read_until = Some(known.read_until.map_or(now, |until| until.max(now)));
        Ok(())
    }
}

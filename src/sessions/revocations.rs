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

//! Deleting what no request can use any more, in small batches, so storage stays bounded
//! without a cron job: dead refresh families and failed sign-ins past the throttling window.

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::db::models::{AuthorizationCode, BrowserSession, LoginFailure, RefreshFamily};
use crate::error::Error;

/// Rows deleted per statement, so a sweep never holds the write lock for long.
pub const BATCH: i64 = 500;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub login_failures: usize,
}

/// Deletes expired and revoked records.
#[derive(Clone)]
pub struct Sweeper {
    db: Db,
    clock: Clock,
    /// Seconds a dead family stays: the life of the access tokens it issued, which `verify`
    /// checks against it.
    session_linger: i64,
    /// Seconds failed sign-ins are counted (`login.window`).
    login_window: i64,
}

impl Sweeper {
    pub fn new(db: Db, clock: Clock, settings: &Settings) -> Sweeper {
        Sweeper {
            db,
            clock,
            session_linger: settings.tokens.access_ttl.as_secs() + settings.tokens.leeway.as_secs(),
            login_window: settings.login.window.as_secs(),
        }
    }

    /// Deletes at most `max_batches` batches of each kind; each batch is its own write.
    pub async fn sweep(&self, max_batches: usize) -> Result<Swept, Error> {
        let mut swept = Swept::default();
        for _ in 0..max_batches {
            let (now, linger) = (self.clock.now(), self.session_linger);
            let deleted = self
                .db
                .write(move |conn| {
                    // Codes stay past their minute as long as a family does, so that a replay
                    // is still recognised; browser sessions as long as their access tokens live.
                    Ok(RefreshFamily::delete_dead(conn, now, linger, BATCH)?
                        + BrowserSession::delete_dead(conn, now, linger, BATCH)?
                        + AuthorizationCode::delete_expired(conn, now, linger, BATCH)?)
                })
                .await?;
            swept.sessions += deleted;
            if (deleted as i64) < BATCH {
                break;
            }
        }
        for _ in 0..max_batches {
            let cutoff = self.clock.now() - self.login_window;
            let deleted = self
                .db
                .write(move |conn| Ok(LoginFailure::delete_before(conn, cutoff, BATCH)?))
                .await?;
            swept.login_failures += deleted;
            if (deleted as i64) < BATCH {
                break;
            }
        }
        Ok(swept)
    }
}

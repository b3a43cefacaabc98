//! Scheduled rotation (`keys.rotate_every`): a key is added that long after the newest one, by
//! exactly one replica however many share the database and the keys folder.
//!
//! Every replica looks at the schedule each `keys.reload_interval`, right after re-reading the
//! folder. One that finds the newest key due claims its replacement in the database
//! (`key_rotations`, whose primary key is the due key's creation time): of any number of
//! replicas claiming at once, exactly one insert succeeds, and the others see the claim. The
//! winner generates the key, checks that its claim still stands, writes the key to the shared
//! folder and records the claim as done; the others publish the new key at their next reload.
//! A replica that dies holding a claim leaves it undone, and after [`CLAIM_LEASE`] another
//! takes it over, so the schedule never stalls on a dead replica.

use std::sync::Arc;
use std::time::Duration;

use super::{KeyRing, KeyTiming, NewKey};
use crate::clock::Clock;
use crate::db::Db;
use crate::db::models::KeyRotation;
use crate::error::Error;

/// How long an undone claim is honoured before another replica may take it over: far longer
/// than making and writing a key (seconds at most), far shorter than any sensible
/// `keys.rotate_every`.
pub const CLAIM_LEASE: i64 = 300;

/// The rotation schedule of one replica; cheap to clone.
#[derive(Clone)]
pub struct RotationSchedule {
    db: Db,
    keys: Arc<KeyRing>,
    clock: Clock,
    every: i64,
    rsa_bits: usize,
    timing: KeyTiming,
}

/// What one look at the schedule found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleTick {
    /// The newest key is younger than `keys.rotate_every`.
    NotDue { due_at: i64 },
    /// Another replica has claimed this rotation (and done it, or is doing it).
    ClaimedElsewhere,
    /// This replica added the key `kid`, and removed the keys `pruned`, whose tokens had all
    /// expired.
    Rotated { kid: String, pruned: Vec<String> },
}

impl RotationSchedule {
    pub fn new(
        db: Db,
        keys: Arc<KeyRing>,
        clock: Clock,
        every: Duration,
        rsa_bits: usize,
        timing: KeyTiming,
    ) -> RotationSchedule {
        RotationSchedule {
            db,
            keys,
            clock,
            every: i64::try_from(every.as_secs()).unwrap_or(i64::MAX),
            rsa_bits,
            timing,
        }
    }

    /// Adds the next key if the newest one (as the ring last read the folder) is due and no
    /// other replica has claimed its replacement; the replica that adds it also removes the
    /// keys that have become prunable, so that the JWKS does not grow without end.
    pub async fn tick(&self) -> Result<ScheduleTick, Error> {
        let due_key = self.keys.newest_created_at();
        let due_at = due_key.saturating_add(self.every);
        let now = self.clock.now();
        if now < due_at {
            return Ok(ScheduleTick::NotDue { due_at });
        }
        let claimant = Arc::<str>::from(uuid::Uuid::new_v4().simple().to_string());
        let by = claimant.clone();
        let claimed = self
            .db
            .write(move |conn| {
                Ok(KeyRotation::claim(
                    conn,
                    due_key,
                    &by,
                    now,
                    now.saturating_sub(CLAIM_LEASE),
                )?)
            })
            .await?;
        if !claimed {
            return Ok(ScheduleTick::ClaimedElsewhere);
        }

        let rsa_bits = self.rsa_bits;
        let key = blocking(move || NewKey::generate(rsa_bits)).await?;
        // Only a claim that still stands may write: one taken over as stale (this replica was
        // stalled for CLAIM_LEASE) belongs to the replica that took it.
        let (by, renewed_at) = (claimant.clone(), self.clock.now());
        let renewed = self
            .db
            .write(move |conn| Ok(KeyRotation::renew(conn, due_key, &by, renewed_at)?))
            .await?;
        if !renewed {
            tracing::warn!(
                key.kid = %key.kid(),
                "another replica took over this key rotation; dropping the key made for it"
            );
            return Ok(ScheduleTick::ClaimedElsewhere);
        }
        let keys = self.keys.clone();
        let kid = blocking(move || keys.install(&key)).await?;
        let (by, new_kid, done_at) = (claimant, kid.clone(), self.clock.now());
        self.db
            .write(move |conn| {
                KeyRotation::complete(conn, due_key, &by, &new_kid, done_at)?;
                Ok(())
            })
            .await?;
        let (keys, timing) = (self.keys.clone(), self.timing);
        let pruned = blocking(move || keys.prune(timing))
            .await?
            .into_iter()
            .map(|(kid, _)| kid.0)
            .collect();
        Ok(ScheduleTick::Rotated { kid, pruned })
    }
}

/// Runs `work` (key generation, file I/O) on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Error::Internal(anyhow::Error::new(error).context("blocking pool")))?
        .map_err(Error::Internal)
}

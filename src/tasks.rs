//! Background loops of a running server.

use std::time::Duration;

use std::sync::Arc;

use crate::keys::{KeyRing, RotationSchedule, ScheduleTick};
use crate::sessions::{Revocations, Sweeper};

/// How often each replica re-reads recent revocations (see `sessions::revocations`).
pub const REVOCATIONS_EVERY: Duration = Duration::from_secs(1);
/// How often expired records are swept, and how many batches of each kind one sweep deletes.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
const SWEEP_MAX_BATCHES: usize = 20;

/// Keeps this replica's revoked sessions current with what every replica revoked.
pub async fn read_revocations_forever(revocations: Arc<Revocations>) {
    let mut interval = tokio::time::interval(REVOCATIONS_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = revocations.sync().await {
            tracing::warn!(error = %error, "reading revoked sessions failed");
        }
    }
}

/// Deletes dead sessions and old failed sign-ins in small batches, forever: storage stays
/// bounded without cron.
pub async fn sweep_forever(sweeper: Sweeper) {
    let mut interval = tokio::time::interval(SWEEP_EVERY);
    loop {
        interval.tick().await;
        match sweeper.sweep(SWEEP_MAX_BATCHES).await {
            Ok(swept) if swept.sessions + swept.login_failures == 0 => {}
            Ok(swept) => tracing::info!(
                sessions.deleted = swept.sessions,
                login_failures.deleted = swept.login_failures,
                "swept expired records"
            ),
            Err(error) => tracing::warn!(error = %error, "sweeping expired records failed"),
        }
    }
}

/// Re-reads `keys.dir` every `every`, so that replicas sharing it agree on a new key without a
/// restart, and then, when `keys.rotate_every` is on, looks at the rotation schedule (at once
/// on start too: a replica starting after a rotation fell due makes it).
pub async fn maintain_keys_forever(
    keys: Arc<KeyRing>,
    schedule: Option<RotationSchedule>,
    every: Duration,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now, and the keys were just read.
    interval.tick().await;
    loop {
        if let Some(schedule) = &schedule {
            match schedule.tick().await {
                Ok(ScheduleTick::Rotated { kid, pruned }) => tracing::info!(
                    key.kid = %kid,
                    keys.pruned = ?pruned,
                    "keys.rotate_every: added the next key; published now, signing after keys.publish_lead"
                ),
                Ok(ScheduleTick::NotDue { .. } | ScheduleTick::ClaimedElsewhere) => {}
                Err(error) => tracing::warn!(
                    error = %error,
                    "scheduled key rotation failed; trying again at the next interval"
                ),
            }
        }
        interval.tick().await;
        reload_keys(&keys).await;
    }
}

/// Re-reads the keys on every SIGHUP instead of dying of it (its default action): a hang-up
/// from a terminal, a supervisor or a log rotator must never take the service down.
pub async fn handle_hangups(mut hangups: tokio::signal::unix::Signal, keys: Arc<KeyRing>) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP received; re-reading the keys, still serving");
        reload_keys(&keys).await;
    }
}

/// One reload, on the blocking pool (file I/O and key parsing); a failure keeps the keys in use.
async fn reload_keys(keys: &Arc<KeyRing>) {
    let ring = keys.clone();
    match actix_web::rt::task::spawn_blocking(move || ring.reload()).await {
        Ok(Ok(reloaded)) if reloaded.changed => tracing::info!(
            keys = reloaded.keys,
            signing.kid = %reloaded.signing_kid,
            "keys changed; new tokens are signed with the signing key"
        ),
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::error!(
            error = %format!("{error:#}"),
            "re-reading the keys failed; keeping the keys in use"
        ),
        Err(error) => tracing::error!(error = %error, "the key reload task failed"),
    }
}

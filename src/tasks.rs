//! Background loops of a running server.

use std::time::Duration;

use crate::sessions::{Revocations, Sweeper};

/// How often each replica re-reads recent revocations (see `sessions::revocations`).
pub const REVOCATIONS_EVERY: Duration = Duration::from_secs(1);
/// How often expired records are swept, and how many batches of each kind one sweep deletes.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
const SWEEP_MAX_BATCHES: usize = 20;

/// Keeps this replica's revoked sessions current with what every replica revoked.
pub async fn read_revocations_forever(revocations: std::sync::Arc<Revocations>) {
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

/// Logs every SIGHUP instead of dying of it (its default action): a hang-up from a terminal,
/// a supervisor or a log rotator must never take the service down.
// TODO(#11): re-read keys.dir here.
pub async fn handle_hangups(mut hangups: tokio::signal::unix::Signal) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP received; nothing to reload yet, still serving");
    }
}

//! Wall-clock time as the unix seconds stored in the database and written into tokens, read
//! through a [`Clock`] so that tests can move time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the unix epoch, from the system clock.
pub fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("the clock is before the year 292 billion")
}

/// The time services read: the system clock in production, a settable one in tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands at `unix_seconds` until it is moved.
    pub fn manual(unix_seconds: i64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(unix_seconds))),
        }
    }

    /// Seconds since the unix epoch.
    pub fn now(&self) -> i64 {
        match &self.manual {
            None => unix_now(),
            Some(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward by `seconds`; every clone sees it.
    ///
    /// # Panics
    /// On the system clock, which nobody moves.
    pub fn advance(&self, seconds: i64) {
        self.manual
            .as_ref()
            .expect("only a manual clock can be moved")
            .fetch_add(seconds, Ordering::SeqCst);
    }
}

/// Unix seconds as RFC 3339 in UTC, `2026-12-01T18:25:10Z` (as Django REST framework writes
/// them).
pub fn rfc3339(unix_seconds: i64) -> String {
    let at = UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds.max(0).unsigned_abs());
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_every_clone_sees_it() {
        let clock = Clock::manual(1_000);
        let other = clock.clone();
        assert_eq!(clock.now(), 1_000);
        other.advance(61);
        assert_eq!(clock.now(), 1_061);
        assert!((Clock::system().now() - unix_now()).abs() <= 1);
    }

    #[test]
    fn times_are_written_as_rfc_3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_149_510), "2026-12-01T18:25:10Z");
    }
}

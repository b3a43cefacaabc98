//! Sign-in throttling (API.md §6): failed sign-ins counted in the database, so that every
//! replica on one database shares the counts.
//!
//! Three counters within `login.window`: failures of one username from one client address
//! (`login.max_failures`), of one username from anywhere (`login.max_failures_per_user`, far
//! higher, so that a stranger cannot cheaply lock a known user out of their own address), and
//! from one address (`login.max_failures_per_ip`). Past any of them an attempt is refused
//! before any password is checked, with the seconds until enough failures have left the
//! window. Unknown usernames count like known ones, so the throttle tells nothing about which
//! accounts exist. Throttled attempts are not failures: they add nothing, and a locked-out
//! pair is free again exactly when its failures age out. A success stops counting the failures
//! of its username from its address for that pair only; they still count for the username and
//! for the address.
//!
//! A replica remembers a block it has read until it ends, so a flood of throttled attempts
//! costs no database read. That is sound because nothing ends a block early: failures leave
//! the count only by ageing out, which the end accounts for, or by a success of that username
//! from that address, which a block of any of its three counters refuses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::config::LoginSettings;
use crate::db::Db;
use crate::db::models::user::username_key;
use crate::db::models::{LoginFailure, NewLoginFailure};
use crate::error::Error;
use crate::tokens::new_id;

/// Remembered blocks past which the expired ones are dropped.
const BLOCKS_BEFORE_PRUNING: usize = 10_000;

/// The limits of `[login]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    pub per_user_and_client: usize,
    pub per_user: usize,
    pub per_client: usize,
    /// Seconds a failure is counted.
    pub window: i64,
}

impl From<&LoginSettings> for ThrottleLimits {
    fn from(login: &LoginSettings) -> Self {
        ThrottleLimits {
            per_user_and_client: login.max_failures as usize,
            per_user: login.max_failures_per_user as usize,
            per_client: login.max_failures_per_ip as usize,
            window: login.window.as_secs(),
        }
    }
}

/// What a failure is counted under: an IPv4 address, or an IPv6 address's /64 network (one
/// host usually holds a whole /64, so its single addresses are free to choose).
pub fn client_key(client: IpAddr) -> String {
    match crate::net::canonical(client) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counter {
    UserAndClient(String, String),
    User(String),
    Client(String),
}

impl Counter {
    fn name(&self) -> &'static str {
        match self {
            Counter::UserAndClient(..) => "username and address",
            Counter::User(_) => "username",
            Counter::Client(_) => "address",
        }
    }
}

/// An attempt the throttle let through, and what it knew of its username and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    username_key: String,
    client_key: String,
    /// Failures of this username from this address within the window.
    failures: usize,
}

/// Counts failed sign-ins and refuses attempts past the limits.
pub struct Throttle {
    db: Db,
    clock: Clock,
    limits: ThrottleLimits,
    /// Blocks read from the database, with the unix second they end.
    blocked: Mutex<HashMap<Counter, i64>>,
}

impl Throttle {
    pub fn new(db: Db, clock: Clock, limits: ThrottleLimits) -> Throttle {
        Throttle {
            db,
            clock,
            limits,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Lets an attempt of `username` from `client` through, or refuses it with
    /// [`Error::Throttled`] and the seconds until it would be let through.
    pub async fn check(&self, username: &str, client: IpAddr) -> Result<Attempt, Error> {
        let attempt = Attempt {
            username_key: username_key(username),
            client_key: client_key(client),
            failures: 0,
        };
        let counters = [
            Counter::UserAndClient(attempt.username_key.clone(), attempt.client_key.clone()),
            Counter::User(attempt.username_key.clone()),
            Counter::Client(attempt.client_key.clone()),
        ];
        let now = self.clock.now();
        if let Some(until) = self.remembered_block(&counters, now) {
            return Err(throttled(until, now));
        }
        let since = now - self.limits.window + 1;
        let (user, client) = (attempt.username_key.clone(), attempt.client_key.clone());
        let recent = self
            .db
            .run(move |conn| Ok(LoginFailure::recent(conn, &user, &client, since)?))
            .await?;
        let times = |of: &dyn Fn(&LoginFailure) -> bool| -> Vec<i64> {
            recent
                .iter()
                .filter(|f| of(f))
                .map(|f| f.failed_at)
                .collect()
        };
        let of_pair = times(&|f| {
            !f.pair_cleared
                && f.username_key == attempt.username_key
                && f.client_key == attempt.client_key
        });
        let failures = of_pair.len();
        let counted = [
            (of_pair, self.limits.per_user_and_client),
            (
                times(&|f| f.username_key == attempt.username_key),
                self.limits.per_user,
            ),
            (
                times(&|f| f.client_key == attempt.client_key),
                self.limits.per_client,
            ),
        ];
        let mut latest_end = None;
        for (counter, (times, limit)) in counters.into_iter().zip(counted) {
            if let Some(until) = block_end(times, limit, self.limits.window) {
                tracing::info!(
                    throttle.counter = counter.name(),
                    client.address = %attempt.client_key,
                    throttle.seconds = until - now,
                    "sign-ins throttled"
                );
                self.remember_block(counter, until, now);
                latest_end = latest_end.max(Some(until));
            }
        }
        match latest_end {
            Some(until) => Err(throttled(until, now)),
            None => Ok(Attempt {
                failures,
                ..attempt
            }),
        }
    }

    /// Counts a failed sign-in of the attempt.
    pub async fn record_failure(&self, attempt: &Attempt) -> Result<(), Error> {
        let (user, client, now) = (
            attempt.username_key.clone(),
            attempt.client_key.clone(),
            self.clock.now(),
        );
        self.db
            .write(move |conn| {
                let id = new_id();
                LoginFailure::insert(
                    conn,
                    &NewLoginFailure {
                        id: &id,
                        username_key: &user,
                        client_key: &client,
                        failed_at: now,
                    },
                )?;
                Ok(())
            })
            .await
    }

    /// Stops counting the failures of the attempt's username from its address for that pair
    /// (it succeeded); they still count for the username and for the address.
    pub async fn clear(&self, attempt: &Attempt) -> Result<(), Error> {
        if attempt.failures == 0 {
            return Ok(());
        }
        let (user, client) = (attempt.username_key.clone(), attempt.client_key.clone());
        self.db
            .write(move |conn| Ok(LoginFailure::clear_pair(conn, &user, &client)?))
            .await?;
        Ok(())
    }

    fn remembered_block(&self, counters: &[Counter], now: i64) -> Option<i64> {
        let blocked = self
            .blocked
            .lock()
            .expect("no one panics holding the blocks");
        counters
            .iter()
            .filter_map(|counter| blocked.get(counter).copied())
            .filter(|until| *until > now)
            .max()
    }

    fn remember_block(&self, counter: Counter, until: i64, now: i64) {
        let mut blocked = self
            .blocked
            .lock()
            .expect("no one panics holding the blocks");
        if blocked.len() >= BLOCKS_BEFORE_PRUNING {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(counter, until);
    }
}

fn throttled(until: i64, now: i64) -> Error {
    Error::Throttled {
        retry_after: u64::try_from(until - now).unwrap_or(0).max(1),
    }
}

/// When a counter with these failure times stops being past `limit`: once the oldest
/// failures have left the window until fewer than `limit` remain. `None` when it is not past.
fn block_end(mut times: Vec<i64>, limit: usize, window: i64) -> Option<i64> {
    if times.len() < limit {
        return None;
    }
    times.sort_unstable();
    Some(times[times.len() - limit] + window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_is_blocked_until_enough_failures_leave_the_window() {
        assert_eq!(block_end(vec![100, 110, 120], 4, 900), None);
        assert_eq!(block_end(vec![120, 100, 110], 3, 900), Some(1000));
        // Two over the limit (concurrent failures): free when the two oldest have left.
        assert_eq!(block_end(vec![100, 110, 120, 130, 140], 3, 900), Some(1020));
    }

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("198.51.100.7")), "198.51.100.7");
        assert_eq!(client_key(ip("::ffff:198.51.100.7")), "198.51.100.7");
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            client_key(ip("2001:db8:1:2:bbbb::9")),
            client_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:3::1")),
            client_key(ip("2001:db8:1:2::1"))
        );
    }
}

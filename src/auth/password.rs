//! bcrypt, on threads of its own. One hash at cost 12 takes a core for about 250 ms, so a
//! sign-in flood must neither run on an async worker nor crowd the blocking pool that database
//! work uses: [`Hasher`] owns a few threads (one per core by default) at the lowest scheduling
//! priority (SCHED_IDLE), which get the CPU only when workers and the database do not need it.
//!
//! The queue in front of them is bounded by how long a newcomer would wait, not by a count:
//! queued hashes × the measured time of one hash ÷ threads. A legitimate burst (the morning
//! sign-in wave, a load balancer failing over) queues as long as that stays within
//! `password.max_queue_wait`; beyond it a request is turned away at once with `Retry-After`.
//! A hash is timed in CPU time of its thread, first at start (the dummy hash, at the
//! configured cost) and then every hash, so the figure follows the stored hashes' costs but
//! not how busy the machine is: at the lowest priority a hash may wait for the CPU, and a
//! measurement swollen by that would turn sign-ins away whenever other work runs.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// bcrypt reads at most 72 bytes; longer passwords are refused, never silently truncated.
pub const MAX_BYTES: usize = 72;
/// Shorter passwords are refused.
pub const MIN_BYTES: usize = 8;
/// A hard ceiling on queued hashes whatever their measured time, so that memory stays bounded
/// even before the first measurement.
const MAX_QUEUED: usize = 100_000;

/// Why a new password is not acceptable, in words for the user; `None` when it is.
pub fn check_new_password(password: &str) -> Option<String> {
    if password.len() < MIN_BYTES {
        return Some(format!(
            "This password is too short. It must contain at least {MIN_BYTES} bytes."
        ));
    }
    if password.len() > MAX_BYTES {
        return Some(format!(
            "This password is too long. It must contain at most {MAX_BYTES} bytes of UTF-8 (bcrypt's limit)."
        ));
    }
    if password.contains('\0') {
        return Some("This password may not contain a NUL character.".into());
    }
    None
}

/// Hashes on the calling thread. The caller has checked the length, so nothing is truncated.
pub fn hash_now(password: &SecretString, cost: u32) -> Result<String, Error> {
    debug_assert!(password.expose_secret().len() <= MAX_BYTES);
    Ok(bcrypt::hash(password.expose_secret(), cost).context("hashing a password")?)
}

/// Checks on the calling thread. A password over the limit is checked anyway (so it costs the
/// same time) and then refused: bcrypt would compare only its first 72 bytes.
pub fn verify_now(password: &SecretString, hash: &str) -> bool {
    let bytes = password.expose_secret().as_bytes();
    // A malformed stored hash is a failed check, not a crash.
    let matches = bcrypt::verify(bytes, hash).unwrap_or(false);
    matches && bytes.len() <= MAX_BYTES
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue; cheap to clone. The threads stop when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Hasher {
    shared: Arc<Shared>,
}

struct Shared {
    jobs: Sender<Job>,
    threads: usize,
    cost: u32,
    max_wait: Duration,
    /// Hashes admitted and not yet finished (queued or running).
    pending: AtomicUsize,
    /// A moving average of the CPU time of one hash here, in nanoseconds (0: not measured yet).
    nanos_per_hash: AtomicU64,
    /// Hashes finished since start.
    finished: AtomicU64,
    /// The unix second of the last warning that requests were turned away.
    last_warned: AtomicI64,
    /// Checked when the username is unknown, so that case costs a bcrypt check too.
    dummy_hash: OnceLock<String>,
}

impl Hasher {
    /// Starts `threads` hashing threads (0: one per core) for hashes of `cost`; requests are
    /// turned away while the expected wait for a thread exceeds `max_wait`.
    pub fn start(threads: usize, cost: u32, max_wait: Duration) -> Hasher {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("idgate-bcrypt-{index}"))
                .spawn(move || work(&queue))
                .expect("the system can start a thread");
        }
        Hasher {
            shared: Arc::new(Shared {
                jobs,
                threads,
                cost,
                max_wait,
                pending: AtomicUsize::new(0),
                nanos_per_hash: AtomicU64::new(0),
                finished: AtomicU64::new(0),
                last_warned: AtomicI64::new(0),
                dummy_hash: OnceLock::new(),
            }),
        }
    }

    /// A hash of a random password at the configured cost, made once on the calling thread;
    /// timing it is the first measurement of a hash. The server asks for it at start, so no
    /// request ever waits for it.
    pub fn dummy_hash(&self) -> &str {
        self.shared.dummy_hash.get_or_init(|| {
            let started = thread_cpu_time();
            let hash = hash_now(
                &SecretString::from(crate::tokens::new_id()),
                self.shared.cost,
            )
            .expect("bcrypt hashes any short password");
            self.shared
                .record(thread_cpu_time().saturating_sub(started));
            hash
        })
    }

    /// Hashes finished since start (every check and every new hash).
    pub fn hashes_finished(&self) -> u64 {
        self.shared.finished.load(Ordering::Relaxed)
    }

    /// How long a hash admitted now would wait for a thread, by the current measurement.
    pub fn expected_wait(&self) -> Duration {
        self.shared
            .wait_behind(self.shared.pending.load(Ordering::Relaxed))
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let shared = &self.shared;
        let ahead = shared.pending.fetch_add(1, Ordering::SeqCst);
        let wait = shared.wait_behind(ahead);
        if wait > shared.max_wait || ahead >= MAX_QUEUED {
            shared.pending.fetch_sub(1, Ordering::SeqCst);
            // Past this long, the queue ahead will have drained below the limit.
            let over = wait.saturating_sub(shared.max_wait).as_secs_f64().ceil();
            let retry_after = (over as u64).max(1);
            // One line a second at most: a flood must not become a flood of log lines.
            let second = crate::clock::unix_now();
            if shared.last_warned.swap(second, Ordering::Relaxed) != second {
                tracing::warn!(
                    hashing.queued = ahead,
                    hashing.expected_wait_ms = wait.as_millis() as u64,
                    "hashing queue full; requests turned away"
                );
            }
            return Err(Error::Busy { retry_after });
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let done = Arc::clone(shared);
        let job: Job = Box::new(move || {
            let finished = Finished(&done);
            // The client gave up (its connection closed): no one wants this hash.
            if reply.is_closed() {
                return;
            }
            let started = thread_cpu_time();
            let outcome = span.in_scope(f);
            done.record(thread_cpu_time().saturating_sub(started));
            // Counted as finished before the caller hears, so it never sees itself queued.
            drop(finished);
            let _ = reply.send(outcome);
        });
        if shared.jobs.send(job).is_err() {
            shared.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Internal(anyhow::anyhow!("hashing threads stopped")));
        }
        answer
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("a hashing thread panicked")))
    }

    /// Hashes a password whose length the caller has checked, at the configured cost.
    pub async fn hash(&self, password: SecretString) -> Result<String, Error> {
        let cost = self.shared.cost;
        self.run(move || hash_now(&password, cost)).await?
    }

    /// Checks a password against a hash; see [`verify_now`]. Without a hash (an unknown
    /// user) it checks against the dummy hash, so that costs the same, and says no.
    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, Error> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash().to_owned());
        let matches = self.run(move || verify_now(&password, &hash)).await?;
        Ok(matches && known)
    }
}

impl Shared {
    /// The expected wait behind `ahead` hashes queued or running.
    fn wait_behind(&self, ahead: usize) -> Duration {
        let per_hash = self.nanos_per_hash.load(Ordering::Relaxed);
        let nanos = (ahead as u128 * u128::from(per_hash)) / self.threads as u128;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Folds one measured hash into the moving average (weight 1/8: a few hashes follow a
    /// change of load or of stored costs, one slow hash does not swing it).
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1);
        let old = self.nanos_per_hash.load(Ordering::Relaxed);
        let new = if old == 0 {
            took
        } else {
            old - old / 8 + took / 8
        };
        self.nanos_per_hash.store(new, Ordering::Relaxed);
    }
}

/// The CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Marks a job finished however it ends, panics included.
struct Finished<'a>(&'a Shared);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    // Lowering one's own priority needs no privilege; if it fails, hashing still works.
    if let Err(error) = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    ) {
        tracing::warn!(error = ?error, "could not lower the priority of a hashing thread");
    }
    loop {
        let job = queue
            .lock()
            .expect("no job panics while holding the queue")
            .recv();
        match job {
            // A panicking job must not take the thread with it; its caller hears an error.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        crate::testing::block_on(future)
    }

    #[test]
    fn default_cost_is_12() {
        let cost = crate::config::Settings::default().password.bcrypt_cost;
        assert_eq!(cost, 12);
        let hashed = hash_now(&SecretString::from("correct horse battery"), cost).unwrap();
        assert!(hashed.starts_with("$2b$12$"), "{hashed}");
        assert!(verify_now(
            &SecretString::from("correct horse battery"),
            &hashed
        ));
    }

    #[test]
    fn verify_refuses_what_bcrypt_would_truncate() {
        let long = "p".repeat(MAX_BYTES);
        let hashed = hash_now(&SecretString::from(long.clone()), 4).unwrap();
        assert!(verify_now(&SecretString::from(long.clone()), &hashed));
        assert!(!verify_now(
            &SecretString::from(format!("{long}extra")),
            &hashed
        ));
        assert!(!verify_now(&SecretString::from(long), "not a bcrypt hash"));
    }

    #[test]
    fn a_hash_is_timed_in_cpu_time() {
        let hasher = Hasher::start(1, 4, Duration::from_secs(10));
        hasher.dummy_hash();
        let measured = hasher.shared.nanos_per_hash.load(Ordering::Relaxed);
        assert!(measured > 0, "the dummy hash is the first measurement");
        // Sleeping uses no CPU: a job that sleeps is measured at next to nothing, where wall
        // time would have added 200 ms / 8 to the average.
        block_on(hasher.run(|| std::thread::sleep(Duration::from_millis(200)))).unwrap();
        let after = hasher.shared.nanos_per_hash.load(Ordering::Relaxed);
        assert!(after <= measured, "{measured} → {after}");
    }

    #[test]
    fn an_unknown_user_costs_a_check_and_never_matches() {
        let hasher = Hasher::start(1, 4, Duration::from_secs(10));
        let dummy = hasher.dummy_hash().to_owned();
        assert!(dummy.starts_with("$2b$04$"));
        let before = hasher.hashes_finished();
        let matches = block_on(hasher.verify(SecretString::from("anything at all"), None));
        assert!(!matches.unwrap());
        assert_eq!(hasher.hashes_finished(), before + 1, "the dummy check ran");
    }

    #[test]
    fn the_queue_is_bounded_by_the_expected_wait_not_a_count() {
        let hasher = Hasher::start(2, 4, Duration::from_secs(1));
        // Pretend one hash takes 100 ms: two threads absorb 20 queued hashes in one second.
        hasher
            .shared
            .nanos_per_hash
            .store(100_000_000, Ordering::Relaxed);
        // Hold both threads, then queue behind them.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let holders: Vec<_> = (0..2)
            .map(|_| {
                let (hasher, held) = (hasher.clone(), held.clone());
                std::thread::spawn(move || {
                    block_on(hasher.run(move || {
                        held.lock().unwrap().recv().unwrap();
                    }))
                })
            })
            .collect();
        while hasher.shared.pending.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        let mut queued = Vec::new();
        for _ in 0..18 {
            let hasher = hasher.clone();
            queued.push(std::thread::spawn(move || block_on(hasher.run(|| ()))));
        }
        while hasher.shared.pending.load(Ordering::SeqCst) < 20 {
            std::thread::yield_now();
        }
        assert_eq!(hasher.expected_wait(), Duration::from_secs(1));
        // 20 ahead: exactly the limit, still admitted; 21 ahead: 100 ms over, turned away.
        let admitted = {
            let hasher = hasher.clone();
            std::thread::spawn(move || block_on(hasher.run(|| ())))
        };
        while hasher.shared.pending.load(Ordering::SeqCst) < 21 {
            std::thread::yield_now();
        }
        let turned_away = block_on(hasher.run(|| ()));
        assert!(matches!(turned_away, Err(Error::Busy { retry_after: 1 })));
        for _ in 0..2 {
            release.send(()).unwrap();
        }
        for holder in holders {
            holder.join().unwrap().unwrap();
        }
        for job in queued {
            job.join().unwrap().unwrap();
        }
        admitted.join().unwrap().unwrap();
        assert_eq!(hasher.shared.pending.load(Ordering::SeqCst), 0);
        assert!(block_on(hasher.run(|| ())).is_ok(), "served once drained");
    }

    #[test]
    fn retry_after_says_when_the_wait_is_back_under_the_limit() {
        let hasher = Hasher::start(1, 4, Duration::from_secs(1));
        hasher
            .shared
            .nanos_per_hash
            .store(1_000_000_000, Ordering::Relaxed);
        // 4 ahead at 1 s each on one thread: 4 s, 3 s over the limit.
        hasher.shared.pending.store(4, Ordering::SeqCst);
        let turned_away = block_on(hasher.run(|| ()));
        assert!(
            matches!(turned_away, Err(Error::Busy { retry_after: 3 })),
            "{turned_away:?}"
        );
        assert_eq!(
            hasher.shared.pending.load(Ordering::SeqCst),
            4,
            "not counted"
        );
        hasher.shared.pending.store(0, Ordering::SeqCst);
    }
}

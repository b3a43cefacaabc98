//! bcrypt, on threads of its own. One hash at cost 12 takes a core for about 200 ms, so a
//! sign-in flood must neither run on an async worker nor crowd the blocking pool that database
//! work uses: [`Hasher`] owns a few threads (one per core by default) at the lowest scheduling
//! priority (SCHED_IDLE), which get the CPU only when workers and the database do not need it.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// bcrypt reads at most 72 bytes; longer passwords are refused, never silently truncated.
pub const MAX_BYTES: usize = 72;
/// Shorter passwords are refused.
pub const MIN_BYTES: usize = 8;
/// Hashes that may wait per hashing thread before new ones are turned away with a 503
/// (about six seconds of work each at cost 12).
const QUEUE_PER_THREAD: usize = 32;

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

/// Hashes on the calling thread: for the command line and start-up only. The caller has
/// checked the length, so nothing is truncated.
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

/// The hashing threads; they stop when the last clone of the `Hasher` is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
}

impl Hasher {
    /// Starts `threads` hashing threads (0: one per core).
    pub fn start(threads: usize) -> Hasher {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let (jobs, queue) = sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("idgate-bcrypt-{index}"))
                .spawn(move || work(&queue))
                .expect("the system can start a thread");
        }
        Hasher { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let _ = reply.send(span.in_scope(f));
        });
        self.jobs.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => {
                Error::Busy("Too many sign-ins in progress; try again shortly.")
            }
            TrySendError::Disconnected(_) => {
                Error::Internal(anyhow::anyhow!("hashing threads stopped"))
            }
        })?;
        answer
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("a hashing thread panicked")))
    }

    /// Hashes a password whose length the caller has checked.
    pub async fn hash(&self, password: SecretString, cost: u32) -> Result<String, Error> {
        self.run(move || hash_now(&password, cost)).await?
    }

    /// Checks a password against a hash; see [`verify_now`].
    pub async fn verify(&self, password: SecretString, hash: String) -> Result<bool, Error> {
        self.run(move || verify_now(&password, &hash)).await
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
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_full_queue_turns_new_work_away() {
        let hasher = Hasher::start(1);
        // Hold the one thread, then fill the queue behind it.
        let (started, running) = std::sync::mpsc::channel::<()>();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let hold: Job = Box::new(move || {
            started.send(()).unwrap();
            held.recv().unwrap();
        });
        hasher.jobs.try_send(hold).unwrap();
        running.recv().unwrap();
        for _ in 0..QUEUE_PER_THREAD {
            let job: Job = Box::new(|| {});
            hasher.jobs.try_send(job).unwrap();
        }
        let turned_away = actix_web::rt::System::new()
            .block_on(hasher.verify(SecretString::from("x".to_owned()), String::new()));
        assert!(matches!(turned_away, Err(Error::Busy(_))));
        release.send(()).unwrap();
        let mut served = Err(Error::Busy("not tried"));
        for _ in 0..200 {
            served = actix_web::rt::System::new()
                .block_on(hasher.verify(SecretString::from("x".to_owned()), String::new()));
            if !matches!(served, Err(Error::Busy(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            matches!(served, Ok(false)),
            "the queue drains once the thread is free"
        );
    }
}

//! The keys every replica signs and verifies with, re-read from `keys.dir` while it serves.
//!
//! Replicas sharing the folder agree without a restart: each re-reads it every
//! `keys.reload_interval` and on SIGHUP, and swaps the whole [`KeyStore`] at once, so a request
//! sees the old set or the new one, never half of each. A reload that finds no usable key keeps
//! the set it has (a damaged file alone is skipped, and reported by name, when loading).
//!
//! A reload first lists the folder, which is cheap; it parses the keys again only when a file
//! changed or a published key's lead has run out, so the interval costs a directory listing and
//! a damaged file is reported once, not at every interval.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use super::{KeyState, KeyStore, KeyTiming};
use crate::clock::Clock;

pub struct KeyRing {
    dir: PathBuf,
    publish_lead: i64,
    clock: Clock,
    current: RwLock<Arc<KeyStore>>,
    /// The folder as the last successful read found it, and when a published key begins to
    /// sign: until one of them changes, a reload has nothing to do.
    seen: Mutex<Option<Seen>>,
}

#[derive(PartialEq)]
struct Seen {
    files: Vec<(PathBuf, u64, Option<SystemTime>)>,
    next_switch: Option<i64>,
}

/// What a reload changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub keys: usize,
    pub signing_kid: String,
    pub changed: bool,
}

impl KeyRing {
    /// A ring holding `store`, read from `dir`.
    pub fn new(store: KeyStore, dir: PathBuf, publish_lead: i64, clock: Clock) -> KeyRing {
        KeyRing {
            dir,
            publish_lead,
            clock,
            current: RwLock::new(Arc::new(store)),
            seen: Mutex::new(None),
        }
    }

    /// Reads `dir` at the clock's now: fails, as start-up should, when it holds no usable key.
    pub fn load(dir: PathBuf, publish_lead: i64, clock: Clock) -> anyhow::Result<KeyRing> {
        let store = KeyStore::load_at(&dir, publish_lead, clock.now())?;
        Ok(KeyRing::new(store, dir, publish_lead, clock))
    }

    /// Adds the next key to the folder (blocking: RSA key generation takes a while) and reads
    /// the folder again, so that this replica publishes it at once; returns the new key's id.
    pub fn rotate(&self, rsa_bits: usize) -> anyhow::Result<String> {
        self.install(&super::NewKey::generate(rsa_bits)?)
    }

    /// Writes `key` to the folder, dated by the ring's clock, and reads the folder again (as
    /// [`KeyRing::rotate`]); returns its id.
    pub fn install(&self, key: &super::NewKey) -> anyhow::Result<String> {
        let path = super::write_key_file(&self.dir, key, self.clock.now())?;
        self.reload()?;
        let store = self.current();
        let key = store
            .keys()
            .iter()
            .find(|key| key.path == path)
            .ok_or_else(|| anyhow::anyhow!("{} was not read back", path.display()))?;
        tracing::info!(key.kid = %key.kid, key.path = %path.display(), "added a key");
        Ok(key.kid.0.clone())
    }

    /// Removes the keys that are prunable at the clock's now (every token they signed or keyed
    /// has expired, by `timing`) and reads the folder again; returns what it removed.
    pub fn prune(&self, timing: KeyTiming) -> anyhow::Result<Vec<(super::Kid, PathBuf)>> {
        let store = self.current();
        let mut removed = Vec::new();
        let mut failure = None;
        for (key, state) in store
            .keys()
            .iter()
            .zip(store.states(timing, self.clock.now()))
        {
            if state != KeyState::Prunable {
                continue;
            }
            match std::fs::remove_file(&key.path) {
                Ok(()) => {
                    tracing::info!(key.kid = %key.kid, key.path = %key.path.display(), "removed a prunable key");
                    removed.push((key.kid.clone(), key.path.clone()));
                }
                Err(error) => {
                    failure = Some(
                        anyhow::Error::new(error)
                            .context(format!("removing {}", key.path.display())),
                    );
                    break;
                }
            }
        }
        self.reload()?;
        match failure {
            Some(error) => Err(error),
            None => Ok(removed),
        }
    }

    /// When the newest key was made.
    pub fn newest_created_at(&self) -> i64 {
        let store = self.current();
        store
            .keys()
            .iter()
            .map(|key| key.created_at)
            .max()
            .expect("a key store is never empty")
    }

    /// Each key as last read, oldest first, with its state at the clock's now.
    pub fn states(&self, timing: KeyTiming) -> Vec<(super::Kid, i64, KeyState)> {
        let store = self.current();
        let states = store.states(timing, self.clock.now());
        store
            .keys()
            .iter()
            .zip(states)
            .map(|(key, state)| (key.kid.clone(), key.created_at, state))
            .collect()
    }

    /// The keys as last read.
    pub fn current(&self) -> Arc<KeyStore> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the folder (blocking file I/O and key parsing: call it off the async workers)
    /// and swaps in what it finds; on an error the keys in use stay.
    pub fn reload(&self) -> anyhow::Result<Reloaded> {
        let now = self.clock.now();
        let files = listing(&self.dir)?;
        {
            let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(seen) = &*seen
                && seen.files == files
                && seen.next_switch.is_none_or(|at| now < at)
            {
                let current = self.current();
                return Ok(Reloaded {
                    keys: current.keys().len(),
                    signing_kid: current.signing_key().kid.0.clone(),
                    changed: false,
                });
            }
        }
        let fresh = KeyStore::load_at(&self.dir, self.publish_lead, now)?;
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(Seen {
            files,
            next_switch: fresh.next_switch(self.publish_lead),
        });
        let kids = |store: &KeyStore| {
            store
                .keys()
                .iter()
                .map(|key| key.kid.0.clone())
                .collect::<Vec<_>>()
        };
        let old = self.current();
        let changed =
            kids(&old) != kids(&fresh) || old.signing_key().kid != fresh.signing_key().kid;
        let reloaded = Reloaded {
            keys: fresh.keys().len(),
            signing_kid: fresh.signing_key().kid.0.clone(),
            changed,
        };
        if changed {
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        }
        Ok(reloaded)
    }
}

/// The key files of `dir` with their sizes and modification times.
fn listing(dir: &std::path::Path) -> anyhow::Result<Vec<(PathBuf, u64, Option<SystemTime>)>> {
    Ok(super::key_files(dir)?
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let size = meta.as_ref().map_or(0, |meta| meta.len());
            let modified = meta.and_then(|meta| meta.modified().ok());
            (path, size, modified)
        })
        .collect())
}

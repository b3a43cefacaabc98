//! Signing keys: the PKCS#8 PEM files in `keys.dir`, parsed once into what signs and verifies.
//!
//! Who touches the private key, and why that is safe:
//! - the `rsa` crate generates a key and reads and writes the PEM file, once per start or
//!   command. Version 0.10 uses constant-time arithmetic (0.9's private-key operations carry
//!   RUSTSEC-2023-0071), and generation or parsing happens before any client can time it;
//! - every signature is made by aws-lc-rs (constant-time, and 1.8× faster than jsonwebtoken's
//!   `encode` in `benches/tokens.rs`, which rebuilds the key pair on each call) with a key pair
//!   parsed once when the key is loaded; verification likewise uses a public key parsed once
//!   (jsonwebtoken's aws-lc verifier rebuilds it, Montgomery constants and all, per token);
//! - the HMAC key for refresh tokens is derived from the private key with HKDF-SHA256, so
//!   replicas sharing `keys.dir` agree on it without another secret to distribute.

pub mod jwks;
pub mod ring;
pub mod schedule;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use aws_lc_rs::{hkdf, rand::SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use rsa::PrivateKey;
use rsa::pkcs8::der::zeroize::Zeroizing;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use jwks::Jwks;
pub use ring::{KeyRing, Reloaded};
pub use schedule::{RotationSchedule, ScheduleTick};

/// A key id: the RFC 7638 JWK thumbprint (SHA-256) of the public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Kid(pub String);

impl std::fmt::Display for Kid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One RSA key, ready to sign and verify. No `Debug`: it holds the private key.
pub struct SigningKey {
    /// The key's id, written into every token header it signs.
    pub kid: Kid,
    /// The file the key was read from.
    pub path: PathBuf,
    /// Unix seconds when the key was made (from the file name).
    pub created_at: i64,
    /// Base64url big-endian modulus, as published in the JWKS.
    pub n: String,
    /// Base64url big-endian public exponent.
    pub e: String,
    /// The id refresh tokens signed with this key's HMAC key carry: never the id of a published
    /// key, so that no JWKS-driven verifier fetches an RSA key for an HS256 token.
    pub refresh_kid: String,
    key_pair: RsaKeyPair,
    public_key: ParsedPublicKey,
    refresh_signing_key: EncodingKey,
    refresh_hmac: hmac::Key,
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

impl SigningKey {
    fn from_pem(path: &Path, pem: &str) -> anyhow::Result<SigningKey> {
        let private = PrivateKey::from_pkcs8_pem(pem).map_err(|_| {
            anyhow::anyhow!("{} is not a PKCS#8 PEM RSA private key", path.display())
        })?;
        let der = private
            .to_pkcs8_der()
            .context("encoding the key as PKCS#8 DER")?;
        let key_pair = RsaKeyPair::from_pkcs8(der.as_bytes())
            .map_err(|error| anyhow::anyhow!("{} was rejected: {error}", path.display()))?;
        let public = key_pair.public_key();
        let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
        let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
        let (n, e) = (
            URL_SAFE_NO_PAD.encode(&modulus),
            URL_SAFE_NO_PAD.encode(&exponent),
        );
        let refresh_secret = derive_refresh_secret(der.as_bytes());
        Ok(SigningKey {
            kid: Kid(thumbprint(&n, &e)),
            refresh_kid: refresh_kid(&refresh_secret),
            path: path.to_owned(),
            created_at: created_at(path),
            public_key: RsaPublicKeyComponents {
                n: &modulus,
                e: &exponent,
            }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|error| anyhow::anyhow!("{}: public key rejected: {error}", path.display()))?,
            refresh_signing_key: EncodingKey::from_secret(&refresh_secret)
                .expect("an HMAC key can be any bytes"),
            refresh_hmac: hmac::Key::new(hmac::HMAC_SHA256, &refresh_secret),
            n,
            e,
            key_pair,
        })
    }

    /// Signs `claims` as a compact RS256 JWS with header `typ` and this key's `kid`.
    pub fn sign_rs256(&self, typ: &str, claims: &impl Serialize) -> anyhow::Result<String> {
        let header = JwsHeader {
            alg: "RS256",
            typ,
            kid: &self.kid.0,
        };
        let header = serde_json::to_vec(&header).context("encoding the JWS header")?;
        let claims = serde_json::to_vec(claims).context("encoding claims")?;
        let mut token = String::with_capacity(700 + claims.len() * 4 / 3);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// True when `signature` is this key's RS256 signature of `signing_input`.
    pub fn verify_rs256(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        self.public_key.verify_sig(signing_input, signature).is_ok()
    }

    /// The HMAC key refresh tokens are signed with (HS256; only idgate verifies them).
    pub fn refresh_signing_key(&self) -> &EncodingKey {
        &self.refresh_signing_key
    }

    /// True when `tag` is the HS256 tag of `signing_input` under the refresh-token key; the
    /// comparison is constant-time.
    pub fn verify_hs256(&self, signing_input: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.refresh_hmac, signing_input, tag).is_ok()
    }
}

fn derive_refresh_secret(pkcs8_der: &[u8]) -> [u8; 32] {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"idgate refresh-token hmac");
    let mut secret = [0u8; 32];
    salt.extract(pkcs8_der)
        .expand(&[b"HS256 v1"], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut secret))
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    secret
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
/// `hs-` and a SHA-256 digest of the refresh secret: tells one HMAC key from another, reveals
/// nothing of it, and cannot be mistaken for an RFC 7638 thumbprint in the JWKS.
fn refresh_kid(refresh_secret: &[u8]) -> String {
    let digest = Sha256::digest([b"idgate refresh kid ".as_slice(), refresh_secret].concat());
    format!("hs-{}", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Key files are named `<unix seconds>-<kid>.pem`; other names fall back to the file's mtime.
fn created_at(path: &Path) -> i64 {
    let from_name = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(|stem| stem.split('-').next())
        .and_then(|secs| secs.parse().ok());
    from_name.unwrap_or_else(|| {
        fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_secs() as i64)
    })
}

/// Every key in `keys.dir`, oldest first, and the JWKS document that publishes them.
pub struct KeyStore {
    keys: Vec<SigningKey>,
    /// The index of the key that signs: the newest whose publish lead has passed.
    signing: usize,
    jwks: Jwks,
}

/// Where a key is in its life (API.md §7), at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet: downstream JWKS copies learn it first. Signs from `since`.
    Published {
        signs_from: i64,
    },
    Signing,
    /// Replaced at `retired_at`; still published, because tokens it signed may be alive.
    Retired {
        retired_at: i64,
        prunable_from: i64,
    },
    /// Every token it signed (refresh tokens included) has expired: `keys prune` removes it.
    Prunable,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Published { .. } => "published",
            KeyState::Signing => "signing",
            KeyState::Retired { .. } => "retired",
            KeyState::Prunable => "prunable",
        }
    }
}

/// The timing of key rotation, from `keys.*` and `tokens.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTiming {
    /// Seconds a new key is published before it signs (`keys.publish_lead`).
    pub publish_lead: i64,
    /// Seconds after its retirement until every token a key signed or keyed has expired: the
    /// longest a refresh token lives (`tokens.refresh_ttl`, or `tokens.session_max_age` when
    /// refresh is sliding), at least an access token's life, plus `tokens.leeway`.
    pub tokens_outlive_key: i64,
}

impl KeyTiming {
    pub fn from_settings(settings: &crate::config::Settings) -> KeyTiming {
        let seconds = |duration: std::time::Duration| duration.as_secs() as i64;
        let tokens = &settings.tokens;
        let refresh_life = if tokens.refresh_sliding {
            seconds(tokens.session_max_age.0)
        } else {
            seconds(tokens.refresh_ttl.0)
        };
        KeyTiming {
            publish_lead: seconds(settings.keys.publish_lead().0),
            tokens_outlive_key: refresh_life.max(seconds(tokens.access_ttl.0))
                + seconds(tokens.leeway.0),
        }
    }
}

impl KeyStore {
    /// Reads every `*.pem` in `dir`, the newest signing; fails when none is usable.
    pub fn load(dir: &Path) -> anyhow::Result<KeyStore> {
        KeyStore::load_at(dir, 0, crate::clock::unix_now())
    }

    /// Reads every `*.pem` in `dir` at `now`: the newest key whose `publish_lead` has passed
    /// signs (the oldest when none has: a first key signs at once). A file that cannot be read
    /// or is not a usable RSA key is reported by name and skipped, so that one damaged file
    /// never stops a replica; a folder with no usable key is an error.
    pub fn load_at(dir: &Path, publish_lead: i64, now: i64) -> anyhow::Result<KeyStore> {
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for path in key_files(dir)? {
            warn_if_readable_by_others(&path);
            let loaded = fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))
                .and_then(|pem| SigningKey::from_pem(&path, &pem));
            match loaded {
                Ok(key) => keys.push(key),
                Err(error) => {
                    tracing::error!(key.path = %path.display(), error = %format!("{error:#}"), "skipping a key file that cannot be used");
                    skipped.push(path.display().to_string());
                }
            }
        }
        if keys.is_empty() {
            if skipped.is_empty() {
                bail!(
                    "no key in {} (keys.dir); run `idgate keys generate`",
                    dir.display()
                );
            }
            bail!(
                "no usable key in {} (keys.dir): {} could not be used",
                dir.display(),
                skipped.join(", ")
            );
        }
        keys.sort_by(|a, b| (a.created_at, &a.kid.0).cmp(&(b.created_at, &b.kid.0)));
        let signing = keys
            .iter()
            .rposition(|key| key.created_at.saturating_add(publish_lead) <= now)
            .unwrap_or(0);
        let jwks = Jwks::new(&keys);
        Ok(KeyStore {
            keys,
            signing,
            jwks,
        })
    }

    /// When the next published key begins to sign, if one is waiting.
    pub fn next_switch(&self, publish_lead: i64) -> Option<i64> {
        self.keys
            .get(self.signing + 1..)
            .and_then(|later| later.iter().map(|key| key.created_at + publish_lead).min())
    }

    /// Where each key (oldest first) is in its life at `now`. A key is retired when the next
    /// newer one began to sign (its creation plus the lead).
    pub fn states(&self, timing: KeyTiming, now: i64) -> Vec<KeyState> {
        (0..self.keys.len())
            .map(|index| {
                let signs_from = self.keys[index].created_at + timing.publish_lead;
                if index == self.signing {
                    KeyState::Signing
                } else if index > self.signing {
                    KeyState::Published { signs_from }
                } else {
                    let retired_at = self.keys[index + 1].created_at + timing.publish_lead;
                    let prunable_from = retired_at + timing.tokens_outlive_key;
                    if now >= prunable_from {
                        KeyState::Prunable
                    } else {
                        KeyState::Retired {
                            retired_at,
                            prunable_from,
                        }
                    }
                }
            })
            .collect()
    }

    /// Loads `dir` at `now`, first generating a key when it holds none (the first start).
    pub fn load_or_generate(
        dir: &Path,
        rsa_bits: usize,
        publish_lead: i64,
        now: i64,
    ) -> anyhow::Result<KeyStore> {
        if key_files(dir)?.is_empty() {
            // Replicas sharing a new folder take turns, so that only the first makes a key.
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let lock_path = dir.join(".generate.lock");
            let _turn = crate::lockfile::hold(&lock_path)?;
            if key_files(dir)?.is_empty() {
                let path = generate_key_file(dir, rsa_bits)?;
                tracing::info!(key.path = %path.display(), "generated the first signing key");
            }
            // Safe while others wait on it: each looks at the folder again once it has the
            // lock, and the key is in place before the lock file goes.
            let _ = fs::remove_file(&lock_path);
        }
        KeyStore::load_at(dir, publish_lead, now)
    }

    /// The key that signs new tokens: the newest whose publish lead had passed when the
    /// folder was read.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[self.signing]
    }

    /// The key with this id, if it is still published.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.kid.0 == kid)
    }

    /// The key whose HMAC key signed a refresh token with this `kid`. Refresh tokens issued
    /// before refresh tokens had ids of their own carry the RSA key's id, and are still found
    /// by it until they expire.
    pub fn find_refresh(&self, kid: &str) -> Option<&SigningKey> {
        self.keys
            .iter()
            .find(|key| key.refresh_kid == kid)
            .or_else(|| self.find(kid))
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The published JWKS document.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

/// The `*.pem` files of `dir`, sorted by name; an absent folder has none.
pub fn key_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "pem") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(key.path = %path.display(), "key file is readable by group or others; chmod 600 it");
    }
}

/// Generates an RSA key and writes it to `dir` as PKCS#8 PEM, mode 0600, never overwriting.
pub fn generate_key_file(dir: &Path, rsa_bits: usize) -> anyhow::Result<PathBuf> {
    write_key_file(dir, &NewKey::generate(rsa_bits)?, crate::clock::unix_now())
}

/// A private key made but not yet written to the folder.
pub struct NewKey {
    pem: Zeroizing<String>,
    kid: Kid,
}

impl NewKey {
    /// Generates an RSA key of `rsa_bits` (blocking: this takes from tens of milliseconds to
    /// seconds).
    pub fn generate(rsa_bits: usize) -> anyhow::Result<NewKey> {
        let private =
            PrivateKey::new(&mut getrandom::SysRng, rsa_bits).context("generating an RSA key")?;
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .context("encoding the key as PKCS#8 PEM")?;
        let kid = SigningKey::from_pem(Path::new("new key"), &pem)?.kid;
        Ok(NewKey { pem, kid })
    }

    pub fn kid(&self) -> &Kid {
        &self.kid
    }
}

/// Writes `key` to `dir` as PKCS#8 PEM, mode 0600, never overwriting, dated `now` or later.
pub fn write_key_file(dir: &Path, key: &NewKey, now: i64) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Later than every key already there, even within the same second: the order of creation
    // decides which key signs.
    let newest = key_files(dir)?
        .iter()
        .map(|path| created_at(path))
        .max()
        .unwrap_or(i64::MIN);
    let made_at = now.max(newest.saturating_add(1));
    let path = dir.join(format!("{made_at}-{}.pem", key.kid));
    // Written under a temporary name first so that a reader never sees half a key.
    let partial = dir.join(format!(".{}.partial", key.kid));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    file.write_all(key.pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, &path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keys` with the shared test key's PEM under several creation times: distinct files, one
    /// key (the states do not care whose key it is).
    fn folder_with_keys_made_at(times: &[i64]) -> tempfile::TempDir {
        let scratch = tempfile::tempdir().unwrap();
        crate::testing::install_key(scratch.path());
        let source = key_files(scratch.path()).unwrap().remove(0);
        let pem = fs::read_to_string(source).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (index, time) in times.iter().enumerate() {
            let path = dir.path().join(format!("{time}-key{index}.pem"));
            fs::write(&path, &pem).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        dir
    }

    #[test]
    fn a_new_key_signs_after_the_lead_and_a_replaced_one_is_prunable_once_its_tokens_expire() {
        let dir = folder_with_keys_made_at(&[1000, 2000, 3000]);
        let timing = KeyTiming {
            publish_lead: 100,
            tokens_outlive_key: 500,
        };
        let at = |now: i64| {
            let store = KeyStore::load_at(dir.path(), timing.publish_lead, now).unwrap();
            (store.signing, store.states(timing, now))
        };
        use KeyState::*;
        assert_eq!(
            at(2050),
            (
                0,
                vec![
                    Signing,
                    Published { signs_from: 2100 },
                    Published { signs_from: 3100 }
                ]
            )
        );
        assert_eq!(
            at(2100),
            (
                1,
                vec![
                    Retired {
                        retired_at: 2100,
                        prunable_from: 2600
                    },
                    Signing,
                    Published { signs_from: 3100 }
                ]
            )
        );
        assert_eq!(
            at(3100),
            (
                2,
                vec![
                    Prunable,
                    Retired {
                        retired_at: 3100,
                        prunable_from: 3600
                    },
                    Signing
                ]
            )
        );
        // Before any lead has passed (a first key, or clocks apart), the oldest signs.
        assert_eq!(at(500).0, 0);
        // Without a lead (the command line's view), the newest signs.
        assert_eq!(KeyStore::load_at(dir.path(), 0, 3000).unwrap().signing, 2);
    }

    #[test]
    fn a_reload_parses_the_keys_only_when_a_file_changed_or_a_lead_ran_out() {
        let dir = folder_with_keys_made_at(&[1000, 2000]);
        let clock = crate::clock::Clock::manual(2050);
        let ring = KeyRing::load(dir.path().to_owned(), 100, clock.clone()).unwrap();
        assert!(!ring.reload().unwrap().changed);
        // Garbage of the same size and time under a known name: the listing is unchanged, so
        // nothing is parsed and the keys in use stay.
        let path = dir.path().join("1000-key0.pem");
        let file = fs::File::options().write(true).open(&path).unwrap();
        let modified = file.metadata().unwrap().modified().unwrap();
        let size = file.metadata().unwrap().len() as usize;
        fs::write(&path, "x".repeat(size)).unwrap();
        file.set_modified(modified).unwrap();
        assert!(!ring.reload().unwrap().changed);
        assert_eq!(ring.current().keys().len(), 2);
        // The lead of the second key runs out: the folder is read again, and the damaged file
        // found and skipped.
        clock.advance(50);
        let reloaded = ring.reload().unwrap();
        assert!(reloaded.changed);
        assert_eq!(ring.current().keys().len(), 1);
        assert_eq!(ring.current().signing_key().created_at, 2000);
    }

    #[test]
    fn a_damaged_key_file_is_skipped_by_name_and_a_folder_without_a_usable_key_fails() {
        let dir = folder_with_keys_made_at(&[1000]);
        let damaged = dir.path().join("2000-damaged.pem");
        fs::write(&damaged, "-----BEGIN PRIVATE KEY-----\nnot a key\n").unwrap();
        let store = KeyStore::load_at(dir.path(), 0, 3000).unwrap();
        assert_eq!(store.keys().len(), 1);
        assert_eq!(store.signing_key().created_at, 1000);

        fs::remove_file(dir.path().join("1000-key0.pem")).unwrap();
        let error = KeyStore::load_at(dir.path(), 0, 3000)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("no usable key"), "{error}");
        assert!(error.contains("2000-damaged.pem"), "{error}");
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}

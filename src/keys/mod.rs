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
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use jwks::Jwks;

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
    jwks: Jwks,
}

impl KeyStore {
    /// Reads every `*.pem` in `dir`; fails when there is none.
    pub fn load(dir: &Path) -> anyhow::Result<KeyStore> {
        let mut keys = Vec::new();
        for path in key_files(dir)? {
            warn_if_readable_by_others(&path);
            let pem =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            keys.push(SigningKey::from_pem(&path, &pem)?);
        }
        if keys.is_empty() {
            bail!(
                "no key in {} (keys.dir); run `idgate keys generate`",
                dir.display()
            );
        }
        keys.sort_by(|a, b| (a.created_at, &a.kid.0).cmp(&(b.created_at, &b.kid.0)));
        let jwks = Jwks::new(&keys);
        Ok(KeyStore { keys, jwks })
    }

    /// Loads `dir`, first generating a key when it holds none (the first start).
    pub fn load_or_generate(dir: &Path, rsa_bits: usize) -> anyhow::Result<KeyStore> {
        if key_files(dir)?.is_empty() {
            let path = generate_key_file(dir, rsa_bits)?;
            tracing::info!(key.path = %path.display(), "generated the first signing key");
        }
        KeyStore::load(dir)
    }

    /// The key that signs new tokens: the newest.
    pub fn signing_key(&self) -> &SigningKey {
        self.keys.last().expect("a key store always holds a key")
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
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let private =
        PrivateKey::new(&mut getrandom::SysRng, rsa_bits).context("generating an RSA key")?;
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the key as PKCS#8 PEM")?;
    let probe = SigningKey::from_pem(Path::new("new key"), &pem)?;
    let path = dir.join(format!("{}-{}.pem", crate::clock::unix_now(), probe.kid));
    // Written under a temporary name first so that a reader never sees half a key.
    let partial = dir.join(format!(".{}.partial", probe.kid));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, &path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

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

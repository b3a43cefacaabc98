//! bcrypt, always on the blocking pool: one hash at cost 12 takes a core for ~200 ms.

use actix_web::web;
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// bcrypt reads at most 72 bytes; longer passwords are refused, never silently truncated.
pub const MAX_BYTES: usize = 72;
/// Shorter passwords are refused.
pub const MIN_BYTES: usize = 8;

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

/// Hashes on the blocking pool. The caller has checked the length, so nothing is truncated.
pub async fn hash(password: SecretString, cost: u32) -> Result<String, Error> {
    let span = tracing::Span::current();
    let hashed = web::block(move || span.in_scope(|| hash_now(&password, cost)))
        .await
        .context("blocking pool")??;
    Ok(hashed)
}

/// Hashes on the calling thread: for the command line and start-up only.
pub fn hash_now(password: &SecretString, cost: u32) -> Result<String, Error> {
    debug_assert!(password.expose_secret().len() <= MAX_BYTES);
    Ok(bcrypt::hash(password.expose_secret(), cost).context("hashing a password")?)
}

/// Checks a password against a hash on the blocking pool. A password over the limit is
/// checked anyway (so it costs the same time) and then refused: bcrypt would compare only its
/// first 72 bytes.
pub async fn verify(password: SecretString, hash: String) -> Result<bool, Error> {
    let span = tracing::Span::current();
    let matches = web::block(move || {
        span.in_scope(|| {
            let bytes = password.expose_secret().as_bytes();
            let fits = bytes.len() <= MAX_BYTES;
            // A malformed stored hash is a failed check, not a crash.
            let matches = bcrypt::verify(bytes, &hash).unwrap_or(false);
            matches && fits
        })
    })
    .await
    .context("blocking pool")?;
    Ok(matches)
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
        assert!(bcrypt::verify("correct horse battery", &hashed).unwrap());
    }
}

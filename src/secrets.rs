//! Opaque secrets idgate hands out — client secrets, session cookies, authorization codes —
//! and how it keeps them: 256 random bits, base64url; stored only as SHA-256, compared in
//! constant time. (A slow hash protects guessable passwords; against 256 random bits SHA-256 is
//! as strong, and it costs microseconds.)

use aws_lc_rs::{constant_time, digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;

/// 256 random bits, base64url: 43 characters that need no escaping anywhere.
pub fn new_opaque() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes).expect("the system's random source works");
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of `value`, lower-case hex: what is stored in its place.
pub fn sha256_hex(value: &str) -> String {
    let digest = digest::digest(&digest::SHA256, value.as_bytes());
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// True when `presented` hashes to `stored` (from [`sha256_hex`]), compared in constant time.
pub fn matches_stored(presented: &str, stored: &str) -> bool {
    constant_time::verify_slices_are_equal(sha256_hex(presented).as_bytes(), stored.as_bytes())
        .is_ok()
}

/// True when two secrets are equal, compared in constant time.
pub fn equal(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// PKCE S256 (RFC 7636 §4.6): base64url of the SHA-256 of the verifier equals the challenge.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let digest = digest::digest(&digest::SHA256, verifier.as_bytes());
    equal(&URL_SAFE_NO_PAD.encode(digest.as_ref()), challenge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn opaque_values_are_fresh_and_stored_as_their_hash() {
        let (a, b) = (new_opaque(), new_opaque());
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        let stored = sha256_hex(a.expose_secret());
        assert!(matches_stored(a.expose_secret(), &stored));
        assert!(!matches_stored(b.expose_secret(), &stored));
    }

    #[test]
    fn pkce_s256_follows_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches("another verifier", challenge));
    }
}

//! The physical limits idgate's operations are measured against, on the backends idgate uses:
//! raw RSA-2048 PKCS#1 signatures and verifications by aws-lc-rs with keys parsed once, and
//! bcrypt cost-12 hashes. One thread; pin it with `taskset`.
//!
//! Prints one JSON line: {"rsa_sign_per_s":…, "rsa_verify_per_s":…, "bcrypt12_per_s":…}.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use rsa::pkcs8::EncodePrivateKey;

fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    op(); // warm up
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < budget {
        op();
        count += 1;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let budget = Duration::from_secs(seconds);
    let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("key generation");
    let der = private.to_pkcs8_der().expect("PKCS#8");
    let key_pair = RsaKeyPair::from_pkcs8(der.as_bytes()).expect("aws-lc parses the key");
    let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0";
    let rng = SystemRandom::new();
    let mut signature = vec![0; key_pair.public_modulus_len()];
    let sign = rate(budget, || {
        key_pair
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
            .expect("signing");
    });

    let public = key_pair.public_key();
    let parsed = RsaPublicKeyComponents {
        n: public.modulus().big_endian_without_leading_zero(),
        e: public.exponent().big_endian_without_leading_zero(),
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("a valid public key");
    let verify = rate(budget, || {
        parsed
            .verify_sig(message, &signature)
            .expect("the signature verifies");
    });

    let bcrypt = rate(budget, || {
        bcrypt::hash("correct horse battery", 12).expect("hashing");
    });
    println!(
        "{{\"rsa_sign_per_s\": {sign:.0}, \"rsa_verify_per_s\": {verify:.0}, \"bcrypt12_per_s\": {bcrypt:.2}}}"
    );
}

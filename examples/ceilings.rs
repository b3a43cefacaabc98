//! The physical limits idgate's operations are measured against, on the backends idgate uses:
//! raw RSA-2048 PKCS#1 signatures and verifications by aws-lc-rs with keys parsed once, and
//! bcrypt cost-12 hashes. One thread; pin it with `taskset`.
//!
//!     ceilings [SECONDS per limit] [rsa_sign|rsa_verify|bcrypt12 …]
//!
//! Prints one JSON line, e.g. {"rsa_sign_per_s": …, "rsa_verify_per_s": …, "bcrypt12_per_s": …};
//! with names, only those limits are measured (`bench/load.sh` measures one between rounds).

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
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let mut wanted: Vec<String> = args.collect();
    if wanted.is_empty() {
        wanted = ["rsa_sign", "rsa_verify", "bcrypt12"]
            .map(String::from)
            .to_vec();
    }
    let budget = Duration::from_secs_f64(seconds);
    let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).expect("key generation");
    let der = private.to_pkcs8_der().expect("PKCS#8");
    let key_pair = RsaKeyPair::from_pkcs8(der.as_bytes()).expect("aws-lc parses the key");
    let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0";
    let rng = SystemRandom::new();
    let mut signature = vec![0; key_pair.public_modulus_len()];
    key_pair
        .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
        .expect("signing");
    let public = key_pair.public_key();
    let parsed = RsaPublicKeyComponents {
        n: public.modulus().big_endian_without_leading_zero(),
        e: public.exponent().big_endian_without_leading_zero(),
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("a valid public key");

    let mut scratch = vec![0; key_pair.public_modulus_len()];
    let mut figures = Vec::new();
    for name in &wanted {
        let (per_s, digits) = match name.as_str() {
            "rsa_sign" => (
                rate(budget, || {
                    key_pair
                        .sign(&RSA_PKCS1_SHA256, &rng, message, &mut scratch)
                        .expect("signing");
                }),
                0,
            ),
            "rsa_verify" => (
                rate(budget, || {
                    parsed
                        .verify_sig(message, &signature)
                        .expect("the signature verifies");
                }),
                0,
            ),
            "bcrypt12" => (
                rate(budget, || {
                    bcrypt::hash("correct horse battery", 12).expect("hashing");
                }),
                2,
            ),
            other => {
                eprintln!("unknown limit {other:?}: expected rsa_sign, rsa_verify or bcrypt12");
                std::process::exit(2);
            }
        };
        figures.push(format!("\"{name}_per_s\": {per_s:.digits$}"));
    }
    println!("{{{}}}", figures.join(", "));
}

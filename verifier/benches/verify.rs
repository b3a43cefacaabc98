//! The verifier with a warm key cache, beside the RSA-2048 verification it cannot avoid,
//! measured in the same run: `cargo bench -p idgate-verifier --bench verify`. The last line
//! prints the verifier's rate as a share of the bare RSA rate (medians).

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use idgate_verifier::{RevocationFeed, Verifier};
use serde_json::json;
use support::{AUDIENCE, JwksServer, TestKey, now};

fn output_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

fn main() {
    let key = TestKey::new("bench");
    let server = JwksServer::start(&[&key]);
    // A revocation list of 1,000 signed-out sessions, as a busy issuer's feed would hold.
    let revoked: Vec<_> = (0..1000)
        .map(
            |n| json!({ "sid": format!("revoked-{n}"), "revoked_at": now(), "until": now() + 300 }),
        )
        .collect();
    server.change(|behaviour| behaviour.feed = json!({ "now": now(), "revoked": revoked }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain = Verifier::builder(&server.url)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let with_feed = Verifier::builder(&server.url)
        .audience(AUDIENCE)
        .revocations(RevocationFeed::new("bench", "secret").interval(Duration::from_secs(3600)))
        .build()
        .unwrap();
    runtime.block_on(plain.warm_up()).unwrap();
    runtime.block_on(with_feed.warm_up()).unwrap();
    while with_feed.revocation_status().unwrap().revoked_sessions < 1000 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let token = key.access_token(&server.url, |_| {});

    // The bare check: the key parsed once, as the verifier keeps it.
    let jwk = key.jwk();
    let decode = |member: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[member].as_str().unwrap())
            .unwrap()
    };
    let (n, e) = (decode("n"), decode("e"));
    let public: ParsedPublicKey = RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();

    let mut criterion = Criterion::default()
        .output_directory(&output_directory())
        .configure_from_args();
    let mut group = criterion.benchmark_group("verifier");
    group.bench_function("rsa2048_verify", |b| {
        b.iter(|| {
            public
                .verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                .unwrap()
        })
    });
    group.bench_function("verify_warm", |b| {
        b.iter(|| runtime.block_on(plain.verify(black_box(&token))).unwrap())
    });
    group.bench_function("verify_warm_with_revocations", |b| {
        b.iter(|| {
            runtime
                .block_on(with_feed.verify(black_box(&token)))
                .unwrap()
        })
    });
    group.finish();
    criterion.final_summary();

    let median = |name: &str| -> Option<f64> {
        let path = output_directory().join(format!("verifier/{name}/new/estimates.json"));
        let estimates: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        estimates["median"]["point_estimate"].as_f64()
    };
    if let (Some(rsa), Some(warm), Some(fed)) = (
        median("rsa2048_verify"),
        median("verify_warm"),
        median("verify_warm_with_revocations"),
    ) {
        println!(
            "verifier rate / RSA-2048 verify rate (medians): {:.1} % ({:.1} % with a 1,000-entry revocation list)",
            100.0 * rsa / warm,
            100.0 * rsa / fed
        );
    }
}

//! The key cache against a JWKS server the tests control: rotation, unknown `kid`s, single
//! flight, `ETag` revalidation, an unreachable issuer.

mod support;

use std::time::Duration;

use idgate_verifier::{Verifier, VerifyError};
use support::{AUDIENCE, JwksServer, TestKey};

fn verifier(
    server: &JwksServer,
    adjust: impl FnOnce(idgate_verifier::VerifierBuilder) -> idgate_verifier::VerifierBuilder,
) -> Verifier {
    adjust(Verifier::builder(&server.url).audience(AUDIENCE))
        .build()
        .unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn keys_are_found_by_discovery_and_a_rotated_key_is_picked_up() {
    let (old, new) = (TestKey::new("old"), TestKey::new("new"));
    let server = JwksServer::start(&[&old]);
    let verifier = verifier(&server, |builder| {
        builder.unknown_kid_interval(Duration::from_millis(300))
    });
    block_on(async {
        let claims = verifier
            .verify(&old.access_token(&server.url, |_| {}))
            .await
            .unwrap();
        assert_eq!(claims.sub, "42");
        assert_eq!((server.discoveries(), server.full_fetches()), (1, 1));

        // The issuer publishes a second key and signs with it.
        server.change(|behaviour| behaviour.keys.push(new.jwk()));
        tokio::time::sleep(Duration::from_millis(350)).await;
        let claims = verifier
            .verify(&new.access_token(&server.url, |_| {}))
            .await
            .unwrap();
        assert_eq!(claims.sid.as_deref(), Some("session-1"));
        // Tokens of the old key still verify; discovery is not repeated.
        verifier
            .verify(&old.access_token(&server.url, |_| {}))
            .await
            .unwrap();
        assert_eq!((server.discoveries(), server.full_fetches()), (1, 2));

        // The old key is retired: once the set is refetched, its tokens are refused.
        server.change(|behaviour| {
            behaviour.keys.remove(0);
        });
        tokio::time::sleep(Duration::from_millis(350)).await;
        let unknown = TestKey::new("unknown");
        let _ = verifier
            .verify(&unknown.access_token(&server.url, |_| {}))
            .await;
        assert_eq!(
            verifier
                .verify(&old.access_token(&server.url, |_| {}))
                .await,
            Err(VerifyError::UnknownKey)
        );
    });
}

#[test]
fn forged_kids_cause_at_most_one_fetch_per_interval() {
    let key = TestKey::new("real");
    let server = JwksServer::start(&[&key]);
    let verifier = verifier(&server, |builder| {
        builder
            .jwks_uri(server.jwks_uri())
            .unknown_kid_interval(Duration::from_millis(500))
    });
    block_on(async {
        verifier
            .verify(&key.access_token(&server.url, |_| {}))
            .await
            .unwrap();
        assert_eq!(server.full_fetches(), 1);
        assert_eq!(server.discoveries(), 0, "a JWKS URL given skips discovery");
        let forger = TestKey::new("forged");
        let forge = |n: usize| {
            let mut header = forger.header();
            header["kid"] = format!("forged-{n}").into();
            forger.sign(&header, &support::access_claims(&server.url))
        };
        for n in 0..200 {
            assert_eq!(
                verifier.verify(&forge(n)).await,
                Err(VerifyError::UnknownKey)
            );
        }
        assert_eq!(
            (server.full_fetches(), server.not_modified()),
            (1, 1),
            "one (conditional) fetch for the interval's 200 kids"
        );
        tokio::time::sleep(Duration::from_millis(550)).await;
        for n in 200..400 {
            assert_eq!(
                verifier.verify(&forge(n)).await,
                Err(VerifyError::UnknownKey)
            );
        }
        assert_eq!(
            (server.full_fetches(), server.not_modified()),
            (1, 2),
            "one more for the next interval's 200"
        );
    });
}

#[test]
fn a_key_that_signs_just_after_a_fetch_is_picked_up_at_once() {
    // Found by the replicas check: the fetch at start counted against the unknown-kid interval,
    // so a key that began to sign within 30 s of it was refused for the rest of the 30 s.
    let (old, new) = (TestKey::new("old"), TestKey::new("new"));
    let server = JwksServer::start(&[&old]);
    let verifier = verifier(&server, |builder| builder.jwks_uri(server.jwks_uri()));
    block_on(async {
        verifier
            .verify(&old.access_token(&server.url, |_| {}))
            .await
            .unwrap();
        server.change(|behaviour| behaviour.keys.push(new.jwk()));
        verifier
            .verify(&new.access_token(&server.url, |_| {}))
            .await
            .unwrap();
        assert_eq!(server.full_fetches(), 2);
    });
}

#[test]
fn concurrent_first_use_fetches_once() {
    let key = TestKey::new("k");
    let server = JwksServer::start(&[&key]);
    let verifier = verifier(&server, |builder| builder);
    // The answer is held until every thread waits for it.
    server.change(|behaviour| behaviour.hold = true);
    let token = key.access_token(&server.url, |_| {});
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            std::thread::spawn(move || block_on(verifier.verify(&token)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    server.change(|behaviour| behaviour.hold = false);
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    assert_eq!((server.discoveries(), server.full_fetches()), (1, 1));
}

#[test]
fn an_expired_key_set_is_revalidated_with_its_etag_without_making_anyone_wait() {
    let key = TestKey::new("k");
    let server = JwksServer::start(&[&key]);
    server.change(|behaviour| behaviour.max_age = Some(1));
    let verifier = verifier(&server, |builder| {
        builder.freshness_bounds(Duration::from_millis(100), Duration::from_secs(60))
    });
    let token = key.access_token(&server.url, |_| {});
    block_on(async {
        verifier.verify(&token).await.unwrap();
        assert_eq!(server.full_fetches(), 1);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // The set is past its max-age and the issuer hangs: verification goes on with the
        // known key; the revalidation waits in the background.
        server.change(|behaviour| behaviour.hold = true);
        for _ in 0..50 {
            verifier.verify(&token).await.unwrap();
        }
        server.change(|behaviour| behaviour.hold = false);
        wait_until(|| server.not_modified() == 1);
        assert_eq!(
            server.full_fetches(),
            1,
            "unchanged keys are not sent again"
        );
        // Revalidated: fresh again for a max-age, no further request.
        verifier.verify(&token).await.unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!((server.full_fetches(), server.not_modified()), (1, 1));
    });
}

#[test]
fn an_unreachable_issuer_is_survived_for_the_stale_bound_then_reported() {
    let key = TestKey::new("k");
    let server = JwksServer::start(&[&key]);
    server.change(|behaviour| behaviour.max_age = Some(1));
    let verifier = verifier(&server, |builder| {
        builder
            .freshness_bounds(Duration::from_millis(100), Duration::from_secs(60))
            .max_stale(Duration::from_secs(2))
            .unknown_kid_interval(Duration::from_millis(400))
    });
    let token = key.access_token(&server.url, |_| {});
    block_on(async {
        verifier.verify(&token).await.unwrap();
        server.change(|behaviour| behaviour.down = true);
        // Past max-age, within the stale bound: still verifying, with the last keys.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        verifier.verify(&token).await.unwrap();
        wait_until(|| {
            server
                .counts
                .refused
                .load(std::sync::atomic::Ordering::SeqCst)
                >= 1
        });
        verifier.verify(&token).await.unwrap();
        // Past max-age + max_stale: refused, saying why.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        match verifier.verify(&token).await {
            Err(VerifyError::KeysUnavailable(reason)) => {
                assert!(reason.contains("HTTP 503"), "{reason}");
                assert!(reason.contains("failing for"), "{reason}");
            }
            other => panic!("expected KeysUnavailable, got {other:?}"),
        }
        assert!(!VerifyError::KeysUnavailable(String::new()).rejects_token());
        // The issuer is back: after the retry delay, tokens verify again.
        server.change(|behaviour| behaviour.down = false);
        tokio::time::sleep(Duration::from_millis(450)).await;
        verifier.verify(&token).await.unwrap();
        assert!(verifier.warm_up().await.is_ok());
    });
}

#[test]
fn an_issuer_never_reached_is_reported_and_retried_with_backoff() {
    let key = TestKey::new("k");
    let server = JwksServer::start(&[&key]);
    server.change(|behaviour| behaviour.down = true);
    let verifier = verifier(&server, |builder| builder.jwks_uri(server.jwks_uri()));
    let token = key.access_token(&server.url, |_| {});
    block_on(async {
        let error = verifier.warm_up().await.unwrap_err();
        assert!(
            matches!(error, VerifyError::KeysUnavailable(_)),
            "{error:?}"
        );
        // Within the first retry delay (1 s), requests are refused without a fetch each.
        for _ in 0..20 {
            assert!(matches!(
                verifier.verify(&token).await,
                Err(VerifyError::KeysUnavailable(_))
            ));
        }
        assert_eq!(
            server
                .counts
                .refused
                .load(std::sync::atomic::Ordering::SeqCst),
            1
        );
        server.change(|behaviour| behaviour.down = false);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        verifier.verify(&token).await.unwrap();
    });
}

/// Waits (up to 5 s) for what a background fetch brings about.
fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out");
}

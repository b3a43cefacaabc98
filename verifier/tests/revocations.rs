//! The revocation poller against a feed the test controls.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use idgate_verifier::{RevocationFeed, Verifier, VerifyError};
use serde_json::json;
use support::{AUDIENCE, JwksServer, TestKey, now};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn a_revoked_session_is_refused_until_its_tokens_expire_and_an_outage_keeps_the_list() {
    let key = TestKey::new("k");
    let server = JwksServer::start(&[&key]);
    let verifier = Verifier::builder(&server.url)
        .audience(AUDIENCE)
        .leeway(Duration::ZERO)
        .revocations(
            RevocationFeed::new("api", "s3cret")
                .interval(Duration::from_millis(100))
                .max_backoff(Duration::from_millis(200)),
        )
        .build()
        .unwrap();
    let polls = || server.counts.feed.load(Ordering::SeqCst);
    wait_until("the first poll", || polls() >= 1);
    assert_eq!(server.feed_since.lock().unwrap()[0], "since=0");
    let token = key.access_token(&server.url, |_| {});
    let other = key.access_token(&server.url, |claims| claims["sid"] = "session-2".into());
    block_on(verifier.verify(&token)).unwrap();

    // session-1 is signed out; its tokens could live 2 more seconds on the issuer's clock.
    let issuer_now = now() + 3600;
    server.change(|behaviour| {
        behaviour.feed = json!({ "now": issuer_now, "revoked": [
            { "sid": "session-1", "revoked_at": issuer_now, "until": issuer_now + 2 },
        ]});
    });
    let seen = polls();
    wait_until("the next poll", || polls() >= seen + 2);
    assert_eq!(block_on(verifier.verify(&token)), Err(VerifyError::Revoked));
    block_on(verifier.verify(&other)).unwrap();
    // Later polls ask for what is new since the issuer's last answer (less an overlap).
    let since = server.feed_since.lock().unwrap().last().cloned().unwrap();
    assert_eq!(since, format!("since={}", issuer_now - 30));

    // The feed goes down: the list is kept, polls are retried, the failure is reported.
    server.change(|behaviour| behaviour.down = true);
    wait_until("a failed poll", || {
        verifier.revocation_status().unwrap().last_error.is_some()
    });
    assert_eq!(block_on(verifier.verify(&token)), Err(VerifyError::Revoked));
    let status = verifier.revocation_status().unwrap();
    assert!(status.last_error.unwrap().contains("HTTP 503"));
    assert_eq!(status.revoked_sessions, 1);

    // Once `until` has passed, the entry is dropped (a token that old would be expired).
    server.change(|behaviour| {
        behaviour.down = false;
        behaviour.feed = json!({ "now": issuer_now + 3, "revoked": [] });
    });
    std::thread::sleep(Duration::from_millis(2100));
    wait_until("the entry to drop", || {
        verifier.revocation_status().unwrap().revoked_sessions == 0
    });
    block_on(verifier.verify(&token)).unwrap();
}

#[test]
fn dropping_the_verifier_stops_the_poller() {
    let server = JwksServer::start(&[]);
    let verifier = Verifier::builder(&server.url)
        .audience(AUDIENCE)
        .revocations(RevocationFeed::new("api", "s3cret").interval(Duration::from_millis(50)))
        .build()
        .unwrap();
    wait_until("the first poll", || {
        server.counts.feed.load(Ordering::SeqCst) >= 1
    });
    drop(verifier);
    std::thread::sleep(Duration::from_millis(100));
    let after_drop = server.counts.feed.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.counts.feed.load(Ordering::SeqCst), after_drop);
}

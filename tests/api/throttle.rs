//! Sign-in throttling (API.md §6), over HTTP. Addresses other than the loopback peer come
//! through `X-Forwarded-For` from a trusted proxy (the test client at 127.0.0.1).

use idgate::clock::{Clock, unix_now};
use serde_json::json;

use crate::helpers::{PASSWORD, Reply, TestApp};

const WRONG: &str = "not the password";

/// A server that trusts the test client as a proxy, so each test can sign in from anywhere.
fn behind_a_proxy(adjust: impl FnOnce(&mut idgate::config::Settings)) -> TestApp {
    TestApp::spawn_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        adjust(s);
    })
}

fn assert_throttled(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 429, "{}", reply.text);
    let retry_after: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        reply.json(),
        json!({
            "detail": format!("Request was throttled. Expected available in {retry_after} seconds."),
            "code": "throttled"
        })
    );
    retry_after
}

fn fail(app: &TestApp, username: &str, from: &str, times: usize) {
    for attempt in 1..=times {
        let reply = app.try_sign_in(username, WRONG, Some(from));
        assert_eq!(
            reply.status, 401,
            "failure {attempt} of {username} from {from}"
        );
    }
}

#[test]
fn five_failures_of_one_username_from_one_address_throttle_that_pair_without_bcrypt() {
    let app = TestApp::spawn();
    app.create_user("alice");
    fail(&app, "alice", "ignored: no trusted proxy", 5);
    let hashes = app.server.hasher.hashes_finished();
    // The right password no longer helps: nothing is checked.
    let retry_after = assert_throttled(&app.try_sign_in("alice", PASSWORD, None));
    assert!((895..=900).contains(&retry_after), "{retry_after}");
    assert_throttled(&app.try_sign_in("ALICE", WRONG, None));
    assert_eq!(
        app.server.hasher.hashes_finished(),
        hashes,
        "a throttled attempt does no bcrypt work"
    );
    // Throttled attempts are not failures: they add no row.
    use diesel::prelude::*;
    let counted: i64 = idgate::db::schema::login_failures::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(counted, 5);
}

#[test]
fn unknown_usernames_are_throttled_like_known_ones() {
    let app = TestApp::spawn();
    app.create_user("alice");
    fail(&app, "alice", "-", 5);
    fail(&app, "nobody", "-", 5);
    let known = app.try_sign_in("alice", WRONG, None);
    let unknown = app.try_sign_in("nobody", WRONG, None);
    assert_throttled(&known);
    assert_throttled(&unknown);
    assert_eq!(known.json()["code"], unknown.json()["code"]);
}

#[test]
fn the_window_ends_when_the_oldest_counted_failure_leaves_it() {
    let clock = Clock::manual(unix_now());
    let app = TestApp::spawn_with_clock(clock.clone(), |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    });
    app.create_user("alice");
    fail(&app, "alice", "198.51.100.7", 2);
    clock.advance(100);
    fail(&app, "alice", "198.51.100.7", 3);
    clock.advance(50);
    // Free again once the two oldest have left the 15-minute window: 900 - 150 s from now.
    assert_eq!(
        assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("198.51.100.7"))),
        750
    );
    clock.advance(749);
    assert_eq!(
        assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("198.51.100.7"))),
        1
    );
    clock.advance(1);
    let reply = app.try_sign_in("alice", PASSWORD, Some("198.51.100.7"));
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[test]
fn a_success_clears_its_username_and_address_only() {
    let app = behind_a_proxy(|s| s.login.max_failures_per_ip = 8);
    app.create_user("alice");
    app.create_user("bob");
    let home = "198.51.100.7";
    fail(&app, "alice", home, 4);
    assert_eq!(app.try_sign_in("alice", PASSWORD, Some(home)).status, 200);
    // Alice's failures from home are forgotten: five more before her pair is throttled…
    fail(&app, "alice", home, 2);
    // …but they still count for the address: 4 + 2 + 2 = 8 failures from it.
    fail(&app, "bob", home, 2);
    assert_throttled(&app.try_sign_in("carol", WRONG, Some(home)));
    assert_eq!(
        app.try_sign_in("carol", WRONG, Some("198.51.100.8")).status,
        401,
        "another address is not throttled"
    );
}

#[test]
fn a_stranger_cannot_lock_a_user_out_of_their_own_address() {
    let app = behind_a_proxy(|_| {});
    app.create_user("alice");
    let stranger = "203.0.113.66";
    fail(&app, "alice", stranger, 5);
    for _ in 0..20 {
        assert_throttled(&app.try_sign_in("alice", WRONG, Some(stranger)));
    }
    let reply = app.try_sign_in("alice", PASSWORD, Some("198.51.100.7"));
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[test]
fn the_per_user_ceiling_counts_failures_from_anywhere() {
    let app = behind_a_proxy(|s| s.login.max_failures_per_user = 6);
    app.create_user("alice");
    for stranger in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        fail(&app, "alice", stranger, 2);
    }
    assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("198.51.100.7")));
    // Other users are not affected.
    app.create_user("bob");
    assert_eq!(
        app.try_sign_in("bob", PASSWORD, Some("203.0.113.1")).status,
        200
    );
}

#[test]
fn the_per_address_ceiling_counts_failures_of_any_username() {
    let app = behind_a_proxy(|_| {});
    app.create_user("alice");
    let scanner = "203.0.113.99";
    for n in 0..50 {
        let reply = app.try_sign_in(&format!("user{n}"), WRONG, Some(scanner));
        assert_eq!(reply.status, 401, "failure {n}");
    }
    assert_throttled(&app.try_sign_in("alice", PASSWORD, Some(scanner)));
    assert_eq!(
        app.try_sign_in("alice", PASSWORD, Some("198.51.100.7"))
            .status,
        200
    );
}

#[test]
fn ipv6_addresses_of_one_64_count_as_one_address() {
    let app = behind_a_proxy(|_| {});
    app.create_user("alice");
    for host in 1..=5 {
        fail(&app, "alice", &format!("2001:db8:1:2::{host}"), 1);
    }
    assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("2001:db8:1:2::99")));
    assert_eq!(
        app.try_sign_in("alice", PASSWORD, Some("2001:db8:1:3::1"))
            .status,
        200
    );
}

#[test]
fn a_trusted_proxys_forwarded_address_is_used() {
    let app = TestApp::spawn_with(|s| s.server.trusted_proxies = vec!["127.0.0.0/8".into()]);
    app.create_user("alice");
    fail(&app, "alice", "203.0.113.5", 5);
    assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("203.0.113.5")));
    // A client's own entries left of the proxy's are not believed.
    assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("6.6.6.6, 203.0.113.5")));
    let elsewhere = app.try_sign_in("alice", PASSWORD, Some("203.0.113.6"));
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text);
}

#[test]
fn an_untrusted_peers_forwarded_address_is_ignored() {
    let app = TestApp::spawn_with(|s| s.server.trusted_proxies = vec!["10.0.0.0/8".into()]);
    app.create_user("alice");
    fail(&app, "alice", "203.0.113.5", 5);
    // Every attempt came from 127.0.0.1, whatever it claimed.
    assert_throttled(&app.try_sign_in("alice", PASSWORD, Some("203.0.113.6")));
    assert_throttled(&app.try_sign_in("alice", PASSWORD, None));
}

#[test]
fn throttling_is_shared_by_replicas_on_one_database() {
    let first = behind_a_proxy(|_| {});
    let second = first.spawn_replica(|_| {});
    first.create_user("alice");
    fail(&first, "alice", "203.0.113.5", 3);
    fail(&second, "alice", "203.0.113.5", 2);
    assert_throttled(&first.try_sign_in("alice", PASSWORD, Some("203.0.113.5")));
    assert_throttled(&second.try_sign_in("alice", PASSWORD, Some("203.0.113.5")));
    assert_eq!(
        second
            .try_sign_in("alice", PASSWORD, Some("198.51.100.7"))
            .status,
        200
    );
}

#[test]
fn the_sweep_deletes_failures_past_the_window() {
    let clock = Clock::manual(unix_now());
    let app = TestApp::spawn_with_clock(clock.clone(), |_| {});
    fail(&app, "nobody", "-", 3);
    let swept = crate::helpers::block_on(app.outside.sweeper.sweep(10)).unwrap();
    assert_eq!(swept.login_failures, 0, "still counted");
    clock.advance(901);
    let swept = crate::helpers::block_on(app.outside.sweeper.sweep(10)).unwrap();
    assert_eq!(swept.login_failures, 3);
}

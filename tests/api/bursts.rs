//! Bursts of sign-ins: the hashing queue is bounded by the expected wait, not by a count.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[test]
fn two_hundred_simultaneous_sign_ins_of_different_users_all_succeed() {
    let app = TestApp::spawn();
    let names: Vec<String> = (0..200).map(|n| format!("user{n}")).collect();
    for name in &names {
        app.create_user(name);
    }
    let barrier = std::sync::Barrier::new(names.len());
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let barrier = &barrier;
                let app = &app;
                scope.spawn(move || {
                    barrier.wait();
                    app.try_sign_in(name, PASSWORD, None).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused: Vec<_> = statuses.iter().filter(|status| **status != 200).collect();
    assert!(
        refused.is_empty(),
        "not every sign-in succeeded: {refused:?}"
    );
}

#[test]
fn past_the_queue_wait_limit_the_surplus_gets_503_and_the_rest_is_not_slowed() {
    let app = TestApp::spawn_with(|s| {
        s.password.bcrypt_cost = 12;
        s.password.max_queue_wait = "1s".parse().unwrap();
    });
    // A user whose hash has cost 12: each check takes a hashing thread about 250 ms.
    let user = app.create_user("alice");
    let hash =
        idgate::auth::password::hash_now(&secrecy::SecretString::from(PASSWORD), 12).unwrap();
    diesel::update(idgate::db::schema::users::table.find(&user.id))
        .set(idgate::db::schema::users::password_hash.eq(hash))
        .execute(&mut *app.conn())
        .unwrap();
    let (access, _) = app.sign_in("alice");

    let burst = 40;
    let answered = AtomicUsize::new(0);
    let (refusal, refused) = std::sync::mpsc::channel::<()>();
    let barrier = std::sync::Barrier::new(burst);
    let (replies, during) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..burst)
            .map(|_| {
                let (app, barrier, answered) = (&app, &barrier, &answered);
                let refusal = refusal.clone();
                scope.spawn(move || {
                    barrier.wait();
                    let reply = app.try_sign_in("alice", PASSWORD, None);
                    answered.fetch_add(1, Ordering::SeqCst);
                    if reply.status == 503 {
                        let _ = refusal.send(());
                    }
                    reply
                })
            })
            .collect();
        // Once the queue is full, the rest of the service answers as usual.
        let _ = refused.recv_timeout(std::time::Duration::from_secs(60));
        let jwks = app.get("/.well-known/jwks.json").status;
        let verify = app.verify(&access).status;
        let still_hashing = answered.load(Ordering::SeqCst) < burst;
        let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (replies, (jwks, verify, still_hashing))
    });
    assert_eq!(during, (200, 200, true), "JWKS, verify, queue still busy");
    let succeeded = replies.iter().filter(|reply| reply.status == 200).count();
    let turned_away: Vec<_> = replies.iter().filter(|reply| reply.status == 503).collect();
    // At least the first: nothing waits ahead of it. (How many more fit in a second depends
    // on how fast this machine hashes while the test runs.)
    assert!(succeeded >= 1, "the queue admits what fits in a second");
    assert!(!turned_away.is_empty(), "the surplus is turned away");
    assert_eq!(succeeded + turned_away.len(), burst, "nothing else");
    for reply in turned_away {
        let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!(retry_after >= 1);
        assert_eq!(
            reply.json(),
            json!({"detail": "Too many sign-ins in progress; try again shortly.", "code": "busy"})
        );
    }
}

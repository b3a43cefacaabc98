use std::collections::HashSet;

use serde_json::json;

use crate::helpers::{TestApp, block_on, claims};

fn sid(token: &str) -> String {
    claims(token)["sid"].as_str().unwrap().to_owned()
}

#[test]
fn refresh_rotates_the_refresh_token() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    let reply = app.refresh(&first);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let (access, second) = (reply.str("access"), reply.str("refresh"));
    assert_ne!(second, first);
    assert_eq!(claims(&access)["token_type"], "access");
    assert_eq!(sid(&access), sid(&first), "same sign-in session");
    assert_eq!(sid(&second), sid(&first), "same family");
    // The new token refreshes in turn.
    assert_eq!(app.refresh(&second).status, 200);
}

#[test]
fn twenty_concurrent_refreshes_never_fork_the_family() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    let barrier = std::sync::Barrier::new(20);
    let replies: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let reply = app.refresh(&first);
                    let refresh = if reply.status == 200 {
                        reply.str("refresh")
                    } else {
                        String::new()
                    };
                    (reply.status, refresh)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let successes: Vec<&String> = replies
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        successes.len(),
        20,
        "every repeat within the grace succeeds: {replies:?}"
    );
    let distinct: HashSet<&String> = successes.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        1,
        "every success carries the same new refresh token"
    );
    let newest = successes[0];
    assert_ne!(newest, &first);
    assert_eq!(app.family_count(), 1);
    // And the family goes on from that one token.
    assert_eq!(app.refresh(newest).status, 200);
}

#[test]
fn a_repeat_within_the_grace_gets_the_current_token_back() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    let second = app.refresh(&first).str("refresh");
    let again = app.refresh(&first);
    assert_eq!(again.status, 200);
    assert_eq!(again.str("refresh"), second, "byte for byte");
    assert_ne!(again.str("access"), "");
    // The current token still works afterwards: the repeat did not rotate.
    assert_eq!(app.refresh(&second).status, 200);
}

#[test]
fn reused_refresh_token_after_the_grace_revokes_the_family() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, first) = app.sign_in("alice");
    let second = app.refresh(&first).str("refresh");
    app.age_rotation(&sid(&first), 11);
    let reuse = app.refresh(&first);
    assert_eq!(reuse.status, 401);
    assert_eq!(
        reuse.json(),
        json!({"detail": "Token is invalid or expired", "code": "token_not_valid"})
    );
    // The newest token of the family dies with it, and so do its access tokens.
    assert_eq!(app.refresh(&second).status, 401);
    assert_eq!(app.verify(&access).status, 401);
}

#[test]
fn an_older_token_than_the_last_retired_one_is_reuse() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    let second = app.refresh(&first).str("refresh");
    let third = app.refresh(&second).str("refresh");
    assert_eq!(app.refresh(&first).status, 401);
    assert_eq!(app.refresh(&third).status, 401);
}

#[test]
fn rotation_does_not_extend_the_session() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = app.refresh(&first).str("refresh");
    assert!(claims(&second)["iat"].as_i64() > claims(&first)["iat"].as_i64());
    assert_eq!(claims(&second)["exp"], claims(&first)["exp"]);
}

#[test]
fn sliding_sessions_extend_up_to_their_maximum_age() {
    let app = TestApp::spawn_with(|s| {
        s.tokens.refresh_sliding = true;
        s.tokens.refresh_ttl = "1h".parse().unwrap();
        s.tokens.session_max_age = "2h".parse().unwrap();
    });
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    let first_exp = claims(&first)["exp"].as_i64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = app.refresh(&first).str("refresh");
    let second_exp = claims(&second)["exp"].as_i64().unwrap();
    assert!(
        second_exp > first_exp,
        "a rotation grants a fresh refresh_ttl"
    );
    assert!(second_exp <= claims(&first)["iat"].as_i64().unwrap() + 7200);
}

#[test]
fn without_rotation_refresh_returns_only_an_access_token() {
    let app = TestApp::spawn_with(|s| s.tokens.rotate_refresh = false);
    app.create_user("alice");
    let (_, refresh) = app.sign_in("alice");
    for _ in 0..2 {
        let reply = app.refresh(&refresh);
        assert_eq!(reply.status, 200);
        let body = reply.json();
        assert!(body["access"].is_string());
        assert!(body.get("refresh").is_none(), "{body}");
    }
}

#[test]
fn an_access_token_is_not_a_refresh_token_nor_the_reverse() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    assert_eq!(app.refresh(&access).status, 401);
    assert_eq!(
        app.post_json("/api/token/blacklist/", &json!({"refresh": access}))
            .status,
        401
    );
    let me = app.get_with(
        "/api/users/me",
        ("authorization", &format!("Bearer {refresh}")),
    );
    assert_eq!(me.status, 401);
}

#[test]
fn garbage_and_tampered_tokens_are_refused() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    let tampered = {
        let mut parts: Vec<&str> = refresh.split('.').collect();
        let forged_claims = claims(&refresh);
        let mut forged_claims = forged_claims.as_object().unwrap().clone();
        forged_claims.insert("sub".into(), json!("someone-else"));
        use base64::Engine;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&forged_claims).unwrap());
        parts[1] = &encoded;
        parts.join(".")
    };
    // alg=none with the same claims.
    let unsigned = {
        let mut parts: Vec<&str> = access.split('.').collect();
        parts[0] = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0";
        parts[2] = "";
        parts.join(".")
    };
    for token in ["nonsense", "a.b.c", tampered.as_str(), unsigned.as_str()] {
        assert_eq!(app.refresh(token).status, 401, "{token}");
        assert_eq!(app.verify(token).status, 401, "{token}");
    }
}

#[test]
fn expired_refresh_tokens_are_refused() {
    let app = TestApp::spawn_with(|s| {
        s.tokens.refresh_ttl = "1s".parse().unwrap();
        s.tokens.reuse_grace = "0s".parse().unwrap();
        s.tokens.leeway = "0s".parse().unwrap();
    });
    app.create_user("alice");
    let (_, refresh) = app.sign_in("alice");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(app.refresh(&refresh).status, 401);
    assert_eq!(app.verify(&refresh).status, 401);
}

#[test]
fn verify_accepts_live_tokens_and_refuses_retired_and_revoked_ones() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, first) = app.sign_in("alice");
    let reply = app.verify(&access);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({}));
    assert_eq!(app.verify(&first).status, 200);

    let second = app.refresh(&first).str("refresh");
    assert_eq!(
        app.verify(&first).status,
        401,
        "a retired refresh token, even within the grace"
    );
    assert_eq!(app.verify(&second).status, 200);
    assert_eq!(
        app.verify(&access).status,
        200,
        "rotation keeps the session"
    );

    let reply = app.post_json("/api/token/blacklist/", &json!({"refresh": second}));
    assert_eq!(reply.status, 200);
    assert_eq!(app.verify(&access).status, 401, "the session was revoked");
    assert_eq!(app.verify(&second).status, 401);
}

#[test]
fn blacklist_ends_the_family() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, first) = app.sign_in("alice");
    let second = app.refresh(&first).str("refresh");
    let reply = app.post_json("/api/token/blacklist/", &json!({"refresh": first}));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({}));
    assert_eq!(
        app.refresh(&second).status,
        401,
        "its family can no longer refresh"
    );
    assert_eq!(app.refresh(&first).status, 401);
    let again = app.post_json("/api/token/blacklist/", &json!({"refresh": second}));
    assert_eq!(
        again.status, 401,
        "as in simplejwt, a blacklisted token is not valid"
    );
    // Another sign-in is its own session.
    let (_, other) = app.sign_in("alice");
    assert_eq!(app.refresh(&other).status, 200);
}

#[test]
fn disabling_a_user_cuts_their_sessions_off() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    // Disabled out of band, as `idgate users disable` does while the server runs.
    app.set_active("alice", false);
    assert_eq!(
        app.refresh(&refresh).status,
        401,
        "refresh reads the database"
    );
    // verify learns of revocations it did not make itself within about a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.verify(&access).status != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "verify still accepts the token"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_sweep_deletes_only_families_no_token_can_use() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (_, live) = app.sign_in("alice");
    let (_, revoked) = app.sign_in("alice");
    let (_, expired) = app.sign_in("alice");
    assert_eq!(
        app.post_json("/api/token/blacklist/", &json!({"refresh": revoked}))
            .status,
        200
    );
    {
        use diesel::prelude::*;
        use idgate::db::schema::refresh_families::dsl::*;
        let long_ago = idgate::clock::unix_now() - 3600;
        diesel::update(refresh_families.find(sid(&revoked)))
            .set(revoked_at.eq(long_ago))
            .execute(&mut *app.conn())
            .unwrap();
        diesel::update(refresh_families.find(sid(&expired)))
            .set(current_exp.eq(long_ago))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let deleted = block_on(app.outside.sweeper.sweep(10)).unwrap().sessions;
    assert_eq!(deleted, 2);
    assert_eq!(app.family_count(), 1);
    assert_eq!(app.refresh(&live).status, 200);
}

#[test]
fn a_recently_revoked_family_stays_until_its_access_tokens_expire() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    app.post_json("/api/token/blacklist/", &json!({"refresh": refresh}));
    let deleted = block_on(app.outside.sweeper.sweep(10)).unwrap().sessions;
    assert_eq!(deleted, 0);
    assert_eq!(app.verify(&access).status, 401);
}

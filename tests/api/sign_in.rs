use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, claims, header};

#[test]
fn sign_in_returns_an_rs256_access_token_and_a_refresh_token() {
    let app = TestApp::spawn();
    let user = app.create_user_with("alice", PASSWORD, &["admin"]);
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let (access, refresh) = (reply.str("access"), reply.str("refresh"));

    let jwks = app.get("/.well-known/jwks.json").json();
    let kid = jwks["keys"][0]["kid"].clone();
    let head = header(&access);
    assert_eq!(head["alg"], "RS256");
    assert_eq!(head["typ"], "at+jwt");
    assert_eq!(head["kid"], kid);

    let access_claims = claims(&access);
    assert_eq!(access_claims["iss"], app.address);
    assert_eq!(access_claims["sub"], user.id);
    assert_eq!(access_claims["user_id"], user.id);
    assert_eq!(access_claims["aud"], app.address);
    assert_eq!(access_claims["token_type"], "access");
    assert_eq!(access_claims["roles"], json!(["admin"]));
    assert_eq!(access_claims["client_id"], "idgate");
    assert_eq!(access_claims["scope"], "openid profile email");
    let iat = access_claims["iat"].as_i64().unwrap();
    assert_eq!(access_claims["exp"].as_i64().unwrap() - iat, 300);
    assert!((iat - idgate::clock::unix_now()).abs() <= 5);
    assert!(access_claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let sid = access_claims["sid"].as_str().unwrap();

    let refresh_head = header(&refresh);
    assert_eq!(refresh_head["typ"], "JWT");
    assert_eq!(
        refresh_head["alg"], "HS256",
        "refresh tokens are only verified by idgate"
    );
    let refresh_claims = claims(&refresh);
    assert_eq!(refresh_claims["token_type"], "refresh");
    assert_eq!(refresh_claims["aud"], app.address);
    assert_eq!(refresh_claims["iss"], app.address);
    assert_eq!(refresh_claims["sub"], user.id);
    assert_eq!(refresh_claims["user_id"], user.id);
    assert_eq!(refresh_claims["sid"], sid);
    assert_eq!(
        refresh_claims["exp"].as_i64().unwrap() - refresh_claims["iat"].as_i64().unwrap(),
        24 * 3600
    );
    assert_ne!(refresh_claims["jti"], access_claims["jti"]);
}

#[test]
fn sign_in_accepts_forms_and_either_trailing_slash() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let body = format!("username=alice&password={}", PASSWORD.replace(' ', "+"));
    for path in ["/api/token/", "/api/token"] {
        let reply = app.post_raw(path, "application/x-www-form-urlencoded", body.as_bytes());
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert!(reply.json()["access"].is_string());
    }
}

#[test]
fn usernames_sign_in_whatever_their_case() {
    let app = TestApp::spawn();
    app.create_user("Alice");
    app.sign_in("alice");
    app.sign_in("ALICE");
}

#[test]
fn unknown_user_wrong_password_and_disabled_user_get_the_same_answer() {
    let app = TestApp::spawn();
    app.create_user("alice");
    app.create_user("bob");
    app.set_active("bob", false);
    let expected = json!({
        "detail": "No active account found with the given credentials",
        "code": "no_active_account"
    });
    for (username, password) in [
        ("nobody", PASSWORD),
        ("alice", "wrong password"),
        ("bob", PASSWORD),
    ] {
        let reply = app.post_json(
            "/api/token/",
            &json!({"username": username, "password": password}),
        );
        assert_eq!(reply.status, 401, "{username}");
        assert_eq!(reply.json(), expected, "{username}");
    }
}

#[test]
fn missing_and_blank_fields_are_named() {
    let app = TestApp::spawn();
    let reply = app.post_json("/api/token/", &json!({}));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"username": ["This field is required."], "password": ["This field is required."]})
    );
    let reply = app.post_json("/api/token/", &json!({"username": " ", "password": ""}));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"username": ["This field may not be blank."], "password": ["This field may not be blank."]})
    );
    for path in ["/api/token/refresh/", "/api/token/blacklist/"] {
        let reply = app.post_json(path, &json!({}));
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.json(),
            json!({"refresh": ["This field is required."]})
        );
    }
    let reply = app.post_json("/api/token/verify/", &json!({"token": ""}));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"token": ["This field may not be blank."]})
    );
}

#[test]
fn a_password_past_72_bytes_is_refused_never_truncated() {
    let app = TestApp::spawn();
    let seventy_two = "p".repeat(72);
    app.create_user_with("alice", &seventy_two, &[]);
    let good = app.post_json(
        "/api/token/",
        &json!({"username": "alice", "password": seventy_two}),
    );
    assert_eq!(good.status, 200);
    // bcrypt would only read the first 72 bytes of this one and say yes.
    let longer = format!("{seventy_two}{}", "x".repeat(28));
    assert_eq!(longer.len(), 100);
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": "alice", "password": longer}),
    );
    assert_eq!(reply.status, 401);
}

#[test]
fn sign_in_records_last_login() {
    let app = TestApp::spawn();
    let user = app.create_user("alice");
    assert_eq!(user.last_login, None);
    app.sign_in("alice");
    let user = idgate::db::models::User::find(&mut app.conn(), &user.id)
        .unwrap()
        .unwrap();
    assert!(
        user.last_login
            .is_some_and(|at| (at - idgate::clock::unix_now()).abs() <= 5)
    );
}

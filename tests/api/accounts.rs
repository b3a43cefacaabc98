use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

#[test]
fn registration_is_closed_by_default() {
    let app = TestApp::spawn();
    let reply = app.post_json(
        "/api/users/",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["code"], "permission_denied");
}

#[test]
fn open_registration_creates_a_user_who_can_sign_in() {
    let app = TestApp::spawn_with(|s| s.registration.open = true);
    let reply = app.post_json(
        "/api/users/",
        &json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    app.sign_in("alice");

    let no_email = app.post_json(
        "/api/users",
        &json!({"username": "bob", "password": PASSWORD}),
    );
    assert_eq!(no_email.status, 201);
    assert_eq!(no_email.json()["email"], serde_json::Value::Null);
}

#[test]
fn usernames_are_unique_whatever_their_case() {
    let app = TestApp::spawn_with(|s| s.registration.open = true);
    app.create_user("alice");
    let reply = app.post_json(
        "/api/users/",
        &json!({"username": "ALICE", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 409);
    assert_eq!(
        reply.json(),
        json!({"username": ["A user with that username already exists."]})
    );
}

#[test]
fn registration_checks_every_field() {
    let app = TestApp::spawn_with(|s| s.registration.open = true);
    let cases = [
        (
            json!({"username": "al ice", "password": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "a".repeat(151), "password": PASSWORD}),
            "username",
        ),
        (
            json!({"username": "alice", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "alice", "password": "x".repeat(73)}),
            "password",
        ),
        (
            json!({"username": "alice", "password": "x".repeat(100)}),
            "password",
        ),
        (
            json!({"username": "alice", "password": PASSWORD, "email": "nope"}),
            "email",
        ),
        (json!({"password": PASSWORD}), "username"),
    ];
    for (body, field) in cases {
        let reply = app.post_json("/api/users/", &body);
        assert_eq!(reply.status, 400, "{body}");
        assert!(reply.json()[field].is_array(), "{body} -> {}", reply.text);
    }
    // A 72-byte password is the longest, and it is kept whole.
    let reply = app.post_json(
        "/api/users/",
        &json!({"username": "alice", "password": "y".repeat(72)}),
    );
    assert_eq!(reply.status, 201);
    let wrong_tail = app.post_json(
        "/api/token/",
        &json!({"username": "alice", "password": format!("{}z", "y".repeat(71))}),
    );
    assert_eq!(wrong_tail.status, 401);
}

#[test]
fn me_describes_the_bearer() {
    let app = TestApp::spawn();
    let user = app.create_user_with("alice", PASSWORD, &["admin", "ops"]);
    let (access, _) = app.sign_in("alice");
    let (name, value) = bearer(&access);
    let reply = app.get_with("/api/users/me", (name, &value));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["id"], user.id);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["roles"], json!(["admin", "ops"]));
    // RFC 3339 in UTC, as Django REST framework writes times.
    for field in ["created_at", "last_login"] {
        let time = body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {body}"));
        assert!(is_rfc3339_utc(time), "{field}: {time}");
    }
    assert_eq!(body["created_at"], idgate::clock::rfc3339(user.created_at));
    assert!(body.get("password_hash").is_none());
}

#[test]
fn me_without_a_valid_bearer_is_401_with_www_authenticate() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, _) = app.sign_in("alice");
    let replies = [
        app.get("/api/users/me"),
        app.get_with("/api/users/me", ("authorization", "Bearer nonsense")),
        app.get_with(
            "/api/users/me",
            ("authorization", &format!("Basic {access}")),
        ),
        app.get_with("/api/users/me", ("authorization", "Bearer")),
    ];
    for reply in replies {
        assert_eq!(reply.status, 401, "{}", reply.text);
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""));
        assert!(reply.json()["detail"].is_string());
    }
}

#[test]
fn changing_the_password_revokes_every_session() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    let (other_access, other_refresh) = app.sign_in("alice");
    let new_password = "a much better password";
    let (name, value) = bearer(&access);
    let reply = app.post_json_with(
        "/api/users/me/password",
        &json!({"old_password": PASSWORD, "new_password": new_password}),
        (name, &value),
    );
    assert_eq!(reply.status, 204, "{}", reply.text);
    for token in [&refresh, &other_refresh] {
        assert_eq!(app.refresh(token).status, 401);
    }
    for token in [&access, &other_access] {
        assert_eq!(app.verify(token).status, 401);
    }
    let old = app.post_json(
        "/api/token/",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(old.status, 401);
    let new = app.post_json(
        "/api/token/",
        &json!({"username": "alice", "password": new_password}),
    );
    assert_eq!(new.status, 200);
}

#[test]
fn changing_the_password_needs_the_old_one_and_a_valid_new_one() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    let (name, value) = bearer(&access);
    let wrong_old = app.post_json_with(
        "/api/users/me/password",
        &json!({"old_password": "not it at all", "new_password": "a much better password"}),
        (name, &value),
    );
    assert_eq!(wrong_old.status, 400);
    assert!(wrong_old.json()["old_password"].is_array());
    let too_long = app.post_json_with(
        "/api/users/me/password",
        &json!({"old_password": PASSWORD, "new_password": "x".repeat(100)}),
        (name, &value),
    );
    assert_eq!(too_long.status, 400);
    assert!(too_long.json()["new_password"].is_array());
    let missing = app.post_json_with("/api/users/me/password", &json!({}), (name, &value));
    assert_eq!(missing.status, 400);
    assert_eq!(app.refresh(&refresh).status, 200, "nothing was revoked");
    let anonymous = app.post_json(
        "/api/users/me/password",
        &json!({"old_password": PASSWORD, "new_password": "a much better password"}),
    );
    assert_eq!(anonymous.status, 401);
}

/// `2026-12-01T18:25:10Z`: date, `T`, time to the second, `Z`.
fn is_rfc3339_utc(time: &str) -> bool {
    let bytes = time.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    bytes.len() == 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'Z'
}

#[test]
fn look_alike_usernames_are_one_account() {
    let app = TestApp::spawn_with(|s| s.registration.open = true);
    let register = |username: &str| {
        app.post_json(
            "/api/users/",
            &json!({"username": username, "password": PASSWORD}),
        )
    };
    // Fullwidth letters (compatibility characters) are stored as their NFKC form.
    let fullwidth = register("ｍallory");
    assert_eq!(fullwidth.status, 201, "{}", fullwidth.text);
    assert_eq!(fullwidth.json()["username"], "mallory");
    assert_eq!(register("mallory").status, 409);
    assert_eq!(register("MALLORY").status, 409);
    // The NFD and NFC spellings of one name.
    let decomposed = register("Zoe\u{308}");
    assert_eq!(decomposed.status, 201, "{}", decomposed.text);
    assert_eq!(decomposed.json()["username"], "Zo\u{eb}");
    assert_eq!(register("Zo\u{eb}").status, 409);
    assert_eq!(register("zo\u{eb}").status, 409);
    for spelling in ["Zo\u{eb}", "Zoe\u{308}", "ZOË", "ｍallory", "mallory"] {
        let reply = app.try_sign_in(spelling, PASSWORD, None);
        assert_eq!(reply.status, 200, "{spelling}: {}", reply.text);
    }
}

#[test]
fn existing_username_keys_are_migrated_to_nfkc_without_merging_accounts() {
    use diesel::prelude::*;
    use idgate::db::schema::{data_migrations, users};
    let app = TestApp::spawn();
    app.create_user("bob");
    let hash = idgate::auth::password::hash_now(&secrecy::SecretString::from(PASSWORD), 4).unwrap();
    // Rows as the lower-casing-only rule stored them.
    for (id, username, key) in [
        ("old-mallory", "ｍallory", "ｍallory"),
        ("old-bob", "Ｂob", "ｂob"),
    ] {
        diesel::insert_into(users::table)
            .values((
                users::id.eq(id),
                users::username.eq(username),
                users::username_key.eq(key),
                users::password_hash.eq(&hash),
                users::is_active.eq(true),
                users::roles.eq(""),
                users::created_at.eq(0_i64),
            ))
            .execute(&mut *app.conn())
            .unwrap();
    }
    diesel::insert_into(data_migrations::table)
        .values(data_migrations::name.eq("username_keys_nfkc"))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(app.db.migrate().unwrap(), 0, "no schema migration pending");
    let key_of = |id: &str| -> String {
        users::table
            .find(id)
            .select(users::username_key)
            .get_result(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(key_of("old-mallory"), "mallory");
    // `Ｂob` would now be `bob`, who exists: both accounts stay, the old one under its old key.
    assert_eq!(key_of("old-bob"), "ｂob");
    let pending: i64 = data_migrations::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(pending, 0, "done once");
    assert_eq!(app.try_sign_in("mallory", PASSWORD, None).status, 200);
    assert_eq!(app.try_sign_in("bob", PASSWORD, None).status, 200);
}

use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn health_and_readiness() {
    let app = TestApp::spawn();
    assert_eq!(app.get("/healthz").status, 200);
    let ready = app.get("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json(), json!({"database": true, "keys": true}));
}

#[test]
fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn();
    assert_eq!(app.get("/readyz").status, 200);
    app.break_database();
    let reply = app.get("/readyz");
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.json()["database"], false);
    assert_eq!(app.get("/healthz").status, 200, "the process still runs");
}

#[test]
fn bodies_over_64_kib_get_413() {
    let app = TestApp::spawn();
    let big = format!(
        r#"{{"username":"{}","password":"x"}}"#,
        "a".repeat(70 * 1024)
    );
    let reply = app.post_raw("/api/token/", "application/json", big.as_bytes());
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["code"], "payload_too_large");
}

#[test]
fn malformed_bodies_get_400_with_a_reason() {
    let app = TestApp::spawn();
    for body in [&b"{nope"[..], b"[1,2]", b"\"text\"", b"\xff\xfe"] {
        let reply = app.post_raw("/api/token/", "application/json", body);
        assert_eq!(reply.status, 400, "{body:?}");
        assert!(
            reply.json()["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": ["a"], "password": {"x": 1}}),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["username"], json!(["Not a valid string."]));
}

#[test]
fn unknown_paths_404_and_wrong_methods_405_as_json() {
    let app = TestApp::spawn();
    let missing = app.get("/api/nothing-here");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "not_found");
    let wrong = app.get("/api/token/");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("POST"));
    assert_eq!(wrong.json()["code"], "method_not_allowed");
    // Both spellings of a path are the same resource, 405 included.
    for path in ["/.well-known/jwks.json", "/.well-known/jwks.json/"] {
        let delete = app.request("DELETE", path);
        assert_eq!(delete.status, 405, "{path}");
        assert_eq!(delete.header("allow"), Some("GET, HEAD"));
    }
    let wrong = app.get("/api/token/verify");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("POST"));
    let head = app.request("HEAD", "/.well-known/jwks.json");
    assert_eq!(head.status, 200);
    assert!(head.header("etag").is_some());
    assert_eq!(head.text, "");
}

#[test]
fn unsupported_media_types_get_415() {
    let app = TestApp::spawn();
    let reply = app.post_raw("/api/token/", "text/plain", b"username=alice");
    assert_eq!(reply.status, 415);
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("text/plain")
    );
}

#[test]
fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn();
    let generated = app.get("/healthz");
    assert!(
        generated
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 16)
    );
    let echoed = app.get_with("/healthz", ("x-request-id", "trace-42"));
    assert_eq!(echoed.header("x-request-id"), Some("trace-42"));
}

#[test]
fn browsers_on_allowed_origins_get_cors_answers() {
    let app = TestApp::spawn_with(|s| s.cors.allowed_origins = vec!["https://app.example".into()]);
    let preflight = app.request_with(
        "OPTIONS",
        "/api/token/",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );

    let allowed = app.post_json_with("/api/token/", &json!({}), ("origin", "https://app.example"));
    assert_eq!(allowed.status, 400);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(allowed.header("vary"), Some("Origin"));

    let stranger = app.post_json_with(
        "/api/token/",
        &json!({}),
        ("origin", "https://evil.example"),
    );
    assert_eq!(stranger.header("access-control-allow-origin"), None);
    let stranger_preflight = app.request_with(
        "OPTIONS",
        "/api/token/",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
    );
    assert_eq!(
        stranger_preflight.header("access-control-allow-origin"),
        None
    );

    // The public documents stay open to every origin.
    let jwks = app.get_with("/.well-known/jwks.json", ("origin", "https://app.example"));
    assert_eq!(jwks.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn database_connections_use_tls_when_the_url_asks_for_it() {
    use diesel::prelude::*;
    let app = TestApp::spawn();
    let url = secrecy::ExposeSecret::expose_secret(&app.settings.database.url).to_owned();
    if !url.contains("sslmode=require") {
        eprintln!("not a PostgreSQL URL with sslmode=require; nothing to check");
        return;
    }
    #[derive(QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let mine: Ssl = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result(&mut *app.conn())
        .unwrap();
    assert!(mine.ssl, "the pool's connection is not encrypted");
    // And the server answers over such connections.
    assert_eq!(app.get("/readyz").status, 200);
}

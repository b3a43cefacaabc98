//! `POST /oauth/token`: client authentication, the password, refresh_token and
//! client_credentials grants, scopes, ID tokens, and RFC 6749's error shapes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idgate::oauth::NewClient;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Reply, TestApp, claims, header};

const TOKEN: &str = "/oauth/token";

fn basic(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

/// A confidential client allowed every grant but the code flow, with an API scope besides
/// the user ones; returns its secret.
fn backend_client(app: &TestApp, client_id: &str) -> String {
    app.create_client(NewClient {
        client_id: client_id.into(),
        grant_types: vec![
            "password".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        scopes: vec!["openid profile email".into(), "api:read".into()],
        ..NewClient::default()
    })
    .expect("a confidential client has a secret")
}

fn password_grant(app: &TestApp, client: (&str, &str), username: &str, scope: &str) -> Reply {
    let auth = basic(client.0, client.1);
    let mut fields = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", PASSWORD),
    ];
    if !scope.is_empty() {
        fields.push(("scope", scope));
    }
    app.post_form(TOKEN, &fields, &[("authorization", &auth)])
}

fn refresh_grant(app: &TestApp, client: (&str, &str), refresh: &str, scope: &str) -> Reply {
    let auth = basic(client.0, client.1);
    let mut fields = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    if !scope.is_empty() {
        fields.push(("scope", scope));
    }
    app.post_form(TOKEN, &fields, &[("authorization", &auth)])
}

fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["error"], error, "{}", reply.text);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        reply.text
    );
}

/// Checks an RS256 token's signature against the server's JWKS and returns its claims.
fn verified_with_jwks(app: &TestApp, token: &str, audience: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(&app.get("/.well-known/jwks.json").text).unwrap();
    let kid = header(token)["kid"].as_str().unwrap().to_owned();
    let jwk = jwks.find(&kid).expect("the token's key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&app.settings.issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{e}"))
        .claims
}

#[test]
fn client_credentials_give_the_client_its_own_access_token() {
    let app = TestApp::spawn();
    let secret = backend_client(&app, "reports");
    let reply = app.post_form(
        TOKEN,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic("reports", &secret))],
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    // Only the scopes that need no user.
    assert_eq!(body["scope"], "api:read");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let access = reply.str("access_token");
    assert_eq!(header(&access)["typ"], "at+jwt");
    let claims = verified_with_jwks(&app, &access, app.settings.audience());
    assert_eq!(claims["sub"], "reports");
    assert_eq!(claims["client_id"], "reports");
    assert_eq!(claims["scope"], "api:read");
    assert!(claims.get("user_id").is_none() && claims.get("sid").is_none());
    // A valid token, but it speaks for no user.
    assert_eq!(app.verify(&access).status, 200);
    let me = app.get_with(
        "/api/users/me",
        ("authorization", &format!("Bearer {access}")),
    );
    assert_eq!(me.status, 401);

    // client_secret_post works alike; user scopes are refused for a client acting alone.
    let reply = app.post_form(
        TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "reports"),
            ("client_secret", &secret),
            ("scope", "openid"),
        ],
        &[],
    );
    assert_oauth_error(&reply, 400, "invalid_scope");
}

#[test]
fn client_authentication_failures_are_401_invalid_client_with_a_challenge() {
    let app = TestApp::spawn();
    let secret = backend_client(&app, "reports");
    let grant = [("grant_type", "client_credentials")];
    for auth in [
        basic("reports", "wrong"),
        basic("reports", &format!("{secret}x")),
        basic("nobody", &secret),
        "Bearer whatever".to_owned(),
        "Basic !!!not-base64".to_owned(),
    ] {
        let reply = app.post_form(TOKEN, &grant, &[("authorization", &auth)]);
        assert_oauth_error(&reply, 401, "invalid_client");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"idgate\""),
            "{auth}"
        );
    }
    // No client at all; a confidential client without its secret.
    assert_oauth_error(&app.post_form(TOKEN, &grant, &[]), 401, "invalid_client");
    let no_secret = [
        ("grant_type", "client_credentials"),
        ("client_id", "reports"),
    ];
    assert_oauth_error(
        &app.post_form(TOKEN, &no_secret, &[]),
        401,
        "invalid_client",
    );
    // Two methods at once.
    let both = [
        ("grant_type", "client_credentials"),
        ("client_secret", secret.as_str()),
    ];
    let reply = app.post_form(
        TOKEN,
        &both,
        &[("authorization", &basic("reports", &secret))],
    );
    assert_oauth_error(&reply, 400, "invalid_request");
}

#[test]
fn malformed_requests_get_rfc_6749_errors_on_every_path() {
    let app = TestApp::spawn();
    let secret = backend_client(&app, "reports");
    let auth = basic("reports", &secret);
    let auth = [("authorization", auth.as_str())];
    let repeated = app.post_form(
        TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "api:read"),
            ("scope", "api:read"),
        ],
        &auth,
    );
    assert_oauth_error(&repeated, 400, "invalid_request");
    assert!(repeated.str("error_description").contains("repeated"));
    assert_oauth_error(&app.post_form(TOKEN, &[], &auth), 400, "invalid_request");
    let unknown = app.post_form(TOKEN, &[("grant_type", "implicit")], &auth);
    assert_oauth_error(&unknown, 400, "unsupported_grant_type");

    let json = app.post_json_with(TOKEN, &json!({"grant_type": "client_credentials"}), auth[0]);
    assert_oauth_error(&json, 415, "invalid_request");
    let big = vec![b'a'; 70 * 1024];
    let too_large = app.post_raw(TOKEN, "application/x-www-form-urlencoded", &big);
    assert_oauth_error(&too_large, 413, "invalid_request");
    let get = app.get(TOKEN);
    assert_oauth_error(&get, 405, "invalid_request");
    assert_eq!(get.header("allow"), Some("POST"));
    assert_oauth_error(&app.get("/oauth/nothing-here"), 404, "not_found");
    // The simplejwt API keeps its own shape.
    assert_eq!(app.get("/api/nothing-here").json()["code"], "not_found");
}

#[test]
fn a_grant_the_client_is_not_allowed_is_unauthorized_client() {
    let app = TestApp::spawn();
    let secret = app
        .create_client(NewClient {
            client_id: "machine".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["api:read".into()],
            ..NewClient::default()
        })
        .unwrap();
    app.create_user("alice");
    let reply = password_grant(&app, ("machine", &secret), "alice", "");
    assert_oauth_error(&reply, 400, "unauthorized_client");
}

#[test]
fn the_password_grant_issues_scoped_tokens_and_an_id_token() {
    let app = TestApp::spawn();
    let secret = backend_client(&app, "portal");
    let alice = app.create_user("alice");
    let reply = password_grant(&app, ("portal", &secret), "alice", "openid profile email");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["scope"], "email openid profile");
    assert_eq!(body["token_type"], "Bearer");

    let access = verified_with_jwks(&app, &reply.str("access_token"), app.settings.audience());
    assert_eq!(access["sub"], alice.id);
    assert_eq!(access["user_id"], alice.id);
    assert_eq!(access["client_id"], "portal");
    assert_eq!(access["scope"], "email openid profile");

    let id_token = reply.str("id_token");
    assert_eq!(header(&id_token)["typ"], "JWT");
    let id = verified_with_jwks(&app, &id_token, "portal");
    assert_eq!(id["sub"], alice.id);
    assert_eq!(id["azp"], "portal");
    assert_eq!(id["sid"], access["sid"], "one session, one sid");
    assert_eq!(id["preferred_username"], "alice");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], false);
    assert!(id["auth_time"].as_i64().unwrap() <= id["iat"].as_i64().unwrap());
    assert!(id.get("nonce").is_none());
    assert_eq!(
        id["at_hash"],
        idgate::tokens::issue::at_hash(&reply.str("access_token"))
    );

    // Fewer scopes, fewer claims; without openid, no ID token at all.
    let reply = password_grant(&app, ("portal", &secret), "alice", "openid");
    let id = claims(&reply.str("id_token"));
    assert!(id.get("preferred_username").is_none() && id.get("email").is_none());
    let reply = password_grant(&app, ("portal", &secret), "alice", "api:read");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json().get("id_token").is_none());
    let reply = password_grant(&app, ("portal", &secret), "alice", "openid admin");
    assert_oauth_error(&reply, 400, "invalid_scope");
    // Without a scope: all the client may have.
    let reply = password_grant(&app, ("portal", &secret), "alice", "");
    assert_eq!(reply.json()["scope"], "api:read email openid profile");
}

#[test]
fn the_password_grant_refuses_bad_credentials_behind_the_same_throttle() {
    let app = TestApp::spawn();
    let secret = backend_client(&app, "portal");
    app.create_user("alice");
    let auth = basic("portal", &secret);
    let wrong = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "not the password"),
    ];
    for _ in 0..5 {
        let reply = app.post_form(TOKEN, &wrong, &[("authorization", &auth)]);
        assert_oauth_error(&reply, 400, "invalid_grant");
    }
    // The JSON API and the password grant share one throttle.
    let reply = app.try_sign_in("alice", PASSWORD, None);
    assert_eq!(reply.status, 429, "{}", reply.text);
    let reply = password_grant(&app, ("portal", &secret), "alice", "");
    assert_oauth_error(&reply, 429, "temporarily_unavailable");
    assert!(reply.header("retry-after").is_some());
    let missing = app.post_form(
        TOKEN,
        &[("grant_type", "password"), ("username", "alice")],
        &[("authorization", &auth)],
    );
    assert_oauth_error(&missing, 400, "invalid_request");
}

#[test]
fn a_refresh_token_is_bound_to_its_client_and_scope() {
    let app = TestApp::spawn();
    let portal = backend_client(&app, "portal");
    let other = backend_client(&app, "other");
    app.create_user("alice");
    let first = password_grant(
        &app,
        ("portal", &portal),
        "alice",
        "openid profile api:read",
    );
    let refresh = first.str("refresh_token");

    // Another client, or the simplejwt API, cannot use it, and their attempt spends nothing.
    let stolen = refresh_grant(&app, ("other", &other), &refresh, "");
    assert_oauth_error(&stolen, 400, "invalid_grant");
    assert_eq!(app.refresh(&refresh).status, 401);

    let renewed = refresh_grant(&app, ("portal", &portal), &refresh, "");
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(renewed.json()["scope"], "api:read openid profile");
    let access = claims(&renewed.str("access_token"));
    assert_eq!(access["client_id"], "portal");
    assert_eq!(access["sid"], claims(&first.str("access_token"))["sid"]);
    let id = claims(&renewed.str("id_token"));
    assert_eq!(id["auth_time"], claims(&first.str("id_token"))["auth_time"]);
    let next = renewed.str("refresh_token");
    assert_ne!(next, refresh, "rotated");

    // A narrower scope is granted; a wider one is not.
    let narrow = refresh_grant(&app, ("portal", &portal), &next, "api:read");
    assert_eq!(narrow.status, 200, "{}", narrow.text);
    assert_eq!(narrow.json()["scope"], "api:read");
    assert!(narrow.json().get("id_token").is_none());
    let next = narrow.str("refresh_token");
    let wide = refresh_grant(&app, ("portal", &portal), &next, "api:read email");
    assert_oauth_error(&wide, 400, "invalid_scope");

    // A token of the simplejwt API is no client's.
    let (_, simplejwt_refresh) = app.sign_in("alice");
    let reply = refresh_grant(&app, ("portal", &portal), &simplejwt_refresh, "");
    assert_oauth_error(&reply, 400, "invalid_grant");
    assert_eq!(app.refresh(&simplejwt_refresh).status, 200);
}

#[test]
fn reuse_of_a_retired_refresh_token_revokes_the_clients_session() {
    let app = TestApp::spawn();
    let portal = backend_client(&app, "portal");
    app.create_user("alice");
    let first = password_grant(&app, ("portal", &portal), "alice", "");
    let refresh = first.str("refresh_token");
    let sid = claims(&refresh)["sid"].as_str().unwrap().to_owned();
    let renewed = refresh_grant(&app, ("portal", &portal), &refresh, "");
    assert_eq!(renewed.status, 200);
    app.age_rotation(&sid, 60);
    let replay = refresh_grant(&app, ("portal", &portal), &refresh, "");
    assert_oauth_error(&replay, 400, "invalid_grant");
    let current = refresh_grant(&app, ("portal", &portal), &renewed.str("refresh_token"), "");
    assert_oauth_error(&current, 400, "invalid_grant");
    assert_eq!(app.verify(&renewed.str("access_token")).status, 401);
}

#[test]
fn a_public_client_authenticates_with_its_id_alone() {
    let app = TestApp::spawn();
    let secret = app.create_client(NewClient {
        client_id: "cli-tool".into(),
        public: true,
        grant_types: vec!["password".into()],
        ..NewClient::default()
    });
    assert!(secret.is_none());
    app.create_user("alice");
    let fields = [
        ("grant_type", "password"),
        ("client_id", "cli-tool"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let reply = app.post_form(TOKEN, &fields, &[]);
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Not allowed the refresh_token grant: no refresh token.
    assert!(reply.json().get("refresh_token").is_none());
    assert!(reply.json().get("id_token").is_some());
    // A public client has no secret to present.
    let reply = app.post_form(
        TOKEN,
        &fields,
        &[("authorization", &basic("cli-tool", "made-up"))],
    );
    assert_oauth_error(&reply, 401, "invalid_client");
}

#[test]
fn deleting_a_client_ends_its_sessions_and_its_authentication() {
    let app = TestApp::spawn();
    let portal = backend_client(&app, "portal");
    app.create_user("alice");
    let reply = password_grant(&app, ("portal", &portal), "alice", "");
    let revoked = crate::helpers::block_on(app.outside.clients.delete("portal")).unwrap();
    assert_eq!(revoked, 1);
    // Deleted from outside (the command line): the server sees it within its cache's second,
    // and the revocation within its re-read interval.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let refresh_token = reply.str("refresh_token");
    loop {
        let refresh = refresh_grant(&app, ("portal", &portal), &refresh_token, "");
        assert_ne!(refresh.status, 200, "a deleted client's session refreshed");
        if refresh.status == 401 {
            assert_oauth_error(&refresh, 401, "invalid_client");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the client still authenticates"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let access = reply.str("access_token");
    while app.verify(&access).status != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "access token still valid"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn discovery_names_the_token_endpoint_and_what_it_supports() {
    let app = TestApp::spawn();
    let doc = app.get("/.well-known/openid-configuration").json();
    assert_eq!(doc["token_endpoint"], app.url(TOKEN));
    let grants = doc["grant_types_supported"].as_array().unwrap();
    for grant in ["password", "refresh_token", "client_credentials"] {
        assert!(grants.contains(&json!(grant)), "{grant}");
    }
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        app.get("/.well-known/oauth-authorization-server").json(),
        doc
    );
}

#[test]
fn userinfo_releases_what_the_scope_allows() {
    let app = TestApp::spawn();
    let portal = backend_client(&app, "portal");
    let alice = app.create_user("alice");
    let full = password_grant(&app, ("portal", &portal), "alice", "openid profile email");
    let bearer = format!("Bearer {}", full.str("access_token"));
    for reply in [
        app.get_with("/userinfo", ("authorization", &bearer)),
        app.post_form("/userinfo", &[], &[("authorization", &bearer)]),
    ] {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.json(),
            json!({
                "sub": alice.id,
                "preferred_username": "alice",
                "email": "alice@example.com",
                "email_verified": false,
            })
        );
    }
    let openid_only = password_grant(&app, ("portal", &portal), "alice", "openid");
    let reply = app.get_with(
        "/userinfo",
        (
            "authorization",
            &format!("Bearer {}", openid_only.str("access_token")),
        ),
    );
    assert_eq!(reply.json(), json!({"sub": alice.id}));

    // Without openid: 403 insufficient_scope; without a token or with a bad one: 401.
    let api_only = password_grant(&app, ("portal", &portal), "alice", "api:read");
    let reply = app.get_with(
        "/userinfo",
        (
            "authorization",
            &format!("Bearer {}", api_only.str("access_token")),
        ),
    );
    assert_oauth_error(&reply, 403, "insufficient_scope");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    let reply = app.get("/userinfo");
    assert_eq!(reply.status, 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let reply = app.get_with("/userinfo", ("authorization", "Bearer not-a-token"));
    assert_oauth_error(&reply, 401, "invalid_token");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    // A client's own token speaks for no user.
    let machine = app.post_form(
        TOKEN,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic("portal", &portal))],
    );
    let reply = app.get_with(
        "/userinfo",
        (
            "authorization",
            &format!("Bearer {}", machine.str("access_token")),
        ),
    );
    assert_oauth_error(&reply, 401, "invalid_token");
    assert_oauth_error(&app.request("DELETE", "/userinfo"), 405, "invalid_request");
}

#[test]
fn revocation_ends_the_clients_session_and_answers_200_for_anything() {
    let app = TestApp::spawn();
    let portal = backend_client(&app, "portal");
    let other = backend_client(&app, "other");
    app.create_user("alice");
    let auth = |client: &str, secret: &str| basic(client, secret);
    let revoke = |token: &str, client: (&str, &str)| {
        app.post_form(
            "/oauth/revoke",
            &[("token", token), ("token_type_hint", "refresh_token")],
            &[("authorization", &auth(client.0, client.1))],
        )
    };
    let granted = password_grant(&app, ("portal", &portal), "alice", "");
    let refresh = granted.str("refresh_token");

    // Another client's revocation changes nothing; garbage is 200 too (RFC 7009 §2.2).
    assert_eq!(revoke(&refresh, ("other", &other)).status, 200);
    assert_eq!(revoke("garbage", ("portal", &portal)).status, 200);
    let renewed = refresh_grant(&app, ("portal", &portal), &refresh, "");
    assert_eq!(renewed.status, 200, "{}", renewed.text);

    let reply = revoke(&renewed.str("refresh_token"), ("portal", &portal));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let after = refresh_grant(&app, ("portal", &portal), &renewed.str("refresh_token"), "");
    assert_oauth_error(&after, 400, "invalid_grant");
    assert_eq!(app.verify(&renewed.str("access_token")).status, 401);

    // Revoking by an access token ends its session as well.
    let second = password_grant(&app, ("portal", &portal), "alice", "");
    assert_eq!(
        revoke(&second.str("access_token"), ("portal", &portal)).status,
        200
    );
    let after = refresh_grant(&app, ("portal", &portal), &second.str("refresh_token"), "");
    assert_oauth_error(&after, 400, "invalid_grant");

    let unauthenticated = app.post_form("/oauth/revoke", &[("token", "x")], &[]);
    assert_oauth_error(&unauthenticated, 401, "invalid_client");
    let no_token = app.post_form(
        "/oauth/revoke",
        &[],
        &[("authorization", &auth("portal", &portal))],
    );
    assert_oauth_error(&no_token, 400, "invalid_request");
}

#[test]
fn introspection_tells_a_confidential_client_whether_a_token_is_live() {
    let app = TestApp::spawn();
    let portal = backend_client(&app, "portal");
    let api = backend_client(&app, "resource-server");
    app.create_user("alice");
    let introspect = |token: &str| {
        app.post_form(
            "/oauth/introspect",
            &[("token", token)],
            &[("authorization", &basic("resource-server", &api))],
        )
    };
    let granted = password_grant(&app, ("portal", &portal), "alice", "openid api:read");
    let access = granted.str("access_token");
    let reply = introspect(&access);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], "portal");
    assert_eq!(body["scope"], "api:read openid");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["sub"], claims(&access)["sub"]);
    assert_eq!(body["exp"], claims(&access)["exp"]);

    let refresh = granted.str("refresh_token");
    let body = introspect(&refresh).json();
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");

    // Rotated away, garbage, revoked: inactive, and nothing else said.
    let renewed = refresh_grant(&app, ("portal", &portal), &refresh, "");
    assert_eq!(introspect(&refresh).json(), json!({"active": false}));
    assert_eq!(introspect("garbage").json(), json!({"active": false}));
    app.post_form(
        "/oauth/revoke",
        &[("token", &renewed.str("refresh_token"))],
        &[("authorization", &basic("portal", &portal))],
    );
    assert_eq!(introspect(&access).json(), json!({"active": false}));

    // Only an authenticated confidential client may ask.
    let public = app.create_client(NewClient {
        client_id: "spa".into(),
        public: true,
        grant_types: vec!["password".into()],
        ..NewClient::default()
    });
    assert!(public.is_none());
    let reply = app.post_form(
        "/oauth/introspect",
        &[("token", access.as_str()), ("client_id", "spa")],
        &[],
    );
    assert_oauth_error(&reply, 401, "invalid_client");
    let reply = app.post_form("/oauth/introspect", &[("token", access.as_str())], &[]);
    assert_oauth_error(&reply, 401, "invalid_client");
}

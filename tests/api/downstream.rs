//! Services that verify idgate's tokens offline: the revocation feed (API.md §6), the
//! `idgate-verifier` crate against a running idgate, and `examples/downstream` honouring every
//! kind of sign-out within one poll interval.

use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idgate::clock::{Clock, unix_now};
use idgate::oauth::NewClient;
use idgate_verifier::{RevocationFeed, Verifier, VerifyError};
use serde_json::json;

use crate::helpers::{PASSWORD, Reply, TestApp, block_on, claims};
use crate::sso::SignedInApp;

/// Registers a confidential client, as a resource server's operator would for the feed;
/// returns its `Authorization: Basic` value.
fn feed_client(app: &TestApp, client_id: &str) -> (String, String) {
    let secret = app
        .create_client(NewClient {
            client_id: client_id.into(),
            grant_types: vec!["client_credentials".into()],
            ..NewClient::default()
        })
        .unwrap();
    (client_id.into(), secret)
}

fn basic(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

fn feed(app: &TestApp, authorization: &str, since: i64) -> Reply {
    app.get_with(
        &format!("/api/revocations?since={since}"),
        ("authorization", authorization),
    )
}

#[test]
fn the_revocation_feed_answers_confidential_clients_only() {
    let app = TestApp::spawn();
    let (id, secret) = feed_client(&app, "orders-api");
    app.create_client(NewClient {
        client_id: "spa".into(),
        public: true,
        redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
        ..NewClient::default()
    });

    let reply = app.get("/api/revocations?since=0");
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["code"], "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"idgate\"")
    );
    for authorization in [
        basic(&id, "wrong"),
        basic("spa", ""),
        basic("nobody", &secret),
        format!("Bearer {secret}"),
        "Basic !!!".into(),
    ] {
        let reply = feed(&app, &authorization, 0);
        assert_eq!(reply.status, 401, "{authorization}: {}", reply.text);
        assert_eq!(reply.json()["code"], "invalid_client");
    }

    let reply = feed(&app, &basic(&id, &secret), 0);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert!((body["now"].as_i64().unwrap() - unix_now()).abs() < 5);
    assert_eq!(body["revoked"], json!([]));
    // `since` is optional; anything but an integer is a 400 naming it.
    let reply = app.get_with("/api/revocations", ("authorization", &basic(&id, &secret)));
    assert_eq!(reply.status, 200);
    let reply = app.get_with(
        "/api/revocations?since=yesterday",
        ("authorization", &basic(&id, &secret)),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["since"][0], "A valid integer is required.");
    let reply = app.post_json("/api/revocations", &json!({}));
    assert_eq!(reply.status, 405);
}

#[test]
fn the_feed_lists_each_revocation_until_no_token_of_it_can_be_valid() {
    let start = unix_now();
    let clock = Clock::manual(start);
    let app = TestApp::spawn_with_clock(clock.clone(), |_| {});
    let (id, secret) = feed_client(&app, "orders-api");
    let authorization = basic(&id, &secret);
    for user in ["alice", "bob"] {
        app.create_user(user);
    }
    let (alice_access, alice_refresh) = app.sign_in("alice");
    let (bob_access, _) = app.sign_in("bob");

    let reply = app.post_json(
        "/api/token/blacklist/",
        &json!({ "refresh": alice_refresh }),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    clock.advance(10);
    app.set_active("bob", false);

    let body = feed(&app, &authorization, 0).json();
    let alice_sid = claims(&alice_access)["sid"].clone();
    let bob_sid = claims(&bob_access)["sid"].clone();
    // The life of an access token plus the leeway: 5 min + 15 s by default.
    let horizon = 315;
    assert_eq!(body["now"], start + 10);
    assert_eq!(
        body["revoked"],
        json!([
            { "sid": alice_sid, "revoked_at": start, "until": start + horizon },
            { "sid": bob_sid, "revoked_at": start + 10, "until": start + 10 + horizon },
        ]),
        "oldest first"
    );
    // `since` leaves out what is older.
    let body = feed(&app, &authorization, start + 1).json();
    assert_eq!(body["revoked"].as_array().unwrap().len(), 1);
    assert_eq!(body["revoked"][0]["sid"], bob_sid);
    // Once an entry's `until` has passed, it is gone: the feed stays small.
    clock.advance(horizon - 9);
    let body = feed(&app, &authorization, 0).json();
    assert_eq!(body["revoked"].as_array().unwrap().len(), 1);
    assert_eq!(body["revoked"][0]["sid"], bob_sid);
    clock.advance(10);
    assert_eq!(feed(&app, &authorization, 0).json()["revoked"], json!([]));
}

fn verifier_for(app: &TestApp) -> Verifier {
    Verifier::builder(&app.settings.issuer)
        .audience(app.settings.audience())
        .build()
        .unwrap()
}

#[test]
fn the_verifier_crate_accepts_idgate_access_tokens_and_nothing_else() {
    let app = TestApp::spawn();
    let alice = app.create_user_with("alice", PASSWORD, &["staff"]);
    let (access, refresh) = app.sign_in("alice");
    let verifier = verifier_for(&app);
    block_on(async {
        verifier.warm_up().await.unwrap();
        let verified = verifier.verify(&access).await.unwrap();
        assert_eq!(verified.sub, alice.id);
        assert_eq!(verified.user_id.as_deref(), Some(alice.id.as_str()));
        assert_eq!(verified.roles, ["staff"]);
        assert_eq!(verified.sid.as_deref(), claims(&access)["sid"].as_str());
        assert_eq!(verified.aud, [app.settings.issuer.as_str()]);

        // idgate's refresh token is HS256: refused by algorithm, before any key is looked up.
        assert_eq!(
            verifier.verify(&refresh).await,
            Err(VerifyError::Algorithm("HS256".into()))
        );
        // A tampered token.
        let (head, signature) = access.rsplit_once('.').unwrap();
        let mut flipped = signature.as_bytes().to_vec();
        flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{head}.{}", String::from_utf8(flipped).unwrap());
        assert_eq!(
            verifier.verify(&tampered).await,
            Err(VerifyError::BadSignature)
        );
        // Another service's audience.
        let other = Verifier::builder(&app.settings.issuer)
            .audience("https://billing.example")
            .build()
            .unwrap();
        assert_eq!(other.verify(&access).await, Err(VerifyError::Audience));
    });

    // An ID token (SSO): RS256 by the same key, but not an access token.
    let signed_in = SignedInApp::start(&app);
    let id_token = signed_in.tokens.str("id_token");
    let sso_access = signed_in.tokens.str("access_token");
    block_on(async {
        assert_eq!(
            verifier.verify(&id_token).await,
            Err(VerifyError::NotAccessToken)
        );
        let verified = verifier.verify(&sso_access).await.unwrap();
        assert_eq!(verified.client_id.as_deref(), Some("web"));
        assert!(verified.has_scope("openid"));
    });

    // A client's own token (client credentials) has no session, and verifies.
    let (id, secret) = feed_client(&app, "machine");
    let reply = app.post_form(
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic(&id, &secret))],
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let verified = block_on(verifier.verify(&reply.str("access_token"))).unwrap();
    assert_eq!((verified.sub.as_str(), verified.sid), ("machine", None));
}

/// `examples/downstream`, served on a loopback port of its own.
struct Downstream {
    url: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    agent: ureq::Agent,
}

impl Downstream {
    fn start(verifier: Verifier) -> Downstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = downstream::server(listener, verifier, 1).unwrap();
                sender.send(server.handle()).unwrap();
                server.await.unwrap();
            });
        });
        let handle = receiver.recv().unwrap();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Downstream {
            url,
            handle,
            thread: Some(thread),
            agent,
        }
    }

    fn hello(&self, access: &str) -> Reply {
        Reply::from(
            self.agent
                .get(format!("{}/hello/", self.url))
                .header("authorization", format!("Bearer {access}"))
                .call()
                .unwrap(),
        )
    }

    /// Asks `/hello/` until it refuses `access`; returns how long that took.
    fn refused_within(&self, access: &str, bound: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let reply = self.hello(access);
            if reply.status == 401 {
                let challenge = reply.header("www-authenticate").unwrap_or_default();
                assert!(challenge.contains("invalid_token"), "{challenge}");
                assert!(reply.text.contains("signed out"), "{}", reply.text);
                return start.elapsed();
            }
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert!(
                start.elapsed() < bound,
                "still accepted {:?} after the sign-out",
                start.elapsed()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn every_kind_of_sign_out_reaches_the_downstream_service_within_one_poll_interval() {
    let app = TestApp::spawn();
    for user in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        app.create_user(user);
    }
    let (id, secret) = feed_client(&app, "hello-service");
    let interval = Duration::from_secs(1);
    let verifier = Verifier::builder(&app.settings.issuer)
        .audience(app.settings.audience())
        .revocations(RevocationFeed::new(id, secret).interval(interval))
        .build()
        .unwrap();
    let service = Downstream::start(verifier.clone());
    // Within the interval plus what a request and a poll take on a busy machine.
    let bound = interval + Duration::from_millis(1500);
    let (bystander, _) = app.sign_in("frank");
    let hello = service.hello(&bystander);
    assert_eq!(hello.status, 200, "{}", hello.text);
    assert_eq!(hello.json()["sub"], claims(&bystander)["sub"]);
    let no_token = Reply::from(
        service
            .agent
            .get(format!("{}/hello/", service.url))
            .call()
            .unwrap(),
    );
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.header("www-authenticate"), Some("Bearer"));

    let mut took = Vec::new();
    // 1. The refresh token is blacklisted (the simplejwt API's sign-out).
    let (access, refresh) = app.sign_in("bob");
    assert_eq!(service.hello(&access).status, 200);
    let reply = app.post_json("/api/token/blacklist/", &json!({ "refresh": refresh }));
    assert_eq!(reply.status, 200);
    took.push(("blacklist", service.refused_within(&access, bound)));

    // 2. A retired refresh token comes back after the grace: reuse detection ends the family.
    let (_, first_refresh) = app.sign_in("carol");
    let rotated = app.refresh(&first_refresh);
    assert_eq!(rotated.status, 200);
    let access = rotated.str("access");
    assert_eq!(service.hello(&access).status, 200);
    app.age_rotation(claims(&access)["sid"].as_str().unwrap(), 60);
    assert_eq!(app.refresh(&first_refresh).status, 401);
    took.push(("reuse detection", service.refused_within(&access, bound)));

    // 3. The password is changed.
    let (access, _) = app.sign_in("dave");
    assert_eq!(service.hello(&access).status, 200);
    let reply = app.post_json_with(
        "/api/users/me/password",
        &json!({ "old_password": PASSWORD, "new_password": "a new password" }),
        ("authorization", &format!("Bearer {access}")),
    );
    assert_eq!(reply.status, 204, "{}", reply.text);
    took.push(("password change", service.refused_within(&access, bound)));

    // 4. The user is disabled (`idgate users disable`).
    let (access, _) = app.sign_in("erin");
    assert_eq!(service.hello(&access).status, 200);
    app.set_active("erin", false);
    took.push(("user disabled", service.refused_within(&access, bound)));

    // 5. Single sign-out from the browser session every app's tokens came from.
    let mut signed_in = SignedInApp::start(&app);
    let access = signed_in.tokens.str("access_token");
    assert_eq!(service.hello(&access).status, 200);
    signed_in.log_out();
    took.push(("SSO logout", service.refused_within(&access, bound)));

    // Nobody else was signed out, and each token had minutes left.
    assert_eq!(service.hello(&bystander).status, 200);
    assert!(claims(&access)["exp"].as_i64().unwrap() - unix_now() > 200);
    let status = verifier.revocation_status().unwrap();
    assert!(status.last_error.is_none(), "{status:?}");
    // Five sign-outs; the SSO one ended the browser session and the app's refresh family.
    assert_eq!(status.revoked_sessions, 6, "{status:?}");
    eprintln!("sign-out to refusal downstream: {took:?}");
}

#[test]
fn a_downstream_admin_page_needs_the_role() {
    let app = TestApp::spawn();
    app.create_user_with("root", PASSWORD, &["admin"]);
    app.create_user("alice");
    let service = Downstream::start(verifier_for(&app));
    let admin = |access: &str| {
        Reply::from(
            service
                .agent
                .get(format!("{}/admin/", service.url))
                .header("authorization", format!("Bearer {access}"))
                .call()
                .unwrap(),
        )
    };
    let (root, _) = app.sign_in("root");
    assert_eq!(admin(&root).status, 200);
    let (alice, _) = app.sign_in("alice");
    let refused = admin(&alice);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["code"], "permission_denied");
}

//! Single sign-on through the authorization code flow, driven as a browser would: the sign-in
//! page, its cookies, redirects (not followed, so each one is checked), the code exchange, and
//! sign-out.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idgate::clock::{Clock, unix_now};
use idgate::oauth::NewClient;
use serde_json::Value;
use sha2::Digest;

use crate::helpers::{PASSWORD, Reply, TestApp, claims};

const WEB_CALLBACK: &str = "http://127.0.0.1:9/callback";
const WEB_BYE: &str = "http://127.0.0.1:9/signed-out";
const SPA_CALLBACK: &str = "http://127.0.0.2:9/cb";

/// A browser: its cookies, and no redirect followed.
struct Browser<'a> {
    app: &'a TestApp,
    agent: ureq::Agent,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Browser {
            app,
            agent,
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, reply: &Reply) {
        for set in reply.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn get(&mut self, path_and_query: &str) -> Reply {
        let mut request = self.agent.get(self.app.url(path_and_query));
        if !self.cookies.is_empty() {
            request = request.header("cookie", &self.cookie_header());
        }
        let reply = Reply::from(request.call().unwrap());
        self.remember(&reply);
        reply
    }

    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .agent
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded");
        if !self.cookies.is_empty() {
            request = request.header("cookie", &self.cookie_header());
        }
        let reply = Reply::from(request.send(body.as_bytes()).unwrap());
        self.remember(&reply);
        reply
    }
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = format!(
        "verifier-{}-{}",
        idgate::tokens::new_id(),
        idgate::tokens::new_id()
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_path(params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/authorize?{query}")
}

/// The standard request of `client_id` to `redirect_uri` with `challenge`.
fn request_of<'a>(
    client_id: &'a str,
    redirect_uri: &'a str,
    challenge: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid profile email"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// The value of a hidden field of the sign-in form.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The query of a redirect's `Location`, which must start with `expected_base`.
fn redirect_query(reply: &Reply, expected_base: &str) -> HashMap<String, String> {
    assert_eq!(reply.status, 303, "{}", reply.text);
    let location = reply.header("location").expect("a Location");
    assert!(location.starts_with(expected_base), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Fills and posts the sign-in form of `page` (an /authorize answer).
fn sign_in_form(browser: &mut Browser<'_>, page: &Reply, username: &str, password: &str) -> Reply {
    assert_eq!(page.status, 200, "{}", page.text);
    let names = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
    ];
    let mut fields: Vec<(String, String)> = names
        .iter()
        .filter_map(|name| hidden(&page.text, name).map(|value| (name.to_string(), value)))
        .collect();
    fields.push((
        "csrf_token".into(),
        hidden(&page.text, "csrf_token").expect("a CSRF field"),
    ));
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), password.into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post("/login", &borrowed)
}

/// A browser that has signed in as alice through `client_id`'s sign-in page.
fn signed_in_browser<'a>(app: &'a TestApp, client_id: &str, redirect_uri: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_path(&request_of(
        client_id,
        redirect_uri,
        &challenge,
    )));
    let reply = sign_in_form(&mut browser, &page, "alice", PASSWORD);
    assert_eq!(reply.status, 303, "{}", reply.text);
    browser
}

/// A browser signed in as alice through the confidential app `web` (registered here, with the
/// public `spa`), and the tokens `web` got for it; other tests sign it out with
/// [`SignedInApp::log_out`].
pub(crate) struct SignedInApp<'a> {
    browser: Browser<'a>,
    pub tokens: Reply,
}

impl<'a> SignedInApp<'a> {
    pub(crate) fn start(app: &'a TestApp) -> SignedInApp<'a> {
        let apps = register_apps(app);
        let mut browser = Browser::new(app);
        let (verifier, challenge) = pkce();
        let page = browser.get(&authorize_path(&request_of(
            "web",
            WEB_CALLBACK,
            &challenge,
        )));
        let signed_in = sign_in_form(&mut browser, &page, "alice", PASSWORD);
        let query = redirect_query(&signed_in, WEB_CALLBACK);
        let tokens = exchange(
            app,
            ("web", Some(&apps.web_secret)),
            &query["code"],
            WEB_CALLBACK,
            &verifier,
        );
        assert_eq!(tokens.status, 200, "{}", tokens.text);
        SignedInApp { browser, tokens }
    }

    /// RP-initiated logout, as the browser follows the app's sign-out link.
    pub(crate) fn log_out(&mut self) {
        let bye = self.browser.get(&format!(
            "/logout?id_token_hint={}&post_logout_redirect_uri={}",
            self.tokens.str("id_token"),
            url::form_urlencoded::byte_serialize(WEB_BYE.as_bytes()).collect::<String>()
        ));
        redirect_query(&bye, WEB_BYE);
    }
}

/// The status `/authorize` answers this browser for the public app: 303 with a session, 200
/// (the sign-in form) without.
fn spa_authorize_status(browser: &mut Browser<'_>) -> u16 {
    let (_, challenge) = pkce();
    browser
        .get(&authorize_path(&request_of(
            "spa",
            SPA_CALLBACK,
            &challenge,
        )))
        .status
}

struct Apps {
    web_secret: String,
}

fn register_apps(app: &TestApp) -> Apps {
    let web_secret = app
        .create_client(NewClient {
            client_id: "web".into(),
            redirect_uris: vec![WEB_CALLBACK.into()],
            post_logout_redirect_uris: vec![WEB_BYE.into()],
            ..NewClient::default()
        })
        .unwrap();
    app.create_client(NewClient {
        client_id: "spa".into(),
        public: true,
        redirect_uris: vec![SPA_CALLBACK.into()],
        ..NewClient::default()
    });
    Apps { web_secret }
}

fn exchange(
    app: &TestApp,
    client: (&str, Option<&str>),
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Reply {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut headers = Vec::new();
    let auth;
    match client.1 {
        Some(secret) => {
            auth = format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{secret}", client.0))
            );
            headers.push(("authorization", auth.as_str()));
        }
        None => fields.push(("client_id", client.0)),
    }
    app.post_form("/oauth/token", &fields, &headers)
}

fn assert_page_headers(reply: &Reply) {
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = reply.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
}

#[test]
fn one_sign_in_serves_every_app_and_signing_out_ends_them_all() {
    let app = TestApp::spawn();
    let apps = register_apps(&app);
    let alice = app.create_user("alice");
    let mut browser = Browser::new(&app);

    // The first app: the sign-in page, accessible and under a strict policy.
    let (web_verifier, web_challenge) = pkce();
    let page = browser.get(&authorize_path(&request_of(
        "web",
        WEB_CALLBACK,
        &web_challenge,
    )));
    assert_eq!(page.status, 200, "{}", page.text);
    assert_page_headers(&page);
    assert!(
        page.text.contains("<label for=\"username\">")
            && page.text.contains("autocomplete=\"current-password\"")
    );
    assert!(page.text.contains("web"), "the app's client id is shown");
    assert!(
        !page.text.contains("http://") || page.text.contains(WEB_CALLBACK),
        "no external assets"
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:9"),
        "{csp}"
    );

    let signed_in = sign_in_form(&mut browser, &page, "alice", PASSWORD);
    let query = redirect_query(&signed_in, WEB_CALLBACK);
    assert_eq!(query["state"], "state-123");
    assert_eq!(query["iss"], app.settings.issuer);
    let set_cookie: Vec<&str> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session_cookie = set_cookie
        .iter()
        .find(|c| c.starts_with("idgate_session="))
        .expect("the session cookie");
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert!(!session_cookie.contains("Secure"), "not over http");
    assert!(browser.cookies.contains_key("idgate_session"));

    let tokens = exchange(
        &app,
        ("web", Some(&apps.web_secret)),
        &query["code"],
        WEB_CALLBACK,
        &web_verifier,
    );
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    let web_access = claims(&tokens.str("access_token"));
    let web_id = claims(&tokens.str("id_token"));
    assert_eq!(web_id["nonce"], "nonce-456");
    assert_eq!(web_id["aud"], "web");
    assert_eq!(web_id["sub"], alice.id);
    assert_eq!(web_id["preferred_username"], "alice");
    assert_eq!(web_id["sid"], web_access["sid"]);
    assert_eq!(web_access["client_id"], "web");
    let auth_time = web_id["auth_time"].as_i64().unwrap();
    assert!((unix_now() - auth_time).abs() < 30);

    // The second app, another origin: no form, straight back with a code.
    let (spa_verifier, spa_challenge) = pkce();
    let silent = browser.get(&authorize_path(&request_of(
        "spa",
        SPA_CALLBACK,
        &spa_challenge,
    )));
    let query = redirect_query(&silent, SPA_CALLBACK);
    let spa_tokens = exchange(
        &app,
        ("spa", None),
        &query["code"],
        SPA_CALLBACK,
        &spa_verifier,
    );
    assert_eq!(spa_tokens.status, 200, "{}", spa_tokens.text);
    let spa_id = claims(&spa_tokens.str("id_token"));
    assert_eq!(spa_id["sid"], web_id["sid"], "one browser session, one sid");
    assert_eq!(spa_id["auth_time"], auth_time);
    assert_eq!(spa_id["aud"], "spa");

    // Refresh works for each app, bound to it.
    let refreshed = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &spa_tokens.str("refresh_token")),
        ],
        &[],
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(claims(&refreshed.str("access_token"))["sid"], spa_id["sid"]);
    assert_eq!(claims(&refreshed.str("id_token"))["auth_time"], auth_time);
    let userinfo = app.get_with(
        "/userinfo",
        (
            "authorization",
            &format!("Bearer {}", tokens.str("access_token")),
        ),
    );
    assert_eq!(userinfo.json()["preferred_username"], "alice");

    // Sign out of the first app: back to its registered page, with its state.
    let bye = browser.get(&format!(
        "/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye-1",
        tokens.str("id_token"),
        url::form_urlencoded::byte_serialize(WEB_BYE.as_bytes()).collect::<String>()
    ));
    let query = redirect_query(&bye, WEB_BYE);
    assert_eq!(query["state"], "bye-1");
    assert!(
        !browser.cookies.contains_key("idgate_session"),
        "the cookie is cleared"
    );

    // Every app's session ended with it.
    let web_refresh = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &tokens.str("refresh_token")),
        ],
        &[(
            "authorization",
            &format!(
                "Basic {}",
                STANDARD.encode(format!("web:{}", apps.web_secret))
            ),
        )],
    );
    assert_eq!(web_refresh.status, 400, "{}", web_refresh.text);
    let spa_refresh = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &refreshed.str("refresh_token")),
        ],
        &[],
    );
    assert_eq!(spa_refresh.status, 400, "{}", spa_refresh.text);
    assert_eq!(app.verify(&spa_tokens.str("access_token")).status, 401);
    let userinfo = app.get_with(
        "/userinfo",
        (
            "authorization",
            &format!("Bearer {}", tokens.str("access_token")),
        ),
    );
    assert_eq!(userinfo.status, 401);

    // The other app now shows the form again, even with the old cookie.
    let mut old_cookie_browser = Browser::new(&app);
    old_cookie_browser
        .cookies
        .insert("idgate_session".into(), set_cookie_value(session_cookie));
    let (_, challenge) = pkce();
    let again = old_cookie_browser.get(&authorize_path(&request_of(
        "spa",
        SPA_CALLBACK,
        &challenge,
    )));
    assert_eq!(again.status, 200, "the sign-in form: {}", again.text);
    assert!(again.text.contains("name=\"password\""));
}

fn set_cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

#[test]
fn unknown_clients_and_unregistered_redirect_uris_get_a_page_never_a_redirect() {
    let app = TestApp::spawn();
    register_apps(&app);
    let mut browser = Browser::new(&app);
    let (_, challenge) = pkce();
    let mut cases: Vec<Vec<(&str, &str)>> = vec![request_of("nobody", WEB_CALLBACK, &challenge)];
    for uri in [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/CALLBACK",
        "http://127.0.0.1:9/callback?x=1",
        "http://127.0.0.1:9/callbackx",
        "http://127.0.0.1:9/callback#frag",
        "https://evil.example/callback",
        "http://127.0.0.1:9/",
    ] {
        cases.push(request_of("web", uri, &challenge));
    }
    let mut no_client = request_of("web", WEB_CALLBACK, &challenge);
    no_client.retain(|(name, _)| *name != "client_id");
    cases.push(no_client);
    let mut repeated = request_of("web", WEB_CALLBACK, &challenge);
    repeated.push(("redirect_uri", "https://evil.example/"));
    cases.push(repeated);
    for case in cases {
        let reply = browser.get(&authorize_path(&case));
        assert_eq!(reply.status, 400, "{case:?}: {}", reply.text);
        assert!(reply.header("location").is_none(), "{case:?}");
        assert_page_headers(&reply);
    }
}

#[test]
fn other_errors_go_back_to_the_app_with_state_and_iss() {
    let app = TestApp::spawn();
    register_apps(&app);
    let mut browser = Browser::new(&app);
    let (_, challenge) = pkce();
    let expect = |browser: &mut Browser<'_>, params: Vec<(&str, &str)>, base: &str, error: &str| {
        let reply = browser.get(&authorize_path(&params));
        let query = redirect_query(&reply, base);
        assert_eq!(query["error"], error, "{params:?}");
        assert_eq!(query["state"], "state-123");
        assert_eq!(query["iss"], app.settings.issuer);
        assert!(!query["error_description"].is_empty());
    };
    let with =
        |mut params: Vec<(&'static str, String)>, name: &'static str, value: Option<&str>| {
            params.retain(|(n, _)| *n != name);
            if let Some(value) = value {
                params.push((name, value.to_owned()));
            }
            params
        };
    let base: Vec<(&'static str, String)> = request_of("spa", SPA_CALLBACK, &challenge)
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    let cases = [
        (
            with(base.clone(), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (with(base.clone(), "response_type", None), "invalid_request"),
        (
            with(base.clone(), "scope", Some("openid admin")),
            "invalid_scope",
        ),
        (
            with(base.clone(), "code_challenge_method", Some("plain")),
            "invalid_request",
        ),
        (
            with(
                with(base.clone(), "code_challenge", None),
                "code_challenge_method",
                None,
            ),
            "invalid_request",
        ),
        (
            with(base.clone(), "code_challenge", Some("too-short")),
            "invalid_request",
        ),
        (
            with(base.clone(), "prompt", Some("none login")),
            "invalid_request",
        ),
        (with(base.clone(), "max_age", Some("-1")), "invalid_request"),
        (with(base.clone(), "prompt", Some("none")), "login_required"),
    ];
    for (params, error) in cases {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        expect(&mut browser, params, SPA_CALLBACK, error);
    }
}

#[test]
fn a_code_is_single_use_and_bound_to_its_client_redirect_uri_and_verifier() {
    let app = TestApp::spawn();
    let apps = register_apps(&app);
    let other_secret = app
        .create_client(NewClient {
            client_id: "other".into(),
            redirect_uris: vec![WEB_CALLBACK.into()],
            ..NewClient::default()
        })
        .unwrap();
    app.create_user("alice");
    let mut browser = Browser::new(&app);
    let web = ("web", Some(apps.web_secret.as_str()));
    let fresh_code = |browser: &mut Browser<'_>| {
        let (verifier, challenge) = pkce();
        let reply = browser.get(&authorize_path(&request_of(
            "web",
            WEB_CALLBACK,
            &challenge,
        )));
        let reply = if reply.status == 200 {
            sign_in_form(browser, &reply, "alice", PASSWORD)
        } else {
            reply
        };
        (
            redirect_query(&reply, WEB_CALLBACK)["code"].clone(),
            verifier,
        )
    };

    // Replay: the second use fails and revokes what the first issued.
    let (code, verifier) = fresh_code(&mut browser);
    let first = exchange(&app, web, &code, WEB_CALLBACK, &verifier);
    assert_eq!(first.status, 200, "{}", first.text);
    let replay = exchange(&app, web, &code, WEB_CALLBACK, &verifier);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    let refresh = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first.str("refresh_token")),
        ],
        &[(
            "authorization",
            &format!(
                "Basic {}",
                STANDARD.encode(format!("web:{}", apps.web_secret))
            ),
        )],
    );
    assert_eq!(
        refresh.status, 400,
        "the replay revoked the first exchange's session"
    );
    assert_eq!(
        app.verify(&first.str("access_token")).status,
        200,
        "the browser session lives on"
    );

    // Wrong verifier, wrong redirect URI, another client: refused.
    let (code, _) = fresh_code(&mut browser);
    let (wrong_verifier, _) = pkce();
    assert_eq!(
        exchange(&app, web, &code, WEB_CALLBACK, &wrong_verifier).json()["error"],
        "invalid_grant"
    );
    let (code, verifier) = fresh_code(&mut browser);
    assert_eq!(
        exchange(&app, web, &code, "http://127.0.0.1:9/other", &verifier).json()["error"],
        "invalid_grant"
    );
    let (code, verifier) = fresh_code(&mut browser);
    let stolen = exchange(
        &app,
        ("other", Some(&other_secret)),
        &code,
        WEB_CALLBACK,
        &verifier,
    );
    assert_eq!(stolen.json()["error"], "invalid_grant");
    // … and the stolen code is still its own client's.
    assert_eq!(
        exchange(&app, web, &code, WEB_CALLBACK, &verifier).status,
        200
    );
    // A public client must show its verifier.
    let (spa_verifier, spa_challenge) = pkce();
    let reply = browser.get(&authorize_path(&request_of(
        "spa",
        SPA_CALLBACK,
        &spa_challenge,
    )));
    let code = redirect_query(&reply, SPA_CALLBACK)["code"].clone();
    let no_verifier = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", SPA_CALLBACK),
        ],
        &[],
    );
    assert_eq!(no_verifier.json()["error"], "invalid_grant");
    let _ = spa_verifier;
}

#[test]
fn a_code_lives_sixty_seconds_and_max_age_asks_for_the_password_again() {
    let clock = Clock::manual(unix_now());
    let app = TestApp::spawn_with_clock(clock.clone(), |_| {});
    let apps = register_apps(&app);
    app.create_user("alice");
    let mut browser = Browser::new(&app);
    let (verifier, challenge) = pkce();
    let page = browser.get(&authorize_path(&request_of(
        "web",
        WEB_CALLBACK,
        &challenge,
    )));
    let reply = sign_in_form(&mut browser, &page, "alice", PASSWORD);
    let code = redirect_query(&reply, WEB_CALLBACK)["code"].clone();
    clock.advance(61);
    let late = exchange(
        &app,
        ("web", Some(&apps.web_secret)),
        &code,
        WEB_CALLBACK,
        &verifier,
    );
    assert_eq!(late.json()["error"], "invalid_grant");

    // Signed in 61 s ago: max_age=120 passes silently, max_age=30 shows the form.
    let (_, challenge) = pkce();
    let mut params = request_of("web", WEB_CALLBACK, &challenge);
    params.push(("max_age", "120"));
    assert_eq!(browser.get(&authorize_path(&params)).status, 303);
    let mut params = request_of("web", WEB_CALLBACK, &challenge);
    params.push(("max_age", "30"));
    let page = browser.get(&authorize_path(&params));
    assert_eq!(page.status, 200);
    assert_eq!(hidden(&page.text, "max_age").as_deref(), Some("30"));
    // Signing in again satisfies it, and the new auth_time shows in the ID token.
    let (verifier, challenge) = pkce();
    let mut params = request_of("web", WEB_CALLBACK, &challenge);
    params.push(("max_age", "30"));
    let page = browser.get(&authorize_path(&params));
    let reply = sign_in_form(&mut browser, &page, "alice", PASSWORD);
    let code = redirect_query(&reply, WEB_CALLBACK)["code"].clone();
    let tokens = exchange(
        &app,
        ("web", Some(&apps.web_secret)),
        &code,
        WEB_CALLBACK,
        &verifier,
    );
    assert_eq!(claims(&tokens.str("id_token"))["auth_time"], clock.now());

    // prompt=login always asks.
    let mut params = request_of("web", WEB_CALLBACK, &challenge);
    params.push(("prompt", "login"));
    assert_eq!(browser.get(&authorize_path(&params)).status, 200);
}

#[test]
fn the_sign_in_form_checks_csrf_and_fails_generically_behind_the_throttle() {
    let app = TestApp::spawn();
    register_apps(&app);
    app.create_user("alice");
    let mut browser = Browser::new(&app);
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_path(&request_of(
        "web",
        WEB_CALLBACK,
        &challenge,
    )));
    assert!(browser.cookies.contains_key("idgate_csrf"));

    // Without the CSRF field, with a wrong one, without the cookie: 403.
    let csrf = hidden(&page.text, "csrf_token").unwrap();
    let fields = |csrf: &str| {
        vec![
            ("csrf_token".to_owned(), csrf.to_owned()),
            ("username".into(), "alice".into()),
            ("password".into(), PASSWORD.into()),
            ("client_id".into(), "web".into()),
            ("redirect_uri".into(), WEB_CALLBACK.into()),
            ("response_type".into(), "code".into()),
        ]
    };
    for sent in ["", "forged-value-forged-value-forged-value-xxxx"] {
        let owned = fields(sent);
        let borrowed: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let reply = browser.post("/login", &borrowed);
        assert_eq!(reply.status, 403, "{sent:?}: {}", reply.text);
        assert_page_headers(&reply);
    }
    let owned = fields(&csrf);
    let borrowed: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut cookieless = Browser::new(&app);
    assert_eq!(cookieless.post("/login", &borrowed).status, 403);

    // A wrong password: one generic message, the request kept, the username kept.
    let failed = sign_in_form(&mut browser, &page, "alice", "not the password");
    assert_eq!(failed.status, 401, "{}", failed.text);
    assert!(
        failed
            .text
            .contains("The username or password is not right.")
    );
    let unknown = sign_in_form(&mut browser, &page, "nobody", "not the password");
    assert!(
        unknown
            .text
            .contains("The username or password is not right.")
    );
    assert_eq!(hidden(&failed.text, "state").as_deref(), Some("state-123"));
    assert_eq!(
        hidden(&failed.text, "code_challenge").as_deref(),
        Some(challenge.as_str())
    );
    assert!(failed.text.contains("value=\"alice\""));
    // Five failures of alice from this address in all (login.max_failures).
    for _ in 0..4 {
        sign_in_form(&mut browser, &page, "alice", "not the password");
    }
    // The same throttle as the JSON API.
    let throttled = sign_in_form(&mut browser, &page, "alice", PASSWORD);
    assert_eq!(throttled.status, 429, "{}", throttled.text);
    assert!(throttled.header("retry-after").is_some());
    assert_eq!(app.try_sign_in("alice", PASSWORD, None).status, 429);
}

#[test]
fn sign_out_redirects_only_to_registered_uris() {
    let app = TestApp::spawn();
    register_apps(&app);
    app.create_user("alice");
    let mut browser = signed_in_browser(&app, "web", WEB_CALLBACK);
    for query in [
        "post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F&client_id=web",
        "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out%2F&client_id=web",
        "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out",
        "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out&client_id=spa",
        "id_token_hint=not.a.token&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fsigned-out",
    ] {
        let reply = browser.get(&format!("/logout?{query}"));
        assert_eq!(reply.status, 400, "{query}");
        assert!(reply.header("location").is_none());
    }
    // None of those signed the browser out.
    assert_eq!(spa_authorize_status(&mut browser), 303);
    // Without a redirect: a page saying so.
    let reply = browser.get("/logout");
    assert_eq!(reply.status, 200);
    assert!(reply.text.contains("Signed out"));
    assert_page_headers(&reply);
    assert_eq!(spa_authorize_status(&mut browser), 200);
}

#[test]
fn disabling_the_user_ends_the_browser_session() {
    let app = TestApp::spawn();
    register_apps(&app);
    app.create_user("alice");
    let mut browser = signed_in_browser(&app, "spa", SPA_CALLBACK);
    assert_eq!(spa_authorize_status(&mut browser), 303);
    app.set_active("alice", false);
    assert_eq!(spa_authorize_status(&mut browser), 200);
}

#[test]
fn the_pages_answer_errors_as_pages_and_discovery_lists_them() {
    let app = TestApp::spawn();
    let reply = app.get("/login");
    assert_eq!(reply.status, 405);
    assert_page_headers(&reply);
    let reply = app.post_raw("/login", "application/json", b"{}");
    assert_eq!(reply.status, 415);
    assert_page_headers(&reply);
    let doc: Value = app.get("/.well-known/openid-configuration").json();
    assert_eq!(doc["authorization_endpoint"], app.url("/authorize"));
    assert_eq!(doc["end_session_endpoint"], app.url("/logout"));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

#[test]
fn under_an_https_issuer_the_cookies_are_secure() {
    let app = TestApp::spawn_with(|settings| settings.issuer = "https://id.example.test".into());
    register_apps(&app);
    app.create_user("alice");
    let mut browser = Browser::new(&app);
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_path(&request_of(
        "web",
        WEB_CALLBACK,
        &challenge,
    )));
    let csrf_cookie = page.header("set-cookie").expect("the CSRF cookie");
    assert!(
        csrf_cookie.starts_with("idgate_csrf=") && csrf_cookie.contains("Secure"),
        "{csrf_cookie}"
    );
    assert!(
        csrf_cookie.contains("SameSite=Strict") && csrf_cookie.contains("HttpOnly"),
        "{csrf_cookie}"
    );
    let signed_in = sign_in_form(&mut browser, &page, "alice", PASSWORD);
    let query = redirect_query(&signed_in, WEB_CALLBACK);
    assert_eq!(query["iss"], "https://id.example.test");
    let session_cookie = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("idgate_session="))
        .expect("the session cookie");
    assert!(
        session_cookie.contains("Secure") && session_cookie.contains("HttpOnly"),
        "{session_cookie}"
    );
    assert!(
        session_cookie.contains("SameSite=Lax") && session_cookie.contains("Path=/"),
        "{session_cookie}"
    );
}

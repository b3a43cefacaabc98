//! What the verifier's tests control: RSA keys that sign whatever a test wants, and a JWKS
//! server that answers, fails, hangs and counts as told.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use aws_lc_rs::{hmac, rsa::KeySize};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA-2048 key with a `kid`.
pub struct TestKey {
    pub kid: String,
    pair: RsaKeyPair,
}

impl TestKey {
    pub fn new(kid: &str) -> TestKey {
        TestKey {
            kid: kid.into(),
            pair: RsaKeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    /// The public JWK, as idgate publishes it.
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The public key's DER (RSAPublicKey), what an HS256 forger would use as the secret.
    pub fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// A compact JWS of `header` and `claims`, RS256-signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", b64(&signature))
    }

    /// An access token as idgate issues it, with `claims` changed by `adjust`.
    pub fn access_token(&self, issuer: &str, adjust: impl FnOnce(&mut Value)) -> String {
        let mut claims = access_claims(issuer);
        adjust(&mut claims);
        self.sign(&self.header(), &claims)
    }

    pub fn header(&self) -> Value {
        json!({ "alg": "RS256", "typ": "at+jwt", "kid": self.kid })
    }
}

pub const AUDIENCE: &str = "https://api.example.test";

pub fn access_claims(issuer: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer, "sub": "42", "aud": AUDIENCE, "exp": now + 300, "iat": now,
        "jti": "j1", "token_type": "access", "user_id": "42", "scope": "openid profile",
        "client_id": "web", "sid": "session-1", "roles": ["staff"],
    })
}

/// An HS256 token signed with `secret`.
pub fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    format!(
        "{input}.{}",
        b64(hmac::sign(&key, input.as_bytes()).as_ref())
    )
}

/// How the server answers, changed by tests while it runs.
pub struct Behaviour {
    pub keys: Vec<Value>,
    pub max_age: Option<u64>,
    /// Answer 503 to everything.
    pub down: bool,
    /// Hold JWKS answers until released.
    pub hold: bool,
    /// The revocation feed's answer, when the server plays idgate's feed too.
    pub feed: Value,
}

#[derive(Default)]
pub struct Counts {
    pub discovery: AtomicUsize,
    /// JWKS answers with the key set (200).
    pub jwks_full: AtomicUsize,
    /// JWKS answers "not modified" (304).
    pub jwks_not_modified: AtomicUsize,
    pub feed: AtomicUsize,
    /// Requests answered while down.
    pub refused: AtomicUsize,
}

pub struct JwksServer {
    pub url: String,
    pub behaviour: Arc<(Mutex<Behaviour>, Condvar)>,
    pub counts: Arc<Counts>,
    /// The `since` of each feed request.
    pub feed_since: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl JwksServer {
    pub fn start(keys: &[&TestKey]) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let behaviour = Arc::new((
            Mutex::new(Behaviour {
                keys: keys.iter().map(|key| key.jwk()).collect(),
                max_age: Some(300),
                down: false,
                hold: false,
                feed: json!({ "now": now(), "revoked": [] }),
            }),
            Condvar::new(),
        ));
        let counts = Arc::new(Counts::default());
        let feed_since = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (behaviour, counts, stop, url, feed_since) = (
                behaviour.clone(),
                counts.clone(),
                stop.clone(),
                url.clone(),
                feed_since.clone(),
            );
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (behaviour, counts, url, feed_since) = (
                        behaviour.clone(),
                        counts.clone(),
                        url.clone(),
                        feed_since.clone(),
                    );
                    std::thread::spawn(move || {
                        answer(stream, &behaviour, &counts, &url, &feed_since);
                    });
                }
            })
        };
        JwksServer {
            url,
            behaviour,
            counts,
            feed_since,
            stop,
            thread: Some(thread),
        }
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks.json", self.url)
    }

    pub fn change(&self, adjust: impl FnOnce(&mut Behaviour)) {
        let (behaviour, changed) = &*self.behaviour;
        adjust(&mut behaviour.lock().unwrap());
        changed.notify_all();
    }

    pub fn full_fetches(&self) -> usize {
        self.counts.jwks_full.load(Ordering::SeqCst)
    }

    pub fn not_modified(&self) -> usize {
        self.counts.jwks_not_modified.load(Ordering::SeqCst)
    }

    pub fn discoveries(&self) -> usize {
        self.counts.discovery.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.change(|behaviour| behaviour.hold = false);
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(
    mut stream: TcpStream,
    behaviour: &(Mutex<Behaviour>, Condvar),
    counts: &Counts,
    url: &str,
    feed_since: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut if_none_match = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(value.trim().to_owned());
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
    let (lock, changed) = behaviour;
    let mut state = lock.lock().unwrap();
    let (status, headers, body) = if state.down {
        counts.refused.fetch_add(1, Ordering::SeqCst);
        ("503 Service Unavailable", String::new(), "down".to_owned())
    } else if path == "/.well-known/openid-configuration" {
        counts.discovery.fetch_add(1, Ordering::SeqCst);
        let body = json!({ "issuer": url, "jwks_uri": format!("{url}/jwks.json") });
        ("200 OK", String::new(), body.to_string())
    } else if path == "/jwks.json" {
        while state.hold {
            state = changed.wait(state).unwrap();
        }
        let body = json!({ "keys": state.keys }).to_string();
        let etag = format!("\"{:x}\"", fnv(body.as_bytes()));
        let cache = state
            .max_age
            .map(|age| format!("Cache-Control: public, max-age={age}\r\n"))
            .unwrap_or_default();
        let headers = format!("ETag: {etag}\r\n{cache}");
        if if_none_match.as_deref() == Some(etag.as_str()) {
            counts.jwks_not_modified.fetch_add(1, Ordering::SeqCst);
            ("304 Not Modified", headers, String::new())
        } else {
            counts.jwks_full.fetch_add(1, Ordering::SeqCst);
            ("200 OK", headers, body)
        }
    } else if let Some(query) = path.strip_prefix("/api/revocations?") {
        counts.feed.fetch_add(1, Ordering::SeqCst);
        feed_since.lock().unwrap().push(query.to_owned());
        ("200 OK", String::new(), state.feed.to_string())
    } else {
        ("404 Not Found", String::new(), "{}".to_owned())
    };
    drop(state);
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
    })
}

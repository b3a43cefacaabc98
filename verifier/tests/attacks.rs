//! Every classic attack on JWT verification, refused.

mod support;

use idgate_verifier::{Verifier, VerifyError};
use serde_json::{Value, json};
use support::{AUDIENCE, JwksServer, TestKey, access_claims, b64, now, sign_hs256};

struct Setup {
    key: TestKey,
    server: JwksServer,
    verifier: Verifier,
    runtime: tokio::runtime::Runtime,
}

impl Setup {
    fn new() -> Setup {
        let key = TestKey::new("idgate-key");
        let server = JwksServer::start(&[&key]);
        let verifier = Verifier::builder(&server.url)
            .audience(AUDIENCE)
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let setup = Setup {
            key,
            server,
            verifier,
            runtime,
        };
        setup
            .verify(&setup.good())
            .expect("an honest token verifies");
        setup
    }

    fn verify(&self, token: &str) -> Result<idgate_verifier::Claims, VerifyError> {
        self.runtime.block_on(self.verifier.verify(token))
    }

    fn claims(&self) -> Value {
        access_claims(&self.server.url)
    }

    fn good(&self) -> String {
        self.key.access_token(&self.server.url, |_| {})
    }

    fn with_claims(&self, adjust: impl FnOnce(&mut Value)) -> String {
        self.key.access_token(&self.server.url, adjust)
    }

    fn refused(&self, token: &str) -> VerifyError {
        let error = self.verify(token).expect_err("refused");
        assert!(error.rejects_token(), "{error:?} must be a 401");
        error
    }
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

#[test]
fn alg_none_in_every_spelling_is_refused() {
    let setup = Setup::new();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": "idgate-key" });
        let token = unsigned(&header, &setup.claims());
        assert_eq!(setup.refused(&token), VerifyError::Algorithm(alg.into()));
        // With the real token's signature glued on, too.
        let real_signature = setup.good().rsplit_once('.').unwrap().1.to_owned();
        assert_eq!(
            setup.refused(&format!("{token}{real_signature}")),
            VerifyError::Algorithm(alg.into())
        );
    }
    let header = json!({ "typ": "at+jwt", "kid": "idgate-key" });
    assert_eq!(
        setup.refused(&unsigned(&header, &setup.claims())),
        VerifyError::Malformed
    );
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let setup = Setup::new();
    let jwk = setup.key.jwk();
    let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": "idgate-key" });
    for secret in [
        setup.key.public_der(),
        jwk.to_string().into_bytes(),
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
    ] {
        let token = sign_hs256(&header, &setup.claims(), &secret);
        assert_eq!(
            setup.refused(&token),
            VerifyError::Algorithm("HS256".into())
        );
    }
    for alg in ["RS384", "RS512", "PS256", "ES256", "rs256"] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": "idgate-key" });
        let token = setup.key.sign(&header, &setup.claims());
        assert_eq!(setup.refused(&token), VerifyError::Algorithm(alg.into()));
    }
}

#[test]
fn stripped_foreign_and_altered_signatures_are_refused() {
    let setup = Setup::new();
    let good = setup.good();
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    assert_eq!(
        setup.refused(&format!("{signing_input}.")),
        VerifyError::BadSignature
    );
    assert_eq!(setup.refused(signing_input), VerifyError::Malformed);
    // Another token's signature.
    let other = setup.with_claims(|claims| claims["sub"] = "1".into());
    let other_signature = other.rsplit_once('.').unwrap().1;
    assert_eq!(
        setup.refused(&format!("{signing_input}.{other_signature}")),
        VerifyError::BadSignature
    );
    // The payload changed under the real signature.
    let mut claims = setup.claims();
    claims["roles"] = json!(["admin"]);
    let (header, _) = signing_input.split_once('.').unwrap();
    let altered = format!(
        "{header}.{}.{signature}",
        b64(claims.to_string().as_bytes())
    );
    assert_eq!(setup.refused(&altered), VerifyError::BadSignature);
    // Not base64, not JSON, not three parts, JWE's five.
    for garbage in [
        "",
        "a",
        "a.b",
        "a.b.c",
        "!!.??.##",
        "a.b.c.d.e",
        &format!("{good}.x"),
    ] {
        assert_eq!(
            setup.refused(garbage),
            VerifyError::Malformed,
            "{garbage:?}"
        );
    }
}

#[test]
fn a_foreign_key_with_the_same_kid_is_refused() {
    let setup = Setup::new();
    let impostor = TestKey::new("idgate-key");
    let token = impostor.access_token(&setup.server.url, |_| {});
    assert_eq!(setup.refused(&token), VerifyError::BadSignature);
}

#[test]
fn key_urls_and_embedded_keys_in_the_header_are_ignored() {
    let setup = Setup::new();
    // The attacker's own JWKS, at a server the attacker controls.
    let attacker = TestKey::new("attacker");
    let attacker_server = JwksServer::start(&[&attacker]);
    for (kid, member, value) in [
        ("attacker", "jku", json!(attacker_server.jwks_uri())),
        ("idgate-key", "jku", json!(attacker_server.jwks_uri())),
        ("attacker", "jwk", attacker.jwk()),
        ("idgate-key", "jwk", attacker.jwk()),
        (
            "idgate-key",
            "x5u",
            json!(format!("{}/cert.pem", attacker_server.url)),
        ),
        (
            "idgate-key",
            "x5c",
            json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        ),
    ] {
        let mut header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": kid });
        header[member] = value;
        let token = attacker.sign(&header, &setup.claims());
        let error = setup.refused(&token);
        assert!(
            matches!(error, VerifyError::UnknownKey | VerifyError::BadSignature),
            "{member} with kid {kid}: {error:?}"
        );
    }
    assert_eq!(
        attacker_server.full_fetches() + attacker_server.discoveries(),
        0,
        "nothing was fetched from the URLs a token named"
    );
    // Ignored, not refused: the issuer's own token with such a header still verifies.
    let mut header = setup.key.header();
    header["jku"] = json!(attacker_server.jwks_uri());
    setup
        .verify(&setup.key.sign(&header, &setup.claims()))
        .unwrap();
    // A critical extension the verifier cannot know is refused (RFC 7515 §4.1.11).
    let mut header = setup.key.header();
    header["crit"] = json!(["b64"]);
    header["b64"] = json!(false);
    assert_eq!(
        setup.refused(&setup.key.sign(&header, &setup.claims())),
        VerifyError::Malformed
    );
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    let setup = Setup::new();
    let token = setup.with_claims(|claims| claims["iss"] = "https://evil.example".into());
    assert_eq!(setup.refused(&token), VerifyError::Issuer);
    let issuer_with_slash = format!("{}/", setup.server.url);
    let token = setup.with_claims(|claims| claims["iss"] = issuer_with_slash.into());
    assert_eq!(setup.refused(&token), VerifyError::Issuer);
    let token = setup.with_claims(|claims| claims["aud"] = "https://other-api.example".into());
    assert_eq!(setup.refused(&token), VerifyError::Audience);
    let token = setup.with_claims(|claims| claims["aud"] = json!(["a", "b"]));
    assert_eq!(setup.refused(&token), VerifyError::Audience);
    let token = setup.with_claims(|claims| claims["aud"] = json!(["a", AUDIENCE]));
    setup.verify(&token).unwrap();
    let token = setup.with_claims(|claims| {
        claims.as_object_mut().unwrap().remove("aud");
    });
    assert_eq!(setup.refused(&token), VerifyError::Malformed);
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway() {
    let setup = Setup::new();
    let now = now();
    let token = setup.with_claims(|claims| claims["exp"] = (now - 60).into());
    assert_eq!(setup.refused(&token), VerifyError::Expired);
    // Within the leeway (15 s) of its expiry, a token is still good.
    let token = setup.with_claims(|claims| claims["exp"] = (now - 5).into());
    setup.verify(&token).unwrap();
    let token = setup.with_claims(|claims| claims["nbf"] = (now + 120).into());
    assert_eq!(setup.refused(&token), VerifyError::NotYetValid);
    let token = setup.with_claims(|claims| claims["iat"] = (now + 120).into());
    assert_eq!(setup.refused(&token), VerifyError::NotYetValid);
    let token = setup.with_claims(|claims| claims["iat"] = (now + 5).into());
    setup.verify(&token).unwrap();
    let token = setup.with_claims(|claims| {
        claims.as_object_mut().unwrap().remove("exp");
    });
    assert_eq!(setup.refused(&token), VerifyError::Malformed);
}

#[test]
fn refresh_and_id_tokens_are_not_access_tokens() {
    let setup = Setup::new();
    let issuer = setup.server.url.clone();
    // idgate's refresh token: HS256, typ JWT.
    let refresh_claims = json!({
        "iss": issuer, "sub": "42", "aud": AUDIENCE, "exp": now() + 3600, "iat": now(),
        "jti": "r1", "token_type": "refresh", "user_id": "42",
    });
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": "idgate-key" });
    let error = setup.refused(&sign_hs256(&header, &refresh_claims, b"secret"));
    assert_eq!(error, VerifyError::Algorithm("HS256".into()));
    // The same claims, RS256 by the issuer's key: still not an access token.
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "idgate-key" });
    let error = setup.refused(&setup.key.sign(&header, &refresh_claims));
    assert_eq!(error, VerifyError::NotAccessToken);
    let header = setup.key.header();
    let error = setup.refused(&setup.key.sign(&header, &refresh_claims));
    assert_eq!(error, VerifyError::NotAccessToken);
    // An ID token: typ JWT, no token_type, aud the client.
    let id_claims = json!({
        "iss": issuer, "sub": "42", "aud": AUDIENCE, "exp": now() + 300, "iat": now(),
        "auth_time": now(), "azp": "web", "sid": "s", "at_hash": "x",
    });
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "idgate-key" });
    assert_eq!(
        setup.refused(&setup.key.sign(&header, &id_claims)),
        VerifyError::NotAccessToken
    );
    let header = json!({ "alg": "RS256", "kid": "idgate-key" });
    assert_eq!(
        setup.refused(&setup.key.sign(&header, &setup.claims())),
        VerifyError::NotAccessToken
    );
    // `typ` in its media-type spelling is an access token (RFC 9068 §4).
    let header = json!({ "alg": "RS256", "typ": "application/at+JWT", "kid": "idgate-key" });
    setup
        .verify(&setup.key.sign(&header, &setup.claims()))
        .unwrap();
}

#[test]
fn oversized_tokens_are_refused_without_work() {
    let setup = Setup::new();
    let huge = "A".repeat(100_000);
    let token = format!("{huge}.{huge}.{huge}");
    assert_eq!(setup.refused(&token), VerifyError::Malformed);
    let good = setup.good();
    let (signing_input, _) = good.rsplit_once('.').unwrap();
    assert_eq!(
        setup.refused(&format!("{signing_input}.{huge}")),
        VerifyError::Malformed
    );
}

//! Checking a token's signature, header and claims (not yet its revocation state).
//!
//! The signature is checked with keys parsed once (see `keys`), then the claims are read and
//! checked here: jsonwebtoken's `decode` would rebuild the RSA public key for every token, which
//! costs more than the verification itself.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::claims::{ACCESS_TYP, AccessClaims, ID_TYP, REFRESH_TYP, RefreshClaims};
use super::issue::TokenRules;
use crate::error::Error;
use crate::keys::{KeyStore, SigningKey};

/// Which kind a token claims to be, read from its header before anything is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Access,
    Refresh,
    /// An ID token (RS256, `typ: JWT`): read only as a logout's `id_token_hint`.
    Id,
}

/// What the `verify` endpoint needs to know of a token whose signature and claims passed.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// An access token of this sign-in session; a client's own token has none.
    Access { sid: Option<String> },
    /// A refresh token: its session, and its id to compare with the session's current one.
    Refresh { sid: String, jti: String },
}

/// The header members idgate looks at, borrowed unless JSON escapes force a copy;
/// jsonwebtoken's `Header` parses a dozen more per token.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
}

/// The claims both kinds carry, borrowed from the payload: all that `verify` reads, without
/// allocating the dozen strings of the full claims on every call.
#[derive(Deserialize)]
struct CommonClaims<'a> {
    #[serde(borrow)]
    iss: Cow<'a, str>,
    #[serde(borrow)]
    aud: Cow<'a, str>,
    exp: i64,
    iat: i64,
    #[serde(borrow)]
    jti: Cow<'a, str>,
    #[serde(borrow)]
    token_type: Cow<'a, str>,
    #[serde(borrow, default)]
    sid: Option<Cow<'a, str>>,
}

/// Longer headers and signatures than these are not idgate's (its headers are about 100 bytes,
/// its signatures at most 512), so they are decoded on the stack and anything longer refused.
const MAX_HEADER_BYTES: usize = 512;
const MAX_SIGNATURE_BYTES: usize = 1024;

/// Reads the header: RS256 with `typ: at+jwt` is an access token, HS256 with `typ: JWT` a
/// refresh token; anything else, or a `kid` idgate does not hold, is refused.
fn read_header<'k>(keys: &'k KeyStore, token: &str) -> Result<(TokenKind, &'k SigningKey), Error> {
    let (encoded, _) = token.split_once('.').ok_or(Error::TokenInvalid)?;
    let mut decoded = [0u8; MAX_HEADER_BYTES];
    let len = URL_SAFE_NO_PAD
        .decode_slice(encoded, &mut decoded)
        .map_err(|_| Error::TokenInvalid)?;
    let header: JoseHeader =
        serde_json::from_slice(&decoded[..len]).map_err(|_| Error::TokenInvalid)?;
    // RFC 9068 §4: `typ` may also be written with its media-type prefix.
    let typ = header.typ.as_deref().unwrap_or_default();
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    let kind = match &*header.alg {
        "RS256" if typ.eq_ignore_ascii_case(ACCESS_TYP) => TokenKind::Access,
        "HS256" if typ.eq_ignore_ascii_case(REFRESH_TYP) => TokenKind::Refresh,
        "RS256" if typ.eq_ignore_ascii_case(ID_TYP) => TokenKind::Id,
        _ => return Err(Error::TokenInvalid),
    };
    let kid = header.kid.ok_or(Error::TokenInvalid)?;
    let key = match kind {
        TokenKind::Refresh => keys.find_refresh(&kid),
        TokenKind::Access | TokenKind::Id => keys.find(&kid),
    }
    .ok_or(Error::TokenInvalid)?;
    Ok((kind, key))
}

/// Verifies a token of either kind at `now` (unix seconds), reading its header once.
pub fn verify(
    keys: &KeyStore,
    rules: &TokenRules,
    token: &str,
    now: i64,
) -> Result<Verified, Error> {
    let (kind, payload) = authentic_payload(keys, token, None)?;
    let claims: CommonClaims = read_claims(rules, kind, &payload, now)?;
    Ok(match kind {
        TokenKind::Access => Verified::Access {
            sid: claims.sid.map(Cow::into_owned),
        },
        TokenKind::Refresh => Verified::Refresh {
            sid: claims.sid.ok_or(Error::TokenInvalid)?.into_owned(),
            jti: claims.jti.into_owned(),
        },
        TokenKind::Id => return Err(Error::TokenInvalid),
    })
}

/// Verifies an access token: RS256 by a published key, `typ: at+jwt`, issuer, audience, times.
pub fn verify_access(
    keys: &KeyStore,
    rules: &TokenRules,
    token: &str,
    now: i64,
) -> Result<AccessClaims, Error> {
    let (kind, payload) = authentic_payload(keys, token, Some(TokenKind::Access))?;
    read_claims(rules, kind, &payload, now)
}

/// Verifies a refresh token: HS256 with the key derived from its `kid`, audience = the issuer.
pub fn verify_refresh(
    keys: &KeyStore,
    rules: &TokenRules,
    token: &str,
    now: i64,
) -> Result<RefreshClaims, Error> {
    let (kind, payload) = authentic_payload(keys, token, Some(TokenKind::Refresh))?;
    read_claims(rules, kind, &payload, now)
}

/// The audience of an ID token idgate issued, whatever its expiry: what RP-initiated logout
/// (`id_token_hint`) needs to know which app is signing out. RS256 by a published key,
/// `typ: JWT`, idgate's issuer.
pub fn id_token_hint_audience(
    keys: &KeyStore,
    rules: &TokenRules,
    token: &str,
) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Hint {
        iss: String,
        aud: String,
    }
    let (_, payload) = authentic_payload(keys, token, Some(TokenKind::Id))?;
    let hint: Hint = serde_json::from_slice(&payload).map_err(|_| Error::TokenInvalid)?;
    if hint.iss != rules.issuer {
        return Err(Error::TokenInvalid);
    }
    Ok(hint.aud)
}

/// Checks the header (of the `expected` kind; `None` takes either kind the verify endpoint
/// accepts, access or refresh) and the signature; returns the kind and the decoded payload,
/// whose claims are not checked yet.
fn authentic_payload(
    keys: &KeyStore,
    token: &str,
    expected: Option<TokenKind>,
) -> Result<(TokenKind, Vec<u8>), Error> {
    let (kind, key) = read_header(keys, token)?;
    let wanted = match expected {
        Some(expected) => kind == expected,
        None => kind != TokenKind::Id,
    };
    if !wanted {
        return Err(Error::TokenInvalid);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(Error::TokenInvalid)?;
    let mut decoded = [0u8; MAX_SIGNATURE_BYTES];
    let len = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut decoded)
        .map_err(|_| Error::TokenInvalid)?;
    let signature = &decoded[..len];
    let authentic = match kind {
        TokenKind::Access | TokenKind::Id => key.verify_rs256(signing_input.as_bytes(), signature),
        TokenKind::Refresh => key.verify_hs256(signing_input.as_bytes(), signature),
    };
    if !authentic {
        return Err(Error::TokenInvalid);
    }
    let (_, payload) = signing_input.split_once('.').ok_or(Error::TokenInvalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| Error::TokenInvalid)?;
    Ok((kind, payload))
}

/// Reads the claims of an authentic payload and checks what every token of its kind must say:
/// issuer and audience exactly, `exp` and `iat` within `tokens.leeway` of now, and `token_type`.
fn read_claims<'p, T: Deserialize<'p> + Registered>(
    rules: &TokenRules,
    kind: TokenKind,
    payload: &'p [u8],
    now: i64,
) -> Result<T, Error> {
    let claims: T = serde_json::from_slice(payload).map_err(|_| Error::TokenInvalid)?;
    let (audience, token_type) = match kind {
        TokenKind::Access => (rules.audience.as_str(), "access"),
        TokenKind::Refresh => (rules.issuer.as_str(), "refresh"),
        TokenKind::Id => return Err(Error::TokenInvalid),
    };
    let leeway = rules.leeway;
    let valid = claims.iss() == rules.issuer
        && claims.aud() == audience
        && claims.token_type() == token_type
        && claims.exp() > now - leeway
        && claims.iat() <= now + leeway;
    if valid {
        Ok(claims)
    } else {
        Err(Error::TokenInvalid)
    }
}

/// The claims idgate checks on every token: RFC 7519's registered ones, and simplejwt's
/// `token_type` (`access` or `refresh`).
trait Registered {
    fn iss(&self) -> &str;
    fn aud(&self) -> &str;
    fn exp(&self) -> i64;
    fn iat(&self) -> i64;
    fn token_type(&self) -> &str;
}

macro_rules! registered_claims {
    ($($claims:ty),*) => {$(
        impl Registered for $claims {
            fn iss(&self) -> &str {
                &self.iss
            }
            fn aud(&self) -> &str {
                &self.aud
            }
            fn exp(&self) -> i64 {
                self.exp
            }
            fn iat(&self) -> i64 {
                self.iat
            }
            fn token_type(&self) -> &str {
                &self.token_type
            }
        }
    )*};
}

registered_claims!(AccessClaims, RefreshClaims, CommonClaims<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::unix_now;
    use crate::config::Settings;
    use crate::tokens::issue::{
        Grantee, RefreshSlot, Subject, access_claims, issue_access_token, issue_refresh_token,
    };

    fn setup() -> (tempfile::TempDir, TokenRules, KeyStore) {
        let dir = tempfile::tempdir().unwrap();
        crate::testing::install_key(dir.path());
        let keys = KeyStore::load(dir.path()).unwrap();
        (dir, TokenRules::from_settings(&Settings::default()), keys)
    }

    // The functions under test, at the current time.
    fn verify(keys: &KeyStore, rules: &TokenRules, token: &str) -> Result<Verified, Error> {
        super::verify(keys, rules, token, unix_now())
    }
    fn verify_access(
        keys: &KeyStore,
        rules: &TokenRules,
        token: &str,
    ) -> Result<AccessClaims, Error> {
        super::verify_access(keys, rules, token, unix_now())
    }
    fn verify_refresh(
        keys: &KeyStore,
        rules: &TokenRules,
        token: &str,
    ) -> Result<RefreshClaims, Error> {
        super::verify_refresh(keys, rules, token, unix_now())
    }

    fn user() -> Subject<'static> {
        Subject {
            user_id: "u1",
            roles: Vec::new(),
        }
    }

    #[test]
    fn times_issuer_and_audience_are_checked_with_leeway() {
        let (_dir, rules, keys) = setup();
        let key = keys.signing_key();
        let now = unix_now();
        let sign = |edit: &dyn Fn(&mut AccessClaims)| {
            let mut claims = access_claims(&rules, &user(), "s1", Grantee::FIRST_PARTY, now);
            edit(&mut claims);
            issue_access_token(key, &claims).unwrap()
        };
        assert!(verify_access(&keys, &rules, &sign(&|_| {})).is_ok());
        // 15 s of leeway either way.
        assert!(verify_access(&keys, &rules, &sign(&|c| c.exp = now - 10)).is_ok());
        assert!(verify_access(&keys, &rules, &sign(&|c| c.exp = now - 20)).is_err());
        assert!(verify_access(&keys, &rules, &sign(&|c| c.iat = now + 10)).is_ok());
        assert!(verify_access(&keys, &rules, &sign(&|c| c.iat = now + 60)).is_err());
        assert!(verify_access(&keys, &rules, &sign(&|c| c.iss = "https://evil".into())).is_err());
        assert!(verify_access(&keys, &rules, &sign(&|c| c.aud = "someone-else".into())).is_err());
        assert!(verify_access(&keys, &rules, &sign(&|c| c.token_type = "refresh".into())).is_err());
    }

    #[test]
    fn the_header_decides_the_kind_and_odd_tokens_are_refused() {
        let (_dir, rules, keys) = setup();
        let key = keys.signing_key();
        let claims = access_claims(&rules, &user(), "s1", Grantee::FIRST_PARTY, unix_now());
        let access = issue_access_token(key, &claims).unwrap();
        assert!(matches!(
            verify(&keys, &rules, &access),
            Ok(Verified::Access { sid: Some(sid) }) if sid == "s1"
        ));
        // RFC 9068 §4 allows the media-type spelling of `typ`.
        let prefixed = key.sign_rs256("application/at+jwt", &claims).unwrap();
        assert!(verify_access(&keys, &rules, &prefixed).is_ok());
        // An RS256 token that is not typed as an access token is neither kind.
        let untyped = key.sign_rs256("JWT", &claims).unwrap();
        assert!(verify(&keys, &rules, &untyped).is_err());
        // Oversized or broken parts are refused, not decoded into a panic.
        let (header, rest) = access.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let long_header = format!("{}.{payload}.{signature}", "e".repeat(2000));
        let long_signature = format!("{header}.{payload}.{}", "A".repeat(4000));
        for token in [
            long_header.as_str(),
            long_signature.as_str(),
            "",
            "..",
            "not a token",
            &access[..access.len() - 1],
        ] {
            assert!(verify(&keys, &rules, token).is_err(), "{token:.40}");
        }
    }

    #[test]
    fn an_id_token_is_only_a_logout_hint() {
        let (_dir, rules, keys) = setup();
        let key = keys.signing_key();
        let claims = serde_json::json!({"iss": rules.issuer, "aud": "web", "exp": 1});
        let id_token = key
            .sign_rs256(crate::tokens::claims::ID_TYP, &claims)
            .unwrap();
        // Expired long ago, still names its app; never passes as an access token.
        assert_eq!(
            super::id_token_hint_audience(&keys, &rules, &id_token).unwrap(),
            "web"
        );
        assert!(verify(&keys, &rules, &id_token).is_err());
        assert!(verify_access(&keys, &rules, &id_token).is_err());
        let foreign = serde_json::json!({"iss": "https://evil", "aud": "web"});
        let foreign = key
            .sign_rs256(crate::tokens::claims::ID_TYP, &foreign)
            .unwrap();
        assert!(super::id_token_hint_audience(&keys, &rules, &foreign).is_err());
        let access = key.sign_rs256(ACCESS_TYP, &claims).unwrap();
        assert!(super::id_token_hint_audience(&keys, &rules, &access).is_err());
    }

    #[test]
    fn a_refresh_token_is_checked_with_its_own_key_and_audience() {
        let (_dir, rules, keys) = setup();
        let key = keys.signing_key();
        let now = unix_now();
        let slot = RefreshSlot {
            jti: "j1".into(),
            kid: key.kid.0.clone(),
            iat: now,
            exp: now + 60,
        };
        let refresh = issue_refresh_token(key, &rules, "u1", "s1", &slot).unwrap();
        assert_eq!(verify_refresh(&keys, &rules, &refresh).unwrap().sid, "s1");
        assert_eq!(
            verify(&keys, &rules, &refresh).unwrap(),
            Verified::Refresh {
                sid: "s1".into(),
                jti: "j1".into()
            }
        );
        assert!(verify_access(&keys, &rules, &refresh).is_err());
        let access = issue_access_token(
            key,
            &access_claims(&rules, &user(), "s1", Grantee::FIRST_PARTY, now),
        )
        .unwrap();
        assert!(verify_refresh(&keys, &rules, &access).is_err());
        // A flipped bit in the tag.
        let mut forged = refresh.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(verify_refresh(&keys, &rules, &forged).is_err());
    }
}

//! Building and signing tokens.

use anyhow::Context;
use jsonwebtoken::{Algorithm, Header};

use super::claims::{ACCESS_TYP, AccessClaims, REFRESH_TYP, RefreshClaims};
use crate::config::Settings;
use crate::keys::SigningKey;

/// The `client_id` of tokens obtained through the first-party simplejwt API, which has no
/// registered client.
pub const FIRST_PARTY_CLIENT: &str = "idgate";
/// What a first-party sign-in grants: everything the user may see of themselves.
pub const FIRST_PARTY_SCOPE: &str = "openid profile email";

/// What every token idgate issues or accepts must say, and how long access tokens live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRules {
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of access tokens (refresh tokens are addressed to the issuer itself).
    pub audience: String,
    /// Seconds an access token lives.
    pub access_ttl: i64,
    /// Seconds of clock skew allowed in every `exp` and `iat` check.
    pub leeway: i64,
}

impl TokenRules {
    /// The rules of `settings`.
    pub fn from_settings(settings: &Settings) -> TokenRules {
        TokenRules {
            issuer: settings.issuer.clone(),
            audience: settings.audience().to_owned(),
            access_ttl: settings.tokens.access_ttl.as_secs(),
            leeway: settings.tokens.leeway.as_secs(),
        }
    }
}

/// Whom an access token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The user id (`sub`, and simplejwt's `user_id`).
    pub user_id: &'a str,
    pub roles: Vec<String>,
}

/// What identifies one refresh token of a family: enough to build it again byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSlot {
    pub jti: String,
    /// The key whose HMAC key signs it.
    pub kid: String,
    pub iat: i64,
    pub exp: i64,
}

/// The claims of an access token for `subject` in session `sid`, issued at `now`.
pub fn access_claims(
    rules: &TokenRules,
    subject: &Subject<'_>,
    sid: &str,
    now: i64,
) -> AccessClaims {
    AccessClaims {
        iss: rules.issuer.clone(),
        sub: subject.user_id.to_owned(),
        aud: rules.audience.clone(),
        exp: now + rules.access_ttl,
        iat: now,
        jti: super::new_id(),
        token_type: "access".into(),
        user_id: subject.user_id.to_owned(),
        scope: FIRST_PARTY_SCOPE.into(),
        client_id: FIRST_PARTY_CLIENT.into(),
        sid: sid.to_owned(),
        roles: subject.roles.clone(),
    }
}

/// Signs an access token with `key` (RS256, `typ: at+jwt`).
pub fn issue_access_token(key: &SigningKey, claims: &AccessClaims) -> anyhow::Result<String> {
    key.sign_rs256(ACCESS_TYP, claims)
}

/// The refresh token of `slot` in family `sid`: the same inputs give the same bytes, so a
/// family's current token can be handed out again without being stored.
pub fn issue_refresh_token(
    key: &SigningKey,
    rules: &TokenRules,
    user_id: &str,
    sid: &str,
    slot: &RefreshSlot,
) -> anyhow::Result<String> {
    let claims = RefreshClaims {
        iss: rules.issuer.clone(),
        sub: user_id.to_owned(),
        aud: rules.issuer.clone(),
        exp: slot.exp,
        iat: slot.iat,
        jti: slot.jti.clone(),
        token_type: "refresh".into(),
        user_id: user_id.to_owned(),
        sid: sid.to_owned(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(REFRESH_TYP.into());
    header.kid = Some(key.kid.0.clone());
    jsonwebtoken::encode(&header, &claims, key.refresh_signing_key())
        .context("signing a refresh token")
}

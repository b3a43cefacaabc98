//! Building and signing tokens.

use anyhow::Context;
use jsonwebtoken::{Algorithm, Header};

use super::claims::{
    ACCESS_TYP, AccessClaims, ID_TYP, IdClaims, IdentityClaims, REFRESH_TYP, RefreshClaims,
};
use crate::config::Settings;
use crate::keys::SigningKey;
use crate::scope::Scope;

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

/// Who tokens are issued to, and for what: the `client_id` and `scope` of access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grantee<'a> {
    pub client_id: &'a str,
    pub scope: &'a str,
}

impl Grantee<'static> {
    /// The simplejwt API: idgate's own first-party sign-in.
    pub const FIRST_PARTY: Grantee<'static> = Grantee {
        client_id: FIRST_PARTY_CLIENT,
        scope: FIRST_PARTY_SCOPE,
    };
}

/// The claims of an access token for `subject` in session `sid`, granted to `grantee`, issued
/// at `now`.
pub fn access_claims(
    rules: &TokenRules,
    subject: &Subject<'_>,
    sid: &str,
    grantee: Grantee<'_>,
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
        user_id: Some(subject.user_id.to_owned()),
        scope: grantee.scope.to_owned(),
        client_id: grantee.client_id.to_owned(),
        sid: Some(sid.to_owned()),
        roles: subject.roles.clone(),
    }
}

/// The claims of a client's own access token (client credentials): the client is the
/// subject; no user, no session, no roles.
pub fn client_access_claims(rules: &TokenRules, grantee: Grantee<'_>, now: i64) -> AccessClaims {
    AccessClaims {
        iss: rules.issuer.clone(),
        sub: grantee.client_id.to_owned(),
        aud: rules.audience.clone(),
        exp: now + rules.access_ttl,
        iat: now,
        jti: super::new_id(),
        token_type: "access".into(),
        user_id: None,
        scope: grantee.scope.to_owned(),
        client_id: grantee.client_id.to_owned(),
        sid: None,
        roles: Vec::new(),
    }
}

/// What an ID token may say about its user; which of it is said depends on the scope.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
}

/// The sign-in an ID token reports.
#[derive(Debug, Clone, Copy)]
pub struct Authentication<'a> {
    pub sid: &'a str,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
}

/// The claims of the ID token issued beside `access_token` to `grantee.client_id`: `profile`
/// in the scope releases the username, `email` the address.
pub fn id_token_claims(
    rules: &TokenRules,
    identity: &Identity<'_>,
    authentication: &Authentication<'_>,
    grantee: Grantee<'_>,
    access_token: &str,
    now: i64,
) -> IdClaims {
    IdClaims {
        iss: rules.issuer.clone(),
        sub: identity.user_id.to_owned(),
        aud: grantee.client_id.to_owned(),
        exp: now + rules.access_ttl,
        iat: now,
        auth_time: authentication.auth_time,
        nonce: authentication.nonce.map(str::to_owned),
        azp: grantee.client_id.to_owned(),
        sid: authentication.sid.to_owned(),
        at_hash: at_hash(access_token),
        identity: identity_claims(identity, &Scope::from_stored(grantee.scope)),
    }
}

/// What `scope` releases of `identity`: `profile` the username, `email` the address.
pub fn identity_claims(identity: &Identity<'_>, scope: &Scope) -> IdentityClaims {
    let email = scope.contains("email");
    IdentityClaims {
        preferred_username: scope
            .contains("profile")
            .then(|| identity.username.to_owned()),
        email: identity.email.filter(|_| email).map(str::to_owned),
        email_verified: (email && identity.email.is_some()).then_some(false),
    }
}

/// OpenID Connect Core §3.1.3.6: base64url of the left half of the SHA-256 of the token.
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Signs an ID token with `key` (RS256, `typ: JWT`).
pub fn issue_id_token(key: &SigningKey, claims: &IdClaims) -> anyhow::Result<String> {
    key.sign_rs256(ID_TYP, claims)
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
    header.kid = Some(key.refresh_kid.clone());
    jsonwebtoken::encode(&header, &claims, key.refresh_signing_key())
        .context("signing a refresh token")
}

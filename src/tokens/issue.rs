//! Building and signing tokens.

use anyhow::Context;
use jsonwebtoken::{Algorithm, Header};

use super::claims::{ACCESS_TYP, AccessClaims, REFRESH_TYP, RefreshClaims};
use crate::config::Settings;
use crate::db::models::{TokenSlot, User};
use crate::keys::SigningKey;

/// The `client_id` of tokens obtained through the first-party simplejwt API, which has no
/// registered client.
pub const FIRST_PARTY_CLIENT: &str = "idgate";
/// What a first-party sign-in grants: everything the user may see of themselves.
pub const FIRST_PARTY_SCOPE: &str = "openid profile email";

/// The claims of an access token for `user` in session `sid`, issued at `now`.
pub fn access_claims(settings: &Settings, user: &User, sid: &str, now: i64) -> AccessClaims {
    AccessClaims {
        iss: settings.issuer.clone(),
        sub: user.id.clone(),
        aud: settings.audience().to_owned(),
        exp: now + settings.tokens.access_ttl.as_secs(),
        iat: now,
        jti: super::new_id(),
        token_type: "access".into(),
        user_id: user.id.clone(),
        scope: FIRST_PARTY_SCOPE.into(),
        client_id: FIRST_PARTY_CLIENT.into(),
        sid: sid.to_owned(),
        roles: user.role_list(),
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
    settings: &Settings,
    user_id: &str,
    sid: &str,
    slot: &TokenSlot,
) -> anyhow::Result<String> {
    let claims = RefreshClaims {
        iss: settings.issuer.clone(),
        sub: user_id.to_owned(),
        aud: settings.issuer.clone(),
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

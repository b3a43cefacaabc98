//! Checking a token's signature, header and claims (not yet its revocation state).

use jsonwebtoken::{Algorithm, Validation};
use serde::de::DeserializeOwned;

use super::claims::{ACCESS_TYP, AccessClaims, REFRESH_TYP, RefreshClaims};
use crate::config::Settings;
use crate::error::Error;
use crate::keys::{KeyStore, SigningKey};

/// Which kind a token claims to be, read from its header before anything is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Reads the header: RS256 is an access token, HS256 a refresh token; anything else is refused.
pub fn token_kind(token: &str) -> Result<TokenKind, Error> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Error::TokenInvalid)?;
    match header.alg {
        Algorithm::RS256 => Ok(TokenKind::Access),
        Algorithm::HS256 => Ok(TokenKind::Refresh),
        _ => Err(Error::TokenInvalid),
    }
}

/// Verifies an access token: RS256 by a published key, `typ: at+jwt`, issuer, audience, times.
pub fn verify_access(
    keys: &KeyStore,
    settings: &Settings,
    token: &str,
) -> Result<AccessClaims, Error> {
    let claims: AccessClaims =
        decode(keys, settings, token, Algorithm::RS256, settings.audience())?;
    if claims.token_type != "access" {
        return Err(Error::TokenInvalid);
    }
    Ok(claims)
}

/// Verifies a refresh token: HS256 with the key derived from its `kid`, audience = the issuer.
pub fn verify_refresh(
    keys: &KeyStore,
    settings: &Settings,
    token: &str,
) -> Result<RefreshClaims, Error> {
    let claims: RefreshClaims = decode(keys, settings, token, Algorithm::HS256, &settings.issuer)?;
    if claims.token_type != "refresh" {
        return Err(Error::TokenInvalid);
    }
    Ok(claims)
}

fn decode<T: DeserializeOwned + TimedClaims>(
    keys: &KeyStore,
    settings: &Settings,
    token: &str,
    algorithm: Algorithm,
    audience: &str,
) -> Result<T, Error> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Error::TokenInvalid)?;
    let expected_typ = match algorithm {
        Algorithm::RS256 => ACCESS_TYP,
        _ => REFRESH_TYP,
    };
    // RFC 9068 §4: `typ` may also be written with its media-type prefix.
    let typ = header.typ.as_deref().unwrap_or_default();
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    if header.alg != algorithm || !typ.eq_ignore_ascii_case(expected_typ) {
        return Err(Error::TokenInvalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid))
        .ok_or(Error::TokenInvalid)?;
    let verifying_key = match algorithm {
        Algorithm::RS256 => SigningKey::verifying_key(key),
        _ => key.refresh_verifying_key(),
    };
    let leeway = settings.tokens.leeway.0.as_secs();
    let mut validation = Validation::new(algorithm);
    validation.leeway = leeway;
    validation.validate_nbf = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<T>(token, verifying_key, &validation)
        .map_err(|_| Error::TokenInvalid)?
        .claims;
    // jsonwebtoken checks exp and nbf; a token from the future is refused here.
    if claims.issued_at() > crate::time::now() + leeway as i64 {
        return Err(Error::TokenInvalid);
    }
    Ok(claims)
}

trait TimedClaims {
    fn issued_at(&self) -> i64;
}

impl TimedClaims for AccessClaims {
    fn issued_at(&self) -> i64 {
        self.iat
    }
}

impl TimedClaims for RefreshClaims {
    fn issued_at(&self) -> i64 {
        self.iat
    }
}

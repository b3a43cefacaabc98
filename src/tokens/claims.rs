//! The claims of idgate's tokens (API.md §2).

use serde::{Deserialize, Serialize};

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TYP: &str = "at+jwt";
/// The `typ` header of refresh tokens.
pub const REFRESH_TYP: &str = "JWT";

/// The claims of an RS256 access token (RFC 9068, plus simplejwt's `user_id` and `token_type`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_type: String,
    pub user_id: String,
    pub scope: String,
    pub client_id: String,
    /// The sign-in session: the refresh family this token came from.
    pub sid: String,
    pub roles: Vec<String>,
}

/// The claims of an HS256 refresh token; only idgate ever verifies one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefreshClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub token_type: String,
    pub user_id: String,
    /// The family the token belongs to, so rotation needs no table of every token ever issued.
    pub sid: String,
}

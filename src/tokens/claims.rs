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
    /// The user (simplejwt's claim); absent from a client's own token (client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub scope: String,
    pub client_id: String,
    /// The sign-in session: the refresh family this token came from. A client's own token
    /// belongs to no session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub roles: Vec<String>,
}

/// The `typ` header of ID tokens.
pub const ID_TYP: &str = "JWT";

/// The claims of an OpenID Connect ID token (Core §2), signed RS256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    /// The client the token is for.
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// When the user last entered their password in this session.
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub azp: String,
    pub sid: String,
    /// The left half of the SHA-256 of the access token issued with it (Core §3.1.3.6).
    pub at_hash: String,
    #[serde(flatten)]
    pub identity: IdentityClaims,
}

/// What the scope releases about a user, in ID tokens and from `/userinfo` alike.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IdentityClaims {
    /// With scope `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// With scope `email`, when the user has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With scope `email`: idgate does not verify addresses, so always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
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

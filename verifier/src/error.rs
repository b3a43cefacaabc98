//! What can go wrong: with a token (the service answers 401), with the issuer's keys (503),
//! or with the configuration (at start-up).

/// Why a token was not accepted.
///
/// Every kind but [`VerifyError::KeysUnavailable`] is the token's fault: answer 401 with
/// `WWW-Authenticate: Bearer error="invalid_token"` ([`VerifyError::rejects_token`]). Some kinds
/// are worth a log line, because an honest client never causes them: a forged or foreign token,
/// or a misconfiguration between issuer and service ([`VerifyError::worth_logging`]).
///
/// ```
/// use idgate_verifier::VerifyError;
///
/// // An expired token: 401, and nothing to log.
/// assert!(VerifyError::Expired.rejects_token() && !VerifyError::Expired.worth_logging());
/// // A forged one: 401, worth a log line.
/// assert!(VerifyError::BadSignature.rejects_token() && VerifyError::BadSignature.worth_logging());
/// // The issuer unreachable for too long: not the token's fault, 503.
/// assert!(!VerifyError::KeysUnavailable("connection refused".into()).rejects_token());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a compact JWS: wrong number of parts, bad base64 or JSON, missing claims.
    #[error("the token is malformed")]
    Malformed,
    /// The header names another algorithm than the one configured (`none`, `HS256`, …).
    #[error("the token's algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// A refresh token, an ID token, or anything else that is not an access token.
    #[error("the token is not an access token")]
    NotAccessToken,
    /// No key of the issuer's JWKS has the token's `kid` (or the header has none).
    #[error("no key of the issuer has the token's kid")]
    UnknownKey,
    /// The signature does not verify with the issuer's key of that `kid`.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("the token was not issued by the configured issuer")]
    Issuer,
    /// `aud` does not name this service.
    #[error("the token is not meant for this audience")]
    Audience,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The token's session (`sid`) was signed out, as the revocation feed says.
    #[error("the token's session has been signed out")]
    Revoked,
    /// The issuer's keys could not be fetched and no copy young enough is held: the token may
    /// be good, the service cannot tell. Answer 503, not 401.
    #[error("the issuer's keys are unavailable: {0}")]
    KeysUnavailable(String),
}

impl VerifyError {
    /// True when the token is at fault (answer 401); false for [`VerifyError::KeysUnavailable`]
    /// (answer 503: the client should retry, not sign in again).
    pub fn rejects_token(&self) -> bool {
        !matches!(self, VerifyError::KeysUnavailable(_))
    }

    /// True for what honest clients never cause: forged, foreign or misdirected tokens, clocks
    /// apart, an unreachable issuer. Expired, revoked and malformed tokens are everyday noise.
    pub fn worth_logging(&self) -> bool {
        matches!(
            self,
            VerifyError::Algorithm(_)
                | VerifyError::UnknownKey
                | VerifyError::BadSignature
                | VerifyError::Issuer
                | VerifyError::Audience
                | VerifyError::NotYetValid
                | VerifyError::KeysUnavailable(_)
        )
    }

    /// A short stable name for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "malformed",
            VerifyError::Algorithm(_) => "algorithm",
            VerifyError::NotAccessToken => "not_access_token",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Issuer => "issuer",
            VerifyError::Audience => "audience",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::Revoked => "revoked",
            VerifyError::KeysUnavailable(_) => "keys_unavailable",
        }
    }
}

/// A configuration the verifier cannot work with, found when it is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub(crate) String);

//! Pure JWS: what tokens claim, how they are built, signed and verified. No database and no
//! clock of its own: callers pass the keys, the rules and the time.

pub mod claims;
pub mod issue;
pub mod verify;

pub use claims::{AccessClaims, IdClaims, RefreshClaims};
pub use issue::{Authentication, Grantee, Identity, RefreshSlot, Subject, TokenRules};

/// A fresh random identifier (122 random bits) for users, sessions and tokens.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

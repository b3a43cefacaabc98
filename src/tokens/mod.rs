//! Tokens: what they claim, how they are issued and verified, and refresh families.

pub mod claims;
pub mod issue;
pub mod refresh;
pub mod revocations;
pub mod verify;

pub use claims::{AccessClaims, RefreshClaims};
pub use refresh::TokenPair;

/// A fresh random identifier (122 random bits) for users, sessions and tokens.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

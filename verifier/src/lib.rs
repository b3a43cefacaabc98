#![doc = include_str!("../README.md")]

#[cfg(feature = "actix")]
pub mod actix;
mod claims;
mod error;
mod http;
mod keys;
mod revocations;
mod verifier;

pub use claims::Claims;
pub use error::{ConfigError, VerifyError};
pub use revocations::{RevocationFeed, RevocationStatus};
pub use verifier::{Algorithm, Verifier, VerifierBuilder};

//! The simplejwt-compatible JSON API (API.md §3, §4), and the revocation feed (§6).

pub mod revocations;
pub mod token;
pub mod users;

//! The simplejwt-compatible JSON API (API.md §3, §4).

pub mod token;
pub mod users;

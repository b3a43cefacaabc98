//! The one integration-test binary: the real server, over HTTP, on SQLite or PostgreSQL.

mod accounts;
mod bursts;
mod cli;
mod downstream;
mod helpers;
mod http;
mod keys;
mod oauth_token;
mod refresh;
mod sign_in;
mod sso;
mod throttle;

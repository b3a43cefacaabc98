//! idgate: a small identity service and single-sign-on issuer.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod keys;
pub mod lockfile;
pub mod net;
pub mod oauth;
pub mod routes;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;
#[cfg(test)]
mod testing;
pub mod tokens;

//! idgate: a small identity service and single-sign-on issuer.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod keys;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod tokens;

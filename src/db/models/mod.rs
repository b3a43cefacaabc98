//! One file per table: the row type, the insert type, and the queries on that table.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` adds `LIMIT ?`, and SQLite
//! treats a bound LIMIT as a value the query plan depends on, so it re-prepared the statement on
//! every execution (`sqlite3Reprepare`, 9 % of the server's CPU under refresh load).

pub mod authorization_code;
pub mod browser_session;
pub mod client;
pub mod key_rotation;
pub mod login_failure;
pub mod refresh_family;
pub mod user;

pub use authorization_code::AuthorizationCode;
pub use browser_session::BrowserSession;
pub use client::ClientRow;
pub use key_rotation::KeyRotation;
pub use login_failure::{LoginFailure, NewLoginFailure};
pub use refresh_family::{NewRefreshFamily, NextRefreshToken, RefreshFamily};
pub use user::{NewUser, User};

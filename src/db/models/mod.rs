//! One file per table: the row type, the insert type, and the queries on that table.

pub mod refresh_family;
pub mod user;

pub use refresh_family::{NewRefreshFamily, RefreshFamily, TokenSlot};
pub use user::{NewUser, User};

//! Authentication: passwords, sign-in throttling, and checking credentials.

pub mod login;
pub mod password;
pub mod throttle;

pub use login::{Authenticator, Credentials};
pub use password::Hasher;
pub use throttle::{Throttle, ThrottleLimits};

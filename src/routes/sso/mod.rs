//! The browser-facing single-sign-on pages (API.md §5): `/authorize`, `/login`, `/logout`.
//! Everything they answer is HTML, errors included, with the security headers of API.md §6.

pub mod authorize;
pub mod logout;
pub mod pages;

/// The single-sign-on session cookie.
pub const SESSION_COOKIE: &str = "idgate_session";
/// The sign-in form's CSRF cookie (double submit: the form carries the same value).
pub const CSRF_COOKIE: &str = "idgate_csrf";

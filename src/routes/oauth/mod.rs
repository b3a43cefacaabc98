//! The OAuth 2 / OpenID Connect endpoints (API.md §5), answering errors in RFC 6749's shape.

pub mod error;
pub mod form;
pub mod token;
pub mod tokens;
pub mod userinfo;

//! What can go wrong in the domain, once.
//!
//! Services return [`Error`]; they know nothing of HTTP. Each surface renders it in its own
//! shapes: the JSON API's `routes::error::ApiError` as simplejwt does (`{"detail", "code"}`, or
//! `{"<field>": ["…"]}`), the command line as one line on stderr. A renderer matches every
//! variant without a catch-all arm, so a new variant forces a decision about how it shows.
//! Internal errors carry their cause chain (`.context(…)` on the way up) and are logged once,
//! where they are rendered, never shown to a client.

use std::collections::BTreeMap;

/// Messages per field, as Django REST framework reports validation errors.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no active account found with the given credentials")]
    InvalidCredentials,
    #[error("token is invalid or expired")]
    TokenInvalid,
    #[error("invalid input: {0:?}")]
    Fields(FieldErrors),
    #[error("registration is closed")]
    RegistrationClosed,
    #[error("a user with that username already exists")]
    UsernameTaken,
    /// Client authentication failed: unknown client, wrong or missing secret (RFC 6749 §5.2).
    #[error("client authentication failed")]
    InvalidClient,
    /// The client may not use this grant type.
    #[error("{0}")]
    UnauthorizedClient(String),
    /// A scope the client or the grant does not allow.
    #[error("{0}")]
    InvalidScope(String),
    #[error("a client with that client_id already exists")]
    ClientIdTaken,
    #[error("{0} not found")]
    NotFound(String),
    /// Too many failed sign-ins (API.md §6); no password was checked.
    #[error("too many failed sign-ins; try again in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// More password hashing is queued than `password.max_queue_wait` allows.
    #[error("too many sign-ins in progress; try again in {retry_after} s")]
    Busy { retry_after: u64 },
    /// A dependency (the database) cannot serve now; the client may retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// One field, one message.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Fields(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Diesel};
        match error {
            // The server went away under a query (a restart, a failover): the client may retry,
            // and the pool replaces the connection.
            Diesel::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Error::Unavailable(format!(
                "database connection lost: {}",
                info.message().trim()
            )),
            error => Error::Internal(anyhow::Error::new(error).context("database")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as Diesel};

    #[test]
    fn a_lost_database_connection_is_unavailable_not_internal() {
        for kind in [
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::UnableToSendCommand,
        ] {
            let lost = Diesel::DatabaseError(
                kind,
                Box::new("SSL connection has been closed unexpectedly\n".to_owned()),
            );
            assert!(matches!(Error::from(lost), Error::Unavailable(_)));
        }
        let violation = Diesel::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_owned()),
        );
        assert!(matches!(Error::from(violation), Error::Internal(_)));
    }
}

//! Checking a username and password: the one place sign-ins are decided, for the JSON API
//! now and for the SSO sign-in form and the OAuth password grant later. It returns the user
//! and issues no tokens.

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::SecretString;

use super::password::Hasher;
use super::throttle::Throttle;
use crate::db::Db;
use crate::db::models::User;
use crate::error::Error;

/// A username and password as the client sent them.
#[derive(Debug)]
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

/// Checks credentials, behind the throttle.
#[derive(Clone)]
pub struct Authenticator {
    db: Db,
    hasher: Hasher,
    throttle: Arc<Throttle>,
}

impl Authenticator {
    pub fn new(db: Db, hasher: Hasher, throttle: Arc<Throttle>) -> Authenticator {
        Authenticator {
            db,
            hasher,
            throttle,
        }
    }

    /// The active user these credentials belong to, signing in from `client`. Unknown user,
    /// wrong password and disabled user get the same answer after the same bcrypt work, and
    /// count alike as failures; a throttled attempt checks no password at all.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(
        &self,
        credentials: Credentials,
        client: IpAddr,
    ) -> Result<User, Error> {
        let attempt = self.throttle.check(&credentials.username, client).await?;
        let username = credentials.username;
        let user = self
            .db
            .run(move |conn| Ok(User::find_by_username(conn, &username)?))
            .await?;
        let hash = user.as_ref().map(|user| user.password_hash.clone());
        let matches = self.hasher.verify(credentials.password, hash).await?;
        match user {
            Some(user) if matches && user.is_active => {
                self.throttle.clear(&attempt).await?;
                Ok(user)
            }
            _ => {
                self.throttle.record_failure(&attempt).await?;
                Err(Error::InvalidCredentials)
            }
        }
    }
}

//! Authentication: passwords, sign-in, and Bearer access tokens.

pub mod bearer;
pub mod password;

use secrecy::SecretString;

use crate::db::models::User;
use crate::error::Error;
use crate::startup::AppState;
use crate::tokens::TokenPair;
use crate::tokens::refresh::start_session;

/// A username and password as the client sent them.
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

/// Signs in with a username and password. Unknown user, wrong password and disabled user get
/// the same answer after the same bcrypt work.
#[tracing::instrument(skip_all)]
pub async fn login(app: &AppState, credentials: Credentials) -> Result<TokenPair, Error> {
    let username = credentials.username;
    let user = app
        .db
        .run(move |conn| Ok(User::find_by_username(conn, &username)?))
        .await?;
    let hash = match &user {
        Some(user) => user.password_hash.clone(),
        None => app.dummy_hash.clone(),
    };
    let matches = app.hasher.verify(credentials.password, hash).await?;
    match user {
        Some(user) if matches && user.is_active => start_session(app, user).await,
        _ => Err(Error::InvalidCredentials),
    }
}

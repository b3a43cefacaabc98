//! User accounts: creation, passwords, enabling and disabling. Shared by the HTTP API and the
//! command line, so both apply the same rules.

use diesel::Connection;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::auth::password;
use crate::db::AnyConnection;
use crate::db::models::{NewUser, User, user::username_key};
use crate::error::{Error, FieldErrors};
use crate::startup::AppState;
use crate::tokens::new_id;
use crate::tokens::refresh::revoke_all_sessions;

/// The longest username accepted, in characters (Django's limit).
pub const USERNAME_MAX_CHARS: usize = 150;

/// An account to create.
pub struct NewAccount {
    pub username: String,
    pub password: SecretString,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

/// What a user may see of their account.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub last_login: Option<i64>,
}

impl From<&User> for Profile {
    fn from(user: &User) -> Self {
        Profile {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            roles: user.role_list(),
            created_at: user.created_at,
            last_login: user.last_login,
        }
    }
}

/// Why a username is refused, in words for the user; `None` when it is fine.
pub fn check_username(username: &str) -> Option<&'static str> {
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Some("Ensure this field has no more than 150 characters.");
    }
    let allowed = |c: char| c.is_alphanumeric() || "@.+-_".contains(c);
    if username.is_empty() || !username.chars().all(allowed) {
        return Some(
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        );
    }
    None
}

/// A deliberately plain check: one `@`, something on each side, a dot in the domain.
pub fn check_email(email: &str) -> Option<&'static str> {
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    (!valid).then_some("Enter a valid email address.")
}

/// Every rule a new account must meet, reported per field.
pub fn validate(account: &NewAccount) -> Result<(), Error> {
    let mut errors = FieldErrors::new();
    if let Some(reason) = check_username(&account.username) {
        errors
            .entry("username".into())
            .or_default()
            .push(reason.into());
    }
    if let Some(reason) = password::check_new_password(account.password.expose_secret()) {
        errors.entry("password".into()).or_default().push(reason);
    }
    if let Some(reason) = account.email.as_deref().and_then(check_email) {
        errors
            .entry("email".into())
            .or_default()
            .push(reason.into());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Fields(errors))
    }
}

/// Inserts a validated account whose password is already hashed.
pub fn insert(
    conn: &mut AnyConnection,
    account: &NewAccount,
    password_hash: &str,
) -> Result<User, Error> {
    let id = new_id();
    let roles = account.roles.join(" ");
    let key = username_key(&account.username);
    let inserted = User::insert(
        conn,
        &NewUser {
            id: &id,
            username: &account.username,
            username_key: &key,
            email: account.email.as_deref(),
            password_hash,
            is_active: true,
            roles: &roles,
            created_at: crate::time::now(),
        },
    );
    match inserted {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(Error::UsernameTaken),
        Err(error) => return Err(error.into()),
    }
    User::find(conn, &id)?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("user vanished after insert")))
}

/// Self-service registration (`POST /api/users/`), when `registration.open` allows it.
pub async fn register(app: &AppState, account: NewAccount) -> Result<Profile, Error> {
    if !app.settings.registration.open {
        return Err(Error::RegistrationClosed);
    }
    validate(&account)?;
    let hash = app
        .hasher
        .hash(account.password.clone(), app.settings.password.bcrypt_cost)
        .await?;
    let user = app
        .db
        .write(move |conn| insert(conn, &account, &hash))
        .await?;
    tracing::info!(user.id = %user.id, "user registered");
    Ok(Profile::from(&user))
}

/// Changes the signed-in user's password after checking the old one; every session of the
/// user is revoked, this one included.
pub async fn change_password(
    app: &AppState,
    user: &User,
    old_password: SecretString,
    new_password: SecretString,
) -> Result<(), Error> {
    let mut errors = FieldErrors::new();
    if let Some(reason) = password::check_new_password(new_password.expose_secret()) {
        errors
            .entry("new_password".into())
            .or_default()
            .push(reason);
    }
    let old_matches = app
        .hasher
        .verify(old_password, user.password_hash.clone())
        .await?;
    if !old_matches {
        errors
            .entry("old_password".into())
            .or_default()
            .push("Your old password was entered incorrectly. Please enter it again.".into());
    }
    if !errors.is_empty() {
        return Err(Error::Fields(errors));
    }
    let hash = app
        .hasher
        .hash(new_password, app.settings.password.bcrypt_cost)
        .await?;
    let user_id = user.id.clone();
    let revoked = app
        .db
        .write(move |conn| replace_password(conn, &user_id, &hash))
        .await?;
    crate::tokens::refresh::sync_revocations(app).await?;
    tracing::info!(user.id = %user.id, sessions.revoked = revoked, "password changed");
    Ok(())
}

/// Stores a new password hash and revokes every session of the user, atomically.
pub fn replace_password(
    conn: &mut AnyConnection,
    user_id: &str,
    password_hash: &str,
) -> Result<usize, Error> {
    conn.transaction(|conn| {
        User::set_password_hash(conn, user_id, password_hash)?;
        revoke_all_sessions(conn, user_id)
    })
}

/// Enables or disables an account; disabling revokes every session of the user.
pub fn set_active(conn: &mut AnyConnection, username: &str, active: bool) -> Result<User, Error> {
    conn.transaction(|conn| {
        let user = load_by_username(conn, username)?;
        User::set_active(conn, &user.id, active)?;
        if !active {
            revoke_all_sessions(conn, &user.id)?;
        }
        Ok(user)
    })
}

/// The user with this username (any case), or `NotFound`.
pub fn load_by_username(conn: &mut AnyConnection, username: &str) -> Result<User, Error> {
    User::find_by_username(conn, username)?
        .ok_or_else(|| Error::NotFound(format!("user {username:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_allow_letters_digits_and_a_few_signs() {
        assert_eq!(check_username("alice"), None);
        assert_eq!(check_username("a.l+i-c_e@example"), None);
        assert_eq!(check_username("Zoë"), None);
        assert!(check_username("").is_some());
        assert!(check_username("al ice").is_some());
        assert!(check_username("alice/../").is_some());
        assert_eq!(check_username(&"a".repeat(150)), None);
        assert!(check_username(&"a".repeat(151)).is_some());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(check_email("alice@example.com"), None);
        assert!(check_email("alice").is_some());
        assert!(check_email("@example.com").is_some());
        assert!(check_email("alice@localhost").is_some());
        assert!(check_email("a b@example.com").is_some());
    }

    #[test]
    fn passwords_are_8_to_72_bytes() {
        assert!(password::check_new_password("short").is_some());
        assert_eq!(password::check_new_password("correct horse"), None);
        assert_eq!(password::check_new_password(&"x".repeat(72)), None);
        assert!(password::check_new_password(&"x".repeat(73)).is_some());
        // 36 two-byte characters are 72 bytes; one more is over.
        assert_eq!(password::check_new_password(&"é".repeat(36)), None);
        assert!(password::check_new_password(&"é".repeat(37)).is_some());
    }
}

//! User accounts: creation, passwords, enabling and disabling. The HTTP API and the command
//! line call the same service, so both apply the same rules.

use std::sync::Arc;

use diesel::Connection;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::auth::password::{self, Hasher};
use crate::clock::{Clock, rfc3339};
use crate::db::Db;
use crate::db::models::user::{normalize_username, username_key};
use crate::db::models::{BrowserSession, NewUser, RefreshFamily, User};
use crate::error::{Error, FieldErrors};
use crate::sessions::Revocations;
use crate::tokens::new_id;

/// The longest username accepted, in characters (Django's limit).
pub const USERNAME_MAX_CHARS: usize = 150;

/// An account to create. No `Debug`: it holds a password.
pub struct NewAccount {
    pub username: String,
    pub password: SecretString,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

/// What a user may see of their account; times are RFC 3339 in UTC, as Django REST framework
/// writes them.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub created_at: String,
    /// `None` before the first sign-in.
    pub last_login: Option<String>,
}

impl From<&User> for Profile {
    fn from(user: &User) -> Self {
        Profile {
            id: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            roles: user.role_list(),
            created_at: rfc3339(user.created_at),
            last_login: user.last_login.map(rfc3339),
        }
    }
}

/// Why a username is refused, in words for the user; `None` when it is fine. Checks the
/// normalised (NFKC) form, which is the one stored.
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
fn validate(account: &NewAccount) -> Result<(), Error> {
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

/// Creates and changes accounts.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    hasher: Hasher,
    revocations: Arc<Revocations>,
    clock: Clock,
    registration_open: bool,
}

impl Accounts {
    pub fn new(
        db: Db,
        hasher: Hasher,
        revocations: Arc<Revocations>,
        clock: Clock,
        registration_open: bool,
    ) -> Accounts {
        Accounts {
            db,
            hasher,
            revocations,
            clock,
            registration_open,
        }
    }

    /// Creates an account (the command line, and later the admin API): the username
    /// normalised to NFKC, every field checked, the password hashed.
    pub async fn create(&self, mut account: NewAccount) -> Result<User, Error> {
        account.username = normalize_username(&account.username);
        validate(&account)?;
        let hash = self.hasher.hash(account.password.clone()).await?;
        let now = self.clock.now();
        let user = self
            .db
            .write(move |conn| {
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
                        password_hash: &hash,
                        is_active: true,
                        roles: &roles,
                        created_at: now,
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
            })
            .await?;
        tracing::info!(user.id = %user.id, "user created");
        Ok(user)
    }

    /// Self-service registration (`POST /api/users/`), when `registration.open` allows it.
    pub async fn register(&self, account: NewAccount) -> Result<Profile, Error> {
        if !self.registration_open {
            return Err(Error::RegistrationClosed);
        }
        let user = self.create(account).await?;
        Ok(Profile::from(&user))
    }

    /// Changes the signed-in user's password after checking the old one; every session of
    /// the user is revoked, this one included.
    pub async fn change_password(
        &self,
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
        let old_matches = self
            .hasher
            .verify(old_password, Some(user.password_hash.clone()))
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
        let revoked = self.replace_password(&user.id, new_password).await?;
        tracing::info!(user.id = %user.id, sessions.revoked = revoked, "password changed");
        Ok(())
    }

    /// Sets a user's password (the command line, an admin); every session of the user is
    /// revoked. Returns the user and how many sessions were revoked.
    pub async fn set_password(
        &self,
        username: &str,
        new_password: SecretString,
    ) -> Result<(User, usize), Error> {
        if let Some(reason) = password::check_new_password(new_password.expose_secret()) {
            return Err(Error::field("password", reason));
        }
        let user = self.load_by_username(username).await?;
        let revoked = self.replace_password(&user.id, new_password).await?;
        tracing::info!(user.id = %user.id, sessions.revoked = revoked, "password set");
        Ok((user, revoked))
    }

    /// Stores a new password hash and revokes every session of the user, atomically.
    async fn replace_password(
        &self,
        user_id: &str,
        password: SecretString,
    ) -> Result<usize, Error> {
        let hash = self.hasher.hash(password).await?;
        let (user_id, now) = (user_id.to_owned(), self.clock.now());
        let revoked = self
            .db
            .write(move |conn| {
                conn.transaction(|conn| {
                    User::set_password_hash(conn, &user_id, &hash)?;
                    BrowserSession::revoke_all_of_user(conn, &user_id, now)?;
                    Ok(RefreshFamily::revoke_all_of_user(conn, &user_id, now)?)
                })
            })
            .await?;
        self.revocations.sync().await?;
        Ok(revoked)
    }

    /// Enables or disables an account; disabling revokes every session of the user.
    pub async fn set_active(&self, username: &str, active: bool) -> Result<User, Error> {
        let (username, now) = (username.to_owned(), self.clock.now());
        let user = self
            .db
            .write(move |conn| {
                conn.transaction(|conn| {
                    let user = User::find_by_username(conn, &username)?
                        .ok_or_else(|| not_found(&username))?;
                    User::set_active(conn, &user.id, active)?;
                    if !active {
                        RefreshFamily::revoke_all_of_user(conn, &user.id, now)?;
                        BrowserSession::revoke_all_of_user(conn, &user.id, now)?;
                    }
                    Ok(user)
                })
            })
            .await?;
        if !active {
            self.revocations.sync().await?;
        }
        tracing::info!(user.id = %user.id, user.active = active, "user enabled or disabled");
        Ok(user)
    }

    /// Every user, by username.
    pub async fn list(&self) -> Result<Vec<User>, Error> {
        self.db.run(|conn| Ok(User::list(conn)?)).await
    }

    /// The user with this username (any case or spelling), or `NotFound`.
    pub async fn load_by_username(&self, username: &str) -> Result<User, Error> {
        let username = username.to_owned();
        self.db
            .run(move |conn| {
                User::find_by_username(conn, &username)?.ok_or_else(|| not_found(&username))
            })
            .await
    }
}

fn not_found(username: &str) -> Error {
    Error::NotFound(format!("user {username:?}"))
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

    #[test]
    fn profiles_write_times_as_rfc_3339_and_no_login_as_null() {
        let user = User {
            id: "u1".into(),
            username: "alice".into(),
            username_key: "alice".into(),
            email: None,
            password_hash: "$2b$04$secret".into(),
            is_active: true,
            roles: "admin ops".into(),
            created_at: 1_796_149_510,
            last_login: None,
        };
        let profile = serde_json::to_value(Profile::from(&user)).unwrap();
        assert_eq!(profile["created_at"], "2026-12-01T18:25:10Z");
        assert_eq!(profile["last_login"], serde_json::Value::Null);
        assert_eq!(profile["roles"], serde_json::json!(["admin", "ops"]));
        assert!(!profile.to_string().contains("secret"));
        let signed_in = User {
            last_login: Some(1_796_149_570),
            ..user
        };
        let profile = serde_json::to_value(Profile::from(&signed_in)).unwrap();
        assert_eq!(profile["last_login"], "2026-12-01T18:26:10Z");
    }
}

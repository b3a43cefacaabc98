//! Browser (single-sign-on) sessions: the `idgate_session` cookie of API.md §5. One sign-in
//! at idgate's page starts one; every app the browser then visits is signed in from it without
//! a password, by an authorization code. Ending it (sign-out, a password change, a disabled
//! user) ends every refresh family that came from it.
//!
//! The cookie holds 256 random bits; the database holds only their SHA-256, so a copy of the
//! database opens no session. The session's `id`, a separate random id, is the `sid` of its
//! tokens.

use std::sync::Arc;

use diesel::Connection;
use secrecy::{ExposeSecret, SecretString};

use super::Revocations;
use crate::clock::Clock;
use crate::db::Db;
use crate::db::models::{AuthorizationCode, BrowserSession, RefreshFamily, User};
use crate::error::Error;
use crate::scope::Scope;
use crate::secrets;
use crate::tokens::new_id;

/// Seconds an authorization code can be exchanged (API.md §5).
pub const CODE_TTL: i64 = 60;

/// A live browser session and its user.
#[derive(Clone)]
pub struct LiveBrowserSession {
    pub id: String,
    pub user: User,
    /// When the password was entered.
    pub auth_time: i64,
}

/// What an authorization code grants, fixed when it is issued.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
}

/// Starts, finds and ends browser sessions, and issues their authorization codes.
#[derive(Clone)]
pub struct BrowserSessions {
    db: Db,
    revocations: Arc<Revocations>,
    clock: Clock,
    /// Seconds a browser session lasts (`tokens.refresh_ttl`: as long as a sign-in's refresh).
    ttl: i64,
}

impl BrowserSessions {
    pub fn new(db: Db, revocations: Arc<Revocations>, clock: Clock, ttl: i64) -> BrowserSessions {
        BrowserSessions {
            db,
            revocations,
            clock,
            ttl,
        }
    }

    /// Seconds a session lasts: the cookie's `Max-Age`.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// True when the session's password was entered at most `max_age` seconds ago.
    pub fn signed_in_within(&self, session: &LiveBrowserSession, max_age: i64) -> bool {
        self.clock.now() - session.auth_time <= max_age
    }

    /// Starts a session for `user`, who has just entered their password; returns it and the
    /// cookie value (shown only to the browser).
    pub async fn start(&self, user: &User) -> Result<(LiveBrowserSession, SecretString), Error> {
        let cookie = secrets::new_opaque();
        let now = self.clock.now();
        let row = BrowserSession {
            id: new_id(),
            cookie_sha256: secrets::sha256_hex(cookie.expose_secret()),
            user_id: user.id.clone(),
            auth_time: now,
            expires_at: now + self.ttl,
            revoked_at: None,
        };
        let (stored, user_id) = (row.clone(), user.id.clone());
        self.db
            .write(move |conn| {
                conn.transaction(|conn| {
                    BrowserSession::insert(conn, &stored)?;
                    User::record_login(conn, &user_id, now)?;
                    Ok::<_, diesel::result::Error>(())
                })?;
                Ok(())
            })
            .await?;
        tracing::info!(user.id = %user.id, session.id = %row.id, "signed in to single sign-on");
        let session = LiveBrowserSession {
            id: row.id,
            user: user.clone(),
            auth_time: now,
        };
        Ok((session, cookie))
    }

    /// The live session of this cookie value, if any: not revoked, not expired, its user
    /// active.
    pub async fn current(&self, cookie: &str) -> Result<Option<LiveBrowserSession>, Error> {
        let hash = secrets::sha256_hex(cookie);
        let now = self.clock.now();
        let found = self
            .db
            .run(move |conn| Ok(BrowserSession::find_by_cookie(conn, &hash)?))
            .await?;
        Ok(found.and_then(|(session, user)| {
            (session.revoked_at.is_none() && session.expires_at > now && user.is_active).then_some(
                LiveBrowserSession {
                    id: session.id,
                    user,
                    auth_time: session.auth_time,
                },
            )
        }))
    }

    /// Ends the session of this cookie value and every family that came from it; returns the
    /// session's id when there was a live one.
    pub async fn end(&self, cookie: &str) -> Result<Option<String>, Error> {
        let hash = secrets::sha256_hex(cookie);
        let now = self.clock.now();
        let ended = self
            .db
            .write(move |conn| {
                conn.transaction(|conn| {
                    let Some((session, _)) = BrowserSession::find_by_cookie(conn, &hash)? else {
                        return Ok(None);
                    };
                    if !BrowserSession::revoke(conn, &session.id, now)? {
                        return Ok(None);
                    }
                    RefreshFamily::revoke_all_of_browser_session(conn, &session.id, now)?;
                    Ok::<_, diesel::result::Error>(Some(session.id))
                })
                .map_err(Error::from)
            })
            .await?;
        if let Some(id) = &ended {
            self.revocations.sync().await?;
            tracing::info!(session.id = %id, "signed out of single sign-on");
        }
        Ok(ended)
    }

    /// Issues a single-use authorization code of `session` for `grant`, valid `CODE_TTL`.
    pub async fn issue_code(
        &self,
        session: &LiveBrowserSession,
        grant: CodeGrant,
    ) -> Result<SecretString, Error> {
        let code = secrets::new_opaque();
        let row = AuthorizationCode {
            code_sha256: secrets::sha256_hex(code.expose_secret()),
            client_id: grant.client_id,
            browser_session_id: session.id.clone(),
            redirect_uri: grant.redirect_uri,
            redirect_uri_given: grant.redirect_uri_given,
            scope: grant.scope.to_string(),
            nonce: grant.nonce,
            code_challenge: grant.code_challenge,
            expires_at: self.clock.now() + CODE_TTL,
            used_at: None,
            family_id: None,
        };
        self.db
            .write(move |conn| Ok(AuthorizationCode::insert(conn, &row)?))
            .await?;
        Ok(code)
    }
}

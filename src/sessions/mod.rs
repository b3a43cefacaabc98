//! Sign-in sessions and their refresh families (API.md §2): one family per sign-in, rotated on
//! every refresh, never forked.
//!
//! A family row holds the refresh token it honours now (`current_*`) and the one it retired
//! last (`previous_jti`, `rotated_at`). Refresh tokens carry their family in `sid`, so storage
//! grows with live sessions, not with every token issued. The current token is rebuilt from
//! its slot (same claims, same key, same bytes) instead of being stored.

pub mod revocations;
pub mod sweep;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use diesel::Connection;

pub use revocations::Revocations;
pub use sweep::{Sweeper, Swept};

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::models::{NewRefreshFamily, NextRefreshToken, RefreshFamily, User};
use crate::db::{AnyConnection, Db};
use crate::error::Error;
use crate::keys::KeyStore;
use crate::tokens::issue::{access_claims, issue_access_token, issue_refresh_token};
use crate::tokens::verify::{Verified, verify, verify_access, verify_refresh};
use crate::tokens::{AccessClaims, RefreshClaims, RefreshSlot, Subject, TokenRules, new_id};

/// How sessions behave: the token rules and `tokens.*` of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    pub tokens: TokenRules,
    /// Seconds a refresh token lives.
    pub refresh_ttl: i64,
    /// Every refresh returns a new refresh token and retires the old one.
    pub rotate: bool,
    /// Seconds a just-retired refresh token still gets the current one back.
    pub reuse_grace: i64,
    /// Each rotation grants a fresh `refresh_ttl`, up to `session_max_age`.
    pub sliding: bool,
    pub session_max_age: i64,
}

impl SessionPolicy {
    pub fn from_settings(settings: &Settings) -> SessionPolicy {
        let tokens = &settings.tokens;
        SessionPolicy {
            tokens: TokenRules::from_settings(settings),
            refresh_ttl: tokens.refresh_ttl.as_secs(),
            rotate: tokens.rotate_refresh,
            reuse_grace: tokens.reuse_grace.as_secs(),
            sliding: tokens.refresh_sliding,
            session_max_age: tokens.session_max_age.as_secs(),
        }
    }

    /// Seconds a revoked session can still matter: until its last access token has expired.
    pub fn revocation_horizon(&self) -> i64 {
        self.tokens.access_ttl + self.tokens.leeway
    }
}

/// The tokens of a sign-in or a refresh. `Debug` shows neither.
#[derive(Clone)]
pub struct IssuedTokens {
    pub access: String,
    /// Absent when rotation is off and the client keeps its refresh token.
    pub refresh: Option<String>,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("access", &"<redacted>")
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// How the database half of a refresh was decided.
pub enum Refreshed {
    /// The presented token was current and is now retired in favour of this slot.
    Rotated(User, RefreshSlot),
    /// The token was retired within the grace (or rotation is off): the current one stands.
    Current(User, RefreshSlot),
    /// A retired token came back after the grace: the family is now revoked.
    Revoked,
}

/// Starts, refreshes, revokes and checks sign-in sessions.
#[derive(Clone)]
pub struct Sessions {
    db: Db,
    keys: Arc<KeyStore>,
    policy: Arc<SessionPolicy>,
    revocations: Arc<Revocations>,
    clock: Clock,
}

impl Sessions {
    pub fn new(
        db: Db,
        keys: Arc<KeyStore>,
        policy: SessionPolicy,
        revocations: Arc<Revocations>,
        clock: Clock,
    ) -> Sessions {
        Sessions {
            db,
            keys,
            policy: Arc::new(policy),
            revocations,
            clock,
        }
    }

    /// Starts a sign-in session for `user` (already authenticated): a new family, its first
    /// pair of tokens, and the user's `last_login`.
    pub async fn start(&self, user: &User) -> Result<IssuedTokens, Error> {
        let policy = &self.policy;
        let key = self.keys.signing_key();
        let now = self.clock.now();
        let ends_at = now
            + if policy.sliding {
                policy.session_max_age
            } else {
                policy.refresh_ttl
            };
        let slot = RefreshSlot {
            jti: new_id(),
            kid: key.kid.0.clone(),
            iat: now,
            exp: (now + policy.refresh_ttl).min(ends_at),
        };
        let sid = new_id();
        let (family_id, user_id, first) = (sid.clone(), user.id.clone(), slot.clone());
        self.db
            .write(move |conn| {
                conn.transaction(|conn| {
                    RefreshFamily::insert(
                        conn,
                        &NewRefreshFamily {
                            id: &family_id,
                            user_id: &user_id,
                            current_jti: &first.jti,
                            current_kid: &first.kid,
                            current_iat: first.iat,
                            current_exp: first.exp,
                            created_at: now,
                            ends_at,
                        },
                    )?;
                    User::record_login(conn, &user_id, now)?;
                    Ok::<_, diesel::result::Error>(())
                })?;
                Ok(())
            })
            .await?;
        tracing::info!(user.id = %user.id, session.id = %sid, "signed in");
        let access = issue_access_token(
            key,
            &access_claims(&policy.tokens, &subject(user), &sid, now),
        )?;
        let refresh = issue_refresh_token(key, &policy.tokens, &user.id, &sid, &slot)?;
        Ok(IssuedTokens {
            access,
            refresh: Some(refresh),
        })
    }

    /// Exchanges a refresh token for a new access token and, with rotation on, the family's
    /// next refresh token. Of concurrent refreshes of one token, exactly one rotates; the
    /// others get the token it rotated to.
    pub async fn refresh(&self, token: &str) -> Result<IssuedTokens, Error> {
        let claims = verify_refresh(&self.keys, &self.policy.tokens, token, self.clock.now())?;
        let (policy, clock) = (self.policy.clone(), self.clock.clone());
        let signing_kid = self.keys.signing_key().kid.0.clone();
        let sid = claims.sid.clone();
        let outcome = self
            .db
            .write(move |conn| rotate_family(conn, &policy, &claims, &signing_kid, clock.now()))
            .await?;
        let (user, slot, rotated) = match outcome {
            Refreshed::Rotated(user, slot) => (user, slot, true),
            Refreshed::Current(user, slot) => (user, slot, false),
            Refreshed::Revoked => {
                self.revocations.sync().await?;
                return Err(Error::TokenInvalid);
            }
        };
        let now = self.clock.now();
        let rules = &self.policy.tokens;
        let signer = self.keys.signing_key();
        let access = issue_access_token(signer, &access_claims(rules, &subject(&user), &sid, now))?;
        if !self.policy.rotate {
            return Ok(IssuedTokens {
                access,
                refresh: None,
            });
        }
        // The slot names the key its token was signed with; a key no longer loaded cannot
        // rebuild it, and the client must sign in again.
        let slot_key = self.keys.find(&slot.kid).ok_or(Error::TokenInvalid)?;
        let refresh = issue_refresh_token(slot_key, rules, &user.id, &sid, &slot)?;
        if rotated {
            tracing::debug!(user.id = %user.id, session.id = %sid, "refresh token rotated");
        }
        Ok(IssuedTokens {
            access,
            refresh: Some(refresh),
        })
    }

    /// Blacklists a refresh token: its family (the whole sign-in session) can no longer
    /// refresh, and the access tokens it issued fail `verify`.
    pub async fn blacklist(&self, token: &str) -> Result<(), Error> {
        let claims = verify_refresh(&self.keys, &self.policy.tokens, token, self.clock.now())?;
        let (sid, now) = (claims.sid.clone(), self.clock.now());
        let revoked = self
            .db
            .write(move |conn| Ok(RefreshFamily::revoke(conn, &sid, now)?))
            .await?;
        if !revoked {
            // Already revoked or gone: as in simplejwt, a blacklisted token is not valid.
            return Err(Error::TokenInvalid);
        }
        self.revocations.sync().await?;
        tracing::info!(user.id = %claims.sub, session.id = %claims.sid, "session blacklisted");
        Ok(())
    }

    /// The `verify` endpoint: signature, times, and that the session is live. An access
    /// token's session is checked against the revocations held in memory (no database round
    /// trip); a refresh token must also be its family's current one (the reuse grace applies
    /// to `refresh` only), which takes a read.
    pub async fn verify(&self, token: &str) -> Result<(), Error> {
        match verify(&self.keys, &self.policy.tokens, token, self.clock.now())? {
            Verified::Access { sid } => {
                if self.revocations.is_revoked(&sid) {
                    return Err(Error::TokenInvalid);
                }
                Ok(())
            }
            Verified::Refresh { sid, jti } => {
                let family = self
                    .db
                    .run(move |conn| Ok(RefreshFamily::find(conn, &sid)?))
                    .await?
                    .ok_or(Error::TokenInvalid)?;
                if family.revoked_at.is_some() || family.current_jti != jti {
                    return Err(Error::TokenInvalid);
                }
                Ok(())
            }
        }
    }

    /// Checks a Bearer access token for idgate's own endpoints: signature and times, a live
    /// session, an active user (all read from the database, not the in-memory revocations).
    pub async fn authenticate(&self, access_token: &str) -> Result<(AccessClaims, User), Error> {
        let claims = verify_access(
            &self.keys,
            &self.policy.tokens,
            access_token,
            self.clock.now(),
        )?;
        let sid = claims.sid.clone();
        let found = self
            .db
            .run(move |conn| Ok(RefreshFamily::find_with_user(conn, &sid)?))
            .await?;
        match found {
            Some((family, user))
                if family.revoked_at.is_none() && user.is_active && user.id == claims.sub =>
            {
                Ok((claims, user))
            }
            _ => Err(Error::TokenInvalid),
        }
    }
}

fn subject(user: &User) -> Subject<'_> {
    Subject {
        user_id: &user.id,
        roles: user.role_list(),
    }
}

fn slot_of(family: &RefreshFamily) -> RefreshSlot {
    RefreshSlot {
        jti: family.current_jti.clone(),
        kid: family.current_kid.clone(),
        iat: family.current_iat,
        exp: family.current_exp,
    }
}

/// The database half of a refresh at `now`: rotate the family if `claims` names its current
/// token, hand back the current one within the grace, revoke the family on reuse.
pub fn rotate_family(
    conn: &mut AnyConnection,
    policy: &SessionPolicy,
    claims: &RefreshClaims,
    signing_kid: &str,
    now: i64,
) -> Result<Refreshed, Error> {
    // Two reads at most: a lost race re-reads the winner's row once.
    for _ in 0..2 {
        let Some((family, user)) = RefreshFamily::find_with_user(conn, &claims.sid)? else {
            return Err(Error::TokenInvalid);
        };
        if family.revoked_at.is_some() || !user.is_active || family.user_id != claims.sub {
            return Err(Error::TokenInvalid);
        }
        if family.current_jti == claims.jti {
            if !policy.rotate {
                let slot = slot_of(&family);
                return Ok(Refreshed::Current(user, slot));
            }
            let exp = if policy.sliding {
                (now + policy.refresh_ttl).min(family.ends_at)
            } else {
                // The session keeps the expiry of its first refresh token.
                family.current_exp
            };
            let next = RefreshSlot {
                jti: new_id(),
                kid: signing_kid.to_owned(),
                iat: now,
                exp,
            };
            let update = NextRefreshToken {
                jti: &next.jti,
                kid: &next.kid,
                iat: next.iat,
                exp: next.exp,
            };
            if RefreshFamily::rotate(conn, &family.id, &claims.jti, &update, now)? {
                return Ok(Refreshed::Rotated(user, next));
            }
            continue;
        }
        let within_grace = family.previous_jti.as_deref() == Some(claims.jti.as_str())
            && family
                .rotated_at
                .is_some_and(|rotated| now - rotated <= policy.reuse_grace);
        if within_grace {
            let slot = slot_of(&family);
            return Ok(Refreshed::Current(user, slot));
        }
        // A retired token after the grace: someone kept a copy. Cut the whole family off.
        if RefreshFamily::revoke(conn, &family.id, now)? {
            tracing::warn!(
                user.id = %user.id,
                session.id = %family.id,
                token.jti = %claims.jti,
                "retired refresh token reused; session revoked"
            );
        }
        return Ok(Refreshed::Revoked);
    }
    Err(Error::TokenInvalid)
}

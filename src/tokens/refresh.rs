//! Refresh families (API.md §2): one per sign-in, rotated on every refresh, never forked.
//!
//! A family row holds the refresh token it honours now (`current_*`) and the one it retired
//! last (`previous_jti`, `rotated_at`). Refresh tokens carry their family in `sid`, so storage
//! grows with live sessions, not with every token issued. The current token is rebuilt from
//! its slot (same claims, same key, same bytes) instead of being stored.

use diesel::Connection;
use serde::Serialize;

use super::issue::{access_claims, issue_access_token, issue_refresh_token};
use super::verify::{Verified, verify, verify_refresh};
use super::{RefreshClaims, new_id};
use crate::db::AnyConnection;
use crate::db::models::{NewRefreshFamily, RefreshFamily, TokenSlot, User};
use crate::error::Error;
use crate::startup::AppState;

/// What a sign-in or a refresh answers.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

/// Rows deleted per statement by the clean-up, so it never holds the write lock for long.
pub const FLUSH_BATCH: i64 = 500;

/// Starts a sign-in session for `user` (already authenticated): a new family and its first
/// pair of tokens.
pub async fn start_session(app: &AppState, user: User) -> Result<TokenPair, Error> {
    let settings = &app.settings;
    let key = app.keys.signing_key();
    let now = crate::time::now();
    let ends_at = now
        + if settings.tokens.refresh_sliding {
            settings.tokens.session_max_age.as_secs()
        } else {
            settings.tokens.refresh_ttl.as_secs()
        };
    let slot = TokenSlot {
        jti: new_id(),
        kid: key.kid.0.clone(),
        iat: now,
        exp: (now + settings.tokens.refresh_ttl.as_secs()).min(ends_at),
    };
    let sid = new_id();
    let (family_id, user_id, first) = (sid.clone(), user.id.clone(), slot.clone());
    app.db
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
    let access = issue_access_token(key, &access_claims(settings, &user, &sid, now))?;
    let refresh = issue_refresh_token(key, settings, &user.id, &sid, &slot)?;
    Ok(TokenPair {
        access,
        refresh: Some(refresh),
    })
}

/// How a refresh was decided.
pub enum Refreshed {
    /// The presented token was current and is now retired in favour of this slot.
    Rotated(User, TokenSlot),
    /// The token was retired within the grace (or rotation is off): the current one stands.
    Current(User, TokenSlot),
    /// A retired token came back after the grace: the family is now revoked.
    Revoked,
}

/// Exchanges a refresh token for a new access token and, with rotation on, the family's next
/// refresh token. Of concurrent refreshes of one token, exactly one rotates; the others get
/// the token it rotated to.
pub async fn refresh(app: &AppState, token: &str) -> Result<TokenPair, Error> {
    let claims = verify_refresh(&app.keys, &app.settings, token)?;
    let settings = app.settings.clone();
    let signing_kid = app.keys.signing_key().kid.0.clone();
    let sid = claims.sid.clone();
    let outcome = app
        .db
        .write(move |conn| rotate_family(conn, &settings, &claims, &signing_kid))
        .await?;
    let (user, slot, rotated) = match outcome {
        Refreshed::Rotated(user, slot) => (user, slot, true),
        Refreshed::Current(user, slot) => (user, slot, false),
        Refreshed::Revoked => {
            sync_revocations(app).await?;
            return Err(Error::TokenInvalid);
        }
    };
    let now = crate::time::now();
    let signer = app.keys.signing_key();
    let access = issue_access_token(signer, &access_claims(&app.settings, &user, &sid, now))?;
    if !app.settings.tokens.rotate_refresh {
        return Ok(TokenPair {
            access,
            refresh: None,
        });
    }
    // The slot names the key its token was signed with; a key no longer loaded cannot
    // rebuild it, and the client must sign in again.
    let slot_key = app.keys.find(&slot.kid).ok_or(Error::TokenInvalid)?;
    let refresh = issue_refresh_token(slot_key, &app.settings, &user.id, &sid, &slot)?;
    if rotated {
        tracing::debug!(user.id = %user.id, session.id = %sid, "refresh token rotated");
    }
    Ok(TokenPair {
        access,
        refresh: Some(refresh),
    })
}

/// The database half of a refresh: rotate the family if `claims` names its current token,
/// hand back the current one within the grace, revoke the family on reuse.
pub fn rotate_family(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    claims: &RefreshClaims,
    signing_kid: &str,
) -> Result<Refreshed, Error> {
    // Two reads at most: a lost race re-reads the winner's row once.
    for _ in 0..2 {
        let now = crate::time::now();
        let Some((family, user)) = RefreshFamily::find_with_user(conn, &claims.sid)? else {
            return Err(Error::TokenInvalid);
        };
        if family.revoked_at.is_some() || !user.is_active || family.user_id != claims.sub {
            return Err(Error::TokenInvalid);
        }
        if family.current_jti == claims.jti {
            if !settings.tokens.rotate_refresh {
                let slot = family.current_slot();
                return Ok(Refreshed::Current(user, slot));
            }
            let exp = if settings.tokens.refresh_sliding {
                (now + settings.tokens.refresh_ttl.as_secs()).min(family.ends_at)
            } else {
                // The session keeps the expiry of its first refresh token.
                family.current_exp
            };
            let next = TokenSlot {
                jti: new_id(),
                kid: signing_kid.to_owned(),
                iat: now,
                exp,
            };
            if RefreshFamily::rotate(conn, &family.id, &claims.jti, &next, now)? {
                return Ok(Refreshed::Rotated(user, next));
            }
            continue;
        }
        let within_grace = family.previous_jti.as_deref() == Some(claims.jti.as_str())
            && family
                .rotated_at
                .is_some_and(|rotated| now - rotated <= settings.tokens.reuse_grace.as_secs());
        if within_grace {
            let slot = family.current_slot();
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

/// Blacklists a refresh token: its family (the whole sign-in session) can no longer refresh,
/// and the access tokens it issued fail `verify`.
pub async fn blacklist(app: &AppState, token: &str) -> Result<(), Error> {
    let claims = verify_refresh(&app.keys, &app.settings, token)?;
    let sid = claims.sid.clone();
    let revoked = app
        .db
        .write(move |conn| Ok(RefreshFamily::revoke(conn, &sid, crate::time::now())?))
        .await?;
    if !revoked {
        // Already revoked or gone: as in simplejwt, a blacklisted token is not valid.
        return Err(Error::TokenInvalid);
    }
    sync_revocations(app).await?;
    tracing::info!(user.id = %claims.sub, session.id = %claims.sid, "session blacklisted");
    Ok(())
}

/// The `verify` endpoint: signature, times, and that the session is live. An access token's
/// session is checked against the revocations held in memory (no database round trip); a
/// refresh token must also be its family's current one (the reuse grace applies to `refresh`
/// only), which takes a read.
pub async fn verify_token(app: &AppState, token: &str) -> Result<(), Error> {
    match verify(&app.keys, &app.settings, token)? {
        Verified::Access { sid } => {
            if app.revocations.is_revoked(&sid) {
                return Err(Error::TokenInvalid);
            }
            Ok(())
        }
        Verified::Refresh { sid, jti } => {
            let family = app
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

/// Re-reads recent revocations into this replica's memory; called after it revokes something.
pub async fn sync_revocations(app: &AppState) -> Result<(), Error> {
    let (revocations, settings) = (app.revocations.clone(), app.settings.clone());
    app.db
        .run(move |conn| revocations.refresh(conn, &settings))
        .await
}

/// The sign-in session of an access token is still live.
pub fn ensure_session_live(conn: &mut AnyConnection, sid: &str) -> Result<(), Error> {
    match RefreshFamily::find(conn, sid)? {
        Some(family) if family.revoked_at.is_none() => Ok(()),
        _ => Err(Error::TokenInvalid),
    }
}

/// Revokes every sign-in session of a user (password change, disabling); returns how many.
pub fn revoke_all_sessions(conn: &mut AnyConnection, user_id: &str) -> Result<usize, Error> {
    Ok(RefreshFamily::revoke_all_of_user(
        conn,
        user_id,
        crate::time::now(),
    )?)
}

/// Deletes families no token can use any more, at most `max_batches` batches; returns how many.
/// A revoked family stays until the access tokens it issued have expired, so `verify` keeps
/// refusing them.
pub fn flush_dead_families(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    max_batches: usize,
) -> Result<usize, Error> {
    let linger = settings.tokens.access_ttl.as_secs() + settings.tokens.leeway.as_secs();
    let mut deleted = 0;
    for _ in 0..max_batches {
        let batch = RefreshFamily::delete_dead(conn, crate::time::now(), linger, FLUSH_BATCH)?;
        deleted += batch;
        if (batch as i64) < FLUSH_BATCH {
            break;
        }
    }
    Ok(deleted)
}

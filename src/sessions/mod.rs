//! Sign-in sessions and their refresh families (API.md §2): one family per sign-in, rotated on
//! every refresh, never forked.
//!
//! A family row holds the refresh token it honours now (`current_*`) and the one it retired
//! last (`previous_jti`, `rotated_at`). Refresh tokens carry their family in `sid`, so storage
//! grows with live sessions, not with every token issued. The current token is rebuilt from
//! its slot (same claims, same key, same bytes) instead of being stored.

pub mod browser;
pub mod revocations;
pub mod sweep;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use diesel::Connection;

pub use browser::{BrowserSessions, CodeGrant, LiveBrowserSession};
pub use revocations::Revocations;
pub use sweep::{Sweeper, Swept};

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::models::{
    AuthorizationCode, BrowserSession, NewRefreshFamily, NextRefreshToken, RefreshFamily, User,
};
use crate::db::{AnyConnection, Db};
use crate::error::Error;
use crate::keys::KeyRing;
use crate::scope::Scope;
use crate::tokens::issue::{
    FIRST_PARTY_SCOPE, access_claims, client_access_claims, id_token_claims, issue_access_token,
    issue_id_token, issue_refresh_token,
};
use crate::tokens::verify::{Verified, verify, verify_access, verify_refresh};
use crate::tokens::{
    AccessClaims, Authentication, Grantee, Identity, RefreshClaims, RefreshSlot, Subject,
    TokenRules, new_id,
};

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

    /// The first refresh token of a session starting at `now`, signed with `signing_kid`'s
    /// key, and when the session ends at the latest.
    fn first_slot(&self, signing_kid: &str, now: i64) -> (RefreshSlot, i64) {
        let ends_at = now
            + if self.sliding {
                self.session_max_age
            } else {
                self.refresh_ttl
            };
        let slot = RefreshSlot {
            jti: new_id(),
            kid: signing_kid.to_owned(),
            iat: now,
            exp: (now + self.refresh_ttl).min(ends_at),
        };
        (slot, ends_at)
    }
}

/// To whom a sign-in session is granted, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The registered client; `None` for the first-party simplejwt API.
    pub client_id: Option<String>,
    pub scope: Scope,
    /// Whether the client gets a refresh token (it is allowed the `refresh_token` grant).
    pub refresh_token: bool,
}

impl Grant {
    /// The simplejwt API's sign-in: everything about the user, and a refresh token.
    pub fn first_party() -> Grant {
        Grant {
            client_id: None,
            scope: Scope::from_stored(FIRST_PARTY_SCOPE),
            refresh_token: true,
        }
    }
}

/// The tokens of a sign-in or a refresh. `Debug` shows none of them.
#[derive(Clone)]
pub struct IssuedTokens {
    pub access: String,
    /// Absent when rotation is off and the client keeps its refresh token, or when the client
    /// gets none.
    pub refresh: Option<String>,
    /// For a registered client granted `openid`.
    pub id_token: Option<String>,
    /// The scope of the access token.
    pub scope: Scope,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |token: &Option<String>| token.as_ref().map(|_| "<redacted>");
        f.debug_struct("IssuedTokens")
            .field("access", &"<redacted>")
            .field("refresh", &redacted(&self.refresh))
            .field("id_token", &redacted(&self.id_token))
            .field("scope", &self.scope)
            .finish()
    }
}

/// What a sign-in or a refresh issues tokens for: the user, the family and its refresh token,
/// and the grant.
pub struct Renewal {
    pub user: User,
    /// The family: the refresh token's `sid`.
    pub family_id: String,
    /// The session of the access and ID tokens' `sid`: the browser session the family came
    /// from, or the family itself.
    pub session_id: String,
    pub slot: RefreshSlot,
    pub client_id: Option<String>,
    /// The family's scope, or the narrower one the refresh asked for.
    pub scope: Scope,
    /// When the user entered their password.
    pub auth_time: i64,
    /// The `nonce` of the authorization request, for the ID token of a code exchange.
    pub nonce: Option<String>,
}

/// How the database half of a refresh was decided.
pub enum Refreshed {
    /// The presented token was current and is now retired in favour of the renewal's slot.
    Rotated(Renewal),
    /// The token was retired within the grace (or rotation is off): the current one stands.
    Current(Renewal),
    /// A retired token came back after the grace: the family is now revoked.
    Revoked,
}

/// What introspection reports of an active token (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspected {
    /// An access token; otherwise a refresh token.
    pub access: bool,
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    /// The user's name; `None` for a client's own token.
    pub username: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub sid: Option<String>,
}

impl Introspected {
    fn of_access(claims: AccessClaims, username: Option<String>) -> Introspected {
        Introspected {
            access: true,
            sub: claims.sub,
            client_id: claims.client_id,
            scope: claims.scope,
            username,
            iss: claims.iss,
            aud: claims.aud,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            sid: claims.sid,
        }
    }
}

/// Whose refresh token is presented, and for what.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshRequest<'a> {
    /// The authenticated client; `None` on the simplejwt API. A family refreshes only for
    /// the client it was granted to (RFC 6749 §6).
    pub client_id: Option<&'a str>,
    /// A narrower scope than the family's (RFC 6749 §6); `None` keeps the family's.
    pub scope: Option<&'a Scope>,
}

/// Starts, refreshes, revokes and checks sign-in sessions.
#[derive(Clone)]
pub struct Sessions {
    db: Db,
    keys: Arc<KeyRing>,
    policy: Arc<SessionPolicy>,
    revocations: Arc<Revocations>,
    clock: Clock,
}

impl Sessions {
    pub fn new(
        db: Db,
        keys: Arc<KeyRing>,
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

    /// What every token must say (for checks outside this service, such as a logout's hint).
    pub fn rules(&self) -> &TokenRules {
        &self.policy.tokens
    }

    /// Starts a sign-in session of the simplejwt API for `user` (already authenticated).
    pub async fn start(&self, user: &User) -> Result<IssuedTokens, Error> {
        self.start_with(user, &Grant::first_party()).await
    }

    /// Starts a sign-in session for `user` (already authenticated) granted as `grant` says: a
    /// new family, its first tokens, and the user's `last_login`.
    pub async fn start_with(&self, user: &User, grant: &Grant) -> Result<IssuedTokens, Error> {
        let now = self.clock.now();
        let (slot, ends_at) = self
            .policy
            .first_slot(&self.keys.current().signing_key().kid.0, now);
        let sid = new_id();
        let (family_id, user_id, first) = (sid.clone(), user.id.clone(), slot.clone());
        let (client_id, scope) = (grant.client_id.clone(), grant.scope.to_string());
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
                            client_id: client_id.as_deref(),
                            scope: &scope,
                            browser_session_id: None,
                            auth_time: None,
                        },
                    )?;
                    User::record_login(conn, &user_id, now)?;
                    Ok::<_, diesel::result::Error>(())
                })?;
                Ok(())
            })
            .await?;
        tracing::info!(
            user.id = %user.id,
            session.id = %sid,
            client.id = grant.client_id.as_deref().unwrap_or("-"),
            "signed in"
        );
        let renewal = Renewal {
            user: user.clone(),
            family_id: sid.clone(),
            session_id: sid,
            slot,
            client_id: grant.client_id.clone(),
            scope: grant.scope.clone(),
            auth_time: now,
            nonce: None,
        };
        self.tokens_for(&renewal, grant.refresh_token, now)
    }

    /// Exchanges an authorization code (RFC 6749 §4.1.3) presented by `client_id`: single use,
    /// unexpired, the same redirect URI, the PKCE verifier of its challenge, its browser
    /// session still live. A code presented again revokes the session its first exchange
    /// started. Any failed check with the right client spends the code.
    pub async fn redeem_code(
        &self,
        code: &str,
        exchange: CodeExchange<'_>,
        refresh_token: bool,
    ) -> Result<IssuedTokens, Error> {
        let policy = self.policy.clone();
        let signing_kid = self.keys.current().signing_key().kid.0.clone();
        let now = self.clock.now();
        let code_hash = crate::secrets::sha256_hex(code);
        let client_id = exchange.client_id.to_owned();
        let redirect_uri = exchange.redirect_uri.map(str::to_owned);
        let verifier = exchange.code_verifier.map(str::to_owned);
        let outcome = self
            .db
            .write(move |conn| {
                conn.transaction(|conn| {
                    redeem(
                        conn,
                        &policy,
                        &signing_kid,
                        &code_hash,
                        CodeExchange {
                            client_id: &client_id,
                            redirect_uri: redirect_uri.as_deref(),
                            code_verifier: verifier.as_deref(),
                        },
                        now,
                    )
                })
            })
            .await?;
        match outcome {
            Redeemed::Issued(renewal) => {
                tracing::info!(
                    user.id = %renewal.user.id,
                    session.id = %renewal.session_id,
                    client.id = %exchange.client_id,
                    "authorization code exchanged"
                );
                self.tokens_for(&renewal, refresh_token, now)
            }
            Redeemed::Replayed { revoked } => {
                if revoked {
                    self.revocations.sync().await?;
                }
                tracing::warn!(
                    client.id = %exchange.client_id,
                    "authorization code presented again; what it issued is revoked"
                );
                Err(Error::TokenInvalid)
            }
            Redeemed::Refused => Err(Error::TokenInvalid),
        }
    }

    /// The tokens of a renewal at `now`: an access token, the refresh token of the renewal's
    /// slot when `with_refresh`, an ID token for a client granted `openid`.
    fn tokens_for(
        &self,
        renewal: &Renewal,
        with_refresh: bool,
        now: i64,
    ) -> Result<IssuedTokens, Error> {
        let sid = renewal.session_id.as_str();
        let rules = &self.policy.tokens;
        let keys = self.keys.current();
        let signer = keys.signing_key();
        let scope = renewal.scope.to_string();
        let grantee = match &renewal.client_id {
            Some(client_id) => Grantee {
                client_id,
                scope: &scope,
            },
            None => Grantee::FIRST_PARTY,
        };
        let user = &renewal.user;
        let access = issue_access_token(
            signer,
            &access_claims(rules, &subject(user), sid, grantee, now),
        )?;
        let refresh = if with_refresh {
            // The slot names the key its token was signed with; a key no longer loaded cannot
            // rebuild it, and the client must sign in again.
            let slot_key = keys.find(&renewal.slot.kid).ok_or(Error::TokenInvalid)?;
            Some(issue_refresh_token(
                slot_key,
                rules,
                &user.id,
                &renewal.family_id,
                &renewal.slot,
            )?)
        } else {
            None
        };
        let id_token = if renewal.client_id.is_some() && renewal.scope.contains("openid") {
            let identity = Identity {
                user_id: &user.id,
                username: &user.username,
                email: user.email.as_deref(),
            };
            let authentication = Authentication {
                sid,
                auth_time: renewal.auth_time,
                nonce: renewal.nonce.as_deref(),
            };
            let claims = id_token_claims(rules, &identity, &authentication, grantee, &access, now);
            Some(issue_id_token(signer, &claims)?)
        } else {
            None
        };
        Ok(IssuedTokens {
            access,
            refresh,
            id_token,
            scope: renewal.scope.clone(),
            expires_in: rules.access_ttl,
        })
    }

    /// A client's own access token (client credentials): no user, no session, no refresh.
    pub fn issue_for_client(&self, client_id: &str, scope: &Scope) -> Result<IssuedTokens, Error> {
        let rules = &self.policy.tokens;
        let scope_text = scope.to_string();
        let grantee = Grantee {
            client_id,
            scope: &scope_text,
        };
        let claims = client_access_claims(rules, grantee, self.clock.now());
        Ok(IssuedTokens {
            access: issue_access_token(self.keys.current().signing_key(), &claims)?,
            refresh: None,
            id_token: None,
            scope: scope.clone(),
            expires_in: rules.access_ttl,
        })
    }

    /// Exchanges a refresh token of the simplejwt API for new tokens.
    pub async fn refresh(&self, token: &str) -> Result<IssuedTokens, Error> {
        self.refresh_for(token, RefreshRequest::default()).await
    }

    /// Exchanges a refresh token for a new access token and, with rotation on, the family's
    /// next refresh token. Of concurrent refreshes of one token, exactly one rotates; the
    /// others get the token it rotated to.
    pub async fn refresh_for(
        &self,
        token: &str,
        request: RefreshRequest<'_>,
    ) -> Result<IssuedTokens, Error> {
        let claims = verify_refresh(
            &self.keys.current(),
            &self.policy.tokens,
            token,
            self.clock.now(),
        )?;
        let (policy, clock) = (self.policy.clone(), self.clock.clone());
        let signing_kid = self.keys.current().signing_key().kid.0.clone();
        let client_id = request.client_id.map(str::to_owned);
        let scope = request.scope.cloned();
        let outcome = self
            .db
            .write(move |conn| {
                let request = RefreshRequest {
                    client_id: client_id.as_deref(),
                    scope: scope.as_ref(),
                };
                rotate_family(conn, &policy, &claims, &signing_kid, request, clock.now())
            })
            .await?;
        let (renewal, rotated) = match outcome {
            Refreshed::Rotated(renewal) => (renewal, true),
            Refreshed::Current(renewal) => (renewal, false),
            Refreshed::Revoked => {
                self.revocations.sync().await?;
                return Err(Error::TokenInvalid);
            }
        };
        let tokens = self.tokens_for(&renewal, self.policy.rotate, self.clock.now())?;
        if rotated {
            tracing::debug!(
                user.id = %renewal.user.id,
                session.id = %renewal.family_id,
                "refresh token rotated"
            );
        }
        Ok(tokens)
    }

    /// Blacklists a refresh token: its family (the whole sign-in session) can no longer
    /// refresh, and the access tokens it issued fail `verify`.
    pub async fn blacklist(&self, token: &str) -> Result<(), Error> {
        let claims = verify_refresh(
            &self.keys.current(),
            &self.policy.tokens,
            token,
            self.clock.now(),
        )?;
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
        match verify(
            &self.keys.current(),
            &self.policy.tokens,
            token,
            self.clock.now(),
        )? {
            Verified::Access { sid } => {
                if sid.is_some_and(|sid| self.revocations.is_revoked(&sid)) {
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

    /// RFC 7009: ends the session `token` (access or refresh) belongs to, when it was granted
    /// to `client_id`. Returns whether a session was revoked; a token that is invalid, expired,
    /// already revoked, of no session, or another client's changes nothing and is no error.
    pub async fn revoke_for_client(&self, token: &str, client_id: &str) -> Result<bool, Error> {
        let sid = match verify(
            &self.keys.current(),
            &self.policy.tokens,
            token,
            self.clock.now(),
        ) {
            Ok(Verified::Access { sid: Some(sid) }) | Ok(Verified::Refresh { sid, .. }) => sid,
            Ok(Verified::Access { sid: None }) | Err(Error::TokenInvalid) => return Ok(false),
            Err(other) => return Err(other),
        };
        let (client_id, now) = (client_id.to_owned(), self.clock.now());
        let family_id = sid.clone();
        let revoked = self
            .db
            .write(move |conn| {
                let family = RefreshFamily::find(conn, &family_id)?;
                if family.is_some_and(|family| family.client_id.as_deref() == Some(&client_id)) {
                    Ok(RefreshFamily::revoke(conn, &family_id, now)?)
                } else {
                    Ok(false)
                }
            })
            .await?;
        if revoked {
            self.revocations.sync().await?;
            tracing::info!(session.id = %sid, "session revoked by its client");
        }
        Ok(revoked)
    }

    /// RFC 7662: what a live token says, or `None` when it is not active (invalid, expired,
    /// revoked, a retired refresh token, a disabled user).
    pub async fn introspect(&self, token: &str) -> Result<Option<Introspected>, Error> {
        let (rules, now) = (&self.policy.tokens, self.clock.now());
        if let Ok(claims) = verify_access(&self.keys.current(), rules, token, now) {
            let Some(sid) = claims.sid.clone() else {
                // A client's own token: nothing server-side can end it but its expiry.
                return Ok(Some(Introspected::of_access(claims, None)));
            };
            let user = self
                .db
                .run(move |conn| Ok(live_session_user(conn, &sid)?))
                .await?;
            return Ok(user.map(|user| Introspected::of_access(claims, Some(user.username))));
        }
        let Ok(claims) = verify_refresh(&self.keys.current(), rules, token, now) else {
            return Ok(None);
        };
        let sid = claims.sid.clone();
        let found = self
            .db
            .run(move |conn| Ok(RefreshFamily::find_with_user(conn, &sid)?))
            .await?;
        Ok(match found {
            Some((family, user))
                if family.revoked_at.is_none()
                    && family.current_jti == claims.jti
                    && user.is_active =>
            {
                Some(Introspected {
                    access: false,
                    sub: claims.sub,
                    client_id: family
                        .client_id
                        .unwrap_or_else(|| crate::tokens::issue::FIRST_PARTY_CLIENT.to_owned()),
                    scope: family.scope,
                    username: Some(user.username),
                    iss: claims.iss,
                    aud: claims.aud,
                    exp: claims.exp,
                    iat: claims.iat,
                    jti: claims.jti,
                    sid: Some(claims.sid),
                })
            }
            _ => None,
        })
    }

    /// Checks a Bearer access token for idgate's own endpoints: signature and times, a live
    /// session, an active user (all read from the database, not the in-memory revocations).
    pub async fn authenticate(&self, access_token: &str) -> Result<(AccessClaims, User), Error> {
        let claims = verify_access(
            &self.keys.current(),
            &self.policy.tokens,
            access_token,
            self.clock.now(),
        )?;
        // A client's own token speaks for no user.
        let sid = claims.sid.clone().ok_or(Error::TokenInvalid)?;
        let user = self
            .db
            .run(move |conn| Ok(live_session_user(conn, &sid)?))
            .await?;
        match user {
            Some(user) if user.id == claims.sub => Ok((claims, user)),
            _ => Err(Error::TokenInvalid),
        }
    }
}

/// The active user of session `sid` (a refresh family or a browser session) if it is live.
fn live_session_user(conn: &mut AnyConnection, sid: &str) -> diesel::QueryResult<Option<User>> {
    if let Some((family, user)) = RefreshFamily::find_with_user(conn, sid)? {
        return Ok((family.revoked_at.is_none() && user.is_active).then_some(user));
    }
    Ok(
        BrowserSession::find_with_user(conn, sid)?.and_then(|(session, user)| {
            (session.revoked_at.is_none() && user.is_active).then_some(user)
        }),
    )
}

/// What a client presents with an authorization code.
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

enum Redeemed {
    Issued(Box<Renewal>),
    /// The code was used before; `revoked` when that revoked a live family.
    Replayed {
        revoked: bool,
    },
    Refused,
}

/// The database half of a code exchange, in one transaction.
fn redeem(
    conn: &mut AnyConnection,
    policy: &SessionPolicy,
    signing_kid: &str,
    code_hash: &str,
    exchange: CodeExchange<'_>,
    now: i64,
) -> Result<Redeemed, Error> {
    let Some(code) = AuthorizationCode::find(conn, code_hash)? else {
        return Ok(Redeemed::Refused);
    };
    if code.client_id != exchange.client_id {
        // Another client's code: not this client's to spend.
        return Ok(Redeemed::Refused);
    }
    if code.used_at.is_some() {
        let revoked = match &code.family_id {
            Some(family_id) => RefreshFamily::revoke(conn, family_id, now)?,
            None => false,
        };
        return Ok(Redeemed::Replayed { revoked });
    }
    let redirect_matches = match exchange.redirect_uri {
        Some(uri) => uri == code.redirect_uri,
        None => !code.redirect_uri_given,
    };
    let verifier_matches = match (&code.code_challenge, exchange.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            is_code_verifier(verifier) && crate::secrets::pkce_s256_matches(verifier, challenge)
        }
        (None, None) => true,
        _ => false,
    };
    let session = BrowserSession::find_with_user(conn, &code.browser_session_id)?;
    let live = session
        .as_ref()
        .is_some_and(|(session, user)| session.revoked_at.is_none() && user.is_active);
    let family_id = new_id();
    // Spent whatever follows: a code gets one try.
    AuthorizationCode::mark_used(conn, code_hash, &family_id, now)?;
    let (Some((session, user)), true, true, true, true) = (
        session,
        live,
        redirect_matches,
        verifier_matches,
        code.expires_at > now,
    ) else {
        return Ok(Redeemed::Refused);
    };
    let (slot, ends_at) = policy.first_slot(signing_kid, now);
    RefreshFamily::insert(
        conn,
        &NewRefreshFamily {
            id: &family_id,
            user_id: &user.id,
            current_jti: &slot.jti,
            current_kid: &slot.kid,
            current_iat: slot.iat,
            current_exp: slot.exp,
            created_at: now,
            ends_at,
            client_id: Some(&code.client_id),
            scope: &code.scope,
            browser_session_id: Some(&session.id),
            auth_time: Some(session.auth_time),
        },
    )?;
    Ok(Redeemed::Issued(Box::new(Renewal {
        user,
        family_id,
        session_id: session.id,
        slot,
        client_id: Some(code.client_id),
        scope: Scope::from_stored(&code.scope),
        auth_time: session.auth_time,
        nonce: code.nonce,
    })))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
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
    request: RefreshRequest<'_>,
    now: i64,
) -> Result<Refreshed, Error> {
    // Two reads at most: a lost race re-reads the winner's row once.
    for _ in 0..2 {
        let Some((family, user)) = RefreshFamily::find_with_user(conn, &claims.sid)? else {
            return Err(Error::TokenInvalid);
        };
        if family.revoked_at.is_some()
            || !user.is_active
            || family.user_id != claims.sub
            || family.client_id.as_deref() != request.client_id
        {
            return Err(Error::TokenInvalid);
        }
        let granted = Scope::from_stored(&family.scope);
        let scope = match request.scope {
            None => granted,
            Some(asked) => match asked.first_outside(&granted) {
                None => asked.clone(),
                Some(extra) => {
                    return Err(Error::InvalidScope(format!(
                        "scope {extra:?} was not granted to this session"
                    )));
                }
            },
        };
        let renewal = |user: User, slot: RefreshSlot| Renewal {
            user,
            family_id: family.id.clone(),
            session_id: family
                .browser_session_id
                .clone()
                .unwrap_or_else(|| family.id.clone()),
            slot,
            client_id: family.client_id.clone(),
            scope: scope.clone(),
            auth_time: family.auth_time.unwrap_or(family.created_at),
            nonce: None,
        };
        if family.current_jti == claims.jti {
            if !policy.rotate {
                let slot = slot_of(&family);
                return Ok(Refreshed::Current(renewal(user, slot)));
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
                return Ok(Refreshed::Rotated(renewal(user, next)));
            }
            continue;
        }
        let within_grace = family.previous_jti.as_deref() == Some(claims.jti.as_str())
            && family
                .rotated_at
                .is_some_and(|rotated| now - rotated <= policy.reuse_grace);
        if within_grace {
            let slot = slot_of(&family);
            return Ok(Refreshed::Current(renewal(user, slot)));
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

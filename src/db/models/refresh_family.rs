use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::models::User;
use crate::db::schema::{refresh_families, users};

/// A row of `refresh_families`: one sign-in session and the refresh token it honours now.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = refresh_families)]
pub struct RefreshFamily {
    pub id: String,
    pub user_id: String,
    pub current_jti: String,
    pub current_kid: String,
    pub current_iat: i64,
    pub current_exp: i64,
    pub previous_jti: Option<String>,
    pub rotated_at: Option<i64>,
    pub created_at: i64,
    pub ends_at: i64,
    pub revoked_at: Option<i64>,
    /// The client the session was granted to; `None` for the first-party simplejwt API.
    pub client_id: Option<String>,
    /// The scope granted, space-separated.
    pub scope: String,
    /// The browser session it came from (the code flow); its id is the tokens' `sid`.
    pub browser_session_id: Option<String>,
    /// When the user entered their password; `None` means at `created_at`.
    pub auth_time: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_families)]
pub struct NewRefreshFamily<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub current_jti: &'a str,
    pub current_kid: &'a str,
    pub current_iat: i64,
    pub current_exp: i64,
    pub created_at: i64,
    pub ends_at: i64,
    pub client_id: Option<&'a str>,
    pub scope: &'a str,
    pub browser_session_id: Option<&'a str>,
    pub auth_time: Option<i64>,
}

/// The refresh token a family honours after a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRefreshToken<'a> {
    pub jti: &'a str,
    pub kid: &'a str,
    pub iat: i64,
    pub exp: i64,
}

impl RefreshFamily {
    pub fn insert(conn: &mut AnyConnection, family: &NewRefreshFamily<'_>) -> QueryResult<usize> {
        diesel::insert_into(refresh_families::table)
            .values(family)
            .execute(conn)
    }

    pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<RefreshFamily>> {
        refresh_families::table
            .find(id)
            .select(RefreshFamily::as_select())
            .get_result(conn)
            .optional()
    }

    /// The family and its user in one round trip.
    pub fn find_with_user(
        conn: &mut AnyConnection,
        id: &str,
    ) -> QueryResult<Option<(RefreshFamily, User)>> {
        refresh_families::table
            .inner_join(users::table)
            .filter(refresh_families::id.eq(id))
            .select((RefreshFamily::as_select(), User::as_select()))
            .get_result(conn)
            .optional()
    }

    /// Retires `old_jti` in favour of `next`, only if `old_jti` is still current and the family
    /// is live: the row count decides which of several concurrent refreshes won.
    pub fn rotate(
        conn: &mut AnyConnection,
        id: &str,
        old_jti: &str,
        next: &NextRefreshToken<'_>,
        now: i64,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            refresh_families::table
                .find(id)
                .filter(refresh_families::current_jti.eq(old_jti))
                .filter(refresh_families::revoked_at.is_null()),
        )
        .set((
            refresh_families::previous_jti.eq(old_jti),
            refresh_families::rotated_at.eq(now),
            refresh_families::current_jti.eq(next.jti),
            refresh_families::current_kid.eq(next.kid),
            refresh_families::current_iat.eq(next.iat),
            refresh_families::current_exp.eq(next.exp),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Revokes the family; false when it was already revoked or is gone.
    pub fn revoke(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<bool> {
        let updated = diesel::update(
            refresh_families::table
                .find(id)
                .filter(refresh_families::revoked_at.is_null()),
        )
        .set(refresh_families::revoked_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Families revoked at or after `since`, with the moment of their revocation.
    pub fn revoked_since(conn: &mut AnyConnection, since: i64) -> QueryResult<Vec<(String, i64)>> {
        let rows: Vec<(String, Option<i64>)> = refresh_families::table
            .filter(refresh_families::revoked_at.ge(since))
            .select((refresh_families::id, refresh_families::revoked_at))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, revoked_at)| Some((id, revoked_at?)))
            .collect())
    }

    /// Revokes every live family of a user; returns how many.
    pub fn revoke_all_of_user(
        conn: &mut AnyConnection,
        user_id: &str,
        now: i64,
    ) -> QueryResult<usize> {
        diesel::update(
            refresh_families::table
                .filter(refresh_families::user_id.eq(user_id))
                .filter(refresh_families::revoked_at.is_null()),
        )
        .set(refresh_families::revoked_at.eq(now))
        .execute(conn)
    }

    /// Revokes every live family that came from a browser session; returns how many.
    pub fn revoke_all_of_browser_session(
        conn: &mut AnyConnection,
        browser_session_id: &str,
        now: i64,
    ) -> QueryResult<usize> {
        diesel::update(
            refresh_families::table
                .filter(refresh_families::browser_session_id.eq(browser_session_id))
                .filter(refresh_families::revoked_at.is_null()),
        )
        .set(refresh_families::revoked_at.eq(now))
        .execute(conn)
    }

    /// Revokes every live family granted to a client; returns how many.
    pub fn revoke_all_of_client(
        conn: &mut AnyConnection,
        client_id: &str,
        now: i64,
    ) -> QueryResult<usize> {
        diesel::update(
            refresh_families::table
                .filter(refresh_families::client_id.eq(client_id))
                .filter(refresh_families::revoked_at.is_null()),
        )
        .set(refresh_families::revoked_at.eq(now))
        .execute(conn)
    }

    /// Deletes up to `batch` families that no token can use any more: revoked, or past the
    /// expiry of their refresh token, for longer than `linger` seconds (the life of the
    /// access tokens they issued, which `verify` checks against the family).
    pub fn delete_dead(
        conn: &mut AnyConnection,
        now: i64,
        linger: i64,
        batch: i64,
    ) -> QueryResult<usize> {
        let cutoff = now.saturating_sub(linger);
        let dead: Vec<String> = refresh_families::table
            .filter(
                refresh_families::current_exp
                    .lt(cutoff)
                    .or(refresh_families::revoked_at.lt(cutoff)),
            )
            .select(refresh_families::id)
            .limit(batch)
            .load(conn)?;
        if dead.is_empty() {
            return Ok(0);
        }
        diesel::delete(refresh_families::table.filter(refresh_families::id.eq_any(&dead)))
            .execute(conn)
    }
}

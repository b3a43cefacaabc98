use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::models::User;
use crate::db::schema::{browser_sessions, users};

/// A row of `browser_sessions`: one browser's single-sign-on session.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = browser_sessions)]
pub struct BrowserSession {
    pub id: String,
    pub cookie_sha256: String,
    pub user_id: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl BrowserSession {
    pub fn insert(conn: &mut AnyConnection, session: &BrowserSession) -> QueryResult<usize> {
        diesel::insert_into(browser_sessions::table)
            .values(session)
            .execute(conn)
    }

    /// The session whose cookie hashes to `cookie_sha256`, with its user.
    pub fn find_by_cookie(
        conn: &mut AnyConnection,
        cookie_sha256: &str,
    ) -> QueryResult<Option<(BrowserSession, User)>> {
        browser_sessions::table
            .inner_join(users::table)
            .filter(browser_sessions::cookie_sha256.eq(cookie_sha256))
            .select((BrowserSession::as_select(), User::as_select()))
            .get_result(conn)
            .optional()
    }

    /// The session `id`, with its user.
    pub fn find_with_user(
        conn: &mut AnyConnection,
        id: &str,
    ) -> QueryResult<Option<(BrowserSession, User)>> {
        browser_sessions::table
            .inner_join(users::table)
            .filter(browser_sessions::id.eq(id))
            .select((BrowserSession::as_select(), User::as_select()))
            .get_result(conn)
            .optional()
    }

    /// Revokes the session; false when it was already revoked or is gone.
    pub fn revoke(conn: &mut AnyConnection, id: &str, now: i64) -> QueryResult<bool> {
        let updated = diesel::update(
            browser_sessions::table
                .find(id)
                .filter(browser_sessions::revoked_at.is_null()),
        )
        .set(browser_sessions::revoked_at.eq(now))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Revokes every live session of a user; returns how many.
    pub fn revoke_all_of_user(
        conn: &mut AnyConnection,
        user_id: &str,
        now: i64,
    ) -> QueryResult<usize> {
        diesel::update(
            browser_sessions::table
                .filter(browser_sessions::user_id.eq(user_id))
                .filter(browser_sessions::revoked_at.is_null()),
        )
        .set(browser_sessions::revoked_at.eq(now))
        .execute(conn)
    }

    /// Sessions revoked at or after `since`, with the moment of their revocation.
    pub fn revoked_since(conn: &mut AnyConnection, since: i64) -> QueryResult<Vec<(String, i64)>> {
        let rows: Vec<(String, Option<i64>)> = browser_sessions::table
            .filter(browser_sessions::revoked_at.ge(since))
            .select((browser_sessions::id, browser_sessions::revoked_at))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, revoked_at)| Some((id, revoked_at?)))
            .collect())
    }

    /// Deletes up to `batch` sessions that ended (expired or revoked) more than `linger`
    /// seconds ago: no token of theirs can be alive any more.
    pub fn delete_dead(
        conn: &mut AnyConnection,
        now: i64,
        linger: i64,
        batch: i64,
    ) -> QueryResult<usize> {
        let cutoff = now.saturating_sub(linger);
        let dead: Vec<String> = browser_sessions::table
            .filter(
                browser_sessions::expires_at
                    .lt(cutoff)
                    .or(browser_sessions::revoked_at.lt(cutoff)),
            )
            .select(browser_sessions::id)
            .limit(batch)
            .load(conn)?;
        if dead.is_empty() {
            return Ok(0);
        }
        diesel::delete(browser_sessions::table.filter(browser_sessions::id.eq_any(&dead)))
            .execute(conn)
    }
}

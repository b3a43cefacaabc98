use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::authorization_codes;

/// A row of `authorization_codes`. No `Debug` needed: it holds only the code's hash, but the
/// nonce and challenge are nobody's business in a log either.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCode {
    pub code_sha256: String,
    pub client_id: String,
    pub browser_session_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub family_id: Option<String>,
}

impl AuthorizationCode {
    pub fn insert(conn: &mut AnyConnection, code: &AuthorizationCode) -> QueryResult<usize> {
        diesel::insert_into(authorization_codes::table)
            .values(code)
            .execute(conn)
    }

    pub fn find(conn: &mut AnyConnection, code_sha256: &str) -> QueryResult<Option<Self>> {
        authorization_codes::table
            .find(code_sha256)
            .select(AuthorizationCode::as_select())
            .get_result(conn)
            .optional()
    }

    /// Marks the code used by the exchange that started `family_id`; false when another
    /// exchange used it first.
    pub fn mark_used(
        conn: &mut AnyConnection,
        code_sha256: &str,
        family_id: &str,
        now: i64,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            authorization_codes::table
                .find(code_sha256)
                .filter(authorization_codes::used_at.is_null()),
        )
        .set((
            authorization_codes::used_at.eq(now),
            authorization_codes::family_id.eq(family_id),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Deletes up to `batch` codes that expired more than `linger` seconds ago (kept that
    /// long so that a replay is still recognised and revokes what the code issued).
    pub fn delete_expired(
        conn: &mut AnyConnection,
        now: i64,
        linger: i64,
        batch: i64,
    ) -> QueryResult<usize> {
        let cutoff = now.saturating_sub(linger);
        let dead: Vec<String> = authorization_codes::table
            .filter(authorization_codes::expires_at.lt(cutoff))
            .select(authorization_codes::code_sha256)
            .limit(batch)
            .load(conn)?;
        if dead.is_empty() {
            return Ok(0);
        }
        diesel::delete(
            authorization_codes::table.filter(authorization_codes::code_sha256.eq_any(&dead)),
        )
        .execute(conn)
    }
}

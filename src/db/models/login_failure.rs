use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::login_failures;

/// A failed sign-in, as the throttle counts it.
#[derive(Insertable)]
#[diesel(table_name = login_failures)]
pub struct NewLoginFailure<'a> {
    pub id: &'a str,
    pub username_key: &'a str,
    pub client_key: &'a str,
    pub failed_at: i64,
}

/// The fields of a counted failure the throttle needs.
#[derive(Queryable, Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    pub username_key: String,
    pub client_key: String,
    pub failed_at: i64,
    /// Forgotten for the username-and-address counter by a later success.
    pub pair_cleared: bool,
}

impl LoginFailure {
    pub fn insert(conn: &mut AnyConnection, failure: &NewLoginFailure<'_>) -> QueryResult<usize> {
        diesel::insert_into(login_failures::table)
            .values(failure)
            .execute(conn)
    }

    /// Failures at or after `since` for this username from anywhere, or from this client for
    /// any username: the rows of all three counters in one indexed read.
    pub fn recent(
        conn: &mut AnyConnection,
        username_key: &str,
        client_key: &str,
        since: i64,
    ) -> QueryResult<Vec<LoginFailure>> {
        login_failures::table
            .filter(login_failures::failed_at.ge(since))
            .filter(
                login_failures::username_key
                    .eq(username_key)
                    .or(login_failures::client_key.eq(client_key)),
            )
            .select((
                login_failures::username_key,
                login_failures::client_key,
                login_failures::failed_at,
                login_failures::pair_cleared,
            ))
            .load(conn)
    }

    /// Stops counting the failures of this username from this client for that pair (a
    /// successful sign-in); they still count for the username and for the client.
    pub fn clear_pair(
        conn: &mut AnyConnection,
        username_key: &str,
        client_key: &str,
    ) -> QueryResult<usize> {
        diesel::update(
            login_failures::table
                .filter(login_failures::username_key.eq(username_key))
                .filter(login_failures::client_key.eq(client_key))
                .filter(login_failures::pair_cleared.eq(false)),
        )
        .set(login_failures::pair_cleared.eq(true))
        .execute(conn)
    }

    /// Deletes up to `batch` failures from before `cutoff`; returns how many.
    pub fn delete_before(conn: &mut AnyConnection, cutoff: i64, batch: i64) -> QueryResult<usize> {
        let old: Vec<String> = login_failures::table
            .filter(login_failures::failed_at.lt(cutoff))
            .select(login_failures::id)
            .limit(batch)
            .load(conn)?;
        if old.is_empty() {
            return Ok(0);
        }
        diesel::delete(login_failures::table.filter(login_failures::id.eq_any(&old))).execute(conn)
    }
}

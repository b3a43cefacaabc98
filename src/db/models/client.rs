use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::oauth_clients;

/// A row of `oauth_clients`. No `Debug`: it carries the secret's hash.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = oauth_clients)]
pub struct ClientRow {
    pub id: String,
    pub secret_sha256: Option<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub created_at: i64,
}

impl ClientRow {
    pub fn insert(conn: &mut AnyConnection, client: &ClientRow) -> QueryResult<usize> {
        diesel::insert_into(oauth_clients::table)
            .values(client)
            .execute(conn)
    }

    pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ClientRow>> {
        oauth_clients::table
            .find(id)
            .select(ClientRow::as_select())
            .get_result(conn)
            .optional()
    }

    pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<ClientRow>> {
        oauth_clients::table
            .order(oauth_clients::id)
            .select(ClientRow::as_select())
            .load(conn)
    }

    /// Deletes the client; false when there was none.
    pub fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<bool> {
        let deleted = diesel::delete(oauth_clients::table.find(id)).execute(conn)?;
        Ok(deleted == 1)
    }
}

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::schema::users;

/// A row of `users`. No `Debug`: it carries the password hash.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub is_active: bool,
    pub roles: String,
    pub created_at: i64,
    pub last_login: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: &'a str,
    pub is_active: bool,
    pub roles: &'a str,
    pub created_at: i64,
}

/// The form of a username that uniqueness and sign-in compare: case does not matter.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

impl User {
    /// Role names, in the order they were granted.
    pub fn role_list(&self) -> Vec<String> {
        self.roles.split_whitespace().map(str::to_owned).collect()
    }

    pub fn insert(conn: &mut AnyConnection, user: &NewUser<'_>) -> QueryResult<usize> {
        diesel::insert_into(users::table).values(user).execute(conn)
    }

    pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .get_result(conn)
            .optional()
    }

    pub fn find_by_username(conn: &mut AnyConnection, username: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::username_key.eq(username_key(username)))
            .select(User::as_select())
            .get_result(conn)
            .optional()
    }

    pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<User>> {
        users::table
            .order(users::username_key)
            .select(User::as_select())
            .load(conn)
    }

    pub fn set_password_hash(conn: &mut AnyConnection, id: &str, hash: &str) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(hash))
            .execute(conn)
    }

    pub fn set_active(conn: &mut AnyConnection, id: &str, active: bool) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::is_active.eq(active))
            .execute(conn)
    }

    pub fn record_login(conn: &mut AnyConnection, id: &str, at: i64) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::last_login.eq(at))
            .execute(conn)
    }
}

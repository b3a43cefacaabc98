use diesel::prelude::*;
use unicode_normalization::UnicodeNormalization;

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

/// A username as it is stored: Unicode NFKC, as Django's `normalize_username` does, so that
/// compatibility spellings (`ｍallory`, fullwidth) and the NFC and NFD spellings of one name
/// are one name.
pub fn normalize_username(username: &str) -> String {
    username.nfkc().collect()
}

/// The form of a username that uniqueness and sign-in compare: NFKC, then case folded (and NFKC
/// again, since lower-casing can leave a sequence that is not normalised).
pub fn username_key(username: &str) -> String {
    // ASCII is its own NFKC form: most usernames skip the three passes.
    if username.is_ascii() {
        return username.to_ascii_lowercase();
    }
    let folded = normalize_username(username).to_lowercase();
    folded.nfkc().collect()
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

    /// Every user's id, username and lookup key, for re-keying them.
    pub fn all_keys(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String, String)>> {
        users::table
            .select((users::id, users::username, users::username_key))
            .load(conn)
    }

    /// Sets a user's lookup key; false when another user already has it.
    pub fn set_username_key(conn: &mut AnyConnection, id: &str, key: &str) -> QueryResult<bool> {
        let taken: i64 = users::table
            .filter(users::username_key.eq(key))
            .filter(users::id.ne(id))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Ok(false);
        }
        diesel::update(users::table.find(id))
            .set(users::username_key.eq(key))
            .execute(conn)?;
        Ok(true)
    }

    pub fn record_login(conn: &mut AnyConnection, id: &str, at: i64) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set(users::last_login.eq(at))
            .execute(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_spellings_share_one_key() {
        // Fullwidth letters are compatibility characters: NFKC maps them to ASCII.
        assert_eq!(username_key("ｍallory"), "mallory");
        assert_eq!(username_key("MALLORY"), "mallory");
        // NFD (e + combining diaeresis) and NFC (ë) of one name.
        assert_eq!(username_key("Zoe\u{308}"), username_key("Zo\u{eb}"));
        assert_eq!(normalize_username("Zoe\u{308}"), "Zo\u{eb}");
        assert_eq!(normalize_username("ｍallory"), "mallory");
        assert_ne!(username_key("alice"), username_key("alicé"));
    }
}

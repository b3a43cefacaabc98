//! Changes to stored data that SQL cannot make, asked for by a schema migration: it inserts a
//! row naming the work into `data_migrations`, and the work runs here, right after the schema
//! migrations, in one transaction with the deletion of that row. A crash in between leaves the
//! row, so the work runs again at the next start.

use anyhow::Context;
use diesel::prelude::*;

use super::AnyConnection;
use super::models::User;
use super::models::user::username_key;
use super::schema::data_migrations;

/// Runs every data migration still marked as pending.
pub fn run_pending(conn: &mut AnyConnection) -> anyhow::Result<()> {
    let pending: Vec<String> = data_migrations::table
        .select(data_migrations::name)
        .load(conn)
        .context("reading pending data migrations")?;
    for name in pending {
        conn.transaction::<_, anyhow::Error, _>(|conn| {
            match name.as_str() {
                "username_keys_nfkc" => rekey_usernames(conn)?,
                other => anyhow::bail!(
                    "unknown data migration {other:?}; is this idgate older than the database?"
                ),
            }
            diesel::delete(data_migrations::table.find(&name)).execute(conn)?;
            Ok(())
        })
        .with_context(|| format!("data migration {name}"))?;
        tracing::info!(migration = %name, "data migration applied");
    }
    Ok(())
}

/// Recomputes every username's lookup key (NFKC, then case folded). Keys that change can free
/// or take each other's old values, so it passes until nothing moves. Two existing accounts
/// that the new rule makes one name (`ｍallory` and `mallory`) both stay, the later one under
/// its old key, and are reported so that an operator can rename or disable one: nothing is
/// merged or lost.
fn rekey_usernames(conn: &mut AnyConnection) -> anyhow::Result<()> {
    loop {
        let mut moved = 0;
        let mut clashes = Vec::new();
        for (id, username, key) in User::all_keys(conn)? {
            let wanted = username_key(&username);
            if wanted == key {
                continue;
            }
            if User::set_username_key(conn, &id, &wanted)? {
                moved += 1;
            } else {
                clashes.push((id, username));
            }
        }
        if moved == 0 {
            for (id, username) in clashes {
                tracing::warn!(
                    user.id = %id,
                    user.username = %username,
                    "another account already has this username in NFKC form; both are kept, \
                     this one still signs in only under its old spelling: rename or disable one"
                );
            }
            return Ok(());
        }
    }
}

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::AnyConnection;
use crate::db::schema::key_rotations;

/// The claim on replacing one key (the key created at `due_key_created_at`): who took it, when,
/// and, once done, the key that replaced it.
#[derive(Queryable, Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    pub due_key_created_at: i64,
    pub claimed_by: String,
    pub claimed_at: i64,
    pub new_kid: Option<String>,
    pub completed_at: Option<i64>,
}

impl KeyRotation {
    /// Claims the replacement of the key created at `due_key_created_at` for `claimant`: true
    /// when this call took it. A new claim succeeds once across every replica (the primary
    /// key); one left undone since before `stale_before` (its replica died) is taken over.
    pub fn claim(
        conn: &mut AnyConnection,
        due_key_created_at: i64,
        claimant: &str,
        now: i64,
        stale_before: i64,
    ) -> QueryResult<bool> {
        let inserted = diesel::insert_into(key_rotations::table)
            .values((
                key_rotations::due_key_created_at.eq(due_key_created_at),
                key_rotations::claimed_by.eq(claimant),
                key_rotations::claimed_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => Ok(true),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                let taken_over = diesel::update(
                    key_rotations::table
                        .filter(key_rotations::due_key_created_at.eq(due_key_created_at))
                        .filter(key_rotations::completed_at.is_null())
                        .filter(key_rotations::claimed_at.lt(stale_before)),
                )
                .set((
                    key_rotations::claimed_by.eq(claimant),
                    key_rotations::claimed_at.eq(now),
                ))
                .execute(conn)?;
                Ok(taken_over == 1)
            }
            Err(error) => Err(error),
        }
    }

    /// Renews `claimant`'s undone claim; false when it was lost (taken over as stale).
    pub fn renew(
        conn: &mut AnyConnection,
        due_key_created_at: i64,
        claimant: &str,
        now: i64,
    ) -> QueryResult<bool> {
        diesel::update(
            key_rotations::table
                .filter(key_rotations::due_key_created_at.eq(due_key_created_at))
                .filter(key_rotations::claimed_by.eq(claimant))
                .filter(key_rotations::completed_at.is_null()),
        )
        .set(key_rotations::claimed_at.eq(now))
        .execute(conn)
        .map(|renewed| renewed == 1)
    }

    /// Records the claim as done, by the key `new_kid`.
    pub fn complete(
        conn: &mut AnyConnection,
        due_key_created_at: i64,
        claimant: &str,
        new_kid: &str,
        now: i64,
    ) -> QueryResult<usize> {
        diesel::update(
            key_rotations::table
                .filter(key_rotations::due_key_created_at.eq(due_key_created_at))
                .filter(key_rotations::claimed_by.eq(claimant)),
        )
        .set((
            key_rotations::new_kid.eq(new_kid),
            key_rotations::completed_at.eq(now),
        ))
        .execute(conn)
    }

    /// Every claim, oldest key first.
    pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<KeyRotation>> {
        key_rotations::table
            .order(key_rotations::due_key_created_at)
            .load(conn)
    }
}

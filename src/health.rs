//! Readiness: whether this replica can serve sign-ins and tokens.

use std::sync::Arc;

use serde::Serialize;

use crate::db::Db;
use crate::keys::KeyRing;

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub database: bool,
    pub keys: bool,
}

impl Readiness {
    pub fn is_ready(self) -> bool {
        self.database && self.keys
    }
}

/// Checks the database and the keys.
#[derive(Clone)]
pub struct Health {
    db: Db,
    keys: Arc<KeyRing>,
}

impl Health {
    pub fn new(db: Db, keys: Arc<KeyRing>) -> Health {
        Health { db, keys }
    }

    /// Ready when the database answers a query and a signing key is loaded.
    pub async fn check(&self) -> Readiness {
        Readiness {
            database: self.db.ping().await,
            keys: !self.keys.current().keys().is_empty(),
        }
    }
}

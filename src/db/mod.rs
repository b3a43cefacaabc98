//! One schema, two backends: SQLite (embedded default) and PostgreSQL, behind one pool.

pub mod models;
pub mod schema;
mod writer;

use std::os::unix::fs::DirBuilderExt;
use std::time::Duration;

use actix_web::web;
use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::ExposeSecret;

use crate::config::{DatabaseSettings, DatabaseUrl};
use crate::error::Error;

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a request waits for a free connection before it is told to come back later.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// The connection pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<AnyConnection>>,
    /// The SQLite file, whose disappearance open connections would not notice.
    sqlite_file: Option<std::path::PathBuf>,
    /// SQLite's group-committing writer (see `writer`); PostgreSQL writes on the pool.
    sqlite_writer: Option<writer::Writer>,
}

#[derive(Debug)]
struct SqliteSetup;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for SqliteSetup {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        prepare(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Per-connection settings. SQLite: WAL lets readers run beside the writer; synchronous = FULL
/// makes every commit durable (the WAL is synced) so an acknowledged rotation survives a power
/// cut; foreign keys are off by default in SQLite.
fn prepare(conn: &mut AnyConnection) -> diesel::QueryResult<()> {
    if let AnyConnection::Sqlite(conn) = conn {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )?;
    }
    Ok(())
}

/// Where to connect, checking the scheme; creates the SQLite file's folder when needed.
fn locate(settings: &DatabaseSettings) -> anyhow::Result<(DatabaseUrl, String)> {
    let url = DatabaseUrl::parse(settings.url.expose_secret())
        .map_err(|reason| anyhow::anyhow!("database.url: {reason}"))?;
    let connection_url = match &url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                // The database holds password hashes: a folder idgate creates is its own.
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            format!("sqlite://{}", path.display())
        }
        DatabaseUrl::Postgres(url) => url.clone(),
    };
    Ok((url, connection_url))
}

/// Applies pending migrations on one connection; returns how many ran.
pub fn migrate(conn: &mut AnyConnection) -> anyhow::Result<usize> {
    let applied = match conn {
        AnyConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE_MIGRATIONS),
        AnyConnection::Postgres(conn) => conn.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|error| anyhow::anyhow!("applying migrations: {error}"))?;
    for version in &applied {
        tracing::info!(migration = %version, "migration applied");
    }
    Ok(applied.len())
}

/// One connection without a pool, for the command line: a pool's background threads could
/// still be inside libpq when the process exits, which crashes libpq's Kerberos teardown.
pub fn establish(settings: &DatabaseSettings) -> anyhow::Result<AnyConnection> {
    use diesel::Connection;
    let (_, connection_url) = locate(settings)?;
    let mut conn = AnyConnection::establish(&connection_url)
        .context("connecting to the database (database.url)")?;
    prepare(&mut conn).context("preparing the database connection")?;
    Ok(conn)
}

impl Db {
    /// Opens the pool and applies pending migrations.
    pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<Db> {
        let db = Db::open(settings)?;
        db.migrate()?;
        Ok(db)
    }

    /// Opens the pool, creating the SQLite file and its folder when needed.
    pub fn open(settings: &DatabaseSettings) -> anyhow::Result<Db> {
        let (url, connection_url) = locate(settings)?;
        // Every connection is opened at start and kept: no request waits for a connect.
        let pool = Pool::builder()
            .max_size(settings.pool_size)
            .connection_timeout(POOL_WAIT)
            .connection_customizer(Box::new(SqliteSetup))
            .build(ConnectionManager::new(connection_url.clone()))
            .context("connecting to the database (database.url)")?;
        let (sqlite_file, sqlite_writer) = match url {
            DatabaseUrl::Sqlite(path) => {
                use diesel::Connection;
                let mut conn = AnyConnection::establish(&connection_url)
                    .context("connecting to the database (database.url)")?;
                prepare(&mut conn).context("preparing the database connection")?;
                (Some(path), Some(writer::Writer::start(conn)))
            }
            DatabaseUrl::Postgres(_) => (None, None),
        };
        Ok(Db {
            pool,
            sqlite_file,
            sqlite_writer,
        })
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        migrate(&mut *self.get()?)
    }

    /// A connection for synchronous callers (the command line, start-up).
    pub fn get(&self) -> anyhow::Result<PooledConnection<ConnectionManager<AnyConnection>>> {
        self.pool.get().context("getting a database connection")
    }

    /// Runs `f` with a connection on the blocking pool, inside the caller's span: diesel
    /// must never stall an async worker.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (pool, span) = (self.pool.clone(), tracing::Span::current());
        web::block(move || {
            span.in_scope(|| {
                let mut conn = pool
                    .get()
                    .map_err(|error| Error::Unavailable(format!("database pool: {error}")))?;
                f(&mut conn)
            })
        })
        .await
        .context("blocking pool")?
    }

    /// Like [`Db::run`], for work that writes; its result comes back once the writes are
    /// durably committed. On SQLite `f` runs in a savepoint of the writer's next batch; on
    /// PostgreSQL on a pool connection, in autocommit unless `f` opens a transaction (work
    /// that must be atomic opens one either way).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        match &self.sqlite_writer {
            Some(writer) => writer.write(f).await,
            None => self.run(f).await,
        }
    }

    /// True when the database answers a query on a real table (and, for SQLite, its file is
    /// still where new connections would open it).
    pub async fn ping(&self) -> bool {
        if self.sqlite_file.as_ref().is_some_and(|file| !file.exists()) {
            return false;
        }
        // Reads a page of a real table, so a damaged or missing database shows.
        self.run(|conn| {
            use diesel::prelude::*;
            let _: Option<String> = schema::users::table
                .select(schema::users::id)
                .first(conn)
                .optional()?;
            Ok(())
        })
        .await
        .is_ok()
    }
}

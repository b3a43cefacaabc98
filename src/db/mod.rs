//! One schema, two backends: SQLite (embedded default) and PostgreSQL, behind one handle.

mod data_migrations;
pub mod models;
pub mod schema;
mod writer;

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// The database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    access: Arc<Access>,
}

enum Access {
    /// The server: a pool, and on SQLite the group-committing writer (see `writer`).
    Pooled {
        pool: Pool<ConnectionManager<AnyConnection>>,
        /// The SQLite file, whose disappearance open connections would not notice.
        sqlite_file: Option<PathBuf>,
        sqlite_writer: Option<writer::Writer>,
    },
    /// The command line: one connection and no pool, whose background threads could still be
    /// inside libpq when the process exits (which crashes libpq's Kerberos teardown).
    Single(Mutex<AnyConnection>),
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

fn establish(connection_url: &str) -> anyhow::Result<AnyConnection> {
    use diesel::Connection;
    let mut conn = AnyConnection::establish(connection_url)
        .context("connecting to the database (database.url)")?;
    prepare(&mut conn).context("preparing the database connection")?;
    Ok(conn)
}

/// Applies pending migrations, then the data migrations they asked for; returns how many
/// schema migrations ran. Replicas that start at once on a new database take turns (a
/// PostgreSQL advisory lock, or a lock file beside the SQLite file `sqlite_file`): without it,
/// each would read the same list of pending migrations and all but one fail to apply them.
fn migrate(
    conn: &mut AnyConnection,
    sqlite_file: Option<&std::path::Path>,
) -> anyhow::Result<usize> {
    match sqlite_file {
        Some(file) => {
            let mut name = file.as_os_str().to_owned();
            name.push("-migrate.lock");
            let _turn = crate::lockfile::hold(std::path::Path::new(&name))
                .context("waiting for another process's migrations")?;
            migrate_now(conn)
        }
        None => {
            use diesel::RunQueryDsl;
            // Any constant shared by every idgate: "idgate" in ASCII.
            const MIGRATION_LOCK: i64 = 0x6964_6761_7465;
            let is_postgres = matches!(conn, AnyConnection::Postgres(_));
            if is_postgres {
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .execute(conn)
                    .context("waiting for another replica's migrations")?;
            }
            let applied = migrate_now(conn);
            if is_postgres {
                // A failed migration's error is the one to report, not the unlock's.
                let unlocked =
                    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                        .execute(conn);
                let applied = applied?;
                unlocked.context("releasing the migration lock")?;
                return Ok(applied);
            }
            applied
        }
    }
}

fn migrate_now(conn: &mut AnyConnection) -> anyhow::Result<usize> {
    let applied: Vec<String> = match conn {
        AnyConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE_MIGRATIONS),
        AnyConnection::Postgres(conn) => conn.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|error| anyhow::anyhow!("applying migrations: {error}"))?
    .iter()
    .map(ToString::to_string)
    .collect();
    for version in &applied {
        tracing::info!(migration = %version, "migration applied");
    }
    data_migrations::run_pending(conn)?;
    Ok(applied.len())
}

impl Db {
    /// Opens the pool and applies pending migrations: the server's database.
    pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<Db> {
        let db = Db::open(settings)?;
        db.migrate()?;
        Ok(db)
    }

    /// One connection, migrated: the command line's database.
    pub fn connect_single(settings: &DatabaseSettings) -> anyhow::Result<Db> {
        let (url, connection_url) = locate(settings)?;
        let mut conn = establish(&connection_url)?;
        migrate(&mut conn, url.sqlite_file())?;
        Ok(Db {
            access: Arc::new(Access::Single(Mutex::new(conn))),
        })
    }

    /// One connection, migrated, used only to apply the migrations (`idgate migrate`).
    pub fn migrate_only(settings: &DatabaseSettings) -> anyhow::Result<usize> {
        let (url, connection_url) = locate(settings)?;
        migrate(&mut establish(&connection_url)?, url.sqlite_file())
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
            DatabaseUrl::Sqlite(path) => (
                Some(path),
                Some(writer::Writer::start(establish(&connection_url)?)),
            ),
            DatabaseUrl::Postgres(_) => (None, None),
        };
        Ok(Db {
            access: Arc::new(Access::Pooled {
                pool,
                sqlite_file,
                sqlite_writer,
            }),
        })
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        match &*self.access {
            Access::Pooled {
                pool, sqlite_file, ..
            } => migrate(
                &mut *pool.get().context("getting a database connection")?,
                sqlite_file.as_deref(),
            ),
            Access::Single(_) => {
                anyhow::bail!("a single-connection handle is migrated when it connects")
            }
        }
    }

    /// A pooled connection for synchronous callers (tests, benches); the command line's
    /// single-connection database has none.
    pub fn get(&self) -> anyhow::Result<PooledConnection<ConnectionManager<AnyConnection>>> {
        match &*self.access {
            Access::Pooled { pool, .. } => pool.get().context("getting a database connection"),
            Access::Single(_) => anyhow::bail!("this database handle has no pool"),
        }
    }

    /// Runs `f` with a connection on the blocking pool, inside the caller's span: diesel
    /// (`pool.get()` included) must never stall an async worker.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (access, span) = (self.access.clone(), tracing::Span::current());
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| match &*access {
                Access::Pooled { pool, .. } => {
                    let mut conn = pool
                        .get()
                        .map_err(|error| Error::Unavailable(format!("database pool: {error}")))?;
                    f(&mut conn)
                }
                Access::Single(conn) => f(&mut conn.lock().expect("no query panics")),
            })
        })
        .await
        .map_err(|error| Error::Internal(anyhow::Error::new(error).context("blocking pool")))?
    }

    /// Like [`Db::run`], for work that writes; its result comes back once the writes are
    /// durably committed. On the server's SQLite `f` runs in a savepoint of the writer's next
    /// batch; otherwise on a connection of its own, in autocommit unless `f` opens a
    /// transaction (work that must be atomic opens one either way).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        match &*self.access {
            Access::Pooled {
                sqlite_writer: Some(writer),
                ..
            } => writer.write(f).await,
            _ => self.run(f).await,
        }
    }

    /// True when the database answers a query on a real table (and, for SQLite, its file is
    /// still where new connections would open it).
    pub async fn ping(&self) -> bool {
        if let Access::Pooled {
            sqlite_file: Some(file),
            ..
        } = &*self.access
            && !file.exists()
        {
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

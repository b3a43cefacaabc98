//! Building the application from settings, and running it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header::HeaderValue;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use secrecy::SecretString;

use crate::auth::password;
use crate::config::Settings;
use crate::db::Db;
use crate::keys::KeyStore;
use crate::routes::{self, input::MAX_BODY_BYTES};
use crate::telemetry;
use crate::tokens::refresh::{flush_dead_families, sync_revocations};
use crate::tokens::revocations::Revocations;

/// How often each replica re-reads recent revocations (see `tokens::revocations`).
const REVOCATIONS_EVERY: Duration = Duration::from_secs(1);
/// How often expired and revoked families are swept, and how much one sweep may delete.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
const SWEEP_MAX_BATCHES: usize = 20;

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keys: Arc<KeyStore>,
    /// Checked against when the username is unknown, so that case costs a bcrypt check too.
    pub dummy_hash: String,
    pub hasher: password::Hasher,
    pub revocations: Arc<Revocations>,
    pub jwks_cache_control: HeaderValue,
}

impl AppState {
    /// Connects the database (applying migrations) and loads the keys, generating the first
    /// one when `keys.dir` has none.
    pub fn build(settings: Settings) -> anyhow::Result<AppState> {
        let db = Db::connect(&settings.database)?;
        let keys = KeyStore::load_or_generate(&settings.keys.dir, settings.keys.rsa_bits)?;
        let dummy = SecretString::from(crate::tokens::new_id());
        let dummy_hash = password::hash_now(&dummy, settings.password.bcrypt_cost)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let max_age = settings.keys.jwks_max_age.0.as_secs();
        let jwks_cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .expect("digits are a valid header value");
        let hasher = password::Hasher::start(settings.password.hash_threads);
        let revocations = Arc::new(Revocations::default());
        revocations
            .refresh(&mut *db.get()?, &settings)
            .map_err(|error| anyhow::anyhow!("reading revoked sessions: {error}"))?;
        Ok(AppState {
            settings: Arc::new(settings),
            db,
            keys: Arc::new(keys),
            dummy_hash,
            hasher,
            revocations,
            jwks_cache_control,
        })
    }
}

/// A built server bound to its listener, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Builds the service on `listener`; must run inside an actix system.
    pub fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Application> {
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let state = AppState::build(settings)?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .wrap(from_fn(routes::cors::cors))
                .wrap(from_fn(telemetry::request_span))
                .configure(routes::configure)
        })
        .workers(workers)
        .listen(listener)
        .context("listening")?
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT or SIGTERM, or the handle), sweeping dead sessions meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sweeper = actix_web::rt::spawn(sweep_forever(self.state.clone()));
        let reader = actix_web::rt::spawn(read_revocations_forever(self.state));
        let outcome = self.server.await;
        sweeper.abort();
        reader.abort();
        outcome
    }
}

/// Keeps this replica's revoked sessions current with what every replica revoked.
async fn read_revocations_forever(state: AppState) {
    let mut interval = actix_web::rt::time::interval(REVOCATIONS_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = sync_revocations(&state).await {
            tracing::warn!(error = %error, "reading revoked sessions failed");
        }
    }
}

/// Deletes dead refresh families in small batches, forever: storage stays bounded without cron.
async fn sweep_forever(state: AppState) {
    let mut interval = actix_web::rt::time::interval(SWEEP_EVERY);
    loop {
        interval.tick().await;
        let settings = state.settings.clone();
        let swept = state
            .db
            .write(move |conn| flush_dead_families(conn, &settings, SWEEP_MAX_BATCHES))
            .await;
        match swept {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(sessions.deleted = deleted, "swept dead sessions"),
            Err(error) => tracing::warn!(error = %error, "sweeping dead sessions failed"),
        }
    }
}

//! The application state: the services, built once from the settings. Handlers reach them as
//! `app.sessions`, `app.authenticator`, …; nothing else travels between requests.

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::auth::{Authenticator, Hasher, Throttle, ThrottleLimits};
use crate::clock::Clock;
use crate::config::Settings;
use crate::config::Switch;
use crate::db::Db;
use crate::health::Health;
use crate::keys::{KeyRing, KeyStore, KeyTiming, RotationSchedule};
use crate::net::TrustedProxies;
use crate::oauth::Clients;
use crate::sessions::{BrowserSessions, Revocations, SessionPolicy, Sessions, Sweeper};

/// Every service a request or a background task can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// What the web layer reads directly: the issuer and URLs, CORS origins, cache lifetimes.
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyRing>,
    /// `keys.rotate_every`, when it is on.
    pub key_schedule: Option<RotationSchedule>,
    pub trusted_proxies: Arc<TrustedProxies>,
    pub sessions: Sessions,
    pub browser_sessions: BrowserSessions,
    pub authenticator: Authenticator,
    pub accounts: Accounts,
    pub clients: Clients,
    pub revocations: Arc<Revocations>,
    pub sweeper: Sweeper,
    pub health: Health,
    pub hasher: Hasher,
}

impl AppState {
    /// Connects the database (applying migrations), loads the keys (generating the first one
    /// when `keys.dir` has none), measures one hash, and reads the revoked sessions.
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<AppState> {
        let db = Db::connect(&settings.database)?;
        let timing = KeyTiming::from_settings(&settings);
        let publish_lead = timing.publish_lead;
        let keys = Arc::new(KeyRing::new(
            KeyStore::load_or_generate(
                &settings.keys.dir,
                settings.keys.rsa_bits,
                publish_lead,
                clock.now(),
            )?,
            settings.keys.dir.clone(),
            publish_lead,
            clock.clone(),
        ));
        let key_schedule = match settings.keys.rotate_every {
            Switch::Off => None,
            Switch::On(every) => Some(RotationSchedule::new(
                db.clone(),
                keys.clone(),
                clock.clone(),
                every.0,
                settings.keys.rsa_bits,
                timing,
            )),
        };
        let trusted_proxies = Arc::new(settings.trusted_proxies()?);
        let password = &settings.password;
        let hasher = Hasher::start(
            password.hash_threads,
            password.bcrypt_cost,
            password.max_queue_wait.0,
        );
        // Made now, so that no sign-in of an unknown user waits for it.
        hasher.dummy_hash();
        let policy = SessionPolicy::from_settings(&settings);
        let revocations = Arc::new(Revocations::new(
            db.clone(),
            clock.clone(),
            policy.revocation_horizon(),
        ));
        revocations
            .sync()
            .await
            .map_err(|error| anyhow::anyhow!("reading revoked sessions: {error}"))?;
        let throttle = Arc::new(Throttle::new(
            db.clone(),
            clock.clone(),
            ThrottleLimits::from(&settings.login),
        ));
        Ok(AppState {
            sessions: Sessions::new(
                db.clone(),
                keys.clone(),
                policy,
                revocations.clone(),
                clock.clone(),
            ),
            authenticator: Authenticator::new(db.clone(), hasher.clone(), throttle),
            accounts: Accounts::new(
                db.clone(),
                hasher.clone(),
                revocations.clone(),
                clock.clone(),
                settings.registration.open,
            ),
            clients: Clients::new(db.clone(), revocations.clone(), clock.clone()),
            browser_sessions: BrowserSessions::new(
                db.clone(),
                revocations.clone(),
                clock.clone(),
                settings.tokens.refresh_ttl.as_secs(),
            ),
            sweeper: Sweeper::new(db.clone(), clock, &settings),
            health: Health::new(db, keys.clone()),
            revocations,
            hasher,
            keys,
            key_schedule,
            trusted_proxies,
            settings: Arc::new(settings),
        })
    }
}

//! Starts the real server on a free loopback port against a fresh database: a temp SQLite file,
//! or with `IDGATE_TEST_DATABASE_URL=postgres://…` a new `idgate_t_<time>_<random>` database,
//! dropped when the `TestApp` is.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use diesel::prelude::*;
use idgate::accounts::{Accounts, NewAccount};
use idgate::auth::Hasher;
use idgate::clock::{Clock, unix_now};
use idgate::config::Settings;
use idgate::db::{AnyConnection, Db};
use idgate::oauth::{Clients, NewClient};
use idgate::sessions::{Revocations, SessionPolicy, Sweeper};
use idgate::startup::Application;
use idgate::state::AppState;
use secrecy::SecretString;
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

/// One RSA key per test process, copied into each app's `keys/`.
fn test_key() -> &'static (String, String) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = idgate::keys::generate_key_file(dir.path(), 2048).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        (name, std::fs::read_to_string(path).unwrap())
    })
}

/// Puts the shared test key into `dir`, mode 0600.
pub fn install_test_key(dir: &Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let (name, pem) = test_key();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(name))
        .unwrap();
    file.write_all(pem.as_bytes()).unwrap();
}

/// A fresh database for one test; PostgreSQL ones are dropped with it.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new(dir: &Path) -> TestDatabase {
        match std::env::var("IDGATE_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                sweep_stale_postgres_databases(&base);
                let name = format!(
                    "idgate_t_{}_{}",
                    unix_now(),
                    &idgate::tokens::new_id()[..12]
                );
                let mut admin =
                    PgConnection::establish(&base).expect("IDGATE_TEST_DATABASE_URL answers");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let url = with_database(&base, &name);
                TestDatabase {
                    url,
                    postgres: Some((base, name)),
                }
            }
            _ => TestDatabase {
                url: format!("sqlite://{}", dir.join("idgate.db").display()),
                postgres: None,
            },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(base)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// `postgres://u@h:5432/test?x` with its database replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (base, String::new()),
    };
    let authority_end = head["postgres://".len()..]
        .find('/')
        .map_or(head.len(), |i| i + "postgres://".len());
    format!("{}/{name}{query}", &head[..authority_end])
}

/// Drops test databases left by runs that died more than an hour ago, once per process.
fn sweep_stale_postgres_databases(base: &str) {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let Ok(mut admin) = PgConnection::establish(base) else {
            return;
        };
        let names: Vec<Name> = diesel::sql_query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'idgate\\_t\\_%'",
        )
        .load(&mut admin)
        .unwrap_or_default();
        let cutoff = unix_now() - 3600;
        for Name { datname } in names {
            let born: Option<i64> = datname.split('_').nth(2).and_then(|t| t.parse().ok());
            if born.is_some_and(|born| born < cutoff) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                        .execute(&mut admin);
            }
        }
    });
}

pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    pub db: Db,
    /// The clock the server reads: the system's, or a manual one tests move.
    pub clock: Clock,
    /// The server's own services, to look inside it.
    pub server: AppState,
    /// Services on a database connection of their own, as the command line uses while the
    /// server runs: what they change, the server learns as it would from `idgate users …`.
    pub outside: Outside,
    agent: ureq::Agent,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    pub dir: tempfile::TempDir,
    database: Option<TestDatabase>,
}

/// The settings tests start from: fast bcrypt, two workers, quiet logs.
pub fn test_settings(dir: &Path, database_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = SecretString::from(database_url.to_owned());
    settings.database.pool_size = 8;
    settings.keys.dir = dir.join("keys");
    settings.password.bcrypt_cost = 4;
    settings.server.workers = 2;
    settings.log.level = "warn".into();
    settings
}

/// Services outside the server, on the same database.
pub struct Outside {
    pub accounts: Accounts,
    pub clients: Clients,
    pub sweeper: Sweeper,
}

/// Runs a future to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

impl TestApp {
    pub fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {})
    }

    /// Starts a server whose settings `adjust` may change (the issuer is set afterwards).
    pub fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        TestApp::spawn_with_clock(Clock::system(), adjust)
    }

    /// Starts a server reading `clock`, with settings `adjust` may change.
    pub fn spawn_with_clock(clock: Clock, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::new(dir.path());
        let mut settings = test_settings(dir.path(), &database.url);
        install_test_key(&settings.keys.dir);
        adjust(&mut settings);
        TestApp::start(dir, Some(database), settings, clock)
    }

    /// A second server on this one's database and keys (two replicas), with its own settings
    /// file folder and `adjust`ed settings.
    pub fn spawn_replica(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        TestApp::start(dir, None, settings, self.clock.clone())
    }

    fn start(
        dir: tempfile::TempDir,
        database: Option<TestDatabase>,
        mut settings: Settings,
        clock: Clock,
    ) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let address = format!("http://127.0.0.1:{port}");
        // An https issuer set by the test stays (the server serves http either way): what
        // depends on it, such as Secure cookies, can be seen.
        if !settings.issuer.starts_with("https://") {
            settings.issuer = address.clone();
        }
        idgate::telemetry::init(&settings.log);

        let (sender, receiver) = std::sync::mpsc::channel();
        let (server_settings, server_clock) = (settings.clone(), clock.clone());
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build_with_clock(server_settings, listener, server_clock)
                    .await
                    .expect("application builds");
                sender.send((app.handle(), app.state().clone())).unwrap();
                app.run_until_stopped().await.unwrap();
            });
        });
        let (handle, server) = receiver.recv().expect("server started");
        let db = Db::open(&settings.database).unwrap();
        let revocations = Arc::new(Revocations::new(
            db.clone(),
            clock.clone(),
            SessionPolicy::from_settings(&settings).revocation_horizon(),
        ));
        let outside = Outside {
            accounts: Accounts::new(
                db.clone(),
                Hasher::start(1, 4, std::time::Duration::from_secs(10)),
                revocations.clone(),
                clock.clone(),
                true,
            ),
            clients: Clients::new(db.clone(), revocations, clock.clone()),
            sweeper: Sweeper::new(db.clone(), clock.clone(), &settings),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        TestApp {
            address,
            settings,
            db,
            clock,
            server,
            outside,
            agent,
            handle,
            thread: Some(thread),
            dir,
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn conn(&self) -> impl std::ops::DerefMut<Target = AnyConnection> {
        self.db.get().unwrap()
    }

    /// Takes the database away from under the running server: PostgreSQL's is dropped, SQLite's
    /// file deleted.
    pub fn break_database(&self) {
        let database = self
            .database
            .as_ref()
            .expect("the database lives as long as the app");
        match &database.postgres {
            Some((base, name)) => {
                let mut admin = PgConnection::establish(base).unwrap();
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .unwrap();
            }
            None => {
                std::fs::remove_file(self.dir.path().join("idgate.db")).unwrap();
            }
        }
    }

    /// Creates an active user with `PASSWORD`.
    pub fn create_user(&self, username: &str) -> idgate::db::models::User {
        self.create_user_with(username, PASSWORD, &[])
    }

    pub fn create_user_with(
        &self,
        username: &str,
        password: &str,
        roles: &[&str],
    ) -> idgate::db::models::User {
        let account = NewAccount {
            username: username.into(),
            password: SecretString::from(password.to_owned()),
            email: Some(format!("{username}@example.com")),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        block_on(self.outside.accounts.create(account))
            .unwrap_or_else(|e| panic!("creating {username}: {e}"))
    }

    /// Registers a client out of band, as `idgate clients create` does; returns its secret.
    pub fn create_client(&self, client: NewClient) -> Option<String> {
        let created = block_on(self.outside.clients.create(client))
            .unwrap_or_else(|e| panic!("creating a client: {e}"));
        created
            .secret
            .map(|secret| secrecy::ExposeSecret::expose_secret(&secret).to_owned())
    }

    /// `POST path` with a form body of `fields` and extra `headers`.
    pub fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .agent
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::from(request.send(body.as_bytes()).unwrap())
    }

    /// Disables or enables a user out of band, as `idgate users disable` does.
    pub fn set_active(&self, username: &str, active: bool) {
        block_on(self.outside.accounts.set_active(username, active)).unwrap();
    }

    pub fn get(&self, path: &str) -> Reply {
        Reply::from(self.agent.get(self.url(path)).call().unwrap())
    }

    pub fn get_with(&self, path: &str, header: (&str, &str)) -> Reply {
        Reply::from(
            self.agent
                .get(self.url(path))
                .header(header.0, header.1)
                .call()
                .unwrap(),
        )
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        Reply::from(self.agent.post(self.url(path)).send_json(body).unwrap())
    }

    /// `POST /api/token/` with these credentials, as if from `forwarded_for` (the server
    /// believes it only from a trusted proxy).
    pub fn try_sign_in(
        &self,
        username: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> Reply {
        let body = serde_json::json!({"username": username, "password": password});
        match forwarded_for {
            Some(address) => {
                self.post_json_with("/api/token/", &body, ("x-forwarded-for", address))
            }
            None => self.post_json("/api/token/", &body),
        }
    }

    pub fn post_json_with(&self, path: &str, body: &Value, header: (&str, &str)) -> Reply {
        Reply::from(
            self.agent
                .post(self.url(path))
                .header(header.0, header.1)
                .send_json(body)
                .unwrap(),
        )
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        Reply::from(
            self.agent
                .post(self.url(path))
                .header("content-type", content_type)
                .send(body)
                .unwrap(),
        )
    }

    pub fn request(&self, method: &str, path: &str) -> Reply {
        self.request_with(method, path, &[])
    }

    pub fn request_with(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::from(self.agent.run(request.body(()).unwrap()).unwrap())
    }

    /// `POST /api/token/`, asserting success; returns (access, refresh).
    pub fn sign_in(&self, username: &str) -> (String, String) {
        let reply = self.post_json(
            "/api/token/",
            &serde_json::json!({"username": username, "password": PASSWORD}),
        );
        assert_eq!(reply.status, 200, "sign-in failed: {}", reply.text);
        (reply.str("access"), reply.str("refresh"))
    }

    pub fn refresh(&self, refresh: &str) -> Reply {
        self.post_json(
            "/api/token/refresh/",
            &serde_json::json!({"refresh": refresh}),
        )
    }

    pub fn verify(&self, token: &str) -> Reply {
        self.post_json("/api/token/verify/", &serde_json::json!({"token": token}))
    }

    /// Moves a family's last rotation into the past, as if `seconds` had gone by.
    pub fn age_rotation(&self, sid: &str, seconds: i64) {
        use idgate::db::schema::refresh_families::dsl::*;
        diesel::update(refresh_families.find(sid))
            .set(rotated_at.eq(rotated_at - seconds))
            .execute(&mut *self.conn())
            .unwrap();
    }

    /// How many refresh families the database holds.
    pub fn family_count(&self) -> i64 {
        use idgate::db::schema::refresh_families::dsl::*;
        refresh_families
            .count()
            .get_result(&mut *self.conn())
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // DROP DATABASE … WITH (FORCE) closes what the pool still holds.
        self.database.take();
    }
}

/// An HTTP answer, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub text: String,
}

impl From<ureq::http::Response<ureq::Body>> for Reply {
    fn from(mut response: ureq::http::Response<ureq::Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            headers,
            text,
        }
    }
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn str(&self, field: &str) -> String {
        self.json()[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.text))
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The claims of a JWT, read without verifying (the test checks the signature elsewhere).
pub fn claims(token: &str) -> Value {
    part(token, 1)
}

/// The header of a JWT.
pub fn header(token: &str) -> Value {
    part(token, 0)
}

fn part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let segment = token.split('.').nth(index).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_idgate"))
}

/// The `kid`s of the server's JWKS.
pub fn jwks_kids(base: &str) -> Vec<String> {
    let jwks: serde_json::Value = ureq::get(&format!("{base}/.well-known/jwks.json"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

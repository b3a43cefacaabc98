//! The command line (API.md §9): one short function per subcommand.

use std::io::BufRead;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{Accounts, NewAccount};
use crate::auth::Hasher;
use crate::clock::Clock;
use crate::config::{self, Settings};
use crate::db::Db;
use crate::error::Error;
use crate::keys::{self, KeyRing, KeyStore};
use crate::oauth::{Clients, NewClient};
use crate::sessions::{Revocations, SessionPolicy, Sweeper};
use crate::startup::Application;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "idgate",
    version,
    about = "Identity service and single-sign-on issuer"
)]
pub struct Cli {
    /// A configuration file layered over config/default.toml and config/<IDGATE_ENV>.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load and validate the configuration, print it without secrets, and exit.
    CheckConfig,
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage OAuth 2 / OpenID Connect clients (apps).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage issued tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its id and secret (shown only this once) as one JSON line.
    Create {
        client_id: String,
        /// A redirect URI, compared exactly (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may send the user back (repeat for several).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A browser or native app: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// An allowed grant type (repeat; default authorization_code and refresh_token).
        #[arg(long = "grant", value_name = "TYPE")]
        grant_types: Vec<String>,
        /// An allowed scope (repeat; default openid, profile and email).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// List clients.
    List,
    /// Delete a client and revoke every session granted to it.
    Delete { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the first key when keys.dir has none.
    Generate,
    /// Add the next key: published at once, signing after keys.publish_lead.
    Rotate,
    /// List keys with their state.
    List,
    /// Remove keys whose tokens have all expired.
    Prune,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from standard input (one line).
    Create {
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Grant the admin role.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password from standard input; every session of the user is revoked.
    SetPassword { username: String },
    /// Disable a user and revoke every session of theirs.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Delete expired and revoked records now.
    FlushExpired,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = config::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::CheckConfig => check_config(&settings),
        Command::Keys(KeysCommand::Generate) => keys_generate(&settings),
        Command::Keys(KeysCommand::Rotate) => keys_rotate(&settings),
        Command::Keys(KeysCommand::List) => keys_list(&settings),
        Command::Keys(KeysCommand::Prune) => keys_prune(&settings),
        Command::Users(command) => users(&settings, command),
        Command::Clients(command) => clients(&settings, command),
        Command::Tokens(TokensCommand::FlushExpired) => tokens_flush_expired(&settings),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let address = format!("{}:{}", settings.server.host, settings.server.port);
    let listener = TcpListener::bind(&address).with_context(|| {
        format!(
            "binding {}:{} (server.host, server.port)",
            settings.server.host, settings.server.port
        )
    })?;
    let issuer = settings.issuer.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, listener).await?;
        tracing::info!(address = %address, issuer = %issuer, "idgate listening");
        app.run_until_stopped().await.context("serving")
    })
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = Db::migrate_only(&settings.database)?;
    println!("{applied} migration(s) applied; the database is up to date");
    Ok(())
}

fn check_config(settings: &Settings) -> anyhow::Result<()> {
    print!("{}", settings.to_redacted_toml());
    Ok(())
}

fn keys_generate(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.keys.dir;
    if !keys::key_files(dir)?.is_empty() {
        bail!(
            "{} (keys.dir) already holds a key; `keys generate` only creates the first one",
            dir.display()
        );
    }
    let path = keys::generate_key_file(dir, settings.keys.rsa_bits)?;
    let store = KeyStore::load(dir)?;
    println!(
        "generated {} (kid {})",
        path.display(),
        store.signing_key().kid
    );
    Ok(())
}

/// The keys as a server reading the folder now sees them, and their states.
fn key_states(settings: &Settings) -> anyhow::Result<(KeyStore, Vec<keys::KeyState>)> {
    let timing = keys::KeyTiming::from_settings(settings);
    let now = crate::clock::unix_now();
    let store = KeyStore::load_at(&settings.keys.dir, timing.publish_lead, now)?;
    let states = store.states(timing, now);
    Ok((store, states))
}

/// The keys folder as a server reading it now would hold it, and the timing of its keys.
fn key_ring(settings: &Settings) -> anyhow::Result<(KeyRing, keys::KeyTiming)> {
    let timing = keys::KeyTiming::from_settings(settings);
    let ring = KeyRing::load(
        settings.keys.dir.clone(),
        timing.publish_lead,
        Clock::system(),
    )?;
    Ok((ring, timing))
}

/// The same rotation as `POST /admin/keys/rotate`; a folder without a key is refused, since
/// `keys generate` makes the first one.
fn keys_rotate(settings: &Settings) -> anyhow::Result<()> {
    let (ring, timing) = key_ring(settings)?;
    let kid = ring.rotate(settings.keys.rsa_bits)?;
    let keys = ring.current();
    let key = keys.find(&kid).context("the new key was not read back")?;
    let when = match ring.states(timing).into_iter().find(|(id, ..)| id.0 == kid) {
        Some((_, _, keys::KeyState::Published { signs_from })) => {
            format!("from {} UTC", format_time(signs_from))
        }
        _ => "now".to_owned(),
    };
    println!(
        "added {} (kid {kid}): published at once, signing {when}; servers re-read keys.dir every {} or on SIGHUP",
        key.path.display(),
        humantime::format_duration(settings.keys.reload_interval.0),
    );
    Ok(())
}

fn keys_list(settings: &Settings) -> anyhow::Result<()> {
    let (store, states) = key_states(settings)?;
    println!(
        "{:<44}  {:<10}  {:<20}  {:<32}  file",
        "kid", "state", "created", "next"
    );
    for (key, state) in store.keys().iter().zip(states) {
        let next = match state {
            keys::KeyState::Published { signs_from } => {
                format!("signs from {}", format_time(signs_from))
            }
            keys::KeyState::Retired { prunable_from, .. } => {
                format!("prunable from {}", format_time(prunable_from))
            }
            keys::KeyState::Signing | keys::KeyState::Prunable => String::new(),
        };
        println!(
            "{:<44}  {:<10}  {:<20}  {:<32}  {}",
            key.kid,
            state.name(),
            format_time(key.created_at),
            next,
            key.path.display()
        );
    }
    Ok(())
}

/// The same pruning as the rotating replica's under `keys.rotate_every`.
fn keys_prune(settings: &Settings) -> anyhow::Result<()> {
    let (ring, timing) = key_ring(settings)?;
    let removed = ring.prune(timing)?;
    for (kid, path) in &removed {
        println!("removed {} (kid {kid})", path.display());
    }
    if removed.is_empty() {
        println!("no key to prune: every retired key may still have live tokens");
    }
    Ok(())
}

fn users(settings: &Settings, command: UsersCommand) -> anyhow::Result<()> {
    let accounts = accounts(settings)?;
    run_async(async move {
        match command {
            UsersCommand::Create {
                username,
                email,
                admin,
            } => {
                let account = NewAccount {
                    username,
                    password: read_password()?,
                    email,
                    roles: if admin {
                        vec!["admin".into()]
                    } else {
                        Vec::new()
                    },
                };
                let user = accounts.create(account).await.map_err(domain)?;
                println!("created user {} (id {})", user.username, user.id);
            }
            UsersCommand::SetPassword { username } => {
                accounts.load_by_username(&username).await.map_err(domain)?;
                let (user, revoked) = accounts
                    .set_password(&username, read_password()?)
                    .await
                    .map_err(domain)?;
                println!(
                    "password of {} set; {revoked} session(s) revoked",
                    user.username
                );
            }
            UsersCommand::Disable { username } => {
                let user = accounts
                    .set_active(&username, false)
                    .await
                    .map_err(domain)?;
                println!("disabled {}; every session revoked", user.username);
            }
            UsersCommand::Enable { username } => {
                let user = accounts.set_active(&username, true).await.map_err(domain)?;
                println!("enabled {}", user.username);
            }
            UsersCommand::List => {
                let users = accounts.list().await.map_err(domain)?;
                println!(
                    "{:<32}  {:<24}  {:<28}  {:<8}  {:<12}  last login",
                    "id", "username", "email", "active", "roles"
                );
                for user in users {
                    println!(
                        "{:<32}  {:<24}  {:<28}  {:<8}  {:<12}  {}",
                        user.id,
                        user.username,
                        user.email.as_deref().unwrap_or("-"),
                        if user.is_active { "yes" } else { "no" },
                        if user.roles.is_empty() {
                            "-"
                        } else {
                            &user.roles
                        },
                        user.last_login
                            .map_or_else(|| "never".to_owned(), format_time),
                    );
                }
            }
        }
        Ok(())
    })
}

fn clients(settings: &Settings, command: ClientsCommand) -> anyhow::Result<()> {
    let db = Db::connect_single(&settings.database)?;
    let clock = Clock::system();
    let horizon = SessionPolicy::from_settings(settings).revocation_horizon();
    let revocations = Arc::new(Revocations::new(db.clone(), clock.clone(), horizon));
    let clients = Clients::new(db, revocations, clock);
    run_async(async move {
        match command {
            ClientsCommand::Create {
                client_id,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                grant_types,
                scopes,
            } => {
                let new = NewClient {
                    client_id,
                    public,
                    redirect_uris,
                    post_logout_redirect_uris,
                    grant_types,
                    scopes,
                };
                let created = clients.create(new).await.map_err(domain)?;
                let line = serde_json::json!({
                    "client_id": created.client.id,
                    "client_secret": created.secret.as_ref().map(|secret| secret.expose_secret()),
                });
                println!("{line}");
            }
            ClientsCommand::List => {
                let list = clients.list().await.map_err(domain)?;
                println!(
                    "{:<24}  {:<12}  {:<40}  {:<24}  redirect URIs",
                    "client_id", "type", "grants", "scopes"
                );
                for client in list {
                    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
                    println!(
                        "{:<24}  {:<12}  {:<40}  {:<24}  {}",
                        client.id,
                        if client.public {
                            "public"
                        } else {
                            "confidential"
                        },
                        grants.join(","),
                        client.scope.to_string(),
                        if client.redirect_uris.is_empty() {
                            "-".to_owned()
                        } else {
                            client.redirect_uris.join(" ")
                        },
                    );
                }
            }
            ClientsCommand::Delete { client_id } => {
                let revoked = clients.delete(&client_id).await.map_err(domain)?;
                println!("deleted client {client_id}; {revoked} session(s) revoked");
            }
        }
        Ok(())
    })
}

fn tokens_flush_expired(settings: &Settings) -> anyhow::Result<()> {
    let sweeper = Sweeper::new(
        Db::connect_single(&settings.database)?,
        Clock::system(),
        settings,
    );
    let swept = run_async(async move { sweeper.sweep(usize::MAX).await.map_err(domain) })?;
    println!(
        "deleted {} expired or revoked session(s) and {} expired failed sign-in(s)",
        swept.sessions, swept.login_failures
    );
    Ok(())
}

/// The accounts service on one database connection, hashing on one thread.
fn accounts(settings: &Settings) -> anyhow::Result<Accounts> {
    let db = Db::connect_single(&settings.database)?;
    let clock = Clock::system();
    let password = &settings.password;
    let hasher = Hasher::start(1, password.bcrypt_cost, password.max_queue_wait.0);
    let horizon = SessionPolicy::from_settings(settings).revocation_horizon();
    let revocations = Arc::new(Revocations::new(db.clone(), clock.clone(), horizon));
    Ok(Accounts::new(
        db,
        hasher,
        revocations,
        clock,
        settings.registration.open,
    ))
}

/// Runs a service call to completion on this thread.
fn run_async<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(work)
}

/// One line of standard input, without its line ending; never an argument, which other users
/// of the machine could read.
fn read_password() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input (give it as one line)");
    }
    Ok(SecretString::from(password.to_owned()))
}

/// A domain error as one line for the terminal.
fn domain(error: Error) -> anyhow::Error {
    match error {
        Error::Fields(fields) => {
            let reasons: Vec<String> = fields
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect();
            anyhow::anyhow!("{}", reasons.join("; "))
        }
        Error::Internal(error) => error,
        other @ (Error::InvalidCredentials
        | Error::TokenInvalid
        | Error::RegistrationClosed
        | Error::UsernameTaken
        | Error::NotFound(_)
        | Error::InvalidClient
        | Error::UnauthorizedClient(_)
        | Error::InvalidScope(_)
        | Error::ClientIdTaken
        | Error::Throttled { .. }
        | Error::Busy { .. }
        | Error::Unavailable(_)) => anyhow::anyhow!("{other}"),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC.
fn format_time(unix: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}

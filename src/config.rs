//! Settings: the layers of API.md §8, their validation, and duration strings.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::net::TrustedProxies;

/// Everything idgate can be configured with; `config/default.toml` mirrors `Settings::default()`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub issuer: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub password: PasswordSettings,
    pub registration: RegistrationSettings,
    pub login: LoginSettings,
    // Its only key is a list, and an empty list does not survive the layering of defaults.
    #[serde(default)]
    pub cors: CorsSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// 0 means one worker per core.
    pub workers: usize,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, so it is kept secret and redacted when printed.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: SecretString,
    pub pool_size: u32,
}

impl PartialEq for DatabaseSettings {
    fn eq(&self, other: &Self) -> bool {
        self.url.expose_secret() == other.url.expose_secret() && self.pool_size == other.pool_size
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub access_ttl: HumanDuration,
    pub refresh_ttl: HumanDuration,
    pub rotate_refresh: bool,
    pub reuse_grace: HumanDuration,
    pub leeway: HumanDuration,
    /// `aud` of access tokens; the issuer when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub refresh_sliding: bool,
    pub session_max_age: HumanDuration,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub dir: PathBuf,
    pub rsa_bits: usize,
    pub jwks_max_age: HumanDuration,
    /// `keys.jwks_max_age` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_lead: Option<HumanDuration>,
    pub reload_interval: HumanDuration,
    pub rotate_every: Switch<HumanDuration>,
}

impl KeySettings {
    /// How long a new key is published before it signs: `keys.jwks_max_age` unless set.
    pub fn publish_lead(&self) -> HumanDuration {
        self.publish_lead.unwrap_or(self.jwks_max_age)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub bcrypt_cost: u32,
    /// Threads that hash passwords; 0 means one per core.
    pub hash_threads: usize,
    /// Requests that need a hash get 503 when the hashing queue's expected wait exceeds this.
    pub max_queue_wait: HumanDuration,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegistrationSettings {
    pub open: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    pub max_failures: u32,
    pub max_failures_per_user: u32,
    pub max_failures_per_ip: u32,
    pub window: HumanDuration,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        let minutes = |m: u64| HumanDuration(Duration::from_secs(m * 60));
        Settings {
            issuer: "http://127.0.0.1:8080".into(),
            server: ServerSettings {
                host: "127.0.0.1".into(),
                port: 8080,
                workers: 0,
                trusted_proxies: Vec::new(),
            },
            database: DatabaseSettings {
                url: SecretString::from("sqlite://data/idgate.db"),
                pool_size: 16,
            },
            tokens: TokenSettings {
                access_ttl: minutes(5),
                refresh_ttl: minutes(24 * 60),
                rotate_refresh: true,
                reuse_grace: HumanDuration(Duration::from_secs(10)),
                leeway: HumanDuration(Duration::from_secs(15)),
                audience: None,
                refresh_sliding: false,
                session_max_age: minutes(30 * 24 * 60),
            },
            keys: KeySettings {
                dir: PathBuf::from("keys"),
                rsa_bits: 2048,
                jwks_max_age: minutes(5),
                publish_lead: None,
                reload_interval: HumanDuration(Duration::from_secs(30)),
                rotate_every: Switch::Off,
            },
            password: PasswordSettings {
                bcrypt_cost: 12,
                hash_threads: 0,
                max_queue_wait: HumanDuration(Duration::from_secs(10)),
            },
            registration: RegistrationSettings { open: false },
            login: LoginSettings {
                max_failures: 5,
                max_failures_per_user: 100,
                max_failures_per_ip: 50,
                window: minutes(15),
            },
            cors: CorsSettings {
                allowed_origins: Vec::new(),
            },
            log: LogSettings {
                format: LogFormat::Pretty,
                level: "info".into(),
            },
        }
    }
}

/// Loads the layers of API.md §8, later wins: `config/default.toml`, `config/<IDGATE_ENV>.toml`,
/// the file given with `--config`, then `IDGATE__SECTION__KEY` variables.
pub fn load(config_file: Option<&Path>) -> anyhow::Result<Settings> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from(Path::new("config/default.toml")).required(false));
    if let Ok(env) = std::env::var("IDGATE_ENV") {
        builder = builder.add_source(
            config::File::from(Path::new("config").join(format!("{env}.toml"))).required(false),
        );
    }
    if let Some(path) = config_file {
        if !path.exists() {
            bail!("configuration file {} does not exist", path.display());
        }
        builder = builder.add_source(config::File::from(path).required(true));
    }
    let environment = config::Environment::with_prefix("IDGATE")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("server.trusted_proxies")
        .with_list_parse_key("cors.allowed_origins");
    let layered = builder
        .add_source(environment)
        .build()
        .context("reading configuration")?;
    // The built-in defaults sit under every layer, so a missing default.toml still runs.
    let defaults = config::Config::try_from(&Settings::default()).context("built-in defaults")?;
    let merged = config::Config::builder()
        .add_source(defaults)
        .add_source(layered)
        .build()
        .context("reading configuration")?;
    let settings: Settings = merged.try_deserialize().context("invalid configuration")?;
    settings.validate()?;
    Ok(settings)
}

impl Settings {
    /// Names the first bad key and why.
    pub fn validate(&self) -> anyhow::Result<()> {
        fn bad(key: &str, reason: impl fmt::Display) -> anyhow::Result<()> {
            bail!("invalid configuration: {key}: {reason}")
        }
        if let Err(reason) = check_issuer(&self.issuer) {
            return bad("issuer", reason);
        }
        if self.server.host.parse::<std::net::IpAddr>().is_err() && self.server.host != "localhost"
        {
            return bad("server.host", "expected an IP address or localhost");
        }
        if let Err(reason) = DatabaseUrl::parse(self.database.url.expose_secret()) {
            return bad("database.url", reason);
        }
        if let Err(reason) = TrustedProxies::parse(&self.server.trusted_proxies) {
            return bad("server.trusted_proxies", reason);
        }
        if self.database.pool_size == 0 {
            return bad("database.pool_size", "must be at least 1");
        }
        let tokens = &self.tokens;
        if tokens.access_ttl.0 < Duration::from_secs(1) {
            return bad("tokens.access_ttl", "must be at least 1s");
        }
        if tokens.refresh_ttl.0 < Duration::from_secs(1) {
            return bad("tokens.refresh_ttl", "must be at least 1s");
        }
        if tokens.reuse_grace.0 >= tokens.refresh_ttl.0 {
            return bad(
                "tokens.reuse_grace",
                "must be shorter than tokens.refresh_ttl",
            );
        }
        if tokens.leeway.0 > Duration::from_secs(300) {
            return bad("tokens.leeway", "must be at most 5m");
        }
        if tokens.refresh_sliding && tokens.session_max_age.0 < tokens.refresh_ttl.0 {
            return bad(
                "tokens.session_max_age",
                "must be at least tokens.refresh_ttl when tokens.refresh_sliding is on",
            );
        }
        if tokens.audience.as_deref().is_some_and(str::is_empty) {
            return bad("tokens.audience", "must not be empty");
        }
        if ![2048, 3072, 4096].contains(&self.keys.rsa_bits) {
            return bad("keys.rsa_bits", "must be 2048, 3072 or 4096");
        }
        if self.keys.reload_interval.0.is_zero() {
            return bad("keys.reload_interval", "must be longer than 0s");
        }
        if let Switch::On(every) = self.keys.rotate_every
            && every.0 <= self.keys.publish_lead().0
        {
            return bad(
                "keys.rotate_every",
                format!(
                    "must be longer than keys.publish_lead ({}), or each key would be replaced before it signs",
                    self.keys.publish_lead()
                ),
            );
        }
        if !(4..=31).contains(&self.password.bcrypt_cost) {
            return bad("password.bcrypt_cost", "must be between 4 and 31");
        }
        if self.password.max_queue_wait.0 < Duration::from_millis(100) {
            return bad("password.max_queue_wait", "must be at least 100ms");
        }
        for (key, limit) in [
            ("login.max_failures", self.login.max_failures),
            (
                "login.max_failures_per_user",
                self.login.max_failures_per_user,
            ),
            ("login.max_failures_per_ip", self.login.max_failures_per_ip),
        ] {
            if limit == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if self.login.window.0 < Duration::from_secs(1) {
            return bad("login.window", "must be at least 1s");
        }
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return bad("log.level", error);
        }
        Ok(())
    }

    /// The parsed `server.trusted_proxies` (checked by [`Settings::validate`]).
    pub fn trusted_proxies(&self) -> anyhow::Result<TrustedProxies> {
        TrustedProxies::parse(&self.server.trusted_proxies)
            .map_err(|reason| anyhow::anyhow!("server.trusted_proxies: {reason}"))
    }

    /// The `aud` of access tokens.
    pub fn audience(&self) -> &str {
        self.tokens.audience.as_deref().unwrap_or(&self.issuer)
    }

    /// An absolute URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    /// The configuration as TOML, with the database password masked.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).expect("settings always serialise to TOML")
    }
}

/// An issuer is an http(s) URL with a host and without credentials, query or fragment
/// (OpenID Connect Discovery 1.0 §3; RFC 8414 §2).
fn check_issuer(issuer: &str) -> Result<(), String> {
    let invalid = || format!("{issuer:?} is not an http(s) URL without query or fragment");
    let url = url::Url::parse(issuer).map_err(|_| invalid())?;
    let fine = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|host| !host.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && !issuer.contains(char::is_whitespace)
        && !url.path().contains("//");
    if fine { Ok(()) } else { Err(invalid()) }
}

/// Where the data lives, decided by the scheme of `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// The SQLite file, for a `sqlite://` URL.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match self {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// Only the two schemes idgate knows: a typo must never become a new, empty SQLite file.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/idgate.db".into());
            }
            if path == ":memory:" {
                return Err("an in-memory SQLite database would lose every session".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err("expected sqlite://<path> or postgres://…".into())
    }
}

fn serialize_redacted_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.expose_secret()))
}

/// `postgres://user:secret@host/db` becomes `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let Some((credentials, host)) = authority.rsplit_once('@') else {
        // A password may also ride in the query string (`?password=`).
        return match url.split_once('?') {
            Some((base, _)) if url.contains("password") => format!("{base}?***"),
            _ => url.to_owned(),
        };
    };
    let user = credentials.split(':').next().unwrap_or_default();
    let masked = if credentials.contains(':') {
        format!("{user}:***")
    } else {
        user.to_owned()
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) if tail.contains("password") => format!("{path}?***"),
        _ => tail.to_owned(),
    };
    format!("{scheme}://{masked}@{host}{tail}")
}

/// A duration written as `"90s"`, `"5m"`, `"24h"`, `"30d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn as_secs(self) -> i64 {
        i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX)
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|error| {
                format!("{text:?} is not a duration like \"90s\", \"5m\" or \"24h\" ({error})")
            })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let unit = [(86_400, "d"), (3_600, "h"), (60, "m")]
            .into_iter()
            .find(|(size, _)| secs != 0 && secs.is_multiple_of(*size));
        match unit {
            Some((size, name)) => write!(f, "{}{name}", secs / size),
            None if self.0.subsec_nanos() == 0 => write!(f, "{secs}s"),
            None => write!(f, "{}ms", self.0.as_millis()),
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A setting that can be turned `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch<T> {
    Off,
    On(T),
}

impl<T: fmt::Display> Serialize for Switch<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Switch::Off => s.serialize_str("off"),
            Switch::On(value) => s.collect_str(value),
        }
    }
}

impl<'de, T: std::str::FromStr<Err = String>> Deserialize<'de> for Switch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Switch::Off);
        }
        text.parse()
            .map(Switch::On)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_in_the_largest_whole_unit() {
        for (text, secs, shown) in [
            ("90s", 90, "90s"),
            ("5m", 300, "5m"),
            ("24h", 86_400, "1d"),
            ("30d", 2_592_000, "30d"),
        ] {
            let parsed: HumanDuration = text.parse().unwrap();
            assert_eq!(parsed.0.as_secs(), secs);
            assert_eq!(parsed.to_string(), shown);
        }
        assert!("soon".parse::<HumanDuration>().is_err());
        assert!("".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn database_urls_need_a_known_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/idgate.db"),
            Ok(DatabaseUrl::Sqlite("data/idgate.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/idgate/idgate.db"),
            Ok(DatabaseUrl::Sqlite("/var/lib/idgate/idgate.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("sqlite:/data.db").is_err());
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn database_passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://idgate:hunter2@db:5432/idgate"),
            "postgres://idgate:***@db:5432/idgate"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=hunter2"),
            "postgres://h/db?***"
        );
        assert_eq!(
            redact_url("sqlite://data/idgate.db"),
            "sqlite://data/idgate.db"
        );
    }

    #[test]
    fn default_file_matches_built_in_defaults() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
                .unwrap();
        let from_file: Settings = toml::from_str(&text).unwrap();
        assert_eq!(from_file, Settings::default());
        Settings::default().validate().unwrap();
    }

    #[test]
    fn validation_names_the_bad_key() {
        let mut settings = Settings::default();
        settings.password.bcrypt_cost = 3;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("password.bcrypt_cost"), "{error}");

        let mut settings = Settings::default();
        settings.database.url = SecretString::from("mysql://localhost/idgate");
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("database.url"), "{error}");

        let mut settings = Settings::default();
        settings.server.trusted_proxies = vec!["10.0.0.0/8".into(), "proxy.internal".into()];
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("server.trusted_proxies"), "{error}");
        assert!(error.contains("proxy.internal"), "{error}");
    }

    #[test]
    fn issuers_are_plain_http_urls() {
        for good in [
            "http://127.0.0.1:8080",
            "https://id.example.com",
            "https://example.com/idgate",
        ] {
            assert_eq!(check_issuer(good), Ok(()), "{good}");
        }
        for bad in [
            "id.example.com",
            "ftp://id.example.com",
            "https://id.example.com/?x=1",
            "https://id.example.com#top",
            "https://user:pw@id.example.com",
            "https://id.example.com//",
            "https://",
            "https://id example.com",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scheduled_rotation_must_outlast_the_publish_lead_and_the_rest_of_rotation_is_accepted() {
        let mut settings = Settings::default();
        settings.keys.rotate_every = Switch::On("30d".parse().unwrap());
        settings.validate().unwrap();
        // The lead defaults to keys.jwks_max_age, 5 minutes.
        settings.keys.rotate_every = Switch::On("5m".parse().unwrap());
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("keys.rotate_every"), "{error}");
        assert!(error.contains("keys.publish_lead (5m)"), "{error}");
        settings.keys.publish_lead = Some("1m".parse().unwrap());
        settings.validate().unwrap();

        let mut settings = Settings::default();
        settings.keys.publish_lead = Some("1m".parse().unwrap());
        settings.keys.reload_interval = "10s".parse().unwrap();
        settings.validate().unwrap();
        assert_eq!(settings.keys.publish_lead().0, Duration::from_secs(60));
        assert_eq!(
            Settings::default().keys.publish_lead(),
            Settings::default().keys.jwks_max_age
        );
        settings.keys.reload_interval = "0s".parse().unwrap();
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("keys.reload_interval"), "{error}");
    }
}

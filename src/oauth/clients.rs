//! Registered clients: what they are, how they prove who they are, what they may be granted.
//!
//! A confidential client's secret is 256 random bits, shown once at creation; only its SHA-256
//! is stored, and a presented secret is compared with it in constant time (`secrets`), which
//! keeps client authentication off the hashing threads that sign-ins queue for.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::Connection;
use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::db::Db;
use crate::db::models::{ClientRow, RefreshFamily};
use crate::error::{Error, FieldErrors};
use crate::scope::Scope;
use crate::secrets;
use crate::sessions::Revocations;
use crate::tokens::issue::FIRST_PARTY_CLIENT;

/// The longest client id accepted.
const CLIENT_ID_MAX_CHARS: usize = 100;
/// The longest redirect URI accepted.
const URI_MAX_BYTES: usize = 2000;
/// What a client may ask for when it is registered without `--scope`.
const DEFAULT_SCOPE: &str = "openid profile email";

/// The grant types of the token endpoint (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
        }
    }

    pub fn parse(text: &str) -> Option<GrantType> {
        GrantType::ALL
            .into_iter()
            .find(|grant| grant.as_str() == text)
    }
}

/// A registered client. `Debug` leaves out the secret's hash.
#[derive(Clone)]
pub struct Client {
    pub id: String,
    /// A public client (a browser or native app) has no secret and must use PKCE.
    pub public: bool,
    secret_sha256: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// The most the client may be granted.
    pub scope: Scope,
    pub created_at: i64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("public", &self.public)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Client {
    fn from_row(row: ClientRow) -> Client {
        let list = |text: &str| text.split_whitespace().map(str::to_owned).collect();
        Client {
            public: row.secret_sha256.is_none(),
            redirect_uris: list(&row.redirect_uris),
            post_logout_redirect_uris: list(&row.post_logout_redirect_uris),
            grant_types: row
                .grant_types
                .split_whitespace()
                .filter_map(GrantType::parse)
                .collect(),
            scope: Scope::from_stored(&row.scopes),
            created_at: row.created_at,
            secret_sha256: row.secret_sha256,
            id: row.id,
        }
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The scope to grant for a request that asked for `requested` (a space-separated list;
    /// `None` or blank asks for all the client may have). A grant `for_user` may include the
    /// user scopes (`openid`, `profile`, `email`); a client acting for itself may not.
    pub fn grant_scope(&self, requested: Option<&str>, for_user: bool) -> Result<Scope, Error> {
        let allowed = if for_user {
            self.scope.clone()
        } else {
            self.scope.without_user_scopes()
        };
        let requested = match requested {
            None => return Ok(allowed),
            Some(text) => Scope::parse(text).map_err(Error::InvalidScope)?,
        };
        if requested.is_empty() {
            return Ok(allowed);
        }
        match requested.first_outside(&allowed) {
            None => Ok(requested),
            Some(scope) if !for_user && self.scope.contains(scope) => Err(Error::InvalidScope(
                format!("scope {scope:?} needs a user; client credentials grant none"),
            )),
            Some(scope) => Err(Error::InvalidScope(format!(
                "scope {scope:?} is not allowed for this client"
            ))),
        }
    }

    /// True when `secret` is this client's secret; the comparison is constant-time.
    fn secret_matches(&self, secret: &SecretString) -> bool {
        self.secret_sha256
            .as_deref()
            .is_some_and(|stored| secrets::matches_stored(secret.expose_secret(), stored))
    }
}

fn secret_digest(secret: &SecretString) -> String {
    secrets::sha256_hex(secret.expose_secret())
}

/// A client to register, as the command line (and later the admin API) describes it.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub client_id: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant type names; none means `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// Scopes (each entry may hold several, space-separated); none means
    /// `openid profile email`.
    pub scopes: Vec<String>,
}

/// A client just registered, with its secret: the only time the secret is seen.
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<SecretString>,
}

/// What a request presents to say which client it is.
pub struct ClientCredentials {
    pub client_id: String,
    /// `None` for a public client.
    pub secret: Option<SecretString>,
}

/// How long a replica trusts the copy of a client it read: a client deleted or changed
/// elsewhere (the command line, another replica) is seen within this. A client it has no copy
/// of is always read, so a new one is usable at once.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(1);

/// Registers, lists, deletes and authenticates clients.
#[derive(Clone)]
pub struct Clients {
    db: Db,
    revocations: Arc<Revocations>,
    clock: Clock,
    /// Clients read recently, by id, with when they were read: every token request
    /// authenticates its client, and a read on the blocking pool per request cost the token
    /// endpoint a tenth of its rate.
    cache: Arc<RwLock<HashMap<String, (Client, Instant)>>>,
}

impl Clients {
    pub fn new(db: Db, revocations: Arc<Revocations>, clock: Clock) -> Clients {
        Clients {
            db,
            revocations,
            clock,
            cache: Arc::default(),
        }
    }

    /// Registers a client; a confidential one gets a fresh secret, returned once.
    pub async fn create(&self, new: NewClient) -> Result<CreatedClient, Error> {
        let (grant_types, scope) = validate(&new)?;
        let secret = (!new.public).then(secrets::new_opaque);
        let row = ClientRow {
            id: new.client_id.clone(),
            secret_sha256: secret.as_ref().map(secret_digest),
            redirect_uris: new.redirect_uris.join(" "),
            post_logout_redirect_uris: new.post_logout_redirect_uris.join(" "),
            grant_types: grant_types
                .iter()
                .map(|grant| grant.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            scopes: scope.to_string(),
            created_at: self.clock.now(),
        };
        let stored = row.clone();
        self.db
            .write(move |conn| match ClientRow::insert(conn, &stored) {
                Ok(_) => Ok(()),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Err(Error::ClientIdTaken),
                Err(error) => Err(error.into()),
            })
            .await?;
        tracing::info!(client.id = %row.id, client.public = new.public, "client registered");
        Ok(CreatedClient {
            client: Client::from_row(row),
            secret,
        })
    }

    /// Every client, by id.
    /// The client `client_id`, from this replica's copy if it is at most
    /// [`CLIENT_CACHE_TTL`] old, else from the database.
    pub async fn find(&self, client_id: &str) -> Result<Option<Client>, Error> {
        let cached = self
            .cache
            .read()
            .expect("no reader panics holding the lock")
            .get(client_id)
            .filter(|(_, read_at)| read_at.elapsed() < CLIENT_CACHE_TTL)
            .map(|(client, _)| client.clone());
        if cached.is_some() {
            return Ok(cached);
        }
        let id = client_id.to_owned();
        let row = self
            .db
            .run(move |conn| Ok(ClientRow::find(conn, &id)?))
            .await?;
        let client = row.map(Client::from_row);
        let mut cache = self
            .cache
            .write()
            .expect("no writer panics holding the lock");
        match &client {
            Some(client) => {
                cache.insert(client.id.clone(), (client.clone(), Instant::now()));
            }
            None => {
                cache.remove(client_id);
            }
        }
        // Bounded by the clients registered: only found clients are kept, and stale ones
        // are dropped whenever the map grows past them.
        if cache.len() > 1024 {
            cache.retain(|_, (_, read_at)| read_at.elapsed() < CLIENT_CACHE_TTL);
        }
        Ok(client)
    }

    pub async fn list(&self) -> Result<Vec<Client>, Error> {
        let rows = self.db.run(|conn| Ok(ClientRow::list(conn)?)).await?;
        Ok(rows.into_iter().map(Client::from_row).collect())
    }

    /// Deletes a client and revokes every session granted to it; returns how many.
    pub async fn delete(&self, client_id: &str) -> Result<usize, Error> {
        let (id, now) = (client_id.to_owned(), self.clock.now());
        let revoked = self
            .db
            .write(move |conn| {
                conn.transaction(|conn| {
                    let revoked = RefreshFamily::revoke_all_of_client(conn, &id, now)?;
                    if !ClientRow::delete(conn, &id)? {
                        return Err(Error::NotFound("client".into()));
                    }
                    Ok(revoked)
                })
            })
            .await?;
        self.cache
            .write()
            .expect("no writer panics holding the lock")
            .remove(client_id);
        self.revocations.sync().await?;
        tracing::info!(client.id = %client_id, sessions.revoked = revoked, "client deleted");
        Ok(revoked)
    }

    /// The client these credentials prove: a confidential client with its secret, a public
    /// client with none. Anything else is `InvalidClient`, whichever part was wrong.
    pub async fn authenticate(&self, credentials: ClientCredentials) -> Result<Client, Error> {
        let client = self
            .find(&credentials.client_id)
            .await?
            .ok_or(Error::InvalidClient)?;
        let proven = match (&credentials.secret, client.public) {
            (None, true) => true,
            (Some(secret), false) => client.secret_matches(secret),
            // A secret for a public client, or none for a confidential one.
            _ => false,
        };
        if proven {
            Ok(client)
        } else {
            Err(Error::InvalidClient)
        }
    }
}

/// Every rule a new client must meet, reported per field (named as the command line's
/// options are); returns its grant types and scope.
fn validate(new: &NewClient) -> Result<(Vec<GrantType>, Scope), Error> {
    let mut errors = FieldErrors::new();
    let mut error = |field: &str, message: String| {
        errors.entry(field.to_owned()).or_default().push(message);
    };
    if let Some(reason) = check_client_id(&new.client_id) {
        error("client_id", reason);
    }
    let mut grant_types = Vec::new();
    let names: Vec<&str> = if new.grant_types.is_empty() {
        vec!["authorization_code", "refresh_token"]
    } else {
        new.grant_types.iter().map(String::as_str).collect()
    };
    for name in names {
        match GrantType::parse(name) {
            Some(grant) if !grant_types.contains(&grant) => grant_types.push(grant),
            Some(_) => {}
            None => error(
                "grant",
                format!(
                    "unknown grant type {name:?}; one of authorization_code, refresh_token, \
                     client_credentials, password"
                ),
            ),
        }
    }
    if new.public && grant_types.contains(&GrantType::ClientCredentials) {
        error(
            "grant",
            "a public client has no secret, so it cannot use client_credentials".into(),
        );
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        error(
            "redirect_uri",
            "the authorization_code grant needs at least one redirect URI".into(),
        );
    }
    for uri in &new.redirect_uris {
        if let Some(reason) = check_redirect_uri(uri) {
            error("redirect_uri", format!("{uri:?}: {reason}"));
        }
    }
    for uri in &new.post_logout_redirect_uris {
        if let Some(reason) = check_redirect_uri(uri) {
            error("post_logout_redirect_uri", format!("{uri:?}: {reason}"));
        }
    }
    let scope_text = if new.scopes.is_empty() {
        DEFAULT_SCOPE.to_owned()
    } else {
        new.scopes.join(" ")
    };
    let scope = match Scope::parse(&scope_text) {
        Ok(scope) if scope.is_empty() => {
            error("scope", "a client needs at least one scope".into());
            Scope::default()
        }
        Ok(scope) => scope,
        Err(reason) => {
            error("scope", reason);
            Scope::default()
        }
    };
    if errors.is_empty() {
        Ok((grant_types, scope))
    } else {
        Err(Error::Fields(errors))
    }
}

/// Why a client id is refused; `None` when it is fine. Unreserved URI characters only, so
/// that it reads the same in a URL, a form and HTTP Basic credentials.
fn check_client_id(client_id: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if client_id.is_empty()
        || client_id.chars().count() > CLIENT_ID_MAX_CHARS
        || !client_id.chars().all(allowed)
    {
        return Some(format!(
            "1 to {CLIENT_ID_MAX_CHARS} characters of letters, digits and -._~"
        ));
    }
    if client_id == FIRST_PARTY_CLIENT {
        return Some(format!(
            "{FIRST_PARTY_CLIENT:?} is reserved: it names tokens of idgate's own JSON API"
        ));
    }
    None
}

/// Why a redirect URI is refused; `None` when it is fine. It is stored as written and later
/// compared exactly. https anywhere; http only on loopback (RFC 8252 §7.3); a private-use
/// scheme of a native app (`com.example.app:/callback`, RFC 8252 §7.1).
pub fn check_redirect_uri(uri: &str) -> Option<String> {
    if uri.len() > URI_MAX_BYTES {
        return Some(format!("longer than {URI_MAX_BYTES} bytes"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace or control characters".into());
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some("not an absolute URI".into());
    };
    if parsed.fragment().is_some() || uri.contains('#') {
        return Some("must not contain a fragment (RFC 6749 §3.1.2)".into());
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => None,
        "http" if is_loopback(&parsed) => None,
        "http" => Some("http is allowed only on loopback addresses; use https".into()),
        scheme if scheme.contains('.') => None,
        scheme => Some(format!(
            "scheme {scheme:?} is not allowed; use https (http on loopback, or a native app's \
             reverse-domain scheme)"
        )),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scope: &str) -> Client {
        Client {
            id: "app".into(),
            public: false,
            secret_sha256: Some(secret_digest(&SecretString::from("s3cret"))),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: vec![GrantType::ClientCredentials, GrantType::Password],
            scope: Scope::parse(scope).unwrap(),
            created_at: 0,
        }
    }

    #[test]
    fn redirect_uris_are_https_loopback_http_or_a_private_scheme() {
        for good in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?x=1",
            "http://127.0.0.1:3000/cb",
            "http://127.0.0.2/cb",
            "http://[::1]:8080/cb",
            "http://localhost/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check_redirect_uri(good), None, "{good}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "/relative/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://app.example.com/c b",
            "https://app.example.com/\ncb",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn client_ids_are_unreserved_characters_and_not_idgate() {
        assert_eq!(check_client_id("web-app_1.v2~x"), None);
        assert!(check_client_id("").is_some());
        assert!(check_client_id("a b").is_some());
        assert!(check_client_id("a:b").is_some());
        assert!(check_client_id(&"a".repeat(101)).is_some());
        assert!(check_client_id("idgate").is_some());
    }

    #[test]
    fn scopes_are_granted_within_what_the_client_may_have() {
        let app = client("openid profile api:read");
        assert_eq!(
            app.grant_scope(None, true).unwrap().to_string(),
            "api:read openid profile"
        );
        assert_eq!(
            app.grant_scope(Some("openid"), true).unwrap().to_string(),
            "openid"
        );
        assert_eq!(app.grant_scope(Some(""), true).unwrap(), app.scope);
        assert!(matches!(
            app.grant_scope(Some("openid admin"), true),
            Err(Error::InvalidScope(_))
        ));
        // A client acting for itself holds no user scopes.
        assert_eq!(
            app.grant_scope(None, false).unwrap().to_string(),
            "api:read"
        );
        assert!(matches!(
            app.grant_scope(Some("openid"), false),
            Err(Error::InvalidScope(reason)) if reason.contains("needs a user")
        ));
    }

    #[test]
    fn secrets_match_exactly() {
        let app = client("api");
        assert!(app.secret_matches(&SecretString::from("s3cret")));
        assert!(!app.secret_matches(&SecretString::from("s3cret ")));
        assert!(!app.secret_matches(&SecretString::from("")));
        let shown = format!("{app:?}");
        assert!(!shown.contains(&secret_digest(&SecretString::from("s3cret"))));
    }

    #[test]
    fn new_clients_are_checked_field_by_field() {
        let Err(Error::Fields(errors)) = validate(&NewClient {
            client_id: "bad id".into(),
            public: true,
            grant_types: vec!["client_credentials".into(), "implicit".into()],
            ..NewClient::default()
        }) else {
            panic!("expected field errors");
        };
        assert_eq!(errors["client_id"].len(), 1);
        assert_eq!(errors["grant"].len(), 2);
        assert!(!errors.contains_key("redirect_uri"));
        let Err(Error::Fields(errors)) = validate(&NewClient {
            client_id: "web".into(),
            ..NewClient::default()
        }) else {
            panic!("expected field errors");
        };
        assert!(errors["redirect_uri"][0].contains("authorization_code"));
        let (grants, scope) = validate(&NewClient {
            client_id: "web".into(),
            redirect_uris: vec!["https://web.example/cb".into()],
            ..NewClient::default()
        })
        .unwrap();
        assert_eq!(
            grants,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(scope.to_string(), "email openid profile");
    }
}

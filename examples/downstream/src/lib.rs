//! A service of its own that trusts idgate's access tokens offline: `GET /hello/` for any
//! signed-in user, `GET /admin/` for users with the `admin` role. It never calls idgate but to
//! fetch its keys and, when given a client's credentials, its revocation feed.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use idgate_verifier::actix::{AuthError, Authenticated};
use idgate_verifier::{ConfigError, RevocationFeed, Verifier};
use serde_json::json;

/// What the service needs to know, from the environment (see [`Settings::from_env`]).
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub issuer: String,
    pub audience: String,
    /// A confidential client's id and secret, to poll the revocation feed; without them,
    /// sign-outs reach this service only when the tokens expire.
    pub feed_client: Option<(String, String)>,
    pub poll_interval: Duration,
}

impl Settings {
    /// `DOWNSTREAM_LISTEN` (default `127.0.0.1:8000`), `IDGATE_ISSUER` (default
    /// `http://127.0.0.1:8080`, idgate's own default), `IDGATE_AUDIENCE` (default: the issuer,
    /// as idgate's `tokens.audience`), `DOWNSTREAM_CLIENT_ID` and `DOWNSTREAM_CLIENT_SECRET`,
    /// `DOWNSTREAM_POLL_SECONDS` (default 5).
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let issuer = var("IDGATE_ISSUER").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let poll_seconds = match var("DOWNSTREAM_POLL_SECONDS") {
            None => 5,
            Some(text) => text.parse().map_err(|_| {
                format!("DOWNSTREAM_POLL_SECONDS={text:?} is not a number of seconds")
            })?,
        };
        let feed_client = match (var("DOWNSTREAM_CLIENT_ID"), var("DOWNSTREAM_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err(
                    "set DOWNSTREAM_CLIENT_ID and DOWNSTREAM_CLIENT_SECRET together".into(),
                );
            }
        };
        Ok(Settings {
            listen: var("DOWNSTREAM_LISTEN").unwrap_or_else(|| "127.0.0.1:8000".into()),
            audience: var("IDGATE_AUDIENCE").unwrap_or_else(|| issuer.clone()),
            issuer,
            feed_client,
            poll_interval: Duration::from_secs(poll_seconds),
        })
    }

    pub fn verifier(&self) -> Result<Verifier, ConfigError> {
        let mut builder = Verifier::builder(&self.issuer).audience(&self.audience);
        if let Some((id, secret)) = &self.feed_client {
            builder =
                builder.revocations(RevocationFeed::new(id, secret).interval(self.poll_interval));
        }
        builder.build()
    }
}

/// `/hello/` and `/admin/` (with and without the trailing slash).
pub fn routes(config: &mut web::ServiceConfig) {
    for path in ["/hello/", "/hello"] {
        config.route(path, web::get().to(hello));
    }
    for path in ["/admin/", "/admin"] {
        config.route(path, web::get().to(admin));
    }
}

async fn hello(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": format!("Hello, user {}!", user.sub),
        "sub": user.sub,
        "user_id": user.user_id,
        "scope": user.scope,
        "roles": user.roles,
    }))
}

async fn admin(user: Authenticated) -> Result<HttpResponse, AuthError> {
    user.require_role("admin")?;
    Ok(HttpResponse::Ok().json(json!({ "message": format!("Hello, admin {}!", user.sub) })))
}

/// The service on `listener`, verifying with `verifier`.
pub fn server(
    listener: TcpListener,
    verifier: Verifier,
    workers: usize,
) -> std::io::Result<Server> {
    Ok(
        HttpServer::new(move || App::new().app_data(verifier.clone()).configure(routes))
            .workers(workers)
            .listen(listener)?
            .run(),
    )
}

//! `POST /oauth/token` (RFC 6749 §3.2): the client authenticates, then exchanges a grant for
//! tokens. Which grants a client may use and what scope it gets are the `oauth` module's
//! decisions; the sessions service issues the tokens.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Serialize;

use super::error::{OAuthError, OAuthResult};
use super::form::{OAuthForm, client_credentials};
use crate::auth::Credentials;
use crate::error::Error;
use crate::oauth::GrantType;
use crate::routes::extract::ClientAddress;
use crate::routes::no_store;
use crate::routes::scheduling::yield_to_ready_requests;
use crate::scope::Scope;
use crate::sessions::{CodeExchange, Grant, IssuedTokens, RefreshRequest};
use crate::state::AppState;

/// RFC 6749 §5.1's answer. `Debug` is not derived: it holds tokens.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    scope: String,
}

impl From<IssuedTokens> for TokenResponse {
    fn from(tokens: IssuedTokens) -> Self {
        TokenResponse {
            access_token: tokens.access,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh,
            id_token: tokens.id_token,
            scope: tokens.scope.to_string(),
        }
    }
}

pub async fn token(
    app: Data<AppState>,
    ClientAddress(address): ClientAddress,
    request: HttpRequest,
    mut form: OAuthForm,
) -> OAuthResult<HttpResponse> {
    let credentials = client_credentials(&request, &mut form)?;
    let client = app.clients.authenticate(credentials).await?;
    let grant_name = form.required("grant_type")?;
    let grant_type = GrantType::parse(&grant_name)
        .ok_or_else(|| OAuthError::UnsupportedGrantType(grant_name.clone()))?;
    if !client.allows(grant_type) {
        return Err(Error::UnauthorizedClient(format!(
            "client {:?} may not use the {grant_name} grant",
            client.id
        ))
        .into());
    }
    let scope = form.take("scope");
    let tokens = match grant_type {
        GrantType::Password => {
            let username = form.required("username")?;
            let password = SecretString::from(form.required("password")?);
            let scope = client.grant_scope(scope.as_deref(), true)?;
            let user = app
                .authenticator
                .authenticate(Credentials { username, password }, address)
                .await?;
            let grant = Grant {
                client_id: Some(client.id.clone()),
                scope,
                refresh_token: client.allows(GrantType::RefreshToken),
            };
            app.sessions.start_with(&user, &grant).await?
        }
        GrantType::RefreshToken => {
            let refresh_token = form.required("refresh_token")?;
            let narrower = scope
                .as_deref()
                .map(Scope::parse)
                .transpose()
                .map_err(Error::InvalidScope)?
                .filter(|scope| !scope.is_empty());
            let request = RefreshRequest {
                client_id: Some(&client.id),
                scope: narrower.as_ref(),
            };
            app.sessions.refresh_for(&refresh_token, request).await?
        }
        GrantType::ClientCredentials => {
            let scope = client.grant_scope(scope.as_deref(), false)?;
            app.sessions.issue_for_client(&client.id, &scope)?
        }
        GrantType::AuthorizationCode => {
            let code = form.required("code")?;
            let redirect_uri = form.take("redirect_uri");
            let code_verifier = form.take("code_verifier");
            let exchange = CodeExchange {
                client_id: &client.id,
                redirect_uri: redirect_uri.as_deref(),
                code_verifier: code_verifier.as_deref(),
            };
            let refresh_token = client.allows(GrantType::RefreshToken);
            app.sessions
                .redeem_code(&code, exchange, refresh_token)
                .await?
        }
    };
    yield_to_ready_requests().await;
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .insert_header(("pragma", "no-cache"))
        .json(TokenResponse::from(tokens)))
}

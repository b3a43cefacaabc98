//! Checking an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636)
//! in the order RFC 6749 §4.1.2.1 needs: until the client and its redirect URI are known good,
//! an error is shown to the user and never sent anywhere; after that, errors go back to the
//! client's redirect URI.

use super::clients::{Client, GrantType};
use crate::scope::Scope;

/// The parameters of an authorization request, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
}

impl AuthorizationParams {
    /// The parameters as name–value pairs, to carry them through the sign-in form.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }
}

/// What the user is asked for (OpenID Connect Core §3.1.2.1 `prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Use a live session if there is one, else ask.
    Default,
    /// Never show a page: without a session, `login_required`.
    None,
    /// Ask for the password even with a live session.
    Login,
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub client: Client,
    pub redirect_uri: String,
    /// The request named the redirect URI (so the token request must name it too).
    pub redirect_uri_given: bool,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// Seconds since the password was entered beyond which it must be entered again.
    pub max_age: Option<i64>,
}

/// Why a request is refused, and where the answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The client or the redirect URI is not known good: a page for the user, no redirect.
    ToUser(String),
    /// An error for the client, sent to its redirect URI (RFC 6749 §4.1.2.1).
    ToClient(ClientError),
}

/// An error sent back to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub error: &'static str,
    pub description: String,
}

/// Checks `params` against `client` (the one `client_id` names, if registered).
pub fn check(
    client: Option<Client>,
    params: &AuthorizationParams,
) -> Result<Authorization, Refusal> {
    let Some(client_id) = params.client_id.as_deref() else {
        return Err(Refusal::ToUser(
            "The request names no client (client_id).".into(),
        ));
    };
    let Some(client) = client.filter(|client| client.id == client_id) else {
        return Err(Refusal::ToUser(format!(
            "The application {client_id:?} is not registered with this sign-in service."
        )));
    };
    let (redirect_uri, redirect_uri_given) = match params.redirect_uri.as_deref() {
        // Compared exactly: no prefix, no case folding, no normalisation.
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|registered| registered == uri) =>
        {
            (uri.to_owned(), true)
        }
        Some(_) => {
            return Err(Refusal::ToUser(
                "The redirect URI of this request is not registered for the application.".into(),
            ));
        }
        None if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
        None => {
            return Err(Refusal::ToUser(
                "The request names no redirect URI, and the application has several.".into(),
            ));
        }
    };
    let refuse = |error: &'static str, description: String| {
        Refusal::ToClient(ClientError {
            redirect_uri: redirect_uri.clone(),
            state: params.state.clone(),
            error,
            description,
        })
    };
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is missing".into())),
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(refuse(
            "unauthorized_client",
            "this client may not use the authorization code flow".into(),
        ));
    }
    let scope = client
        .grant_scope(params.scope.as_deref(), true)
        .map_err(|error| refuse("invalid_scope", error.to_string()))?;
    let code_challenge = match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (None, None) if client.public => {
            return Err(refuse(
                "invalid_request",
                "a public client must use PKCE (code_challenge with S256)".into(),
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge is missing".into(),
            ));
        }
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be 43 base64url characters (S256)".into(),
            ));
        }
        (Some(_), None | Some(_)) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)".into(),
            ));
        }
    };
    let mut prompt = Prompt::Default;
    for value in params.prompt.as_deref().unwrap_or_default().split(' ') {
        prompt = match (value, prompt) {
            ("", _) | ("consent" | "select_account", _) => prompt,
            ("none", Prompt::Default) => Prompt::None,
            ("login", Prompt::Default) => Prompt::Login,
            ("none", Prompt::Login) | ("login", Prompt::None) => {
                return Err(refuse(
                    "invalid_request",
                    "prompt=none cannot be combined with another prompt".into(),
                ));
            }
            ("none", Prompt::None) | ("login", Prompt::Login) => prompt,
            (other, _) => {
                return Err(refuse(
                    "invalid_request",
                    format!("prompt {other:?} is not supported"),
                ));
            }
        };
    }
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if seconds >= 0 => Some(seconds),
            _ => {
                return Err(refuse(
                    "invalid_request",
                    "max_age must be a non-negative number of seconds".into(),
                ));
            }
        },
    };
    Ok(Authorization {
        client,
        redirect_uri,
        redirect_uri_given,
        scope,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
    })
}

/// An S256 challenge is the base64url of a SHA-256: 43 characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

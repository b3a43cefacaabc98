//! `GET|POST /logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). Ends the
//! browser's single-sign-on session and every app session that came from it, then sends the
//! browser to a post-logout redirect URI only if the app registered it exactly.

use actix_web::cookie::{Cookie, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use super::SESSION_COOKIE;
use super::authorize::read_form;
use super::pages::{self, PageError};
use crate::routes::oauth::form::OAuthForm;
use crate::state::AppState;
use crate::tokens::verify::id_token_hint_audience;

pub async fn logout(
    app: Data<AppState>,
    request: HttpRequest,
    payload: actix_web::web::Payload,
) -> Result<HttpResponse, PageError> {
    let mut form = if request.method() == actix_web::http::Method::POST {
        read_form(&request, payload.into_inner()).await?
    } else {
        OAuthForm::parse(request.query_string().as_bytes())
            .map_err(|error| PageError::bad_request(error.to_string()))?
    };
    let hinted = match form.take("id_token_hint") {
        Some(hint) => Some(
            id_token_hint_audience(&app.keys.current(), app.sessions.rules(), &hint).map_err(
                |_| PageError::bad_request("The id_token_hint is not an ID token of this service."),
            )?,
        ),
        None => None,
    };
    let client_id = match (form.take("client_id"), hinted) {
        (Some(named), Some(hinted)) if named != hinted => {
            return Err(PageError::bad_request(
                "client_id and the id_token_hint name different applications.",
            ));
        }
        (named, hinted) => named.or(hinted),
    };
    let state = form.take("state");
    // Checked before anything ends, so that a refused redirect leaves the session as it was.
    let destination = match form.take("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match client_id.as_deref() {
                Some(id) => app.clients.find(id).await?,
                None => None,
            };
            let registered = client.is_some_and(|client| {
                client
                    .post_logout_redirect_uris
                    .iter()
                    .any(|registered| registered == &uri)
            });
            if !registered {
                return Err(PageError::bad_request(
                    "That address is not registered for returning after sign-out; you have not \
                     been signed out.",
                ));
            }
            Some(uri)
        }
    };
    if let Some(cookie) = request.cookie(SESSION_COOKIE) {
        app.browser_sessions.end(cookie.value()).await?;
    }
    let mut response = match destination {
        Some(uri) => {
            let location = match (url::Url::parse(&uri), state) {
                (Ok(mut url), Some(state)) => {
                    url.query_pairs_mut().append_pair("state", &state);
                    url.to_string()
                }
                _ => uri,
            };
            pages::redirect(&location).finish()
        }
        None => pages::message(
            StatusCode::OK,
            "Signed out",
            "You are signed out of every application that uses this sign-in.",
        ),
    };
    let expired = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .max_age(CookieDuration::ZERO)
        .finish();
    response.add_cookie(&expired).map_err(|error| {
        crate::error::Error::Internal(anyhow::anyhow!("clearing the cookie: {error}"))
    })?;
    Ok(response)
}

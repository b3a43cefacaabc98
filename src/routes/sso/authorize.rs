//! `GET|POST /authorize` and `POST /login`: the authorization code flow's browser half.
//! A live session cookie signs the browser in to the app at once (single sign-on); otherwise
//! the sign-in page asks for the password, checked by the same `Authenticator` and throttle
//! as the JSON API.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};

use super::pages::{self, LoginPage, PageError};
use super::{CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::Credentials;
use crate::error::Error;
use crate::oauth::authorize::{
    self, Authorization, AuthorizationParams, ClientError, Prompt, Refusal,
};
use crate::routes::extract::ClientAddress;
use crate::routes::input::MAX_BODY_BYTES;
use crate::routes::oauth::form::OAuthForm;
use crate::secrets;
use crate::sessions::{CodeGrant, LiveBrowserSession};
use crate::state::AppState;

/// Where the sign-in form posts.
pub const LOGIN_PATH: &str = "/login";

pub async fn authorize(
    app: Data<AppState>,
    request: HttpRequest,
    payload: actix_web::web::Payload,
) -> Result<HttpResponse, PageError> {
    let mut form = if request.method() == actix_web::http::Method::POST {
        read_form(&request, payload.into_inner()).await?
    } else {
        OAuthForm::parse(request.query_string().as_bytes()).map_err(repeated)?
    };
    let params = take_params(&mut form);
    let authorization = match checked(&app, &params).await? {
        Ok(authorization) => authorization,
        Err(response) => return Ok(response),
    };
    let session = match (authorization.prompt, request.cookie(SESSION_COOKIE)) {
        (Prompt::Login, _) | (_, None) => None,
        (_, Some(cookie)) => {
            app.browser_sessions
                .current(cookie.value())
                .await?
                .filter(|session| {
                    authorization.max_age.is_none_or(|max_age| {
                        app.browser_sessions.signed_in_within(session, max_age)
                    })
                })
        }
    };
    match session {
        Some(session) => grant_code(&app, &session, authorization).await,
        None if authorization.prompt == Prompt::None => Ok(redirect_error(
            &app,
            ClientError {
                redirect_uri: authorization.redirect_uri,
                state: authorization.state,
                error: "login_required",
                description: "the user is not signed in".into(),
            },
        )),
        None => Ok(login_page(
            &app,
            &request,
            &authorization,
            &params,
            StatusCode::OK,
            "",
            None,
        )),
    }
}

pub async fn login(
    app: Data<AppState>,
    ClientAddress(address): ClientAddress,
    request: HttpRequest,
    payload: actix_web::web::Payload,
) -> Result<HttpResponse, PageError> {
    let mut form = read_form(&request, payload.into_inner()).await?;
    let csrf_ok = match (form.take("csrf_token"), request.cookie(CSRF_COOKIE)) {
        (Some(sent), Some(cookie)) => secrets::equal(&sent, cookie.value()),
        _ => false,
    };
    if !csrf_ok {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or did not come from this site. Go back to the \
             application and sign in again."
                .into(),
        ));
    }
    let username = form.take("username").unwrap_or_default();
    let password = form.take("password").unwrap_or_default();
    let params = take_params(&mut form);
    let authorization = match checked(&app, &params).await? {
        Ok(authorization) => authorization,
        Err(response) => return Ok(response),
    };
    let again = |status, message: &str| {
        login_page(
            &app,
            &request,
            &authorization,
            &params,
            status,
            &username,
            Some(message.to_owned()),
        )
    };
    if username.trim().is_empty() || password.is_empty() {
        return Ok(again(
            StatusCode::BAD_REQUEST,
            "Enter your username and password.",
        ));
    }
    let credentials = Credentials {
        username: username.trim().to_owned(),
        password: SecretString::from(password),
    };
    let user = match app.authenticator.authenticate(credentials, address).await {
        Ok(user) => user,
        // One message for an unknown user, a wrong password and a disabled account.
        Err(Error::InvalidCredentials) => {
            return Ok(again(
                StatusCode::UNAUTHORIZED,
                "The username or password is not right.",
            ));
        }
        Err(Error::Throttled { retry_after }) => {
            let mut response = again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many failed sign-ins. Try again in {retry_after} seconds."),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).expect("digits"),
            );
            return Ok(response);
        }
        Err(other) => return Err(other.into()),
    };
    let (session, cookie) = app.browser_sessions.start(&user).await?;
    let mut response = grant_code(&app, &session, authorization).await?;
    let session_cookie = Cookie::build(SESSION_COOKIE, cookie.expose_secret().to_owned())
        .path("/")
        .http_only(true)
        .secure(secure_cookies(&app))
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(app.browser_sessions.ttl()))
        .finish();
    response
        .add_cookie(&session_cookie)
        .map_err(|error| Error::Internal(anyhow::anyhow!("setting the session cookie: {error}")))?;
    Ok(response)
}

/// The authorization request checked against its client: `Err` holds the answer to a refused
/// one (a page, or an error redirect to the client).
async fn checked(
    app: &AppState,
    params: &AuthorizationParams,
) -> Result<Result<Authorization, HttpResponse>, PageError> {
    let client = match params.client_id.as_deref() {
        Some(client_id) => app.clients.find(client_id).await?,
        None => None,
    };
    Ok(match authorize::check(client, params) {
        Ok(authorization) => Ok(authorization),
        Err(Refusal::ToUser(text)) => Err(actix_web::ResponseError::error_response(
            &PageError::bad_request(text),
        )),
        Err(Refusal::ToClient(error)) => Err(redirect_error(app, error)),
    })
}

/// Issues a code and sends the browser back to the app with it, `state` and `iss` (RFC 9207).
async fn grant_code(
    app: &AppState,
    session: &LiveBrowserSession,
    authorization: Authorization,
) -> Result<HttpResponse, PageError> {
    let grant = CodeGrant {
        client_id: authorization.client.id.clone(),
        redirect_uri: authorization.redirect_uri.clone(),
        redirect_uri_given: authorization.redirect_uri_given,
        scope: authorization.scope,
        nonce: authorization.nonce,
        code_challenge: authorization.code_challenge,
    };
    let code = app.browser_sessions.issue_code(session, grant).await?;
    let mut pairs = vec![("code", code.expose_secret())];
    if let Some(state) = authorization.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &app.settings.issuer));
    let location = with_query(&authorization.redirect_uri, &pairs);
    Ok(pages::redirect(&location).finish())
}

/// An error for the client, at its (already checked) redirect URI.
fn redirect_error(app: &AppState, error: ClientError) -> HttpResponse {
    let mut pairs = vec![
        ("error", error.error),
        ("error_description", error.description.as_str()),
    ];
    if let Some(state) = error.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &app.settings.issuer));
    pages::redirect(&with_query(&error.redirect_uri, &pairs)).finish()
}

/// `uri` with `pairs` added to its query, keeping what it already has.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Registered URIs are checked to parse; this is only a fallback.
        Err(_) => uri.to_owned(),
    }
}

/// The sign-in page for `authorization`, carrying the request's parameters through the form.
fn login_page(
    app: &AppState,
    request: &HttpRequest,
    authorization: &Authorization,
    params: &AuthorizationParams,
    status: StatusCode,
    username: &str,
    error: Option<String>,
) -> HttpResponse {
    // One CSRF value per browser, reused across tabs; a new one when there is none yet.
    let csrf = request
        .cookie(CSRF_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| value.len() == 43)
        .unwrap_or_else(|| secrets::new_opaque().expose_secret().to_owned());
    let target = origin_of(&authorization.redirect_uri);
    let mut response = pages::html(status, target.as_deref(), |style_nonce| {
        LoginPage {
            style_nonce,
            action: LOGIN_PATH,
            client_id: &authorization.client.id,
            csrf_token: &csrf,
            params: params.pairs(),
            username,
            error,
        }
        .render()
    });
    let cookie = Cookie::build(CSRF_COOKIE, csrf)
        .path(LOGIN_PATH)
        .http_only(true)
        .secure(secure_cookies(app))
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::hours(1))
        .finish();
    if let Err(error) = response.add_cookie(&cookie) {
        tracing::error!(error = %error, "setting the CSRF cookie");
    }
    response
}

/// `scheme://host[:port]` of a URI, for `form-action`; `None` for a private-use scheme.
fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
    }
}

/// Cookies are `Secure` when idgate is served over https.
fn secure_cookies(app: &AppState) -> bool {
    app.settings.issuer.starts_with("https://")
}

fn take_params(form: &mut OAuthForm) -> AuthorizationParams {
    AuthorizationParams {
        response_type: form.take("response_type"),
        client_id: form.take("client_id"),
        redirect_uri: form.take("redirect_uri"),
        scope: form.take("scope"),
        state: form.take("state"),
        nonce: form.take("nonce"),
        code_challenge: form.take("code_challenge"),
        code_challenge_method: form.take("code_challenge_method"),
        prompt: form.take("prompt"),
        max_age: form.take("max_age"),
    }
}

/// A form body, as a page error when it is not one.
pub(super) async fn read_form(
    request: &HttpRequest,
    mut payload: Payload,
) -> Result<OAuthForm, PageError> {
    let is_form = request
        .content_type()
        .parse::<mime::Mime>()
        .is_ok_and(|media| {
            media.type_() == mime::APPLICATION && media.subtype() == mime::WWW_FORM_URLENCODED
        });
    if !is_form {
        return Err(PageError::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This page takes a submitted form.".into(),
        ));
    }
    let body = Bytes::from_request(request, &mut payload)
        .await
        .map_err(|error| {
            if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                PageError::Status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("The form is larger than {MAX_BODY_BYTES} bytes."),
                )
            } else {
                PageError::bad_request("The form could not be read.")
            }
        })?;
    OAuthForm::parse(&body).map_err(repeated)
}

/// A parameter given twice: shown to the user, never redirected (the redirect URI itself may be
/// the repeated one).
fn repeated(error: crate::routes::oauth::error::OAuthError) -> PageError {
    PageError::bad_request(error.to_string())
}

//! Reading an OAuth request: a form body whose parameters each appear once (RFC 6749 §3.1),
//! and the client's credentials from HTTP Basic or the form (§2.3.1).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;

use super::error::{OAuthError, OAuthResult};
use crate::error::Error;
use crate::oauth::ClientCredentials;
use crate::routes::input::MAX_BODY_BYTES;

/// The parameters of a form body, each present once; empty ones count as absent (§3.1).
pub struct OAuthForm {
    values: HashMap<String, String>,
}

impl OAuthForm {
    /// Parses `body`; a parameter given twice is refused, whatever its values.
    pub fn parse(body: &[u8]) -> OAuthResult<OAuthForm> {
        let mut values = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if values
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {name:?} is repeated; each may appear once (RFC 6749 §3.1)"
                )));
            }
        }
        values.retain(|_, value| !value.is_empty());
        Ok(OAuthForm { values })
    }

    /// An optional parameter.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    /// A parameter the request must have.
    pub fn required(&mut self, name: &str) -> OAuthResult<String> {
        self.take(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("missing parameter {name:?}")))
    }
}

impl FromRequest for OAuthForm {
    type Error = OAuthError;
    type Future = Pin<Box<dyn Future<Output = OAuthResult<Self>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = request.content_type().to_owned();
        let body = Bytes::from_request(request, payload);
        Box::pin(async move {
            let is_form = content_type.parse::<mime::Mime>().is_ok_and(|media| {
                media.type_() == mime::APPLICATION && media.subtype() == mime::WWW_FORM_URLENCODED
            });
            if !is_form {
                return Err(OAuthError::UnsupportedMediaType(
                    content_type.to_ascii_lowercase(),
                ));
            }
            let body = body.await.map_err(|error| {
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    OAuthError::PayloadTooLarge {
                        limit: MAX_BODY_BYTES,
                    }
                } else {
                    OAuthError::InvalidRequest(format!("could not read the request body: {error}"))
                }
            })?;
            OAuthForm::parse(&body)
        })
    }
}

/// Who the request says it is: HTTP Basic (`client_secret_basic`), or `client_id` and
/// `client_secret` in the form (`client_secret_post`), or a bare `client_id` (a public
/// client). Using two methods at once is refused (§2.3).
pub fn client_credentials(
    request: &HttpRequest,
    form: &mut OAuthForm,
) -> OAuthResult<ClientCredentials> {
    let form_id = form.take("client_id");
    let form_secret = form.take("client_secret");
    let Some(authorization) = request.headers().get(header::AUTHORIZATION) else {
        let client_id = form_id.ok_or(Error::InvalidClient)?;
        return Ok(ClientCredentials {
            client_id,
            secret: form_secret.map(SecretString::from),
        });
    };
    let (client_id, secret) = basic_credentials(authorization).ok_or(Error::InvalidClient)?;
    if form_secret.is_some() {
        return Err(OAuthError::InvalidRequest(
            "the client authenticated twice: HTTP Basic and client_secret; use one".into(),
        ));
    }
    if form_id.is_some_and(|id| id != client_id) {
        return Err(OAuthError::InvalidRequest(
            "client_id differs from the client of the Authorization header".into(),
        ));
    }
    Ok(ClientCredentials {
        client_id,
        secret: Some(secret),
    })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(value: &header::HeaderValue) -> Option<(String, SecretString)> {
    let value = value.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let (id, secret) = (form_decode(id)?, form_decode(secret)?);
    if id.is_empty() {
        return None;
    }
    Some((id, SecretString::from(secret)))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Option<String> {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use secrecy::ExposeSecret;

    fn form(body: &str) -> OAuthForm {
        OAuthForm::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_are_absent() {
        assert!(matches!(
            OAuthForm::parse(b"grant_type=password&scope=a&scope=b"),
            Err(OAuthError::InvalidRequest(reason)) if reason.contains("\"scope\"")
        ));
        let mut form = form("grant_type=password&scope=&username=al%20ice");
        assert_eq!(form.take("scope"), None);
        assert_eq!(form.required("username").unwrap(), "al ice");
        assert!(form.required("password").is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = |raw: &str| {
            let encoded = STANDARD.encode(raw);
            TestRequest::default()
                .insert_header((header::AUTHORIZATION, format!("Basic {encoded}")))
                .to_http_request()
        };
        let request = header("my%20app:p%3Ass+word");
        let credentials = client_credentials(&request, &mut form("")).unwrap();
        assert_eq!(credentials.client_id, "my app");
        assert_eq!(credentials.secret.unwrap().expose_secret(), "p:ss word");
        // The same client named in the form too is fine; another one, or a second secret, not.
        assert!(client_credentials(&header("a:b"), &mut form("client_id=a")).is_ok());
        assert!(client_credentials(&header("a:b"), &mut form("client_id=c")).is_err());
        assert!(client_credentials(&header("a:b"), &mut form("client_secret=b")).is_err());
        for bad in ["nocolon", ":secret"] {
            assert!(matches!(
                client_credentials(&header(bad), &mut form("")),
                Err(OAuthError::Domain(Error::InvalidClient))
            ));
        }
        let bearer = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer abc"))
            .to_http_request();
        assert!(client_credentials(&bearer, &mut form("client_id=a")).is_err());
    }

    #[test]
    fn form_credentials_and_public_clients() {
        let request = TestRequest::default().to_http_request();
        let credentials =
            client_credentials(&request, &mut form("client_id=a&client_secret=s")).unwrap();
        assert_eq!(credentials.client_id, "a");
        assert!(credentials.secret.is_some());
        let public = client_credentials(&request, &mut form("client_id=spa")).unwrap();
        assert!(public.secret.is_none());
        assert!(matches!(
            client_credentials(&request, &mut form("grant_type=x")),
            Err(OAuthError::Domain(Error::InvalidClient))
        ));
    }
}

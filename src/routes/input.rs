//! `Input<T>`: a JSON or form body, checked field by field the way Django REST framework does
//! (`{"<field>": ["This field is required."]}`), then turned into a typed `T`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use secrecy::SecretString;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::error::{Error, FieldErrors};

/// The largest body the JSON API reads (API.md §6).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The fields of a body, and the problems found while reading them.
pub struct Fields {
    values: Map<String, Value>,
    errors: FieldErrors,
}

/// A typed input read from [`Fields`]; problems are recorded, not returned one at a time, so
/// the client learns about every bad field at once.
pub trait FromFields: Sized {
    fn from_fields(fields: &mut Fields) -> Self;
}

impl Fields {
    fn error(&mut self, name: &str, message: &str) {
        self.errors
            .entry(name.to_owned())
            .or_default()
            .push(message.to_owned());
    }

    fn text(&mut self, name: &str) -> Option<String> {
        match self.values.remove(name) {
            None => None,
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::Null) => {
                self.error(name, "This field may not be null.");
                Some(String::new())
            }
            Some(_) => {
                self.error(name, "Not a valid string.");
                Some(String::new())
            }
        }
    }

    fn required_text(&mut self, name: &str, trim: bool) -> String {
        let Some(text) = self.text(name) else {
            self.error(name, "This field is required.");
            return String::new();
        };
        let text = if trim { trimmed(text) } else { text };
        if text.is_empty() && !self.errors.contains_key(name) {
            self.error(name, "This field may not be blank.");
        }
        text
    }

    /// A required field, surrounding whitespace trimmed (usernames, tokens).
    pub fn required(&mut self, name: &str) -> String {
        self.required_text(name, true)
    }

    /// A required secret, taken exactly as sent.
    pub fn required_secret(&mut self, name: &str) -> SecretString {
        SecretString::from(self.required_text(name, false))
    }

    /// An optional field; absent, null or blank are all `None`.
    pub fn optional(&mut self, name: &str) -> Option<String> {
        if self.values.get(name).is_some_and(Value::is_null) {
            self.values.remove(name);
            return None;
        }
        self.text(name).map(trimmed).filter(|text| !text.is_empty())
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Fields(self.errors).into())
        }
    }
}

/// `text` without surrounding whitespace, copied only when there is some.
fn trimmed(text: String) -> String {
    let trimmed = text.trim();
    if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    }
}

/// How a body is read, decided by its media type before the body arrives.
enum BodyFormat {
    /// No `Content-Type`: JSON, or no fields at all when the body is blank.
    Unspecified,
    Json,
    Form,
    Unsupported(String),
}

impl BodyFormat {
    /// `content_type` is the header's media type without its parameters.
    fn of(content_type: &str) -> Self {
        if content_type.is_empty() {
            return BodyFormat::Unspecified;
        }
        match content_type.parse::<mime::Mime>() {
            // `application/<anything>+json` too (RFC 6839 structured syntax suffix).
            Ok(media)
                if media.type_() == mime::APPLICATION
                    && (media.subtype() == mime::JSON || media.suffix() == Some(mime::JSON)) =>
            {
                BodyFormat::Json
            }
            Ok(media)
                if media.type_() == mime::APPLICATION
                    && media.subtype() == mime::WWW_FORM_URLENCODED =>
            {
                BodyFormat::Form
            }
            _ => BodyFormat::Unsupported(content_type.to_ascii_lowercase()),
        }
    }
}

/// Parses a body by its media type: JSON (the default when none is given) or a form.
fn parse_body(format: BodyFormat, body: &[u8]) -> Result<Fields, ApiError> {
    let values = match format {
        BodyFormat::Form => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|error| ApiError::BadRequest(format!("Form parse error - {error}")))?;
            pairs
                .into_iter()
                .map(|(name, value)| (name, Value::String(value)))
                .collect()
        }
        BodyFormat::Unspecified if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
        BodyFormat::Unspecified | BodyFormat::Json => parse_json_object(body)?,
        BodyFormat::Unsupported(content_type) => {
            return Err(ApiError::UnsupportedMediaType(content_type));
        }
    };
    Ok(Fields {
        values,
        errors: FieldErrors::new(),
    })
}

fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Number(_) => "number",
                Value::Bool(_) => "bool",
                Value::Null | Value::Object(_) => "null",
            };
            Err(ApiError::BadRequest(format!(
                "Invalid data. Expected a dictionary, but got {kind}."
            )))
        }
        Err(error) => Err(ApiError::BadRequest(format!("JSON parse error - {error}"))),
    }
}

/// A body read as JSON or form and turned into `T`.
pub struct Input<T>(pub T);

impl<T> Input<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: FromFields + 'static> FromRequest for Input<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let format = BodyFormat::of(request.content_type());
        let body = Bytes::from_request(request, payload);
        Box::pin(async move {
            let body = body.await.map_err(|error| {
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge {
                        limit: MAX_BODY_BYTES,
                    }
                } else {
                    ApiError::BadRequest(format!("Could not read the request body: {error}"))
                }
            })?;
            let mut fields = parse_body(format, &body)?;
            let value = T::from_fields(&mut fields);
            fields.finish()?;
            Ok(Input(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_blank_and_null_fields_are_reported_together() {
        let mut fields = parse_body(
            BodyFormat::of("application/json"),
            br#"{"username": "  ", "email": null, "n": 5}"#,
        )
        .unwrap();
        assert_eq!(fields.required("username"), "");
        let _ = fields.required_secret("password");
        assert_eq!(fields.optional("email"), None);
        assert_eq!(fields.required("n"), "5");
        let Err(ApiError::Domain(Error::Fields(errors))) = fields.finish() else {
            panic!("expected field errors");
        };
        assert_eq!(errors["username"], ["This field may not be blank."]);
        assert_eq!(errors["password"], ["This field is required."]);
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn forms_and_json_read_alike() {
        let mut form = parse_body(
            BodyFormat::of("application/x-www-form-urlencoded"),
            b"refresh=abc%2Bdef",
        )
        .unwrap();
        assert_eq!(form.required("refresh"), "abc+def");
        assert!(form.finish().is_ok());
    }

    #[test]
    fn media_types_are_matched_without_regard_to_case() {
        assert!(matches!(
            BodyFormat::of("Application/JSON"),
            BodyFormat::Json
        ));
        assert!(matches!(
            BodyFormat::of("application/vnd.api+JSON"),
            BodyFormat::Json
        ));
        assert!(matches!(
            BodyFormat::of("APPLICATION/x-www-form-urlencoded"),
            BodyFormat::Form
        ));
        assert!(matches!(BodyFormat::of(""), BodyFormat::Unspecified));
        assert!(matches!(
            BodyFormat::of("Text/Plain"),
            BodyFormat::Unsupported(name) if name == "text/plain"
        ));
        assert!(matches!(
            BodyFormat::of("+json"),
            BodyFormat::Unsupported(_)
        ));
    }

    #[test]
    fn bad_bodies_are_clear_errors() {
        assert!(matches!(
            parse_body(BodyFormat::of("application/json"), b"{nope"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(BodyFormat::of("application/json"), b"[1]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(BodyFormat::of("text/plain"), b"x"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }
}

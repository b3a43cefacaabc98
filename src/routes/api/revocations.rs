//! The revocation feed (API.md §6): what verifiers that check tokens offline poll to honour a
//! sign-out before the token's expiry.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::{Error, FieldErrors};
use crate::oauth::ClientCredentials;
use crate::routes::error::ApiResult;
use crate::routes::no_store;
use crate::routes::oauth::form::basic_credentials;
use crate::state::AppState;

/// `GET /api/revocations?since=<unix seconds>`, for a confidential client authenticated by
/// HTTP Basic: the sessions revoked since then whose access tokens may still be alive.
pub async fn feed(app: Data<AppState>, request: HttpRequest) -> ApiResult<HttpResponse> {
    let credentials = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(basic_credentials)
        .ok_or(Error::InvalidClient)?;
    let (client_id, secret) = credentials;
    // With a secret, only a confidential client can pass: a public client has none to match.
    app.clients
        .authenticate(ClientCredentials {
            client_id,
            secret: Some(secret),
        })
        .await?;
    let since = since(request.query_string())?;
    let feed = app.revocations.feed(since).await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(feed))
}

/// `since` from the query: unix seconds, 0 (everything still relevant) when absent.
fn since(query: &str) -> Result<i64, Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut values = pairs.into_iter().filter(|(name, _)| name == "since");
    let invalid = |message: &str| {
        let mut errors = FieldErrors::new();
        errors.insert("since".into(), vec![message.into()]);
        Error::Fields(errors)
    };
    let Some((_, value)) = values.next() else {
        return Ok(0);
    };
    if values.next().is_some() {
        return Err(invalid("Give since once."));
    }
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| invalid("A valid integer is required."))
}

#[cfg(test)]
mod tests {
    use super::since;

    #[test]
    fn since_is_unix_seconds_and_defaults_to_zero() {
        assert_eq!(since("").unwrap(), 0);
        assert_eq!(since("since=1764633600").unwrap(), 1_764_633_600);
        assert_eq!(since("other=1").unwrap(), 0);
        assert!(since("since=yesterday").is_err());
        assert!(since("since=").is_err());
        assert!(since("since=1&since=2").is_err());
    }
}

//! Extractors of what a request says about its sender: its address, its Bearer token.

use std::future::{Future, Ready, ready};
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};

use super::error::ApiError;
use crate::db::models::User;
use crate::error::Error;
use crate::state::AppState;

/// The client's address: the socket's peer, or what a trusted proxy forwarded (`net`).
pub struct ClientAddress(pub IpAddr);

impl FromRequest for ClientAddress {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = request
            .app_data::<Data<AppState>>()
            .expect("AppState is registered by startup");
        // A TCP connection always has a peer; only a request built by hand has none.
        let peer = request
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>();
        let client = app
            .trusted_proxies
            .client_address(peer, forwarded.into_iter());
        ready(Ok(ClientAddress(client)))
    }
}

/// The user of a valid Bearer access token whose session is live.
pub struct Authenticated(pub User);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = request
            .app_data::<Data<AppState>>()
            .expect("AppState is registered by startup")
            .clone();
        let token = bearer_token(request)
            .map(str::to_owned)
            .map_err(|missing| match missing {
                BearerProblem::Missing => ApiError::NotAuthenticated,
                BearerProblem::Malformed => ApiError::InvalidBearer,
            });
        Box::pin(async move {
            match app.sessions.authenticate(&token?).await {
                Ok((_, user)) => Ok(Authenticated(user)),
                Err(Error::TokenInvalid) => Err(ApiError::InvalidBearer),
                Err(other) => Err(other.into()),
            }
        })
    }
}

/// Why a request has no Bearer token to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerProblem {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    Malformed,
}

/// The token of the `Authorization` header, if it is a Bearer one.
pub fn bearer_token(request: &HttpRequest) -> Result<&str, BearerProblem> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(BearerProblem::Missing)?;
    let value = value.to_str().map_err(|_| BearerProblem::Malformed)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(BearerProblem::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(BearerProblem::Malformed);
    }
    Ok(token.trim())
}

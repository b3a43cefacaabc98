use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::web::Data;

use crate::auth::{self, Credentials};
use crate::error::ApiResult;
use crate::routes::input::{Fields, FromFields, Input};
use crate::routes::no_store;
use crate::routes::scheduling::yield_to_ready_requests;
use crate::startup::AppState;
use crate::tokens::refresh;

impl FromFields for Credentials {
    fn from_fields(fields: &mut Fields) -> Self {
        Credentials {
            username: fields.required("username"),
            password: fields.required_secret("password"),
        }
    }
}

pub struct RefreshInput {
    refresh: String,
}

impl FromFields for RefreshInput {
    fn from_fields(fields: &mut Fields) -> Self {
        RefreshInput {
            refresh: fields.required("refresh"),
        }
    }
}

pub struct TokenInput {
    token: String,
}

impl FromFields for TokenInput {
    fn from_fields(fields: &mut Fields) -> Self {
        TokenInput {
            token: fields.required("token"),
        }
    }
}

pub async fn obtain_pair(app: Data<AppState>, body: Input<Credentials>) -> ApiResult<HttpResponse> {
    let pair = auth::login(&app, body.into_inner()).await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(pair))
}

pub async fn refresh_pair(
    app: Data<AppState>,
    body: Input<RefreshInput>,
) -> ApiResult<HttpResponse> {
    let pair = refresh::refresh(&app, &body.into_inner().refresh).await?;
    Ok(HttpResponse::Ok().insert_header(no_store()).json(pair))
}

pub async fn verify(app: Data<AppState>, body: Input<TokenInput>) -> ApiResult<HttpResponse> {
    refresh::verify_token(&app, &body.into_inner().token).await?;
    yield_to_ready_requests().await;
    Ok(empty_object())
}

pub async fn blacklist(app: Data<AppState>, body: Input<RefreshInput>) -> ApiResult<HttpResponse> {
    refresh::blacklist(&app, &body.into_inner().refresh).await?;
    Ok(empty_object())
}

/// `{}`, simplejwt's answer to a successful verify or blacklist, without serialising anything.
fn empty_object() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(no_store())
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body("{}")
}

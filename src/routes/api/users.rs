use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde_json::json;

use crate::accounts::{self, NewAccount, Profile};
use crate::auth::bearer;
use crate::db::models::User;
use crate::error::{ApiError, ApiResult};
use crate::routes::input::{Fields, FromFields, Input};
use crate::routes::no_store;
use crate::startup::AppState;

impl FromFields for NewAccount {
    fn from_fields(fields: &mut Fields) -> Self {
        NewAccount {
            username: fields.required("username"),
            password: fields.required_secret("password"),
            email: fields.optional("email"),
            roles: Vec::new(),
        }
    }
}

pub struct PasswordChange {
    old_password: SecretString,
    new_password: SecretString,
}

impl FromFields for PasswordChange {
    fn from_fields(fields: &mut Fields) -> Self {
        PasswordChange {
            old_password: fields.required_secret("old_password"),
            new_password: fields.required_secret("new_password"),
        }
    }
}

/// The user of a valid Bearer access token whose session is live.
pub struct Authenticated(pub User);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = request.app_data::<Data<AppState>>().cloned();
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|value| value.to_str().map(str::to_owned));
        Box::pin(async move {
            let app = app.expect("AppState is registered by startup");
            let authorization = match authorization {
                None => None,
                Some(Ok(value)) => Some(value),
                Some(Err(_)) => Some(String::new()),
            };
            let token = bearer::bearer_token(authorization.as_deref())?;
            let (_, user) = bearer::authenticate(&app, token).await?;
            Ok(Authenticated(user))
        })
    }
}

pub async fn register(app: Data<AppState>, body: Input<NewAccount>) -> ApiResult<HttpResponse> {
    let profile = accounts::register(&app, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": profile.id,
        "username": profile.username,
        "email": profile.email,
    })))
}

pub async fn me(Authenticated(user): Authenticated) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .insert_header(no_store())
        .json(Profile::from(&user)))
}

pub async fn change_password(
    app: Data<AppState>,
    Authenticated(user): Authenticated,
    body: Input<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let PasswordChange {
        old_password,
        new_password,
    } = body.into_inner();
    accounts::change_password(&app, &user, old_password, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

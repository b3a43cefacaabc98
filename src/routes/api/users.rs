use actix_web::HttpResponse;
use actix_web::web::Data;
use secrecy::SecretString;
use serde_json::json;

use crate::accounts::{NewAccount, Profile};
use crate::routes::error::ApiResult;
use crate::routes::extract::Authenticated;
use crate::routes::input::{Fields, FromFields, Input};
use crate::routes::no_store;
use crate::state::AppState;

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

pub async fn register(app: Data<AppState>, body: Input<NewAccount>) -> ApiResult<HttpResponse> {
    let profile = app.accounts.register(body.into_inner()).await?;
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
    app.accounts
        .change_password(&user, old_password, new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

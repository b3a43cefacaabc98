//! CORS for browsers on the origins of `cors.allowed_origins` (the Fetch standard's CORS
//! protocol). Other origins get no CORS headers, so browsers keep their answers from scripts;
//! the public documents (JWKS, discovery) allow every origin on their own.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::startup::AppState;

const ALLOWED_METHODS: &str = "GET, HEAD, POST";
const ALLOWED_HEADERS: &str = "authorization, content-type";
/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "600";

pub async fn cors(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let allowed_origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|origin| {
            let origins = &request
                .app_data::<web::Data<AppState>>()
                .expect("AppState is registered by startup")
                .settings
                .cors
                .allowed_origins;
            origins
                .iter()
                .any(|allowed| allowed == "*" || origin.as_bytes() == allowed.as_bytes())
        })
        .cloned();
    let Some(origin) = allowed_origin else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = HttpResponse::build(StatusCode::NO_CONTENT)
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
            .insert_header((header::VARY, HeaderValue::from_static("Origin")))
            .finish();
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(response.map_into_left_body())
}

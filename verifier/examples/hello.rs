use actix_web::{App, HttpResponse, HttpServer, web};
use idgate_verifier::actix::Authenticated;
use idgate_verifier::{RevocationFeed, Verifier};

async fn hello(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hello": user.sub, "roles": user.roles }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let issuer = std::env::var("IDGATE_ISSUER").unwrap_or("http://127.0.0.1:8080".into());
    let mut verifier = Verifier::builder(&issuer).audience(&issuer); // idgate's tokens.audience
    // Optional: refuse signed-out sessions within 5 s (a client from `idgate clients create`).
    if let (Ok(id), Ok(secret)) = (std::env::var("CLIENT_ID"), std::env::var("CLIENT_SECRET")) {
        verifier = verifier.revocations(RevocationFeed::new(id, secret));
    }
    let verifier = verifier.build().expect("a valid configuration");
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/hello/", web::get().to(hello))
    })
    .bind(("127.0.0.1", 8000))?
    .run()
    .await
}

//! `cargo run -p downstream`: the example service on 127.0.0.1:8000 (see the crate's docs).

use std::net::TcpListener;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("downstream: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let settings = downstream::Settings::from_env()?;
    let verifier = settings.verifier().map_err(|error| error.to_string())?;
    // Not fatal: the verifier keeps trying, and answers 503 meanwhile.
    if let Err(error) = verifier.warm_up().await {
        tracing::warn!(%error, "idgate's keys are not available yet");
    }
    let listener = TcpListener::bind(&settings.listen)
        .map_err(|error| format!("cannot listen on {}: {error}", settings.listen))?;
    tracing::info!(
        listen = %settings.listen,
        issuer = %settings.issuer,
        revocation_feed = settings.feed_client.is_some(),
        "serving /hello/"
    );
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    downstream::server(listener, verifier, workers)
        .map_err(|error| error.to_string())?
        .await
        .map_err(|error| error.to_string())
}

//! Binding the web application to a listener, and running it with its background tasks.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::clock::Clock;
use crate::config::Settings;
use crate::routes::{self, input::MAX_BODY_BYTES, middleware};
use crate::state::AppState;
use crate::tasks;

/// A built server bound to its listener, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    hangups: Signal,
}

impl Application {
    /// Builds the service on `listener` with the system clock; must run inside an actix system.
    pub async fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, listener, Clock::system()).await
    }

    /// Builds the service on `listener`, its services reading `clock`.
    pub async fn build_with_clock(
        settings: Settings,
        listener: TcpListener,
        clock: Clock,
    ) -> anyhow::Result<Application> {
        // Before anything can be slow: from here on a hang-up is logged, not fatal.
        let hangups = signal(SignalKind::hangup()).context("handling SIGHUP")?;
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let state = AppState::build(settings, clock).await?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        let data = web::Data::new(state.clone());
        let web_config = web::Data::new(routes::WebConfig::from_settings(&state.settings));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web_config.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .wrap(from_fn(middleware::cors))
                .wrap(from_fn(middleware::request_span))
                .configure(routes::configure)
        })
        .workers(workers)
        .listen(listener)
        .context("listening")?
        .run();
        Ok(Application {
            port,
            server,
            state,
            hangups,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The services the server runs on.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until stopped (SIGINT or SIGTERM, or the handle), with the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let background = [
            actix_web::rt::spawn(tasks::sweep_forever(self.state.sweeper.clone())),
            actix_web::rt::spawn(tasks::read_revocations_forever(
                self.state.revocations.clone(),
            )),
            actix_web::rt::spawn(tasks::maintain_keys_forever(
                self.state.keys.clone(),
                self.state.key_schedule.clone(),
                self.state.settings.keys.reload_interval.0,
            )),
            actix_web::rt::spawn(tasks::handle_hangups(self.hangups, self.state.keys.clone())),
        ];
        let outcome = self.server.await;
        for task in background {
            task.abort();
        }
        outcome
    }
}

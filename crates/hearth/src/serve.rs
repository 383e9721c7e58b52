//! `hearth serve` and `hearth migrate`.
//!
//! Start-up order: connect, migrate, bind, serve. On SIGTERM or Ctrl-C the
//! server stops accepting connections, lets requests in flight finish (up
//! to `http.shutdown_grace_secs`), then closes the database pool so SQLite
//! checkpoints its WAL and nothing is left half-written.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hearth_app::{App, Config};
use tokio::sync::Notify;

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = hearth_app::connect(&config).await.with_context(|| {
        format!(
            "cannot open the {} database (key `database.url`)",
            backend_name(&config)
        )
    })?;
    let applied = hearth_db::migrate(&db).await.context("migration failed")?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for name in &applied {
            println!("applied {name}");
        }
    }
    db.close().await.context("closing the database")?;
    Ok(())
}

fn backend_name(config: &Config) -> String {
    hearth_db::Backend::from_url(&config.database_url())
        .map(|b| format!("{b:?}"))
        .unwrap_or_default()
}

/// Connect, apply pending migrations and set up federation.
pub async fn open(config: Config) -> anyhow::Result<(App, Vec<String>)> {
    let name = backend_name(&config);
    App::open(config)
        .await
        .with_context(|| format!("cannot start on the {name} database (key `database.url`)"))
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let (app, applied) = open(config).await?;
    for name in &applied {
        tracing::info!(migration = %name, "applied migration");
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (key `bind`)"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        address = %local,
        domain = %app.config.domain,
        database = ?hearth_db::Backend::from_url(&app.config.database_url()),
        "hearth is listening on http://{local}"
    );

    let (stop_sender, sender_shutdown) = tokio::sync::watch::channel(false);
    let sender = app.spawn_sender(sender_shutdown);
    let router = hearth_http::router(app.clone());
    let stopping = Arc::new(Notify::new());
    let signal = {
        let stopping = stopping.clone();
        async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            stopping.notify_waiters();
        }
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();

    // Wait for the server to drain, but not longer than the grace period
    // after the signal: a stuck client must not keep the process alive.
    let notified = stopping.notified();
    tokio::pin!(server, notified);
    tokio::select! {
        result = &mut server => result.context("HTTP server failed")?,
        () = &mut notified => {
            if tokio::time::timeout(grace, &mut server).await.is_err() {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; stopping anyway");
            }
        }
    }
    // Deliveries in flight finish (or are picked up again after their lease
    // by the next start); then the pool closes.
    let _ = stop_sender.send(true);
    if tokio::time::timeout(grace, sender).await.is_err() {
        tracing::warn!("deliveries still running after the grace period; they will be retried");
    }
    app.close().await.context("closing the database")?;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

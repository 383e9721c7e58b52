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
    let app = connect(config).await?;
    let applied = app.migrate().await.context("migration failed")?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for name in &applied {
            println!("applied {name}");
        }
    }
    app.close().await.context("closing the database")?;
    Ok(())
}

async fn connect(config: Config) -> anyhow::Result<App> {
    let url = config.database_url();
    let shown = hearth_db::Backend::from_url(&url)
        .map(|b| format!("{b:?}"))
        .unwrap_or_default();
    App::connect(config)
        .await
        .with_context(|| format!("cannot open the {shown} database (key `database.url`)"))
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let app = connect(config).await?;
    let applied = app.migrate().await.context("migration failed")?;
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

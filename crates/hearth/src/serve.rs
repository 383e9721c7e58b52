//! `hearth serve`, `hearth worker` and `hearth migrate`.
//!
//! Start-up order: connect, migrate, bind, show the first-run setup link
//! while there is no admin, serve. On SIGTERM or Ctrl-C the server stops
//! accepting connections, lets requests in flight finish (up to
//! `http.shutdown_grace_secs`), then closes the database pool so SQLite
//! checkpoints its WAL and nothing is left half-written.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hearth_activitypub::FederationHandle;
use hearth_app::{App, Config};
use tokio::sync::Notify;

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    let applied = hearth_app::migrate(&config).await.with_context(|| {
        format!(
            "cannot migrate the {} database (key `database.url`)",
            hearth_app::database_kind(&config)
        )
    })?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for name in &applied {
            println!("applied {name}");
        }
    }
    Ok(())
}

/// Connect, apply pending migrations and set up federation.
pub async fn open(config: Config) -> anyhow::Result<(App, FederationHandle, Vec<String>)> {
    let name = hearth_app::database_kind(&config);
    let (app, applied) = App::open(config)
        .await
        .with_context(|| format!("cannot start on the {name} database (key `database.url`)"))?;
    let federation = hearth_activitypub::install(&app)
        .await
        .context("cannot set up federation")?;
    Ok((app, federation, applied))
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let (app, federation, applied) = open(config).await?;
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
        database = %hearth_app::database_kind(&app.config),
        "hearth is listening on http://{local}"
    );
    announce_setup_link(&app).await?;

    let (stop_sender, sender_shutdown) = tokio::sync::watch::channel(false);
    hearth_http::metrics::spawn(&app, sender_shutdown.clone()).await?;
    let sender = if app.config.federation.serve_runs_workers {
        Some(federation.spawn_workers(sender_shutdown))
    } else {
        tracing::info!(
            "this process does not deliver (federation.serve_runs_workers = false); run `hearth worker`"
        );
        None
    };
    let router = hearth_http::router(app.clone(), federation);
    let stopping = Arc::new(Notify::new());
    let signal = {
        let stopping = stopping.clone();
        async move {
            wait_for_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            stopping.notify_waiters();
        }
    };
    let limits = hearth_http::server::ConnectionLimits::from_config(&app.config);
    let server = hearth_http::server::serve(listener, router, limits, signal);

    // Wait for the server to drain, but not longer than the grace period
    // after the signal: a stuck client must not keep the process alive.
    let notified = stopping.notified();
    tokio::pin!(server, notified);
    tokio::select! {
        () = &mut server => {}
        () = &mut notified => {
            if tokio::time::timeout(grace, &mut server).await.is_err() {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; stopping anyway");
            }
        }
    }
    // Deliveries in flight finish (or are picked up again after their lease
    // by the next start); then the pool closes.
    let _ = stop_sender.send(true);
    if let Some(sender) = sender
        && tokio::time::timeout(grace, sender).await.is_err()
    {
        tracing::warn!("deliveries still running after the grace period; they will be retried");
    }
    app.close().await.context("closing the database")?;
    tracing::info!("stopped");
    Ok(())
}

/// While no account is an admin, issue a new one-time setup link (the
/// previous one stops working) and show it on standard output and in the
/// log: whoever opens it first creates the admin account in the browser.
/// `hearth admin create-user NAME --admin` remains the other way; once
/// any admin exists, nothing is shown.
async fn announce_setup_link(app: &App) -> anyhow::Result<()> {
    let Some(link) = app
        .issue_setup_link()
        .await
        .context("cannot issue the first-run setup link")?
    else {
        return Ok(());
    };
    let hours = hearth_app::accounts::SETUP_LINK_LIFETIME.num_hours();
    println!(
        "This server has no admin yet. Open this link to create the admin account (it works once, for {hours} hours): {link}"
    );
    tracing::info!(%link, valid_hours = hours, "no admin account yet: open the setup link to create it");
    Ok(())
}

/// `hearth worker`: deliveries only, until SIGTERM or Ctrl-C; attempts in
/// flight then finish (up to `http.shutdown_grace_secs`).
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let (app, federation, applied) = open(config).await?;
    for name in &applied {
        tracing::info!(migration = %name, "applied migration");
    }
    if hearth_app::database_kind(&app.config) == "Sqlite" {
        tracing::warn!(
            "a separate worker on SQLite competes with `hearth serve` for one write lock; use PostgreSQL to scale out"
        );
    }
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    hearth_http::metrics::spawn(&app, shutdown.clone()).await?;
    let workers = federation.spawn_workers(shutdown);
    tracing::info!(domain = %app.config.domain, "hearth worker is delivering");
    wait_for_signal().await;
    tracing::info!("shutting down: finishing deliveries in flight");
    let _ = stop.send(true);
    if tokio::time::timeout(grace, workers).await.is_err() {
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

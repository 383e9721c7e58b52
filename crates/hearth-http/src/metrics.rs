//! Prometheus metrics at `GET /metrics`, on an address of their own
//! (`metrics.bind`), never on the public listener: they are not behind
//! log-in.
//!
//! ```text
//! Prometheus ──GET /metrics──▶ metrics listener ──▶ App::queue_gauges()  (database: GROUP BYs)
//!                                                └▶ App::delivery_attempts() (this process)
//! ```
//!
//! The text exposition format is written by hand: a few gauges and
//! counters do not need a metrics library. Queue gauges come from the
//! database, so every process on one database reports the same queue;
//! attempt counters are per process (sum them across processes).

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hearth_app::App;
use hearth_app::federation_status::{AttemptCounts, QueueGauges};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    #[error("config key `metrics.bind`: {0:?} is not an address and port")]
    Address(String),
    #[error("cannot listen on {addr} (key `metrics.bind`): {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The content type of the text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Start the metrics endpoint when `metrics.bind` is set: bind it now (so
/// a taken port stops start-up with a message naming the key), then serve
/// on a task of its own until `shutdown` turns true. `Ok(None)` when
/// metrics are off. The task needs no waiting for: a scrape is short.
pub async fn spawn(
    app: &App,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Option<JoinHandle<()>>, MetricsError> {
    let raw = app.config.metrics.bind.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = raw
        .parse()
        .map_err(|_| MetricsError::Address(raw.to_owned()))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(address = %local, "metrics at http://{local}/metrics");
    let stop = async move {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    let app = app.clone();
    Ok(Some(tokio::spawn(async move {
        if let Err(err) = serve(app, listener, stop).await {
            tracing::error!(error = %err, "metrics endpoint failed");
        }
    })))
}

/// Serve `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The same connection limits as the public server.
    let limits = crate::server::ConnectionLimits::from_config(&app.config);
    crate::server::serve(listener, router(app), limits, shutdown).await;
    Ok(())
}

/// The metrics router alone: `GET /metrics`, 404 for anything else.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(app)
}

async fn metrics(State(app): State<App>) -> Response {
    // A database that does not answer is itself worth a metric: report it
    // with what this process knows, rather than failing the whole scrape.
    let gauges = match app.queue_gauges().await {
        Ok(g) => Some(g),
        Err(err) => {
            tracing::warn!(error = %err, "metrics: cannot read the delivery queue");
            None
        }
    };
    let body = render(
        gauges.as_ref(),
        &app.delivery_attempts(),
        env!("CARGO_PKG_VERSION"),
        Utc::now(),
    );
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// The exposition text. `gauges` is `None` when the database did not
/// answer: its gauges are then left out and `hearth_database_up` is 0.
fn render(
    gauges: Option<&QueueGauges>,
    attempts: &AttemptCounts,
    version: &str,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "hearth_build_info",
        "gauge",
        "The running Hearth version; always 1.",
        &[(Some(("version", version)), 1.0)],
    );
    family(
        &mut out,
        "hearth_database_up",
        "gauge",
        "Whether the database answered this scrape (1) or not (0).",
        &[(None, if gauges.is_some() { 1.0 } else { 0.0 })],
    );
    if let Some(g) = gauges {
        let d = &g.deliveries;
        family(
            &mut out,
            "hearth_deliveries",
            "gauge",
            "Deliveries to other servers in the queue, by state.",
            &[
                (Some(("state", "pending")), d.pending as f64),
                (Some(("state", "sending")), d.sending as f64),
                (Some(("state", "delivered")), d.delivered as f64),
                (Some(("state", "failed")), d.failed as f64),
            ],
        );
        let age = g
            .oldest_pending_at
            .map(|at| ((now - at).num_milliseconds().max(0) as f64) / 1000.0)
            .unwrap_or(0.0);
        family(
            &mut out,
            "hearth_delivery_oldest_pending_seconds",
            "gauge",
            "Age of the oldest delivery not yet gone out (pending or sending); 0 when none waits.",
            &[(None, age)],
        );
        family(
            &mut out,
            "hearth_servers",
            "gauge",
            "Receiving servers Hearth has sent to, by state.",
            &[
                (Some(("state", "ok")), g.servers_ok as f64),
                (Some(("state", "unreachable")), g.servers_unreachable as f64),
            ],
        );
    }
    let samples: Vec<Sample<'_>> = attempts
        .by_outcome()
        .iter()
        .map(|(outcome, n)| (Some(("outcome", *outcome)), *n as f64))
        .collect();
    family(
        &mut out,
        "hearth_deliveries_attempted_total",
        "counter",
        "Delivery attempts by this process since it started, by outcome.",
        &samples,
    );
    out
}

/// One sample: an optional `(label, value)` and the number.
type Sample<'a> = (Option<(&'a str, &'a str)>, f64);

/// Write one metric family: its help, its type, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[Sample<'_>]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (label, value) in samples {
        let _ = match label {
            Some((key, val)) => writeln!(out, "{name}{{{key}=\"{}\"}} {value}", escape(val)),
            None => writeln!(out, "{name} {value}"),
        };
    }
}

/// A label value as the exposition format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::Duration;
    use hearth_app::federation_status::StateCounts;

    use super::*;

    #[test]
    fn the_exposition_text_has_every_family_with_help_and_type() {
        let now = Utc::now();
        let gauges = QueueGauges {
            deliveries: StateCounts {
                pending: 3,
                sending: 1,
                delivered: 20,
                failed: 2,
            },
            oldest_pending_at: Some(now - Duration::milliseconds(90_500)),
            servers_ok: 4,
            servers_unreachable: 1,
        };
        let attempts = AttemptCounts {
            delivered: 20,
            retried: 5,
            ..Default::default()
        };
        let text = render(Some(&gauges), &attempts, "0.1.0", now);
        assert_eq!(
            text,
            "\
# HELP hearth_build_info The running Hearth version; always 1.
# TYPE hearth_build_info gauge
hearth_build_info{version=\"0.1.0\"} 1
# HELP hearth_database_up Whether the database answered this scrape (1) or not (0).
# TYPE hearth_database_up gauge
hearth_database_up 1
# HELP hearth_deliveries Deliveries to other servers in the queue, by state.
# TYPE hearth_deliveries gauge
hearth_deliveries{state=\"pending\"} 3
hearth_deliveries{state=\"sending\"} 1
hearth_deliveries{state=\"delivered\"} 20
hearth_deliveries{state=\"failed\"} 2
# HELP hearth_delivery_oldest_pending_seconds Age of the oldest delivery not yet gone out (pending or sending); 0 when none waits.
# TYPE hearth_delivery_oldest_pending_seconds gauge
hearth_delivery_oldest_pending_seconds 90.5
# HELP hearth_servers Receiving servers Hearth has sent to, by state.
# TYPE hearth_servers gauge
hearth_servers{state=\"ok\"} 4
hearth_servers{state=\"unreachable\"} 1
# HELP hearth_deliveries_attempted_total Delivery attempts by this process since it started, by outcome.
# TYPE hearth_deliveries_attempted_total counter
hearth_deliveries_attempted_total{outcome=\"delivered\"} 20
hearth_deliveries_attempted_total{outcome=\"retried\"} 5
hearth_deliveries_attempted_total{outcome=\"rate_limited\"} 0
hearth_deliveries_attempted_total{outcome=\"refused\"} 0
hearth_deliveries_attempted_total{outcome=\"unsendable\"} 0
"
        );
    }

    #[test]
    fn without_the_database_only_process_metrics_are_reported() {
        let text = render(None, &AttemptCounts::default(), "0.1.0", Utc::now());
        assert!(text.contains("hearth_database_up 0\n"), "{text}");
        assert!(!text.contains("hearth_deliveries{"), "{text}");
        assert!(text.contains("hearth_deliveries_attempted_total{outcome=\"delivered\"} 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

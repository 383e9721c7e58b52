//! Serving the router on a TCP listener, with the time limits every
//! connection lives by, so that slow clients cannot hold the server:
//!
//! - a request's headers must arrive within `http.header_read_timeout_secs`
//!   of the connection opening, or of the previous answer on a kept-alive
//!   connection; a client sending them a byte at a time (slow-loris), or
//!   nothing at all, is disconnected then;
//! - a request, reading its body included, is answered within
//!   `http.request_timeout_secs` (the router's timeout layer answers 408,
//!   and a body left unread closes the connection).
//!
//! `axum::serve` sets no timer on its connections, so hyper's header
//! timeout never fires there, and its HTTP/2 detection waits for a
//! connection's first bytes for ever; this loop serves HTTP/1.1 with the
//! timer set.
//! Graceful shutdown: when `shutdown` completes, no connection is accepted
//! and each open one finishes the request it is in, then closes.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The time limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a request's headers may take to arrive.
    pub header_read_timeout: Duration,
}

impl ConnectionLimits {
    pub fn from_config(config: &hearth_app::Config) -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
        }
    }
}

/// Serve `router` on `listener` until `shutdown` completes and the
/// connections open then have finished. Each request carries its peer's
/// address as `ConnectInfo<SocketAddr>` (the rate limits read it).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    // HTTP/1.1 only. Telling HTTP/2 apart first reads the connection's
    // opening bytes with no time limit, so a client that connects and
    // sends nothing would be kept forever; and clear-text HTTP/2 is never
    // what a reverse proxy or another server speaks to Hearth.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and written whole; waiting to fill a packet
        // only adds latency.
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that went away or was too slow: nothing to answer.
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Accepting fails when the process is out of file descriptors (or the
/// client gave up first): wait a moment rather than spin, so the
/// connections open can finish and free some.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %err, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

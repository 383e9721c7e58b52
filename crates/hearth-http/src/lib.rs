//! Hearth's HTTP surface: the JSON API under `/api/v1`, the ActivityPub
//! endpoints (actors, inboxes, WebFinger, NodeInfo), and the layers every
//! request passes through (request ids, tracing, body limit, timeout,
//! problem documents for every error). Prometheus metrics are served apart,
//! on their own address ([`metrics`]).
//!
//! Architecture invariant: only this crate knows REST shapes and status
//! codes. Handlers parse the request, call one use-case on
//! [`hearth_app::App`] (or, for ActivityPub, one function of
//! `hearth_activitypub` that does), and shape the answer; rules live in the
//! use-case. Every route is in one table ([`routes::routes`]) that says
//! what it may serve.
//!
//! ```text
//! request ─▶ request id ─▶ trace span ─▶ timeout ─▶ body limit ─▶ problems ─▶ route ─▶ App
//! ```

mod auth;
pub mod export;
pub mod json;
pub mod metrics;
mod pagination;
pub mod problem;
mod rate_limit;
pub mod routes;
pub mod server;
mod views;
mod web;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hearth_activitypub::FederationHandle;
use hearth_app::App;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::problem::Problem;
use crate::rate_limit::{AuthLimits, ClientLimiter};

pub use crate::routes::{Access, Route, routes};
pub use crate::views::FederationStatusView;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub app: App,
    /// The ActivityPub side: the inboxes and signed fetches need it.
    federation: FederationHandle,
    auth_limits: AuthLimits,
    inbox_limiter: ClientLimiter,
    fetch_limiter: ClientLimiter,
}

impl ApiState {
    /// A request-scoped federation handle.
    pub(crate) fn data(&self) -> hearth_activitypub::Data {
        self.federation.data()
    }
}

/// In test mode, how often a request consulted the read rule: the route
/// walk test (`tests/routes.rs`) uses it to prove every route serving
/// posts asked.
pub const READ_CHECKS_HEADER: &str = "x-hearth-read-checks";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application for `app`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so rate limits see
/// client addresses.
pub fn router(app: App, federation: FederationHandle) -> Router {
    let config = app.config.clone();
    let state = ApiState {
        auth_limits: AuthLimits::new(
            config.auth.rate_limit_per_minute,
            config.auth.account_rate_limit_per_minute,
            config.http.trust_forwarded_for,
        ),
        inbox_limiter: ClientLimiter::new(
            config.federation.inbox_rate_limit_per_minute,
            config.http.trust_forwarded_for,
        ),
        fetch_limiter: ClientLimiter::new(
            config.federation.inbox_rate_limit_per_minute,
            config.http.trust_forwarded_for,
        ),
        federation,
        app,
    };
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            path = %request.uri().path(),
            account_id = tracing::field::Empty,
        )
    });
    let router = routes::router(&state)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_signed_reads,
        ))
        .fallback(|| async { Problem::for_status(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async {
            Problem::for_status(StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(trace)
                .layer(middleware::from_fn(problems))
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(config.http.request_timeout_secs),
                ))
                .layer(DefaultBodyLimit::max(config.http.max_body_bytes)),
        )
        .with_state(state);
    // Outermost, so that every answer carries it, whatever layer made it.
    if config.test_mode {
        router.layer(middleware::from_fn(count_read_checks))
    } else {
        router
    }
}

/// Test mode only: say in a header how often the request asked the read
/// rule.
async fn count_read_checks(request: Request, next: Next) -> Response {
    let (mut response, checks) = hearth_app::access::audited(next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&checks.to_string()) {
        response.headers_mut().insert(READ_CHECKS_HEADER, value);
    }
    response
}

/// Turn every error response that is not yet a problem document (405 from
/// the router, 408 from the timeout, 500 from a panic, a plain-text
/// rejection from an extractor) into one, keeping any text as `detail`.
async fn problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Problem documents, web pages (which show their own errors) and
    // ActivityPub documents (a deleted post's tombstone, with 410) pass.
    let already_described = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with(problem::CONTENT_TYPE)
                || v.starts_with("text/html")
                || v.starts_with(hearth_activitypub::protocol::ACTIVITY_JSON)
        });
    if already_described {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let mut problem = Problem::for_status(status);
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    if !text.is_empty() && !status.is_server_error() {
        problem = problem.detail(text);
    }
    let mut response = problem.into_response();
    if let Some(value) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

//! Per-client rate limits: log-in and sign-up (so passwords cannot be
//! guessed quickly and sign-ups cannot be flooded) and the ActivityPub
//! inboxes.
//!
//! Limits are kept in memory, per process. With several processes behind a
//! load balancer each enforces its own share, which still bounds guessing.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ApiState;
use crate::problem::Problem;

/// Above this many tracked clients, forget those whose quota has refilled.
const FORGET_ABOVE: usize = 10_000;

#[derive(Clone)]
pub struct ClientLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    trust_forwarded_for: bool,
}

impl ClientLimiter {
    pub fn new(per_minute: u32, trust_forwarded_for: bool) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            trust_forwarded_for,
        }
    }

    /// `Err(seconds)` to wait when `client` is over its quota.
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.limiter.len() > FORGET_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

/// The address a request comes from, honouring X-Forwarded-For only when
/// the operator said a trusted proxy sets it.
pub fn client_ip(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Middleware for the log-in and sign-up routes.
pub async fn limit_auth(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    limit(&state.auth_limiter, "auth", request, next).await
}

/// Middleware for the ActivityPub inboxes: each unknown sender costs a
/// fetch of its actor, so floods are cut off early.
pub async fn limit_inbox(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    limit(&state.inbox_limiter, "inbox", request, next).await
}

async fn limit(limiter: &ClientLimiter, what: &str, request: Request, next: Next) -> Response {
    if let Some(ip) = client_ip(&request, limiter.trust_forwarded_for)
        && let Err(wait) = limiter.check(ip)
    {
        tracing::warn!(client = %ip, what, "rate limit reached");
        return Problem::for_status(StatusCode::TOO_MANY_REQUESTS)
            .detail(format!(
                "Too many attempts from your connection. Please wait {wait} seconds and try again."
            ))
            .retry_after(wait)
            .into_response();
    }
    next.run(request).await
}

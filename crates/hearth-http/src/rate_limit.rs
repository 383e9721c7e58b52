//! Rate limits: every authentication door (log-in, sign-up, password
//! change and the first-run setup page, on the web pages and the API
//! alike) and the ActivityPub inboxes.
//!
//! The authentication doors share one set of limits, so a guesser gains
//! nothing by switching between the pages and the API:
//! - per client address (`auth.rate_limit_per_minute`), on every door;
//! - per account (`auth.account_rate_limit_per_minute`), on log-in (by the
//!   username tried) and password change (by the account), so many
//!   addresses together cannot guess one person's password quickly.
//!
//! Limits are kept in memory, per process. With several processes behind a
//! load balancer each enforces its own share, which still bounds guessing.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ApiState;
use crate::problem::Problem;

/// Above this many tracked keys, forget those whose quota has refilled.
const FORGET_ABOVE: usize = 10_000;

/// One keyed limit: so many attempts per minute per key.
#[derive(Clone)]
struct Limit<K: Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn per_minute(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Limit {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// `Err(seconds)` to wait when `key` is over its quota.
    fn check(&self, key: &K) -> Result<(), u64> {
        if self.limiter.len() > FORGET_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

/// A per-address limit (the inboxes).
#[derive(Clone)]
pub struct ClientLimiter {
    limit: Limit<IpAddr>,
    trust_forwarded_for: bool,
}

impl ClientLimiter {
    pub fn new(per_minute: u32, trust_forwarded_for: bool) -> Self {
        Self {
            limit: Limit::per_minute(per_minute),
            trust_forwarded_for,
        }
    }

    /// One request from `ip`, counted against its [`client_key`].
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.limit.check(&client_key(ip))
    }
}

/// What a per-address limit counts by: an IPv4 address (written plainly
/// or IPv4-mapped), or an IPv6 address's /64, the block one subscriber
/// or one server is usually given whole, so walking through it gains
/// nothing.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The limits every authentication door shares.
#[derive(Clone)]
pub struct AuthLimits {
    address: ClientLimiter,
    account: Limit<String>,
}

impl AuthLimits {
    pub fn new(per_address: u32, per_account: u32, trust_forwarded_for: bool) -> Self {
        AuthLimits {
            address: ClientLimiter::new(per_address, trust_forwarded_for),
            account: Limit::per_minute(per_account),
        }
    }

    /// One attempt on the account named `username` (any case): `Err` with
    /// the seconds to wait when it had too many.
    pub fn account(&self, username: &str) -> Result<(), u64> {
        let result = self.account.check(&username.trim().to_ascii_lowercase());
        if result.is_err() {
            tracing::warn!(account = %username, "rate limit reached for an account");
        }
        result
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

/// The address an authentication request came from (see [`client_ip`]),
/// for the handlers behind [`limit_auth`].
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The words a person sees when they tried too often.
pub fn wait_message(wait: u64) -> String {
    format!("Too many attempts. Please wait {wait} seconds and try again.")
}

/// The API's answer when a limit is reached.
pub fn too_many_problem(wait: u64) -> Problem {
    Problem::for_status(StatusCode::TOO_MANY_REQUESTS)
        .detail(wait_message(wait))
        .retry_after(wait)
}

fn too_many(wait: u64) -> Response {
    too_many_problem(wait).into_response()
}

/// Middleware for every authentication door, per client address. Web pages
/// get a page in words; the API a problem document. Both carry
/// `Retry-After`.
pub async fn limit_auth(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let limits = &state.auth_limits.address;
    let ip = client_ip(&request, limits.trust_forwarded_for);
    // The door's handlers record where a member signed in from.
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientIp(ip));
    }
    if let Some(ip) = ip
        && let Err(wait) = limits.check(ip)
    {
        tracing::warn!(client = %ip, path = %request.uri().path(), "rate limit reached");
        if request.uri().path().starts_with("/api/") {
            return too_many(wait);
        }
        return crate::web::too_many(&state, request.headers(), wait);
    }
    next.run(request).await
}

/// Middleware for every route: a signed read (GET or HEAD carrying an
/// HTTP signature) can make this server fetch the actor its `keyId` names
/// before anything is verified, so a client inventing ever new keys
/// could make it send requests anywhere. Signed reads count against a
/// per-address limit of their own (`federation.inbox_rate_limit_per_minute`
/// as well); unsigned reads are not counted here.
pub async fn limit_signed_reads(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let signed = hearth_activitypub::inbox::carries_signature(request.headers());
    if read && signed {
        let limits = &state.fetch_limiter;
        if let Some(ip) = client_ip(&request, limits.trust_forwarded_for)
            && let Err(wait) = limits.check(ip)
        {
            tracing::warn!(client = %ip, what = "signed reads", "rate limit reached");
            return Problem::for_status(StatusCode::TOO_MANY_REQUESTS)
                .detail(format!(
                    "Too many signed requests from your server. Please wait {wait} seconds and try again."
                ))
                .retry_after(wait)
                .into_response();
        }
    }
    next.run(request).await
}

/// Middleware for the ActivityPub inboxes: each unknown sender costs a
/// fetch of its actor, so floods are cut off early.
pub async fn limit_inbox(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let limits = &state.inbox_limiter;
    if let Some(ip) = client_ip(&request, limits.trust_forwarded_for)
        && let Err(wait) = limits.check(ip)
    {
        tracing::warn!(client = %ip, what = "inbox", "rate limit reached");
        return Problem::for_status(StatusCode::TOO_MANY_REQUESTS)
            .detail(format!(
                "Too many activities from your server. Please wait {wait} seconds and try again."
            ))
            .retry_after(wait)
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_ipv6_block_counts_as_one_client_and_mapped_ipv4_as_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
    }

    #[test]
    fn walking_through_an_ipv6_block_does_not_escape_the_limit() {
        let limiter = ClientLimiter::new(3, false);
        for i in 0..3u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i));
            assert!(limiter.check(ip).is_ok());
        }
        let next = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 9, 9, 9, 9));
        assert!(limiter.check(next).is_err());
        let elsewhere = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1));
        assert!(limiter.check(elsewhere).is_ok());
    }
}

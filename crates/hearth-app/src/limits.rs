//! Rate limits on what members and other servers do: posting (posts,
//! replies; reactions too from other servers), joining and reporting,
//! per account here and per other server (`moderation.*` in the
//! configuration; 0 turns one off).
//!
//! Checked before a command opens its transaction, so a refused activity
//! from another server is not recorded as seen: the sender is answered
//! 429 and its retry, later, is taken. Kept in memory, per process (as
//! the HTTP layer's limits on authentication doors and inboxes); with
//! several processes each enforces its own share.

use std::hash::Hash;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::ModerationConfig;
use crate::origin::{Origin, Via};
use crate::{App, AppError};

/// Above this many tracked keys, forget those whose quota has refilled.
const FORGET_ABOVE: usize = 10_000;

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// A post or reply (and, from another server, a reaction).
    Write,
    /// A reaction: limited for other servers only.
    React,
    Join,
    Report,
}

struct Keyed<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Option<Quota>) -> Self {
        Keyed {
            limiter: quota.map(RateLimiter::keyed),
        }
    }

    /// `Err(seconds to wait)` when `key` is over its quota.
    fn check(&self, key: &K) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > FORGET_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

fn per_hour(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_hour)
}

fn per_minute(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_minute)
}

/// The limits of one process.
pub(crate) struct Limits {
    posts: Keyed<i64>,
    joins: Keyed<i64>,
    reports: Keyed<i64>,
    remote_posts: Keyed<String>,
    remote_joins: Keyed<String>,
    remote_reports: Keyed<String>,
}

impl Limits {
    pub(crate) fn new(config: &ModerationConfig) -> Self {
        Limits {
            posts: Keyed::new(per_hour(config.posts_per_hour)),
            joins: Keyed::new(per_hour(config.joins_per_hour)),
            reports: Keyed::new(per_hour(config.reports_per_hour)),
            remote_posts: Keyed::new(per_minute(config.remote_posts_per_minute)),
            remote_joins: Keyed::new(per_hour(config.remote_joins_per_hour)),
            remote_reports: Keyed::new(per_hour(config.remote_reports_per_hour)),
        }
    }
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limits")
    }
}

impl App {
    /// Refuse `act` when whoever asks is over their limit. A group
    /// elsewhere relaying its members' activities is not limited here: it
    /// already took them, and refusing would only lose them.
    pub(crate) fn within_limits(&self, origin: &Origin, act: Act) -> Result<(), AppError> {
        let limits = &self.limits;
        let checked = match origin {
            Origin::Local(account) => match act {
                Act::Write => limits.posts.check(&account.id),
                Act::React => Ok(()),
                Act::Join => limits.joins.check(&account.id),
                Act::Report => limits.reports.check(&account.id),
            },
            Origin::Remote(r) => match (&r.via, act) {
                (Via::Relay(_), _) => Ok(()),
                (Via::Signed(_), Act::Write | Act::React) => limits.remote_posts.check(&r.server),
                (Via::Signed(_), Act::Join) => limits.remote_joins.check(&r.server),
                (Via::Signed(_), Act::Report) => limits.remote_reports.check(&r.server),
            },
        };
        checked.map_err(|retry_after| {
            tracing::info!(?act, actor = %origin.actor_id(self.urls()), retry_after, "over a rate limit");
            AppError::TooMany { retry_after }
        })
    }
}

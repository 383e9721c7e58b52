//! How delivery to other servers is going, for admins (API and CLI) and
//! for Prometheus: the queue's depth and age, each receiving server's
//! state, and this process's delivery attempts by outcome.

pub use hearth_db::delivery_status::{
    MAX_SERVERS, QueueGauges, QueueStatus, ServerState, ServerStatus, StateCounts,
};

use crate::{App, AppError};

/// Delivery attempts this process made since it started, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptCounts {
    /// The receiving server answered 2xx.
    pub delivered: u64,
    /// No answer, a timeout, 408 or 5xx; tried again later.
    pub retried: u64,
    /// The server answered 429; tried again after its Retry-After.
    pub rate_limited: u64,
    /// Another 4xx: the server will never take it.
    pub refused: u64,
    /// It cannot be sent from here (no such signer, a bad inbox address).
    pub unsendable: u64,
}

impl AttemptCounts {
    /// Each outcome with its name, as metrics label it.
    pub fn by_outcome(&self) -> [(&'static str, u64); 5] {
        [
            ("delivered", self.delivered),
            ("retried", self.retried),
            ("rate_limited", self.rate_limited),
            ("refused", self.refused),
            ("unsendable", self.unsendable),
        ]
    }
}

impl App {
    /// The delivery queue and the servers that need attention most:
    /// unreachable ones first, then those with the most waiting (at most
    /// [`MAX_SERVERS`]).
    pub async fn federation_status(&self) -> Result<QueueStatus, AppError> {
        Ok(hearth_db::delivery_status::queue_status(&self.db, MAX_SERVERS).await?)
    }

    /// The queue's few numbers for metrics: cheap enough for every scrape.
    pub async fn queue_gauges(&self) -> Result<QueueGauges, AppError> {
        Ok(hearth_db::delivery_status::queue_gauges(&self.db).await?)
    }

    /// Delivery attempts by outcome in this process (zero in a process
    /// that runs no workers).
    pub fn delivery_attempts(&self) -> AttemptCounts {
        use crate::ledger::DeliveryCounters as C;
        let c = self.counters();
        AttemptCounts {
            delivered: C::load(&c.delivered),
            retried: C::load(&c.retried),
            rate_limited: C::load(&c.rate_limited),
            refused: C::load(&c.refused),
            unsendable: C::load(&c.unsendable),
        }
    }
}

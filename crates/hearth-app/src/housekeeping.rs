//! Work nobody asks for but that must happen on time: erasing what was
//! kept only for a while (removed posts' words, sign-in addresses, the
//! threads of groups that keep them for a limited time). Run by each process that delivers; every step is
//! a single statement that several processes may run at once harmlessly
//! (the second finds nothing left to do).

use std::time::Duration;

use chrono::Utc;
use hearth_db::{removed, sign_ins};
use tokio::sync::watch;

use crate::{App, AppError};

/// How often the housekeeping looks for work.
const EVERY: Duration = Duration::from_secs(15 * 60);

/// Threads one group's retention deletes in one round at most.
const RETENTION_BATCH: u64 = 100;

/// What one round of housekeeping did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekeeping {
    /// Removed posts whose kept words were erased.
    pub words: u64,
    /// Sign-in addresses erased.
    pub addresses: u64,
    /// Threads deleted because their group keeps threads for a limited
    /// time.
    pub threads: u64,
}

impl App {
    /// Do the housekeeping now: erase the words of removed posts and the
    /// addresses of sign-ins kept long enough, and delete the threads of
    /// groups that keep them for a limited time.
    pub async fn keep_house_once(&self) -> Result<Housekeeping, AppError> {
        let now = Utc::now();
        // 0 days: nothing is kept in the first place.
        let days = i64::from(self.config.moderation.removed_kept_days);
        let erased =
            removed::forget_older_than(&self.db, now - chrono::Duration::days(days)).await?;
        if erased > 0 {
            tracing::info!(
                erased,
                days,
                "erased the words of removed posts kept long enough"
            );
        }
        let ip_days = i64::from(self.config.privacy.ip_retention_days);
        let addresses =
            sign_ins::forget_older_than(&self.db, now - chrono::Duration::days(ip_days)).await?;
        if addresses > 0 {
            tracing::info!(
                addresses,
                days = ip_days,
                "erased sign-in addresses kept long enough"
            );
        }
        // Groups that keep threads for a limited time: a bounded batch per
        // round, so one round never holds the database for long.
        let threads = self.expire_stale_threads(RETENTION_BATCH).await?;
        if threads > 0 {
            tracing::info!(threads, "deleted threads older than their groups keep them");
        }
        Ok(Housekeeping {
            words: erased,
            addresses,
            threads,
        })
    }

    /// [`App::keep_house_once`] at once and then every quarter of an hour,
    /// until `shutdown` turns true (or its sender is gone).
    pub async fn keep_house(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(err) = self.keep_house_once().await {
                tracing::warn!(%err, "housekeeping failed; trying again later");
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                changed = shutdown.changed() => if changed.is_err() { return },
            }
        }
    }
}

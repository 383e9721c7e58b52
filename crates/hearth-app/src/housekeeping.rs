//! Work nobody asks for but that must happen on time: erasing what was
//! kept only for a while (removed posts' words, sign-in addresses). Run by each process that delivers; every step is
//! a single statement that several processes may run at once harmlessly
//! (the second finds nothing left to do).

use std::time::Duration;

use chrono::Utc;
use hearth_db::{removed, sign_ins};
use tokio::sync::watch;

use crate::{App, AppError};

/// How often the housekeeping looks for work.
const EVERY: Duration = Duration::from_secs(15 * 60);

impl App {
    /// Do the housekeeping now: erase the words of removed posts and the
    /// addresses of sign-ins kept long enough. How many of each.
    pub async fn keep_house_once(&self) -> Result<(u64, u64), AppError> {
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
        Ok((erased, addresses))
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

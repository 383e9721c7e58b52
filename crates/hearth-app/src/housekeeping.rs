//! Work nobody asks for but that must happen on time: erasing what was
//! kept only for a while. Run by each process that delivers; every step is
//! a single statement that several processes may run at once harmlessly
//! (the second finds nothing left to do).

use std::time::Duration;

use chrono::Utc;
use hearth_db::removed;
use tokio::sync::watch;

use crate::{App, AppError};

/// How often the housekeeping looks for work.
const EVERY: Duration = Duration::from_secs(15 * 60);

impl App {
    /// Do the housekeeping now. How many removed posts' words were erased.
    pub async fn keep_house_once(&self) -> Result<u64, AppError> {
        let days = i64::from(self.config.moderation.removed_kept_days);
        // 0 days: nothing is kept in the first place.
        let cutoff = Utc::now() - chrono::Duration::days(days);
        let erased = removed::forget_older_than(&self.db, cutoff).await?;
        if erased > 0 {
            tracing::info!(
                erased,
                days,
                "erased the words of removed posts kept long enough"
            );
        }
        Ok(erased)
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

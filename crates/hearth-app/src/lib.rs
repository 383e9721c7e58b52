//! Hearth's use-cases: what the server does when someone registers, logs in,
//! changes a profile or approves a sign-up. The HTTP layer and the CLI both
//! call these, so a rule is enforced the same way whichever door is used.
//!
//! Architecture invariant: no HTTP types here. Functions take plain inputs
//! and return records or an [`AppError`] that says what went wrong in terms
//! a handler can map to a status code and a form can show next to a field.

pub mod accounts;
pub mod config;
mod error;

use std::sync::Arc;

pub use config::Config;
pub use error::AppError;
pub use hearth_db::DatabaseConnection;
pub use hearth_db::accounts::Account;
pub use hearth_db::tokens::Session;

/// Everything a use-case needs: the database and the configuration.
/// Cheap to clone; one per process, shared by all requests.
#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
}

impl App {
    /// Connect to the configured database. Does not migrate.
    pub async fn connect(config: Config) -> Result<Self, AppError> {
        let settings = hearth_db::ConnectSettings {
            max_connections: config.database.max_connections,
            busy_timeout: std::time::Duration::from_millis(config.database.timeout_ms),
            acquire_timeout: std::time::Duration::from_millis(config.database.timeout_ms),
        };
        let db = hearth_db::connect(&config.database_url(), &settings).await?;
        Ok(Self {
            db,
            config: Arc::new(config),
        })
    }

    /// Apply pending migrations; returns the names applied.
    pub async fn migrate(&self) -> Result<Vec<String>, AppError> {
        Ok(hearth_db::migrate(&self.db).await?)
    }

    /// Whether the database answers.
    pub async fn health(&self) -> Result<(), AppError> {
        Ok(hearth_db::ping(&self.db).await?)
    }

    /// Close the database pool, waiting for connections in use to return.
    pub async fn close(self) -> Result<(), AppError> {
        self.db
            .close()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// Run CPU-heavy work (password hashing, key generation) off the async
/// runtime's worker threads.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("blocking task failed: {e}")))?
}

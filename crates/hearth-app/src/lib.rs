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
pub mod federation_status;
pub mod groups;
pub mod notifications;
pub mod posts;

use std::sync::Arc;

use activitypub_federation::config::FederationConfig;
use hearth_activitypub::Federation;

pub use config::Config;
pub use error::AppError;
pub use hearth_db::DatabaseConnection;
pub use hearth_db::accounts::Account;
pub use hearth_db::tokens::Session;

/// Everything a use-case needs: the database, the configuration and the
/// federation context. Cheap to clone; one per process, shared by all
/// requests.
#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub federation: FederationConfig<Federation>,
}

impl App {
    /// Connect to the configured database, apply pending migrations (their
    /// names are returned) and set up federation.
    pub async fn open(config: Config) -> Result<(Self, Vec<String>), AppError> {
        let db = connect(&config).await?;
        let applied = hearth_db::migrate(&db).await?;
        let settings = hearth_activitypub::Settings {
            domain: config.domain.clone(),
            test_mode: config.test_mode,
            instance_name: config.instance.name.clone(),
            instance_description: config.instance.description.clone(),
            open_registrations: config.registration.mode == hearth_domain::RegistrationMode::Open,
            request_timeout: std::time::Duration::from_secs(config.federation.request_timeout_secs),
        };
        let federation = hearth_activitypub::configure(db.clone(), settings)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((
            Self {
                db,
                config: Arc::new(config),
                federation,
            },
            applied,
        ))
    }

    /// A request-scoped federation handle.
    pub fn data(&self) -> hearth_activitypub::Data {
        self.federation.to_request_data()
    }

    /// The federation state shared by all requests.
    pub fn fed(&self) -> &Federation {
        &self.federation
    }

    /// How this process's delivery workers behave, from the configuration.
    pub fn worker_settings(&self) -> hearth_activitypub::outbound::WorkerSettings {
        let f = &self.config.federation;
        let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        hearth_activitypub::outbound::WorkerSettings {
            id: hearth_activitypub::outbound::WorkerSettings::worker_id(),
            concurrency: f.delivery_concurrency as usize,
            per_server: u64::from(f.delivery_per_server),
            // One attempt takes at most the request timeout (plus signing);
            // a lease of twice that and some is only ever outlived by a
            // process that died.
            lease: secs(f.request_timeout_secs.saturating_mul(2).saturating_add(10)),
            policy: hearth_db::queue::RetryPolicy {
                first_retry: secs(Ord::min(10, f.retry_max_secs)),
                retry_max: secs(f.retry_max_secs),
                give_up_after: secs(f.give_up_after_hours.saturating_mul(3600)),
                unreachable_after: f.unreachable_after_failures,
                probe_interval: secs(f.probe_interval_secs),
            },
        }
    }

    /// Run delivery workers until `shutdown` turns true.
    pub fn spawn_workers(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(hearth_activitypub::outbound::run_worker(
            self.federation.clone(),
            self.worker_settings(),
            shutdown,
        ))
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

/// Open the configured database without migrating (for `hearth migrate`).
pub async fn connect(config: &Config) -> Result<DatabaseConnection, AppError> {
    let settings = hearth_db::ConnectSettings {
        max_connections: config.database.max_connections,
        busy_timeout: std::time::Duration::from_millis(config.database.timeout_ms),
        acquire_timeout: std::time::Duration::from_millis(config.database.timeout_ms),
    };
    Ok(hearth_db::connect(&config.database_url(), &settings).await?)
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

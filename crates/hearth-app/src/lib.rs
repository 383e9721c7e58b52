//! Hearth's use-cases: the one door every change goes through, and the one
//! rule every read asks.
//!
//! - **Commands** (register, write a post, react, join a group …) take an
//!   [`Origin`]: a member here (API, web, CLI) or another server whose
//!   request the ActivityPub inbox verified. Both run the same checks, in
//!   the same function (see [`posts`] and [`groups`]).
//! - **Queries** take a reader and ask [`access`], the one read rule.
//! - **Federation is a port** ([`port::Federation`]): commands describe
//!   what happened as [`events::Event`]s; the port (implemented by
//!   `hearth-activitypub`) turns them into activities, which are stored
//!   for delivery in the command's own transaction.
//!
//! Architecture invariants: no HTTP types and no ActivityPub wire format
//! here (this crate does not depend on `hearth-activitypub`); the database
//! handle never leaves this crate: other crates get records and domain
//! types. Errors are [`AppError`], which says what went wrong and which
//! field is at fault.

pub mod access;
pub mod accounts;
pub mod care;
pub mod config;
pub mod crisis;
pub mod erasure;
mod error;
pub mod events;
pub mod export;
pub mod federation_status;
pub mod groups;
pub mod housekeeping;
pub mod ids;
pub mod inbound;
pub mod keys;
pub mod labels;
pub mod ledger;
mod limits;
pub mod moderation;
pub mod notifications;
pub mod origin;
pub mod policy;
pub mod port;
pub mod posts;
pub mod professionals;
mod recent;
pub mod servers;
pub mod subscriptions;

use std::sync::{Arc, OnceLock};

use hearth_db::queue::{self, Target};
use hearth_db::{DatabaseConnection, DatabaseTransaction, WriteTxn, begin_write};
use tokio::sync::Notify;

pub use access::Reader;
pub use config::Config;
pub use error::AppError;
pub use events::Event;
pub use ids::{LocalRef, Urls};
pub use origin::{Origin, RemoteOrigin, Via};
pub use port::{Federation, Outgoing, PortError};

/// The records the use-cases hand out. Database rows never leave
/// `hearth-db`; these plain records do.
pub mod records {
    pub use hearth_db::accounts::Account;
    pub use hearth_db::federation::SiteKeys;
    pub use hearth_db::groups::{Group, Member, Membership, MembershipEntry};
    pub use hearth_db::notifications::Notification;
    pub use hearth_db::posts::{Order, Post, PostKind, PostLabel, ReactionSummary};
    pub use hearth_db::queue::{
        ClaimLimits, DeliveryState, DueDelivery, HEARTBEAT as DELIVERY_HEARTBEAT,
        Outcome as DeliveryOutcome, RetryPolicy,
    };
    pub use hearth_db::remote::{ClaimCheck, FetchedActor, RemoteActor, RemoteMembership};
    pub use hearth_db::removed::Removed;
    pub use hearth_db::tokens::Session;
    pub use hearth_db::verifications::Verification;
}

pub use records::{Account, Session};

/// Everything a use-case needs: the database, the configuration, this
/// server's ids and the federation port. Cheap to clone; one per process,
/// shared by all requests.
#[derive(Clone)]
pub struct App {
    db: DatabaseConnection,
    pub config: Arc<Config>,
    urls: Urls,
    federation: Arc<OnceLock<Arc<dyn Federation>>>,
    outbox_ready: Arc<Notify>,
    counters: Arc<ledger::DeliveryCounters>,
    /// Actors of other servers, by id (see `recent.rs`).
    actors: Arc<recent::Recent<hearth_db::remote::RemoteActor>>,
    /// Names of groups here whose inbox was asked for, as found.
    inbox_groups: Arc<recent::Recent<String>>,
    /// The domain rules as last read (see `policy.rs`).
    rules: Arc<policy::RulesCache>,
    /// Rate limits on posting, joining and reporting (see `limits.rs`).
    limits: Arc<limits::Limits>,
    /// The crisis phrases looked for in posts (see `crisis.rs`).
    crisis: Arc<hearth_domain::crisis::CrisisPhrases>,
}

impl App {
    /// Connect to the configured database, apply pending migrations (their
    /// names are returned) and make sure the instance actor has its keys.
    /// Federation is installed afterwards ([`App::install_federation`]).
    pub async fn open(config: Config) -> Result<(Self, Vec<String>), AppError> {
        // Migrations run on a pool of their own, closed before the one that
        // serves is opened: a SQLite connection that read the schema before
        // a migration changed it does not always read it again (an upsert
        // on a new unique index then fails to prepare).
        let applied = migrate(&config).await?;
        let db = connect(&config).await?;
        let urls = Urls::new(&config.domain, config.test_mode)?;
        let limits = Arc::new(limits::Limits::new(&config.moderation));
        let crisis = Arc::new(if config.crisis.enabled {
            config
                .crisis
                .phrases()
                .map_err(|(key, message)| AppError::Internal(format!("{key}: {message}")))?
        } else {
            hearth_domain::crisis::CrisisPhrases::default()
        });
        let app = Self {
            db,
            config: Arc::new(config),
            urls,
            federation: Arc::default(),
            outbox_ready: Arc::new(Notify::new()),
            counters: Arc::default(),
            actors: Arc::default(),
            inbox_groups: Arc::default(),
            rules: Arc::default(),
            limits,
            crisis,
        };
        app.ensure_site_keys().await?;
        Ok((app, applied))
    }

    /// Plug in the network side. Done once at start-up; later calls are
    /// ignored.
    pub fn install_federation(&self, port: Arc<dyn Federation>) {
        if self.federation.set(port).is_err() {
            tracing::warn!("federation was already installed");
        }
    }

    pub(crate) fn port(&self) -> Result<&dyn Federation, AppError> {
        self.federation
            .get()
            .map(|p| p.as_ref())
            .ok_or_else(|| AppError::Internal("federation is not set up in this process".into()))
    }

    /// The ids this server mints.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// Wakes the delivery workers when new deliveries are stored.
    pub fn outbox_ready(&self) -> &Arc<Notify> {
        &self.outbox_ready
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

    /// Begin a command's write transaction. Another server's activity id is
    /// recorded in it first: `None` when it was recorded before (a second
    /// delivery), and the command then changes nothing.
    pub(crate) async fn begin(&self, origin: &Origin) -> Result<Option<WriteTxn>, AppError> {
        // The federation policy, for every change another server asks for:
        // the server of the activity's actor, and of the group relaying it.
        if let Origin::Remote(r) = origin {
            self.check_server(&r.server).await?;
            if let Via::Relay(group) = &r.via {
                self.check_server(&group.authority).await?;
            }
        }
        let txn = begin_write(&self.db).await?;
        if let Origin::Remote(r) = origin
            && !hearth_db::federation::record_inbound(&txn, &r.activity, &r.kind, &r.actor).await?
        {
            txn.rollback().await?;
            return Ok(None);
        }
        Ok(Some(txn))
    }

    /// Commit a command's transaction and wake the delivery workers.
    pub(crate) async fn commit(&self, txn: WriteTxn) -> Result<(), AppError> {
        txn.commit().await?;
        self.outbox_ready.notify_one();
        Ok(())
    }

    /// Store the activities the port renders for `event`, with one delivery
    /// per inbox, in the caller's transaction.
    pub(crate) async fn emit(
        &self,
        txn: &DatabaseTransaction,
        event: Event,
    ) -> Result<(), AppError> {
        self.emit_for(txn, event, None).await
    }

    /// [`Self::emit`] for the activities that carry out the erasure
    /// `erasure` (when given): their deliveries keep trying while the
    /// server exists, and are its receipt.
    pub(crate) async fn emit_for(
        &self,
        txn: &DatabaseTransaction,
        event: Event,
        erasure: Option<i64>,
    ) -> Result<(), AppError> {
        let owner = if erasure.is_some() {
            None
        } else {
            events::owner_of(&event)
        };
        for out in self.port()?.render(&event)? {
            let mut targets: Vec<Target> = Vec::with_capacity(out.inboxes.len());
            for inbox in &out.inboxes {
                let Ok(url) = url::Url::parse(inbox) else {
                    continue;
                };
                let Some(authority) = ids::authority(&url) else {
                    continue;
                };
                // Nothing is queued for a server the policy cuts off, but
                // an erasure: it waits there until the server is let in
                // again (the sender holds it, `queue::HELD`).
                if self.urls.is_local(&url)
                    || (erasure.is_none()
                        && !self.standing_in(txn, &authority).await?.may_federate())
                {
                    continue;
                }
                targets.push(Target {
                    inbox: inbox.clone(),
                    authority,
                });
            }
            queue::enqueue(
                txn,
                queue::NewActivity {
                    ap_id: &out.id,
                    kind: &out.kind,
                    actor_ap_id: &out.actor,
                    body: &out.body,
                    about: out.about.as_deref(),
                    private_to_group: out.private_to_group,
                    owner: owner.as_deref(),
                    erasure,
                },
                &targets,
            )
            .await?;
            tracing::info!(activity_id = %out.id, kind = %out.kind, targets = targets.len(), "activity queued");
        }
        Ok(())
    }
}

/// Open the configured database without migrating.
async fn connect(config: &Config) -> Result<DatabaseConnection, AppError> {
    let settings = hearth_db::ConnectSettings {
        max_connections: config.database.max_connections,
        busy_timeout: std::time::Duration::from_millis(config.database.timeout_ms),
        acquire_timeout: std::time::Duration::from_millis(config.database.timeout_ms),
    };
    Ok(hearth_db::connect(&config.database_url(), &settings).await?)
}

/// `hearth migrate`: apply pending migrations and close; returns their
/// names.
pub async fn migrate(config: &Config) -> Result<Vec<String>, AppError> {
    let db = connect(config).await?;
    let applied = hearth_db::migrate(&db).await?;
    db.close()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(applied)
}

/// Which database kind the configuration names ("Sqlite", "Postgres").
pub fn database_kind(config: &Config) -> String {
    hearth_db::Backend::from_url(&config.database_url())
        .map(|b| format!("{b:?}"))
        .unwrap_or_default()
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

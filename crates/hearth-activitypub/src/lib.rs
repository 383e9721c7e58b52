//! Hearth's ActivityPub side: the wire format, actor documents, WebFinger and
//! NodeInfo, HTTP signature verification, the verified inbox, the federation
//! port the use-cases call, serving objects, backfill, and sending.
//!
//! Architecture invariants:
//! - only this crate knows the ActivityPub wire format ([`wire`] for what
//!   Hearth sends, [`objects`] and [`protocol`] for what it reads) and talks
//!   to activitypub_federation;
//! - it changes nothing by itself: the inbox ([`inbox`]) proves who is
//!   speaking, then [`translate`] turns the verified activity into
//!   `hearth-app` commands, the same ones members here use; serving
//!   ([`serve`]) asks `hearth-app`'s queries, which apply the one read rule;
//! - it never touches the database: it sees `hearth-app` records.
//!
//! ```text
//! POST inbox ─▶ inbox (signature, host, digest, date, key owner, id origin, dedupe)
//!                 └─▶ translate ─▶ App::receive_* (commands) ─▶ events ─▶ port::render ─▶ queue
//! GET object ─▶ inbox::verify_fetch (who signed?) ─▶ serve ─▶ App queries (read rule) ─▶ render
//! ```

pub mod actors;
pub mod backfill;
pub mod context;
pub mod discovery;
pub mod export;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod inbox;
pub mod lists;
pub mod nodeinfo;
pub mod objects;
pub mod outbound;
pub mod port;
pub mod protocol;
pub mod readable;
pub mod render;
pub mod resolve;
pub mod serve;
mod sign;
pub mod signatures;
pub mod translate;
pub mod verification;
pub mod warning;
pub mod wire;

use std::sync::Arc;

use activitypub_federation::config::FederationConfig;
use hearth_app::{App, AppError};

pub use context::{Data, Federation, Settings};

/// Set up federation for `app`: the port the use-cases call is installed
/// into `app`; the handle returned serves the HTTP layer (inboxes, signed
/// fetches) and runs the delivery workers.
pub async fn install(app: &App) -> Result<FederationHandle, FederationError> {
    let config = context::configure(app).await?;
    app.install_federation(Arc::new(port::FederationPort::new(config.clone())));
    Ok(FederationHandle { config })
}

/// This process's federation: cheap to clone.
#[derive(Clone)]
pub struct FederationHandle {
    config: FederationConfig<Federation>,
}

impl FederationHandle {
    /// A request-scoped handle.
    pub fn data(&self) -> Data {
        self.config.to_request_data()
    }

    /// Run this process's delivery workers (settings from the
    /// configuration), the refresh of the domain lists the admin
    /// subscribed to (`hearth_app::subscriptions`), and the housekeeping
    /// (erasing what was kept only for a while), until `shutdown` turns
    /// true. The handle ends when all have stopped.
    pub fn spawn_workers(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let settings = outbound::WorkerSettings::from_config(&self.config.app.config);
        let workers = tokio::spawn(outbound::run_worker(
            self.config.clone(),
            settings,
            shutdown.clone(),
        ));
        let app = self.config.app.clone();
        let house = {
            let app = app.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { app.keep_house(shutdown).await })
        };
        let lists = tokio::spawn(async move { app.keep_domain_lists_fresh(shutdown).await });
        tokio::spawn(async move {
            for (task, result) in [
                ("delivery workers", workers.await),
                ("domain lists", lists.await),
                ("housekeeping", house.await),
            ] {
                if let Err(err) = result {
                    tracing::error!(task, %err, "background task failed");
                }
            }
        })
    }
}

/// Errors of federation work other than the inbox's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FederationError {
    /// The thing asked for does not exist here (or there).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Input or a remote document is not acceptable.
    #[error("refused: {0}")]
    Refused(String),
    /// The other server could not be reached or answered with an error.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// activitypub_federation reported a problem (fetch, verification).
    #[error("{0}")]
    Library(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<activitypub_federation::error::Error> for FederationError {
    fn from(err: activitypub_federation::error::Error) -> Self {
        use activitypub_federation::error::Error as E;
        match err {
            E::NotFound => FederationError::NotFound("object"),
            E::ObjectDeleted(url) => FederationError::Refused(format!("{url} was deleted")),
            // The SSRF guard and URL checks: the address is not acceptable.
            E::UrlVerificationError(why) => {
                FederationError::Refused(format!("address refused: {why}"))
            }
            E::ResolveInternalIpError(host, ip) => FederationError::Refused(format!(
                "{host} resolves to the private or local address {ip}, which is refused"
            )),
            E::DomainResolveError(host) => {
                FederationError::Refused(format!("{host} cannot be resolved"))
            }
            E::Reqwest(e) => FederationError::Unreachable(e.to_string()),
            E::ReqwestMiddleware(e) => match guard::refusal(&e) {
                Some(refused) => FederationError::Refused(refused.to_string()),
                None => FederationError::Unreachable(e.to_string()),
            },
            other => FederationError::Library(other.to_string()),
        }
    }
}

impl From<AppError> for FederationError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound { what } => FederationError::NotFound(what),
            AppError::Refused(why) => FederationError::Refused(why),
            other => FederationError::Internal(other.to_string()),
        }
    }
}

impl From<FederationError> for hearth_app::PortError {
    fn from(err: FederationError) -> Self {
        use hearth_app::PortError as P;
        match err {
            FederationError::NotFound(what) => P::NotFound(what),
            FederationError::Refused(why) => P::Refused(why),
            FederationError::Unreachable(why) | FederationError::Library(why) => {
                P::Unreachable(why)
            }
            FederationError::Internal(why) => P::Internal(why),
        }
    }
}

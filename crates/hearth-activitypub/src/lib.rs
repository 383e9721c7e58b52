//! Hearth's ActivityPub side: the wire format, actor documents, WebFinger and
//! NodeInfo, HTTP signature verification, the verified inbox, and sending.
//!
//! Architecture invariant: only this crate knows the ActivityPub wire format
//! and talks to activitypub_federation; the rest of Hearth sees domain types
//! and plain results. Every state change a remote server causes goes through
//! [`inbox::receive`], the one verified inbound path.

pub mod actors;
pub mod context;
pub mod discovery;
pub mod inbox;
pub mod keys;
pub mod objects;
pub mod outbound;
pub mod posts;
pub mod protocol;
pub mod resolve;
pub mod signatures;

pub use context::{Data, Federation, Settings, Urls, configure};

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
            E::ReqwestMiddleware(e) => FederationError::Unreachable(e.to_string()),
            other => FederationError::Library(other.to_string()),
        }
    }
}

impl From<hearth_db::DbError> for FederationError {
    fn from(err: hearth_db::DbError) -> Self {
        match err {
            hearth_db::DbError::NotFound { what } => FederationError::NotFound(what),
            other => FederationError::Internal(other.to_string()),
        }
    }
}

impl From<hearth_db::DbErr> for FederationError {
    fn from(err: hearth_db::DbErr) -> Self {
        FederationError::Internal(err.to_string())
    }
}

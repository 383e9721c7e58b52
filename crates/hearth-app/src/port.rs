//! The federation port: what the use-cases need from the network, as a
//! trait. `hearth-activitypub` implements it; this crate never depends on
//! it, so no rule can hide in the wire format.

use hearth_db::remote::RemoteActor;

use crate::events::Event;

/// One activity to store for delivery.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its id (a URL on this server).
    pub id: String,
    /// Its type, for the queue's records.
    pub kind: String,
    /// The local actor that signs it.
    pub actor: String,
    /// The JSON document, as sent.
    pub body: String,
    /// Where it goes; may be empty (kept only so that it can be fetched by
    /// its id). Inboxes on this server are skipped.
    pub inboxes: Vec<String>,
    /// The post it is about, if any: who may fetch it by id is then decided
    /// by the read rule for that post.
    pub about: Option<String>,
    /// The group here whose members only may read it (a members-only post,
    /// a reaction): what waits to go to a server is dropped when that
    /// server's last member leaves the group.
    pub private_to_group: Option<i64>,
}

/// What the network said no to.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The address or document is not acceptable.
    #[error("refused: {0}")]
    Refused(String),
    /// The other server could not be reached or answered with an error.
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("internal: {0}")]
    Internal(String),
}

/// The network side of federation.
#[async_trait::async_trait]
pub trait Federation: Send + Sync + 'static {
    /// The activities that tell other servers about `event`. Pure: no I/O,
    /// it runs inside the command's transaction.
    fn render(&self, event: &Event) -> Result<Vec<Outgoing>, PortError>;

    /// Find a person or group on another server by handle or link
    /// (WebFinger, then a signed fetch), and remember it here.
    async fn resolve(&self, target: &str) -> Result<RemoteActor, PortError>;

    /// A member here was let into `group`: fill in its recent threads, in
    /// the background (through the same commands as the inbox).
    fn joined_elsewhere(&self, group: &RemoteActor);

    /// The software the server at `authority` runs, from its NodeInfo:
    /// `software.name` and `software.version`. `Ok(None)` when the server
    /// answers but has no readable NodeInfo.
    async fn software(&self, authority: &str) -> Result<Option<NodeSoftware>, PortError>;

    /// The text published at `url` (a domain blocklist or allowlist the
    /// admin subscribed to): a plain GET through the same SSRF guard and
    /// timeouts as every other outbound request, following a few
    /// redirects, reading at most [`MAX_LIST_BYTES`]. `Unreachable` when it
    /// cannot be fetched or the answer is not 2xx; `Refused` when the
    /// address or the answer is not acceptable (too large, not UTF-8).
    /// Network work only: never called inside a transaction.
    async fn fetch_list(&self, url: &str) -> Result<String, PortError>;

    /// POST `body` (JSON) to the admin's crisis webhook at `url`, through
    /// the same SSRF guard. `Unreachable` unless it answers 2xx. Network
    /// work only: never called inside a transaction.
    async fn post_webhook(&self, url: &str, body: String) -> Result<(), PortError>;
}

/// The largest published domain list read (1 MiB): Mastodon's own export
/// of thousands of domains is a few hundred KiB.
pub const MAX_LIST_BYTES: usize = 1024 * 1024;

/// NodeInfo's `software`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSoftware {
    pub name: String,
    pub version: Option<String>,
}

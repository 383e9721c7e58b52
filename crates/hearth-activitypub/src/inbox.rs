//! The one verified inbound path: every activity another server sends comes
//! through [`receive`], and nothing it carries changes state before all of
//! these hold.
//!
//! ```text
//! POST inbox
//!   1 precheck     Signature header well-formed, covers (request-target)
//!                  host date digest; Date within 1 h ahead / 65 min behind;
//!                  Digest matches the body        ── nothing fetched yet
//!   2 parse        JSON, id/type/actor present; id on the actor's origin
//!   3 duplicate?   id already processed → 202, nothing changes
//!   4 policy       one check point for who may talk to us
//!   5 key          fetch (or reuse) the actor; keyId must be its key
//!   6 verify       RSA signature; on failure refetch the actor once
//!                  (key rotation) and verify again
//!   7 apply        in one transaction: record the id, change state,
//!                  queue any answer (Accept/Reject)
//! ```
//!
//! Errors are 4xx so the sending server stops retrying; nothing is stored
//! for a rejected activity.

use activitypub_federation::fetch::object_id::ObjectId;
use chrono::Utc;
use hearth_db::groups::{self, Group, Member};
use hearth_db::remote;
use hearth_db::{DatabaseTransaction, begin_write};
use hearth_domain::MembershipState;
use serde_json::Value;
use tracing::Instrument as _;
use url::Url;

use crate::FederationError;
use crate::actors::RemoteActorObject;
use crate::context::{Data, LocalRef};
use crate::outbound;
use crate::protocol::{self, id_of, type_of};
use crate::signatures::{self, MASTODON_WINDOW, SignatureError, SignedRequest};

/// Which inbox the request came to (all behave the same; recorded in logs).
#[derive(Debug, Clone)]
pub enum InboxTarget {
    Shared,
    Actor(Url),
}

/// Why an inbound request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    #[error("invalid signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("cannot verify the signature: {0}")]
    KeyUnavailable(String),
    #[error("signed by key {key_id}, which is not the key of {actor}")]
    KeyOwnerMismatch { key_id: String, actor: String },
    #[error("malformed activity: {0}")]
    Malformed(String),
    #[error("{0}")]
    OriginMismatch(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl InboxError {
    /// The HTTP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            InboxError::Signature(e) => e.status(),
            InboxError::KeyUnavailable(_) | InboxError::KeyOwnerMismatch { .. } => 401,
            InboxError::Malformed(_) => 400,
            InboxError::OriginMismatch(_) | InboxError::Refused(_) => 403,
            InboxError::NotFound(_) => 404,
            InboxError::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InboxError::Signature(_) => "invalid-signature",
            InboxError::KeyUnavailable(_) => "key-unavailable",
            InboxError::KeyOwnerMismatch { .. } => "key-owner-mismatch",
            InboxError::Malformed(_) => "malformed-activity",
            InboxError::OriginMismatch(_) => "origin-mismatch",
            InboxError::Refused(_) => "refused",
            InboxError::NotFound(_) => "not-found",
            InboxError::Internal(_) => "internal",
        }
    }
}

impl From<hearth_db::DbError> for InboxError {
    fn from(e: hearth_db::DbError) -> Self {
        InboxError::Internal(e.to_string())
    }
}

impl From<hearth_db::DbErr> for InboxError {
    fn from(e: hearth_db::DbErr) -> Self {
        InboxError::Internal(e.to_string())
    }
}

impl From<FederationError> for InboxError {
    fn from(e: FederationError) -> Self {
        match e {
            FederationError::NotFound(what) => InboxError::NotFound(what.into()),
            FederationError::Refused(why) => InboxError::Refused(why),
            other => InboxError::Internal(other.to_string()),
        }
    }
}

/// What happened to an accepted activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Verified and applied.
    Applied,
    /// Seen before; acknowledged, nothing changed.
    Duplicate,
    /// Verified, but Hearth does not act on this type.
    Ignored(String),
}

/// An inbound POST as the HTTP layer hands it over.
pub struct InboundRequest<'a> {
    pub path_and_query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
    pub target: InboxTarget,
}

/// The envelope every activity has.
pub(crate) struct Envelope {
    pub(crate) id: Url,
    pub(crate) kind: String,
    pub(crate) actor: Url,
    pub(crate) object: Value,
    pub(crate) raw: Value,
}

impl Envelope {
    /// The id of the object (a URL, or an embedded object's `id`).
    pub(crate) fn object_id(&self) -> Option<Url> {
        id_of(&self.object)
    }
}

/// Deepest JSON nesting accepted from another server.
const MAX_DEPTH: usize = 32;

/// Receive one activity. See the module docs for the order of checks.
pub async fn receive(data: &Data, req: InboundRequest<'_>) -> Result<Received, InboxError> {
    let signed = SignedRequest {
        method: "POST",
        path_and_query: req.path_and_query,
        headers: req.headers,
        body: Some(req.body),
    };
    let signature = signatures::precheck(&signed, std::time::SystemTime::now(), MASTODON_WINDOW)?;

    let envelope = parse(req.body)?;
    let span = tracing::info_span!("activity", activity_id = %envelope.id, kind = %envelope.kind, actor = %envelope.actor);
    // `Instrument`, not `span.enter()`: a guard held across `.await` is
    // dropped on whatever thread resumes the task and corrupts tracing's
    // span bookkeeping (it panicked a server under load).
    receive_envelope(data, &req, &signed, &signature, envelope)
        .instrument(span)
        .await
}

async fn receive_envelope(
    data: &Data,
    req: &InboundRequest<'_>,
    signed: &SignedRequest<'_>,
    signature: &signatures::SignatureHeader,
    envelope: Envelope,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    if protocol::authority(&envelope.id) != protocol::authority(&envelope.actor) {
        return Err(InboxError::OriginMismatch(format!(
            "activity {} is not on the origin of its actor {}",
            envelope.id, envelope.actor
        )));
    }
    if fed.urls.is_local(&envelope.actor) {
        return Err(InboxError::Refused(format!(
            "actor {} claims to be on this server",
            envelope.actor
        )));
    }
    // A keyId of the form `actor#fragment` names its owner: refuse a key of
    // another actor before fetching anything.
    if signature.key_id.contains('#')
        && signatures::key_id_without_fragment(&signature.key_id).as_ref() != Some(&envelope.actor)
    {
        return Err(InboxError::KeyOwnerMismatch {
            key_id: signature.key_id.clone(),
            actor: envelope.actor.to_string(),
        });
    }
    if hearth_db::federation::inbound_seen(&fed.db, envelope.id.as_str()).await? {
        return Ok(Received::Duplicate);
    }
    policy_check(data, &envelope)?;

    let actor = verified_actor(data, signed, signature, &envelope.actor).await?;
    tracing::debug!(target_inbox = ?req.target, "signature verified");
    apply(data, envelope, actor).await
}

/// The envelope of an activity already parsed as JSON (outbox items).
pub(crate) fn envelope_of(raw: &Value) -> Option<Envelope> {
    Some(Envelope {
        id: raw.get("id").and_then(id_of)?,
        actor: raw.get("actor").and_then(id_of)?,
        kind: type_of(raw)?.to_owned(),
        object: raw.get("object").cloned().unwrap_or(Value::Null),
        raw: raw.clone(),
    })
}

fn parse(body: &[u8]) -> Result<Envelope, InboxError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| InboxError::Malformed(e.to_string()))?;
    if depth(&raw) > MAX_DEPTH {
        return Err(InboxError::Malformed(format!(
            "nested more than {MAX_DEPTH} levels deep"
        )));
    }
    let field = |name: &str| InboxError::Malformed(format!("`{name}` is missing or not a URL"));
    let id = raw.get("id").and_then(id_of).ok_or_else(|| field("id"))?;
    let actor = raw
        .get("actor")
        .and_then(id_of)
        .ok_or_else(|| field("actor"))?;
    let kind = type_of(&raw)
        .ok_or_else(|| InboxError::Malformed("`type` is missing".into()))?
        .to_owned();
    let object = raw.get("object").cloned().unwrap_or(Value::Null);
    Ok(Envelope {
        id,
        kind,
        actor,
        object,
        raw,
    })
}

fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// The single check point for who may talk to this server. Today it refuses
/// what cannot be a real peer (IP-literal hosts; plain http outside test
/// mode); domain blocks and allowlist mode will live here too.
fn policy_check(data: &Data, envelope: &Envelope) -> Result<(), InboxError> {
    let fed = data.app_data();
    if envelope.actor.domain().is_none() {
        return Err(InboxError::Refused(format!(
            "actor {} uses an IP address instead of a host name",
            envelope.actor
        )));
    }
    if envelope.actor.scheme() != "https" && !fed.settings.test_mode {
        return Err(InboxError::Refused(format!(
            "actor {} is not served over https",
            envelope.actor
        )));
    }
    Ok(())
}

/// Fetch (or reuse) the actor, check the key belongs to it, and verify the
/// signature; refetch once if a cached key no longer verifies.
async fn verified_actor(
    data: &Data,
    signed: &SignedRequest<'_>,
    signature: &signatures::SignatureHeader,
    actor_id: &Url,
) -> Result<RemoteActorObject, InboxError> {
    let object_id: ObjectId<RemoteActorObject> = actor_id.clone().into();
    let started = Utc::now();
    let actor = object_id
        .dereference(data)
        .await
        .map_err(|e| InboxError::KeyUnavailable(format!("cannot fetch actor {actor_id}: {e}")))?;
    let check = |actor: &RemoteActorObject| -> Result<(), InboxError> {
        if actor.actor.public_key_id != signature.key_id {
            return Err(InboxError::KeyOwnerMismatch {
                key_id: signature.key_id.clone(),
                actor: actor_id.to_string(),
            });
        }
        signatures::verify(signed, signature, &actor.actor.public_key_pem).map_err(InboxError::from)
    };
    match check(&actor) {
        Ok(()) => Ok(actor),
        Err(first) => {
            // A cached copy may predate a key rotation: fetch it again, once.
            // A copy fetched during this very request is already current.
            if actor.actor.fetched_at >= started {
                return Err(first);
            }
            let refreshed = object_id.dereference_forced(data).await.map_err(|e| {
                InboxError::KeyUnavailable(format!("cannot refetch actor {actor_id}: {e}"))
            })?;
            check(&refreshed)?;
            tracing::info!(actor = %actor_id, "actor key rotated; verified with the refetched key");
            Ok(refreshed)
        }
    }
}

/// Apply a verified activity in one transaction with the record of its id.
async fn apply(
    data: &Data,
    envelope: Envelope,
    actor: RemoteActorObject,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    // Network work first: no transaction may wait on another server.
    let prepared = match envelope.kind.as_str() {
        "Announce" => Some(crate::posts::prepare_announce(data, &envelope, &actor).await?),
        _ => None,
    };
    let txn = begin_write(&fed.db).await?;
    if !hearth_db::federation::record_inbound(
        &txn,
        envelope.id.as_str(),
        &envelope.kind,
        envelope.actor.as_str(),
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(Received::Duplicate);
    }
    let outcome = match envelope.kind.as_str() {
        "Follow" => on_follow(data, &txn, &envelope, &actor).await,
        "Undo" => match type_of(&envelope.object) {
            Some("Like" | "EmojiReact" | "Dislike") => {
                crate::posts::from_member(data, &txn, &envelope, &actor).await
            }
            Some("Follow") => on_undo(data, &txn, &envelope, &actor).await,
            _ => match on_undo(data, &txn, &envelope, &actor).await? {
                Received::Ignored(_) => {
                    crate::posts::from_member(data, &txn, &envelope, &actor).await
                }
                done => Ok(done),
            },
        },
        "Accept" | "Reject" => on_answer(data, &txn, &envelope, &actor).await,
        "Announce" => match prepared {
            Some(prepared) => crate::posts::from_group(&txn, fed, &actor, prepared).await,
            None => Ok(Received::Ignored("nothing prepared".into())),
        },
        "Create" | "Update" | "Delete" | "Like" | "EmojiReact" | "Dislike" => {
            crate::posts::from_member(data, &txn, &envelope, &actor).await
        }
        other => Ok(Received::Ignored(format!(
            "{other} activities are not used by Hearth yet"
        ))),
    };
    match outcome {
        Ok(received) => {
            txn.commit().await?;
            fed.outbox_ready.notify_one();
            if envelope.kind == "Accept" && received == Received::Applied {
                // A member here was let into a group elsewhere: fill in its
                // recent threads, outside this request.
                let data = data.reset_request_count();
                let group = actor.url().to_string();
                tokio::spawn(async move {
                    if let Err(err) = crate::posts::backfill(&data, &group).await {
                        tracing::info!(group, error = %err, "backfill failed");
                    }
                });
            }
            tracing::info!(outcome = ?received, "activity received");
            Ok(received)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// `Follow` of a local group asks to join it. Follows of people or of the
/// instance actor are answered with `Reject`: Hearth is about groups.
async fn on_follow(
    data: &Data,
    txn: &DatabaseTransaction,
    envelope: &Envelope,
    actor: &RemoteActorObject,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    let target = id_of(&envelope.object)
        .ok_or_else(|| InboxError::Malformed("Follow has no object".into()))?;
    let follower = actor.url();
    match fed.urls.parse_local(&target) {
        Some(LocalRef::Group(name)) => {
            let group = groups::find_by_name(txn, &name)
                .await?
                .ok_or_else(|| InboxError::NotFound(format!("group {target}")))?;
            let existing =
                groups::find_membership(txn, group.id, Member::Remote(actor.actor.id)).await?;
            let state = match existing.as_ref().map(|m| m.state) {
                // Already a member: confirm again (the Follow may be a retry).
                Some(MembershipState::Joined) => MembershipState::Joined,
                _ => group.join_policy.initial_state(),
            };
            groups::request_membership(
                txn,
                group.id,
                Member::Remote(actor.actor.id),
                state,
                Some(envelope.id.to_string()),
            )
            .await?;
            if state == MembershipState::Joined {
                answer(data, txn, &group, "Accept", &envelope.raw, follower, actor).await?;
            }
            Ok(Received::Applied)
        }
        Some(LocalRef::User(_) | LocalRef::Site) => {
            let reject =
                outbound::answer_follow(&fed.urls, "Reject", &target, &envelope.raw, follower);
            outbound::enqueue(
                txn,
                &fed.urls,
                &reject,
                std::slice::from_ref(&actor.actor.inbox),
            )
            .await?;
            Ok(Received::Applied)
        }
        _ => Err(InboxError::NotFound(format!("no group at {target}"))),
    }
}

/// Queue the group's `Accept`/`Reject` of a Follow to the follower.
pub(crate) async fn answer(
    data: &Data,
    txn: &DatabaseTransaction,
    group: &Group,
    kind: &str,
    follow: &Value,
    follower: &Url,
    actor: &RemoteActorObject,
) -> Result<(), FederationError> {
    let fed = data.app_data();
    let activity = outbound::answer_follow(
        &fed.urls,
        kind,
        &fed.urls.group(&group.name),
        follow,
        follower,
    );
    outbound::enqueue(
        txn,
        &fed.urls,
        &activity,
        std::slice::from_ref(&actor.actor.inbox),
    )
    .await
}

/// `Undo` of a `Follow`: the member leaves the group.
async fn on_undo(
    data: &Data,
    txn: &DatabaseTransaction,
    envelope: &Envelope,
    actor: &RemoteActorObject,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    let object_id = id_of(&envelope.object)
        .ok_or_else(|| InboxError::Malformed("Undo has no object".into()))?;
    // Only the actor's own activities can be undone by it.
    if protocol::authority(&object_id) != protocol::authority(&envelope.actor) {
        return Err(InboxError::OriginMismatch(format!(
            "Undo by {} names {object_id}, which is on another origin",
            envelope.actor
        )));
    }
    if let Some(inner_actor) = envelope.object.get("actor").and_then(id_of)
        && inner_actor != envelope.actor
    {
        return Err(InboxError::OriginMismatch(format!(
            "Undo by {} of an activity by {inner_actor}",
            envelope.actor
        )));
    }
    match type_of(&envelope.object) {
        Some("Follow") | None => {}
        Some(other) => {
            return Ok(Received::Ignored(format!(
                "Undo of {other} is not used by Hearth yet"
            )));
        }
    }
    // Find the group: from the embedded Follow, or from the stored Follow id.
    let group = match envelope
        .object
        .get("object")
        .and_then(id_of)
        .and_then(|t| fed.urls.parse_local(&t))
    {
        Some(LocalRef::Group(name)) => groups::find_by_name(txn, &name).await?,
        _ => None,
    };
    let membership_group = match group {
        Some(group) => Some(group),
        None => find_group_by_follow(txn, actor, object_id.as_str()).await?,
    };
    let Some(group) = membership_group else {
        return Ok(Received::Ignored("nothing to undo".into()));
    };
    groups::remove_membership(txn, group.id, Member::Remote(actor.actor.id)).await?;
    Ok(Received::Applied)
}

async fn find_group_by_follow(
    txn: &DatabaseTransaction,
    actor: &RemoteActorObject,
    follow_id: &str,
) -> Result<Option<Group>, InboxError> {
    // Memberships of this actor whose Follow id matches.
    for (group, membership) in groups::memberships_of_remote(txn, actor.actor.id).await? {
        if membership.follow_ap_id.as_deref() == Some(follow_id) {
            return Ok(Some(group));
        }
    }
    Ok(None)
}

/// `Accept` / `Reject` of a Follow one of our members sent to a remote group.
async fn on_answer(
    data: &Data,
    txn: &DatabaseTransaction,
    envelope: &Envelope,
    actor: &RemoteActorObject,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    let follow_id = id_of(&envelope.object)
        .ok_or_else(|| InboxError::Malformed(format!("{} has no object", envelope.kind)))?;
    if !fed.urls.is_local(&follow_id) {
        return Ok(Received::Ignored(format!(
            "{} of an activity that is not ours",
            envelope.kind
        )));
    }
    let Some(membership) = remote::find_membership_by_follow(txn, follow_id.as_str()).await? else {
        return Ok(Received::Ignored(format!(
            "{} of an unknown Follow",
            envelope.kind
        )));
    };
    if membership.group_actor_id != actor.actor.id {
        return Err(InboxError::OriginMismatch(format!(
            "{} answers a Follow of another group",
            envelope.actor
        )));
    }
    let state = if envelope.kind == "Accept" {
        MembershipState::Joined
    } else {
        MembershipState::Declined
    };
    remote::set_membership_state(txn, membership.id, state).await?;
    if membership.state != state {
        hearth_db::notifications::join_decided(
            txn,
            membership.user_id,
            &actor.actor.ap_id,
            state == MembershipState::Joined,
        )
        .await?;
    }
    Ok(Received::Applied)
}

/// Verify a signed GET (authorized fetch). `Ok(None)` when the request is
/// not signed; `Ok(Some(actor))` when it is, validly; an error when a
/// signature is present but does not verify. activitypub_federation's axum
/// integration has no such check; private groups will require it.
pub async fn verify_fetch(
    data: &Data,
    path_and_query: &str,
    headers: &http::HeaderMap,
) -> Result<Option<Url>, InboxError> {
    let signed_header = headers.contains_key("signature")
        || headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("signature "));
    if !signed_header {
        return Ok(None);
    }
    let signed = SignedRequest {
        method: "GET",
        path_and_query,
        headers,
        body: None,
    };
    let signature = signatures::precheck(&signed, std::time::SystemTime::now(), MASTODON_WINDOW)?;
    let actor_id = signatures::key_id_without_fragment(&signature.key_id).ok_or_else(|| {
        InboxError::KeyUnavailable(format!("keyId {} does not name an actor", signature.key_id))
    })?;
    if data.app_data().urls.is_local(&actor_id) {
        return Err(InboxError::Refused(
            "a fetch signed with one of this server's own keys".into(),
        ));
    }
    let actor = verified_actor(data, &signed, &signature, &actor_id).await?;
    Ok(Some(actor.url().clone()))
}

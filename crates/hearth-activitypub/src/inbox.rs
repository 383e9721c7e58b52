//! The verified inbound path: every activity another server sends, and
//! every signed fetch, is proven here before anything reads or changes
//! state. The inbox only proves who is speaking; what they may do is
//! decided by the `hearth-app` commands [`crate::translate`] calls.
//!
//! ```text
//! POST inbox
//!   1 precheck     draft-cavage Signature header, or RFC 9421
//!                  Signature-Input + Signature, well-formed; covers the
//!                  method/target, host and body digest; Date or created
//!                  within 1 h ahead / 65 min behind; digest matches the
//!                  body                            ── nothing fetched yet
//!   2 host         the signed Host (or RFC 9421 authority) is this server
//!                  (a signature made for another server, replayed here,
//!                  fails)
//!   3 parse        JSON (depth-limited), id/type/actor/object present;
//!                  id on the actor's origin; actor not on this server
//!   4 duplicate?   id already applied → 202, nothing changes
//!   5 policy       one check point for who may talk to us
//!   6 key          fetch (or reuse) the actor; keyId must be its key
//!   7 verify       RSA signature; on failure refetch the actor once
//!                  (key rotation) and verify again
//!   8 translate    the verified activity becomes commands, which record
//!                  its id in their own transaction
//! ```
//!
//! Errors are 4xx so the sending server stops retrying; nothing is stored
//! for a rejected activity.

use activitypub_federation::fetch::object_id::ObjectId;
use chrono::Utc;
use hearth_app::{AppError, Reader};
use serde_json::Value;
use tracing::Instrument as _;
use url::Url;

use crate::FederationError;
use crate::actors::RemoteActorObject;
use crate::context::Data;
use crate::objects::{self, Envelope};
use crate::protocol;
use crate::signatures::{self, MASTODON_WINDOW, SignatureError, SignedRequest};

/// Which inbox the request came to (all behave the same; recorded in logs).
#[derive(Debug, Clone)]
pub enum InboxTarget {
    Shared,
    Actor(Url),
}

/// What became of an accepted activity.
pub type Received = hearth_app::inbound::Outcome;

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
    /// Well-formed, but what it carries breaks a rule every post follows
    /// (a body too long, a reply without text).
    #[error("not acceptable: {0}")]
    Unacceptable(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Over a rate limit: the sender should retry later.
    #[error("too many activities; retry after {0} s")]
    TooMany(u64),
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
            InboxError::Unacceptable(_) => 422,
            InboxError::TooMany(_) => 429,
            InboxError::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InboxError::Signature(SignatureError::WrongHost(_)) => "wrong-host",
            InboxError::Signature(_) => "invalid-signature",
            InboxError::KeyUnavailable(_) => "key-unavailable",
            InboxError::KeyOwnerMismatch { .. } => "key-owner-mismatch",
            InboxError::Malformed(_) => "malformed-activity",
            InboxError::OriginMismatch(_) => "origin-mismatch",
            InboxError::Refused(_) => "refused",
            InboxError::Unacceptable(_) => "unacceptable-content",
            InboxError::NotFound(_) => "not-found",
            InboxError::TooMany(_) => "rate-limited",
            InboxError::Internal(_) => "internal",
        }
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

impl From<AppError> for InboxError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(errors) => InboxError::Unacceptable(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::NotFound { what } => InboxError::NotFound(what.into()),
            AppError::NotMember => InboxError::Refused("not a member of the group".into()),
            AppError::Refused(why) => InboxError::Refused(why),
            AppError::Forbidden(why) => InboxError::Refused(why.into()),
            AppError::TooMany { retry_after } => InboxError::TooMany(retry_after),
            other => InboxError::Internal(other.to_string()),
        }
    }
}

/// An inbound POST as the HTTP layer hands it over.
pub struct InboundRequest<'a> {
    pub path_and_query: &'a str,
    /// As received; under HTTP/2 the caller adds `host` from the request's
    /// authority.
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
    pub target: InboxTarget,
}

/// Deepest JSON nesting accepted from another server.
const MAX_DEPTH: usize = 32;

/// Receive one activity. See the module docs for the order of checks.
pub async fn receive(data: &Data, req: InboundRequest<'_>) -> Result<Received, InboxError> {
    let signed = SignedRequest {
        method: "POST",
        scheme: scheme(data),
        path_and_query: req.path_and_query,
        headers: req.headers,
        body: Some(req.body),
    };
    let signature = signatures::precheck(&signed, std::time::SystemTime::now(), MASTODON_WINDOW)?;
    check_host(data, &signed)?;
    let (envelope, raw) = parse(req.body)?;
    let span = tracing::info_span!("activity", activity_id = %envelope.id, kind = %envelope.kind, actor = %envelope.actor);
    // `Instrument`, not `span.enter()`: a guard held across `.await` is
    // dropped on whatever thread resumes the task and corrupts tracing's
    // span bookkeeping (it panicked a server under load).
    receive_envelope(data, &req, &signed, &signature, envelope, raw)
        .instrument(span)
        .await
}

/// How this server is reached, for RFC 9421's `@scheme` and `@target-uri`:
/// https (behind its TLS proxy), or plain http in test mode.
fn scheme(data: &Data) -> &'static str {
    if data.app_data().settings.test_mode {
        "http"
    } else {
        "https"
    }
}

/// The signed `Host` must be this server's.
fn check_host(data: &Data, signed: &SignedRequest<'_>) -> Result<(), InboxError> {
    let settings = &data.app_data().settings;
    let default_port = if settings.test_mode { 80 } else { 443 };
    Ok(signatures::check_host(
        signed,
        &settings.domain,
        default_port,
    )?)
}

async fn receive_envelope(
    data: &Data,
    req: &InboundRequest<'_>,
    signed: &SignedRequest<'_>,
    signature: &signatures::Signature,
    envelope: Envelope,
    raw: Value,
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
    if signature.key_id().contains('#')
        && signatures::key_id_without_fragment(signature.key_id()).as_ref() != Some(&envelope.actor)
    {
        return Err(InboxError::KeyOwnerMismatch {
            key_id: signature.key_id().to_owned(),
            actor: envelope.actor.to_string(),
        });
    }
    policy_check(data, &envelope)?;
    // The federation policy, before anything is fetched or verified.
    let server = hearth_app::ids::authority(&envelope.actor)
        .ok_or_else(|| InboxError::Malformed(format!("actor {} has no host", envelope.actor)))?;
    fed.app.check_server(&server).await?;
    if fed.app.seen(dedupe_id(&envelope).as_str()).await? {
        return Ok(Received::Duplicate);
    }

    let actor = verified_actor(data, signed, signature, &envelope.actor).await?;
    tracing::debug!(target_inbox = ?req.target, "signature verified");
    let received = crate::translate::received(data, &envelope, &raw, actor).await?;
    tracing::info!(outcome = ?received, "activity received");
    Ok(received)
}

/// The id a repeated delivery is recognised by: the activity's own, or for
/// an `Announce` of an activity, the announced activity's (that is what the
/// commands record).
pub(crate) fn dedupe_id(envelope: &Envelope) -> Url {
    if envelope.kind == "Announce"
        && let Ok(objects::Announced::Activity(inner)) = objects::announced(envelope)
        && let Some(id) = inner.get("id").and_then(protocol::id_of)
    {
        return id;
    }
    envelope.id.clone()
}

pub(crate) fn parse(body: &[u8]) -> Result<(Envelope, Value), InboxError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| InboxError::Malformed(e.to_string()))?;
    if depth(&raw) > MAX_DEPTH {
        return Err(InboxError::Malformed(format!(
            "nested more than {MAX_DEPTH} levels deep"
        )));
    }
    let envelope =
        objects::parse_envelope(&raw).map_err(|e| InboxError::Malformed(e.to_string()))?;
    Ok((envelope, raw))
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

/// What cannot be a real peer: IP-literal hosts, plain http outside test
/// mode. The admin's federation policy is asked right after it
/// ([`hearth_app::App::check_server`]).
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
    signature: &signatures::Signature,
    actor_id: &Url,
) -> Result<RemoteActorObject, InboxError> {
    let object_id: ObjectId<RemoteActorObject> = actor_id.clone().into();
    let started = Utc::now();
    let actor = object_id
        .dereference(data)
        .await
        .map_err(|e| InboxError::KeyUnavailable(format!("cannot fetch actor {actor_id}: {e}")))?;
    let check = |actor: &RemoteActorObject| -> Result<(), InboxError> {
        if actor.actor.public_key_id != signature.key_id() {
            return Err(InboxError::KeyOwnerMismatch {
                key_id: signature.key_id().to_owned(),
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

/// Whether a request carries an HTTP signature of either kind (draft-cavage
/// `Signature` or `Authorization: Signature …`, RFC 9421
/// `Signature-Input`), valid or not.
pub fn carries_signature(headers: &http::HeaderMap) -> bool {
    headers.contains_key("signature")
        || headers.contains_key("signature-input")
        || headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.get(..10))
            .is_some_and(|p| p.eq_ignore_ascii_case("signature "))
}

/// Verify a signed GET (authorized fetch) and say who reads: `Anonymous`
/// when the request is not signed; the signing actor's server when it is,
/// validly, for this server's host and this path; an error when a
/// signature is present but does not verify.
pub async fn verify_fetch(
    data: &Data,
    path_and_query: &str,
    headers: &http::HeaderMap,
) -> Result<Reader, InboxError> {
    if !carries_signature(headers) {
        return Ok(Reader::Anonymous);
    }
    let signed = SignedRequest {
        method: "GET",
        scheme: scheme(data),
        path_and_query,
        headers,
        body: None,
    };
    let signature = signatures::precheck(&signed, std::time::SystemTime::now(), MASTODON_WINDOW)?;
    check_host(data, &signed)?;
    let actor_id = signatures::key_id_without_fragment(signature.key_id()).ok_or_else(|| {
        InboxError::KeyUnavailable(format!(
            "keyId {} does not name an actor",
            signature.key_id()
        ))
    })?;
    if data.app_data().urls.is_local(&actor_id) {
        return Err(InboxError::Refused(
            "a fetch signed with one of this server's own keys".into(),
        ));
    }
    // A server the policy cuts off reads nothing, not even what is public:
    // its signature says who it is.
    let server = hearth_app::ids::authority(&actor_id)
        .ok_or_else(|| InboxError::KeyUnavailable(format!("keyId {actor_id} has no host")))?;
    data.app_data().app.check_server(&server).await?;
    let actor = verified_actor(data, &signed, &signature, &actor_id).await?;
    Ok(Reader::Server(actor.actor.authority.to_ascii_lowercase()))
}

//! Verified activities become commands. The inbox (or a backfill) has
//! proven who is speaking; this module reads what they said off the wire
//! and calls the `hearth-app` command it stands for, with an [`Origin`]
//! saying who asked. It decides nothing about rights: the commands do,
//! the same way for every door.
//!
//! ```text
//! Follow ─────────────▶ App::receive_follow          Accept/Reject ─▶ App::receive_follow_answer
//! Undo{Follow} ───────▶ App::receive_unfollow        Undo{Like} ────▶ App::receive_undo_reaction
//! Create/Update ──────▶ App::receive_post / _edit    Delete ────────▶ App::receive_delete
//! Like/EmojiReact ────▶ App::receive_reaction        Lock, Undo{Lock} (relayed) ─▶ App::receive_lock
//! Flag ───────────────▶ App::receive_flag            Resolve (Hearth) ─▶ App::receive_resolve
//! Undo{Delete} (relayed) ─▶ App::receive_restore      Update{Group} (by the group) ─▶ App::receive_guidance
//! Block, Undo{Block} (relayed) ─▶ App::receive_block  Add/Remove (relayed) ─▶ App::receive_moderator
//! Announce{activity} ─▶ the same, with Origin relayed by the group (it may only speak about
//!                       its own posts, never for anyone on this server)
//! Announce{id} ───────▶ fetched from its author's server, then App::receive_post
//! ```
//!
//! Network work (fetching an object, an author) happens here, before any
//! command opens a transaction: no transaction waits on another server.

use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::object_id::ObjectId;
use hearth_app::inbound::IncomingPost;
use hearth_app::records::{FetchedActor, RemoteActor};
use hearth_app::{AppError, LocalRef, Origin};
use hearth_domain::content::RemoteContent;
use hearth_domain::post::Reaction;
use hearth_domain::sources::RawSource;
use serde_json::Value;
use url::Url;

use crate::actors::RemoteActorObject;
use crate::context::{Data, Federation};
use crate::inbox::{InboxError, Received};
use crate::objects::{self, Announced, Envelope, IncomingObject, ObjectKind, ReactionKind};
use crate::protocol;

fn malformed(e: objects::ObjectError) -> InboxError {
    InboxError::Malformed(e.to_string())
}

/// An activity `actor` signed and sent to one of our inboxes.
pub(crate) async fn received(
    data: &Data,
    envelope: &Envelope,
    raw: &Value,
    actor: RemoteActorObject,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    let app = &fed.app;
    let origin = Origin::signed(actor.actor.clone(), envelope.id.as_str(), &envelope.kind);
    let object_id = || {
        envelope
            .object_id
            .clone()
            .ok_or_else(|| InboxError::Malformed(format!("{} has no object", envelope.kind)))
    };
    Ok(match envelope.kind.as_str() {
        "Follow" => app.receive_follow(&origin, object_id()?.as_str()).await?,
        "Accept" | "Reject" => {
            app.receive_follow_answer(&origin, object_id()?.as_str(), envelope.kind == "Accept")
                .await?
        }
        "Undo" => {
            let undone = object_id()?;
            // Only one's own activities can be undone.
            if protocol::authority(&undone) != protocol::authority(&envelope.actor) {
                return Err(InboxError::OriginMismatch(format!(
                    "Undo by {} names {undone}, which is on another origin",
                    envelope.actor
                )));
            }
            if let Some(inner_actor) = envelope.object.get("actor").and_then(protocol::id_of)
                && inner_actor != envelope.actor
            {
                return Err(InboxError::OriginMismatch(format!(
                    "Undo by {} of an activity by {inner_actor}",
                    envelope.actor
                )));
            }
            match envelope.object_kind.as_deref() {
                Some("Like" | "EmojiReact" | "Dislike") => {
                    app.receive_undo_reaction(&origin, undone.as_str()).await?
                }
                Some("Follow") => {
                    let target = envelope.object.get("object").and_then(protocol::id_of);
                    app.receive_unfollow(&origin, undone.as_str(), target.as_ref().map(Url::as_str))
                        .await?
                }
                // Only the id: a Follow of ours, or a reaction.
                None => match app.receive_unfollow(&origin, undone.as_str(), None).await? {
                    Received::Ignored(_) => {
                        app.receive_undo_reaction(&origin, undone.as_str()).await?
                    }
                    done => done,
                },
                // A moderator of another server, to a group here.
                Some("Lock") => {
                    let locked = envelope
                        .object
                        .get("object")
                        .and_then(protocol::id_of)
                        .ok_or_else(|| InboxError::Malformed("Undo{Lock} names no post".into()))?;
                    app.receive_lock(&origin, locked.as_str(), false).await?
                }
                Some("Delete") => {
                    let removed = envelope
                        .object
                        .get("object")
                        .and_then(protocol::id_of)
                        .ok_or_else(|| {
                            InboxError::Malformed("Undo{Delete} names no post".into())
                        })?;
                    app.receive_restore(&origin, removed.as_str()).await?
                }
                Some(other) => {
                    Received::Ignored(format!("Undo of {other} is not used by Hearth yet"))
                }
            }
        }
        // A group sends its own document again: its rules and guide.
        "Update" if envelope.object_kind.as_deref() == Some("Group") => {
            let group: protocol::ActorJson = serde_json::from_value(envelope.object.clone())
                .map_err(|e| InboxError::Malformed(format!("Update{{Group}}: {e}")))?;
            if group.id != envelope.actor {
                // Lemmy's moderators update their community this way;
                // Hearth takes a group's guidance from the group only.
                return Ok(Received::Ignored(format!(
                    "{} updated {}, not itself",
                    envelope.actor, group.id
                )));
            }
            // The rest of the document (its visibility above all) is read
            // from the group's own server, not from the activity.
            let fetched = match actor_fetched_again(data, &group.id).await {
                Ok(fetched) => Some(fetched),
                Err(err) => {
                    tracing::info!(group = %group.id, error = %err, "cannot fetch an updated group again; its guidance is still taken");
                    None
                }
            };
            app.receive_guidance(
                &origin,
                group.id.as_str(),
                group.care.rules.as_deref(),
                group.care.support_guide.as_deref(),
                fetched,
            )
            .await?
        }
        // A person's own document changed (a professional role verified
        // or revoked): fetched again from their server.
        "Update" if envelope.object_kind.as_deref() == Some("Person") => {
            person_updated(data, &origin, &object_id()?, &envelope.actor).await?
        }
        "Create" | "Update" => {
            let obj = objects::parse_object(&envelope.object).map_err(malformed)?;
            // A moderator of another server labels a post in a group
            // here: only the label is read (the command checks they
            // moderate the group); nothing else of the object is taken.
            if envelope.kind == "Update"
                && obj.attributed_to != envelope.actor
                && let Some(label) = &obj.label
            {
                return Ok(app
                    .receive_label(&origin, obj.id.as_str(), incoming_label(label))
                    .await?);
            }
            if protocol::authority(&obj.id) != protocol::authority(&envelope.actor) {
                return Err(InboxError::OriginMismatch(format!(
                    "{} is not on the origin of {}",
                    obj.id, envelope.actor
                )));
            }
            let post = incoming_post(&obj, |url| {
                matches!(fed.urls.parse_local(url), Some(LocalRef::Group(_)))
            });
            if envelope.kind == "Create" {
                app.receive_post(&origin, post).await?
            } else {
                app.receive_edit(&origin, post).await?
            }
        }
        // By its author, or by a moderator of another server to a group
        // here (its `summary` is the reason).
        "Delete" => {
            let reason = raw.get("summary").and_then(Value::as_str);
            app.receive_delete(&origin, object_id()?.as_str(), reason)
                .await?
        }
        // A moderator of another server closes, or pins, a thread of a
        // group here.
        "Lock" => {
            app.receive_lock(&origin, object_id()?.as_str(), true)
                .await?
        }
        "Add" | "Remove" => {
            let target = raw
                .get("target")
                .and_then(protocol::id_of)
                .ok_or_else(|| InboxError::Malformed(format!("{} has no target", envelope.kind)))?;
            app.receive_moderator(
                &origin,
                object_id()?.as_str(),
                target.as_str(),
                envelope.kind == "Add",
            )
            .await?
        }
        "Like" | "EmojiReact" | "Dislike" => {
            let reaction = objects::parse_reaction(raw).map_err(malformed)?;
            match reaction_of(&reaction) {
                Some(kind) => {
                    app.receive_reaction(&origin, reaction.object.as_str(), kind)
                        .await?
                }
                None => Received::Ignored("a reaction Hearth does not offer".into()),
            }
        }
        "Announce" => relayed(data, &actor.actor, raw).await?,
        // A report: Lemmy's (by a person, to the group), Mastodon's and
        // Hearth's (by the server's own actor).
        "Flag" => app.receive_flag(&origin, objects::parse_flag(raw)).await?,
        // Another Hearth server dealt with a report sent from here.
        "Resolve" => {
            let flag = object_id()?;
            let summary = raw.get("summary").and_then(Value::as_str);
            app.receive_resolve(&origin, flag.as_str(), summary).await?
        }
        other => Received::Ignored(format!("{other} activities are not used by Hearth yet")),
    })
}

/// `Update{Person}`: only the person may say their document changed. It
/// is fetched again from their server (what the activity embeds is not
/// taken), their professional claim checked against the server it names,
/// and stored through the one door.
async fn person_updated(
    data: &Data,
    origin: &Origin,
    person: &Url,
    actor: &Url,
) -> Result<Received, InboxError> {
    if person != actor {
        return Err(InboxError::OriginMismatch(format!(
            "Update of {person} by {actor}: a person's document is theirs alone"
        )));
    }
    let fetched = actor_fetched_again(data, person).await?;
    Ok(data
        .app_data()
        .app
        .receive_person_update(origin, fetched)
        .await?)
}

/// An actor's document fetched again from its own server (through the
/// outbound guard) and checked as any actor document is.
async fn actor_fetched_again(data: &Data, actor: &Url) -> Result<FetchedActor, InboxError> {
    let json = fetch_object_http::<Federation, crate::protocol::ActorJson>(actor, data)
        .await
        .map_err(|e| InboxError::NotFound(format!("cannot fetch {actor}: {e}")))?
        .object;
    crate::actors::verify_actor_document(&json, actor, &data.app_data().urls)
        .map_err(|e| InboxError::Malformed(e.to_string()))?;
    crate::actors::read_actor(json, data)
        .await
        .map_err(|e| InboxError::Malformed(e.to_string()))
}

/// The support reaction an incoming vote or reaction stands for; Hearth has
/// no dislikes.
pub(crate) fn reaction_of(reaction: &objects::IncomingReaction) -> Option<Reaction> {
    (reaction.kind != ReactionKind::Dislike)
        .then(|| Reaction::from_emoji(reaction.content.as_deref()))
        .flatten()
}

/// An `Announce` by `group`, a group on another server: received in our
/// inbox, or read from its outbox by a backfill. Each announced activity
/// becomes the command it stands for, by its own actor, relayed by the
/// group: the commands then refuse whatever is not the group's to say.
pub(crate) async fn relayed(
    data: &Data,
    group: &RemoteActor,
    raw: &Value,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    let app = &fed.app;
    if !app.followed_here(group).await? && !about_a_member_here(&fed.urls, raw) {
        return Ok(Received::Ignored(
            "an Announce from an actor no member here follows".into(),
        ));
    }
    let parsed = objects::parse_envelope(raw).map_err(malformed)?;
    let id = match objects::announced(&parsed).map_err(malformed)? {
        Announced::Activity(inner_value) => {
            return relayed_activity(data, group, &inner_value).await;
        }
        Announced::Object(value) => protocol::id_of(&value)
            .ok_or_else(|| InboxError::Malformed("announced object has no id".into()))?,
        Announced::Reference(id) => id,
    };
    // A bare Announce (for Mastodon): usually Hearth already has the post
    // from the Announce of its Create; otherwise fetch it from its origin.
    if app.knows_post(id.as_str()).await? {
        return Ok(Received::Ignored("already here".into()));
    }
    let obj = match fetch_object(data, &id).await {
        Ok(obj) => obj,
        Err(err) => {
            return Ok(Received::Ignored(format!(
                "cannot fetch the announced post: {err}"
            )));
        }
    };
    know_author(data, &obj).await;
    let origin = Origin::relayed(
        &fed.urls,
        group.clone(),
        obj.attributed_to.as_str(),
        obj.id.as_str(),
        "Announce",
    )?;
    let post = incoming_post(&obj, |url| url.as_str() == group.ap_id);
    quiet_not_found(app.receive_post(&origin, post).await)
}

/// Whether an `Announce` carries a group's ban of (or the lifting of a
/// ban on) a member of this server, or the end of one of their roles in
/// it: told even when nobody here follows the group any more (the ban, or
/// their leaving, ended their membership).
fn about_a_member_here(urls: &hearth_app::Urls, raw: &Value) -> bool {
    let Some(inner) = raw.get("object") else {
        return false;
    };
    let about = match protocol::type_of(inner) {
        Some("Block" | "Remove") => inner,
        Some("Undo") => match inner.get("object") {
            Some(b) if protocol::type_of(b) == Some("Block") => b,
            _ => return false,
        },
        _ => return false,
    };
    about
        .get("object")
        .and_then(protocol::id_of)
        .is_some_and(|person| urls.is_local(&person))
}

async fn relayed_activity(
    data: &Data,
    group: &RemoteActor,
    inner_value: &Value,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    let app = &fed.app;
    let inner = objects::parse_envelope(inner_value).map_err(malformed)?;
    if fed.urls.is_local(&inner.actor) {
        // Our own member's activity coming back, or a group trying to
        // speak for someone here: either way nothing to apply.
        tracing::info!(group = %group.ap_id, actor = %inner.actor, "ignored a relayed activity by a member of this server");
        return Ok(Received::Ignored(
            "an activity by a member of this server is never taken from a relay".into(),
        ));
    }
    let origin = Origin::relayed(
        &fed.urls,
        group.clone(),
        inner.actor.as_str(),
        inner.id.as_str(),
        &inner.kind,
    )?;
    let object_id = || {
        inner
            .object_id
            .clone()
            .ok_or_else(|| InboxError::Malformed(format!("announced {} has no object", inner.kind)))
    };
    let outcome = match inner.kind.as_str() {
        // A group relays its moderator's label on one of its posts: only
        // the label is read (the command checks the moderator).
        "Update" if labelled_by_other(&inner.object, &inner.actor) => {
            let obj = objects::parse_object(&inner.object).map_err(malformed)?;
            match &obj.label {
                Some(label) => {
                    app.receive_label(&origin, obj.id.as_str(), incoming_label(label))
                        .await
                }
                None => Ok(Received::Ignored("no label".into())),
            }
        }
        "Create" | "Update" => {
            let obj = trusted_object(data, group, &inner.actor, &inner.object).await?;
            if obj.attributed_to != inner.actor {
                return Err(InboxError::OriginMismatch(format!(
                    "{} is not by {}",
                    obj.id, inner.actor
                )));
            }
            know_author(data, &obj).await;
            if inner.kind == "Create" {
                missing_ancestors(data, group, &obj).await;
            }
            let post = incoming_post(&obj, |url| url.as_str() == group.ap_id);
            if inner.kind == "Create" {
                app.receive_post(&origin, post).await
            } else {
                app.receive_edit(&origin, post).await
            }
        }
        "Delete" => {
            let reason = inner_value.get("summary").and_then(Value::as_str);
            app.receive_delete(&origin, object_id()?.as_str(), reason)
                .await
        }
        "Like" | "EmojiReact" | "Dislike" => {
            let reaction = objects::parse_reaction(inner_value).map_err(malformed)?;
            match reaction_of(&reaction) {
                Some(kind) => {
                    app.receive_reaction(&origin, reaction.object.as_str(), kind)
                        .await
                }
                None => Ok(Received::Ignored("a reaction Hearth does not offer".into())),
            }
        }
        "Lock" => app.receive_lock(&origin, object_id()?.as_str(), true).await,
        "Block" => {
            let terms = objects::parse_ban_terms(inner_value).map_err(malformed)?;
            let target = inner_value
                .get("target")
                .and_then(protocol::id_of)
                .ok_or_else(|| InboxError::Malformed("Block has no target".into()))?;
            app.receive_block(
                &origin,
                object_id()?.as_str(),
                target.as_str(),
                terms,
                false,
            )
            .await
        }
        "Add" | "Remove" => {
            let target = inner_value
                .get("target")
                .and_then(protocol::id_of)
                .ok_or_else(|| InboxError::Malformed(format!("{} has no target", inner.kind)))?;
            app.receive_moderator(
                &origin,
                object_id()?.as_str(),
                target.as_str(),
                inner.kind == "Add",
            )
            .await
        }
        "Undo" => match inner.object_kind.as_deref() {
            Some("Like" | "EmojiReact" | "Dislike") | None => {
                app.receive_undo_reaction(&origin, object_id()?.as_str())
                    .await
            }
            // A moderator's removal undone (Lemmy's and Hearth's restore).
            Some("Delete") => {
                let removed = inner_value
                    .get("object")
                    .and_then(|delete| delete.get("object"))
                    .and_then(protocol::id_of)
                    .ok_or_else(|| InboxError::Malformed("Undo{Delete} names no post".into()))?;
                app.receive_restore(&origin, removed.as_str()).await
            }
            Some("Lock") => {
                let locked = inner_value
                    .get("object")
                    .and_then(|lock| lock.get("object"))
                    .and_then(protocol::id_of)
                    .ok_or_else(|| InboxError::Malformed("Undo{Lock} names no post".into()))?;
                app.receive_lock(&origin, locked.as_str(), false).await
            }
            Some("Block") => {
                let block = inner_value.get("object").unwrap_or(&Value::Null);
                let person = block
                    .get("object")
                    .and_then(protocol::id_of)
                    .ok_or_else(|| InboxError::Malformed("Undo{Block} names nobody".into()))?;
                let target = block
                    .get("target")
                    .and_then(protocol::id_of)
                    .ok_or_else(|| InboxError::Malformed("Undo{Block} has no target".into()))?;
                let terms = objects::parse_ban_terms(block).map_err(malformed)?;
                app.receive_block(&origin, person.as_str(), target.as_str(), terms, true)
                    .await
            }
            Some(other) => Ok(Received::Ignored(format!(
                "announced Undo of {other} is not used by Hearth"
            ))),
        },
        other => Ok(Received::Ignored(format!(
            "announced {other} is not used by Hearth yet"
        ))),
    };
    quiet_not_found(outcome)
}

/// Whether an `Update`'s embedded object carries Hearth's `label` and is
/// by someone other than the activity's actor (a moderator's label).
fn labelled_by_other(object: &Value, actor: &Url) -> bool {
    match objects::parse_object(object) {
        Ok(obj) => obj.label.is_some() && obj.attributed_to != *actor,
        Err(_) => false,
    }
}

/// A label read off the wire, as the command takes it.
fn incoming_label(
    label: &Option<objects::IncomingLabelObject>,
) -> Option<hearth_app::labels::IncomingLabel> {
    label.as_ref().map(|l| hearth_app::labels::IncomingLabel {
        kind: l.label_type.clone(),
        note: l.note.clone(),
        link: l.href.clone(),
        at: l.published,
    })
}

/// How many posts above a reply are fetched when they are not here yet.
const MAX_ANCESTORS: usize = 8;

/// A relayed reply may overtake the post it answers (a group sends
/// activities about different posts in parallel): fetch the missing posts
/// above it from their servers (signed, so members-only ones are served to
/// this member server), oldest first, and take each as the group relaying
/// it, through the same command as its own `Announce`. What cannot be
/// fetched is left out; the reply is then refused as before.
async fn missing_ancestors(data: &Data, group: &RemoteActor, obj: &IncomingObject) {
    let fed = data.app_data();
    let mut above = Vec::new();
    let mut next = obj.in_reply_to.clone();
    while let Some(parent) = next {
        if above.len() >= MAX_ANCESTORS || fed.urls.is_local(&parent) {
            break;
        }
        match fed.app.knows_post(parent.as_str()).await {
            Ok(false) => {}
            _ => break,
        }
        match fetch_object(data, &parent).await {
            Ok(fetched) => {
                next = fetched.in_reply_to.clone();
                above.push(fetched);
            }
            Err(err) => {
                tracing::info!(post = %parent, error = %err, "cannot fetch the post a reply answers");
                break;
            }
        }
    }
    for post in above.into_iter().rev() {
        know_author(data, &post).await;
        let origin = match Origin::relayed(
            &fed.urls,
            group.clone(),
            post.attributed_to.as_str(),
            post.id.as_str(),
            "Announce",
        ) {
            Ok(origin) => origin,
            Err(err) => {
                tracing::info!(post = %post.id, error = %err, "a fetched post is not the group's to relay");
                return;
            }
        };
        let incoming = incoming_post(&post, |url| url.as_str() == group.ap_id);
        if let Err(err) = fed.app.receive_post(&origin, incoming).await {
            tracing::info!(post = %post.id, error = %err, "a fetched post above a reply was not taken");
            return;
        }
    }
}

/// What a group relays about a post not known here (or not readable by
/// it) is simply not for us: accepted and ignored, so the answer does not
/// say which of the two it was.
fn quiet_not_found(outcome: Result<Received, AppError>) -> Result<Received, InboxError> {
    match outcome {
        Err(AppError::NotFound { what }) => Ok(Received::Ignored(format!("{what} not known here"))),
        other => Ok(other?),
    }
}

/// The object of an announced `Create`/`Update`, as far as it can be
/// trusted.
///
/// - Its author is on the group's own server: the group's server vouches
///   for its own accounts; the embedded copy is used.
/// - A public post from another server: fetched again from its author's
///   server, so a group cannot put words in someone else's mouth in public.
/// - A members-only post from another server: the embedded copy is used.
///   The author's server cannot know who may read it (only the group's
///   server knows the members), so it would refuse the fetch; the group is
///   trusted for what it relays about its own posts, as on Lemmy.
async fn trusted_object(
    data: &Data,
    group: &RemoteActor,
    author: &Url,
    embedded: &Value,
) -> Result<IncomingObject, InboxError> {
    let id = protocol::id_of(embedded)
        .ok_or_else(|| InboxError::Malformed("announced object has no id".into()))?;
    if protocol::authority(&id) != protocol::authority(author) {
        return Err(InboxError::OriginMismatch(format!(
            "{id} is not on its author's origin"
        )));
    }
    if embedded.is_object() {
        let parsed = objects::parse_object(embedded).map_err(malformed)?;
        let same_server = protocol::authority(author).as_deref() == Some(group.authority.as_str());
        if same_server || !parsed.public {
            return Ok(parsed);
        }
    }
    fetch_object(data, &id).await
}

/// A post fetched from its own server: it must be the object asked for,
/// by someone on that server.
pub(crate) async fn fetch_object(data: &Data, id: &Url) -> Result<IncomingObject, InboxError> {
    let fetched = fetch_object_http::<Federation, Value>(id, data)
        .await
        .map_err(|e| InboxError::NotFound(format!("cannot fetch {id}: {e}")))?;
    let obj = objects::parse_object(&fetched.object).map_err(malformed)?;
    if obj.id != *id || protocol::authority(&obj.attributed_to) != protocol::authority(id) {
        return Err(InboxError::OriginMismatch(format!(
            "{id} served another object or author"
        )));
    }
    Ok(obj)
}

/// Know the author, to show who wrote a post. A failure only means the post
/// shows the author's address instead of their name.
async fn know_author(data: &Data, obj: &IncomingObject) {
    if data.app_data().urls.is_local(&obj.attributed_to) {
        return;
    }
    let author: ObjectId<RemoteActorObject> = obj.attributed_to.clone().into();
    if let Err(err) = author.dereference(data).await {
        tracing::info!(author = %obj.attributed_to, error = %err, "cannot fetch a post's author");
    }
}

/// A post read off the wire, as the commands take it. `is_group` says
/// which addressees count as the group (its `audience` always does).
///
/// Hearth says its warning in `contentWarning`. Otherwise Mastodon's
/// `summary` on a `Note` is a content warning; on a `Page` it is an excerpt
/// unless the post is marked sensitive. A warning and a support kind Hearth
/// put in the Markdown `source` (for Lemmy's sake) are taken off.
pub(crate) fn incoming_post(obj: &IncomingObject, is_group: impl Fn(&Url) -> bool) -> IncomingPost {
    let warning = match (&obj.content_warning, &obj.kind) {
        (Some(warning), _) => Some(warning.clone()),
        (None, ObjectKind::Note) => obj.summary.clone(),
        (None, _) if obj.sensitive => obj.summary.clone(),
        (None, _) => None,
    };
    let kind = obj
        .support_kind
        .as_deref()
        .and_then(|k| k.parse::<hearth_domain::post::SupportKind>().ok());
    let raw_sources: Vec<RawSource> = obj
        .sources
        .iter()
        .map(|s| RawSource {
            url: s.href.clone(),
            title: s.name.clone(),
            kind: s.source_type.clone(),
        })
        .collect();
    // What the label and sources look like as text (for Lemmy's sake),
    // to take off again.
    let shown_sources = hearth_domain::sources::from_remote(kind, &raw_sources);
    let shown_label = obj.label.clone().flatten().and_then(|l| {
        hearth_domain::sources::label_from_remote(&l.label_type, &l.note, l.href.as_deref())
    });
    // A professional's disclaimer, which Hearth also puts at the end of
    // the text for software that reads no Hearth terms, comes off again.
    let disclaimer = match obj.speaking_as.as_deref() {
        Some("professional") => obj.disclaimer.as_deref(),
        _ => None,
    };
    let html = obj.content_html.as_ref().map(|html| match disclaimer {
        Some(d) => crate::warning::without_suffix(html, &crate::warning::disclaimer_paragraph(d)),
        None => html.clone(),
    });
    let markdown = obj.source_markdown.as_ref().map(|markdown| {
        let mut markdown = match disclaimer {
            Some(d) => {
                crate::warning::without_suffix(markdown, &crate::warning::disclaimer_line(d))
            }
            None => markdown.clone(),
        };
        if let Some(kind) = kind {
            let line = crate::warning::support_line(kind.explain(), kind.hashtag());
            markdown = crate::warning::without_support_line(&markdown, &line);
        }
        markdown = crate::readable::without_blocks(&markdown, shown_label.as_ref(), &shown_sources);
        match &warning {
            Some(warning) => crate::warning::without_spoiler(&markdown, warning),
            None => markdown,
        }
    });
    IncomingPost {
        id: obj.id.to_string(),
        author: obj.attributed_to.to_string(),
        group: obj.group(is_group).map(|u| u.to_string()),
        in_reply_to: obj.in_reply_to.as_ref().map(Url::to_string),
        public: obj.public,
        url: obj
            .url
            .as_ref()
            .and_then(|u| hearth_domain::content::web_address(u.as_str())),
        published: obj.published,
        updated: obj.updated,
        content: RemoteContent {
            name: obj.name.clone(),
            html,
            markdown,
            warning,
            support_kind: obj.support_kind.clone(),
            hashtags: obj.hashtags().map(str::to_owned).collect(),
            link: obj.link.as_ref().map(Url::to_string),
            sources: raw_sources,
            speaking_as: obj.speaking_as.clone(),
            disclaimer: obj.disclaimer.clone(),
        },
        mentions: obj.mentions().map(Url::to_string).collect(),
    }
}

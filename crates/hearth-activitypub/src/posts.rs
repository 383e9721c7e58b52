//! Posts on the wire (FEP-1b12): the `Page` (thread) and `Note` (reply)
//! documents Hearth serves and sends, the activities around them, how a
//! group passes its members' activities on, and how activities about posts
//! are received.
//!
//! ```text
//! member ──Create/Update/Delete/Like/Undo──▶ group inbox
//!                                             │ member? origin? author?
//!                                             ▼ store, then
//! group ──Announce{activity unchanged}──▶ every member server (shared inbox, once each)
//!       ──Announce{Page id}────────────▶ (top-level posts, for Mastodon)
//! ```

use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::object_id::ObjectId;
use chrono::Utc;
use hearth_db::DatabaseTransaction;
use hearth_db::groups::{self, Group, Member};
use hearth_db::posts::{self, NewPost, Post, PostEdit, PostKind};
use hearth_db::remote;
use hearth_domain::post::{Reaction, SupportKind, Visibility};
use hearth_domain::{MembershipState, text};
use serde_json::{Value, json};
use url::Url;

use crate::FederationError;
use crate::actors::RemoteActorObject;
use crate::context::{Data, Federation, LocalRef, Urls};
use crate::inbox::{Envelope, InboxError, Received};
use crate::objects::{self, Announced, IncomingObject, ObjectKind, ReactionKind};
use crate::outbound;
use crate::protocol::{self, AS_PUBLIC};

/// Hearth's JSON-LD namespace for its own properties (`supportKind`).
pub const HEARTH_NS: &str = "urn:hearth:ns#";

/// How long a Page's plain-text `summary` excerpt may be.
const EXCERPT_CHARS: usize = 280;

pub fn post_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        {
            "hearth": HEARTH_NS,
            "supportKind": "hearth:supportKind",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag"
        }
    ])
}

/// `to` and `cc` of a post: the group always; the public only for public
/// posts; the group's followers (its members) in `cc`.
fn addressing(post: &Post) -> (Vec<String>, Vec<String>) {
    let mut to = vec![post.group_ap_id.clone()];
    if post.visibility == Visibility::Public {
        to.push(AS_PUBLIC.to_owned());
    }
    (to, vec![format!("{}/followers", post.group_ap_id)])
}

/// The `Page` or `Note` document of a post, or a `Tombstone` once deleted.
pub fn post_json(post: &Post, group_handle: &str) -> Value {
    if post.is_deleted() {
        return json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": post.ap_id,
            "type": "Tombstone",
            "formerType": if post.kind == PostKind::Thread { "Page" } else { "Note" },
            "deleted": post.deleted_at.map(|d| d.to_rfc3339()),
        });
    }
    let (to, cc) = addressing(post);
    let mut tags = vec![
        json!({"type": "Mention", "href": post.group_ap_id, "name": format!("@{group_handle}")}),
    ];
    if let Some(kind) = post.support_kind {
        tags.push(json!({"type": "Hashtag", "name": format!("#{}", kind.hashtag())}));
    }
    let mut doc = json!({
        "@context": post_context(),
        "id": post.ap_id,
        "type": if post.kind == PostKind::Thread { "Page" } else { "Note" },
        "attributedTo": post.author_ap_id,
        "audience": post.group_ap_id,
        "to": to,
        "cc": cc,
        "content": post.content_html,
        "mediaType": "text/html",
        "source": {"content": post.source, "mediaType": "text/markdown"},
        "sensitive": post.content_warning.is_some(),
        "published": post.published_at.to_rfc3339(),
        "url": post.url.clone().unwrap_or_else(|| post.ap_id.clone()),
        "tag": tags,
        "replies": format!("{}/replies", post.ap_id),
    });
    if let Some(updated) = post.updated_at {
        doc["updated"] = json!(updated.to_rfc3339());
    }
    if let Some(reply_to) = &post.in_reply_to_ap_id {
        doc["inReplyTo"] = json!(reply_to);
    }
    if let Some(link) = &post.link {
        // Lemmy's link posts carry the link as a Link attachment.
        doc["attachment"] = json!([{"type": "Link", "href": link}]);
    }
    match post.kind {
        PostKind::Thread => {
            doc["name"] = json!(post.title);
            // Mastodon shows a Page as title + summary + link; a content
            // warning, when there is one, takes the summary's place.
            doc["summary"] = json!(
                post.content_warning
                    .clone()
                    .unwrap_or_else(|| text::excerpt(
                        &text::html_to_plain(&post.content_html),
                        EXCERPT_CHARS
                    ))
            );
            if let Some(kind) = post.support_kind {
                doc["supportKind"] = json!(kind.as_str());
            }
        }
        PostKind::Reply => {
            if let Some(cw) = &post.content_warning {
                doc["summary"] = json!(cw);
            }
        }
    }
    doc
}

fn activity(urls: &Urls, kind: &str, actor: &str, object: Value, post: &Post) -> Value {
    let (to, cc) = addressing(post);
    json!({
        "@context": post_context(),
        "id": urls.new_activity(),
        "type": kind,
        "actor": actor,
        "object": object,
        "audience": post.group_ap_id,
        "to": to,
        "cc": cc,
    })
}

pub fn create_activity(urls: &Urls, post: &Post, group_handle: &str) -> Value {
    let mut object = post_json(post, group_handle);
    if let Some(map) = object.as_object_mut() {
        map.remove("@context");
    }
    activity(urls, "Create", &post.author_ap_id, object, post)
}

pub fn update_activity(urls: &Urls, post: &Post, group_handle: &str) -> Value {
    let mut object = post_json(post, group_handle);
    if let Some(map) = object.as_object_mut() {
        map.remove("@context");
    }
    activity(urls, "Update", &post.author_ap_id, object, post)
}

pub fn delete_activity(urls: &Urls, post: &Post, actor: &str) -> Value {
    activity(
        urls,
        "Delete",
        actor,
        json!({"id": post.ap_id, "type": "Tombstone"}),
        post,
    )
}

/// A support reaction travels as `Like` with the reaction's emoji as
/// `content` (plain `Like` elsewhere reads as "helpful").
pub fn like_activity(urls: &Urls, actor: &str, post: &Post, reaction: Reaction) -> Value {
    let mut like = activity(urls, "Like", actor, json!(post.ap_id), post);
    like["content"] = json!(reaction.emoji());
    like
}

/// The group passes `inner` on to every member server, unchanged, wrapped
/// in an `Announce`; a new thread is also announced bare, which is what
/// Mastodon can show.
pub async fn distribute(
    db: &impl hearth_db::ConnectionTrait,
    fed: &Federation,
    group: &Group,
    inner: &Value,
    new_thread: Option<&Post>,
) -> Result<(), FederationError> {
    // A member's own activity, written here, is kept so it can be fetched
    // by its id (some software re-fetches what an Announce embeds).
    if let Some(actor) = inner["actor"].as_str().and_then(|a| Url::parse(a).ok())
        && fed.urls.is_local(&actor)
    {
        outbound::enqueue(db, &fed.urls, inner, &[]).await?;
    }
    let inboxes = groups::remote_member_inboxes(db, group.id).await?;
    if inboxes.is_empty() {
        return Ok(());
    }
    let group_url = fed.urls.group(&group.name);
    let followers = fed.urls.group_followers(&group.name);
    let public = inner["to"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(inner["cc"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .any(protocol::is_public);
    let mut to = vec![json!(followers)];
    if public {
        to.push(json!(AS_PUBLIC));
    }
    let mut inner = inner.clone();
    if let Some(map) = inner.as_object_mut() {
        map.remove("@context");
    }
    let announce = json!({
        "@context": post_context(),
        "id": fed.urls.new_activity(),
        "type": "Announce",
        "actor": group_url,
        "object": inner,
        "audience": group_url,
        "to": to,
    });
    outbound::enqueue(db, &fed.urls, &announce, &inboxes).await?;
    if let Some(thread) = new_thread {
        let bare = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": fed.urls.new_activity(),
            "type": "Announce",
            "actor": group_url,
            "object": thread.ap_id,
            "audience": group_url,
            "to": to,
        });
        outbound::enqueue(db, &fed.urls, &bare, &inboxes).await?;
    }
    Ok(())
}

/// The group (local or remote) an incoming object is for.
enum GroupRef {
    Local(Group),
    Remote(remote::RemoteActor),
}

impl GroupRef {
    fn ap_id(&self, urls: &Urls) -> String {
        match self {
            GroupRef::Local(g) => urls.group(&g.name).to_string(),
            GroupRef::Remote(a) => a.ap_id.clone(),
        }
    }
}

fn object_error(e: objects::ObjectError) -> InboxError {
    InboxError::Malformed(e.to_string())
}

/// Turn an incoming object into a post to store (content sanitised here).
fn new_post(
    obj: &IncomingObject,
    group_ap_id: String,
    group_id: Option<i64>,
    parent: Option<Post>,
) -> NewPost {
    let reply = obj.in_reply_to.is_some();
    let html = match (&obj.content_html, &obj.source_markdown) {
        (Some(html), _) => text::sanitize_html(html),
        (None, Some(md)) => text::markdown_to_html(md),
        (None, None) => String::new(),
    };
    let plain = text::html_to_plain(&html);
    let title = match (&obj.name, reply) {
        (Some(name), _) if !name.trim().is_empty() => {
            text::excerpt(&text::html_to_plain(name), 200)
        }
        (_, false) => text::excerpt(&plain, 80),
        _ => String::new(),
    };
    // Mastodon's `summary` on a Note is a content warning; on a Page it is
    // an excerpt unless the post is marked sensitive.
    let content_warning = match obj.kind {
        ObjectKind::Note => obj.summary.clone(),
        _ if obj.sensitive => obj.summary.clone(),
        _ => None,
    }
    .map(|cw| text::excerpt(&text::html_to_plain(&cw), 500))
    .filter(|cw| !cw.is_empty());
    let support_kind = obj
        .support_kind
        .as_deref()
        .and_then(|k| k.parse::<SupportKind>().ok())
        .or_else(|| obj.hashtags().find_map(SupportKind::from_hashtag));
    NewPost {
        ap_id: obj.id.to_string(),
        group_ap_id,
        group_id,
        author_ap_id: obj.attributed_to.to_string(),
        author_user_id: None,
        parent,
        in_reply_to_ap_id: obj.in_reply_to.as_ref().map(Url::to_string),
        kind: if reply {
            PostKind::Reply
        } else {
            PostKind::Thread
        },
        title,
        source: obj.source_markdown.clone().unwrap_or_default(),
        content_html: html,
        content_warning,
        support_kind: if reply { None } else { support_kind },
        visibility: if obj.public {
            Visibility::Public
        } else {
            Visibility::Members
        },
        url: obj.url.as_ref().map(Url::to_string),
        link: if reply {
            None
        } else {
            obj.link.as_ref().map(Url::to_string)
        },
        local: false,
        published_at: obj.published.unwrap_or_else(Utc::now),
    }
}

/// Find the group an object names, among groups here (when `local`) or
/// the remote `expected` group.
async fn group_of(
    txn: &DatabaseTransaction,
    fed: &Federation,
    obj: &IncomingObject,
) -> Result<Option<GroupRef>, InboxError> {
    let urls = &fed.urls;
    let local = obj.group(|u| matches!(urls.parse_local(u), Some(LocalRef::Group(_))));
    if let Some(url) = local
        && let Some(LocalRef::Group(name)) = urls.parse_local(&url)
    {
        return Ok(groups::find_by_name(txn, &name).await?.map(GroupRef::Local));
    }
    if let Some(url) = &obj.audience
        && let Some(actor) = remote::find_actor(txn, url.as_str()).await?
        && actor.kind == "Group"
    {
        return Ok(Some(GroupRef::Remote(actor)));
    }
    Ok(None)
}

/// Store a new post, or report it as known. Replies must answer a post of
/// the same group.
async fn store(
    txn: &DatabaseTransaction,
    fed: &Federation,
    obj: &IncomingObject,
    group: &GroupRef,
) -> Result<Option<Post>, InboxError> {
    if posts::find_by_ap_id(txn, obj.id.as_str()).await?.is_some() {
        return Ok(None);
    }
    let group_ap_id = group.ap_id(&fed.urls);
    let parent = match &obj.in_reply_to {
        Some(url) => {
            let parent = posts::find_by_ap_id(txn, url.as_str())
                .await?
                .ok_or_else(|| InboxError::NotFound(format!("the post {url} this replies to")))?;
            if parent.group_ap_id != group_ap_id {
                return Err(InboxError::Refused(format!(
                    "{} replies to a post of another group",
                    obj.id
                )));
            }
            Some(parent)
        }
        None => None,
    };
    let group_id = match group {
        GroupRef::Local(g) => Some(g.id),
        GroupRef::Remote(_) => None,
    };
    match posts::insert(txn, new_post(obj, group_ap_id, group_id, parent)).await {
        Ok(post) => {
            let mut mentioned = Vec::new();
            for url in obj.mentions() {
                if let Some(LocalRef::User(name)) = fed.urls.parse_local(url)
                    && let Some(account) = hearth_db::accounts::find_by_username(txn, &name).await?
                {
                    mentioned.push(account.id);
                }
            }
            hearth_db::notifications::post_stored(txn, &post, &mentioned).await?;
            Ok(Some(post))
        }
        Err(hearth_db::DbError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn group_handle(fed: &Federation, group: &Group) -> String {
    format!("{}@{}", group.name, fed.urls.authority())
}

/// Activities about posts sent to a group here by one of its members.
pub(crate) async fn from_member(
    data: &Data,
    txn: &DatabaseTransaction,
    envelope: &Envelope,
    actor: &RemoteActorObject,
) -> Result<Received, InboxError> {
    let fed = data.app_data();
    match envelope.kind.as_str() {
        "Create" | "Update" => {
            let obj = objects::parse_object(&envelope.object).map_err(object_error)?;
            if protocol::authority(&obj.id) != protocol::authority(&envelope.actor)
                || obj.attributed_to != envelope.actor
            {
                return Err(InboxError::OriginMismatch(format!(
                    "{} by {} is not {}'s own post",
                    obj.id, obj.attributed_to, envelope.actor
                )));
            }
            let Some(GroupRef::Local(group)) = group_of(txn, fed, &obj).await? else {
                return Ok(Received::Ignored("not addressed to a group here".into()));
            };
            if !is_member(txn, &group, actor).await? {
                // Someone who is not a member (typically a Mastodon user
                // mentioning the group) may start or join a public
                // conversation if the group allows it; otherwise the post
                // is answered with Reject so their server can tell them.
                let outside_ok =
                    envelope.kind == "Create" && group.allow_outside_posts && obj.public;
                if !outside_ok {
                    if envelope.kind != "Create" {
                        return Err(not_a_member(&group, actor));
                    }
                    let group_url = fed.urls.group(&group.name);
                    let reject = outbound::answer_follow(
                        &fed.urls,
                        "Reject",
                        &group_url,
                        &envelope.raw,
                        actor.url(),
                    );
                    outbound::enqueue(
                        txn,
                        &fed.urls,
                        &reject,
                        std::slice::from_ref(&actor.actor.inbox),
                    )
                    .await?;
                    return Ok(Received::Ignored(format!(
                        "{} is not a member of {}; answered with Reject",
                        actor.url(),
                        group.name
                    )));
                }
            }
            if envelope.kind == "Create" {
                let Some(post) = store(txn, fed, &obj, &GroupRef::Local(group.clone())).await?
                else {
                    return Ok(Received::Duplicate);
                };
                let thread = (post.kind == PostKind::Thread).then_some(&post);
                distribute(txn, fed, &group, &envelope.raw, thread).await?;
            } else {
                let post = posts::find_by_ap_id(txn, obj.id.as_str())
                    .await?
                    .ok_or_else(|| InboxError::NotFound(format!("post {}", obj.id)))?;
                apply_update(txn, &post, &obj).await?;
                distribute(txn, fed, &group, &envelope.raw, None).await?;
            }
            Ok(Received::Applied)
        }
        "Delete" => {
            let id = envelope
                .object_id()
                .ok_or_else(|| InboxError::Malformed("Delete has no object".into()))?;
            let Some(post) = posts::find_by_ap_id(txn, id.as_str()).await? else {
                return Ok(Received::Ignored("nothing to delete".into()));
            };
            if post.author_ap_id != envelope.actor.as_str() {
                return Err(InboxError::Refused(format!(
                    "{} may not delete {}",
                    envelope.actor, post.ap_id
                )));
            }
            let group = local_group_of_post(txn, &post).await?;
            posts::mark_deleted(txn, post.id).await?;
            if let Some(group) = group {
                distribute(txn, fed, &group, &envelope.raw, None).await?;
            }
            Ok(Received::Applied)
        }
        "Like" | "EmojiReact" | "Dislike" => {
            let reaction = objects::parse_reaction(&envelope.raw).map_err(object_error)?;
            if reaction.kind == ReactionKind::Dislike {
                return Ok(Received::Ignored("Hearth has no dislikes".into()));
            }
            let Some(kind) = Reaction::from_emoji(reaction.content.as_deref()) else {
                return Ok(Received::Ignored("a reaction Hearth does not offer".into()));
            };
            let post = posts::find_by_ap_id(txn, reaction.object.as_str())
                .await?
                .ok_or_else(|| InboxError::NotFound(format!("post {}", reaction.object)))?;
            let Some(group) = local_group_of_post(txn, &post).await? else {
                return Ok(Received::Ignored("not a post of a group here".into()));
            };
            require_member(txn, &group, actor).await?;
            if posts::add_reaction(
                txn,
                post.id,
                kind,
                envelope.actor.as_str(),
                None,
                envelope.id.as_str(),
            )
            .await?
            {
                hearth_db::notifications::reacted(txn, &post, envelope.actor.as_str(), kind)
                    .await?;
                distribute(txn, fed, &group, &envelope.raw, None).await?;
            }
            Ok(Received::Applied)
        }
        "Undo" => {
            let undone = envelope
                .object_id()
                .ok_or_else(|| InboxError::Malformed("Undo has no object".into()))?;
            let Some(post_id) =
                posts::remove_reaction_by_ap_id(txn, undone.as_str(), envelope.actor.as_str())
                    .await?
            else {
                return Ok(Received::Ignored("nothing to undo".into()));
            };
            if let Some(post) = posts::find_by_id(txn, post_id).await?
                && let Some(group) = local_group_of_post(txn, &post).await?
            {
                distribute(txn, fed, &group, &envelope.raw, None).await?;
            }
            Ok(Received::Applied)
        }
        other => Ok(Received::Ignored(format!(
            "{other} is not used by Hearth yet"
        ))),
    }
}

async fn is_member(
    txn: &DatabaseTransaction,
    group: &Group,
    actor: &RemoteActorObject,
) -> Result<bool, InboxError> {
    let membership = groups::find_membership(txn, group.id, Member::Remote(actor.actor.id)).await?;
    Ok(membership.map(|m| m.state) == Some(MembershipState::Joined))
}

fn not_a_member(group: &Group, actor: &RemoteActorObject) -> InboxError {
    InboxError::Refused(format!("{} is not a member of {}", actor.url(), group.name))
}

async fn require_member(
    txn: &DatabaseTransaction,
    group: &Group,
    actor: &RemoteActorObject,
) -> Result<(), InboxError> {
    if !is_member(txn, group, actor).await? {
        return Err(not_a_member(group, actor));
    }
    Ok(())
}

async fn local_group_of_post(
    txn: &DatabaseTransaction,
    post: &Post,
) -> Result<Option<Group>, InboxError> {
    match post.group_id {
        Some(id) => Ok(groups::find_by_id(txn, id).await?),
        None => Ok(None),
    }
}

async fn apply_update(
    txn: &DatabaseTransaction,
    post: &Post,
    obj: &IncomingObject,
) -> Result<(), InboxError> {
    if post.author_ap_id != obj.attributed_to.as_str() {
        return Err(InboxError::Refused(format!(
            "{} may not edit {}",
            obj.attributed_to, post.ap_id
        )));
    }
    let fresh = new_post(obj, post.group_ap_id.clone(), post.group_id, None);
    posts::update(
        txn,
        post.id,
        PostEdit {
            title: if post.kind == PostKind::Thread {
                fresh.title
            } else {
                String::new()
            },
            source: fresh.source,
            content_html: fresh.content_html,
            content_warning: fresh.content_warning,
            support_kind: if post.kind == PostKind::Thread {
                fresh.support_kind
            } else {
                None
            },
            link: fresh.link,
            updated_at: obj.updated.unwrap_or_else(Utc::now),
        },
    )
    .await?;
    Ok(())
}

/// What an `Announce` needs from the network, fetched before the
/// transaction starts: a transaction holding SQLite's write lock must never
/// wait on another server (the fetch itself writes to the actor cache).
pub(crate) enum Prepared {
    Ignored(String),
    /// A post to store or an edit to apply, already authenticated.
    Object {
        obj: IncomingObject,
        update: bool,
    },
    /// Another announced activity (Delete, Like, Undo…), applied from the
    /// Announce alone.
    Inner(objects::Envelope, Value),
}

/// Work out, outside any transaction, what an `Announce` from a group on
/// another server carries.
pub(crate) async fn prepare_announce(
    data: &Data,
    envelope: &Envelope,
    group: &RemoteActorObject,
) -> Result<Prepared, InboxError> {
    let fed = data.app_data();
    if group.actor.kind != "Group" || !remote::has_local_members(&fed.db, group.actor.id).await? {
        return Ok(Prepared::Ignored(
            "an Announce from an actor no member here follows".into(),
        ));
    }
    let parsed = objects::parse_envelope(&envelope.raw).map_err(object_error)?;
    let id = match objects::announced(&parsed).map_err(object_error)? {
        Announced::Activity(inner_value) => {
            let inner = objects::parse_envelope(&inner_value).map_err(object_error)?;
            if protocol::authority(&inner.id) != protocol::authority(&inner.actor) {
                return Err(InboxError::OriginMismatch(format!(
                    "announced activity {} is not on its actor's origin",
                    inner.id
                )));
            }
            if !matches!(inner.kind.as_str(), "Create" | "Update") {
                return Ok(Prepared::Inner(inner, inner_value));
            }
            let obj = trusted_object(data, group, &inner.actor, &inner.object).await?;
            if obj.attributed_to != inner.actor {
                return Err(InboxError::OriginMismatch(format!(
                    "{} is not by {}",
                    obj.id, inner.actor
                )));
            }
            know_author(data, &obj).await;
            return Ok(Prepared::Object {
                obj,
                update: inner.kind == "Update",
            });
        }
        Announced::Object(value) => protocol::id_of(&value)
            .ok_or_else(|| InboxError::Malformed("announced object has no id".into()))?,
        Announced::Reference(id) => id,
    };
    // A bare Announce (for Mastodon): usually Hearth already has the post
    // from the Announce of its Create; otherwise fetch it from its origin.
    if posts::find_by_ap_id(&fed.db, id.as_str()).await?.is_some() {
        return Ok(Prepared::Ignored("already here".into()));
    }
    match fetch_object(data, &id).await {
        Ok(obj) => {
            know_author(data, &obj).await;
            Ok(Prepared::Object { obj, update: false })
        }
        Err(err) => Ok(Prepared::Ignored(format!(
            "cannot fetch the announced post: {err}"
        ))),
    }
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

/// Apply an `Announce` from a group on another server, prepared by
/// [`prepare_announce`].
pub(crate) async fn from_group(
    txn: &DatabaseTransaction,
    fed: &Federation,
    group: &RemoteActorObject,
    prepared: Prepared,
) -> Result<Received, InboxError> {
    let (inner, inner_value) = match prepared {
        Prepared::Ignored(why) => return Ok(Received::Ignored(why)),
        Prepared::Object { obj, update } => {
            return accept_from_group(txn, fed, group, &obj, update).await;
        }
        Prepared::Inner(inner, value) => (inner, value),
    };
    match inner.kind.as_str() {
        "Delete" => {
            let id = inner
                .object_id
                .clone()
                .ok_or_else(|| InboxError::Malformed("Delete has no object".into()))?;
            let Some(post) = posts::find_by_ap_id(txn, id.as_str()).await? else {
                return Ok(Received::Ignored("nothing to delete".into()));
            };
            if post.group_ap_id != group.actor.ap_id {
                return Err(InboxError::OriginMismatch(
                    "a group may only announce its own posts".into(),
                ));
            }
            let by_author = post.author_ap_id == inner.actor.as_str();
            let by_group_server =
                protocol::authority(&inner.actor) == Some(group.actor.authority.clone());
            if !by_author && !by_group_server {
                return Err(InboxError::Refused(format!(
                    "{} may not delete {}",
                    inner.actor, post.ap_id
                )));
            }
            if !by_author && !post.is_deleted() {
                // A moderator of the group (or the group itself) removed it.
                let reason = inner_value
                    .get("summary")
                    .and_then(|v| v.as_str())
                    .map(|r| hearth_domain::text::excerpt(r, 300))
                    .unwrap_or_default();
                hearth_db::notifications::post_removed(txn, &post, inner.actor.as_str(), &reason)
                    .await?;
            }
            posts::mark_deleted(txn, post.id).await?;
            Ok(Received::Applied)
        }
        "Like" | "EmojiReact" | "Dislike" => {
            let reaction = objects::parse_reaction(&inner_value).map_err(object_error)?;
            let Some(kind) = (reaction.kind != ReactionKind::Dislike)
                .then(|| Reaction::from_emoji(reaction.content.as_deref()))
                .flatten()
            else {
                return Ok(Received::Ignored("a reaction Hearth does not offer".into()));
            };
            let Some(post) = posts::find_by_ap_id(txn, reaction.object.as_str()).await? else {
                return Ok(Received::Ignored(
                    "a reaction to a post not known here".into(),
                ));
            };
            if post.group_ap_id != group.actor.ap_id {
                return Err(InboxError::OriginMismatch(
                    "a group may only announce its own posts".into(),
                ));
            }
            if posts::add_reaction(
                txn,
                post.id,
                kind,
                inner.actor.as_str(),
                None,
                inner.id.as_str(),
            )
            .await?
            {
                hearth_db::notifications::reacted(txn, &post, inner.actor.as_str(), kind).await?;
            }
            Ok(Received::Applied)
        }
        "Undo" => {
            let undone = inner
                .object_id
                .clone()
                .ok_or_else(|| InboxError::Malformed("Undo has no object".into()))?;
            posts::remove_reaction_by_ap_id(txn, undone.as_str(), inner.actor.as_str()).await?;
            Ok(Received::Applied)
        }
        other => Ok(Received::Ignored(format!(
            "announced {other} is not used by Hearth yet"
        ))),
    }
}

/// The object of an announced activity, as far as it can be trusted.
///
/// - Its author is on the group's own server: the group's server vouches
///   for its own accounts; the embedded copy is used.
/// - A public post from another server: fetched again from its author's
///   server, so a group cannot put words in someone else's mouth in public.
/// - A members-only post from another server: the embedded copy is used.
///   The author's server cannot know who may read it (only the group's
///   server knows the members), so it would refuse the fetch; the group is
///   trusted for what it relays to its own members, as on Lemmy.
async fn trusted_object(
    data: &Data,
    group: &RemoteActorObject,
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
        let parsed = objects::parse_object(embedded).map_err(object_error)?;
        let same_server = protocol::authority(author) == Some(group.actor.authority.clone());
        if same_server || !parsed.public {
            return Ok(parsed);
        }
    }
    fetch_object(data, &id).await
}

async fn fetch_object(data: &Data, id: &Url) -> Result<IncomingObject, InboxError> {
    let fetched = fetch_object_http::<Federation, Value>(id, data)
        .await
        .map_err(|e| InboxError::NotFound(format!("cannot fetch {id}: {e}")))?;
    let obj = objects::parse_object(&fetched.object).map_err(object_error)?;
    if obj.id != *id || protocol::authority(&obj.attributed_to) != protocol::authority(id) {
        return Err(InboxError::OriginMismatch(format!(
            "{id} served another object or author"
        )));
    }
    Ok(obj)
}

async fn accept_from_group(
    txn: &DatabaseTransaction,
    fed: &Federation,
    group: &RemoteActorObject,
    obj: &IncomingObject,
    update: bool,
) -> Result<Received, InboxError> {
    let group_url = group.url().clone();
    if obj.group(|u| *u == group_url).as_ref() != Some(&group_url) {
        return Err(InboxError::OriginMismatch(format!(
            "{} is not a post of {}",
            obj.id, group_url
        )));
    }
    if update {
        let Some(post) = posts::find_by_ap_id(txn, obj.id.as_str()).await? else {
            return Ok(Received::Ignored("an edit of a post not known here".into()));
        };
        apply_update(txn, &post, obj).await?;
        return Ok(Received::Applied);
    }
    match store(txn, fed, obj, &GroupRef::Remote(group.actor.clone())).await? {
        Some(_) => Ok(Received::Applied),
        None => Ok(Received::Duplicate),
    }
}

/// What a fetch of a post's URL gets.
pub enum Served {
    Object(Value),
    Gone(Value),
}

/// Serve the post `ap_id` to `signer` (the verified server that signed the
/// fetch, if any). Public posts go to anyone; members-only posts only to a
/// server where a member of the group lives; local posts never.
pub async fn serve(
    fed: &Federation,
    ap_id: &str,
    signer: Option<&Url>,
    with_replies: bool,
) -> Result<Served, FederationError> {
    let post = posts::find_by_ap_id(&fed.db, ap_id)
        .await?
        .filter(|p| p.local)
        .ok_or(FederationError::NotFound("post"))?;
    let group = match post.group_id {
        Some(id) => groups::find_by_id(&fed.db, id).await?,
        None => None,
    };
    let handle = match &group {
        Some(g) => group_handle(fed, g),
        None => post.group_ap_id.clone(),
    };
    // A deleted post answers 410 with its tombstone to anyone, so that every
    // cache can forget it; the tombstone holds nothing but the id.
    if post.is_deleted() && !with_replies {
        return Ok(Served::Gone(post_json(&post, &handle)));
    }
    let allowed = match post.visibility {
        Visibility::Public => true,
        Visibility::Local => false,
        Visibility::Members => match (signer.and_then(protocol::authority), &group) {
            (Some(authority), Some(g)) => groups::has_member_on(&fed.db, g.id, &authority).await?,
            (Some(authority), None) => {
                // A post of ours in a group elsewhere: that group's server may read it.
                Url::parse(&post.group_ap_id)
                    .ok()
                    .as_ref()
                    .and_then(protocol::authority)
                    == Some(authority)
            }
            _ => false,
        },
    };
    if !allowed {
        return Err(FederationError::NotFound("post"));
    }
    if with_replies {
        let replies: Vec<Url> = posts::thread(&fed.db, post.thread_id())
            .await?
            .into_iter()
            .filter(|p| p.parent_id == Some(post.id) && !p.is_deleted())
            .filter_map(|p| Url::parse(&p.ap_id).ok())
            .collect();
        let id = Url::parse(&format!("{}/replies", post.ap_id))
            .map_err(|e| FederationError::Internal(e.to_string()))?;
        let collection = protocol::CollectionJson::with_items(id, replies);
        return Ok(Served::Object(
            serde_json::to_value(collection)
                .map_err(|e| FederationError::Internal(e.to_string()))?,
        ));
    }
    let doc = post_json(&post, &handle);
    Ok(if post.is_deleted() {
        Served::Gone(doc)
    } else {
        Served::Object(doc)
    })
}

/// Serve an activity this server sent (`/activities/{uuid}`): public ones
/// to anyone, others only to the servers they were delivered to.
pub async fn serve_activity(
    fed: &Federation,
    ap_id: &str,
    signer: Option<&Url>,
) -> Result<Value, FederationError> {
    let (body, authorities) = hearth_db::federation::outbound_by_ap_id(&fed.db, ap_id)
        .await?
        .ok_or(FederationError::NotFound("activity"))?;
    let mut doc: Value =
        serde_json::from_str(&body).map_err(|e| FederationError::Internal(e.to_string()))?;
    let public = ["to", "cc"]
        .iter()
        .flat_map(|k| doc[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .any(|v| protocol::is_public(&v));
    let signer_authority = signer.and_then(protocol::authority);
    let delivered_to_signer = signer_authority
        .as_ref()
        .is_some_and(|a| authorities.iter().any(|d| d.eq_ignore_ascii_case(a)));
    // An activity a group here relayed inside an Announce: readable by the
    // servers where the group's members live.
    let audience = doc["audience"].as_str().and_then(|a| Url::parse(a).ok());
    let member_server = match (
        &signer_authority,
        audience.and_then(|a| fed.urls.parse_local(&a)),
    ) {
        (Some(authority), Some(LocalRef::Group(name))) => {
            match groups::find_by_name(&fed.db, &name).await? {
                Some(group) => groups::has_member_on(&fed.db, group.id, authority).await?,
                None => false,
            }
        }
        _ => false,
    };
    if !public && !delivered_to_signer && !member_server {
        return Err(FederationError::NotFound("activity"));
    }
    if doc.get("@context").is_none() {
        doc["@context"] = post_context();
    }
    Ok(doc)
}

/// A group's outbox: its most recent threads, each as the `Announce` of
/// its `Create` (as Lemmy's outboxes look), so a server whose member just
/// joined can fill the group's page. Members-only threads are listed only
/// for servers where a member lives.
pub async fn group_outbox(
    fed: &Federation,
    group: &Group,
    signer: Option<&Url>,
) -> Result<Value, FederationError> {
    let member_server = match signer.and_then(protocol::authority) {
        Some(authority) => groups::has_member_on(&fed.db, group.id, &authority).await?,
        None => false,
    };
    let visible: &[Visibility] = if member_server {
        &[Visibility::Members, Visibility::Public]
    } else {
        &[Visibility::Public]
    };
    let group_url = fed.urls.group(&group.name);
    let handle = group_handle(fed, group);
    let threads = posts::threads(
        &fed.db,
        group_url.as_str(),
        visible,
        None,
        posts::Order::Newest,
        None,
        20,
    )
    .await?;
    let items: Vec<Value> = threads
        .iter()
        .map(|post| {
            let mut create = create_activity(&fed.urls, post, &handle);
            create["id"] = json!(format!("{}#create", post.ap_id));
            if let Some(map) = create.as_object_mut() {
                map.remove("@context");
            }
            json!({
                "id": format!("{}#announce", post.ap_id),
                "type": "Announce",
                "actor": group_url,
                "object": create,
                "audience": group_url,
                "to": create["to"].clone(),
                "cc": create["cc"].clone(),
            })
        })
        .collect();
    Ok(json!({
        "@context": post_context(),
        "id": fed.urls.group_outbox(&group.name),
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    }))
}

/// Fill in a group on another server that a member here just joined: read
/// its outbox (signed, so members-only threads are included) and store the
/// threads it announces, checked as any `Announce` is.
pub async fn backfill(data: &Data, group_ap_id: &str) -> Result<usize, FederationError> {
    let fed = data.app_data();
    let Some(group) = remote::find_actor(&fed.db, group_ap_id).await? else {
        return Ok(0);
    };
    let Some(outbox) = group.outbox.as_deref().and_then(|o| Url::parse(o).ok()) else {
        return Ok(0);
    };
    let group = RemoteActorObject::new(group)?;
    let collection = fetch_object_http::<Federation, Value>(&outbox, data)
        .await?
        .object;
    let items = collection["orderedItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut stored = 0;
    for item in items.iter().take(20) {
        let Some(envelope) = crate::inbox::envelope_of(item) else {
            continue;
        };
        if envelope.actor != *group.url() || envelope.kind != "Announce" {
            continue;
        }
        let prepared = match prepare_announce(data, &envelope, &group).await {
            Ok(p) => p,
            Err(err) => {
                tracing::info!(item = %envelope.id, error = %err, "skipping an outbox item");
                continue;
            }
        };
        let txn = hearth_db::begin_write(&fed.db).await?;
        match from_group(&txn, fed, &group, prepared).await {
            Ok(Received::Applied) => {
                txn.commit().await?;
                stored += 1;
            }
            Ok(_) => txn.commit().await?,
            Err(err) => {
                txn.rollback().await?;
                tracing::info!(item = %envelope.id, error = %err, "skipping an outbox item");
            }
        }
    }
    tracing::info!(group = %group.url(), stored, "backfilled from the group's outbox");
    Ok(stored)
}

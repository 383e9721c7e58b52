//! Serving what other servers fetch by id: posts written here (or their
//! tombstones), their `replies` collections, activities this server sent,
//! and a group's outbox. Every answer comes from a `hearth-app` query that
//! applies the one read rule for the reader the signature proved; what the
//! reader may not see answers exactly as what does not exist.

use hearth_app::Reader;
use hearth_app::posts::PostGroup;

use crate::FederationError;
use crate::context::Federation;
use crate::render;
use crate::wire::{Collection, Context, PostObject};
use hearth_app::records::PostKind;

/// How many threads a group's outbox lists.
const OUTBOX_ITEMS: u64 = 20;

/// What a fetch by id gets.
pub enum Served {
    /// The document (HTTP 200).
    Object(String),
    /// A deleted post's tombstone: HTTP 410, except to Mastodon, which
    /// forgets a status it refetches only on 404.
    Gone(String),
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, FederationError> {
    crate::wire::to_json(value).map_err(|e| FederationError::Internal(e.to_string()))
}

fn group_handle(fed: &Federation, group: &PostGroup) -> String {
    group.handle(&fed.app)
}

/// A post written here, as `reader` may see it.
pub async fn post(
    fed: &Federation,
    reader: &Reader,
    ap_id: &str,
) -> Result<Served, FederationError> {
    let (post, group) = fed.app.own_post_for(reader, ap_id).await?;
    if post.is_deleted() {
        // Gone, to those who could read it, so every cache can forget it.
        return Ok(Served::Gone(json(&render::tombstone(&post))?));
    }
    served_to(fed, reader, &post).await;
    let mut doc = render::post_object(&post, &group_handle(fed, &group));
    doc.context = Some(Context::Posts);
    Ok(Served::Object(json(&doc)?))
}

/// Record that the server reading (if one, signed) now holds `post`, so
/// that it is told when its author takes it back. A failure to record is
/// logged; the reader still gets what it may read.
async fn served_to(fed: &Federation, reader: &Reader, post: &hearth_app::records::Post) {
    if !post.local || post.author_ap_id.is_empty() {
        return;
    }
    if let Err(err) = fed
        .app
        .served_to(reader, &post.author_ap_id, &post.ap_id)
        .await
    {
        tracing::warn!(post = %post.ap_id, error = %err, "cannot record which server fetched a post");
    }
}

/// A thread written here as a `Note`, for microblogs (see
/// [`render::thread_note`]); its tombstone once the thread is deleted.
pub async fn thread_note(
    fed: &Federation,
    reader: &Reader,
    ap_id: &str,
) -> Result<Served, FederationError> {
    let (post, group) = fed.app.own_post_for(reader, ap_id).await?;
    if post.kind != PostKind::Thread {
        return Err(FederationError::NotFound("post"));
    }
    if post.is_deleted() {
        let mut tombstone = render::tombstone(&post);
        tombstone.id = render::thread_note_id(&post.ap_id);
        return Ok(Served::Gone(json(&tombstone)?));
    }
    served_to(fed, reader, &post).await;
    let mut doc = render::thread_note(&post, &group_handle(fed, &group));
    doc.context = Some(Context::Posts);
    Ok(Served::Object(json(&doc)?))
}

/// The `replies` collection of a post written here: the replies the
/// reader may see, as whole objects (PieFed's backfill reads them from
/// the collection and stops at a list of ids).
pub async fn replies(
    fed: &Federation,
    reader: &Reader,
    ap_id: &str,
) -> Result<String, FederationError> {
    let (_, group) = fed.app.own_post_for(reader, ap_id).await?;
    let handle = group_handle(fed, &group);
    let replies = fed.app.replies_for(reader, ap_id).await?;
    let items: Vec<PostObject> = replies
        .iter()
        .filter(|reply| !reply.is_deleted())
        .map(|reply| render::post_object(reply, &handle))
        .collect();
    json(&Collection::with_items(
        Context::Posts,
        format!("{ap_id}/replies"),
        items,
    ))
}

/// An activity this server sent.
pub async fn activity(
    fed: &Federation,
    reader: &Reader,
    ap_id: &str,
) -> Result<String, FederationError> {
    Ok(fed.app.activity_for(reader, ap_id).await?)
}

/// A group's outbox: its newest threads `reader` may see.
pub async fn outbox(
    fed: &Federation,
    reader: &Reader,
    name: &str,
) -> Result<String, FederationError> {
    let (group, threads) = fed.app.group_outbox(reader, name, OUTBOX_ITEMS).await?;
    json(&render::outbox(&fed.urls, &group.name, &threads))
}

/// A group's pinned threads, as `reader` may see them.
pub async fn featured(
    fed: &Federation,
    reader: &Reader,
    name: &str,
) -> Result<String, FederationError> {
    let group = fed.app.group(name).await?.group;
    let here = hearth_app::posts::PostGroup::Local(group.clone());
    let threads = fed.app.pinned(reader, &here).await?;
    json(&render::featured(&fed.urls, &group.name, &threads))
}

/// A group's followers: its member count only, never who they are.
pub async fn group_followers(fed: &Federation, name: &str) -> Result<String, FederationError> {
    let summary = fed.app.group(name).await?;
    json(&Collection::<String>::count_only(
        fed.urls.group_followers(&summary.group.name).to_string(),
        summary.members,
    ))
}

/// A group's moderators (FEP-1b12 `attributedTo`).
pub async fn group_moderators(fed: &Federation, name: &str) -> Result<String, FederationError> {
    let group = fed.app.group(name).await?.group;
    // Its moderators here and those of other servers it made moderators.
    let ids = fed.app.moderator_ids(&group).await?;
    json(&Collection::with_items(
        Context::Activities,
        fed.urls.group_moderators(&group.name).to_string(),
        ids,
    ))
}

/// A group's peer mentors (`hearth:mentors`): public, as its moderators.
pub async fn group_mentors(fed: &Federation, name: &str) -> Result<String, FederationError> {
    let group = fed.app.group(name).await?.group;
    let ids = fed
        .app
        .mentor_ids(&hearth_app::posts::PostGroup::Local(group.clone()))
        .await?;
    json(&Collection::with_items(
        Context::Activities,
        fed.urls.group_mentors(&group.name).to_string(),
        ids,
    ))
}

/// A member's outbox: always empty (members' posts live in their groups).
pub async fn person_outbox(fed: &Federation, name: &str) -> Result<String, FederationError> {
    let account = fed.app.active_account(name).await?;
    json(&Collection::<String>::with_items(
        Context::Activities,
        fed.urls.user_outbox(&account.username).to_string(),
        Vec::new(),
    ))
}

/// A member's followers: always none (people are not followed).
pub async fn person_followers(fed: &Federation, name: &str) -> Result<String, FederationError> {
    let account = fed.app.active_account(name).await?;
    json(&Collection::<String>::count_only(
        fed.urls.user_followers(&account.username).to_string(),
        0,
    ))
}

/// The instance actor's outbox: always empty.
pub fn site_outbox(fed: &Federation) -> Result<String, FederationError> {
    json(&Collection::<String>::with_items(
        Context::Activities,
        fed.urls.site_outbox().to_string(),
        Vec::new(),
    ))
}

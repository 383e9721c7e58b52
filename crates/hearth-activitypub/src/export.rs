//! A member's export as ActivityStreams 2.0 documents, the shape other
//! fediverse software exports and imports (Mastodon's archive holds an
//! `actor.json`, an `outbox.json` of `Create` activities and a
//! `likes.json`): one serde type per document, from
//! `hearth_app::export::Export`. Only the member's own words; other
//! people's posts are named by id.

use chrono::{DateTime, SecondsFormat, Utc};
use hearth_app::export::{Export, ExportedPost, PostState};
use serde::Serialize;

use crate::wire::AS_CONTEXT;

/// Hearth's extension terms (where the post stands, memberships).
use crate::wire::HEARTH_NS as HEARTH_CONTEXT;

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Actor<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    preferred_username: &'a str,
    name: &'a str,
    summary: &'a str,
    published: String,
    /// Not part of AS2: what the member wrote when signing up, and their
    /// e-mail address, kept here because they are theirs.
    #[serde(rename = "hearth:registrationAnswer")]
    registration_answer: &'a str,
    #[serde(rename = "hearth:email", skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection<T> {
    #[serde(rename = "@context")]
    context: (&'static str, Ns),
    #[serde(rename = "type")]
    kind: &'static str,
    total_items: usize,
    ordered_items: Vec<T>,
}

#[derive(Serialize)]
struct Ns {
    hearth: &'static str,
}

fn collection<T>(items: Vec<T>) -> Collection<T> {
    Collection {
        context: (
            AS_CONTEXT,
            Ns {
                hearth: HEARTH_CONTEXT,
            },
        ),
        kind: "OrderedCollection",
        total_items: items.len(),
        ordered_items: items,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Create<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    actor: &'a str,
    published: String,
    object: Object<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    attributed_to: &'a str,
    audience: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_reply_to: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    content: &'a str,
    source: Source<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    #[serde(rename = "hearth:visibility")]
    visibility: &'static str,
    /// `published`, `waiting` (for a moderator) or `removed` (by one).
    #[serde(rename = "hearth:state")]
    state: &'static str,
    #[serde(rename = "hearth:removedAt", skip_serializing_if = "Option::is_none")]
    removed_at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Source<'a> {
    content: &'a str,
    media_type: &'static str,
}

#[derive(Serialize)]
struct Like<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    actor: &'a str,
    object: &'a str,
    content: &'static str,
    published: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Membership<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(rename = "hearth:handle")]
    handle: &'a str,
    name: &'a str,
    #[serde(rename = "hearth:membership")]
    state: &'static str,
    #[serde(rename = "hearth:since")]
    since: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    #[serde(rename = "hearth:id")]
    id: i64,
    #[serde(rename = "hearth:kind")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience: Option<&'a str>,
    #[serde(rename = "hearth:reaction", skip_serializing_if = "Option::is_none")]
    reaction: Option<&'a str>,
    published: String,
    #[serde(rename = "hearth:readAt", skip_serializing_if = "Option::is_none")]
    read_at: Option<String>,
}

fn object<'a>(export: &'a Export, p: &'a ExportedPost) -> Object<'a> {
    let post = &p.post;
    let (state, removed_at) = match p.state {
        PostState::Published => ("published", None),
        PostState::Waiting => ("waiting", None),
        PostState::Removed(at) => ("removed", Some(time(at))),
    };
    Object {
        id: &post.ap_id,
        kind: match post.kind {
            hearth_app::records::PostKind::Thread => "Page",
            hearth_app::records::PostKind::Reply => "Note",
        },
        attributed_to: &export.actor_id,
        audience: &p.group_ap_id,
        in_reply_to: post.in_reply_to_ap_id.as_deref(),
        name: &post.title,
        content: &post.content_html,
        source: Source {
            content: &post.source,
            media_type: "text/markdown",
        },
        summary: post.content_warning.as_deref(),
        url: post.link.as_deref(),
        published: time(post.published_at),
        updated: post.updated_at.map(time),
        visibility: post.visibility.as_str(),
        state,
        removed_at,
    }
}

/// The export's JSON documents, by file name.
pub fn documents(export: &Export) -> Result<Vec<(&'static str, Vec<u8>)>, serde_json::Error> {
    let a = &export.account;
    let actor = Actor {
        context: AS_CONTEXT,
        id: &export.actor_id,
        kind: "Person",
        preferred_username: &a.username,
        name: &a.display_name,
        summary: &a.bio,
        published: time(a.created_at),
        registration_answer: &a.registration_reason,
        email: a.email.as_deref(),
    };
    let outbox = collection(
        export
            .posts
            .iter()
            .map(|p| Create {
                id: format!("{}#create", p.post.ap_id),
                kind: "Create",
                actor: &export.actor_id,
                published: time(p.post.published_at),
                object: object(export, p),
            })
            .collect(),
    );
    let likes = collection(
        export
            .reactions
            .iter()
            .map(|r| Like {
                id: &r.ap_id,
                kind: "Like",
                actor: &export.actor_id,
                object: &r.post_ap_id,
                content: r.reaction.as_str(),
                published: time(r.created_at),
            })
            .collect(),
    );
    let memberships = collection(
        export
            .memberships
            .iter()
            .map(|m| Membership {
                kind: "Group",
                id: &m.group_ap_id,
                handle: &m.handle,
                name: &m.title,
                state: m.state.as_str(),
                since: time(m.since),
            })
            .collect(),
    );
    let notifications = collection(
        export
            .notifications
            .iter()
            .map(|n| Notification {
                id: n.id,
                kind: n.kind.as_str(),
                actor: n.actor_ap_id.as_deref(),
                object: n.post_ap_id.as_deref(),
                audience: n.group_ap_id.as_deref(),
                reaction: n.reaction.as_deref(),
                published: time(n.created_at),
                read_at: n.read_at.map(time),
            })
            .collect(),
    );
    Ok(vec![
        ("actor.json", serde_json::to_vec_pretty(&actor)?),
        ("outbox.json", serde_json::to_vec_pretty(&outbox)?),
        ("likes.json", serde_json::to_vec_pretty(&likes)?),
        ("memberships.json", serde_json::to_vec_pretty(&memberships)?),
        (
            "notifications.json",
            serde_json::to_vec_pretty(&notifications)?,
        ),
    ])
}

//! Domain to wire, in one place: the documents of posts, the activities
//! every [`Event`] is told with, and a group's outbox.
//!
//! ```text
//! member ──Create/Update/Delete/Like/Undo──▶ group (here)
//!                                              │ the command accepted it, then
//!                                              ▼
//! group ──Announce{the activity, re-rendered from what was stored}──▶ every member server
//!       ──Announce{Page id}──────────────────────────────────────────▶ (new threads, for Mastodon)
//! ```
//!
//! What a group relays is rendered from the stored post, not passed on as
//! received: it carries the sanitised text and the thread's addressing
//! (a reply in a members-only thread is never relayed as public, whatever
//! its author's server put in `to`).

use hearth_app::events::{Change, Event, PostAct, PostAudience};
use hearth_app::records::{Post, PostKind};
use hearth_app::{Outgoing, PortError, Urls};
use hearth_domain::post::Visibility;
use hearth_domain::text;

use crate::wire::{
    AS_PUBLIC, Activity, ActivityType, Collection, Context, Follow, LinkAttachment, LinkType,
    PostObject, PostType, Source, Tag, TagType, Tombstone, TombstoneRef, TombstoneType, Wrapped,
};

/// How long a Page's plain-text `summary` excerpt may be.
const EXCERPT_CHARS: usize = 280;

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339()
}

/// `to` and `cc` of a post and everything about it: the group always; the
/// public only for public posts; the group's followers (its members) in
/// `cc`. A reply's visibility is its thread's, so this is the thread's.
fn addressing(post: &Post) -> (Vec<String>, Vec<String>) {
    let mut to = vec![post.group_ap_id.clone()];
    if post.visibility == Visibility::Public {
        to.push(AS_PUBLIC.to_owned());
    }
    (to, vec![format!("{}/followers", post.group_ap_id)])
}

fn post_type(post: &Post) -> PostType {
    match post.kind {
        PostKind::Thread => PostType::Page,
        PostKind::Reply => PostType::Note,
    }
}

/// The `Page` or `Note` of a post (not deleted). `group_handle` names the
/// group in the mention tag (`name@server`).
pub fn post_object(post: &Post, group_handle: &str) -> PostObject {
    let (to, cc) = addressing(post);
    let mut tag = vec![Tag {
        kind: TagType::Mention,
        href: Some(post.group_ap_id.clone()),
        name: format!("@{group_handle}"),
    }];
    if let Some(kind) = post.support_kind {
        tag.push(Tag {
            kind: TagType::Hashtag,
            href: None,
            name: format!("#{}", kind.hashtag()),
        });
    }
    let summary = match post.kind {
        // Mastodon shows a Page as title + summary + link; a content
        // warning, when there is one, takes the summary's place.
        PostKind::Thread => Some(post.content_warning.clone().unwrap_or_else(|| {
            text::excerpt(&text::html_to_plain(&post.content_html), EXCERPT_CHARS)
        })),
        PostKind::Reply => post.content_warning.clone(),
    };
    PostObject {
        context: None,
        id: post.ap_id.clone(),
        kind: post_type(post),
        attributed_to: post.author_ap_id.clone(),
        audience: post.group_ap_id.clone(),
        to,
        cc,
        content: post.content_html.clone(),
        media_type: "text/html",
        source: (!post.source.is_empty()).then(|| Source {
            content: post.source.clone(),
            media_type: "text/markdown",
        }),
        sensitive: post.content_warning.is_some(),
        published: timestamp(post.published_at),
        updated: post.updated_at.map(timestamp),
        url: post.url.clone().unwrap_or_else(|| post.ap_id.clone()),
        tag,
        replies: post.local.then(|| format!("{}/replies", post.ap_id)),
        in_reply_to: post.in_reply_to_ap_id.clone(),
        attachment: post
            .link
            .iter()
            .map(|href| LinkAttachment {
                kind: LinkType::Link,
                href: href.clone(),
            })
            .collect(),
        name: (post.kind == PostKind::Thread).then(|| post.title.clone()),
        summary,
        support_kind: match post.kind {
            PostKind::Thread => post.support_kind.map(|k| k.as_str()),
            PostKind::Reply => None,
        },
    }
}

/// A deleted post's `Tombstone`: nothing but its id and when.
pub fn tombstone(post: &Post) -> Tombstone {
    Tombstone {
        context: Context::Activities,
        id: post.ap_id.clone(),
        kind: TombstoneType::Tombstone,
        former_type: post_type(post),
        deleted: post.deleted_at.map(timestamp),
    }
}

/// The activity `act` is, by its actor, addressed as its post.
fn member_activity(act: &PostAct, group_handle: &str) -> Wrapped {
    let post = &act.post;
    let (to, cc) = addressing(post);
    macro_rules! activity {
        ($kind:expr, $object:expr) => {{
            let mut a = Activity::new($kind, act.id.clone(), act.actor.clone(), $object, to);
            a.audience = Some(post.group_ap_id.clone());
            a.cc = cc;
            a
        }};
    }
    match &act.change {
        Change::Created => Wrapped::Post(Box::new(activity!(
            ActivityType::Create,
            post_object(post, group_handle)
        ))),
        Change::Edited => Wrapped::Post(Box::new(activity!(
            ActivityType::Update,
            post_object(post, group_handle)
        ))),
        Change::Deleted { reason } => {
            let mut delete = activity!(
                ActivityType::Delete,
                TombstoneRef {
                    id: post.ap_id.clone(),
                    kind: TombstoneType::Tombstone,
                }
            );
            delete.summary = reason.clone();
            Wrapped::Delete(Box::new(delete))
        }
        Change::Reacted(reaction) => {
            // A support reaction travels as `Like` with its emoji as
            // `content` (a plain `Like` elsewhere reads as "helpful").
            let mut like = activity!(ActivityType::Like, post.ap_id.clone());
            like.content = Some(reaction.emoji().to_owned());
            Wrapped::Reference(Box::new(like))
        }
        Change::Unreacted { reaction, like_id } => {
            let mut like = Activity::new(
                ActivityType::Like,
                like_id.clone(),
                act.actor.clone(),
                post.ap_id.clone(),
                vec![post.group_ap_id.clone()],
            );
            like.content = Some(reaction.emoji().to_owned());
            Wrapped::Undo(Box::new(activity!(ActivityType::Undo, Box::new(like))))
        }
    }
}

fn with_context(wrapped: Wrapped, context: Context) -> Wrapped {
    match wrapped {
        Wrapped::Post(a) => Wrapped::Post(Box::new(a.with_context(context))),
        Wrapped::Delete(a) => Wrapped::Delete(Box::new(a.with_context(context))),
        Wrapped::Reference(a) => Wrapped::Reference(Box::new(a.with_context(context))),
        Wrapped::Undo(a) => Wrapped::Undo(Box::new(a.with_context(context))),
        Wrapped::Id(id) => Wrapped::Id(id),
    }
}

fn kind_of(change: &Change) -> ActivityType {
    match change {
        Change::Created => ActivityType::Create,
        Change::Edited => ActivityType::Update,
        Change::Deleted { .. } => ActivityType::Delete,
        Change::Reacted(_) => ActivityType::Like,
        Change::Unreacted { .. } => ActivityType::Undo,
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, PortError> {
    crate::wire::to_json(value).map_err(|e| PortError::Internal(e.to_string()))
}

/// The activities that tell other servers about `event`.
pub fn event(urls: &Urls, event: &Event) -> Result<Vec<Outgoing>, PortError> {
    match event {
        Event::Post(post) => post_event(urls, &post.to, &post.act),
        Event::JoinAsked {
            member,
            group,
            follow_id,
        } => {
            let follow = follow(follow_id, member, &group.ap_id).with_context(Context::Activities);
            Ok(vec![Outgoing {
                id: follow_id.clone(),
                kind: "Follow".into(),
                actor: member.clone(),
                body: json(&follow)?,
                inboxes: vec![group.inbox.clone()],
                about: None,
            }])
        }
        Event::JoinWithdrawn {
            member,
            group,
            follow_id,
        } => {
            let follow = follow(follow_id, member, &group.ap_id);
            let id = urls.new_activity().to_string();
            let undo = Activity::new(
                ActivityType::Undo,
                id.clone(),
                member.clone(),
                follow,
                vec![group.ap_id.clone()],
            )
            .with_context(Context::Activities);
            Ok(vec![Outgoing {
                id,
                kind: "Undo".into(),
                actor: member.clone(),
                body: json(&undo)?,
                inboxes: vec![group.inbox.clone()],
                about: None,
            }])
        }
        Event::JoinAnswered {
            group,
            follower,
            follow_id,
            accepted,
        } => {
            let kind = if *accepted {
                ActivityType::Accept
            } else {
                ActivityType::Reject
            };
            let group_url = urls.group(&group.name).to_string();
            answer(urls, kind, &group_url, follower, follow_id)
        }
        Event::FollowRefused {
            target,
            follower,
            follow_id,
        } => answer(urls, ActivityType::Reject, target, follower, follow_id),
        Event::PostRefused {
            group,
            author,
            activity_id,
        } => {
            let id = urls.new_activity().to_string();
            let group_url = urls.group(&group.name).to_string();
            let reject = Activity::new(
                ActivityType::Reject,
                id.clone(),
                group_url.clone(),
                activity_id.clone(),
                vec![author.ap_id.clone()],
            )
            .with_context(Context::Activities);
            Ok(vec![Outgoing {
                id,
                kind: "Reject".into(),
                actor: group_url,
                body: json(&reject)?,
                inboxes: vec![author.inbox.clone()],
                about: None,
            }])
        }
    }
}

/// The `Follow` with id `id` of `object` by `actor`, as sent, and as
/// embedded in its `Undo`, `Accept` and `Reject`.
fn follow(id: &str, actor: &str, object: &str) -> Follow {
    Activity::new(
        ActivityType::Follow,
        id.to_owned(),
        actor.to_owned(),
        object.to_owned(),
        vec![object.to_owned()],
    )
}

/// `Accept` or `Reject` of a Follow, embedding the Follow (as
/// `{id, type, actor, object}`) so the follower can match it without a
/// fetch.
fn answer(
    urls: &Urls,
    kind: ActivityType,
    actor: &str,
    follower: &hearth_app::records::RemoteActor,
    follow_id: &str,
) -> Result<Vec<Outgoing>, PortError> {
    let follow = follow(follow_id, &follower.ap_id, actor);
    let id = urls.new_activity().to_string();
    let activity = Activity::new(
        kind,
        id.clone(),
        actor.to_owned(),
        follow,
        vec![follower.ap_id.clone()],
    )
    .with_context(Context::Activities);
    Ok(vec![Outgoing {
        id,
        kind: kind.as_str().into(),
        actor: actor.to_owned(),
        body: json(&activity)?,
        inboxes: vec![follower.inbox.clone()],
        about: None,
    }])
}

fn post_event(urls: &Urls, to: &PostAudience, act: &PostAct) -> Result<Vec<Outgoing>, PortError> {
    let kind = kind_of(&act.change);
    let about = Some(act.post.ap_id.clone());
    let mut out = Vec::new();
    match to {
        PostAudience::GroupHere { group, inboxes } => {
            let handle = format!("{}@{}", group.name, urls.authority());
            let inner = member_activity(act, &handle);
            if act.by_member_here {
                // A member's own activity is kept so it can be fetched by
                // its id (some software re-fetches what an Announce embeds).
                out.push(Outgoing {
                    id: act.id.clone(),
                    kind: kind.as_str().into(),
                    actor: act.actor.clone(),
                    body: json(&with_context(inner.clone(), Context::Posts))?,
                    inboxes: Vec::new(),
                    about: about.clone(),
                });
            }
            if inboxes.is_empty() {
                return Ok(out);
            }
            let group_url = urls.group(&group.name).to_string();
            let mut to = vec![urls.group_followers(&group.name).to_string()];
            if act.post.visibility == Visibility::Public {
                to.push(AS_PUBLIC.to_owned());
            }
            let mut announces = vec![inner];
            if act.change == Change::Created && act.post.kind == PostKind::Thread {
                // A new thread is also announced bare: what Mastodon shows.
                announces.push(Wrapped::Id(act.post.ap_id.clone()));
            }
            for object in announces {
                let id = urls.new_activity().to_string();
                let mut announce = Activity::new(
                    ActivityType::Announce,
                    id.clone(),
                    group_url.clone(),
                    object,
                    to.clone(),
                )
                .with_context(Context::Posts);
                announce.audience = Some(group_url.clone());
                out.push(Outgoing {
                    id,
                    kind: "Announce".into(),
                    actor: group_url.clone(),
                    body: json(&announce)?,
                    inboxes: inboxes.clone(),
                    about: about.clone(),
                });
            }
        }
        PostAudience::GroupElsewhere { group } => {
            let handle = format!("{}@{}", group.preferred_username, group.authority);
            out.push(Outgoing {
                id: act.id.clone(),
                kind: kind.as_str().into(),
                actor: act.actor.clone(),
                body: json(&with_context(member_activity(act, &handle), Context::Posts))?,
                inboxes: vec![group.inbox.clone()],
                about,
            });
        }
    }
    Ok(out)
}

/// A group's outbox: its newest threads, each as the `Announce` of its
/// `Create` (as Lemmy's outboxes look), so a server whose member just
/// joined can fill the group's page.
pub fn outbox(urls: &Urls, group_name: &str, threads: &[Post]) -> Collection<Activity<Wrapped>> {
    let group_url = urls.group(group_name).to_string();
    let handle = format!("{group_name}@{}", urls.authority());
    let items = threads
        .iter()
        .map(|post| {
            let (to, cc) = addressing(post);
            let act = PostAct {
                id: format!("{}#create", post.ap_id),
                actor: post.author_ap_id.clone(),
                by_member_here: post.local,
                post: post.clone(),
                change: Change::Created,
            };
            let mut announce = Activity::new(
                ActivityType::Announce,
                format!("{}#announce", post.ap_id),
                group_url.clone(),
                member_activity(&act, &handle),
                to,
            );
            announce.audience = Some(group_url.clone());
            announce.cc = cc;
            announce
        })
        .collect();
    Collection::with_items(
        Context::Posts,
        urls.group_outbox(group_name).to_string(),
        items,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use hearth_app::records::Group;
    use hearth_domain::JoinPolicy;
    use serde_json::Value;

    fn urls() -> Urls {
        Urls::new("a.example", false).unwrap()
    }

    fn group() -> Group {
        Group {
            id: 1,
            name: "peers".into(),
            display_name: "Peers".into(),
            description: String::new(),
            rules: String::new(),
            join_policy: JoinPolicy::Open,
            listed: true,
            allow_outside_posts: false,
            public_key_pem: String::new(),
            created_by: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn reply(visibility: Visibility) -> Post {
        Post {
            id: 2,
            ap_id: "https://b.example/p/2".into(),
            group_ap_id: "https://a.example/g/peers".into(),
            group_id: Some(1),
            author_ap_id: "https://b.example/u/bo".into(),
            author_user_id: None,
            parent_id: Some(1),
            root_id: Some(1),
            in_reply_to_ap_id: Some("https://a.example/p/1".into()),
            kind: PostKind::Reply,
            title: String::new(),
            source: String::new(),
            content_html: "<p>me too</p>".into(),
            content_warning: None,
            support_kind: None,
            visibility,
            url: None,
            link: None,
            local: false,
            published_at: Utc::now(),
            updated_at: None,
            deleted_at: None,
            last_activity_at: Utc::now(),
        }
    }

    fn relayed(visibility: Visibility) -> Vec<Value> {
        let act = PostAct {
            id: "https://b.example/activities/9".into(),
            actor: "https://b.example/u/bo".into(),
            by_member_here: false,
            post: reply(visibility),
            change: Change::Created,
        };
        let to = PostAudience::GroupHere {
            group: group(),
            inboxes: vec!["https://c.example/inbox".into()],
        };
        post_event(&urls(), &to, &act)
            .unwrap()
            .iter()
            .map(|o| serde_json::from_str(&o.body).unwrap())
            .collect()
    }

    fn mentions_public(v: &Value) -> bool {
        v.to_string().contains(AS_PUBLIC)
    }

    #[test]
    fn a_relayed_reply_in_a_members_only_thread_is_never_public() {
        let sent = relayed(Visibility::Members);
        // Only the Announce: the activity is by someone elsewhere, so it is
        // not kept here, and replies are not announced bare.
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["type"], "Announce");
        assert_eq!(sent[0]["object"]["id"], "https://b.example/activities/9");
        assert_eq!(sent[0]["object"]["object"]["type"], "Note");
        assert!(!mentions_public(&sent[0]), "{}", sent[0]);
        assert!(mentions_public(&relayed(Visibility::Public)[0]));
    }

    #[test]
    fn a_relayed_post_carries_no_replies_collection_of_another_server() {
        let sent = relayed(Visibility::Members);
        assert!(sent[0]["object"]["object"].get("replies").is_none());
    }
}

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

use hearth_app::events::{
    Change, Event, FlagEvent, MemberServer, ModAct, ModerationEvent, PostAct, PostAudience,
    ResolvedEvent,
};
use hearth_app::records::{Post, PostKind};
use hearth_app::{Outgoing, PortError, Urls};
use hearth_domain::peer::Software;
use hearth_domain::post::{SpeakingAs, Visibility};
use hearth_domain::text;

use crate::wire::{
    AS_PUBLIC, Activity, ActivityType, ActorTombstone, Collection, Context, Follow, LabelNote,
    LinkAttachment, LinkType, PostObject, PostType, Source, SourceRef, Tag, TagType, Tombstone,
    TombstoneRef, TombstoneType, Wrapped,
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
    if post.effective_visibility() == Visibility::Public {
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
    let disclaimer = professional_disclaimer(post);
    PostObject {
        context: None,
        id: post.ap_id.clone(),
        kind: post_type(post),
        attributed_to: post.author_ap_id.clone(),
        audience: post.group_ap_id.clone(),
        to,
        cc,
        // A professional's disclaimer as the last paragraph, for software
        // that reads no Hearth terms (Mastodon); Hearth takes it off again.
        content: match disclaimer {
            Some(d) => format!(
                "{}{}",
                post.content_html,
                crate::warning::disclaimer_paragraph(d)
            ),
            None => post.content_html.clone(),
        },
        media_type: "text/html",
        source: markdown_source(post),
        sensitive: false,
        content_warning: post.content_warning.clone(),
        published: timestamp(post.published_at),
        // A label changed is an update too (Lemmy applies an `Update`
        // only when it is newer than what it has).
        updated: post.updated_at.max(post.label_at).map(timestamp),
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
        sources: post
            .sources
            .iter()
            .map(|s| SourceRef {
                href: s.url.clone(),
                name: s.title.clone(),
                source_type: s.kind.as_str(),
            })
            .collect(),
        label: post.label.as_ref().map(|l| {
            Some(LabelNote {
                label_type: l.label.kind.as_str(),
                content: l.label.note.clone(),
                href: l.label.link.clone(),
                attributed_to: l.by.clone(),
                published: timestamp(l.at),
            })
        }),
        speaking_as: (post.speaking_as == SpeakingAs::Professional)
            .then_some(SpeakingAs::Professional.as_str()),
        disclaimer: disclaimer.map(str::to_owned),
    }
}

/// The disclaimer a professional's post carries, if it is one.
fn professional_disclaimer(post: &Post) -> Option<&str> {
    match post.speaking_as {
        SpeakingAs::Professional => post.disclaimer.as_deref().filter(|d| !d.is_empty()),
        SpeakingAs::Peer => None,
    }
}

/// The Markdown `source` of a post: as written, and, under a content
/// warning, inside the spoiler block Lemmy, Mbin and PieFed render
/// collapsed; a thread's support kind as its last line (they read
/// `source` and ignore `summary` and `supportKind`).
fn markdown_source(post: &Post) -> Option<Source> {
    let kind = match post.kind {
        PostKind::Thread => post.support_kind,
        PostKind::Reply => None,
    };
    let annotated = post.label.is_some() || !post.sources.is_empty();
    let disclaimer = professional_disclaimer(post);
    let body = if !post.source.is_empty() {
        post.source.clone()
    } else if post.content_warning.is_some() || kind.is_some() || annotated || disclaimer.is_some()
    {
        text::html_to_plain(&post.content_html)
    } else {
        return None;
    };
    let mut content = match &post.content_warning {
        Some(warning) => crate::warning::spoiler(warning, &body),
        None => body,
    };
    // The label and the sources, readable where Hearth's properties are
    // not read (see `readable`).
    if let Some(label) = &post.label {
        content.insert_str(0, &crate::readable::label_block(&label.label));
    }
    content.push_str(&crate::readable::sources_block(&post.sources));
    if let Some(kind) = kind {
        content.push_str(&crate::warning::support_line(
            kind.explain(),
            kind.hashtag(),
        ));
    }
    if let Some(disclaimer) = disclaimer {
        content.push_str(&crate::warning::disclaimer_line(disclaimer));
    }
    Some(Source {
        content,
        media_type: "text/markdown",
    })
}

/// The id of a thread's note: the thread as a `Note` for microblogs (see
/// [`thread_note`]).
pub fn thread_note_id(post_ap_id: &str) -> String {
    format!("{post_ap_id}/note")
}

/// The id of a group's `Announce` of a thread's note (microblogs) or of
/// its `Page` id (other software): fixed, so the group can undo it when the
/// thread goes.
fn boost_id(post_ap_id: &str, note: bool) -> String {
    if note {
        format!("{post_ap_id}/note/announce")
    } else {
        format!("{post_ap_id}/announce")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A thread as a `Note`, for Mastodon and other microblogs. Mastodon shows
/// a `Page` as title, `summary` and link, with nothing collapsed, so a
/// warned thread would show its warning as its body. The note is what
/// they are told instead: the title, an excerpt and the link as its
/// content, and the content warning as `summary`, which they collapse.
pub fn thread_note(post: &Post, group_handle: &str) -> PostObject {
    let mut note = post_object(post, group_handle);
    let excerpt = text::excerpt(&text::html_to_plain(&post.content_html), EXCERPT_CHARS);
    let link = escape(&note.url);
    note.id = thread_note_id(&post.ap_id);
    note.kind = PostType::Note;
    note.content = format!(
        "<p><strong>{}</strong></p><p>{}</p><p><a href=\"{link}\">{link}</a></p>{}{}",
        escape(&post.title),
        escape(&excerpt),
        crate::readable::html(post.label.as_ref().map(|l| &l.label), &post.sources),
        professional_disclaimer(post)
            .map(crate::warning::disclaimer_paragraph)
            .unwrap_or_default(),
    );
    note.summary = post.content_warning.clone();
    note.source = None;
    note.replies = None;
    note.attachment = Vec::new();
    note.name = None;
    note.support_kind = None;
    note.sources = Vec::new();
    note.label = None;
    note
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

/// A deleted account's actor, as JSON: nothing but its id.
pub fn person_tombstone(urls: &Urls, username: &str) -> Result<String, PortError> {
    json(&ActorTombstone {
        context: Context::Activities,
        id: urls.user(username).to_string(),
        kind: TombstoneType::Tombstone,
        former_type: "Person",
    })
}

/// The activity `act` is, by its actor, addressed as its post.
fn member_activity(act: &PostAct, group_handle: &str) -> Wrapped {
    let post = &act.post;
    let (to, cc) = if is_reaction(&act.change) {
        (vec![post.group_ap_id.clone()], Vec::new())
    } else {
        addressing(post)
    };
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
        // The moderator's `Update`, carrying the label (`null`: taken
        // off) in Hearth's namespace.
        Change::Labelled => {
            let mut object = post_object(post, group_handle);
            object.label = Some(object.label.flatten());
            Wrapped::Post(Box::new(activity!(ActivityType::Update, object)))
        }
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
        Change::Restored { removal_reason } => {
            // The removal being undone is named afresh (receivers read the
            // post from it, not its id), with its reason: Lemmy tells a
            // moderator's removal from an author's deletion by `summary`.
            let mut delete = Activity::new(
                ActivityType::Delete,
                format!("{}#delete", act.id),
                act.actor.clone(),
                TombstoneRef {
                    id: post.ap_id.clone(),
                    kind: TombstoneType::Tombstone,
                },
                to.clone(),
            );
            delete.audience = Some(post.group_ap_id.clone());
            delete.cc = cc.clone();
            delete.summary = Some(if removal_reason.is_empty() {
                "removed by a moderator".to_owned()
            } else {
                removal_reason.clone()
            });
            Wrapped::UndoDelete(Box::new(activity!(ActivityType::Undo, Box::new(delete))))
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
        Change::Locked(true) => {
            Wrapped::Reference(Box::new(activity!(ActivityType::Lock, post.ap_id.clone())))
        }
        Change::Pinned(pinned) => {
            let kind = if *pinned {
                ActivityType::Add
            } else {
                ActivityType::Remove
            };
            let mut change = activity!(kind, post.ap_id.clone());
            change.target = Some(format!("{}/featured", post.group_ap_id));
            Wrapped::Reference(Box::new(change))
        }
        Change::Locked(false) => {
            // The Lock being undone is named afresh: receivers (Lemmy,
            // Hearth) read the thread from it, not its id.
            let mut lock = Activity::new(
                ActivityType::Lock,
                format!("{}#lock", act.id),
                act.actor.clone(),
                post.ap_id.clone(),
                to.clone(),
            );
            lock.audience = Some(post.group_ap_id.clone());
            lock.cc = cc.clone();
            Wrapped::Undo(Box::new(activity!(ActivityType::Undo, Box::new(lock))))
        }
    }
}

fn with_context(wrapped: Wrapped, context: Context) -> Wrapped {
    match wrapped {
        Wrapped::Post(a) => Wrapped::Post(Box::new(a.with_context(context))),
        Wrapped::Delete(a) => Wrapped::Delete(Box::new(a.with_context(context))),
        Wrapped::Reference(a) => Wrapped::Reference(Box::new(a.with_context(context))),
        Wrapped::Undo(a) => Wrapped::Undo(Box::new(a.with_context(context))),
        Wrapped::UndoDelete(a) => Wrapped::UndoDelete(Box::new(a.with_context(context))),
        Wrapped::Id(id) => Wrapped::Id(id),
    }
}

fn kind_of(change: &Change) -> ActivityType {
    match change {
        Change::Created => ActivityType::Create,
        Change::Edited | Change::Labelled => ActivityType::Update,
        Change::Deleted { .. } => ActivityType::Delete,
        Change::Restored { .. } => ActivityType::Undo,
        Change::Reacted(_) => ActivityType::Like,
        Change::Unreacted { .. } => ActivityType::Undo,
        Change::Locked(true) => ActivityType::Lock,
        Change::Locked(false) => ActivityType::Undo,
        Change::Pinned(true) => ActivityType::Add,
        Change::Pinned(false) => ActivityType::Remove,
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
                private_to_group: None,
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
                private_to_group: None,
            }])
        }
        Event::JoinAnswered {
            group,
            follower,
            software,
            follow_id,
            accepted,
        } => {
            let kind = if *accepted {
                ActivityType::Accept
            } else {
                ActivityType::Reject
            };
            let group_url = urls.group(&group.name).to_string();
            answer(urls, kind, &group_url, follower, software, follow_id, None)
        }
        Event::FollowRefused {
            target,
            follower,
            software,
            follow_id,
            reason,
        } => answer(
            urls,
            ActivityType::Reject,
            target,
            follower,
            software,
            follow_id,
            reason.clone(),
        ),
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
                private_to_group: None,
            }])
        }
        Event::Moderation(event) => moderation(urls, event),
        Event::GuidanceChanged {
            group,
            rules_html,
            guide_html,
            inboxes,
        } => guidance_changed(urls, group, rules_html, guide_html, inboxes),
        Event::Reported(flag) => reported(urls, flag),
        Event::ReportResolved(resolved) => report_resolved(urls, resolved),
        Event::ActorUpdated {
            id,
            account,
            inboxes,
        } => {
            // The whole document, as its id serves it; receivers fetch it
            // again from there (only the person may update it).
            let actor = urls.user(&account.username).to_string();
            let mut person = crate::actors::person_json(urls, account);
            person.context = serde_json::Value::Null;
            let mut update = Activity::new(
                ActivityType::Update,
                id.clone(),
                actor.clone(),
                person,
                vec![AS_PUBLIC.to_owned()],
            )
            .with_context(Context::Actors);
            update.cc = Vec::new();
            Ok(vec![Outgoing {
                id: id.clone(),
                kind: "Update".into(),
                actor,
                body: json(&update)?,
                inboxes: inboxes.clone(),
                about: None,
                private_to_group: None,
            }])
        }
        Event::ActorErased { id, actor, inboxes } => {
            // Addressed to the public as Lemmy requires of it: it names
            // the person only, nothing they wrote.
            let mut delete = Activity::new(
                ActivityType::Delete,
                id.clone(),
                actor.clone(),
                actor.clone(),
                vec![AS_PUBLIC.to_owned()],
            )
            .with_context(Context::Moderation);
            delete.remove_data = Some(true);
            Ok(vec![Outgoing {
                id: id.clone(),
                kind: "Delete".into(),
                actor: actor.clone(),
                body: json(&delete)?,
                inboxes: inboxes.clone(),
                about: None,
                private_to_group: None,
            }])
        }
    }
}

/// A moderator's action on a person in a group here, as its member
/// servers read it (Lemmy's shapes): `Block` (with `target`, `endTime`,
/// `removeData`), `Undo{Block}`, `Add`/`Remove` on the moderators
/// collection; each announced by the group. Lemmy takes these only when
/// addressed to the public; they carry no post's words.
fn moderation(urls: &Urls, event: &ModerationEvent) -> Result<Vec<Outgoing>, PortError> {
    let group_url = urls.group(&event.group.name).to_string();
    let to = vec![AS_PUBLIC.to_owned()];
    let cc = vec![group_url.clone()];
    let action = |kind: ActivityType, id: String| {
        let mut a = Activity::new(
            kind,
            id,
            event.actor.clone(),
            event.person.clone(),
            to.clone(),
        );
        a.cc = cc.clone();
        a.audience = Some(group_url.clone());
        a
    };
    let block = |id: String, terms: &hearth_domain::moderation::BanTerms| {
        let mut block = action(ActivityType::Block, id);
        block.target = Some(group_url.clone());
        block.summary = (!terms.reason.is_empty()).then(|| terms.reason.clone());
        block.end_time = terms.expires_at.map(timestamp);
        block.remove_data = Some(terms.remove_data);
        block
    };
    let (kind, inner) = match &event.act {
        ModAct::Banned(terms) => (
            ActivityType::Block,
            Wrapped::Reference(Box::new(block(event.id.clone(), terms))),
        ),
        ModAct::Unbanned { block_id, terms } => {
            let mut undo = Activity::new(
                ActivityType::Undo,
                event.id.clone(),
                event.actor.clone(),
                Box::new(block(block_id.clone(), terms)),
                to.clone(),
            );
            undo.cc = cc.clone();
            undo.audience = Some(group_url.clone());
            (ActivityType::Undo, Wrapped::Undo(Box::new(undo)))
        }
        ModAct::ModeratorAdded | ModAct::ModeratorRemoved => {
            let kind = if event.act == ModAct::ModeratorAdded {
                ActivityType::Add
            } else {
                ActivityType::Remove
            };
            let mut change = action(kind, event.id.clone());
            change.target = Some(urls.group_moderators(&event.group.name).to_string());
            (kind, Wrapped::Reference(Box::new(change)))
        }
        // Hearth's own collections: a group's peer mentors, and the
        // replies its moderators marked helpful. A mark names a reply that
        // may be for members only, so it goes to the group's followers,
        // never the public.
        ModAct::MentorAdded
        | ModAct::MentorRemoved
        | ModAct::HelpfulMarked
        | ModAct::HelpfulUnmarked => {
            let kind = if matches!(event.act, ModAct::MentorAdded | ModAct::HelpfulMarked) {
                ActivityType::Add
            } else {
                ActivityType::Remove
            };
            let mut change = action(kind, event.id.clone());
            if matches!(event.act, ModAct::MentorAdded | ModAct::MentorRemoved) {
                change.target = Some(urls.group_mentors(&event.group.name).to_string());
            } else {
                change.target = Some(urls.group_helpful(&event.group.name).to_string());
                change.to = vec![urls.group_followers(&event.group.name).to_string()];
            }
            (kind, Wrapped::Reference(Box::new(change)))
        }
    };
    // The group itself says a role ended when its holder, someone of
    // another server, left or was erased: Lemmy takes `Remove` on a
    // community's moderators only from a person who moderates it (it
    // learns the rest when it next fetches the collection).
    let hearth_only = event.act.hearth_only() || event.actor == group_url;
    let public = !matches!(event.act, ModAct::HelpfulMarked | ModAct::HelpfulUnmarked);
    // The moderator's own activity, kept to be fetched by its id.
    let mut out = vec![Outgoing {
        id: event.id.clone(),
        kind: kind.as_str().into(),
        actor: event.actor.clone(),
        body: json(&with_context(inner.clone(), Context::Moderation))?,
        inboxes: Vec::new(),
        about: None,
        private_to_group: (!public).then_some(event.group.id),
    }];
    let mut inboxes: Vec<String> = event
        .inboxes
        .iter()
        .filter(|s| !hearth_only || s.software == Software::Hearth)
        .map(|s| s.inbox.clone())
        .collect();
    inboxes.extend(event.person_inbox.iter().cloned());
    if !inboxes.is_empty() {
        let id = urls.new_activity().to_string();
        let mut announce = Activity::new(
            ActivityType::Announce,
            id.clone(),
            group_url.clone(),
            inner,
            if public {
                vec![AS_PUBLIC.to_owned()]
            } else {
                vec![urls.group_followers(&event.group.name).to_string()]
            },
        )
        .with_context(Context::Moderation);
        announce.cc = vec![urls.group_followers(&event.group.name).to_string()];
        announce.audience = Some(group_url.clone());
        out.push(Outgoing {
            id,
            kind: "Announce".into(),
            actor: group_url,
            body: json(&announce)?,
            inboxes,
            about: None,
            private_to_group: (!public).then_some(event.group.id),
        });
    }
    Ok(out)
}

/// A group here changed its rules or support guide: the group sends its
/// actor document again (`Update{Group}`), to Hearth member servers only:
/// Lemmy takes an `Update` of a community only from a person who
/// moderates it, and reads the rules (in `summary`) when it next fetches
/// the group.
fn guidance_changed(
    urls: &Urls,
    group: &hearth_app::records::Group,
    rules_html: &str,
    guide_html: &str,
    inboxes: &[MemberServer],
) -> Result<Vec<Outgoing>, PortError> {
    let inboxes: Vec<String> = inboxes
        .iter()
        .filter(|s| s.software == Software::Hearth)
        .map(|s| s.inbox.clone())
        .collect();
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let guidance = hearth_app::care::GroupGuidance {
        rules_html: rules_html.to_owned(),
        guide_html: guide_html.to_owned(),
        ..Default::default()
    };
    let mut object = crate::actors::group_json_with_guidance(urls, group, &guidance);
    object.context = serde_json::Value::Null;
    let group_url = urls.group(&group.name).to_string();
    let id = urls.new_activity().to_string();
    let mut update = Activity::new(
        ActivityType::Update,
        id.clone(),
        group_url.clone(),
        object,
        vec![AS_PUBLIC.to_owned()],
    )
    .with_context(Context::Actors);
    update.cc = vec![urls.group_followers(&group.name).to_string()];
    Ok(vec![Outgoing {
        id,
        kind: "Update".into(),
        actor: group_url,
        body: json(&update)?,
        inboxes,
        about: None,
        private_to_group: None,
    }])
}

/// A report, as this server's own actor sends it: Mastodon's shape (the
/// account first in `object`, then the post; the comment in `content`),
/// with Lemmy's `summary` and `audience`, and Hearth's category.
fn reported(urls: &Urls, flag: &FlagEvent) -> Result<Vec<Outgoing>, PortError> {
    let site = urls.site().to_string();
    let mut objects = vec![flag.account.clone()];
    objects.extend(flag.post.iter().cloned());
    let to = match &flag.group {
        Some(group) => vec![group.clone()],
        None => vec![flag.account.clone()],
    };
    let mut activity = Activity::new(
        ActivityType::Flag,
        flag.id.clone(),
        site.clone(),
        objects,
        to,
    )
    .with_context(Context::Moderation);
    activity.audience = flag.group.clone();
    let comment = (!flag.comment.is_empty()).then(|| flag.comment.clone());
    activity.content = comment.clone();
    activity.summary = comment.or_else(|| Some(flag.category.describe().to_owned()));
    activity.report_category = Some(flag.category.as_str().to_owned());
    Ok(vec![Outgoing {
        id: flag.id.clone(),
        kind: "Flag".into(),
        actor: site,
        body: json(&activity)?,
        inboxes: flag.inboxes.clone(),
        about: None,
        private_to_group: None,
    }])
}

/// Hearth's `Resolve` of another server's `Flag`.
fn report_resolved(urls: &Urls, resolved: &ResolvedEvent) -> Result<Vec<Outgoing>, PortError> {
    let site = urls.site().to_string();
    let mut activity = Activity::new(
        ActivityType::Resolve,
        resolved.id.clone(),
        site.clone(),
        resolved.flag_id.clone(),
        vec![resolved.flagged_by.clone()],
    )
    .with_context(Context::Moderation);
    activity.summary = Some(resolved.resolution.clone());
    Ok(vec![Outgoing {
        id: resolved.id.clone(),
        kind: "Resolve".into(),
        actor: site,
        body: json(&activity)?,
        inboxes: vec![resolved.inbox.clone()],
        about: None,
        private_to_group: None,
    }])
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
/// fetch; `reason`, a plain explanation, goes in `summary`. Mbin's
/// handler fails on a `Reject` that embeds the Follow (it expects a
/// person as the actor), so Mbin servers get the Follow's id alone.
fn answer(
    urls: &Urls,
    kind: ActivityType,
    actor: &str,
    follower: &hearth_app::records::RemoteActor,
    software: &Software,
    follow_id: &str,
    reason: Option<String>,
) -> Result<Vec<Outgoing>, PortError> {
    let id = urls.new_activity().to_string();
    let body = if kind == ActivityType::Reject && *software == Software::Mbin {
        let mut activity = Activity::new(
            kind,
            id.clone(),
            actor.to_owned(),
            follow_id.to_owned(),
            vec![follower.ap_id.clone()],
        )
        .with_context(Context::Activities);
        activity.summary = reason;
        json(&activity)?
    } else {
        let follow = follow(follow_id, &follower.ap_id, actor);
        let mut activity = Activity::new(
            kind,
            id.clone(),
            actor.to_owned(),
            follow,
            vec![follower.ap_id.clone()],
        )
        .with_context(Context::Activities);
        activity.summary = reason;
        json(&activity)?
    };
    Ok(vec![Outgoing {
        id,
        kind: kind.as_str().into(),
        actor: actor.to_owned(),
        body,
        inboxes: vec![follower.inbox.clone()],
        about: None,
        private_to_group: None,
    }])
}

/// Whether `change` is a reaction (given or taken back): private to the
/// group whatever the post's visibility (a "me too" under a diagnosis is
/// itself health information), so never addressed to the public, and
/// fetched by its id only by the servers it was delivered to.
fn is_reaction(change: &Change) -> bool {
    matches!(change, Change::Reacted(_) | Change::Unreacted { .. })
}

fn post_event(urls: &Urls, to: &PostAudience, act: &PostAct) -> Result<Vec<Outgoing>, PortError> {
    let kind = kind_of(&act.change);
    let reaction = is_reaction(&act.change);
    let about = (!reaction).then(|| act.post.ap_id.clone());
    let mut out = Vec::new();
    match to {
        PostAudience::GroupHere { group, inboxes } => {
            // What only the group's members may read.
            let private = (reaction || act.post.effective_visibility() != Visibility::Public)
                .then_some(group.id);
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
                    private_to_group: private,
                });
            }
            if inboxes.is_empty() {
                return Ok(out);
            }
            let group_url = urls.group(&group.name).to_string();
            let mut to = vec![urls.group_followers(&group.name).to_string()];
            if act.post.effective_visibility() == Visibility::Public && !reaction {
                to.push(AS_PUBLIC.to_owned());
            }
            let announce = |id: String, object: Wrapped| -> Result<Outgoing, PortError> {
                let mut announce = Activity::new(
                    ActivityType::Announce,
                    id.clone(),
                    group_url.clone(),
                    object,
                    to.clone(),
                )
                .with_context(Context::Posts);
                announce.audience = Some(group_url.clone());
                Ok(Outgoing {
                    id,
                    kind: "Announce".into(),
                    actor: group_url.clone(),
                    body: json(&announce)?,
                    inboxes: Vec::new(),
                    about: about.clone(),
                    private_to_group: private,
                })
            };
            let to_inboxes = |servers: &[&MemberServer]| -> Vec<String> {
                servers.iter().map(|s| s.inbox.clone()).collect()
            };
            // FEP-1b12 readers (Hearth, Lemmy, Mbin, PieFed) get the whole
            // activity announced; Mastodon what it reads (the thread as a
            // note, announced bare, and its author's own edits and
            // deletes); software nobody knows, both kinds. The server the
            // activity came from hears it back (as the group's acceptance),
            // except link aggregators: Lemmy answers 400 to its own objects
            // announced back to it, Mbin and PieFed ignore them.
            let origin = url::Url::parse(&act.actor)
                .ok()
                .and_then(|u| hearth_app::ids::authority(&u))
                .unwrap_or_default()
                .to_ascii_lowercase();
            let (relays, rest): (Vec<&MemberServer>, Vec<&MemberServer>) = inboxes
                .iter()
                .filter(|s| {
                    s.authority != origin
                        || !matches!(
                            s.software,
                            Software::Lemmy | Software::Mbin | Software::PieFed
                        )
                })
                .partition(|s| s.software.reads_group_relays());
            let (microblogs, others): (Vec<&MemberServer>, Vec<&MemberServer>) = rest
                .into_iter()
                .partition(|s| s.software == Software::Mastodon);
            // A label: only Hearth reads it, from its moderator's
            // `Update`; Lemmy, Mbin and PieFed apply an `Update` of a post
            // only from its author, so they (and software nobody knows)
            // are told the author's `Update`, the label as readable text
            // in its `source`, when the author is a member here (software
            // nobody knows gets the author's own, below).
            let labelled = matches!(act.change, Change::Labelled);
            let (relays, readers): (Vec<&MemberServer>, Vec<&MemberServer>) = if labelled {
                relays
                    .into_iter()
                    .partition(|s| s.software == Software::Hearth)
            } else {
                (relays, Vec::new())
            };
            let wrapped_to: Vec<&MemberServer> = relays
                .iter()
                .chain(others.iter().filter(|_| !labelled))
                .copied()
                .collect();
            if !wrapped_to.is_empty() {
                let mut out_announce = announce(urls.new_activity().to_string(), inner.clone())?;
                out_announce.inboxes = to_inboxes(&wrapped_to);
                out.push(out_announce);
            }
            if labelled
                && !readers.is_empty()
                && act.post.local
                && !act.post.author_ap_id.is_empty()
            {
                let (to, cc) = addressing(&act.post);
                let mut update = Activity::new(
                    ActivityType::Update,
                    urls.new_activity().to_string(),
                    act.post.author_ap_id.clone(),
                    post_object(&act.post, &handle),
                    to,
                );
                update.audience = Some(act.post.group_ap_id.clone());
                update.cc = cc;
                let mut out_announce = announce(
                    urls.new_activity().to_string(),
                    Wrapped::Post(Box::new(update)),
                )?;
                out_announce.inboxes = to_inboxes(&readers);
                out.push(out_announce);
            }
            let thread = act.post.kind == PostKind::Thread;
            for (servers, note) in [(&microblogs, true), (&others, false)] {
                if servers.is_empty() {
                    continue;
                }
                let inboxes = to_inboxes(servers);
                let object_id = if note {
                    thread_note_id(&act.post.ap_id)
                } else {
                    act.post.ap_id.clone()
                };
                match &act.change {
                    // A removed thread brought back is boosted again.
                    Change::Created | Change::Restored { .. } if thread => {
                        let mut bare =
                            announce(boost_id(&act.post.ap_id, note), Wrapped::Id(object_id))?;
                        bare.inboxes = inboxes.clone();
                        out.push(bare);
                    }
                    Change::Deleted { .. } if thread => {
                        // Take the boost back: Mastodon never applies an
                        // announced Delete.
                        let boost = Activity::new(
                            ActivityType::Announce,
                            boost_id(&act.post.ap_id, note),
                            group_url.clone(),
                            object_id,
                            to.clone(),
                        );
                        let id = urls.new_activity().to_string();
                        let mut undo = Activity::new(
                            ActivityType::Undo,
                            id.clone(),
                            group_url.clone(),
                            Box::new(boost),
                            to.clone(),
                        )
                        .with_context(Context::Activities);
                        undo.audience = Some(group_url.clone());
                        out.push(Outgoing {
                            id,
                            kind: "Undo".into(),
                            actor: group_url.clone(),
                            body: json(&undo)?,
                            inboxes: inboxes.clone(),
                            about: about.clone(),
                            private_to_group: private,
                        });
                    }
                    _ => {}
                }
                // The author's own Update or Delete, unwrapped, when the
                // author is a member here (only the author's server can
                // sign it): microblogs apply only those.
                if act.post.local && !act.post.author_ap_id.is_empty() {
                    out.extend(authors_own(urls, act, &handle, note && thread, inboxes)?);
                }
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
                private_to_group: None,
            });
        }
    }
    Ok(out)
}

/// The author's own `Update` or `Delete` of a post (and, for a thread
/// sent to microblogs as a note, of the note too), unwrapped, for software
/// that does not read group relays. Nothing for other changes.
fn authors_own(
    urls: &Urls,
    act: &PostAct,
    handle: &str,
    with_note: bool,
    inboxes: Vec<String>,
) -> Result<Vec<Outgoing>, PortError> {
    let post = &act.post;
    let (to, cc) = addressing(post);
    let about = Some(post.ap_id.clone());
    // Sent to microblogs, which get public posts only.
    let private = None;
    let mut ids = vec![post.ap_id.clone()];
    if with_note {
        ids.push(thread_note_id(&post.ap_id));
    }
    let mut out = Vec::new();
    for object_id in ids {
        let is_note = object_id != post.ap_id;
        let id = urls.new_activity().to_string();
        let body = match &act.change {
            Change::Edited | Change::Labelled => {
                let object = if is_note {
                    thread_note(post, handle)
                } else {
                    post_object(post, handle)
                };
                let mut update = Activity::new(
                    ActivityType::Update,
                    id.clone(),
                    post.author_ap_id.clone(),
                    object,
                    to.clone(),
                )
                .with_context(Context::Posts);
                update.cc = cc.clone();
                json(&update)?
            }
            Change::Deleted { .. } => {
                let mut delete = Activity::new(
                    ActivityType::Delete,
                    id.clone(),
                    post.author_ap_id.clone(),
                    TombstoneRef {
                        id: object_id,
                        kind: TombstoneType::Tombstone,
                    },
                    to.clone(),
                )
                .with_context(Context::Activities);
                delete.cc = cc.clone();
                json(&delete)?
            }
            _ => return Ok(out),
        };
        out.push(Outgoing {
            id,
            kind: match act.change {
                Change::Edited | Change::Labelled => "Update".into(),
                _ => "Delete".into(),
            },
            actor: post.author_ap_id.clone(),
            body,
            inboxes: inboxes.clone(),
            about: about.clone(),
            private_to_group: private,
        });
    }
    Ok(out)
}

/// A group's outbox: its newest threads, each as the `Announce` of its
/// `Create` (as Lemmy's outboxes look), so a server whose member just
/// joined can fill the group's page.
/// A group's pinned threads (Lemmy's `featured`): the threads themselves,
/// as Lemmy reads them when it fetches a community.
pub fn featured(urls: &Urls, group_name: &str, threads: &[Post]) -> Collection<PostObject> {
    let handle = format!("{group_name}@{}", urls.authority());
    Collection::with_items(
        Context::Posts,
        urls.group_featured(group_name).to_string(),
        threads.iter().map(|p| post_object(p, &handle)).collect(),
    )
}

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
            hold_new_members_days: 0,
            retention_days: 0,
            visibility: hearth_domain::GroupVisibility::Members,
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
            locked_at: None,
            held_activity: None,
            pinned_at: None,
            hidden_at: None,
            limited_at: None,
            last_activity_at: Utc::now(),
            sources: Vec::new(),
            label: None,
            label_at: None,
            speaking_as: SpeakingAs::Peer,
            disclaimer: None,
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
        sent(&act, &[Software::Hearth])
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// What `act` in group `peers` here sends to one member server per
    /// software in `to` (inbox `https://<software>.example/inbox`), as
    /// (inboxes, body) pairs; the kept copy of a member's own activity
    /// (no inboxes) left out.
    fn sent(act: &PostAct, to: &[Software]) -> Vec<(Vec<String>, Value)> {
        let audience = PostAudience::GroupHere {
            group: group(),
            inboxes: to
                .iter()
                .map(|software| MemberServer {
                    inbox: format!(
                        "https://{}.example/inbox",
                        software.name().unwrap_or("unknown")
                    ),
                    authority: format!("{}.example", software.name().unwrap_or("unknown")),
                    software: software.clone(),
                })
                .collect(),
        };
        post_event(&urls(), &audience, act)
            .unwrap()
            .into_iter()
            .filter(|o| !o.inboxes.is_empty())
            .map(|o| (o.inboxes, serde_json::from_str(&o.body).unwrap()))
            .collect()
    }

    fn thread_here(warning: Option<&str>) -> Post {
        Post {
            id: 1,
            ap_id: "https://a.example/p/1".into(),
            author_ap_id: "https://a.example/u/ann".into(),
            author_user_id: Some(1),
            parent_id: None,
            root_id: None,
            in_reply_to_ap_id: None,
            kind: PostKind::Thread,
            title: "Flare-ups".into(),
            source: "It was a *hard* week.".into(),
            content_html: "<p>It was a <em>hard</em> week.</p>".into(),
            content_warning: warning.map(str::to_owned),
            support_kind: Some(hearth_domain::post::SupportKind::Experience),
            local: true,
            url: Some("https://a.example/groups/peers/1".into()),
            ..reply(Visibility::Public)
        }
    }

    fn by_ann(post: Post, change: Change) -> PostAct {
        PostAct {
            id: "https://a.example/activities/1".into(),
            actor: "https://a.example/u/ann".into(),
            by_member_here: true,
            post,
            change,
        }
    }

    fn to_inbox<'a>(sent: &'a [(Vec<String>, Value)], inbox: &str) -> Vec<&'a Value> {
        sent.iter()
            .filter(|(inboxes, _)| inboxes.iter().any(|i| i == inbox))
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn every_announce_carries_cc_as_lemmy_requires() {
        let act = by_ann(thread_here(None), Change::Created);
        for (_, body) in sent(
            &act,
            &[Software::Lemmy, Software::Mastodon, Software::Unknown],
        ) {
            assert!(body["cc"].is_array(), "{body}");
            if body["object"].is_object() {
                assert!(body["object"]["cc"].is_array(), "{body}");
            }
        }
    }

    #[test]
    fn lemmy_gets_the_whole_activity_and_mastodon_the_thread_as_a_note() {
        let act = by_ann(thread_here(None), Change::Created);
        let sent = sent(
            &act,
            &[Software::Lemmy, Software::Mastodon, Software::Unknown],
        );
        let lemmy = to_inbox(&sent, "https://lemmy.example/inbox");
        assert_eq!(lemmy.len(), 1, "no bare Announce: Lemmy refuses it");
        assert_eq!(lemmy[0]["object"]["type"], "Create");
        let mastodon = to_inbox(&sent, "https://mastodon.example/inbox");
        assert_eq!(mastodon.len(), 1);
        assert_eq!(mastodon[0]["object"], "https://a.example/p/1/note");
        assert_eq!(mastodon[0]["id"], "https://a.example/p/1/note/announce");
        let unknown = to_inbox(&sent, "https://unknown.example/inbox");
        assert_eq!(unknown.len(), 2, "both shapes to software nobody knows");
    }

    #[test]
    fn a_deleted_thread_is_unboosted_and_deleted_by_its_author_for_mastodon() {
        let mut post = thread_here(None);
        post.deleted_at = Some(Utc::now());
        let act = by_ann(post, Change::Deleted { reason: None });
        let sent = sent(&act, &[Software::Lemmy, Software::Mastodon]);
        let mastodon = to_inbox(&sent, "https://mastodon.example/inbox");
        let undo = mastodon.iter().find(|v| v["type"] == "Undo").unwrap();
        assert_eq!(undo["actor"], "https://a.example/g/peers");
        assert_eq!(undo["object"]["type"], "Announce");
        assert_eq!(undo["object"]["id"], "https://a.example/p/1/note/announce");
        let deleted: Vec<&str> = mastodon
            .iter()
            .filter(|v| v["type"] == "Delete")
            .map(|v| {
                assert_eq!(v["actor"], "https://a.example/u/ann", "the author deletes");
                v["object"]["id"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            deleted,
            ["https://a.example/p/1", "https://a.example/p/1/note"]
        );
        let lemmy = to_inbox(&sent, "https://lemmy.example/inbox");
        assert_eq!(lemmy.len(), 1);
        assert_eq!(lemmy[0]["object"]["type"], "Delete");
    }

    #[test]
    fn a_content_warning_is_a_warning_never_adult_content() {
        let post = thread_here(Some("pain, low mood"));
        let page = serde_json::to_value(post_object(&post, "peers@a.example")).unwrap();
        assert_eq!(page["sensitive"], false);
        assert_eq!(page["contentWarning"], "pain, low mood");
        assert_eq!(
            page["source"]["content"],
            "::: spoiler Content warning: pain, low mood\nIt was a *hard* week.\n:::\n\n\
             *Support kind: Sharing what worked for me* #experience"
        );
        let note = serde_json::to_value(thread_note(&post, "peers@a.example")).unwrap();
        assert_eq!(note["type"], "Note");
        assert_eq!(note["summary"], "pain, low mood", "Mastodon collapses it");
        let body = note["content"].as_str().unwrap();
        assert!(
            body.contains("Flare-ups") && body.contains("It was a hard week."),
            "{body}"
        );
        assert!(
            !body.contains("pain, low mood"),
            "the body is an excerpt, not the warning"
        );
    }

    #[test]
    fn members_only_shapes_never_address_the_public() {
        let mut post = thread_here(Some("x"));
        post.visibility = Visibility::Members;
        let act = by_ann(post, Change::Created);
        for (_, body) in sent(&act, &[Software::Hearth]) {
            assert!(!mentions_public(&body), "{body}");
        }
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

    #[test]
    fn a_professionals_post_carries_the_disclaimer_for_every_reader() {
        let mut post = thread_here(None);
        post.speaking_as = SpeakingAs::Professional;
        post.disclaimer = Some("Not advice. Ask your <care> team.".into());
        let page = serde_json::to_value(post_object(&post, "peers@a.example")).unwrap();
        assert_eq!(page["speakingAs"], "professional");
        assert_eq!(page["disclaimer"], "Not advice. Ask your <care> team.");
        assert!(page["content"].as_str().unwrap().ends_with(
            "<p><em>Speaking as a professional: Not advice. Ask your &lt;care&gt; team.</em></p>"
        ));
        assert!(
            page["source"]["content"]
                .as_str()
                .unwrap()
                .ends_with("\n\n*Speaking as a professional: Not advice. Ask your <care> team.*")
        );
        let note = serde_json::to_value(thread_note(&post, "peers@a.example")).unwrap();
        assert!(
            note["content"]
                .as_str()
                .unwrap()
                .contains("Speaking as a professional")
        );
        // A peer's post says nothing of it.
        let peer =
            serde_json::to_value(post_object(&thread_here(None), "peers@a.example")).unwrap();
        assert!(peer.get("speakingAs").is_none() && peer.get("disclaimer").is_none());
        assert!(!peer.to_string().contains("Speaking as"));
    }

    #[test]
    fn a_label_goes_to_hearth_as_the_moderators_update_and_to_lemmy_as_the_authors_text() {
        use hearth_app::records::PostLabel;
        use hearth_domain::sources::{Label, LabelKind};
        let mut post = thread_here(None);
        post.author_ap_id = "https://a.example/u/bea".into();
        post.label = Some(Box::new(PostLabel {
            label: Label {
                kind: LabelKind::Disputed,
                note: "Not what the trials found.".into(),
                link: Some("https://nice.example/ng1".into()),
            },
            by: "https://a.example/u/ann".into(),
            at: Utc::now(),
        }));
        post.label_at = post.label.as_ref().map(|l| l.at);
        let act = by_ann(post.clone(), Change::Labelled);
        let sent = sent(&act, &[Software::Hearth, Software::Lemmy]);
        let hearth = to_inbox(&sent, "https://hearth.example/inbox");
        assert_eq!(hearth.len(), 1);
        let update = &hearth[0]["object"];
        assert_eq!(update["type"], "Update");
        assert_eq!(update["actor"], "https://a.example/u/ann");
        assert_eq!(update["object"]["label"]["labelType"], "disputed");
        assert_eq!(
            update["object"]["label"]["attributedTo"],
            "https://a.example/u/ann"
        );
        let lemmy = to_inbox(&sent, "https://lemmy.example/inbox");
        assert_eq!(lemmy.len(), 1, "{lemmy:?}");
        let update = &lemmy[0]["object"];
        assert_eq!(update["actor"], "https://a.example/u/bea", "the author's");
        assert!(
            update["object"]["source"]["content"]
                .as_str()
                .unwrap()
                .starts_with("> Disputed by the moderators: Not what the trials found."),
            "{update}"
        );
        // Taken off: `label: null` to Hearth.
        post.label = None;
        let act = by_ann(post, Change::Labelled);
        let sent = sent_to(&act, &[Software::Hearth]);
        assert!(sent[0]["object"]["object"]["label"].is_null());
        assert!(
            sent[0]["object"]["object"]
                .as_object()
                .unwrap()
                .contains_key("label")
        );
    }

    fn sent_to(act: &PostAct, to: &[Software]) -> Vec<Value> {
        sent(act, to).into_iter().map(|(_, v)| v).collect()
    }
}

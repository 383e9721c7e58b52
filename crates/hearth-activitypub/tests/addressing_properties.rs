//! Property tests of addressing (issue 16), over everything Hearth renders
//! about a post (`hearth_activitypub::render`: the object, the note
//! Mastodon gets, the outbox and featured collections, and every activity
//! of every change, to member servers of every software):
//! - a post that is not public (`members` or `local`, written on a limited
//!   server, or in a members-only group) is never addressed to the public,
//!   in any spelling, anywhere in what is sent;
//! - a reply is never addressed wider than its thread: the visibility it
//!   is written with (`hearth_app::posts::reply_visibility`) reads as at
//!   most the thread's, and its addressees are among the thread's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use hearth_activitypub::protocol::is_public;
use hearth_activitypub::render;
use hearth_app::Urls;
use hearth_app::events::{Change, Event, MemberServer, PostAct, PostAudience, PostEvent};
use hearth_app::posts::reply_visibility;
use hearth_app::records::{Group, Post, PostKind, RemoteActor};
use hearth_domain::peer::Software;
use hearth_domain::post::{Reaction, SpeakingAs, SupportKind, Visibility};
use hearth_domain::{GroupVisibility, JoinPolicy};
use proptest::prelude::*;
use serde_json::Value;

fn urls() -> Urls {
    Urls::new("a.example", false).unwrap()
}

fn group(visibility: GroupVisibility) -> Group {
    let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    Group {
        id: 1,
        name: "peers".into(),
        display_name: "Peers".into(),
        description: String::new(),
        rules: String::new(),
        join_policy: JoinPolicy::Open,
        listed: true,
        allow_outside_posts: true,
        hold_new_members_days: 0,
        retention_days: 0,
        visibility,
        public_key_pem: String::new(),
        created_by: 1,
        created_at: at,
        updated_at: at,
    }
}

fn group_elsewhere() -> RemoteActor {
    RemoteActor {
        id: 7,
        ap_id: "https://c.example/c/circle".into(),
        kind: "Group".into(),
        authority: "c.example".into(),
        preferred_username: "circle".into(),
        name: "Circle".into(),
        summary: String::new(),
        inbox: "https://c.example/c/circle/inbox".into(),
        shared_inbox: None,
        outbox: None,
        followers: None,
        url: None,
        public_key_id: String::new(),
        public_key_pem: String::new(),
        manually_approves_followers: false,
        group_visibility: None,
        fetched_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        claim: None,
    }
}

/// What a post is, as far as addressing could depend on it.
#[derive(Debug, Clone)]
struct Shape {
    visibility: Visibility,
    limited: bool,
    local: bool,
    warning: bool,
    kind: Option<SupportKind>,
    professional: bool,
    deleted: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop::sample::select(Visibility::ALL),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(SupportKind::ALL)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(visibility, limited, local, warning, kind, professional, deleted)| Shape {
                visibility,
                limited,
                local,
                warning,
                kind,
                professional,
                deleted,
            },
        )
}

fn post(shape: &Shape, group_ap_id: &str, thread: Option<&Post>) -> Post {
    let at = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
    let (server, n) = if shape.local {
        ("a.example", 1)
    } else {
        ("b.example", 2)
    };
    let n = n + if thread.is_some() { 10 } else { 0 };
    Post {
        id: n,
        ap_id: format!("https://{server}/p/{n}"),
        group_ap_id: group_ap_id.to_owned(),
        group_id: Some(1),
        author_ap_id: format!("https://{server}/u/ann"),
        author_user_id: shape.local.then_some(1),
        parent_id: thread.map(|t| t.id),
        root_id: thread.map(|t| t.id),
        in_reply_to_ap_id: thread.map(|t| t.ap_id.clone()),
        kind: if thread.is_some() {
            PostKind::Reply
        } else {
            PostKind::Thread
        },
        title: if thread.is_some() {
            String::new()
        } else {
            "Flare-ups".into()
        },
        source: "It was a *hard* week.".into(),
        content_html: "<p>It was a <em>hard</em> week.</p>".into(),
        content_warning: shape.warning.then(|| "pain".to_owned()),
        support_kind: shape.kind.filter(|_| thread.is_none()),
        visibility: shape.visibility,
        url: None,
        link: None,
        local: shape.local,
        published_at: at,
        updated_at: None,
        deleted_at: shape.deleted.then_some(at),
        locked_at: None,
        held_activity: None,
        pinned_at: None,
        hidden_at: None,
        limited_at: shape.limited.then_some(at),
        last_activity_at: at,
        speaking_as: if shape.professional {
            SpeakingAs::Professional
        } else {
            SpeakingAs::Peer
        },
        disclaimer: shape.professional.then(|| "Not advice.".to_owned()),
        sources: Vec::new(),
        label: None,
        label_at: None,
    }
}

fn change() -> impl Strategy<Value = Change> {
    let reaction = prop::sample::select(Reaction::ALL);
    prop_oneof![
        Just(Change::Created),
        Just(Change::Edited),
        Just(Change::Labelled),
        prop::option::of(Just("spam".to_owned())).prop_map(|reason| Change::Deleted { reason }),
        Just(Change::Restored {
            removal_reason: String::new()
        }),
        reaction.clone().prop_map(Change::Reacted),
        reaction.prop_map(|reaction| Change::Unreacted {
            reaction,
            like_id: "https://b.example/likes/1".into()
        }),
        any::<bool>().prop_map(Change::Locked),
        any::<bool>().prop_map(Change::Pinned),
    ]
}

fn software() -> impl Strategy<Value = Software> {
    prop_oneof![
        Just(Software::Hearth),
        Just(Software::Lemmy),
        Just(Software::Mbin),
        Just(Software::PieFed),
        Just(Software::Mastodon),
        Just(Software::Other("misskey".into())),
        Just(Software::Unknown),
    ]
}

fn servers() -> impl Strategy<Value = Vec<MemberServer>> {
    prop::collection::vec(software(), 0..5).prop_map(|software| {
        software
            .into_iter()
            .enumerate()
            .map(|(i, software)| MemberServer {
                inbox: format!("https://s{i}.example/inbox"),
                authority: format!("s{i}.example"),
                software,
            })
            .collect()
    })
}

/// Every document rendered about `post`: its object and note, the
/// outbox and featured collections holding it, and the activities of
/// `change` in a group here (told to `servers`) or elsewhere.
fn rendered(post: &Post, change: &Change, servers: &[MemberServer], here: bool) -> Vec<Value> {
    let urls = urls();
    let handle = "peers@a.example";
    let mut docs = vec![
        serde_json::to_value(render::post_object(post, handle)).unwrap(),
        serde_json::to_value(render::thread_note(post, handle)).unwrap(),
        serde_json::to_value(render::outbox(&urls, "peers", std::slice::from_ref(post))).unwrap(),
        serde_json::to_value(render::featured(&urls, "peers", std::slice::from_ref(post))).unwrap(),
    ];
    let to = if here {
        PostAudience::GroupHere {
            group: group(GroupVisibility::Public),
            inboxes: servers.to_vec(),
        }
    } else {
        PostAudience::GroupElsewhere {
            group: group_elsewhere(),
        }
    };
    let event = Event::Post(Box::new(PostEvent {
        to,
        act: PostAct {
            id: format!("{}/activities/1", post.author_ap_id),
            actor: post.author_ap_id.clone(),
            by_member_here: post.local,
            post: post.clone(),
            change: change.clone(),
        },
    }));
    for outgoing in render::event(&urls, &event).unwrap() {
        docs.push(serde_json::from_str(&outgoing.body).unwrap());
    }
    docs
}

const ADDRESS_FIELDS: [&str; 5] = ["to", "cc", "bto", "bcc", "audience"];

/// Every addressee named anywhere in `doc`, at any depth: strings, and
/// the ids of objects, in `to`, `cc`, `bto`, `bcc` and `audience`.
fn addressees(doc: &Value, out: &mut BTreeSet<String>) {
    match doc {
        Value::Object(map) => {
            for (key, value) in map {
                if ADDRESS_FIELDS.contains(&key.as_str()) {
                    let items = match value {
                        Value::Array(items) => items.as_slice(),
                        one => std::slice::from_ref(one),
                    };
                    for item in items {
                        match item {
                            Value::String(s) => {
                                out.insert(s.trim().to_owned());
                            }
                            Value::Object(o) => {
                                if let Some(id) = o.get("id").and_then(Value::as_str) {
                                    out.insert(id.trim().to_owned());
                                }
                            }
                            _ => {}
                        }
                    }
                }
                addressees(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| addressees(item, out)),
        _ => {}
    }
}

fn addressed(docs: &[Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in docs {
        addressees(doc, &mut out);
    }
    out
}

fn public(addressees: &BTreeSet<String>) -> bool {
    addressees.iter().any(|a| is_public(a))
}

/// How widely a visibility reads: local < members < public.
fn width(visibility: Visibility) -> u8 {
    match visibility {
        Visibility::Local => 0,
        Visibility::Members => 1,
        Visibility::Public => 2,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Nothing about a post that is not public names the public.
    #[test]
    fn what_is_not_public_is_never_addressed_to_the_public(
        shape in shape(),
        change in change(),
        servers in servers(),
        here in any::<bool>(),
        group_members_only in any::<bool>(),
    ) {
        let group_visibility = if group_members_only {
            GroupVisibility::Members
        } else {
            GroupVisibility::Public
        };
        // A members-only group takes no public post (the write core asks
        // the group); what it takes is what is rendered.
        prop_assume!(group_visibility.check(shape.visibility).is_ok());
        let thread = post(&shape, "https://a.example/g/peers", None);
        prop_assume!(thread.effective_visibility() != Visibility::Public);
        let sent = addressed(&rendered(&thread, &change, &servers, here));
        prop_assert!(!public(&sent), "{:?} addressed to {:?}", shape, sent);
        // Reactions are the group's own business whatever the post.
        if matches!(change, Change::Reacted(_) | Change::Unreacted { .. }) {
            let mut open = shape.clone();
            open.visibility = Visibility::Public;
            open.limited = false;
            let thread = post(&open, "https://a.example/g/peers", None);
            let urls = urls();
            let event = Event::Post(Box::new(PostEvent {
                to: PostAudience::GroupHere {
                    group: group(GroupVisibility::Public),
                    inboxes: servers.clone(),
                },
                act: PostAct {
                    id: "https://b.example/likes/2".into(),
                    actor: "https://b.example/u/bo".into(),
                    by_member_here: false,
                    post: thread,
                    change: change.clone(),
                },
            }));
            let docs: Vec<Value> = render::event(&urls, &event)
                .unwrap()
                .iter()
                .map(|o| serde_json::from_str(&o.body).unwrap())
                .collect();
            prop_assert!(!public(&addressed(&docs)), "a reaction went public");
        }
    }

    /// A reply reads at most as widely as its thread, and names no one the
    /// thread's own documents do not.
    #[test]
    fn a_reply_is_never_addressed_wider_than_its_thread(
        thread_shape in shape(),
        reply_shape in shape(),
        change in change(),
        servers in servers(),
        here in any::<bool>(),
    ) {
        let group_ap_id = if here {
            "https://a.example/g/peers"
        } else {
            "https://c.example/c/circle"
        };
        let thread = post(&thread_shape, group_ap_id, None);
        let mut reply = post(&reply_shape, group_ap_id, Some(&thread));
        // Whatever the reply's own addressing said.
        reply.visibility = reply_visibility(&thread);
        prop_assert!(
            width(reply.effective_visibility()) <= width(thread.effective_visibility()),
            "reply {:?} in thread {:?}",
            reply.effective_visibility(),
            thread.effective_visibility()
        );
        let thread_sent = addressed(&rendered(&thread, &Change::Created, &servers, here));
        let reply_sent = addressed(&rendered(&reply, &change, &servers, here));
        let own: BTreeSet<String> = [reply.author_ap_id.clone(), thread.author_ap_id.clone()].into();
        let wider: Vec<&String> = reply_sent
            .iter()
            .filter(|a| !thread_sent.contains(*a) && !own.contains(*a))
            .collect();
        prop_assert!(
            wider.is_empty(),
            "the reply also names {:?}\nthread: {:?} ({:?})\nreply:  {:?}",
            wider, thread_sent, thread_shape, reply_sent
        );
    }
}

/// Found by the property below: a reply to a public thread written on a
/// limited server (read as members-only) took the thread's stored
/// visibility, and went to the public.
#[test]
fn a_reply_to_a_thread_from_a_limited_server_is_for_the_members() {
    let limited = Shape {
        visibility: Visibility::Public,
        limited: true,
        local: false,
        warning: false,
        kind: None,
        professional: false,
        deleted: false,
    };
    let thread = post(&limited, "https://a.example/g/peers", None);
    assert_eq!(reply_visibility(&thread), Visibility::Members);
    let mut reply = post(
        &Shape {
            limited: false,
            local: true,
            ..limited
        },
        "https://a.example/g/peers",
        Some(&thread),
    );
    reply.visibility = reply_visibility(&thread);
    assert!(!public(&addressed(&rendered(
        &reply,
        &Change::Created,
        &[],
        true
    ))));
}

/// The properties mean something only if public posts do name the
/// public: the same renderer, asked about one, must.
#[test]
fn a_public_post_is_addressed_to_the_public() {
    let open = Shape {
        visibility: Visibility::Public,
        limited: false,
        local: true,
        warning: false,
        kind: None,
        professional: false,
        deleted: false,
    };
    let thread = post(&open, "https://a.example/g/peers", None);
    let servers = vec![MemberServer {
        inbox: "https://m.example/inbox".into(),
        authority: "m.example".into(),
        software: Software::Mastodon,
    }];
    assert!(public(&addressed(&rendered(
        &thread,
        &Change::Created,
        &servers,
        true
    ))));
    let reply = post(&open, "https://a.example/g/peers", Some(&thread));
    assert!(public(&addressed(&rendered(
        &reply,
        &Change::Created,
        &servers,
        false
    ))));
}

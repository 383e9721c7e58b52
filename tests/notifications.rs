//! Notifications, through real servers: replies, mentions, reactions,
//! answers to join requests and a moderator's removal reach the member
//! they concern, whether the cause happened on their server or arrived from
//! another; nobody hears about their own actions or about posts they may
//! not read; the unread count falls when they are marked read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Instance, Options, post_signed, private_key, signed_post, wait_until};

const PW: &str = "a long enough passphrase";

async fn member(instance: &Instance, name: &str) -> String {
    instance.register(name, PW).await;
    instance.login(name, PW).await
}

async fn notifications(instance: &Instance, token: &str) -> Vec<Value> {
    let list = instance.get("/api/v1/notifications", Some(token)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body["items"].as_array().unwrap().clone()
}

async fn unread(instance: &Instance, token: &str) -> u64 {
    instance
        .get("/api/v1/notifications/unread", Some(token))
        .await
        .body["unread"]
        .as_u64()
        .unwrap()
}

/// Wait until `token`'s notifications hold one of `kind` matching `also`.
async fn wait_for(
    instance: &Instance,
    token: &str,
    kind: &str,
    also: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(&format!("a {kind} notification"), || async {
        notifications(instance, token)
            .await
            .into_iter()
            .find(|n| n["kind"] == kind && also(n))
    })
    .await
}

async fn join(instance: &Instance, token: &str, target: &str) {
    let joined = instance
        .post(
            "/api/v1/memberships",
            Some(token),
            json!({"target": target}),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
}

#[tokio::test]
async fn members_hear_about_replies_mentions_reactions_decisions_and_removals_across_servers() {
    each_backend!(|backend| across_servers(&backend));
}

async fn across_servers(backend: &Backend) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let b = Instance::start(backend, Options::default().registration("open")).await;
    let ann = member(&a, "ann").await;
    let dan = member(&a, "dan").await;
    let carol = member(&a, "carol").await;
    let bob = member(&b, "bob").await;
    let created = a
        .post(
            "/api/v1/groups",
            Some(&ann),
            json!({"name": "peers", "title": "MS peers", "join_policy": "open"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let handle = format!("@peers@localhost:{}", a.port);
    let group_url = format!("http://localhost:{}/g/peers", a.port);

    // Bob on B joins: the group's Accept tells him he is in.
    join(&b, &bob, &handle).await;
    let approved = wait_for(&b, &bob, "join_approved", |_| true).await;
    assert_eq!(approved["group"], format!("peers@localhost:{}", a.port));
    join(&a, &dan, "peers").await;

    // Bob writes a thread from B.
    let thread = b
        .post(
            "/api/v1/posts",
            Some(&bob),
            json!({"group": handle, "title": "Fatigue after relapse", "body": "Any tips?", "support_kind": "my-situation"}),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.text);
    let thread_url = thread.body["url"].as_str().unwrap().to_owned();
    let on_a = wait_until("the thread on A", || async {
        let list = a.get("/api/v1/posts?group=peers", Some(&ann)).await.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.into_iter()
            .find(|p| p["url"] == thread_url)
            .and_then(|p| p["id"].as_str().map(str::to_owned))
    })
    .await;

    // Ann replies on A: Bob hears of it on B.
    let reply = a
        .post(
            &format!("/api/v1/posts/{on_a}/replies"),
            Some(&ann),
            json!({"body": "Rest first, then short walks."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let heard = wait_for(&b, &bob, "reply", |_| true).await;
    assert_eq!(
        heard["actor"]["handle"],
        format!("ann@localhost:{}", a.port)
    );
    assert_eq!(heard["thread_id"], thread.body["id"]);

    // Ann's hug reaches Bob once, even given, taken back and given again.
    for method in ["POST", "DELETE", "POST"] {
        let path = format!("/api/v1/posts/{on_a}/reactions/hug");
        let answer = match method {
            "POST" => a.post(&path, Some(&ann), json!({})).await,
            _ => {
                a.request(reqwest::Method::DELETE, &path, Some(&ann), None)
                    .await
            }
        };
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }
    let hug = wait_for(&b, &bob, "reaction", |n| n["detail"] == "hug").await;
    assert_eq!(hug["actor"]["handle"], format!("ann@localhost:{}", a.port));

    // Dan replies on A naming @ann (a member) and @carol (not a member of
    // this members-only group): Ann is told, Carol is not; Bob hears of a
    // reply to his thread.
    let ann_reply_id = reply.body["id"].as_str().unwrap().to_owned();
    let mention = a
        .post(
            &format!("/api/v1/posts/{on_a}/replies"),
            Some(&dan),
            json!({"body": "Agree with @ann. Also @carol might know."}),
        )
        .await;
    assert_eq!(mention.status, StatusCode::CREATED, "{}", mention.text);
    let mentioned = wait_for(&a, &ann, "mention", |_| true).await;
    assert_eq!(
        mentioned["actor"]["handle"],
        format!("dan@localhost:{}", a.port)
    );
    wait_for(&b, &bob, "reply", |n| {
        n["actor"]["handle"] == format!("dan@localhost:{}", a.port)
    })
    .await;
    assert!(
        notifications(&a, &carol).await.is_empty(),
        "carol may not read the post, so she is not told of it"
    );

    // A Note from B whose Mention tag names dan@A (as Mastodon sends them)
    // answering Ann's reply: Ann hears of a reply, Dan of a mention.
    let bob_id = format!("http://localhost:{}/u/bob", b.port);
    let dan_id = format!("http://localhost:{}/u/dan", a.port);
    let ann_reply_url = reply.body["url"].as_str().unwrap().to_owned();
    let note = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_id}/create/mention-1"),
        "type": "Create",
        "actor": bob_id,
        "object": {
            "id": format!("{bob_id}/notes/mention-1"),
            "type": "Note",
            "attributedTo": bob_id,
            "audience": group_url,
            "to": [group_url],
            "inReplyTo": ann_reply_url,
            "content": "<p>Thank you both, <a href=\"#\">@dan</a>!</p>",
            "tag": [{"type": "Mention", "href": dan_id}, {"type": "Mention", "href": group_url}],
        },
    });
    let inbox = format!("http://localhost:{}/inbox", a.port);
    let key = private_key(&b, "bob").await;
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&note).unwrap(),
        &format!("{bob_id}#main-key"),
        &key,
        std::time::SystemTime::now(),
    );
    assert_eq!(
        post_signed(&inbox, &note, headers).await.0,
        StatusCode::ACCEPTED
    );
    wait_for(&a, &dan, "mention", |n| {
        n["actor"]["handle"] == format!("bob@localhost:{}", b.port)
    })
    .await;
    wait_for(&a, &ann, "reply", |n| {
        n["actor"]["handle"] == format!("bob@localhost:{}", b.port)
    })
    .await;

    // Nobody hears about their own doings.
    for n in notifications(&a, &ann).await {
        assert_ne!(
            n["actor"]["handle"],
            format!("ann@localhost:{}", a.port),
            "{n}"
        );
    }

    // Ann, the moderator, removes Bob's thread with a reason: Bob's server
    // erases it and tells him why.
    let removed = a
        .post(
            &format!("/api/v1/posts/{on_a}/remove"),
            Some(&ann),
            json!({"reason": "Please keep medication doses out of the group."}),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let told = wait_for(&b, &bob, "post_removed", |_| true).await;
    assert_eq!(
        told["detail"],
        "Please keep medication doses out of the group."
    );
    let gone = b
        .get(
            &format!("/api/v1/posts/{}", thread.body["id"].as_str().unwrap()),
            Some(&bob),
        )
        .await;
    assert!(
        gone.body["deleted"] == true || gone.status == StatusCode::NOT_FOUND,
        "{}",
        gone.text
    );
    // Someone who is not a moderator may not remove posts.
    let refused = a
        .post(
            &format!("/api/v1/posts/{ann_reply_id}/remove"),
            Some(&dan),
            json!({"reason": "no"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    // Marking read: the count falls to zero, the list keeps them as read.
    let before = unread(&b, &bob).await;
    assert!(before >= 4, "bob has {before} unread");
    let marked = b
        .post("/api/v1/notifications/read", Some(&bob), json!({}))
        .await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.text);
    assert_eq!(marked.body["marked"], before);
    assert_eq!(unread(&b, &bob).await, 0);
    assert!(
        notifications(&b, &bob)
            .await
            .iter()
            .all(|n| n["read"] == true)
    );
    // One member's marking never touches another's.
    assert!(unread(&a, &ann).await > 0);
}

#[tokio::test]
async fn a_moderators_answer_to_a_request_is_a_notification() {
    each_backend!(|backend| answers_to_requests(&backend));
}

async fn answers_to_requests(backend: &Backend) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let ann = member(&a, "ann").await;
    let carol = member(&a, "carol").await;
    let erin = member(&a, "erin").await;
    a.post(
        "/api/v1/groups",
        Some(&ann),
        json!({"name": "quiet", "title": "Quiet room", "join_policy": "approval"}),
    )
    .await;
    join(&a, &carol, "quiet").await;
    join(&a, &erin, "quiet").await;
    assert!(notifications(&a, &carol).await.is_empty());
    let requests = a.get("/api/v1/groups/quiet/requests", Some(&ann)).await;
    let items = requests.body["items"].as_array().unwrap().clone();
    let id_of = |name: &str| {
        items
            .iter()
            .find(|r| r["handle"].as_str().unwrap_or("").starts_with(name))
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no request by {name}: {items:?}"))
    };
    let (carol_req, erin_req) = (id_of("carol"), id_of("erin"));
    let approved = a
        .post(
            &format!("/api/v1/groups/quiet/requests/{}/approve", carol_req),
            Some(&ann),
            json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let declined = a
        .post(
            &format!("/api/v1/groups/quiet/requests/{}/decline", erin_req),
            Some(&ann),
            json!({}),
        )
        .await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    let carols = notifications(&a, &carol).await;
    assert_eq!(carols.len(), 1, "{carols:?}");
    assert_eq!(carols[0]["kind"], "join_approved");
    assert_eq!(carols[0]["group"], "quiet");
    let erins = notifications(&a, &erin).await;
    assert_eq!(erins.len(), 1, "{erins:?}");
    assert_eq!(erins[0]["kind"], "join_declined");
    assert!(notifications(&a, &ann).await.is_empty());
}

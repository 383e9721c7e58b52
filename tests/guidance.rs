//! Care in a group, across real Hearth servers on loopback: A hosts the
//! group; B carries it for its member. Peer mentors named on A show on B
//! beside their posts in that group, until un-named; the new members view
//! shows a newcomer's first posts to a mentor and refuses a plain member;
//! rules and a support guide set on A show on B; a reply marked helpful on
//! A shows on B. And the attacker's side: a mark or a mentor from anyone
//! but the group's own moderators, relayed by the group, is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{Rig, Scene, find_in};
use support::{Backend, wait_until};

/// A hosts `circle` (ann moderates; max and mia are members); bea (B) is
/// a member from elsewhere.
async fn scene(backend: &Backend) -> Rig {
    Scene::new()
        .server("a")
        .member("ann")
        .member("max")
        .member("mia")
        .public_group("circle", "ann")
        .joins("max", "circle@a")
        .joins("mia", "circle@a")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .start(backend)
        .await
}

fn group_on(rig: &Rig, server: &str) -> String {
    if server == "a" {
        "circle".to_owned()
    } else {
        rig.handle("circle@a")
    }
}

/// Wait until `check` holds for the thread `url` as `member` of `server`
/// sees it.
async fn wait_seen(
    rig: &Rig,
    server: &str,
    member: &str,
    url: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let group = group_on(rig, server);
    wait_until(&format!("{what} on {server}"), || async {
        rig.at(server)
            .thread(Some(member), &group, url)
            .await
            .filter(|t| check(t))
    })
    .await
}

async fn mentor_named_on_a_shows_on_b_until_un_named(backend: Backend) {
    let rig = scene(&backend).await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let thread = b
        .write(
            "bea",
            &rig.handle("circle@a"),
            json!({"title": "Ten years in"}),
        )
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    assert_eq!(thread["mentor"], false, "{thread}");
    a.wait_thread("ann", "circle", &url).await;
    let bea = format!("bea@{}", b.authority());

    // Only a moderator names a mentor; only a member can be one.
    let refused = a
        .api(
            Method::PUT,
            &format!("/api/v1/groups/circle/mentors/{bea}"),
            Some("max"),
            None,
        )
        .await;
    refused.assert_problem(403, "forbidden");
    let named = a
        .api(
            Method::PUT,
            &format!("/api/v1/groups/circle/mentors/{bea}"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(named.status, StatusCode::NO_CONTENT, "{}", named.text);

    // The badge shows on A and, once told, on B, in this group only.
    wait_seen(&rig, "a", "ann", &url, "bea's badge", |t| {
        t["mentor"] == true
    })
    .await;
    wait_seen(&rig, "b", "bea", &url, "bea's badge", |t| {
        t["mentor"] == true
    })
    .await;
    let listed = b
        .api(
            Method::GET,
            &format!(
                "/api/v1/groups/{}/mentors",
                support::rig::urlencode(&rig.handle("circle@a"))
            ),
            Some("bea"),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(
        listed.body["mentors"][0]["url"],
        b.actor("bea"),
        "{}",
        listed.text
    );
    let (_, collection) = b
        .fetch_as("bea", &format!("{}/mentors", a.group_url("circle")))
        .await;
    assert!(collection.contains(&b.actor("bea")), "{collection}");

    // Un-named: the badge goes on both servers.
    let ended = a
        .api(
            Method::DELETE,
            &format!("/api/v1/groups/circle/mentors/{bea}"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    wait_seen(&rig, "b", "bea", &url, "the badge gone", |t| {
        t["mentor"] == false
    })
    .await;
    wait_seen(&rig, "a", "ann", &url, "the badge gone", |t| {
        t["mentor"] == false
    })
    .await;
    let log = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/moderation_log",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(
        log.body["items"][0]["action"], "remove_mentor",
        "{}",
        log.text
    );
    assert_eq!(log.body["items"][1]["action"], "add_mentor", "{}", log.text);
}

#[tokio::test]
async fn a_mentor_named_on_the_groups_server_shows_everywhere_until_un_named() {
    each_backend!(|backend| mentor_named_on_a_shows_on_b_until_un_named(backend));
}

#[tokio::test]
async fn the_new_members_view_shows_first_posts_to_mentors_and_refuses_plain_members() {
    let rig = scene(&Backend::Sqlite).await;
    let a = rig.at("a");
    let thread = a
        .write("max", "circle", json!({"title": "Just diagnosed"}))
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let id = thread["id"].as_str().unwrap().to_owned();

    // A plain member cannot open it; a mentor can.
    let plain = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/newcomers",
            Some("mia"),
            None,
        )
        .await;
    plain.assert_problem(403, "forbidden");
    let named = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/mentors/mia",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(named.status, StatusCode::NO_CONTENT, "{}", named.text);
    let view = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/newcomers",
            Some("mia"),
            None,
        )
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let mine = view.body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"] == url)
        .cloned()
        .unwrap_or_else(|| panic!("max's first post is not listed: {}", view.text));
    assert_eq!(mine["unanswered"], true, "{mine}");

    // Once someone answers, it is no longer waiting, and goes after the
    // unanswered ones.
    let other = a
        .write("mia", "circle", json!({"title": "Hello all"}))
        .await;
    a.reply("mia", &id, "Welcome, you are not alone.").await;
    let view = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/newcomers",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let posts = view.body["posts"].as_array().unwrap();
    let at = |u: &Value| posts.iter().position(|p| p["url"] == *u).unwrap();
    let answered = &posts[at(&json!(url))];
    assert_eq!(answered["unanswered"], false, "{answered}");
    assert!(at(&other["url"]) < at(&json!(url)), "{}", view.text);
}

async fn guidance_set_on_a_shows_on_b(backend: Backend) {
    let rig = scene(&backend).await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let refused = a
        .api(
            Method::PATCH,
            "/api/v1/groups/circle",
            Some("max"),
            Some(json!({"rules": "Anything goes"})),
        )
        .await;
    refused.assert_problem(403, "forbidden");
    let too_long = a
        .api(
            Method::PATCH,
            "/api/v1/groups/circle",
            Some("ann"),
            Some(json!({"support_guide": "a".repeat(4001)})),
        )
        .await;
    too_long.assert_problem(422, "validation-failed");
    assert!(too_long.text.contains("support_guide"), "{}", too_long.text);
    let set = a
        .api(
            Method::PATCH,
            "/api/v1/groups/circle",
            Some("ann"),
            Some(json!({
                "rules": "1. Be kind.\n2. No **selling**.",
                "support_guide": "Ask before giving advice. <script>alert(1)</script>",
            })),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let here = a
        .api(Method::GET, "/api/v1/groups/circle/guidance", None, None)
        .await;
    assert!(
        here.body["rules_html"]
            .as_str()
            .unwrap()
            .contains("<strong>selling</strong>"),
        "{}",
        here.text
    );
    assert!(
        !here.body["support_guide_html"]
            .as_str()
            .unwrap()
            .contains("<script"),
        "{}",
        here.text
    );

    // B reads them from the group's Update, and shows them beside its
    // compose box for the group.
    let path = format!(
        "/api/v1/groups/{}/guidance",
        support::rig::urlencode(&rig.handle("circle@a"))
    );
    let there = wait_until("the guide on B", || async {
        let got = b.api(Method::GET, &path, Some("bea"), None).await;
        got.body["support_guide_html"]
            .as_str()
            .is_some_and(|h| h.contains("Ask before giving advice"))
            .then_some(got)
    })
    .await;
    assert!(
        there.body["rules_html"]
            .as_str()
            .unwrap()
            .contains("Be kind"),
        "{}",
        there.text
    );
    assert!(
        !there.body["support_guide_html"]
            .as_str()
            .unwrap()
            .contains("<script"),
        "{}",
        there.text
    );
    // The group's document carries them for servers that fetch it later.
    let (_, doc) = b.fetch_as("bea", &a.group_url("circle")).await;
    assert!(
        doc.contains("supportGuide") && doc.contains("Be kind"),
        "{doc}"
    );
}

#[tokio::test]
async fn rules_and_guide_set_on_the_groups_server_show_on_other_servers() {
    each_backend!(|backend| guidance_set_on_a_shows_on_b(backend));
}

async fn helpful_mark_federates(backend: Backend) {
    let rig = scene(&backend).await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let thread = a
        .write("max", "circle", json!({"title": "Sleep after chemo"}))
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let on_b = b.wait_thread("bea", &rig.handle("circle@a"), &url).await;
    let reply = b
        .reply(
            "bea",
            on_b["id"].as_str().unwrap(),
            "A warm bath helped me.",
        )
        .await;
    let reply_url = reply["url"].as_str().unwrap().to_owned();
    wait_seen(&rig, "a", "ann", &url, "bea's reply", |t| {
        find_in(t, &reply_url).is_some()
    })
    .await;
    let reply_on_a = a.local_id("ann", "circle", &url, &reply_url).await;

    // Only moderators mark, and only replies.
    let refused = a
        .api(
            Method::PUT,
            &format!("/api/v1/posts/{reply_on_a}/helpful"),
            Some("max"),
            None,
        )
        .await;
    refused.assert_problem(403, "forbidden");
    let thread_id = thread["id"].as_str().unwrap();
    let not_reply = a
        .api(
            Method::PUT,
            &format!("/api/v1/posts/{thread_id}/helpful"),
            Some("ann"),
            None,
        )
        .await;
    not_reply.assert_problem(422, "validation-failed");
    let marked = a
        .api(
            Method::PUT,
            &format!("/api/v1/posts/{reply_on_a}/helpful"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(marked.status, StatusCode::NO_CONTENT, "{}", marked.text);
    wait_seen(&rig, "b", "bea", &url, "the helpful mark", |t| {
        find_in(t, &reply_url).is_some_and(|r| r["helpful"] == true)
    })
    .await;
    let unmarked = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{reply_on_a}/helpful"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(unmarked.status, StatusCode::NO_CONTENT, "{}", unmarked.text);
    wait_seen(&rig, "b", "bea", &url, "the mark taken back", |t| {
        find_in(t, &reply_url).is_some_and(|r| r["helpful"] == false)
    })
    .await;
    let log = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/moderation_log",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(
        log.body["items"][0]["action"], "unmark_helpful",
        "{}",
        log.text
    );
    assert_eq!(
        log.body["items"][1]["action"], "mark_helpful",
        "{}",
        log.text
    );
}

#[tokio::test]
async fn a_reply_marked_helpful_on_the_groups_server_shows_on_other_servers() {
    each_backend!(|backend| helpful_mark_federates(backend));
}

#[tokio::test]
async fn marks_and_mentors_from_anyone_but_the_groups_own_moderators_are_refused() {
    // bea (B) is in circle (A) and in den, a group on the hostile server.
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .public_group("circle", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .server("c")
        .member("cai")
        .hostile()
        .start(&Backend::Sqlite)
        .await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let hostile = rig.hostile();
    rig.join("b", "bea", "den@hostile").await;
    let den_handle = rig.handle("den@hostile");
    let den = hostile.group("den");
    let dan = hostile.person("dan");
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let announce = |inner: Value| {
        json!({
            "id": hostile.new_id("activities"),
            "type": "Announce",
            "actor": den,
            "to": [public],
            "object": inner,
        })
    };
    // A thread and a reply in den, and a reply in circle (A), all on B.
    let (thread_id, reply_id) = (hostile.new_id("p"), hostile.new_id("p"));
    for (id, kind, parent) in [
        (&thread_id, "Page", None),
        (&reply_id, "Note", Some(&thread_id)),
    ] {
        let mut object = json!({
            "id": id, "type": kind, "name": "A thread", "attributedTo": dan,
            "audience": den, "to": [den, public], "content": "<p>words</p>",
        });
        if let Some(parent) = parent {
            object["inReplyTo"] = json!(parent);
            object.as_object_mut().unwrap().remove("name");
        }
        let create = json!({
            "id": hostile.new_id("activities"), "type": "Create", "actor": dan,
            "to": [den, public], "object": object,
        });
        let (status, text) = hostile.send(&den, &b.inbox(), &announce(create)).await;
        assert!(status.is_success(), "{status} {text}");
    }
    wait_seen_in(b, "bea", &den_handle, &thread_id, &reply_id).await;
    let circle_thread = a
        .write("ann", "circle", json!({"title": "In circle"}))
        .await;
    let circle_url = circle_thread["url"].as_str().unwrap().to_owned();
    let on_b = b
        .wait_thread("bea", &rig.handle("circle@a"), &circle_url)
        .await;
    let circle_reply = b
        .reply("bea", on_b["id"].as_str().unwrap(), "Me too.")
        .await;
    let circle_reply_url = circle_reply["url"].as_str().unwrap().to_owned();
    let helpful_of =
        |url: &str| format!("SELECT COUNT(*) FROM helpful_marks WHERE post_ap_id = '{url}'");

    // 1. A person of another server, never named a moderator, relayed by
    //    the group: refused.
    let cai = c.actor("cai");
    let add = |actor: &str, object: &str, target: String| {
        json!({
            "id": hostile.new_id("activities"), "type": "Add", "actor": actor,
            "object": object, "target": target, "to": [public],
        })
    };
    let (status, text) = hostile
        .send(
            &den,
            &b.inbox(),
            &announce(add(&cai, &reply_id, format!("{den}/helpful"))),
        )
        .await;
    assert!(status.is_client_error(), "{status} {text}");
    // 2. The group marking a reply of another group (circle, on A): refused.
    let (status, text) = hostile
        .send(
            &den,
            &b.inbox(),
            &announce(add(&dan, &circle_reply_url, format!("{den}/helpful"))),
        )
        .await;
    assert!(status.is_client_error(), "{status} {text}");
    // 3. The hostile server naming a mentor of circle, or marking in
    //    circle: not circle's to say; nothing changes.
    let circle = a.group_url("circle");
    let (status, text) = hostile
        .send(
            &den,
            &b.inbox(),
            &announce(add(&dan, &dan, format!("{circle}/mentors"))),
        )
        .await;
    assert!(status.as_u16() < 500, "{status} {text}");
    let (status, text) = hostile
        .send(
            &den,
            &b.inbox(),
            &announce(add(&dan, &circle_reply_url, format!("{circle}/helpful"))),
        )
        .await;
    assert!(status.as_u16() < 500, "{status} {text}");
    // 4. A person signing an Add for themselves, not relayed: ignored.
    let (status, text) = hostile
        .send(
            &dan,
            &b.inbox(),
            &add(&dan, &reply_id, format!("{den}/helpful")),
        )
        .await;
    assert!(status.as_u16() < 500, "{status} {text}");
    assert_eq!(b.instance.scalar(&helpful_of(&reply_id)).await, 0);
    assert_eq!(b.instance.scalar(&helpful_of(&circle_reply_url)).await, 0);
    assert_eq!(
        b.instance
            .scalar("SELECT COUNT(*) FROM group_mentors")
            .await,
        0
    );

    // The group's own person, relayed by the group, on its own reply: held
    // (the refusals above were about who spoke, not the shape).
    let (status, text) = hostile
        .send(
            &den,
            &b.inbox(),
            &announce(add(&dan, &reply_id, format!("{den}/helpful"))),
        )
        .await;
    assert!(status.is_success(), "{status} {text}");
    wait_until("den's own mark on B", || async {
        (b.instance.scalar(&helpful_of(&reply_id)).await == 1).then_some(())
    })
    .await;
    let thread = b
        .thread(Some("bea"), &den_handle, &thread_id)
        .await
        .unwrap();
    assert_eq!(
        find_in(&thread, &reply_id).unwrap()["helpful"],
        true,
        "{thread}"
    );
    assert_eq!(b.instance.scalar(&helpful_of(&circle_reply_url)).await, 0);
}

/// Wait until `member` sees the thread and its reply.
async fn wait_seen_in(
    server: &support::rig::Server,
    member: &str,
    group: &str,
    thread: &str,
    reply: &str,
) {
    wait_until("den's thread and reply on B", || async {
        server
            .thread(Some(member), group, thread)
            .await
            .filter(|t| find_in(t, reply).is_some())
    })
    .await;
}

/// A browser logged in as `member` on `server`.
async fn logged_in(server: &support::rig::Server, member: &str) -> reqwest::Client {
    server.logged_in(member).await
}

/// The page at `path`, its status and text.
async fn web_page(
    browser: &reqwest::Client,
    server: &support::rig::Server,
    path: &str,
) -> (StatusCode, String) {
    let resp = browser.get(server.instance.url(path)).send().await.unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_pages_show_guidance_mentors_new_members_and_helpful_replies() {
    let rig = scene(&Backend::Sqlite).await;
    let a = rig.at("a");
    let ann = logged_in(a, "ann").await;

    // Settings: the rules and guide, with an error in the field when too long.
    let (status, settings) = web_page(&ann, a, "/groups/circle/settings").await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert!(settings.contains("How to give support here"), "{settings}");
    let csrf = support::csrf_of(&settings);
    let long = "a".repeat(4001);
    let saved = ann
        .post(a.instance.url("/groups/circle/settings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("visibility", "public"),
            ("retention_days", "0"),
            ("rules", "Be kind."),
            ("support_guide", long.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = saved.text().await.unwrap();
    assert!(
        text.contains("There is a problem") && text.contains("href=\"#support_guide\""),
        "{text}"
    );
    let saved = ann
        .post(a.instance.url("/groups/circle/settings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("visibility", "public"),
            ("retention_days", "0"),
            ("rules", "Be kind."),
            ("support_guide", "Ask before giving advice."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);

    // Shown before joining, on the group page, and beside the compose box.
    let (_, group) = web_page(&support::browser(), a, "/groups/circle").await;
    assert!(
        group.contains("Before you join") && group.contains("Ask before giving advice."),
        "{group}"
    );
    let max = logged_in(a, "max").await;
    let (_, compose) = web_page(&max, a, "/groups/circle/new").await;
    assert!(
        compose.contains("Before you post") && compose.contains("Be kind."),
        "{compose}"
    );

    // Naming a mentor from the page; the mentor finds the new members view.
    let (status, mentors) = web_page(&ann, a, "/groups/circle/mentors").await;
    assert_eq!(status, StatusCode::OK, "{mentors}");
    let named = ann
        .post(a.instance.url("/groups/circle/mentors"))
        .form(&[
            ("csrf", support::csrf_of(&mentors).as_str()),
            ("person", "mia"),
        ])
        .send()
        .await
        .unwrap();
    assert!(named.status().is_redirection(), "{}", named.status());
    let thread = a
        .write("max", "circle", json!({"title": "Just diagnosed"}))
        .await;
    let reply = a
        .reply("mia", thread["id"].as_str().unwrap(), "Welcome.")
        .await;
    let mia = logged_in(a, "mia").await;
    let (_, group) = web_page(&mia, a, "/groups/circle").await;
    assert!(group.contains("/groups/circle/newcomers"), "{group}");
    let (status, newcomers) = web_page(&mia, a, "/groups/circle/newcomers").await;
    assert_eq!(status, StatusCode::OK, "{newcomers}");
    assert!(newcomers.contains("Just diagnosed"), "{newcomers}");
    let (status, _) = web_page(&max, a, "/groups/circle/newcomers").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A moderator marks mia's reply helpful from the thread page.
    let path = format!("/posts/{}", thread["id"].as_str().unwrap());
    let (_, page) = web_page(&ann, a, &path).await;
    assert!(
        page.contains("Peer mentor") && page.contains("Mark as helpful"),
        "{page}"
    );
    let marked = ann
        .post(
            a.instance
                .url(&format!("/posts/{}/helpful", reply["id"].as_str().unwrap())),
        )
        .form(&[("csrf", support::csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert!(marked.status().is_redirection(), "{}", marked.status());
    let (_, page) = web_page(&max, a, &path).await;
    assert!(page.contains("Marked helpful by the moderators"), "{page}");
}

#[tokio::test]
async fn a_change_of_visibility_on_the_groups_server_reaches_its_member_servers() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let handle = rig.handle("circle@a");
    let known = format!(
        "SELECT group_visibility FROM remote_actors WHERE ap_id = '{}'",
        a.group_url("circle")
    );
    assert_ne!(b.instance.text(&known).await.as_deref(), Some("members"));

    // Only the visibility changes (not the rules): B is told all the same,
    // and reads the group's document again from A.
    let changed = a
        .api(
            Method::PATCH,
            "/api/v1/groups/circle",
            Some("ann"),
            Some(json!({"visibility": "members"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    wait_until("B to learn circle is for its members only", || async {
        (b.instance.text(&known).await.as_deref() == Some("members")).then_some(())
    })
    .await;
    // B now refuses bea's public thread itself, before it goes anywhere.
    let tried = b
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("bea"),
            Some(json!({"group": handle, "title": "Loud", "body": "x", "support_kind": "experience", "visibility": "public"})),
        )
        .await;
    tried.assert_problem(422, "validation-failed");
    assert_eq!(tried.body["field"], "visibility", "{}", tried.text);

    // And back.
    let changed = a
        .api(
            Method::PATCH,
            "/api/v1/groups/circle",
            Some("ann"),
            Some(json!({"visibility": "public"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    wait_until("B to learn circle is public again", || async {
        (b.instance.text(&known).await.as_deref() == Some("public")).then_some(())
    })
    .await;
}

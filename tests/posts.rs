//! Support posts across three servers: a thread written on C in a group on
//! A reaches A and B; replies thread everywhere; edits, deletes and
//! reactions propagate. Every step polls until the other servers caught up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::Scene;
use support::{
    Backend, Instance, Options, post_signed, private_key, signed_get, signed_post, wait_until,
};

const PW: &str = "a long enough passphrase";

async fn member(instance: &Instance, name: &str) -> String {
    instance.register(name, PW).await;
    instance.login(name, PW).await
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
    let url = joined.body["group"]["url"].as_str().unwrap().to_owned();
    wait_until("membership to be joined", || async {
        let list = instance.get("/api/v1/memberships", Some(token)).await;
        list.body["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|m| m["group"]["url"] == url && m["state"] == "joined")
                .map(|_| ())
        })
    })
    .await;
}

/// The thread with `url` in `group`'s timeline as `instance` shows it.
async fn thread_on(instance: &Instance, token: &str, group: &str, url: &str) -> Option<Value> {
    let list = instance
        .get(
            &format!("/api/v1/posts?group={}", urlencode(group)),
            Some(token),
        )
        .await;
    let found = list.body["items"]
        .as_array()?
        .iter()
        .find(|p| p["url"] == url)?
        .clone();
    let id = found["id"].as_str()?;
    Some(
        instance
            .get(&format!("/api/v1/posts/{id}"), Some(token))
            .await
            .body,
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_thread_from_one_server_reaches_every_member_server_with_replies_edits_reactions_and_deletes()
 {
    each_backend!(|backend| {
        a_thread_from_one_server_reaches_every_member_server_with_replies_edits_reactions_and_deletes_on(&backend)
    });
}

async fn a_thread_from_one_server_reaches_every_member_server_with_replies_edits_reactions_and_deletes_on(
    backend: &Backend,
) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("peers", "ann")
        .server("b")
        .member("bob")
        .joins("bob", "peers@a")
        .server("c")
        .member("carol")
        .joins("carol", "peers@a")
        .start(backend)
        .await;
    let (a, b, c) = (
        &rig.at("a").instance,
        &rig.at("b").instance,
        &rig.at("c").instance,
    );
    let (ann, bob, carol) = (
        rig.at("a").token("ann").to_owned(),
        rig.at("b").token("bob").to_owned(),
        rig.at("c").token("carol").to_owned(),
    );
    let handle = rig.handle("peers@a");

    // Carol on C writes a thread in the group on A.
    let written = c
        .post(
            "/api/v1/posts",
            Some(&carol),
            json!({
                "group": handle,
                "title": "Pacing on bad days",
                "body": "How do you **pace** yourselves? <script>alert(1)</script>",
                "support_kind": "my-situation",
                "content_warning": "fatigue",
                "link": "https://example.org/pacing-guide",
            }),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
    let url = written.body["url"].as_str().unwrap().to_owned();
    assert!(
        written.body["body_html"]
            .as_str()
            .unwrap()
            .contains("<strong>pace</strong>")
    );
    assert!(
        !written.body["body_html"]
            .as_str()
            .unwrap()
            .contains("<script")
    );

    for (name, instance, token) in [("A", &a, &ann), ("B", &b, &bob)] {
        let thread = wait_until(&format!("the thread on {name}"), || {
            thread_on(instance, token, &handle, &url)
        })
        .await;
        assert_eq!(thread["title"], "Pacing on bad days", "{name}");
        assert_eq!(thread["support_kind"], "my-situation", "{name}");
        assert_eq!(thread["content_warning"], "fatigue", "{name}");
        assert_eq!(
            thread["author"]["handle"],
            format!("carol@localhost:{}", c.port),
            "{name}"
        );
        assert_eq!(thread["visibility"], "members", "{name}");
        assert_eq!(thread["link"], "https://example.org/pacing-guide", "{name}");
        assert!(
            thread["body_html"]
                .as_str()
                .unwrap()
                .contains("<strong>pace</strong>"),
            "{name}"
        );
        assert!(
            !thread["body_html"].as_str().unwrap().contains("<script"),
            "{name}"
        );
    }

    // Bob on B replies; the reply threads under it on A and C.
    let thread_on_b = thread_on(b, &bob, &handle, &url).await.unwrap();
    let reply = b
        .post(
            &format!(
                "/api/v1/posts/{}/replies",
                thread_on_b["id"].as_str().unwrap()
            ),
            Some(&bob),
            json!({"body": "Short walks, then rest."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply_url = reply.body["url"].as_str().unwrap().to_owned();
    for (name, instance, token) in [("A", &a, &ann), ("C", &c, &carol)] {
        wait_until(&format!("the reply on {name}"), || async {
            let thread = thread_on(instance, token, &handle, &url).await?;
            thread["replies"]
                .as_array()?
                .iter()
                .find(|r| r["url"] == reply_url)
                .map(|_| ())
        })
        .await;
    }
    // Every server's timeline counts the reply, written here or elsewhere.
    for (name, instance, token) in [("A", &a, &ann), ("B", &b, &bob), ("C", &c, &carol)] {
        let list = instance
            .get(
                &format!("/api/v1/posts?group={}", urlencode(&handle)),
                Some(token),
            )
            .await;
        let item = list.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|p| p["url"] == url))
            .unwrap_or_else(|| panic!("the thread in the timeline on {name}: {}", list.text));
        assert_eq!(item["reply_count"], 1, "{name}: {item}");
        assert!(item["last_activity_at"].is_string(), "{name}: {item}");
    }

    // Ann on A reacts with a hug; it counts once everywhere, even when sent twice.
    let on_a = thread_on(a, &ann, &handle, &url).await.unwrap();
    let id_a = on_a["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let r = a
            .request(
                Method::POST,
                &format!("/api/v1/posts/{id_a}/reactions/hug"),
                Some(&ann),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    for (name, instance, token) in [("A", &a, &ann), ("B", &b, &bob), ("C", &c, &carol)] {
        wait_until(&format!("the hug on {name}"), || async {
            let thread = thread_on(instance, token, &handle, &url).await?;
            (thread["reactions"] == json!([{"reaction": "hug", "count": 1}])).then_some(())
        })
        .await;
    }

    // Carol edits her thread; the edit reaches A and B.
    let on_c = thread_on(c, &carol, &handle, &url).await.unwrap();
    let id_c = on_c["id"].as_str().unwrap().to_owned();
    let edited = c
        .request(
            Method::PATCH,
            &format!("/api/v1/posts/{id_c}"),
            Some(&carol),
            Some(json!({"title": "Pacing on bad days (edited)"})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    for (name, instance, token) in [("A", &a, &ann), ("B", &b, &bob)] {
        wait_until(&format!("the edit on {name}"), || async {
            let thread = thread_on(instance, token, &handle, &url).await?;
            (thread["title"] == "Pacing on bad days (edited)").then_some(())
        })
        .await;
    }

    // Only the author may edit.
    a.request(
        Method::PATCH,
        &format!("/api/v1/posts/{id_a}"),
        Some(&ann),
        Some(json!({"title": "mine now"})),
    )
    .await
    .assert_problem(403, "forbidden");

    // Carol deletes it; it disappears from every timeline.
    let deleted = c
        .request(
            Method::DELETE,
            &format!("/api/v1/posts/{id_c}"),
            Some(&carol),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    for (name, instance, token) in [("A", &a, &ann), ("B", &b, &bob), ("C", &c, &carol)] {
        wait_until(&format!("the delete on {name}"), || async {
            thread_on(instance, token, &handle, &url)
                .await
                .is_none()
                .then_some(())
        })
        .await;
    }
    // Its words are gone from every database, and its URL answers 410.
    for instance in [&a, &b, &c] {
        let db = instance.db().await;
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &db,
            sea_orm::Statement::from_sql_and_values(
                sea_orm::ConnectionTrait::get_database_backend(&db),
                "SELECT title, content_html FROM posts WHERE ap_id = $1",
                [url.clone().into()],
            ),
        )
        .await
        .unwrap()
        .unwrap();
        let title: String = row.try_get("", "title").unwrap();
        assert!(title.is_empty());
    }
    // Its URL answers 410 with a tombstone to a server that may read it
    // (the group's, signing the fetch), so caches forget it; to anyone
    // else, like every post they may not read, 404.
    let unsigned = reqwest::get(&url).await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::NOT_FOUND);
    let key = private_key(a, "ann").await;
    let key_id = format!("http://localhost:{}/u/ann#main-key", a.port);
    let gone = reqwest::Client::new()
        .get(&url)
        .headers(signed_get(&url, &key_id, &key))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let tombstone: Value = gone.json().await.unwrap();
    assert_eq!(tombstone["type"], "Tombstone");
    assert!(tombstone.get("content").is_none() && tombstone.get("name").is_none());
}

#[tokio::test]
async fn members_only_posts_are_hidden_from_the_public_and_bad_input_is_refused() {
    each_backend!(|backend| {
        members_only_posts_are_hidden_from_the_public_and_bad_input_is_refused_on(&backend)
    });
}

async fn members_only_posts_are_hidden_from_the_public_and_bad_input_is_refused_on(
    backend: &Backend,
) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let ann = member(&a, "ann").await;
    let zed = member(&a, "zed").await;
    a.post(
        "/api/v1/groups",
        Some(&ann),
        json!({"name": "circle", "title": "MS circle", "join_policy": "approval", "visibility": "public"}),
    )
    .await;
    let handle = format!("circle@localhost:{}", a.port);

    let private = a
        .post("/api/v1/posts", Some(&ann), json!({"group": "circle", "title": "Relapse", "body": "Rough week.", "support_kind": "emotional"}))
        .await;
    assert_eq!(private.status, StatusCode::CREATED, "{}", private.text);
    let public = a
        .post(
            "/api/v1/posts",
            Some(&ann),
            json!({"group": "circle", "title": "Clinic list", "body": "See the list.", "support_kind": "resource", "visibility": "public", "link": "https://nhs.example/clinics"}),
        )
        .await;
    assert_eq!(public.status, StatusCode::CREATED);

    // The public and non-members see only the public post.
    for token in [None, Some(zed.as_str())] {
        let list = a
            .get(
                &format!("/api/v1/posts?group={}", urlencode(&handle)),
                token,
            )
            .await;
        let titles: Vec<&str> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["Clinic list"]);
        a.get(
            &format!("/api/v1/posts/{}", private.body["id"].as_str().unwrap()),
            token,
        )
        .await
        .assert_problem(404, "not-found");
    }
    // An unsigned fetch of the members-only post's URL gets nothing.
    let fetched = reqwest::get(private.body["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::NOT_FOUND);
    let fetched = reqwest::get(public.body["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    let page: Value = fetched.json().await.unwrap();
    assert_eq!(page["type"], "Page");
    assert!(
        page["to"]
            .as_array()
            .unwrap()
            .contains(&json!("https://www.w3.org/ns/activitystreams#Public"))
    );
    assert_eq!(page["supportKind"], "resource");
    assert!(
        page["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "Hashtag" && t["name"] == "#resource")
    );
    assert!(
        page["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "Mention")
    );
    assert!(page["summary"].as_str().unwrap().contains("See the list"));
    assert_eq!(
        page["attachment"][0],
        json!({"type": "Link", "href": "https://nhs.example/clinics"})
    );

    // Members filter by kind, newest first.
    let list = a
        .get(
            "/api/v1/posts?group=circle&support_kind=emotional",
            Some(&ann),
        )
        .await;
    let titles: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Relapse"]);

    // Non-members cannot post; bad input is named.
    a.post(
        "/api/v1/posts",
        Some(&zed),
        json!({"group": "circle", "title": "Hi", "body": "x", "support_kind": "emotional"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let bad = a.post("/api/v1/posts", Some(&ann), json!({"group": "circle", "title": "", "body": "x".repeat(20_001), "support_kind": "gossip"})).await;
    bad.assert_problem(422, "validation-failed");
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["title", "body", "support_kind"]);
    let mine = a.get("/api/v1/me/posts", Some(&ann)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_server_whose_member_joins_fills_in_the_groups_recent_threads() {
    each_backend!(
        |backend| a_server_whose_member_joins_fills_in_the_groups_recent_threads_on(&backend)
    );
}

async fn a_server_whose_member_joins_fills_in_the_groups_recent_threads_on(backend: &Backend) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let b = Instance::start(backend, Options::default().registration("open")).await;
    let ann = member(&a, "ann").await;
    let bob = member(&b, "bob").await;
    a.post(
        "/api/v1/groups",
        Some(&ann),
        json!({"name": "peers", "title": "Peers", "join_policy": "open", "visibility": "public"}),
    )
    .await;
    for (title, visibility) in [
        ("Members only thread", "members"),
        ("Public thread", "public"),
    ] {
        let written = a
            .post(
                "/api/v1/posts",
                Some(&ann),
                json!({"group": "peers", "title": title, "body": "Hello.", "support_kind": "experience", "visibility": visibility}),
            )
            .await;
        assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
    }
    // Before anyone from B joins, the outbox shows strangers only the public thread.
    let outbox: Value = reqwest::get(a.url("/g/peers/outbox").replace("127.0.0.1", "localhost"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["totalItems"], 1);
    assert_eq!(outbox["orderedItems"][0]["type"], "Announce");
    assert_eq!(
        outbox["orderedItems"][0]["object"]["object"]["name"],
        "Public thread"
    );

    let handle = format!("@peers@localhost:{}", a.port);
    join(&b, &bob, &handle).await;
    let titles = wait_until("B to fill in the group's threads", || async {
        let list = b
            .get(
                &format!("/api/v1/posts?group={}", urlencode(&handle)),
                Some(&bob),
            )
            .await;
        let titles: Vec<String> = list.body["items"]
            .as_array()?
            .iter()
            .map(|p| p["title"].as_str().unwrap_or_default().to_owned())
            .collect();
        (titles.len() == 2).then_some(titles)
    })
    .await;
    assert_eq!(titles, ["Public thread", "Members only thread"]);

    // The author's Create, which the group relayed inside its Announce, can
    // be fetched by its id by a member's server, and by nobody else.
    let db = a.db().await;
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(&db),
            "SELECT ap_id FROM outbound_activities WHERE kind = 'Create' ORDER BY id LIMIT 1",
        ),
    )
    .await
    .unwrap()
    .expect("the members-only thread's Create is kept");
    let create_id: String = row.try_get("", "ap_id").unwrap();
    let key = private_key(&b, "bob").await;
    let key_id = format!("http://localhost:{}/u/bob#main-key", b.port);
    let client = reqwest::Client::new();
    let signed = client
        .get(&create_id)
        .headers(signed_get(&create_id, &key_id, &key))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    let create: Value = signed.json().await.unwrap();
    assert_eq!(
        (create["type"].as_str(), create["object"]["name"].as_str()),
        (Some("Create"), Some("Members only thread"))
    );
    let unsigned = client.get(&create_id).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::NOT_FOUND);
}

/// Play bob@B, a real actor whose key the test reads from B's database,
/// sending `activity` to A's shared inbox.
async fn send_as(b: &Instance, a: &Instance, username: &str, activity: &Value) -> StatusCode {
    let inbox = format!("http://localhost:{}/inbox", a.port);
    let key = private_key(b, username).await;
    let key_id = format!("http://localhost:{}/u/{username}#main-key", b.port);
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(activity).unwrap(),
        &key_id,
        &key,
        std::time::SystemTime::now(),
    );
    post_signed(&inbox, activity, headers).await.0
}

#[tokio::test]
async fn hostile_html_from_another_server_is_neutralised_everywhere() {
    each_backend!(
        |backend| hostile_html_from_another_server_is_neutralised_everywhere_on(&backend)
    );
}

async fn hostile_html_from_another_server_is_neutralised_everywhere_on(backend: &Backend) {
    // Bob on B (played by the test, signing with his real key) sends
    // hostile HTML to the group on A, which relays it to Carol's server C.
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("peers", "ann")
        .server("b")
        .member("bob")
        .joins("bob", "peers@a")
        .server("c")
        .member("carol")
        .joins("carol", "peers@a")
        .start(backend)
        .await;
    let (a, b, c) = (
        &rig.at("a").instance,
        &rig.at("b").instance,
        &rig.at("c").instance,
    );
    let (ann, carol) = (
        rig.at("a").token("ann").to_owned(),
        rig.at("c").token("carol").to_owned(),
    );
    let group = rig.at("a").group_url("peers");

    let payloads = include_str!("../crates/hearth-domain/tests/xss_payloads.txt");
    let hostile: String = payloads
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n<p>between</p>\n");
    let bob_id = format!("http://localhost:{}/u/bob", b.port);
    let page_id = format!("{bob_id}/pages/1");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_id}/create/1"),
        "type": "Create",
        "actor": bob_id,
        "object": {
            "id": page_id,
            "type": "Page",
            "attributedTo": bob_id,
            "audience": group,
            "to": [group],
            "name": "<b>Title</b><script>alert(1)</script>",
            "content": hostile,
            "mediaType": "text/html",
        },
    });
    assert_eq!(send_as(b, a, "bob", &create).await, StatusCode::ACCEPTED);

    let bad = [
        "<script",
        "javascript:",
        "vbscript:",
        "<iframe",
        "<object",
        "<embed",
        "<svg",
        "<math",
        "<style",
        "<img",
        "<form",
        "<base",
        "<meta",
        "<link",
        "style=",
        "srcdoc",
        " onerror",
        " onload",
        " onclick",
        " onmouseover",
        " onfocus",
        " ontoggle",
    ];
    let handle = format!("@peers@localhost:{}", a.port);
    for (name, instance, token) in [("A", &a, &ann), ("C", &c, &carol)] {
        let thread = wait_until(&format!("the post on {name}"), || {
            thread_on(instance, token, &handle, &page_id)
        })
        .await;
        let html = thread["body_html"].as_str().unwrap().to_ascii_lowercase();
        assert!(html.contains("between"), "{name}: content kept");
        for pattern in bad {
            assert!(
                !html.contains(pattern),
                "{name}: `{pattern}` survived in {html}"
            );
        }
        assert_eq!(
            thread["title"], "Title",
            "{name}: tags stripped from the title"
        );
    }
}

#[tokio::test]
async fn a_public_post_from_a_non_member_is_rejected_unless_the_group_welcomes_outside_posts() {
    each_backend!(|backend| {
        a_public_post_from_a_non_member_is_rejected_unless_the_group_welcomes_outside_posts_on(
            &backend,
        )
    });
}

async fn a_public_post_from_a_non_member_is_rejected_unless_the_group_welcomes_outside_posts_on(
    backend: &Backend,
) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let b = Instance::start(backend, Options::default().registration("open")).await;
    let ann = member(&a, "ann").await;
    member(&b, "rosa").await;
    a.post(
        "/api/v1/groups",
        Some(&ann),
        json!({"name": "closed", "title": "Members only", "join_policy": "open"}),
    )
    .await;
    a.post(
        "/api/v1/groups",
        Some(&ann),
        json!({"name": "welcoming", "title": "Open door", "join_policy": "open", "allow_outside_posts": true, "visibility": "public"}),
    )
    .await;
    let rosa = format!("http://localhost:{}/u/rosa", b.port);
    // A Mastodon-style public Note that mentions the group.
    let note = |group: &str, n: u32| {
        let group_url = format!("http://localhost:{}/g/{group}", a.port);
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{rosa}/statuses/{n}/activity"),
            "type": "Create",
            "actor": rosa,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [group_url],
            "object": {
                "id": format!("{rosa}/statuses/{n}"),
                "type": "Note",
                "attributedTo": rosa,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [group_url],
                "content": format!("<p><span class=\"h-card\"><a href=\"{group_url}\" class=\"u-url mention\">@<span>{group}</span></a></span> Does anyone else get brain fog after infusions?</p>"),
                "tag": [{"type": "Mention", "href": group_url, "name": format!("@{group}@localhost:{}", a.port)}],
            },
        })
    };

    assert_eq!(
        send_as(&b, &a, "rosa", &note("closed", 1)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send_as(&b, &a, "rosa", &note("welcoming", 2)).await,
        StatusCode::ACCEPTED
    );

    // The closed group stored nothing and answered with Reject.
    let closed = a.get("/api/v1/posts?group=closed", Some(&ann)).await;
    assert_eq!(closed.body["items"].as_array().unwrap().len(), 0);
    let db = a.db().await;
    let rejects = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(&db),
            "SELECT COUNT(*) AS n FROM outbound_activities WHERE kind = 'Reject'",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(rejects.try_get::<i64>("", "n").unwrap(), 1);

    // The welcoming group took it as a new thread, titled from its words.
    let welcoming = a.get("/api/v1/posts?group=welcoming", Some(&ann)).await;
    let items = welcoming.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", welcoming.text);
    assert!(
        items[0]["title"].as_str().unwrap().contains("brain fog"),
        "{}",
        items[0]
    );
    assert_eq!(items[0]["visibility"], "public");
    assert_eq!(
        items[0]["author"]["handle"],
        format!("rosa@localhost:{}", b.port)
    );
}

/// A reaction is the group's own business: addressed to the group only,
/// never to the public (even under a public thread), and fetched by its id
/// only by the servers it went to.
#[tokio::test]
async fn a_reaction_stays_within_the_group_even_under_a_public_thread() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .public_group("peers", "ann")
        .server("b")
        .member("bob")
        .joins("bob", "peers@a")
        .server("c")
        .member("cid")
        .start(&Backend::Sqlite)
        .await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("peers@a");
    let thread = a
        .write(
            "ann",
            "peers",
            json!({"title": "Told my boss today", "visibility": "public"}),
        )
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let on_b = b.wait_thread("bob", &handle, &url).await;
    let id_b = on_b["id"].as_str().unwrap();
    let given = b
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_b}/reactions/me-too"),
            Some("bob"),
            None,
        )
        .await;
    assert_eq!(given.status, StatusCode::NO_CONTENT, "{}", given.text);
    wait_until("bob's reaction on A", || async {
        a.thread(Some("ann"), "peers", &url)
            .await
            .filter(|t| t["reactions"] == json!([{"reaction": "me-too", "count": 1}]))
    })
    .await;

    // Nothing about it, on either server, is addressed to the public.
    let public = "%https://www.w3.org/ns/activitystreams#Public%";
    for server in [a, b] {
        let addressed = server
            .instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM outbound_activities WHERE body LIKE '%\"Like\"%' AND body LIKE '{public}'"
            ))
            .await;
        assert_eq!(
            addressed, 0,
            "a reaction addressed to the public on {}",
            server.name
        );
    }
    let like = b
        .instance
        .text("SELECT ap_id FROM outbound_activities WHERE kind = 'Like'")
        .await
        .unwrap();
    // Fetched by its id: the group's server may; nobody else, even though
    // the thread itself is public.
    assert_eq!(a.fetch_as("ann", &like).await.0, StatusCode::OK);
    assert_eq!(c.fetch_as("cid", &like).await.0, StatusCode::NOT_FOUND);
    let anonymous = reqwest::Client::new()
        .get(support::rig::to_loopback(&like))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        c.fetch_as("cid", &url).await.0,
        StatusCode::OK,
        "the thread itself is public"
    );
}

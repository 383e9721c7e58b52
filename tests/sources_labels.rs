//! Sources and moderators' labels: sources are checked field by field,
//! counted by independent site and filtered on; a label set by a moderator
//! on the group's server (A) shows on B and C and comes off everywhere;
//! nobody but the group's moderators can label (a member of another
//! server signing a label straight to an inbox is refused, and an
//! author's own edit neither adds nor removes one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{Rig, Scene};
use support::{Backend, wait_until};

fn fields(answer: &support::Answer) -> Vec<String> {
    answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

fn urls(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sources_are_checked_counted_and_filtered() {
    each_backend!(|backend| sources_on(&backend));
}

async fn sources_on(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("max")
        .public_group("circle", "ann")
        .joins("max", "circle@a")
        .start(backend)
        .await;
    let a = rig.at("a");

    // Two sources on one site (www. and case do not make another) and one
    // elsewhere: two independent sources, in the author's order.
    let thread = a
        .write(
            "max",
            "circle",
            json!({
                "title": "What helps with fatigue",
                "support_kind": "general-knowledge",
                "visibility": "public",
                "sources": [
                    {"url": "https://www.NHS.uk/conditions/fatigue", "title": "NHS: fatigue", "type": "guideline"},
                    {"url": "https://nhs.uk/live-well/sleep", "title": "NHS: sleep", "type": "patient-organisation"},
                    {"url": "https://pubmed.ncbi.nlm.nih.gov/123/", "title": "A trial", "type": "peer-reviewed"},
                ],
            }),
        )
        .await;
    assert_eq!(thread["independent_sources"], 2, "{thread}");
    let sources = thread["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3);
    assert_eq!(sources[0]["title"], "NHS: fatigue");
    assert_eq!(sources[0]["type"], "guideline");
    assert_eq!(sources[2]["type"], "peer-reviewed");
    assert!(thread["label"].is_null());

    // Each bad field is named with its row; nothing is written.
    let bad = a
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("max"),
            Some(json!({
                "group": "circle",
                "title": "Bad sources",
                "support_kind": "resource",
                "sources": [
                    {"url": "https://ok.example/a", "title": "Fine", "type": "news"},
                    {"url": "javascript:alert(1)", "title": "", "type": "rumour"},
                ],
            })),
        )
        .await;
    bad.assert_problem(422, "validation-failed");
    assert_eq!(
        fields(&bad),
        ["sources[1].url", "sources[1].title", "sources[1].type"]
    );
    // Only general knowledge and resources list sources.
    let wrong_kind = a
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("max"),
            Some(json!({
                "group": "circle",
                "title": "Feeling low",
                "support_kind": "emotional",
                "sources": [{"url": "https://ok.example/a", "title": "A", "type": "news"}],
            })),
        )
        .await;
    wrong_kind.assert_problem(422, "validation-failed");
    assert_eq!(fields(&wrong_kind), ["sources"]);
    // At most ten.
    let many: Vec<Value> = (0..11)
        .map(|i| json!({"url": format!("https://s{i}.example/"), "title": "T", "type": "news"}))
        .collect();
    let too_many = a
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("max"),
            Some(json!({"group": "circle", "title": "Many", "support_kind": "resource", "sources": many})),
        )
        .await;
    too_many.assert_problem(422, "validation-failed");
    assert_eq!(fields(&too_many), ["sources"]);

    // The filter lists only threads with sources.
    let plain = a
        .write(
            "max",
            "circle",
            json!({"title": "My week", "visibility": "public"}),
        )
        .await;
    let all = a
        .api(Method::GET, "/api/v1/posts?group=circle", Some("max"), None)
        .await;
    assert_eq!(urls(&all.body).len(), 2, "{}", all.text);
    let with = a
        .api(
            Method::GET,
            "/api/v1/posts?group=circle&with_sources=true",
            Some("max"),
            None,
        )
        .await;
    assert_eq!(urls(&with.body), [thread["url"].as_str().unwrap()]);
    // And on the web page, as a link.
    let page = a
        .instance
        .get("/groups/circle?with_sources=true", None)
        .await
        .text;
    assert!(page.contains("What helps with fatigue"), "{page}");
    assert!(!page.contains("My week"), "{page}");
    assert!(page.contains("2 independent sources"), "{page}");
    let page = a.instance.get("/groups/circle", None).await.text;
    assert!(page.contains("Show only posts with sources"), "{page}");

    // An edit that leaves sources out keeps them; an empty list removes them.
    let id = thread["id"].as_str().unwrap();
    let kept = a
        .api(
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some("max"),
            Some(json!({"body": "Updated words."})),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    assert_eq!(kept.body["sources"].as_array().unwrap().len(), 3);
    let removed = a
        .api(
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some("max"),
            Some(json!({"sources": []})),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    assert_eq!(removed.body["independent_sources"], 0);
    let with = a
        .api(
            Method::GET,
            "/api/v1/posts?group=circle&with_sources=true",
            Some("max"),
            None,
        )
        .await;
    assert!(urls(&with.body).is_empty(), "{}", with.text);

    // Labels: moderators only; bad input named; logged.
    let plain_id = plain["id"].as_str().unwrap();
    let label_path = format!("/api/v1/posts/{plain_id}/label");
    a.api(
        Method::PUT,
        &label_path,
        Some("max"),
        Some(json!({"kind": "disputed", "note": "Not so"})),
    )
    .await
    .assert_problem(403, "forbidden");
    let bad = a
        .api(
            Method::PUT,
            &label_path,
            Some("ann"),
            Some(json!({"kind": "wrong", "note": "", "link": "ftp://x.example"})),
        )
        .await;
    bad.assert_problem(422, "validation-failed");
    assert_eq!(fields(&bad), ["kind", "note", "link"]);
    let labelled = a
        .api(
            Method::PUT,
            &label_path,
            Some("ann"),
            Some(json!({"kind": "needs-sources", "note": "Where is this from?", "link": "https://www.nhs.uk/"})),
        )
        .await;
    assert_eq!(labelled.status, StatusCode::OK, "{}", labelled.text);
    assert_eq!(labelled.body["label"]["kind"], "needs-sources");
    assert_eq!(labelled.body["label"]["note"], "Where is this from?");
    assert_eq!(labelled.body["label"]["link"], "https://www.nhs.uk/");
    // Its author is told, once, in words; the same label again tells
    // nothing new.
    let again = a
        .api(
            Method::PUT,
            &label_path,
            Some("ann"),
            Some(json!({"kind": "needs-sources", "note": "Where is this from?", "link": "https://www.nhs.uk/"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let told = a
        .api(Method::GET, "/api/v1/notifications", Some("max"), None)
        .await;
    let labels: Vec<&Value> = told.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "post_labelled")
        .collect();
    assert_eq!(labels.len(), 1, "{}", told.text);
    assert_eq!(labels[0]["detail"], "needs-sources", "{}", told.text);
    assert_eq!(labels[0]["post_id"], plain_id, "{}", told.text);
    let page = a
        .logged_in("max")
        .await
        .get(a.instance.url("/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("put a label on your post: \u{201c}Needs sources\u{201d}"),
        "{page}"
    );
    let log = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/moderation_log",
            Some("ann"),
            None,
        )
        .await;
    assert!(log.text.contains("label_post"), "{}", log.text);
    let gone = a.api(Method::DELETE, &label_path, Some("ann"), None).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert!(gone.body["label"].is_null());
    let log = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/moderation_log",
            Some("ann"),
            None,
        )
        .await;
    assert!(log.text.contains("unlabel_post"), "{}", log.text);
}

/// A hosts `circle` (ann moderates); bea (B) and cai (C) are members.
async fn three(backend: &Backend) -> Rig {
    Scene::new()
        .server("a")
        .member("ann")
        .public_group("circle", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .server("c")
        .member("cai")
        .joins("cai", "circle@a")
        .start(backend)
        .await
}

/// Wait until the thread `url` as `member` of `server` sees it satisfies
/// `check`.
async fn wait_label(
    rig: &Rig,
    server: &str,
    member: &str,
    url: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let group = if server == "a" {
        "circle".to_owned()
    } else {
        rig.handle("circle@a")
    };
    wait_until(&format!("{what} on {server}"), || async {
        rig.at(server)
            .thread(Some(member), &group, url)
            .await
            .filter(|t| check(t))
    })
    .await
}

#[tokio::test]
async fn a_moderators_label_shows_on_every_server_and_comes_off() {
    let rig = three(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");
    // bea, on B, writes a thread with sources in A's group.
    let thread = b
        .write(
            "bea",
            &handle,
            json!({
                "title": "Cold water cures fatigue",
                "support_kind": "general-knowledge",
                "visibility": "public",
                "sources": [{"url": "https://blog.example/cold", "title": "My blog", "type": "personal-experience"}],
            }),
        )
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    // The sources travel with it.
    let on_c = wait_label(&rig, "c", "cai", &url, "the thread", |_| true).await;
    assert_eq!(on_c["independent_sources"], 1, "{on_c}");
    assert_eq!(on_c["sources"][0]["title"], "My blog");
    assert!(
        !on_c["body_html"].as_str().unwrap().contains("Sources ("),
        "the readable list is not shown twice: {on_c}"
    );
    let on_a = wait_label(&rig, "a", "ann", &url, "the thread", |_| true).await;
    let id_a = on_a["id"].as_str().unwrap().to_owned();

    // ann, moderator on A, labels it disputed: B and C show it.
    let labelled = a
        .api(
            Method::PUT,
            &format!("/api/v1/posts/{id_a}/label"),
            Some("ann"),
            Some(json!({
                "kind": "disputed",
                "note": "This goes against what the trials found.",
                "link": "https://www.nice.org.uk/guidance/ng206",
            })),
        )
        .await;
    assert_eq!(labelled.status, StatusCode::OK, "{}", labelled.text);
    for (server, member) in [("b", "bea"), ("c", "cai")] {
        let seen = wait_label(&rig, server, member, &url, "the label", |t| {
            t["label"]["kind"] == "disputed"
        })
        .await;
        assert_eq!(
            seen["label"]["note"],
            "This goes against what the trials found."
        );
        assert_eq!(
            seen["label"]["link"],
            "https://www.nice.org.uk/guidance/ng206"
        );
    }
    // The post page shows it in words.
    let id_c = wait_label(&rig, "c", "cai", &url, "the label", |_| true).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = c.instance.get(&format!("/posts/{id_c}"), None).await.text;
    assert!(
        page.contains("may not be accurate") && page.contains("what the trials found"),
        "{page}"
    );

    // The author's own edit neither removes the label…
    let id_b = thread["id"].as_str().unwrap();
    let edited = b
        .api(
            Method::PATCH,
            &format!("/api/v1/posts/{id_b}"),
            Some("bea"),
            Some(json!({"body": "It worked for me, anyway."})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    let after = wait_label(&rig, "c", "cai", &url, "the edit", |t| {
        t["body_html"]
            .as_str()
            .is_some_and(|h| h.contains("worked for me"))
    })
    .await;
    assert_eq!(after["label"]["kind"], "disputed", "{after}");
    let on_a = a.thread(Some("ann"), "circle", &url).await.unwrap();
    assert_eq!(on_a["label"]["kind"], "disputed", "{on_a}");
    assert!(
        !on_a["body_html"].as_str().unwrap().contains("Disputed by"),
        "the readable label is not kept as words: {on_a}"
    );

    // …nor, signed by the author straight to the group, swaps it.
    let forged_edit = json!({
        "id": b.id("/activities/own-label"),
        "type": "Update",
        "actor": b.actor("bea"),
        "to": [a.group_url("circle"), "https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": url,
            "type": "Page",
            "attributedTo": b.actor("bea"),
            "audience": a.group_url("circle"),
            "to": [a.group_url("circle"), "https://www.w3.org/ns/activitystreams#Public"],
            "name": "Cold water cures fatigue",
            "content": "<p>It worked for me, anyway.</p>",
            "supportKind": "general-knowledge",
            "label": null,
        }
    });
    let _ = b
        .send_as(
            "bea",
            &format!("{}/inbox", a.group_url("circle")),
            &forged_edit,
        )
        .await;
    let on_a = a.thread(Some("ann"), "circle", &url).await.unwrap();
    assert_eq!(on_a["label"]["kind"], "disputed", "{on_a}");

    // cai, who moderates nothing, signs a label of their own: refused by
    // the group and by B, and nothing changes.
    let hostile_label = |id: &str| {
        json!({
            "id": c.id(&format!("/activities/{id}")),
            "type": "Update",
            "actor": c.actor("cai"),
            "to": [a.group_url("circle"), "https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": url,
                "type": "Page",
                "attributedTo": b.actor("bea"),
                "audience": a.group_url("circle"),
                "to": [a.group_url("circle")],
                "name": "Cold water cures fatigue",
                "content": "<p>x</p>",
                "label": {"labelType": "needs-sources", "content": "fake", "attributedTo": c.actor("cai")},
            }
        })
    };
    let (status, body) = c
        .send_as(
            "cai",
            &format!("{}/inbox", a.group_url("circle")),
            &hostile_label("fake-1"),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, body) = c.send_as("cai", &b.inbox(), &hostile_label("fake-2")).await;
    assert!(status.is_client_error(), "{status} {body}");
    for (server, member) in [("a", "ann"), ("b", "bea")] {
        let group = if server == "a" {
            "circle".to_owned()
        } else {
            handle.clone()
        };
        let t = rig
            .at(server)
            .thread(Some(member), &group, &url)
            .await
            .unwrap();
        assert_eq!(t["label"]["kind"], "disputed", "{server}: {t}");
        assert_eq!(
            t["label"]["note"],
            "This goes against what the trials found."
        );
    }

    // Taken off on A: gone on B and C.
    let gone = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id_a}/label"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    for (server, member) in [("b", "bea"), ("c", "cai")] {
        wait_label(&rig, server, member, &url, "the label gone", |t| {
            t["label"].is_null()
        })
        .await;
    }
}

#[tokio::test]
async fn the_web_edit_form_shows_a_threads_sources_and_changes_them() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .public_group("circle", "ann")
        .start(&Backend::Sqlite)
        .await;
    let a = rig.at("a");
    let thread = a
        .write(
            "ann",
            "circle",
            json!({
                "title": "Pacing",
                "support_kind": "general-knowledge",
                "sources": [{"url": "https://www.nhs.uk/conditions/fatigue", "title": "NHS: fatigue", "type": "guideline"}],
            }),
        )
        .await;
    let id = thread["id"].as_str().unwrap().to_owned();
    let browser = a.logged_in("ann").await;
    let edit = a.instance.url(&format!("/posts/{id}/edit"));
    let form = browser.get(&edit).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    assert!(
        form.contains("NHS: fatigue") && form.contains("https://www.nhs.uk/conditions/fatigue"),
        "{form}"
    );

    // A bad address is named on its row, and nothing changes.
    let send = |url: &'static str, title: &'static str| {
        let csrf = support::csrf_of(&form);
        browser.post(&edit).form(&[
            ("csrf", csrf),
            ("action", "save".to_owned()),
            ("title", "Pacing".to_owned()),
            ("body", "Rest before you tire.".to_owned()),
            ("support_kind", "general-knowledge".to_owned()),
            ("source-0-url", url.to_owned()),
            ("source-0-title", title.to_owned()),
            ("source-0-type", "peer-reviewed".to_owned()),
        ])
    };
    let refused = send("javascript:alert(1)", "A trial").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("href=\"#source-0-url\""), "{page}");
    let kept = a
        .api(
            Method::GET,
            &format!("/api/v1/posts/{id}"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(
        kept.body["sources"][0]["title"], "NHS: fatigue",
        "{}",
        kept.text
    );

    let saved = send("https://pubmed.ncbi.nlm.nih.gov/123/", "A trial")
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_redirection(), "{}", saved.status());
    let changed = a
        .api(
            Method::GET,
            &format!("/api/v1/posts/{id}"),
            Some("ann"),
            None,
        )
        .await;
    let sources = changed.body["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{}", changed.text);
    assert_eq!(sources[0]["title"], "A trial");
    assert_eq!(sources[0]["type"], "peer-reviewed");
}

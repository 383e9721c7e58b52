//! A member's data export and the audit log of privileged reads, through
//! real servers: the archive holds all of a member's own data and nothing
//! anybody else wrote; only the member (or an admin, recorded in the audit
//! log the member reads) gets it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::io::Read;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{PASSWORD, Scene};
use support::{Backend, Instance, Options};

/// Every file of a `.zip`, as text.
fn unzip(bytes: &[u8]) -> HashMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        files.insert(file.name().unwrap().to_string(), text);
    }
    files
}

/// GET `path` with a bearer token: status, headers and body bytes.
async fn download(
    instance: &Instance,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(instance.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn export_holds_all_of_a_members_data_and_nothing_of_anyone_elses() {
    each_backend!(|backend| export_holds_all_and_nothing_else_on(&backend));
}

async fn export_holds_all_and_nothing_else_on(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("olga")
        .group("circle", "olga")
        .server("b")
        .member("bea")
        .group("far", "bea")
        .start(backend)
        .await;
    rig.join("a", "ann", "circle@a").await;
    rig.join("a", "ann", "far@b").await;
    let a = rig.at("a");

    // Olga's words (OLGA…) and Ann's (ANN…) side by side in one group.
    let olgas = a
        .write(
            "olga",
            "circle",
            json!({"title": "OLGATITLE thread", "body": "OLGABODY words"}),
        )
        .await;
    let olgas_id = olgas["id"].as_str().unwrap();
    let anns_reply = a.reply("ann", olgas_id, "ANNREPLY to Olga").await;
    let anns = a
        .write(
            "ann",
            "circle",
            json!({"title": "ANNTITLE thread", "body": "ANNBODY words"}),
        )
        .await;
    let anns_id = anns["id"].as_str().unwrap();
    let olgas_reply = a.reply("olga", anns_id, "OLGAREPLY to Ann").await;
    for (member, post) in [("ann", olgas_id), ("olga", anns_id)] {
        let reacted = a
            .api(
                Method::POST,
                &format!("/api/v1/posts/{post}/reactions/hug"),
                Some(member),
                None,
            )
            .await;
        assert!(reacted.status.is_success(), "{}", reacted.text);
    }
    // Deleted posts are not in it.
    let gone = a
        .write(
            "ann",
            "circle",
            json!({"title": "ANNDELETED thread", "body": "ANNDELETED words"}),
        )
        .await;
    let deleted = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{}", gone["id"].as_str().unwrap()),
            Some("ann"),
            None,
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.text);

    // A post the group's moderator (Olga) removed: still Ann's words, kept
    // here for a while, so in her export; the moderator's reason is not.
    let removed = a
        .write(
            "ann",
            "circle",
            json!({"title": "ANNREMOVED thread", "body": "ANNREMOVED words"}),
        )
        .await;
    let done = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{}/remove", removed["id"].as_str().unwrap()),
            Some("olga"),
            Some(json!({"reason": "OLGAREASON off topic"})),
        )
        .await;
    assert!(done.status.is_success(), "{}", done.text);
    // A post waiting for a moderator (Ann joined minutes ago): hers too.
    let set = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/premoderation",
            Some("olga"),
            Some(json!({"new_member_days": 7})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let waiting = a
        .write(
            "ann",
            "circle",
            json!({"title": "ANNWAITING thread", "body": "ANNWAITING words"}),
        )
        .await;

    let (status, headers, bytes) =
        download(&a.instance, "/api/v1/me/export", Some(a.token("ann"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"hearth-ann-")
            && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let files = unzip(&bytes);
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "actor.json",
            "index.html",
            "likes.json",
            "memberships.json",
            "notifications.json",
            "outbox.json"
        ]
    );

    // Nothing anybody else wrote, in any file.
    for (name, text) in &files {
        assert!(!text.contains("OLGA"), "{name} holds Olga's words: {text}");
        assert!(!text.contains("ANNDELETED"), "{name} holds a deleted post");
    }

    let json = |name: &str| -> Value { serde_json::from_str(&files[name]).unwrap() };
    let actor = json("actor.json");
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "ann");

    // The thread, the reply, the removed and the waiting post, each with its group; the
    // reply names the post it answers by id.
    let outbox = json("outbox.json");
    let items = outbox["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{outbox:#}");
    let held = items
        .iter()
        .map(|c| &c["object"])
        .find(|o| o["id"] == waiting["url"])
        .expect("the waiting post");
    assert_eq!(held["hearth:state"], "waiting");
    assert!(held["content"].as_str().unwrap().contains("ANNWAITING"));
    let gone = items
        .iter()
        .map(|c| &c["object"])
        .find(|o| o["id"] == removed["url"])
        .expect("the removed post");
    assert_eq!(gone["hearth:state"], "removed");
    assert!(gone["content"].as_str().unwrap().contains("ANNREMOVED"));
    assert!(
        items
            .iter()
            .all(|c| c["type"] == "Create" && c["object"]["audience"] == a.group_url("circle"))
    );
    let reply = items
        .iter()
        .map(|c| &c["object"])
        .find(|o| o["id"] == anns_reply["url"])
        .expect("the reply");
    assert!(reply["content"].as_str().unwrap().contains("ANNREPLY"));
    assert_eq!(reply["inReplyTo"], olgas["url"]);
    let thread = items
        .iter()
        .map(|c| &c["object"])
        .find(|o| o["id"] == anns["url"])
        .expect("the thread");
    assert_eq!(thread["name"], "ANNTITLE thread");
    assert_eq!(thread["hearth:state"], "published");

    let likes = json("likes.json");
    let likes = likes["orderedItems"].as_array().unwrap();
    assert_eq!(likes.len(), 1);
    assert_eq!(likes[0]["object"], olgas["url"]);
    assert_eq!(likes[0]["content"], "hug");

    let memberships = json("memberships.json");
    let groups: Vec<&str> = memberships["orderedItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["hearth:handle"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&rig.handle("circle@a").trim_start_matches('@')),
        "{groups:?}"
    );
    assert!(
        groups.contains(&rig.handle("far@b").trim_start_matches('@')),
        "{groups:?}"
    );

    // Olga's reply and reaction, named by who and which post only.
    let notifications = json("notifications.json");
    let notifications = notifications["orderedItems"].as_array().unwrap();
    let told = |kind: &str| {
        notifications
            .iter()
            .find(|n| n["hearth:kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} notification: {notifications:#?}"))
    };
    let replied = told("reply");
    assert_eq!(replied["actor"], a.actor("olga"));
    assert!(
        replied["object"] == olgas_reply["url"] || replied["object"] == anns["url"],
        "{replied}"
    );
    assert_eq!(told("reaction")["hearth:reaction"], "hug");

    let index = &files["index.html"];
    assert!(
        index.contains("ANNTITLE thread") && index.contains("ANNREPLY"),
        "{index}"
    );

    // Olga's own export holds her words, and none of Ann's.
    let (status, _, bytes) =
        download(&a.instance, "/api/v1/me/export", Some(a.token("olga"))).await;
    assert_eq!(status, StatusCode::OK);
    let files = unzip(&bytes);
    assert!(files["outbox.json"].contains("OLGABODY"));
    for (name, text) in &files {
        assert!(
            !text.contains("OLGAREASON"),
            "{name} holds a removal's reason"
        );
        assert!(!text.contains("ANN"), "{name} holds Ann's words: {text}");
    }
}

#[tokio::test]
async fn only_the_member_gets_their_export_and_admins_exports_are_audited() {
    each_backend!(|backend| only_the_member_and_audited_on(&backend));
}

async fn only_the_member_and_audited_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    hearth.create_user("ruth", PASSWORD, &["--admin"]);
    let root = hearth.login("ruth", PASSWORD).await;
    hearth.register("ann", PASSWORD).await;
    hearth.register("olga", PASSWORD).await;
    let ann = hearth.login("ann", PASSWORD).await;
    let olga = hearth.login("olga", PASSWORD).await;
    let ann_id = hearth
        .scalar("SELECT id FROM users WHERE username = 'ann'")
        .await;
    let created = hearth
        .post(
            "/api/v1/groups",
            Some(&ann),
            json!({"name": "circle", "title": "Circle", "join_policy": "open"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let written = hearth
        .post(
            "/api/v1/posts",
            Some(&ann),
            json!({"group": "circle", "title": "ANNTITLE", "body": "ANNBODY", "support_kind": "experience"}),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);

    // Nobody logged in; another member; a member at the admins' doors.
    hearth
        .get("/api/v1/me/export", None)
        .await
        .assert_problem(401, "not-authenticated");
    let export_ann = format!("/api/v1/admin/accounts/{ann_id}/export");
    for path in [export_ann.as_str(), "/api/v1/admin/audit_log"] {
        hearth
            .get(path, Some(&olga))
            .await
            .assert_problem(403, "forbidden");
    }
    assert_eq!(hearth.scalar("SELECT COUNT(*) FROM audit_log").await, 0);

    // An admin over the API, then the operator at the shell.
    let (status, headers, bytes) = download(
        &hearth,
        &format!("{export_ann}?reason=asked%20by%20letter"),
        Some(&root),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(unzip(&bytes)["outbox.json"].contains("ANNBODY"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ann.zip");
    let out = out.to_str().unwrap();
    let (ok, stdout, stderr) = hearth.run(
        &[
            "admin",
            "export-user",
            "ann",
            "--out",
            out,
            "--reason",
            "by phone",
        ],
        "",
    );
    assert!(ok.success(), "{stdout}{stderr}");
    assert!(stdout.contains("audit log"), "{stdout}");
    assert!(unzip(&std::fs::read(out).unwrap())["outbox.json"].contains("ANNBODY"));
    // Errors name the field; neither is recorded.
    let (ok, _, stderr) = hearth.run(&["admin", "export-user", "ann", "--out", out], "");
    assert!(!ok.success());
    assert!(stderr.contains("out: "), "{stderr}");
    let other = dir.path().join("nobody.zip");
    let (ok, _, stderr) = hearth.run(
        &[
            "admin",
            "export-user",
            "nobody",
            "--out",
            other.to_str().unwrap(),
        ],
        "",
    );
    assert!(!ok.success());
    assert!(stderr.contains("username: "), "{stderr}");
    assert!(!other.exists());

    // The admins read both lines; Ann reads the lines about her; Olga none.
    let log = hearth.get("/api/v1/admin/audit_log", Some(&root)).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", log.text);
    assert_eq!(items[0]["by"], "server operator (command line)");
    assert_eq!(items[0]["reason"], "by phone");
    assert_eq!(items[1]["by"], "ruth");
    assert_eq!(items[1]["reason"], "asked by letter");
    assert!(
        items
            .iter()
            .all(|e| e["member"] == "ann" && e["action"] == "export")
    );
    let mine = hearth.get("/api/v1/me/audit_log", Some(&ann)).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2);
    let hers = hearth.get("/api/v1/me/audit_log", Some(&olga)).await;
    assert_eq!(hers.status, StatusCode::OK);
    assert_eq!(hers.body["items"].as_array().unwrap().len(), 0);
    // Paginated as the moderation log is.
    let first = hearth
        .get("/api/v1/admin/audit_log?limit=1", Some(&root))
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = hearth
        .get(
            &format!("/api/v1/admin/audit_log?limit=1&cursor={cursor}"),
            Some(&root),
        )
        .await;
    assert_eq!(second.body["items"][0]["by"], "ruth");
}

#[tokio::test]
async fn a_moderator_reading_a_members_removed_posts_is_written_where_the_member_reads_it() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("olga")
        .group("circle", "olga")
        .joins("ann", "circle@a")
        .start(&Backend::Sqlite)
        .await;
    let a = rig.at("a");
    let post = a
        .write(
            "ann",
            "circle",
            json!({"title": "My new pills", "visibility": "members"}),
        )
        .await;
    let id = post["id"].as_str().unwrap();
    let removed = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id}/remove"),
            Some("olga"),
            Some(json!({"reason": "Names a brand"})),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let before = a
        .api(Method::GET, "/api/v1/me/audit_log", Some("ann"), None)
        .await;
    assert_eq!(before.body["items"], json!([]), "{}", before.text);
    for _ in 0..2 {
        let list = a
            .api(
                Method::GET,
                "/api/v1/groups/circle/removed",
                Some("olga"),
                None,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    }
    let after = a
        .api(Method::GET, "/api/v1/me/audit_log", Some("ann"), None)
        .await;
    let items = after.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "once an hour, not once a view: {}",
        after.text
    );
    assert_eq!(items[0]["action"], "removed_posts");
    assert_eq!(items[0]["by"], "olga");
    // A member who is not a moderator reads nothing, and nothing is written.
    a.api(
        Method::GET,
        "/api/v1/groups/circle/removed",
        Some("ann"),
        None,
    )
    .await
    .assert_problem(403, "forbidden");
    let olga = a
        .api(Method::GET, "/api/v1/me/audit_log", Some("olga"), None)
        .await;
    assert_eq!(olga.body["items"], json!([]), "{}", olga.text);
}

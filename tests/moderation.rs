//! Moderation that federates, across three real Hearth servers on
//! loopback: A hosts the group; B and C carry it for their members. What a
//! moderator does on A (lock, removal, ban with content removal, the
//! moderator role) must hold on B and C; a report filed on C about a post
//! from B reaches A's moderators and B's admins, and the reporter hears
//! back; an expired ban lifts by itself. And the attacker's side: a group
//! server that lies about who moderates it is not believed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{PASSWORD, Rig, Scene};
use support::{Backend, wait_until};

/// A hosts `circle` (ann moderates; max is a member); bea (B) and cai (C)
/// are members from elsewhere. B has an admin, boss. The group allows
/// public posts (pre-moderation must hold those too).
async fn scene(backend: &Backend) -> Rig {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("max")
        .public_group("circle", "ann")
        .joins("max", "circle@a")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .server("c")
        .member("cai")
        .joins("cai", "circle@a")
        .start(backend)
        .await;
    let b = &rig.at("b").instance;
    let (status, _, err) = b.run(
        &[
            "admin",
            "create-user",
            "boss",
            "--admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(status.success(), "{err}");
    rig
}

/// boss's token on B.
async fn boss(rig: &Rig) -> String {
    rig.at("b").instance.login("boss", PASSWORD).await
}

/// The thread `url` as `member` of `server` sees it (waiting for it).
async fn seen(rig: &Rig, server: &str, member: &str, url: &str) -> Value {
    let group = rig.handle("circle@a");
    let group = if server == "a" {
        "circle".into()
    } else {
        group
    };
    rig.at(server).wait_thread(member, &group, url).await
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

/// circle's moderation log on A, as `reader` reads it.
async fn circle_log(rig: &Rig, reader: &str) -> support::Answer {
    rig.at("a")
        .api(
            Method::GET,
            "/api/v1/groups/circle/moderation_log",
            Some(reader),
            None,
        )
        .await
}

/// Wait until the thread `url` is no longer listed for `member` of
/// `server` (removed or deleted).
async fn wait_gone(rig: &Rig, server: &str, member: &str, url: &str) {
    let group = if server == "a" {
        "circle".to_owned()
    } else {
        rig.handle("circle@a")
    };
    wait_until(&format!("the removal on {server}"), || async {
        let list = rig
            .at(server)
            .api(
                Method::GET,
                &format!("/api/v1/posts?group={}", support::rig::urlencode(&group)),
                Some(member),
                None,
            )
            .await;
        let items = list.body["items"].as_array()?.clone();
        (!items.iter().any(|p| p["url"] == url)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_lock_and_a_removal_on_the_groups_server_hold_everywhere() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");
    let thread = b
        .write("bea", &handle, json!({"title": "Fatigue after treatment"}))
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let on_a = seen(&rig, "a", "ann", &url).await;
    let id_a = on_a["id"].as_str().unwrap().to_owned();
    let id_c = seen(&rig, "c", "cai", &url).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id_b = thread["id"].as_str().unwrap().to_owned();

    // Only a moderator locks; a member who is not one is refused.
    let tried = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/lock"),
            Some("max"),
            None,
        )
        .await;
    tried.assert_problem(403, "forbidden");
    let locked = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/lock"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(locked.status, StatusCode::NO_CONTENT, "{}", locked.text);
    wait_seen(&rig, "b", "bea", &url, "the lock", |t| t["locked"] == true).await;
    wait_seen(&rig, "c", "cai", &url, "the lock", |t| t["locked"] == true).await;

    // No new replies anywhere: on C (its own check), and on A even when C
    // sends one anyway (a signed reply straight to the group's inbox).
    let refused = c
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_c}/replies"),
            Some("cai"),
            Some(json!({"body": "me too"})),
        )
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.text);
    let sneaked = json!({
        "id": c.id("/activities/sneaked"),
        "type": "Create",
        "actor": c.actor("cai"),
        "to": [a.group_url("circle")],
        "object": {
            "id": c.id("/p/sneaked"),
            "type": "Note",
            "attributedTo": c.actor("cai"),
            "inReplyTo": url,
            "audience": a.group_url("circle"),
            "to": [a.group_url("circle")],
            "content": "<p>a reply after the lock</p>",
        }
    });
    let (status, body) = c
        .send_as("cai", &format!("{}/inbox", a.group_url("circle")), &sneaked)
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    let thread_a = a.thread(Some("ann"), "circle", &url).await.unwrap();
    assert!(
        thread_a["replies"].as_array().is_none_or(|r| r.is_empty()),
        "{thread_a}"
    );

    // Opened again: replies flow.
    let unlocked = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id_a}/lock"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(unlocked.status, StatusCode::NO_CONTENT, "{}", unlocked.text);
    wait_seen(&rig, "c", "cai", &url, "the unlock", |t| {
        t["locked"] == false
    })
    .await;
    c.reply("cai", &id_c, "Rest helped me.").await;

    // Pinned on A: pinned on B and C; unpinned likewise.
    let pin = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/pin"),
            Some("max"),
            None,
        )
        .await;
    pin.assert_problem(403, "forbidden");
    let pin = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/pin"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(pin.status, StatusCode::NO_CONTENT, "{}", pin.text);
    wait_seen(&rig, "b", "bea", &url, "the pin", |t| t["pinned"] == true).await;
    wait_seen(&rig, "c", "cai", &url, "the pin", |t| t["pinned"] == true).await;
    let unpin = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id_a}/pin"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(unpin.status, StatusCode::NO_CONTENT, "{}", unpin.text);
    wait_seen(&rig, "c", "cai", &url, "the unpin", |t| {
        t["pinned"] == false
    })
    .await;

    // A removal needs a reason; with one, it holds on B and C.
    let bare = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/remove"),
            Some("ann"),
            Some(json!({"reason": "  "})),
        )
        .await;
    bare.assert_problem(422, "validation-failed");
    assert_eq!(bare.body["errors"][0]["field"], "reason", "{}", bare.text);
    let removed = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/remove"),
            Some("ann"),
            Some(json!({"reason": "Medical claims without sources"})),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    for (server, member) in [("b", "bea"), ("c", "cai")] {
        wait_gone(&rig, server, member, &url).await;
    }
    let mine = b
        .api(
            Method::GET,
            &format!("/api/v1/posts/{id_b}"),
            Some("bea"),
            None,
        )
        .await;
    assert!(
        mine.status == StatusCode::NOT_FOUND || mine.body["deleted"] == true,
        "{}",
        mine.text
    );

    // The moderator role: max becomes a moderator on A, and B and C learn
    // it from the group (`Add`); when it ends, they learn that too.
    let made = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/moderators/max",
            Some("max"),
            None,
        )
        .await;
    made.assert_problem(403, "forbidden");
    let made = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/moderators/max",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::NO_CONTENT, "{}", made.text);
    let (max, group) = (a.actor("max"), a.group_url("circle"));
    let known = |server: &'static str| {
        let sql = format!(
            "SELECT COUNT(*) FROM remote_moderators WHERE group_ap_id = '{group}' AND person_ap_id = '{max}'"
        );
        let instance = &rig.at(server).instance;
        async move { instance.scalar(&sql).await }
    };
    for server in ["b", "c"] {
        wait_until(&format!("{server} to learn max moderates"), || async {
            (known(server).await == 1).then_some(())
        })
        .await;
    }
    let group_view = a
        .api(Method::GET, "/api/v1/groups/circle", None, None)
        .await;
    assert!(
        group_view.body["moderators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "max"),
        "{}",
        group_view.text
    );
    let ended = a
        .api(
            Method::DELETE,
            "/api/v1/groups/circle/moderators/max",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    for server in ["b", "c"] {
        wait_until(
            &format!("{server} to learn max no longer moderates"),
            || async { (known(server).await == 0).then_some(()) },
        )
        .await;
    }

    // The log: members of the group read it; it says who, what and why.
    let log = circle_log(&rig, "max").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "remove_moderator",
            "add_moderator",
            "remove_post",
            "unpin_thread",
            "pin_thread",
            "unlock_thread",
            "lock_thread"
        ],
        "{}",
        log.text
    );
    assert_eq!(
        log.body["items"][2]["reason"],
        "Medical claims without sources"
    );
    assert_eq!(log.body["items"][2]["moderator"], a.actor("ann"));
}

/// How many removed posts' words `server` keeps.
async fn kept(rig: &Rig, server: &str) -> i64 {
    rig.at(server)
        .instance
        .scalar("SELECT COUNT(*) FROM removed_words")
        .await
}

#[tokio::test]
async fn a_removal_is_undone_everywhere_and_the_authors_delete_erases_what_was_kept() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");
    let title = "Cold hands since starting beta blockers";
    let thread = b.write("bea", &handle, json!({"title": title})).await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let id_b = thread["id"].as_str().unwrap().to_owned();
    let id_a = seen(&rig, "a", "ann", &url).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    seen(&rig, "c", "cai", &url).await;
    let remove = |reason: &'static str| {
        let id = id_a.clone();
        async move {
            let removed = a
                .api(
                    Method::POST,
                    &format!("/api/v1/posts/{id}/remove"),
                    Some("ann"),
                    Some(json!({ "reason": reason })),
                )
                .await;
            assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
        }
    };
    let gone_everywhere = || async {
        for (server, member) in [("a", "max"), ("b", "bea"), ("c", "cai")] {
            wait_gone(&rig, server, member, &url).await;
        }
    };

    // Removed on A: gone for every reader, and its words kept, for the
    // moderators only, on every server that was told.
    remove("Names a medicine brand as a cure").await;
    gone_everywhere().await;
    for server in ["a", "b", "c"] {
        wait_until(&format!("{server} to keep the removed words"), || async {
            (kept(&rig, server).await == 1).then_some(())
        })
        .await;
    }
    let list = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/removed",
            Some("max"),
            None,
        )
        .await;
    list.assert_problem(403, "forbidden");
    let list = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/removed",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body[0]["title"], title, "{}", list.text);
    assert_eq!(list.body[0]["reason"], "Names a medicine brand as a cure");
    // What another server keeps is not read out of it by anyone.
    let on_b = b
        .api(
            Method::GET,
            &format!("/api/v1/posts/{id_b}"),
            Some("bea"),
            None,
        )
        .await;
    assert!(!on_b.text.contains(title), "{}", on_b.text);

    // Only a moderator brings it back; a member who is not one is refused,
    // and so is a person of another server pretending to (an Undo of a
    // Delete that is not theirs, straight to the group).
    let tried = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/restore"),
            Some("max"),
            None,
        )
        .await;
    tried.assert_problem(403, "forbidden");
    let forged = json!({
        "id": c.id("/activities/forged-restore"),
        "type": "Undo",
        "actor": c.actor("cai"),
        "to": [a.group_url("circle")],
        "object": {
            "id": c.id("/activities/forged-restore#delete"),
            "type": "Delete",
            "actor": c.actor("cai"),
            "object": url,
            "summary": "restore it",
        }
    });
    let (status, body) = c
        .send_as("cai", &format!("{}/inbox", a.group_url("circle")), &forged)
        .await;
    assert!(
        status.is_success() || status.is_client_error(),
        "{status} {body}"
    );
    assert_eq!(kept(&rig, "a").await, 1);

    // Brought back on A: back on B and C, with its words, and logged.
    let restored = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/restore"),
            Some("ann"),
            Some(json!({"reason": "The brand was the poster's own experience"})),
        )
        .await;
    assert_eq!(restored.status, StatusCode::NO_CONTENT, "{}", restored.text);
    for (server, member) in [("a", "max"), ("b", "bea"), ("c", "cai")] {
        wait_seen(&rig, server, member, &url, "the restore", |t| {
            t["deleted"] == false && t["title"] == title
        })
        .await;
        wait_until(
            &format!("{server} to stop keeping the words aside"),
            || async { (kept(&rig, server).await == 0).then_some(()) },
        )
        .await;
    }
    let again = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/restore"),
            Some("ann"),
            None,
        )
        .await;
    again.assert_problem(404, "not-found");
    let log = circle_log(&rig, "max").await;
    assert_eq!(
        log.body["items"][0]["action"], "restore_post",
        "{}",
        log.text
    );
    assert_eq!(
        log.body["items"][0]["reason"],
        "The brand was the poster's own experience"
    );
    let told = b
        .instance
        .scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'post_restored'")
        .await;
    assert_eq!(told, 1);

    // Removed again, then deleted by its author on B: the kept words go
    // too, on every server, and nothing can bring the post back.
    remove("Second thoughts").await;
    gone_everywhere().await;
    for server in ["a", "b", "c"] {
        wait_until(&format!("{server} to keep the words again"), || async {
            (kept(&rig, server).await == 1).then_some(())
        })
        .await;
    }
    let deleted = b
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id_b}"),
            Some("bea"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    for server in ["a", "b", "c"] {
        wait_until(&format!("{server} to erase the kept words"), || async {
            (kept(&rig, server).await == 0).then_some(())
        })
        .await;
    }
    let late = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_a}/restore"),
            Some("ann"),
            None,
        )
        .await;
    late.assert_problem(404, "not-found");
}

#[tokio::test]
async fn a_moderator_on_another_server_acts_through_the_group_and_loses_the_power_with_the_role() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");
    let thread = c
        .write("cai", &handle, json!({"title": "Brain fog at work"}))
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let id_b = seen(&rig, "b", "bea", &url).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (bea, group) = (b.actor("bea"), a.group_url("circle"));

    // bea (of B) is made a moderator of circle on A; B learns it, and the
    // group's moderators collection names her.
    let bea_handle = format!("bea@{}", b.authority());
    let made = a
        .api(
            Method::PUT,
            &format!("/api/v1/groups/circle/moderators/{bea_handle}"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::NO_CONTENT, "{}", made.text);
    let on_b = format!(
        "SELECT COUNT(*) FROM remote_moderators WHERE group_ap_id = '{group}' AND person_ap_id = '{bea}'"
    );
    wait_until("B to learn bea moderates circle", || async {
        (b.instance.scalar(&on_b).await == 1).then_some(())
    })
    .await;
    let (_, collection) = c.fetch_as("cai", &format!("{group}/moderators")).await;
    assert!(collection.contains(&bea), "{collection}");

    // From B, she closes cai's thread: the group takes it from her and
    // tells every member server.
    let locked = b
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_b}/lock"),
            Some("bea"),
            None,
        )
        .await;
    assert_eq!(locked.status, StatusCode::NO_CONTENT, "{}", locked.text);
    wait_seen(&rig, "a", "ann", &url, "bea's lock", |t| {
        t["locked"] == true
    })
    .await;
    wait_seen(&rig, "c", "cai", &url, "bea's lock", |t| {
        t["locked"] == true
    })
    .await;
    let removed = b
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_b}/remove"),
            Some("bea"),
            Some(json!({"reason": "Posted twice"})),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    for (server, member) in [("a", "max"), ("c", "cai")] {
        wait_gone(&rig, server, member, &url).await;
    }
    let log = circle_log(&rig, "ann").await;
    assert_eq!(
        log.body["items"][0]["action"], "remove_post",
        "{}",
        log.text
    );
    assert_eq!(log.body["items"][0]["reason"], "Posted twice");
    assert_eq!(log.body["items"][0]["moderator"], bea);
    assert_eq!(log.body["items"][1]["action"], "lock_thread");

    // Her role ends: B learns it and refuses her, and the group refuses
    // her signed activities (here, bringing the thread back).
    let ended = a
        .api(
            Method::DELETE,
            &format!("/api/v1/groups/circle/moderators/{bea_handle}"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    wait_until("B to learn bea no longer moderates", || async {
        (b.instance.scalar(&on_b).await == 0).then_some(())
    })
    .await;
    let tried = b
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id_b}/restore"),
            Some("bea"),
            None,
        )
        .await;
    tried.assert_problem(403, "forbidden");
    let sneaked = json!({
        "id": b.id("/activities/sneaked-restore"),
        "type": "Undo",
        "actor": bea,
        "to": [group],
        "object": {
            "id": b.id("/activities/sneaked-restore#delete"),
            "type": "Delete",
            "actor": bea,
            "object": url,
            "summary": "Posted twice",
        }
    });
    let (status, body) = b.send_as("bea", &format!("{group}/inbox"), &sneaked).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(a.thread(Some("ann"), "circle", &url).await.is_none());
}

#[tokio::test]
async fn a_ban_with_content_removal_holds_everywhere_and_an_expired_ban_lifts() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");
    let spam = b
        .write("bea", &handle, json!({"title": "Buy my miracle cure"}))
        .await;
    let spam_url = spam["url"].as_str().unwrap().to_owned();
    seen(&rig, "c", "cai", &spam_url).await;
    seen(&rig, "a", "ann", &spam_url).await;

    // A ban needs a reason, and an end in the future.
    let bare = a
        .api(
            Method::POST,
            "/api/v1/groups/circle/bans",
            Some("ann"),
            Some(json!({"person": b.actor("bea")})),
        )
        .await;
    bare.assert_problem(422, "validation-failed");
    assert_eq!(bare.body["errors"][0]["field"], "reason", "{}", bare.text);
    let past = a
        .api(Method::POST, "/api/v1/groups/circle/bans", Some("ann"), Some(json!({"person": b.actor("bea"), "reason": "spam", "expires_at": "2020-01-01T00:00:00Z"})))
        .await;
    past.assert_problem(422, "validation-failed");
    let not_mod = a
        .api(
            Method::POST,
            "/api/v1/groups/circle/bans",
            Some("max"),
            Some(json!({"person": b.actor("bea"), "reason": "spam"})),
        )
        .await;
    not_mod.assert_problem(403, "forbidden");

    let banned = a
        .api(
            Method::POST,
            "/api/v1/groups/circle/bans",
            Some("ann"),
            Some(json!({"person": b.actor("bea"), "reason": "Selling cures", "remove_data": true})),
        )
        .await;
    assert_eq!(banned.status, StatusCode::CREATED, "{}", banned.text);

    // Her thread is gone on A at once, and on B and C once they hear.
    for (server, member) in [("a", "ann"), ("b", "bea"), ("c", "cai")] {
        let group = if server == "a" {
            "circle".to_owned()
        } else {
            handle.clone()
        };
        wait_until(&format!("bea's content gone on {server}"), || async {
            rig.at(server)
                .thread(Some(member), &group, &spam_url)
                .await
                .is_none()
                .then_some(())
        })
        .await;
    }
    // B knows of the ban: bea can neither write in the group nor join it
    // again; and A would refuse her anyway.
    let write = wait_until("B to refuse bea's post", || async {
        let tried = b
            .api(Method::POST, "/api/v1/posts", Some("bea"), Some(json!({"group": handle, "title": "again", "body": "x", "support_kind": "experience"})))
            .await;
        (tried.status == StatusCode::FORBIDDEN).then_some(tried)
    })
    .await;
    assert!(write.text.contains("banned"), "{}", write.text);
    let join = b
        .api(
            Method::POST,
            "/api/v1/memberships",
            Some("bea"),
            Some(json!({"target": handle})),
        )
        .await;
    join.assert_problem(403, "forbidden");
    let bans = a
        .api(Method::GET, "/api/v1/groups/circle/bans", Some("ann"), None)
        .await;
    assert_eq!(bans.body[0]["person"], b.actor("bea"), "{}", bans.text);
    assert_eq!(bans.body[0]["remove_data"], true);

    // A ban that runs out lifts by itself: cai, banned for a moment, takes
    // part again once it is over (no one lifts it).
    let ends = chrono::Utc::now() + chrono::Duration::seconds(3);
    let short = a
        .api(Method::POST, "/api/v1/groups/circle/bans", Some("ann"), Some(json!({"person": c.actor("cai"), "reason": "A pause to cool down", "expires_at": ends.to_rfc3339()})))
        .await;
    assert_eq!(short.status, StatusCode::CREATED, "{}", short.text);
    wait_until("C to hear of cai's ban", || async {
        let tried = c
            .api(Method::POST, "/api/v1/posts", Some("cai"), Some(json!({"group": handle, "title": "during", "body": "x", "support_kind": "experience"})))
            .await;
        (tried.status == StatusCode::FORBIDDEN).then_some(())
    })
    .await;
    // The ban also ended the membership: cai joins again after it ends.
    wait_until("the ban to run out", || async {
        (chrono::Utc::now() > ends).then_some(())
    })
    .await;
    rig.join("c", "cai", "circle@a").await;
    let after = c
        .write("cai", &handle, json!({"title": "Back, and calmer"}))
        .await;
    seen(&rig, "a", "ann", after["url"].as_str().unwrap()).await;

    // Lifting bea's ban by hand: she may join again.
    let lifted = a
        .api(
            Method::DELETE,
            &format!(
                "/api/v1/groups/circle/bans?person={}",
                support::rig::urlencode(&b.actor("bea"))
            ),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(lifted.status, StatusCode::NO_CONTENT, "{}", lifted.text);
    wait_until("B to hear the ban lifted", || async {
        let tried = b
            .api(
                Method::POST,
                "/api/v1/memberships",
                Some("bea"),
                Some(json!({"target": handle})),
            )
            .await;
        (tried.status == StatusCode::OK).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_report_reaches_the_groups_moderators_and_the_authors_admins_and_its_answer_the_reporter()
{
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");
    let thread = b
        .write(
            "bea",
            &handle,
            json!({"title": "Stop your insulin, try this"}),
        )
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let id_c = seen(&rig, "c", "cai", &url).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    seen(&rig, "a", "ann", &url).await;

    // Bad reports name their field.
    let bad = c
        .api(
            Method::POST,
            "/api/v1/reports",
            Some("cai"),
            Some(json!({"post_id": id_c, "category": "rude"})),
        )
        .await;
    bad.assert_problem(422, "validation-failed");
    assert_eq!(bad.body["errors"][0]["field"], "category", "{}", bad.text);
    let other = c
        .api(
            Method::POST,
            "/api/v1/reports",
            Some("cai"),
            Some(json!({"post_id": id_c, "category": "other"})),
        )
        .await;
    assert_eq!(
        other.body["errors"][0]["field"], "comment",
        "{}",
        other.text
    );

    let made = c
        .api(Method::POST, "/api/v1/reports", Some("cai"), Some(json!({"post_id": id_c, "category": "misinformation", "comment": "Dangerous advice about insulin"})))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);

    // A's moderators see it, with the category and the words.
    let on_a = wait_until("the report on A", || async {
        let list = a
            .api(Method::GET, "/api/v1/reports?state=open", Some("ann"), None)
            .await;
        list.body["items"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(on_a["post"], url, "{on_a}");
    assert_eq!(on_a["category"], "misinformation");
    assert_eq!(on_a["comment"], "Dangerous advice about insulin");
    // The reporter stays anonymous to other servers: the Flag came from
    // C's own actor, not from cai.
    let from = on_a["from"].as_str().unwrap();
    assert!(!from.contains("/u/cai"), "{from}");
    // B's admin sees it too (the post is by one of B's members).
    let boss = boss(&rig).await;
    let on_b = wait_until("the report on B", || async {
        let list = b.instance.get("/api/v1/reports", Some(&boss)).await;
        list.body["items"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(on_b["post"], url);
    // A member who moderates nothing has no queue.
    let max = a
        .api(Method::GET, "/api/v1/reports", Some("max"), None)
        .await;
    max.assert_problem(403, "forbidden");

    // A resolves it: C's reporter is told.
    let id = on_a["id"].as_str().unwrap();
    let resolved = a
        .api(
            Method::POST,
            &format!("/api/v1/reports/{id}/resolve"),
            Some("ann"),
            Some(json!({"resolution": "Removed the post and warned the author"})),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    assert_eq!(resolved.body["state"], "resolved");
    let again = a
        .api(
            Method::POST,
            &format!("/api/v1/reports/{id}/resolve"),
            Some("ann"),
            Some(json!({"resolution": "twice"})),
        )
        .await;
    again.assert_problem(422, "validation-failed");
    let told = wait_until("C's reporter to hear back", || async {
        let list = c
            .api(Method::GET, "/api/v1/me/reports", Some("cai"), None)
            .await;
        list.body["items"]
            .as_array()?
            .first()
            .filter(|r| r["state"] == "resolved")
            .cloned()
    })
    .await;
    assert_eq!(told["resolution"], "Removed the post and warned the author");
    let notes = c
        .api(Method::GET, "/api/v1/notifications", Some("cai"), None)
        .await;
    assert!(notes.text.contains("report_resolved"), "{}", notes.text);
}

#[tokio::test]
async fn a_group_server_is_believed_about_its_moderators_only_when_it_announced_them() {
    // A group on the hostile server, which bea (B) joined, relays a
    // removal of one of its threads by cai, a person on C it never named a
    // moderator: B refuses it. Once the group announces cai with `Add` to
    // its moderators collection, the same kind of removal holds.
    let rig = Scene::new()
        .server("b")
        .member("bea")
        .server("c")
        .member("cai")
        .hostile()
        .start(&Backend::Sqlite)
        .await;
    let (b, c) = (rig.at("b"), rig.at("c"));
    let hostile = rig.hostile();
    rig.join("b", "bea", "den@hostile").await;
    let den = rig.handle("den@hostile");
    let group = hostile.group("den");
    let author = hostile.person("dan");
    let post_id = hostile.new_id("p");
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let announce = |inner: Value| {
        json!({
            "id": hostile.new_id("activities"),
            "type": "Announce",
            "actor": group,
            "to": [public],
            "object": inner,
        })
    };
    let create = json!({
        "id": hostile.new_id("activities"),
        "type": "Create",
        "actor": author,
        "to": [group, public],
        "object": {
            "id": post_id, "type": "Page", "name": "A thread", "attributedTo": author,
            "audience": group, "to": [group, public],
            "content": "<p>words</p>",
        }
    });
    let (status, text) = hostile.send(&group, &b.inbox(), &announce(create)).await;
    assert!(status.is_success(), "{status} {text}");
    wait_until("the thread on B", || async {
        b.thread(Some("bea"), &den, &post_id).await
    })
    .await;

    let cai = c.actor("cai");
    let removal = |n: &str| {
        json!({
            "id": format!("{cai}/activities/{n}"),
            "type": "Delete",
            "actor": cai,
            "object": post_id,
            "summary": "Removed by a moderator",
        })
    };
    let (status, text) = hostile
        .send(&group, &b.inbox(), &announce(removal("r1")))
        .await;
    assert!(status.is_client_error(), "{status} {text}");
    let still = b.thread(Some("bea"), &den, &post_id).await;
    assert!(still.is_some(), "a stranger's removal was applied");

    let add = json!({
        "id": hostile.new_id("activities"),
        "type": "Add",
        "actor": author,
        "object": cai,
        "target": format!("{group}/moderators"),
        "to": [public],
    });
    let (status, text) = hostile.send(&group, &b.inbox(), &announce(add)).await;
    assert!(status.is_success(), "{status} {text}");
    let (status, text) = hostile
        .send(&group, &b.inbox(), &announce(removal("r2")))
        .await;
    assert!(status.is_success(), "{status} {text}");
    wait_until("the announced moderator's removal on B", || async {
        b.thread(Some("bea"), &den, &post_id)
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn posts_the_group_holds_wait_for_a_moderator_and_go_nowhere_until_approved() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let handle = rig.handle("circle@a");

    // Only moderators decide what waits; bad settings name their field.
    let tried = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/premoderation",
            Some("max"),
            Some(json!({"new_member_days": 7})),
        )
        .await;
    tried.assert_problem(403, "forbidden");
    let bad = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/premoderation",
            Some("ann"),
            Some(json!({"servers": ["not a server!"]})),
        )
        .await;
    bad.assert_problem(422, "validation-failed");
    assert_eq!(bad.body["errors"][0]["field"], "servers", "{}", bad.text);
    let long = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/premoderation",
            Some("ann"),
            Some(json!({"new_member_days": 1000})),
        )
        .await;
    assert_eq!(
        long.body["errors"][0]["field"], "new_member_days",
        "{}",
        long.text
    );
    let set = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/premoderation",
            Some("ann"),
            Some(json!({"new_member_days": 7})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);

    // cai joined minutes ago: the thread waits on A.
    let new = c
        .write(
            "cai",
            &handle,
            json!({"title": "First time here", "visibility": "public"}),
        )
        .await;
    let url = new["url"].as_str().unwrap().to_owned();
    let held = wait_until("the thread in A's queue", || async {
        let list = a
            .api(Method::GET, "/api/v1/groups/circle/held", Some("ann"), None)
            .await;
        list.body
            .as_array()?
            .iter()
            .find(|p| p["url"] == url.as_str())
            .cloned()
    })
    .await;
    assert_eq!(held["held"], true);
    // Nobody else reads it: not a member on A, not anyone anonymous, not
    // B (nothing was sent); and a member who does not moderate has no
    // queue.
    assert!(a.thread(Some("max"), "circle", &url).await.is_none());
    assert!(a.thread(None, "circle", &url).await.is_none());
    let id = held["id"].as_str().unwrap().to_owned();
    let direct = a
        .api(
            Method::GET,
            &format!("/api/v1/posts/{id}"),
            Some("max"),
            None,
        )
        .await;
    assert_eq!(direct.status, StatusCode::NOT_FOUND, "{}", direct.text);
    let queue = a
        .api(Method::GET, "/api/v1/groups/circle/held", Some("max"), None)
        .await;
    queue.assert_problem(403, "forbidden");
    assert!(b.thread(Some("bea"), &handle, &url).await.is_none());
    // A moderator's own posts never wait.
    let mine = a
        .write("ann", "circle", json!({"title": "Welcome, everyone"}))
        .await;
    assert_eq!(mine["held"], false);

    // Approved: shown on A and relayed to B.
    let approved = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id}/approve"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["held"], false);
    a.wait_thread("max", "circle", &url).await;
    seen(&rig, "b", "bea", &url).await;

    // A server the group names: bea's posts (B) wait whatever her age in
    // the group; a moderator turns one down with a reason, and it never
    // shows anywhere.
    let set = a
        .api(
            Method::PUT,
            "/api/v1/groups/circle/premoderation",
            Some("ann"),
            Some(json!({"servers": [b.authority()]})),
        )
        .await;
    assert_eq!(set.body["servers"][0], b.authority(), "{}", set.text);
    let from_b = b
        .write(
            "bea",
            &handle,
            json!({"title": "Selling supplements", "visibility": "public"}),
        )
        .await;
    let from_b_url = from_b["url"].as_str().unwrap().to_owned();
    let waiting = wait_until("bea's thread in A's queue", || async {
        let list = a
            .api(Method::GET, "/api/v1/groups/circle/held", Some("ann"), None)
            .await;
        list.body
            .as_array()?
            .iter()
            .find(|p| p["url"] == from_b_url.as_str())
            .cloned()
    })
    .await;
    let waiting_id = waiting["id"].as_str().unwrap();
    let bare = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{waiting_id}/reject"),
            Some("ann"),
            Some(json!({"reason": ""})),
        )
        .await;
    bare.assert_problem(422, "validation-failed");
    let rejected = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{waiting_id}/reject"),
            Some("ann"),
            Some(json!({"reason": "No selling here"})),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::NO_CONTENT, "{}", rejected.text);
    assert!(a.thread(Some("ann"), "circle", &from_b_url).await.is_none());
    assert!(c.thread(Some("cai"), &handle, &from_b_url).await.is_none());
    // bea hears it through her own server, with the reason, and her copy
    // there is gone; C was never told anything about it.
    wait_until("bea to be told her thread was turned down", || async {
        let told = b
            .instance
            .scalar(
                "SELECT COUNT(*) FROM notifications WHERE kind = 'post_removed' AND detail = 'No selling here'",
            )
            .await;
        (told == 1).then_some(())
    })
    .await;
    let from_b_id = from_b["id"].as_str().unwrap();
    let mine = b
        .api(
            Method::GET,
            &format!("/api/v1/posts/{from_b_id}"),
            Some("bea"),
            None,
        )
        .await;
    assert!(
        mine.status == StatusCode::NOT_FOUND || mine.body["deleted"] == true,
        "{}",
        mine.text
    );
    let on_c = c
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM posts WHERE ap_id = '{from_b_url}'"
        ))
        .await;
    assert_eq!(on_c, 0);

    let log = circle_log(&rig, "max").await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "reject_post",
            "set_premoderation",
            "approve_post",
            "set_premoderation"
        ],
        "{}",
        log.text
    );
}

/// Rows of `table` on `server` that say `person` holds a role in circle.
async fn roles_on(rig: &Rig, server: &str, table: &str, person: &str) -> i64 {
    let group = rig.at("a").group_url("circle");
    rig.at(server)
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE group_ap_id = '{group}' AND person_ap_id = '{person}'"
        ))
        .await
}

#[tokio::test]
async fn roles_end_with_the_membership_on_every_server() {
    let rig = scene(&Backend::Sqlite).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let group = a.group_url("circle");
    let (bea, max) = (b.actor("bea"), a.actor("max"));
    let bea_handle = format!("bea@{}", b.authority());

    // bea (of B) and max (of A) are made moderators and peer mentors;
    // every server learns it.
    for who in [bea_handle.as_str(), "max"] {
        for role in ["moderators", "mentors"] {
            let made = a
                .api(
                    Method::PUT,
                    &format!("/api/v1/groups/circle/{role}/{who}"),
                    Some("ann"),
                    None,
                )
                .await;
            assert_eq!(made.status, StatusCode::NO_CONTENT, "{}", made.text);
        }
    }
    for (server, person) in [("b", &bea), ("c", &bea), ("c", &max)] {
        wait_until(&format!("{server} to learn {person}'s roles"), || async {
            (roles_on(&rig, server, "remote_moderators", person).await == 1
                && roles_on(&rig, server, "group_mentors", person).await == 1)
                .then_some(())
        })
        .await;
    }

    // bea leaves from B: her roles end on A at once, on B as she leaves,
    // and on C when the group tells it; the collections stop naming her.
    let mine = b
        .api(Method::GET, "/api/v1/memberships", Some("bea"), None)
        .await;
    let membership = mine.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["group"]["url"] == group.as_str()))
        .and_then(|m| m["id"].as_str())
        .unwrap_or_else(|| panic!("{}", mine.text))
        .to_owned();
    let left = b
        .api(
            Method::DELETE,
            &format!("/api/v1/memberships/{membership}"),
            Some("bea"),
            None,
        )
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text);
    wait_until("A to end bea's membership", || async {
        (a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM group_members m JOIN remote_actors r ON r.id = m.remote_actor_id WHERE r.ap_id = '{bea}'"
            ))
            .await
            == 0)
            .then_some(())
    })
    .await;
    for server in ["a", "b", "c"] {
        wait_until(&format!("{server} to forget bea's roles"), || async {
            (roles_on(&rig, server, "remote_moderators", &bea).await == 0
                && roles_on(&rig, server, "group_mentors", &bea).await == 0)
                .then_some(())
        })
        .await;
    }
    for role in ["moderators", "mentors"] {
        let (status, collection) = c.fetch_as("cai", &format!("{group}/{role}")).await;
        assert_eq!(status, StatusCode::OK, "{collection}");
        assert!(!collection.contains(&bea), "{role}: {collection}");
        assert!(collection.contains(&max), "{role}: {collection}");
    }
    // Leaving is not a moderator's act: nothing about it in the log.
    let log = circle_log(&rig, "ann").await;
    assert!(
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| !(i["target"] == bea.as_str() && i["moderator"] == bea.as_str())),
        "{}",
        log.text
    );

    // ann bans max: his roles end with his membership, logged as ann's,
    // and the member servers hear it.
    let banned = a
        .api(
            Method::POST,
            "/api/v1/groups/circle/bans",
            Some("ann"),
            Some(json!({"person": max, "reason": "Selling cures"})),
        )
        .await;
    assert_eq!(banned.status, StatusCode::CREATED, "{}", banned.text);
    assert_eq!(roles_on(&rig, "a", "group_mentors", &max).await, 0);
    let moderators = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/mentors",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(moderators.status, StatusCode::OK, "{}", moderators.text);
    assert_eq!(moderators.body["mentors"], json!([]), "{}", moderators.text);
    wait_until("C to forget max's roles", || async {
        (roles_on(&rig, "c", "remote_moderators", &max).await == 0
            && roles_on(&rig, "c", "group_mentors", &max).await == 0)
            .then_some(())
    })
    .await;
    let (_, collection) = c.fetch_as("cai", &format!("{group}/moderators")).await;
    assert!(!collection.contains(&max), "{collection}");
    let log = circle_log(&rig, "ann").await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["target"] == max.as_str())
        .filter_map(|i| i["action"].as_str())
        .collect();
    for action in ["ban", "remove_moderator", "remove_mentor"] {
        assert!(actions.contains(&action), "{action}: {}", log.text);
    }
}

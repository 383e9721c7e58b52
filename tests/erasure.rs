//! Erasure with receipts, through real servers: a member deletes a post or
//! their account on A; B and C, which received it, delete it too, and A
//! shows, server by server, that they did, including a server that was
//! down while it was deleted and came back. And what an attacker tries:
//! deleting someone else's account from another server, replaying it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{PASSWORD, Rig, Scene};
use support::{Backend, wait_until};

/// A scene: ann and olga on A with the group circle; bea on B and cal on C
/// in it. Retries are quick, and a server counts as down after two
/// failures.
async fn three_servers(backend: &Backend) -> Rig {
    three_servers_retrying(backend, true).await
}

/// [`three_servers`], with quick retries or (`quick` false) retries
/// spaced as in production.
async fn three_servers_retrying(backend: &Backend, quick: bool) -> Rig {
    let quick = |scene: Scene| {
        if !quick {
            return scene;
        }
        scene
            .set("HEARTH_FEDERATION_REQUEST_TIMEOUT_SECS", "3")
            .set("HEARTH_FEDERATION_UNREACHABLE_AFTER_FAILURES", "2")
            .set("HEARTH_FEDERATION_PROBE_INTERVAL_SECS", "1")
            .set("HEARTH_FEDERATION_RETRY_MAX_SECS", "1")
    };
    let scene = quick(Scene::new().server("a"))
        .member("ann")
        .member("olga")
        .group("circle", "olga")
        .joins("ann", "circle@a");
    let scene = quick(scene.server("b"))
        .member("bea")
        .joins("bea", "circle@a");
    quick(scene.server("c"))
        .member("cal")
        .joins("cal", "circle@a")
        .start(backend)
        .await
}

/// ann writes a thread in circle (with `fields`); it waits until B and C
/// have it and A recorded both copies (once the servers said yes). Its
/// url and id.
async fn held_by_b_and_c(rig: &Rig, fields: Value) -> (String, String) {
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let circle = rig.handle("circle@a");
    let thread = a.write("ann", "circle", fields).await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let id = thread["id"].as_str().unwrap().to_owned();
    b.wait_thread("bea", &circle, &url).await;
    c.wait_thread("cal", &circle, &url).await;
    wait_until("both copies recorded", || async {
        (a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM copies WHERE object_ap_id = '{url}'"
            ))
            .await
            == 2)
            .then_some(())
    })
    .await;
    (url, id)
}

/// Each server's state in a receipt, by server.
fn states(receipt: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = receipt["servers"]
        .as_array()
        .map(|servers| {
            servers
                .iter()
                .map(|s| {
                    (
                        s["server"].as_str().unwrap_or_default().to_owned(),
                        s["state"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Wait until the receipt at `path` (read with `token`, or none) says
/// `want` for every server.
async fn wait_receipt(
    rig: &Rig,
    path: &str,
    token: Option<&str>,
    want: &[(String, &str)],
) -> Value {
    let a = &rig.at("a").instance;
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(s, st)| (s.clone(), (*st).to_owned()))
        .collect();
    want.sort();
    wait_until(&format!("{path} to say {want:?}"), || async {
        let got = a.get(path, token).await;
        (got.status == StatusCode::OK && states(&got.body) == want).then_some(got.body)
    })
    .await
}

#[tokio::test]
async fn deleting_an_account_erases_it_on_every_server_and_says_so() {
    each_backend!(|backend| deleting_an_account_on(&backend));
}

async fn deleting_an_account_on(backend: &Backend) {
    let mut rig = three_servers(backend).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let circle = rig.handle("circle@a");
    let (b_name, c_name) = (b.authority(), c.authority());
    // ann writes a thread and a reply, and reacts to bea's thread; B and C
    // read all of it.
    let thread = a
        .write(
            "ann",
            "circle",
            json!({"title": "Night sweats again", "body": "Three nights running now.", "visibility": "members"}),
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_owned();
    let thread_id = thread["id"].as_str().unwrap().to_owned();
    let reply = a
        .reply("ann", &thread_id, "And the pills make it worse.")
        .await;
    let reply_url = reply["url"].as_str().unwrap().to_owned();
    let bea_thread = b
        .write(
            "bea",
            &circle,
            json!({"title": "Anyone else tired?", "visibility": "members"}),
        )
        .await;
    let bea_url = bea_thread["url"].as_str().unwrap().to_owned();
    let bea_here = a.local_id("ann", "circle", &bea_url, &bea_url).await;
    let reacted = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{bea_here}/reactions/me-too"),
            Some("ann"),
            None,
        )
        .await;
    assert!(reacted.status.is_success(), "{}", reacted.text);
    for (server, member) in [(b, "bea"), (c, "cal")] {
        wait_until(&format!("ann's reply on {}", server.name), || async {
            let t = server.thread(Some(member), &circle, &thread_url).await?;
            support::rig::find_in(&t, &reply_url).map(|_| ())
        })
        .await;
    }
    wait_until("ann's reaction on B", || async {
        let t = b.thread(Some("bea"), &circle, &bea_url).await?;
        (t["reactions"] == json!([{"reaction": "me-too", "count": 1}])).then_some(())
    })
    .await;

    // C goes down; ann deletes her account.
    let c_instance = &mut rig
        .servers
        .iter_mut()
        .find(|s| s.name == "c")
        .unwrap()
        .instance;
    c_instance.terminate().await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let wrong = a
        .api(
            Method::DELETE,
            "/api/v1/me",
            Some("ann"),
            Some(json!({"password": "not it"})),
        )
        .await;
    wrong.assert_problem(422, "validation-failed");
    assert!(wrong.text.contains("password"), "{}", wrong.text);
    let erased = a
        .api(
            Method::DELETE,
            "/api/v1/me",
            Some("ann"),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text);
    let receipt_api = erased.body["receipt_api_url"].as_str().unwrap().to_owned();
    let receipt_path = url::Url::parse(&receipt_api).unwrap().path().to_owned();
    let receipt_page = url::Url::parse(erased.body["receipt_url"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();

    // Gone here at once: no log-in, no posts, no profile.
    let login = a
        .instance
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "ann", "password": PASSWORD}),
        )
        .await;
    assert!(login.status.is_client_error(), "{}", login.text);
    assert_eq!(
        a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM posts WHERE author_ap_id = '{}' AND deleted_at IS NULL",
                a.actor("ann")
            ))
            .await,
        0
    );
    assert_eq!(
        a.instance
            .scalar("SELECT COUNT(*) FROM reactions WHERE actor_ap_id LIKE '%/u/ann'")
            .await,
        0
    );

    // B confirms; C, down, is failing.
    let receipt = wait_receipt(
        &rig,
        &receipt_path,
        None,
        &[
            (b_name.clone(), "acknowledged"),
            (c_name.clone(), "failing"),
        ],
    )
    .await;
    assert_eq!(receipt["kind"], "account");
    assert_eq!(receipt["complete"], false);
    // B no longer holds ann's words or reaction.
    wait_until("ann's thread gone from B", || async {
        b.thread(Some("bea"), &circle, &thread_url)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    wait_until("ann's reaction gone from B", || async {
        let t = b.thread(Some("bea"), &circle, &bea_url).await?;
        (t["reactions"] == json!([])).then_some(())
    })
    .await;
    assert_eq!(
        b.instance
            .scalar("SELECT COUNT(*) FROM posts WHERE source LIKE '%pills make it worse%' OR content_html LIKE '%pills make it worse%'")
            .await,
        0
    );
    // The receipt page says it in words.
    let html = reqwest::get(a.instance.url(&receipt_page))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&b_name) && html.contains("Not confirmed yet"),
        "{html}"
    );

    // C comes back: it is told, and confirms.
    let c_instance = &mut rig
        .servers
        .iter_mut()
        .find(|s| s.name == "c")
        .unwrap()
        .instance;
    c_instance.launch().await;
    let receipt = wait_receipt(
        &rig,
        &receipt_path,
        None,
        &[
            (b_name.clone(), "acknowledged"),
            (c_name.clone(), "acknowledged"),
        ],
    )
    .await;
    assert_eq!(receipt["complete"], true);
    let (a, c) = (rig.at("a"), rig.at("c"));
    wait_until("ann's thread gone from C", || async {
        c.thread(Some("cal"), &circle, &thread_url)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        c.instance
            .scalar("SELECT COUNT(*) FROM posts WHERE source LIKE '%Three nights running%' OR source LIKE '%pills make it worse%' OR content_html LIKE '%pills make it worse%'")
            .await,
        0
    );
    // Everything told: ann's actor is gone for good.
    let (status, _) = rig.at("b").fetch_as("bea", &a.actor("ann")).await;
    assert_eq!(status, StatusCode::GONE);
    // The admin sees the same receipt.
    let admin_list = a
        .api(Method::GET, "/api/v1/admin/erasures", Some("olga"), None)
        .await;
    // olga is a member, not an admin: refused.
    assert!(admin_list.status.is_client_error(), "{}", admin_list.text);
    // A wrong secret finds nothing.
    a.instance
        .get("/api/v1/erasures/not-the-secret", None)
        .await
        .assert_problem(404, "not-found");
}

#[tokio::test]
async fn deleting_a_post_shows_each_server_that_had_it_and_what_it_said() {
    let backend = Backend::Sqlite;
    let rig = three_servers(&backend).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let circle = rig.handle("circle@a");
    let (url, id) = held_by_b_and_c(
        &rig,
        json!({"title": "Scan results", "visibility": "members"}),
    )
    .await;
    // Nobody has a receipt before it is deleted.
    a.api(
        Method::GET,
        &format!("/api/v1/posts/{id}/erasure"),
        Some("ann"),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    let deleted = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id}"),
            Some("ann"),
            None,
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    let receipt = wait_receipt(
        &rig,
        &format!("/api/v1/posts/{id}/erasure"),
        Some(a.token("ann")),
        &[
            (b.authority(), "acknowledged"),
            (c.authority(), "acknowledged"),
        ],
    )
    .await;
    assert_eq!(receipt["kind"], "post");
    assert_eq!(receipt["subject"], url.as_str());
    // Only its author reads it.
    a.api(
        Method::GET,
        &format!("/api/v1/posts/{id}/erasure"),
        Some("olga"),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    assert!(b.thread(Some("bea"), &circle, &url).await.is_none());
    assert!(c.thread(Some("cal"), &circle, &url).await.is_none());
}

#[tokio::test]
async fn a_server_cannot_delete_someone_elses_account() {
    let backend = Backend::Sqlite;
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .member("bob")
        .joins("bea", "circle@a")
        .joins("bob", "circle@a")
        .start(&backend)
        .await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let circle = rig.handle("circle@a");
    let post = b
        .write(
            "bea",
            &circle,
            json!({"title": "Still here", "visibility": "members"}),
        )
        .await;
    let url = post["url"].as_str().unwrap().to_owned();
    a.wait_thread("ann", "circle", &url).await;
    // bob, signing correctly with his own key, says bea's account is gone.
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.id("/activities/forged-delete-of-bea"),
        "type": "Delete",
        "actor": b.actor("bob"),
        "object": b.actor("bea"),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "removeData": true,
    });
    let (status, body) = b.send_as("bob", &a.inbox(), &forged).await;
    assert!(
        status.is_success() || status.is_client_error(),
        "{status} {body}"
    );
    assert!(a.thread(Some("ann"), "circle", &url).await.is_some());
    // bea's own Delete of herself, with bob's signature: refused.
    let claimed = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.id("/activities/claimed-delete-of-bea"),
        "type": "Delete",
        "actor": b.actor("bea"),
        "object": b.actor("bea"),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    let (status, _) = b.send_as("bob", &a.inbox(), &claimed).await;
    assert!(status.is_client_error(), "{status}");
    assert!(a.thread(Some("ann"), "circle", &url).await.is_some());
    // bea's real one, signed by her: her post goes.
    let real = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": b.id("/activities/real-delete-of-bea"),
        "type": "Delete",
        "actor": b.actor("bea"),
        "object": b.actor("bea"),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    let (status, body) = b.send_as("bea", &a.inbox(), &real).await;
    assert!(status.is_success(), "{status} {body}");
    assert!(a.thread(Some("ann"), "circle", &url).await.is_none());
    // bea is no longer a member of the group here; bob still is.
    assert_eq!(
        a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM group_members m JOIN remote_actors r ON r.id = m.remote_actor_id WHERE r.ap_id = '{}'",
                b.actor("bea")
            ))
            .await,
        0
    );
    assert_eq!(
        a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM group_members m JOIN remote_actors r ON r.id = m.remote_actor_id WHERE r.ap_id = '{}'",
                b.actor("bob")
            ))
            .await,
        1
    );
}

/// Set the last activity of the post `ap_id` on `instance` to `days` ago.
async fn age(instance: &support::Instance, ap_id: &str, days: i64) {
    use sea_orm::ConnectionTrait;
    let db = instance.db().await;
    let backend = db.get_database_backend();
    let (p1, p2) = if backend == sea_orm::DbBackend::Postgres {
        ("$1", "$2")
    } else {
        ("?", "?")
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        format!("UPDATE posts SET last_activity_at = {p1} WHERE ap_id = {p2}"),
        [
            (chrono::Utc::now() - chrono::Duration::days(days)).into(),
            ap_id.into(),
        ],
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_group_that_keeps_threads_for_a_while_deletes_old_ones_everywhere() {
    let backend = Backend::Sqlite;
    let rig = three_servers(&backend).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let circle = rig.handle("circle@a");
    // Only the group's moderators set it, within bounds.
    let path = "/api/v1/groups/circle";
    let refused = a
        .api(
            Method::PATCH,
            path,
            Some("ann"),
            Some(json!({"retention_days": 30})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let wrong = a
        .api(
            Method::PATCH,
            path,
            Some("olga"),
            Some(json!({"retention_days": 5000})),
        )
        .await;
    wrong.assert_problem(422, "validation-failed");
    assert!(wrong.text.contains("retention_days"), "{}", wrong.text);
    let set = a
        .api(
            Method::PATCH,
            path,
            Some("olga"),
            Some(json!({"retention_days": 30})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["retention_days"], 30);

    // An old thread with a reply from B, a pinned old thread, a new one.
    let old = a
        .write(
            "ann",
            "circle",
            json!({"title": "Old worries", "body": "From last spring.", "visibility": "members"}),
        )
        .await;
    let old_url = old["url"].as_str().unwrap().to_owned();
    b.wait_thread("bea", &circle, &old_url).await;
    let old_on_b = b.local_id("bea", &circle, &old_url, &old_url).await;
    let reply = b.reply("bea", &old_on_b, "It did get better for me.").await;
    let reply_url = reply["url"].as_str().unwrap().to_owned();
    let pinned = a
        .write(
            "olga",
            "circle",
            json!({"title": "Read me first", "visibility": "members"}),
        )
        .await;
    let pinned_url = pinned["url"].as_str().unwrap().to_owned();
    let pin = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{}/pin", pinned["id"].as_str().unwrap()),
            Some("olga"),
            None,
        )
        .await;
    assert!(pin.status.is_success(), "{}", pin.text);
    let fresh = a
        .write(
            "ann",
            "circle",
            json!({"title": "This week", "visibility": "members"}),
        )
        .await;
    let fresh_url = fresh["url"].as_str().unwrap().to_owned();
    for (server, member) in [(b, "bea"), (c, "cal")] {
        wait_until(&format!("the threads on {}", server.name), || async {
            let t = server.thread(Some(member), &circle, &old_url).await?;
            support::rig::find_in(&t, &reply_url)?;
            server.thread(Some(member), &circle, &fresh_url).await?;
            server.thread(Some(member), &circle, &pinned_url).await
        })
        .await;
    }
    age(&a.instance, &old_url, 40).await;
    age(&a.instance, &pinned_url, 40).await;
    age(&a.instance, &fresh_url, 20).await;

    // The housekeeping round (the server's, or the operator's at the shell).
    let (status, out, err) = a.instance.run(&["admin", "keep-house"], "");
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("1 threads deleted"), "{out}");
    // Gone here, on B and on C, reply included; the others stay.
    for (server, member) in [(a, "ann"), (b, "bea"), (c, "cal")] {
        let group = if server.name == "a" {
            "circle".to_owned()
        } else {
            circle.clone()
        };
        wait_until(
            &format!("the old thread gone from {}", server.name),
            || async {
                server
                    .thread(Some(member), &group, &old_url)
                    .await
                    .is_none()
                    .then_some(())
            },
        )
        .await;
        assert!(
            server
                .thread(Some(member), &group, &fresh_url)
                .await
                .is_some()
        );
        assert!(
            server
                .thread(Some(member), &group, &pinned_url)
                .await
                .is_some()
        );
        assert_eq!(
            server
                .instance
                .scalar("SELECT COUNT(*) FROM posts WHERE source LIKE '%last spring%' OR content_html LIKE '%last spring%' OR source LIKE '%get better%' OR content_html LIKE '%get better%'")
                .await,
            0,
            "words left on {}",
            server.name
        );
    }
    // The receipt: both servers confirmed.
    let id = a
        .instance
        .scalar(&format!(
            "SELECT id FROM erasures WHERE subject_ap_id = '{old_url}'"
        ))
        .await;
    // Admins see it with the others.
    a.instance.create_user("ruth", PASSWORD, &["--admin"]);
    let ruth = a.instance.login("ruth", PASSWORD).await;
    let listed = a.instance.get("/api/v1/admin/erasures", Some(&ruth)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(
        listed.body["items"].as_array().unwrap().iter().any(|e| e["subject"]
            == old_url.as_str()
            && e["requested_by"] == "retention (30 days)"),
        "{}",
        listed.text
    );
    let requested = a
        .instance
        .text(&format!(
            "SELECT requested_by FROM erasures WHERE id = {id}"
        ))
        .await
        .unwrap();
    assert_eq!(requested, "retention (30 days)");
    wait_until("both servers to confirm the old thread's deletion", || async {
        let rows = a
            .instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
                 WHERE o.erasure_id = {id} AND d.state <> 'delivered'"
            ))
            .await;
        let all = a
            .instance
            .scalar(&format!(
                "SELECT COUNT(DISTINCT d.authority) FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
                 WHERE o.erasure_id = {id}"
            ))
            .await;
        (rows == 0 && all == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_server_that_only_fetched_a_post_or_profile_is_told_too() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .public_group("open", "ann")
        .server("b")
        .member("bea")
        .start(&Backend::Sqlite)
        .await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    // B is no member of the group; bea reads a public post and ann's
    // profile by fetching them, signed.
    let post = a
        .write(
            "ann",
            "open",
            json!({"title": "Open to all", "visibility": "public"}),
        )
        .await;
    let url = post["url"].as_str().unwrap().to_owned();
    let id = post["id"].as_str().unwrap().to_owned();
    let (status, body) = b.fetch_as("bea", &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = b.fetch_as("bea", &a.actor("ann")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An unsigned read is nobody's copy.
    let unsigned = reqwest::get(support::rig::to_loopback(&url)).await.unwrap();
    assert!(unsigned.status().is_success());
    assert_eq!(
        a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM copies WHERE authority = '{}'",
                b.authority()
            ))
            .await,
        2
    );
    assert_eq!(a.instance.count("copies").await, 2);

    // Deleting the post tells B, which says yes.
    let deleted = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id}"),
            Some("ann"),
            None,
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    wait_receipt(
        &rig,
        &format!("/api/v1/posts/{id}/erasure"),
        Some(a.token("ann")),
        &[(b.authority(), "acknowledged")],
    )
    .await;
    // Deleting the account tells B too (it read the profile).
    let erased = a
        .api(
            Method::DELETE,
            "/api/v1/me",
            Some("ann"),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text);
    let receipt = url::Url::parse(erased.body["receipt_api_url"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    wait_receipt(&rig, &receipt, None, &[(b.authority(), "acknowledged")]).await;
}

#[tokio::test]
async fn admins_delete_accounts_but_never_the_last_admin() {
    let hearth = support::Instance::start(
        &Backend::Sqlite,
        support::Options::default().registration("open"),
    )
    .await;
    hearth.create_user("ruth", PASSWORD, &["--admin"]);
    hearth.register("max", PASSWORD).await;
    hearth.register("mia", PASSWORD).await;
    let ruth = hearth.login("ruth", PASSWORD).await;
    let max = hearth.login("max", PASSWORD).await;
    // The only admin cannot delete their own account.
    let refused = hearth
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&ruth),
            Some(json!({"password": PASSWORD})),
        )
        .await;
    refused.assert_problem(422, "validation-failed");
    assert!(refused.text.contains("only admin"), "{}", refused.text);
    // A member cannot delete someone else's.
    let id = hearth
        .scalar("SELECT id FROM users WHERE username = 'mia'")
        .await;
    hearth
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{id}"),
            Some(&max),
            None,
        )
        .await
        .assert_problem(403, "forbidden");
    // An admin can; the member's receipt link comes back.
    let done = hearth
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{id}"),
            Some(&ruth),
            None,
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(
        done.body["receipt_url"]
            .as_str()
            .unwrap()
            .contains("/erasures/")
    );
    let again = hearth
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{id}"),
            Some(&ruth),
            None,
        )
        .await;
    again.assert_problem(404, "not-found");
    // The operator at the shell must confirm.
    let (status, _, err) = hearth.run(&["admin", "delete-user", "max"], "");
    assert!(!status.success());
    assert!(err.contains("yes:"), "{err}");
    let (status, out, err) = hearth.run(&["admin", "delete-user", "max", "--yes"], "");
    assert!(status.success(), "{err}");
    assert!(out.contains("/erasures/"), "{out}");
    assert_eq!(
        hearth
            .scalar("SELECT COUNT(*) FROM users WHERE status = 'deleted'")
            .await,
        2
    );
    // Their names stay taken.
    let taken = hearth
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "mia", "password": PASSWORD}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
}

#[tokio::test]
async fn an_erasure_waits_while_a_server_is_suspended_and_reaches_it_once_lifted() {
    // Retries spaced as in production (10 s, then twice as long each
    // time), so that only lifting the suspension can make the held
    // erasure due at once.
    let rig = three_servers_retrying(&Backend::Sqlite, false).await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let circle = rig.handle("circle@a");
    let (url, id) = held_by_b_and_c(&rig, json!({"title": "My new diagnosis"})).await;

    // A's admin suspends B; then ann deletes her thread.
    a.instance.create_user("keeper", PASSWORD, &["--admin"]);
    let root = a.instance.login("keeper", PASSWORD).await;
    let suspended = a
        .instance
        .post(
            "/api/v1/admin/domain_rules",
            Some(&root),
            json!({"domain": b.authority(), "action": "suspend", "public_reason": "spam"}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.text);
    let deleted = a
        .api(
            Method::DELETE,
            &format!("/api/v1/posts/{id}"),
            Some("ann"),
            None,
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.text);

    // C deletes it; B is not sent anything while suspended, and the
    // receipt says the deletion waits for it rather than giving up.
    let path = format!("/api/v1/posts/{id}/erasure");
    let receipt = wait_receipt(
        &rig,
        &path,
        Some(a.token("ann")),
        &[(b.authority(), "held"), (c.authority(), "acknowledged")],
    )
    .await;
    let held = receipt["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["server"] == b.authority().as_str())
        .unwrap();
    assert!(
        held["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("cut this server off")),
        "{receipt}"
    );
    assert!(c.thread(Some("cal"), &circle, &url).await.is_none());
    assert_eq!(
        b.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM posts WHERE ap_id = '{url}' AND deleted_at IS NULL"
            ))
            .await,
        1,
        "B was sent nothing while suspended"
    );
    let to_b = format!(
        "SELECT next_attempt_at FROM deliveries WHERE authority = '{}' AND state = 'pending' AND last_error LIKE 'held%'",
        b.authority()
    );
    let due_before = a.instance.text(&to_b).await.expect("the held erasure");

    // The suspension is lifted: B is asked at once (not at the next spaced
    // retry), deletes it, and the receipt says so.
    let lifted = a
        .instance
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/domain_rules/{}", b.authority()),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.text);
    if let Some(due_after) = a.instance.text(&to_b).await {
        assert!(due_after < due_before, "{due_after} !< {due_before}");
    }
    wait_receipt(
        &rig,
        &path,
        Some(a.token("ann")),
        &[
            (b.authority(), "acknowledged"),
            (c.authority(), "acknowledged"),
        ],
    )
    .await;
    wait_until("B to delete the thread", || async {
        (b.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM posts WHERE ap_id = '{url}' AND deleted_at IS NULL"
            ))
            .await
            == 0)
            .then_some(())
    })
    .await;
}

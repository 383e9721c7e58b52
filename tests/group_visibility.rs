//! Group visibility: a members-only group never holds a public post, its
//! posts go only to servers where members live and that keep posts private,
//! and only such servers may join it; the first member from a new server
//! is pointed out to the moderators. Real servers on loopback, with hostile
//! servers (which sign correctly and record everything they receive)
//! playing member servers, outsiders and software that cannot keep posts
//! private.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::hostile::{Hostile, Recorded};
use support::rig::{Rig, Scene, to_loopback};
use support::{Backend, wait_until};

const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// `person` of `peer` sends a signed `Follow` of `group` on server `a`.
async fn follow(rig: &Rig, peer: &Hostile, person: &str, group: &str) -> String {
    let actor = peer.person(person);
    let target = rig.at("a").group_url(group);
    let id = peer.new_id("follow");
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Follow",
        "actor": actor,
        "object": target,
    });
    let (status, body) = peer.send(&actor, &format!("{target}/inbox"), &follow).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    id
}

/// The answer (`Accept` or `Reject`) `peer` got to the Follow `follow_id`.
async fn answer_to(peer: &Hostile, follow_id: &str) -> Value {
    wait_until(&format!("an answer to {follow_id}"), || async {
        peer.received()
            .iter()
            .filter(|r| r.method == "POST")
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .find(|a| {
                matches!(a["type"].as_str(), Some("Accept" | "Reject"))
                    && (a["object"]["id"] == follow_id || a["object"] == follow_id)
            })
    })
    .await
}

fn text_of(r: &Recorded) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Every request `peer` received whose body mentions `needle`.
fn carrying(peer: &Hostile, needle: &str) -> Vec<Recorded> {
    peer.received()
        .into_iter()
        .filter(|r| text_of(r).contains(needle))
        .collect()
}

/// A browser logged in as `member` on `instance`.
async fn logged_in(instance: &support::Instance, member: &str) -> reqwest::Client {
    let browser = support::browser();
    let login = browser.get(instance.url("/login")).send().await.unwrap();
    let csrf = support::csrf_of(&login.text().await.unwrap());
    let done = browser
        .post(instance.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", member),
            ("password", support::rig::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        done.status().is_redirection(),
        "log-in failed: {}",
        done.status()
    );
    browser
}

/// The page at `path` as `browser` sees it.
async fn page(browser: &reqwest::Client, instance: &support::Instance, path: &str) -> String {
    browser
        .get(instance.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A GET of `url` on its server, unsigned.
async fn unsigned_get(url: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .get(to_loopback(url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// A GET of `url` signed by `actor` of `peer`, for this very host and path.
async fn signed_get_as(peer: &Hostile, actor: &str, url: &str) -> (StatusCode, String) {
    use rsa::pkcs8::DecodePrivateKey as _;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&peer.private_key_pem()).unwrap();
    let resp = reqwest::Client::new()
        .get(to_loopback(url))
        .headers(support::signed_get(url, &format!("{actor}#main-key"), &key))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

// ---- who receives what a members-only group writes ----------------------

#[tokio::test]
async fn a_members_groups_posts_reach_only_member_servers_and_never_the_public() {
    each_backend!(|backend| members_group_delivery(&backend));
}

/// A hosts the members-only `circle`; B has a member, C has none; one
/// hostile Hearth-looking server has a member, another has none.
async fn members_group_delivery(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .server("c")
        .member("cid")
        .hostile()
        .start(backend)
        .await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));
    let member_server = rig.hostile();
    let joined = follow(&rig, member_server, "hal", "circle").await;
    assert_eq!(answer_to(member_server, &joined).await["type"], "Accept");
    let outsider = Hostile::start().await;

    // A members post, a local post and a reply, written while everything
    // the member server receives is recorded.
    let secret = "members-only words about a new diagnosis";
    let local_words = "local-only words that never leave server a";
    let thread = a
        .write("ann", "circle", json!({"title": "Just us", "body": secret}))
        .await;
    assert_eq!(thread["visibility"], "members");
    a.write(
        "ann",
        "circle",
        json!({"title": "Only here", "body": local_words, "visibility": "local"}),
    )
    .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let reply_words = "a members-only answer from b";
    let on_b = b.local_id("bea", &rig.handle("circle@a"), &url, &url).await;
    b.reply("bea", &on_b, reply_words).await;
    wait_until("the thread and b's reply at the member server", || async {
        (!carrying(member_server, secret).is_empty()
            && !carrying(member_server, reply_words).is_empty())
        .then_some(())
    })
    .await;

    // What the member server got is addressed to the group, never the public.
    for r in carrying(member_server, secret)
        .into_iter()
        .chain(carrying(member_server, reply_words))
    {
        let body = text_of(&r);
        for public in [AS_PUBLIC, "as:Public", "\"Public\""] {
            assert!(!body.contains(public), "addressed to the public: {body}");
        }
    }
    // The local post is in no request any member server received.
    assert!(
        carrying(member_server, local_words).is_empty(),
        "a local post left its server"
    );
    // Servers without a member get nothing; nothing reaches C either.
    assert!(
        outsider.received().iter().all(|r| r.method != "POST"),
        "a server without a member was sent something"
    );
    assert_eq!(
        c.instance
            .scalar(&format!("SELECT COUNT(*) FROM posts WHERE ap_id = '{url}'"))
            .await,
        0,
        "a server without a member holds the post"
    );

    // Reading it: the member server may (so this test can fail)...
    let member = member_server.person("hal");
    let (status, body) = signed_get_as(member_server, &member, &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(secret));
    // ...nobody else may: unsigned, signed by a server without a member,
    // or with a signature A made for another server, replayed here.
    let (status, body) = unsigned_get(&url).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let stranger = outsider.person("olly");
    let (status, body) = signed_get_as(&outsider, &stranger, &url).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains(secret));
    let captured = member_server
        .received()
        .into_iter()
        .find(|r| r.method == "GET" && r.signed())
        .expect("a signed fetch a made of the member server");
    let path = url.split_once(&a.authority()).unwrap().1.to_owned();
    let (status, body) = member_server
        .replay_to(&captured, &a.instance.base, &path)
        .await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::NOT_FOUND,
        "{status}: {body}"
    );
    assert!(!body.contains(secret));

    // The group's collections list nothing of it to outsiders.
    let pin = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{}/pin", thread["id"].as_str().unwrap()),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(pin.status, StatusCode::NO_CONTENT, "{}", pin.text);
    for collection in ["outbox", "featured"] {
        let at = format!("{}/{collection}", a.group_url("circle"));
        let (status, body) = unsigned_get(&at).await;
        assert_eq!(status, StatusCode::OK, "{at}");
        assert!(!body.contains(&url), "{collection} lists it to anyone");
        let (_, body) = signed_get_as(&outsider, &stranger, &at).await;
        assert!(!body.contains(&url), "{collection} lists it to an outsider");
        let (_, body) = signed_get_as(member_server, &member, &at).await;
        assert!(body.contains(&url), "{collection} hides it from a member");
    }
    assert!(carrying(&outsider, local_words).is_empty());
}

// ---- a public post in a members-only group --------------------------------

#[tokio::test]
async fn a_public_post_is_refused_in_a_members_group_from_every_door() {
    each_backend!(|backend| public_post_refused(&backend));
}

async fn public_post_refused(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("max")
        .group("circle", "ann")
        .public_group("open_door", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .hostile()
        .start(backend)
        .await;
    let (a, b, hostile) = (rig.at("a"), rig.at("b"), rig.hostile());
    let shown = a
        .api(Method::GET, "/api/v1/groups/circle", None, None)
        .await;
    assert_eq!(shown.body["visibility"], "members", "{}", shown.text);

    // Here.
    let tried = a
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("ann"),
            Some(json!({"group": "circle", "title": "Loud", "body": "x", "support_kind": "experience", "visibility": "public"})),
        )
        .await;
    tried.assert_problem(422, "validation-failed");
    assert_eq!(tried.body["field"], "visibility", "{}", tried.text);

    // From B, which read the group's visibility from its actor document.
    let actor = a.api(Method::GET, "/g/circle", None, None).await;
    assert_eq!(actor.body["visibility"], "members", "{}", actor.text);
    assert!(
        actor.body["summary"]
            .as_str()
            .unwrap()
            .contains("members-only group"),
        "{}",
        actor.text
    );
    let handle = rig.handle("circle@a");
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
    // B's compose page does not offer "public" for that group.
    let bea = logged_in(&b.instance, "bea").await;
    let html = page(
        &bea,
        &b.instance,
        &format!("/groups/{}/new", handle.trim_start_matches('@')),
    )
    .await;
    assert!(html.contains("id=\"vis-members\""), "{html}");
    assert!(!html.contains("id=\"vis-public\""), "{html}");

    // Another server that sends one anyway (a Create addressed to the
    // public) is refused; nothing is stored or relayed.
    let hal = hostile.person("hal");
    let joined = follow(&rig, hostile, "hal", "circle").await;
    assert_eq!(answer_to(hostile, &joined).await["type"], "Accept");
    let group = a.group_url("circle");
    let page_id = hostile.url("/posts/loud");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": hostile.new_id("create"),
        "type": "Create",
        "actor": hal,
        "to": [AS_PUBLIC, group],
        "cc": [format!("{group}/followers")],
        "object": {
            "id": page_id,
            "type": "Page",
            "name": "Shouted into a members group",
            "attributedTo": hal,
            "audience": group,
            "to": [AS_PUBLIC, group],
            "content": "<p>public words</p>",
        },
    });
    let (status, body) = hostile.send(&hal, &format!("{group}/inbox"), &create).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("visibility"), "{body}");
    assert_eq!(
        a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM posts WHERE ap_id = '{page_id}'"
            ))
            .await,
        0
    );

    // A public group made members-only keeps its earlier public posts
    // public, takes no new public post and no reply under the old one.
    let old = a
        .write(
            "ann",
            "open_door",
            json!({"title": "Open thread", "visibility": "public"}),
        )
        .await;
    let kept = a
        .write(
            "ann",
            "open_door",
            json!({"title": "Members thread", "visibility": "members"}),
        )
        .await;
    let not_moderator = a
        .api(
            Method::PATCH,
            "/api/v1/groups/open_door",
            Some("max"),
            Some(json!({"visibility": "members"})),
        )
        .await;
    not_moderator.assert_problem(403, "forbidden");
    let bad = a
        .api(
            Method::PATCH,
            "/api/v1/groups/open_door",
            Some("ann"),
            Some(json!({"visibility": "secret"})),
        )
        .await;
    bad.assert_problem(422, "validation-failed");
    assert_eq!(bad.body["field"], "visibility");
    let changed = a
        .api(
            Method::PATCH,
            "/api/v1/groups/open_door",
            Some("ann"),
            Some(json!({"visibility": "members"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["visibility"], "members");
    let (status, _) = unsigned_get(old["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "an old public post stays public");
    let tried = a
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("ann"),
            Some(json!({"group": "open_door", "title": "Loud", "body": "x", "support_kind": "experience", "visibility": "public"})),
        )
        .await;
    assert_eq!(tried.body["field"], "visibility", "{}", tried.text);
    let reply = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{}/replies", old["id"].as_str().unwrap()),
            Some("ann"),
            Some(json!({"body": "A public answer"})),
        )
        .await;
    reply.assert_problem(422, "validation-failed");
    assert_eq!(reply.body["field"], "visibility", "{}", reply.text);
    // Made public again, its members-only post stays members-only.
    let changed = a
        .api(
            Method::PATCH,
            "/api/v1/groups/open_door",
            Some("ann"),
            Some(json!({"visibility": "public"})),
        )
        .await;
    assert_eq!(changed.body["visibility"], "public", "{}", changed.text);
    let (status, _) = unsigned_get(kept["url"].as_str().unwrap()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a members post became public"
    );

    // The same from the group's settings page, for moderators only.
    let ann = logged_in(&a.instance, "ann").await;
    let form = page(&ann, &a.instance, "/groups/open_door/settings").await;
    assert!(form.contains("id=\"group-vis-members\""), "{form}");
    assert!(form.contains("<legend>Who can read the group"), "{form}");
    let saved = ann
        .post(a.instance.url("/groups/open_door/settings"))
        .form(&[
            ("csrf", support::csrf_of(&form).as_str()),
            ("visibility", "members"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("Saved."));
    let shown = a
        .api(Method::GET, "/api/v1/groups/open_door", None, None)
        .await;
    assert_eq!(shown.body["visibility"], "members");
    assert_eq!(shown.body["retention_days"], 0);
    // How long the group keeps threads, on the same page.
    let form = page(&ann, &a.instance, "/groups/open_door/settings").await;
    assert!(
        form.contains("<legend>How long does the group keep threads?"),
        "{form}"
    );
    let saved = ann
        .post(a.instance.url("/groups/open_door/settings"))
        .form(&[
            ("csrf", support::csrf_of(&form).as_str()),
            ("visibility", "members"),
            ("retention_days", "90"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let shown = a
        .api(Method::GET, "/api/v1/groups/open_door", None, None)
        .await;
    assert_eq!(shown.body["retention_days"], 90);
    let bad = ann
        .post(a.instance.url("/groups/open_door/settings"))
        .form(&[
            ("csrf", support::csrf_of(&form).as_str()),
            ("visibility", "members"),
            ("retention_days", "forever and ever"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Choose how long the group keeps threads")
    );
    let max = logged_in(&a.instance, "max").await;
    let refused = max
        .get(a.instance.url("/groups/open_door/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

// ---- software that cannot keep posts private -----------------------------

#[tokio::test]
async fn piefed_is_refused_by_a_members_group_and_gets_nothing_of_it() {
    each_backend!(|backend| piefed_and_members(&backend));
}

async fn piefed_and_members(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .public_group("open_door", "ann")
        .start(backend)
        .await;
    let a = rig.at("a");
    let piefed = Hostile::start_as("piefed").await;
    let refused = follow(&rig, &piefed, "pat", "circle").await;
    let answer = answer_to(&piefed, &refused).await;
    assert_eq!(answer["type"], "Reject", "{answer}");
    let why = answer["summary"].as_str().unwrap_or_default();
    assert!(
        why.contains("members only") && why.contains("cannot keep posts private"),
        "{answer}"
    );
    let accepted = follow(&rig, &piefed, "pat", "open_door").await;
    assert_eq!(answer_to(&piefed, &accepted).await["type"], "Accept");

    let secret = "members-only words piefed must never hold";
    a.write("ann", "circle", json!({"title": "Just us", "body": secret}))
        .await;
    let also_secret = "members-only words in the public group";
    a.write(
        "ann",
        "open_door",
        json!({"title": "Members here", "body": also_secret, "visibility": "members"}),
    )
    .await;
    let open = a
        .write(
            "ann",
            "open_door",
            json!({"title": "Anyone", "body": "public words", "visibility": "public"}),
        )
        .await;
    let open_url = open["url"].as_str().unwrap().to_owned();
    // The public post arrives (so the two members posts, written before
    // it, had every chance to)...
    wait_until("the public post at the PieFed server", || async {
        (!carrying(&piefed, &open_url).is_empty()).then_some(())
    })
    .await;
    // ...and nothing members-only ever does.
    assert!(carrying(&piefed, secret).is_empty());
    assert!(carrying(&piefed, also_secret).is_empty());
}

// ---- the first member from a new server ---------------------------------

#[tokio::test]
async fn moderators_are_told_of_the_first_member_from_a_new_server() {
    each_backend!(|backend| first_from_server(&backend));
}

async fn first_from_server(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("max")
        .group_with("quiet", "ann", json!({"join_policy": "approval"}))
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .member("bob")
        .hostile()
        .start(backend)
        .await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let requests = || async {
        a.api(
            Method::GET,
            "/api/v1/groups/quiet/requests",
            Some("ann"),
            None,
        )
        .await
        .body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    // A member here never counts.
    a.api(Method::POST, "/api/v1/groups/quiet/join", Some("max"), None)
        .await;
    let first = requests().await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["first_from_server"], false);

    // bea is the first from B: flagged, in the API and in plain words.
    let asked = b
        .api(
            Method::POST,
            "/api/v1/memberships",
            Some("bea"),
            Some(json!({"target": rig.handle("quiet@a")})),
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    let listed = wait_until("bea's request on A", || async {
        let items = requests().await;
        (items.len() == 2).then_some(items)
    })
    .await;
    let bea = listed.iter().find(|r| r["remote"] == true).unwrap();
    assert_eq!(bea["first_from_server"], true, "{bea}");
    let browser = logged_in(&a.instance, "ann").await;
    let html = page(&browser, &a.instance, "/groups/quiet/requests").await;
    let warning = format!(
        "This is the first member from {0}. The people who run {0} will be able to read everything posted in this group.",
        b.authority()
    );
    assert!(html.contains(&warning), "{html}");
    a.approve_all("quiet").await;

    // bob, the second from B, is not.
    b.api(
        Method::POST,
        "/api/v1/memberships",
        Some("bob"),
        Some(json!({"target": rig.handle("quiet@a")})),
    )
    .await;
    let bob = wait_until("bob's request on A", || async {
        requests()
            .await
            .into_iter()
            .find(|r| r["handle"].as_str().is_some_and(|h| h.starts_with("bob@")))
    })
    .await;
    assert_eq!(bob["first_from_server"], false, "{bob}");
    assert!(
        !page(&browser, &a.instance, "/groups/quiet/requests")
            .await
            .contains("This is the first member")
    );

    // An open group has no request to flag: its moderators are notified.
    let hostile = rig.hostile();
    let told = || async {
        a.api(Method::GET, "/api/v1/notifications", Some("ann"), None)
            .await
            .body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n["kind"] == "member_from_new_server")
            .collect::<Vec<_>>()
    };
    let joined = follow(&rig, hostile, "hal", "circle").await;
    assert_eq!(answer_to(hostile, &joined).await["type"], "Accept");
    let notes = told().await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["detail"], hostile.authority());
    let joined = follow(&rig, hostile, "hank", "circle").await;
    assert_eq!(answer_to(hostile, &joined).await["type"], "Accept");
    a.api(
        Method::POST,
        "/api/v1/groups/circle/join",
        Some("max"),
        None,
    )
    .await;
    assert_eq!(told().await.len(), 1, "only the first from a server counts");
    let notifications = page(&browser, &a.instance, "/notifications").await;
    let sentence = format!(
        "This is the first member from {0}. The people who run {0} will be able to read everything posted in this group.",
        hostile.authority()
    );
    assert!(notifications.contains(&sentence), "{notifications}");
}

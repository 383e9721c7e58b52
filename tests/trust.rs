//! The breaches found from outside (the one-door issue), each as the
//! attack that found it, through real servers on loopback: a hostile
//! server that signs correctly but lies plays the attacker. Every test
//! runs on SQLite and, when `HEARTH_TEST_DATABASE_URL` is set, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use rsa::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};
use support::rig::{Rig, Scene, find_in, to_loopback};
use support::{Backend, browser, csrf_of, signed_get, wait_until};

const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A hostile person joins a group on a Hearth server (an open group:
/// accepted at once) and waits for the Accept.
async fn hostile_joins(rig: &Rig, person: &str, server: &str, group: &str) {
    let hostile = rig.hostile();
    let actor = hostile.person(person);
    let target = rig.at(server).group_url(group);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": hostile.new_id("follow"),
        "type": "Follow",
        "actor": actor,
        "object": target,
    });
    let inbox = format!("{target}/inbox");
    let (status, body) = hostile.send(&actor, &inbox, &follow).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_until(&format!("{person} to be accepted"), || async {
        hostile
            .received()
            .iter()
            .any(|r| {
                r.path == format!("/users/{person}/inbox")
                    && String::from_utf8_lossy(&r.body).contains("\"Accept\"")
            })
            .then_some(())
    })
    .await;
}

/// A Page or Note by `author` (an id on the hostile server).
fn note(id: &str, author: &str, group: &str, extra: Value) -> Value {
    let mut object = json!({
        "id": id,
        "type": "Note",
        "attributedTo": author,
        "audience": group,
        "to": [group],
        "content": "<p>hello</p>",
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        object[k] = v.clone();
    }
    object
}

fn activity(id: &str, kind: &str, actor: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": kind,
        "actor": actor,
        "object": object,
    })
}

/// A group's Announce of `inner`.
fn announce(id: &str, group: &str, inner: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Announce",
        "actor": group,
        "object": inner,
        "to": [format!("{group}/followers")],
    })
}

fn uuid_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

// ---- 1. a signature made for another server, replayed here -------------

#[tokio::test]
async fn a_signed_fetch_replayed_from_another_host_reads_nothing() {
    each_backend!(|backend| signed_fetch_replayed(&backend));
}

async fn signed_fetch_replayed(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .hostile()
        .start(backend)
        .await;
    let (a, b, hostile) = (rig.at("a"), rig.at("b"), rig.hostile());
    let secret = "members-only words about a diagnosis";
    let thread = a
        .write("ann", "circle", json!({"title": "Just us", "body": secret}))
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let reply = a
        .reply(
            "ann",
            thread["id"].as_str().unwrap(),
            &format!("{secret}, again"),
        )
        .await;
    let activity_id = a
        .instance
        .text(&format!(
            "SELECT ap_id FROM outbound_activities WHERE body LIKE '%{}%' AND kind = 'Create'",
            reply["url"].as_str().unwrap()
        ))
        .await
        .expect("the reply's Create is kept to be fetched");

    let targets = [
        "/g/circle/outbox".to_owned(),
        format!("/p/{}", uuid_of(&url)),
        format!("/p/{}/replies", uuid_of(&url)),
        format!("/activities/{}", uuid_of(&activity_id)),
    ];
    for path in &targets {
        // B, a member server, may read it: signed for A, it gets it.
        let (status, body) = b.fetch_as("bea", &a.id(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        if path != &targets[2] {
            assert!(body.contains(secret), "{path}: {body}");
        }
        // B is made to fetch the same path on the hostile server (a
        // member looks up a link it was given)...
        let bait = hostile.url(path);
        b.api(
            Method::GET,
            &format!("/api/v1/resolve?handle={}", support::rig::urlencode(&bait)),
            Some("bea"),
            None,
        )
        .await;
        let recorded = hostile
            .received()
            .into_iter()
            .rfind(|r| r.method == "GET" && &r.path == path && r.signed())
            .unwrap_or_else(|| panic!("B signed no fetch of {path}"));
        // ...and the hostile server replays B's signature to A.
        let (status, body) = hostile.replay(&recorded, &a.instance.base).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(body.contains("wrong-host"), "{body}");
        assert!(!body.contains(secret));
    }

    // A signature made for A but for another path does not open this one.
    let key = b.key("bea").await;
    let key_id = format!("{}#main-key", b.actor("bea"));
    let mut headers = signed_get(&a.id("/g/circle/outbox"), &key_id, &key);
    headers.remove("accept");
    let other = reqwest::Client::new()
        .get(to_loopback(&a.id(&targets[1])))
        .headers(headers)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    assert!(!other.text().await.unwrap().contains(secret));
}

#[tokio::test]
async fn a_signed_delivery_replayed_from_another_host_is_refused() {
    each_backend!(|backend| signed_delivery_replayed(&backend));
}

async fn signed_delivery_replayed(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .group("b_circle", "bea")
        .hostile()
        .start(backend)
        .await;
    let (a, b, hostile) = (rig.at("a"), rig.at("b"), rig.hostile());
    // A hostile member of B's group receives B's relays at its shared
    // inbox, `/inbox`, signed by B's group for the hostile host.
    hostile_joins(&rig, "mallory", "b", "b_circle").await;
    let thread = b
        .write("bea", "b_circle", json!({"title": "Relayed"}))
        .await;
    let recorded = wait_until("B's relay at the hostile server", || async {
        hostile.received().into_iter().find(|r| {
            r.method == "POST"
                && r.path == "/inbox"
                && String::from_utf8_lossy(&r.body).contains(thread["url"].as_str().unwrap())
        })
    })
    .await;
    let before = a
        .instance
        .scalar("SELECT COUNT(*) FROM inbound_activities")
        .await;
    for path in ["/inbox", "/g/circle/inbox"] {
        let (status, body) = hostile.replay_to(&recorded, &a.instance.base, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    let (status, body) = hostile.replay(&recorded, &a.instance.base).await;
    assert!(body.contains("wrong-host"), "{status} {body}");
    assert_eq!(
        a.instance
            .scalar("SELECT COUNT(*) FROM inbound_activities")
            .await,
        before,
        "nothing recorded or applied"
    );
}

// ---- 2, 3, 5. a group elsewhere speaks only about its own posts --------

/// A with ann (moderator of circle) and amy; ann also joined the hostile
/// groups `evil` and `other`; bea on B joined circle.
async fn scene_with_hostile_groups(backend: &Backend) -> Rig {
    Scene::new()
        .server("a")
        .member("ann")
        .member("amy")
        // Public posts allowed: the attacks below target public threads.
        .public_group("circle", "ann")
        .joins("ann", "evil@hostile")
        .joins("ann", "other@hostile")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .hostile()
        .start(backend)
        .await
}

/// The hostile group `group` announces a thread by `person` in itself;
/// returns the thread's id once A has it.
async fn hostile_thread(rig: &Rig, group: &str, person: &str, title: &str) -> String {
    let hostile = rig.hostile();
    let group_id = hostile.group(group);
    let author = hostile.person(person);
    let page_id = hostile.url(&format!("/pages/{group}-{title}").replace(' ', "-"));
    let create = activity(
        &hostile.new_id("create"),
        "Create",
        &author,
        note(
            &page_id,
            &author,
            &group_id,
            json!({"type": "Page", "name": title}),
        ),
    );
    let (status, body) = hostile
        .send(
            &group_id,
            &rig.at("a").inbox(),
            &announce(&hostile.new_id("announce"), &group_id, create),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    rig.at("a")
        .wait_thread("ann", &hostile.handle(group), &page_id)
        .await;
    page_id
}

#[tokio::test]
async fn a_remote_group_cannot_rewrite_a_post_of_another_group() {
    each_backend!(|backend| rewrite_another_groups_post(&backend));
}

async fn rewrite_another_groups_post(backend: &Backend) {
    let rig = scene_with_hostile_groups(backend).await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    let evil = hostile.group("evil");
    let mallory = hostile.person("mallory");
    let mine = a
        .write(
            "ann",
            "circle",
            json!({"title": "Our thread", "body": "as written", "visibility": "public"}),
        )
        .await;
    let mine_url = mine["url"].as_str().unwrap().to_owned();
    let theirs = hostile_thread(&rig, "other", "mallory", "Other thread").await;

    // Update of a post of another group (here, and elsewhere), by its
    // author or in its author's name, announced by `evil`.
    let attempts = [
        // A post of the group here, claimed by mallory.
        activity(
            &hostile.new_id("update"),
            "Update",
            &mallory,
            note(
                &mine_url,
                &mallory,
                &evil,
                json!({"type": "Page", "name": "Rewritten", "content": "<p>rewritten</p>"}),
            ),
        ),
        // A post of the group here, in its author's name.
        activity(
            &hostile.new_id("update"),
            "Update",
            &a.actor("ann"),
            note(
                &mine_url,
                &a.actor("ann"),
                &evil,
                json!({"type": "Page", "name": "Rewritten", "content": "<p>rewritten</p>"}),
            ),
        ),
        // A post of the group `other`, by its real author.
        activity(
            &hostile.new_id("update"),
            "Update",
            &mallory,
            note(
                &theirs,
                &mallory,
                &evil,
                json!({"type": "Page", "name": "Rewritten", "content": "<p>rewritten</p>"}),
            ),
        ),
        // …or deleted.
        activity(&hostile.new_id("delete"), "Delete", &mallory, json!(theirs)),
        activity(
            &hostile.new_id("delete"),
            "Delete",
            &mallory,
            json!(mine_url),
        ),
    ];
    for attempt in attempts {
        for inbox in [a.inbox(), a.id("/u/ann/inbox")] {
            let (status, body) = hostile
                .send(
                    &evil,
                    &inbox,
                    &announce(&hostile.new_id("announce"), &evil, attempt.clone()),
                )
                .await;
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::ACCEPTED,
                "{status} {body}"
            );
        }
    }
    let ours = a
        .thread(Some("ann"), "circle", &mine_url)
        .await
        .expect("still there");
    assert_eq!(ours["title"], "Our thread");
    assert!(ours["body_html"].as_str().unwrap().contains("as written"));
    let other = a
        .thread(Some("ann"), &hostile.handle("other"), &theirs)
        .await
        .expect("still there");
    assert_eq!(other["title"], "Other thread");
    assert_eq!(other["deleted"], false);
}

#[tokio::test]
async fn a_remote_group_cannot_speak_in_a_local_members_name() {
    each_backend!(|backend| speak_in_a_local_members_name(&backend));
}

async fn speak_in_a_local_members_name(backend: &Backend) {
    let rig = scene_with_hostile_groups(backend).await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    let evil = hostile.group("evil");
    let ann = a.actor("ann");
    let forged = a.id("/p/made-up-by-evil");
    let posts_before = a.instance.scalar("SELECT COUNT(*) FROM posts").await;
    let attempts = [
        // Ann "writes" a thread in evil, with an id on her own server.
        activity(
            &a.id("/activities/made-up"),
            "Create",
            &ann,
            note(
                &forged,
                &ann,
                &evil,
                json!({"type": "Page", "name": "I said this"}),
            ),
        ),
        // The same, claimed by mallory but attributed to Ann.
        activity(
            &hostile.new_id("create"),
            "Create",
            &hostile.person("mallory"),
            note(
                &forged,
                &ann,
                &evil,
                json!({"type": "Page", "name": "I said this"}),
            ),
        ),
        // Ann "reacts".
        json!({"id": a.id("/activities/made-up-like"), "type": "Like", "actor": ann, "object": forged}),
    ];
    for attempt in attempts {
        for inbox in [a.inbox(), a.id("/u/ann/inbox")] {
            let (status, body) = hostile
                .send(
                    &evil,
                    &inbox,
                    &announce(&hostile.new_id("announce"), &evil, attempt.clone()),
                )
                .await;
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::ACCEPTED,
                "{status} {body}"
            );
        }
    }
    assert_eq!(
        a.instance.scalar("SELECT COUNT(*) FROM posts").await,
        posts_before,
        "nothing stored in Ann's name"
    );
    let profile = a.instance.get("/people/ann", None).await;
    assert!(!profile.text.contains("I said this"));
    let mine = a
        .api(Method::GET, "/api/v1/me/posts", Some("ann"), None)
        .await;
    assert_eq!(mine.body["items"], json!([]));
}

#[tokio::test]
async fn a_remote_group_cannot_undo_a_local_members_reaction() {
    each_backend!(|backend| undo_a_local_members_reaction(&backend));
}

async fn undo_a_local_members_reaction(backend: &Backend) {
    let rig = scene_with_hostile_groups(backend).await;
    let (a, b, hostile) = (rig.at("a"), rig.at("b"), rig.hostile());
    let evil = hostile.group("evil");
    let thread = a
        .write("ann", "circle", json!({"title": "Hugs welcome"}))
        .await;
    let url = thread["url"].as_str().unwrap().to_owned();
    let id = thread["id"].as_str().unwrap().to_owned();
    // Ann and Bea (from B) give a hug.
    let hug = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{id}/reactions/hug"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(hug.status, StatusCode::NO_CONTENT, "{}", hug.text);
    let on_b = b.local_id("bea", &a.handle("circle"), &url, &url).await;
    let hug = b
        .api(
            Method::POST,
            &format!("/api/v1/posts/{on_b}/reactions/hug"),
            Some("bea"),
            None,
        )
        .await;
    assert_eq!(hug.status, StatusCode::NO_CONTENT, "{}", hug.text);
    let hugs =
        || async { a.thread(Some("ann"), "circle", &url).await.unwrap()["reactions"].clone() };
    wait_until("both hugs on A", || async {
        (hugs().await == json!([{"reaction": "hug", "count": 2}])).then_some(())
    })
    .await;
    let likes: Vec<(String, String)> = {
        use sea_orm::ConnectionTrait;
        let db = a.instance.db().await;
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT ap_id, actor_ap_id FROM reactions".to_owned(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get("", "ap_id").unwrap(),
                    r.try_get("", "actor_ap_id").unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(likes.len(), 2);
    for (like_id, actor) in &likes {
        // Undone in the reactor's own name, and in the group's member's.
        for undoer in [actor.clone(), hostile.person("mallory")] {
            let undo = json!({
                "id": if undoer == *actor && !undoer.contains(hostile.authority()) {
                    format!("{undoer}/undo-made-up")
                } else {
                    hostile.new_id("undo")
                },
                "type": "Undo",
                "actor": undoer,
                "object": {"id": like_id, "type": "Like", "actor": actor, "object": url},
            });
            for inbox in [a.inbox(), a.group_url("circle") + "/inbox"] {
                hostile
                    .send(
                        &evil,
                        &inbox,
                        &announce(&hostile.new_id("announce"), &evil, undo.clone()),
                    )
                    .await;
            }
        }
    }
    assert_eq!(hugs().await, json!([{"reaction": "hug", "count": 2}]));
}

// ---- 4. a reply has exactly its thread's visibility --------------------

#[tokio::test]
async fn a_reply_cannot_make_a_members_only_thread_public() {
    each_backend!(|backend| reply_makes_thread_public(&backend));
}

async fn reply_makes_thread_public(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .hostile()
        .start(backend)
        .await;
    let (a, b, hostile) = (rig.at("a"), rig.at("b"), rig.hostile());
    hostile_joins(&rig, "mallory", "a", "circle").await;
    let thread = a
        .write(
            "ann",
            "circle",
            json!({"title": "Members only", "body": "between us"}),
        )
        .await;
    assert_eq!(thread["visibility"], "members");
    let url = thread["url"].as_str().unwrap().to_owned();
    let group = a.group_url("circle");
    // Mallory answers, addressed to the whole world.
    let mallory = hostile.person("mallory");
    let reply_id = hostile.url("/notes/loud");
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": hostile.new_id("create"),
        "type": "Create",
        "actor": mallory,
        "to": [AS_PUBLIC, group],
        "object": note(&reply_id, &mallory, &group, json!({"inReplyTo": url, "to": [AS_PUBLIC, group], "content": "<p>shouting</p>"})),
    });
    let (status, body) = hostile
        .send(&mallory, &format!("{group}/inbox"), &create)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let seen = a.wait_thread("ann", "circle", &url).await;
    let loud = wait_until("the reply on A", || async {
        let seen = a.thread(Some("ann"), "circle", &url).await?;
        find_in(&seen, &reply_id).cloned()
    })
    .await;
    assert_eq!(loud["visibility"], "members", "{seen}");
    // Ann answers the reply: hers is members-only too.
    let answer = a
        .reply("ann", loud["id"].as_str().unwrap(), "still between us")
        .await;
    assert_eq!(answer["visibility"], "members");
    let answer_url = answer["url"].as_str().unwrap().to_owned();
    // Nobody outside reads either: not by id, not in lists, not on Ann's profile.
    for path in [
        format!("/api/v1/posts/{}", thread["id"].as_str().unwrap()),
        format!("/api/v1/posts/{}", answer["id"].as_str().unwrap()),
    ] {
        let got = a.instance.get(&path, None).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}: {}", got.text);
    }
    let fetched = reqwest::Client::new()
        .get(to_loopback(&answer_url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::NOT_FOUND);
    let profile = a.instance.get("/people/ann", None).await;
    assert!(!profile.text.contains("still between us"));
    let public = a.instance.get("/api/v1/posts?group=circle", None).await;
    assert_eq!(public.body["items"], json!([]));
    // What the group relays is never addressed to the public: B shows both
    // replies as members-only, and the hostile member server got Ann's
    // answer without the public in any addressing.
    let on_b = wait_until("both replies on B", || async {
        let seen = b.thread(Some("bea"), &a.handle("circle"), &url).await?;
        (find_in(&seen, &reply_id).is_some() && find_in(&seen, &answer_url).is_some())
            .then_some(seen)
    })
    .await;
    assert_eq!(find_in(&on_b, &reply_id).unwrap()["visibility"], "members");
    assert_eq!(
        find_in(&on_b, &answer_url).unwrap()["visibility"],
        "members"
    );
    // Both relays reached the hostile member server (Mallory's own reply
    // too: the group tells its author's server it was accepted), and
    // neither is addressed to the public anywhere.
    let relays = wait_until("both relays at the hostile member server", || async {
        let relays: Vec<String> = hostile
            .received()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .filter(|b| {
                b.contains("\"Announce\"") && (b.contains(&answer_url) || b.contains(&reply_id))
            })
            .collect();
        (relays.len() >= 2).then_some(relays)
    })
    .await;
    for body in relays {
        assert!(
            !body.contains(AS_PUBLIC) && !body.contains("as:Public"),
            "{body}"
        );
    }
}

// ---- 6. every authentication door is rate-limited ----------------------

#[tokio::test]
async fn web_log_in_sign_up_and_password_change_are_rate_limited() {
    each_backend!(|backend| authentication_doors_limited(&backend));
}

async fn form(
    client: &reqwest::Client,
    base: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
    forwarded_for: &str,
) -> reqwest::Response {
    let html = client
        .get(format!("{base}{page}"))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    client
        .post(format!("{base}{action}"))
        .header("x-forwarded-for", forwarded_for)
        .form(&all)
        .send()
        .await
        .unwrap()
}

async fn authentication_doors_limited(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .set("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE", "4")
        .set("HEARTH_AUTH_ACCOUNT_RATE_LIMIT_PER_MINUTE", "3")
        .set("HEARTH_HTTP_TRUST_FORWARDED_FOR", "true")
        .member("ann")
        .member("amy")
        .start(backend)
        .await;
    let a = rig.at("a");
    let base = &a.instance.base;
    let login = |user: &'static str, ip: &'static str| async move {
        let client = browser();
        form(
            &client,
            base,
            "/login",
            "/login",
            &[("username", user), ("password", "not it at all")],
            ip,
        )
        .await
    };

    // Per address, shared by the pages and the API: four tries from one
    // address, then both doors say wait.
    for (n, user) in ["x1", "x2", "x3", "x4"].iter().enumerate() {
        let r = login(user, "10.0.0.1").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "try {n}");
    }
    let r = login("x5", "10.0.0.1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("Please wait"));
    let api = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", "10.0.0.1")
        .json(&json!({"username": "ann", "password": "not it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    let signup = form(
        &browser(),
        base,
        "/signup",
        "/signup",
        &[
            ("username", "newbie"),
            ("password", "long enough words"),
            ("consent", "yes"),
        ],
        "10.0.0.1",
    )
    .await;
    assert_eq!(signup.status(), StatusCode::TOO_MANY_REQUESTS);

    // Per account, from any address: three tries at Ann's account (the
    // scene logged her in once), each from another address, then no more
    // for Ann (pages or API)...
    for ip in ["10.0.1.1", "10.0.1.2"] {
        let r = login("ann", ip).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{ip}");
    }
    assert_eq!(
        login("ann", "10.0.1.3").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let api = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", "10.0.1.5")
        .json(&json!({"username": "ANN", "password": support::rig::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right password too, while limited"
    );
    // ...while Amy is untouched.
    let amy = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", "10.0.1.6")
        .json(&json!({"username": "amy", "password": support::rig::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(amy.status(), StatusCode::OK);

    // Guessing the current password when changing it: limited per account.
    let token = a.token("amy");
    let mut statuses = Vec::new();
    for ip in ["10.0.2.1", "10.0.2.2", "10.0.2.3"] {
        let r = reqwest::Client::new()
            .post(format!("{base}/api/v1/me/password"))
            .header("x-forwarded-for", ip)
            .bearer_auth(token)
            .json(&json!({"current_password": "a guess", "new_password": "another long one"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    // Amy logged in twice (the scene, and above): one try was left.
    assert_eq!(
        statuses,
        [
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

// ---- 7. content from elsewhere meets the same rules ---------------------

#[tokio::test]
async fn content_from_other_servers_follows_the_local_rules() {
    each_backend!(|backend| remote_content_rules(&backend));
}

async fn remote_content_rules(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .hostile()
        .start(backend)
        .await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    hostile_joins(&rig, "mallory", "a", "circle").await;
    let mallory = hostile.person("mallory");
    let group = a.group_url("circle");
    let inbox = format!("{group}/inbox");
    let send = |id: &'static str, extra: Value| {
        let object = note(
            &hostile.url(&format!("/pages/{id}")),
            &mallory,
            &group,
            extra,
        );
        let create = activity(&hostile.new_id("create"), "Create", &mallory, object);
        let (mallory, inbox) = (mallory.clone(), inbox.clone());
        async move { hostile.send(&mallory, &inbox, &create).await }
    };

    // A link that is not a web address is dropped, like the page address.
    let (status, body) = send(
        "link",
        json!({"type": "Page", "name": "Click", "url": "javascript:alert(1)", "attachment": [{"type": "Link", "href": "javascript:alert(1)"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let link = a
        .wait_thread("ann", "circle", &hostile.url("/pages/link"))
        .await;
    assert_eq!(link["link"], Value::Null);
    let page = a
        .instance
        .get(
            &format!("/posts/{}", link["id"].as_str().unwrap()),
            Some(a.token("ann")),
        )
        .await;
    assert!(!page.text.to_ascii_lowercase().contains("javascript:"));

    // A body over the limit is refused, and nothing is stored.
    let before = a.instance.scalar("SELECT COUNT(*) FROM posts").await;
    let (status, body) = send(
        "long",
        json!({"type": "Page", "name": "Long", "content": format!("<p>{}</p>", "word ".repeat(5_000))}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        a.instance.scalar("SELECT COUNT(*) FROM posts").await,
        before
    );

    // Title and warning meet the same limits as here (200 and 500), cut.
    let (status, body) = send(
        "wordy",
        json!({"type": "Page", "name": "t ".repeat(400), "sensitive": true, "summary": "w ".repeat(1_000)}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let wordy = a
        .wait_thread("ann", "circle", &hostile.url("/pages/wordy"))
        .await;
    assert!(wordy["title"].as_str().unwrap().chars().count() <= 200);
    assert!(wordy["content_warning"].as_str().unwrap().chars().count() <= 500);
}

// ---- 8. a local post is never the target of anything that leaves -------

#[tokio::test]
async fn a_remote_member_cannot_react_to_a_local_post() {
    each_backend!(|backend| react_to_a_local_post(&backend));
}

async fn react_to_a_local_post(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .hostile()
        .start(backend)
        .await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    hostile_joins(&rig, "mallory", "a", "circle").await;
    let local = a
        .write(
            "ann",
            "circle",
            json!({"title": "Only here", "visibility": "local"}),
        )
        .await;
    let url = local["url"].as_str().unwrap().to_owned();
    let mallory = hostile.person("mallory");
    let group = a.group_url("circle");
    let attempts = [
        json!({"id": hostile.new_id("like"), "type": "Like", "actor": mallory, "object": url}),
        json!({"id": hostile.new_id("react"), "type": "EmojiReact", "actor": mallory, "object": url, "content": "🤗"}),
        activity(
            &hostile.new_id("create"),
            "Create",
            &mallory,
            note(
                &hostile.url("/notes/to-local"),
                &mallory,
                &group,
                json!({"inReplyTo": url}),
            ),
        ),
    ];
    for attempt in attempts {
        for inbox in [a.inbox(), format!("{group}/inbox")] {
            let (status, body) = hostile.send(&mallory, &inbox, &attempt).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        }
    }
    assert_eq!(a.instance.scalar("SELECT COUNT(*) FROM reactions").await, 0);
    assert_eq!(
        a.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM outbound_activities WHERE body LIKE '%{}%'",
                uuid_of(&url)
            ))
            .await,
        0,
        "nothing about the local post is queued to leave"
    );
    // An unknown post answers the same.
    let unknown = json!({"id": hostile.new_id("like"), "type": "Like", "actor": mallory, "object": a.id("/p/no-such-post")});
    assert_eq!(
        hostile.send(&mallory, &a.inbox(), &unknown).await.0,
        StatusCode::NOT_FOUND
    );
}

// ---- 9. deleted stays deleted --------------------------------------------

#[tokio::test]
async fn an_update_cannot_bring_a_deleted_post_back() {
    each_backend!(|backend| update_of_a_deleted_post(&backend));
}

async fn update_of_a_deleted_post(backend: &Backend) {
    let rig = scene_with_hostile_groups(backend).await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    hostile_joins(&rig, "mallory", "a", "circle").await;
    let mallory = hostile.person("mallory");
    let group = a.group_url("circle");
    let inbox = format!("{group}/inbox");

    // From the author's own server: Create, Delete, then Update.
    let direct = hostile.url("/pages/direct");
    let page = |name: &str| {
        note(
            &direct,
            &mallory,
            &group,
            json!({"type": "Page", "name": name, "content": "<p>the words</p>"}),
        )
    };
    assert_eq!(
        hostile
            .send(
                &mallory,
                &inbox,
                &activity(&hostile.new_id("c"), "Create", &mallory, page("Mine"))
            )
            .await
            .0,
        StatusCode::ACCEPTED
    );
    a.wait_thread("ann", "circle", &direct).await;
    assert_eq!(
        hostile
            .send(
                &mallory,
                &inbox,
                &activity(&hostile.new_id("d"), "Delete", &mallory, json!(direct))
            )
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let (status, body) = hostile
        .send(
            &mallory,
            &inbox,
            &activity(&hostile.new_id("u"), "Update", &mallory, page("Back again")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Announced by a group: the same.
    let evil = hostile.group("evil");
    let announced = hostile_thread(&rig, "evil", "mallory", "Announced").await;
    let relay = |inner: Value| announce(&hostile.new_id("announce"), &evil, inner);
    hostile
        .send(
            &evil,
            &a.inbox(),
            &relay(activity(
                &hostile.new_id("d"),
                "Delete",
                &mallory,
                json!(announced),
            )),
        )
        .await;
    let update = activity(
        &hostile.new_id("u"),
        "Update",
        &mallory,
        note(
            &announced,
            &mallory,
            &evil,
            json!({"type": "Page", "name": "Back again", "content": "<p>the words</p>"}),
        ),
    );
    hostile.send(&evil, &a.inbox(), &relay(update)).await;

    for id in [&direct, &announced] {
        let title = a
            .instance
            .text(&format!("SELECT title FROM posts WHERE ap_id = '{id}'"))
            .await;
        assert_eq!(title.as_deref(), Some(""), "{id} stays erased");
        let deleted = a
            .instance
            .text(&format!(
                "SELECT CAST(deleted_at AS TEXT) FROM posts WHERE ap_id = '{id}'"
            ))
            .await;
        assert!(deleted.is_some(), "{id} stays deleted");
    }
    // Nor does a reply or a reaction attach to it.
    let reply = activity(
        &hostile.new_id("c"),
        "Create",
        &mallory,
        note(
            &hostile.url("/notes/late"),
            &mallory,
            &group,
            json!({"inReplyTo": direct}),
        ),
    );
    assert_eq!(
        hostile.send(&mallory, &inbox, &reply).await.0,
        StatusCode::NOT_FOUND
    );
    let like =
        json!({"id": hostile.new_id("like"), "type": "Like", "actor": mallory, "object": direct});
    assert_eq!(
        hostile.send(&mallory, &inbox, &like).await.0,
        StatusCode::NOT_FOUND
    );
}

// ---- 10. not allowed answers like unknown --------------------------------

#[tokio::test]
async fn an_anonymous_fetch_of_a_members_only_post_answers_like_an_unknown_one() {
    each_backend!(|backend| existence_oracle(&backend));
}

async fn existence_oracle(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("olga")
        .group("circle", "ann")
        .start(backend)
        .await;
    let a = rig.at("a");
    let thread = a
        .write("ann", "circle", json!({"title": "Members only"}))
        .await;
    let uuid = uuid_of(thread["url"].as_str().unwrap()).to_owned();
    let id = thread["id"].as_str().unwrap().to_owned();
    let client = browser();
    let get = |path: String, accept: &'static str| {
        let client = client.clone();
        let base = a.instance.base.clone();
        async move {
            let r = client
                .get(format!("{base}{path}"))
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let location = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, location, r.text().await.unwrap())
        }
    };
    for accept in ["text/html", "application/activity+json"] {
        let hidden = get(format!("/p/{uuid}"), accept).await;
        let unknown = get("/p/5b0e2f1c-0000-4000-8000-000000000000".into(), accept).await;
        assert_eq!(hidden.0, StatusCode::NOT_FOUND, "{accept}: {hidden:?}");
        assert_eq!(hidden, unknown, "{accept}");
    }
    for path in [format!("/api/v1/posts/{id}"), format!("/posts/{id}")] {
        let hidden = get(path.clone(), "text/html").await;
        let unknown = get(path.replace(&id, "999999"), "text/html").await;
        assert_eq!(hidden.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            (hidden.0, !hidden.2.is_empty()),
            (unknown.0, !unknown.2.is_empty()),
            "{path}"
        );
    }
    // A member's browser is sent on to the post's page.
    let member = browser();
    form(
        &member,
        &a.instance.base,
        "/login",
        "/login",
        &[("username", "ann"), ("password", support::rig::PASSWORD)],
        "10.1.0.1",
    )
    .await;
    let seen = member
        .get(format!("{}/p/{uuid}", a.instance.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::SEE_OTHER);
}

// ---- 11. moderators are members ----------------------------------------

#[tokio::test]
async fn a_moderator_who_left_decides_nothing_and_is_not_listed() {
    each_backend!(|backend| moderator_who_left(&backend));
}

async fn moderator_who_left(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("amy")
        .member("bob")
        .group_with("circle", "ann", json!({"join_policy": "approval"}))
        .start(backend)
        .await;
    let a = rig.at("a");
    let shown = a
        .api(Method::GET, "/api/v1/groups/circle", None, None)
        .await;
    assert_eq!(shown.body["moderators"], json!(["ann"]));
    // Amy is let in; then Ann, the only moderator, leaves.
    a.api(
        Method::POST,
        "/api/v1/groups/circle/join",
        Some("amy"),
        None,
    )
    .await;
    a.approve_all("circle").await;
    let left = a
        .api(
            Method::POST,
            "/api/v1/groups/circle/leave",
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text);
    // Bob asks to join; Ann can no longer see or decide requests.
    a.api(
        Method::POST,
        "/api/v1/groups/circle/join",
        Some("bob"),
        None,
    )
    .await;
    let requests = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/requests",
            Some("ann"),
            None,
        )
        .await;
    requests.assert_problem(403, "forbidden");
    let membership_id = a.instance.text("SELECT CAST(m.id AS TEXT) FROM group_members m JOIN users u ON u.id = m.user_id WHERE u.username = 'bob'",
    )
    .await
    .unwrap();
    let decided = a
        .api(
            Method::POST,
            &format!("/api/v1/groups/circle/requests/{membership_id}/approve"),
            Some("ann"),
            Some(json!({})),
        )
        .await;
    decided.assert_problem(403, "forbidden");
    // She is listed nowhere as moderator.
    let shown = a
        .api(Method::GET, "/api/v1/groups/circle", None, None)
        .await;
    assert_eq!(shown.body["moderators"], json!([]));
    let collection = reqwest::Client::new()
        .get(format!("{}/g/circle/moderators", a.instance.base))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(collection["orderedItems"], json!([]));
    // Joining again does not make her a moderator again.
    a.api(
        Method::POST,
        "/api/v1/groups/circle/join",
        Some("ann"),
        None,
    )
    .await;
    let requests = a
        .api(
            Method::GET,
            "/api/v1/groups/circle/requests",
            Some("ann"),
            None,
        )
        .await;
    requests.assert_problem(403, "forbidden");
}

// ---- the Lemmy issue's rules, attacked ---------------------------------

#[tokio::test]
async fn only_a_group_itself_locks_its_threads() {
    each_backend!(|backend| lock_attempts(&backend));
}

/// `Lock` closes a thread here only when the thread's own group relays it,
/// by someone on the group's own server: never another group, never a
/// person on their own, never a group passing on a third server's actor.
async fn lock_attempts(backend: &Backend) {
    let rig = scene_with_hostile_groups(backend).await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    let evil = hostile.group("evil");
    let other = hostile.group("other");
    let mallory = hostile.person("mallory");
    let theirs = hostile_thread(&rig, "other", "mallory", "Lockable thread").await;
    let mine = a
        .write(
            "ann",
            "circle",
            json!({"title": "Ours", "visibility": "public"}),
        )
        .await;
    let mine_url = mine["url"].as_str().unwrap().to_owned();
    let lock =
        |actor: &str, object: &str| activity(&hostile.new_id("lock"), "Lock", actor, json!(object));
    let b_actor = rig.at("b").actor("bea");
    let attempts = [
        // Another group locks `other`'s thread, or a thread of a group here.
        (
            &evil,
            announce(&hostile.new_id("announce"), &evil, lock(&mallory, &theirs)),
        ),
        (
            &evil,
            announce(
                &hostile.new_id("announce"),
                &evil,
                lock(&mallory, &mine_url),
            ),
        ),
        // The group `other` passes on a lock by someone on another server.
        (
            &other,
            announce(&hostile.new_id("announce"), &other, lock(&b_actor, &theirs)),
        ),
        // A person locks on their own, signed.
        (&mallory, lock(&mallory, &theirs)),
    ];
    for (signer, attempt) in attempts {
        let (status, body) = hostile.send(signer, &a.inbox(), &attempt).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::ACCEPTED,
            "{status} {body}"
        );
    }
    let locked = |url: String, group: String| async move {
        a.thread(Some("ann"), &group, &url)
            .await
            .expect("still there")["locked"]
            == true
    };
    assert!(!locked(theirs.clone(), hostile.handle("other")).await);
    assert!(!locked(mine_url.clone(), "circle".into()).await);

    // The group itself, by someone on its own server: locked, and nobody
    // here can reply.
    let (status, body) = hostile
        .send(
            &other,
            &a.inbox(),
            &announce(&hostile.new_id("announce"), &other, lock(&mallory, &theirs)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(locked(theirs.clone(), hostile.handle("other")).await);
    let thread = a
        .thread(Some("ann"), &hostile.handle("other"), &theirs)
        .await
        .unwrap();
    let refused = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{}/replies", thread["id"].as_str().unwrap()),
            Some("ann"),
            Some(json!({"body": "Can I still answer?"})),
        )
        .await;
    refused.assert_problem(403, "forbidden");
}

#[tokio::test]
async fn members_only_posts_stay_with_software_that_keeps_them_private() {
    each_backend!(|backend| members_only_and_software(&backend));
}

/// A server that joined from Lemmy (which drops non-public posts) is
/// neither sent a members-only thread nor may fetch it with its signature;
/// public threads it gets (in a group that allows public posts; see
/// `tests/group_visibility.rs` for members-only groups).
async fn members_only_and_software(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        // Public posts allowed: a Lemmy server may join only such a group.
        .public_group("circle", "ann")
        .start(backend)
        .await;
    let a = rig.at("a");
    let lemmy = support::hostile::Hostile::start_as("lemmy").await;
    let actor = lemmy.person("lem");
    let follow = activity(
        &lemmy.new_id("follow"),
        "Follow",
        &actor,
        json!(a.group_url("circle")),
    );
    let (status, body) = lemmy
        .send(&actor, &format!("{}/inbox", a.group_url("circle")), &follow)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_until("lem to be accepted", || async {
        lemmy
            .received()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("\"Accept\""))
            .then_some(())
    })
    .await;
    let private = a
        .write(
            "ann",
            "circle",
            json!({"title": "Just us", "visibility": "members"}),
        )
        .await;
    let public = a
        .write(
            "ann",
            "circle",
            json!({"title": "Anyone", "visibility": "public"}),
        )
        .await;
    let public_url = public["url"].as_str().unwrap().to_owned();
    wait_until("the public thread to reach the Lemmy server", || async {
        lemmy
            .received()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(&public_url))
            .then_some(())
    })
    .await;
    let private_url = private["url"].as_str().unwrap();
    assert!(
        !lemmy
            .received()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(private_url)),
        "a members-only thread went to a Lemmy server"
    );
    // Its signed fetch reads as an outsider's.
    let key_id = format!("{actor}#main-key");
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&lemmy.private_key_pem()).unwrap();
    for url in [private_url.to_owned(), format!("{private_url}/note")] {
        let resp = reqwest::Client::new()
            .get(to_loopback(&url))
            .headers(signed_get(&url, &key_id, &key))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{url}");
    }
    let resp = reqwest::Client::new()
        .get(to_loopback(&public_url))
        .headers(signed_get(&public_url, &key_id, &key))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

// ---- a suspended server's people, passed on by a group elsewhere ---------

#[tokio::test]
async fn a_group_elsewhere_cannot_pass_on_a_suspended_servers_people() {
    each_backend!(|backend| relay_of_suspended(&backend));
}

async fn relay_of_suspended(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .joins("ann", "evil@hostile")
        .server("b")
        .member("bea")
        .hostile()
        .start(backend)
        .await;
    let a = rig.at("a");
    let b = rig.at("b");
    let (status, out, err) = a
        .instance
        .run(&["admin", "domains", "set", &b.authority(), "suspend"], "");
    assert!(status.success(), "{out}{err}");
    wait_until("A to take the suspension up", || async {
        (b.fetch_as("bea", &a.group_url("circle")).await.0 == StatusCode::FORBIDDEN).then_some(())
    })
    .await;

    // The hostile group, on a server A still talks to, announces a thread
    // by bea of the suspended server B.
    let hostile = rig.hostile();
    let group_id = hostile.group("evil");
    let author = b.actor("bea");
    let page_id = b.id("/p/passed-on");
    let create = activity(
        &b.id("/activities/passed-on"),
        "Create",
        &author,
        note(
            &page_id,
            &author,
            &group_id,
            json!({"type": "Page", "name": "Passed on"}),
        ),
    );
    let (status, body) = hostile
        .send(
            &group_id,
            &a.inbox(),
            &announce(&hostile.new_id("announce"), &group_id, create),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The inbox answers once the activity is handled: nothing is stored.
    assert!(
        a.thread(Some("ann"), &hostile.handle("evil"), &page_id)
            .await
            .is_none()
    );
    // The group's own people still get through.
    hostile_thread(&rig, "evil", "eve", "Still open").await;
}

/// Leaving stops the flow at once: once the last member of a server has
/// left a group, the group's next thread is not sent there, as the
/// server's own received requests show.
#[tokio::test]
async fn after_its_last_member_leaves_a_server_gets_nothing_more_of_the_group() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .hostile()
        .start(&Backend::Sqlite)
        .await;
    let a = rig.at("a");
    let hostile = rig.hostile();
    hostile_joins(&rig, "mallory", "a", "circle").await;
    let got = |url: String| {
        move || {
            let url = url.clone();
            async move {
                hostile
                    .received()
                    .iter()
                    .any(|r| String::from_utf8_lossy(&r.body).contains(url.as_str()))
                    .then_some(())
            }
        }
    };
    // While a member, the server gets the group's threads.
    let first = a
        .write("ann", "circle", json!({"title": "Before she left"}))
        .await;
    let first_url = first["url"].as_str().unwrap().to_owned();
    wait_until("the first thread at the member's server", got(first_url)).await;

    // She leaves (Undo{Follow}); the next thread goes nowhere near it.
    let actor = hostile.person("mallory");
    let target = a.group_url("circle");
    let leave = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": hostile.new_id("leave"),
        "type": "Undo",
        "actor": actor,
        "object": {"id": hostile.new_id("follow-again"), "type": "Follow", "actor": actor, "object": target},
    });
    let (status, body) = hostile
        .send(&actor, &format!("{target}/inbox"), &leave)
        .await;
    assert!(status.is_success(), "{status} {body}");
    let members = a
        .api(Method::GET, "/api/v1/groups/circle", None, None)
        .await;
    assert_eq!(members.body["members"], 1, "{}", members.text);
    let second = a
        .write("ann", "circle", json!({"title": "After she left"}))
        .await;
    let second_url = second["url"].as_str().unwrap().to_owned();
    let queued = a
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
             WHERE d.authority = '{}' AND o.body LIKE '%After she left%'",
            hostile.authority()
        ))
        .await;
    assert_eq!(
        queued, 0,
        "nothing of the new thread is queued for her server"
    );
    a.wait_thread("ann", "circle", &second_url).await;
    assert!(
        !hostile
            .received()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(second_url.as_str())),
        "the thread written after she left reached her server"
    );
}

/// A client signing reads with ever new `keyId`s would make the server
/// fetch each one's actor (before anything can be verified), wherever it
/// points: signed reads are limited per address, and past the limit no
/// fetch goes out. Unsigned reads are not counted.
#[tokio::test]
async fn signed_reads_naming_ever_new_keys_are_limited_per_address() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .public_group("circle", "ann")
        .set("HEARTH_FEDERATION_INBOX_RATE_LIMIT_PER_MINUTE", "5")
        .hostile()
        .start(&Backend::Sqlite)
        .await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&hostile.private_key_pem()).unwrap();
    let url = a.group_url("circle");
    let read = |name: String| {
        let key_id = format!("{}#main-key", hostile.person(&name));
        reqwest::Client::new()
            .get(to_loopback(&url))
            .headers(signed_get(&url, &key_id, &key))
            .send()
    };
    for i in 0..5 {
        let answer = read(format!("invented{i}")).await.unwrap();
        assert_ne!(answer.status(), StatusCode::TOO_MANY_REQUESTS, "read {i}");
    }
    let fetched = |name: &str| {
        hostile
            .received()
            .iter()
            .any(|r| r.method == "GET" && r.path.starts_with(&format!("/users/{name}")))
    };
    assert!(fetched("invented0"), "the first reads were verified");
    let over = read("invented5".into()).await.unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(over.headers().contains_key("retry-after"));
    assert!(!fetched("invented5"), "past the limit, nothing is fetched");
    // Reading without a signature is not this limit's business.
    let plain = reqwest::Client::new()
        .get(to_loopback(&url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
}

/// A member looking up a handle on a suspended server: refused before
/// any request reaches that server, WebFinger included.
#[tokio::test]
async fn a_suspended_server_is_not_asked_who_a_handle_is() {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .hostile()
        .start(&Backend::Sqlite)
        .await;
    let (a, hostile) = (rig.at("a"), rig.hostile());
    let (status, _, err) = a.instance.run(
        &["admin", "domains", "set", hostile.authority(), "suspend"],
        "",
    );
    assert!(status.success(), "{err}");
    let handle = hostile.handle("mallory");
    let answer = a
        .api(
            Method::GET,
            &format!(
                "/api/v1/resolve?handle={}",
                support::rig::urlencode(&handle)
            ),
            Some("ann"),
            None,
        )
        .await;
    assert!(
        hostile.received().is_empty(),
        "nothing reached the suspended server: {:?}",
        hostile.received()
    );
    answer.assert_problem(422, "validation-failed");
    assert!(answer.text.contains("suspended"), "{}", answer.text);
}

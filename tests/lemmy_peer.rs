//! Hearth and a real Lemmy 0.19.20 on loopback, both ways, through each
//! one's own HTTP API (see `tests/support/lemmy.rs` for how Lemmy is
//! built and run). Every test runs on SQLite and, when
//! `HEARTH_TEST_DATABASE_URL` is set, PostgreSQL for Hearth (Lemmy always
//! uses PostgreSQL).
//!
//! Without Lemmy's source (`../shared/peers/`) the tests say so in one line
//! and pass; `.ci/run` sets `HEARTH_REQUIRE_LEMMY=1`, where that fails.
//!
//! Every test ends by reporting each delivery Lemmy refused (any 4xx), with
//! Lemmy's answer, and fails if there was one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::lemmy::{Lemmy, Peers};
use support::rig::{Rig, Scene, find_in};
use support::{Backend, wait_until};

/// Start Lemmy and a Hearth server `a` (members `ann`, `bea`; an open
/// group `circle` and an approval group `quiet`, both ann's) that see the
/// same hosts file. `None`: Lemmy is not available here (said on stderr).
async fn scene(backend: &Backend, peers: &Peers) -> Option<(Lemmy, Rig)> {
    let lemmy = Lemmy::start(peers).await?;
    let rig = Scene::new()
        .server("a")
        .hosts_file(&peers.hosts())
        .member("ann")
        .member("bea")
        // Lemmy's people may join only groups that allow public posts.
        .public_group("circle", "ann")
        .group_with(
            "quiet",
            "ann",
            json!({"join_policy": "approval", "visibility": "public"}),
        )
        .start(backend)
        .await;
    Some((lemmy, rig))
}

/// Prints Hearth's log when the test fails.
struct LogOnFailure<'a>(&'a Rig);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let a = &self.0.at("a").instance;
            eprintln!("=== Hearth log (port {}) ===\n{}", a.port, a.logs());
        }
    }
}

/// How many people of Lemmy's server are joined members of `group` on `a`.
async fn lemmy_members(rig: &Rig, lemmy: &Lemmy, group: &str) -> i64 {
    rig.at("a")
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM group_members m \
             JOIN groups g ON g.id = m.group_id \
             JOIN remote_actors r ON r.id = m.remote_actor_id \
             WHERE g.name = '{group}' AND m.state = 'joined' AND r.authority = '{}'",
            lemmy.authority()
        ))
        .await
}

/// Lemmy's admin subscribes to `group` on `a` until Lemmy's state is
/// `want`. Lemmy's queue starts a server it has never sent to at its
/// newest activity, so the very first Follow to Hearth may be skipped: the
/// Follow is sent again if nothing came of it.
async fn lemmy_subscribes(rig: &Rig, lemmy: &Lemmy, group: &str, want: &str) -> i64 {
    let handle = format!("!{group}@{}", rig.at("a").authority());
    let community = lemmy.community(&handle).await;
    let mut state = lemmy.follow(community, true).await;
    let started = std::time::Instant::now();
    let mut resent = false;
    loop {
        if state == want {
            return community;
        }
        if !resent && started.elapsed() > std::time::Duration::from_secs(15) {
            lemmy.follow(community, false).await;
            lemmy.follow(community, true).await;
            resent = true;
        }
        assert!(
            started.elapsed() < support::DEADLINE,
            "Lemmy's subscription to {handle} stayed {state}, wanted {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        state = lemmy.subscribed(community).await;
    }
}

/// Print every delivery from `a` that Lemmy refused with a 4xx, with
/// Lemmy's answer, and fail if there is one.
async fn no_refused_deliveries(rig: &Rig, lemmy: &Lemmy) {
    let db = rig.at("a").instance.db().await;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT o.kind, o.body, d.inbox, d.last_status, d.last_error \
                 FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
                 WHERE d.authority = '{}' AND d.last_status >= 400 AND d.last_status < 500",
                lemmy.authority()
            ),
        ))
        .await
        .unwrap();
    for row in &rows {
        let kind: String = row.try_get("", "kind").unwrap();
        let body: String = row.try_get("", "body").unwrap();
        let status: i32 = row.try_get("", "last_status").unwrap();
        let error: Option<String> = row.try_get("", "last_error").unwrap();
        eprintln!(
            "Lemmy refused a {kind} with {status}: {}\n  sent: {body}",
            error.unwrap_or_default()
        );
    }
    assert!(
        rows.is_empty(),
        "Lemmy refused {} deliveries (above)",
        rows.len()
    );
}

/// Wait until the thread `url` of `group` on `a`, as `member` sees it,
/// satisfies `check`.
async fn wait_hearth(
    rig: &Rig,
    member: &str,
    group: &str,
    url: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let a = rig.at("a");
    wait_until(what, || async {
        a.thread(Some(member), group, url)
            .await
            .filter(|thread| check(thread))
    })
    .await
}

/// A request to `a`'s API as `member` that must succeed.
async fn hearth_ok(rig: &Rig, method: Method, path: &str, member: &str, body: Option<Value>) {
    let answer = rig
        .at("a")
        .api(method.clone(), path, Some(member), body)
        .await;
    assert!(
        answer.status.is_success(),
        "{method} {path}: {}",
        answer.text
    );
}

/// A reply anywhere in `thread` satisfying `check`.
fn find_reply<'a>(thread: &'a Value, check: &impl Fn(&Value) -> bool) -> Option<&'a Value> {
    for reply in thread["replies"].as_array().into_iter().flatten() {
        if check(reply) {
            return Some(reply);
        }
        if let Some(found) = find_reply(reply, check) {
            return Some(found);
        }
    }
    None
}

fn text_of(post: &Value) -> String {
    post["body_html"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_lemmy_user_takes_part_in_a_hearth_group() {
    each_backend!(|backend| lemmy_user_in_a_hearth_group(&backend));
}

async fn lemmy_user_in_a_hearth_group(backend: &Backend) {
    let peers = Peers::new();
    let Some((lemmy, rig)) = scene(backend, &peers).await else {
        return;
    };
    let _log = LogOnFailure(&rig);
    let a = rig.at("a");
    let circle = lemmy_subscribes(&rig, &lemmy, "circle", "Subscribed").await;
    wait_until("Lemmy's admin to be a member of circle", || async {
        (lemmy_members(&rig, &lemmy, "circle").await == 1).then_some(())
    })
    .await;

    // A members-only thread first, then a public one with a content warning.
    let private = a
        .write(
            "ann",
            "circle",
            json!({"title": "Only for us", "body": "Members only words.", "visibility": "members"}),
        )
        .await;
    let thread = a
        .write(
            "ann",
            "circle",
            json!({
                "title": "Flare-ups after the new dose",
                "body": "It was a *hard* week, the pain kept me up.",
                "content_warning": "pain, low mood",
                "support_kind": "emotional",
                "visibility": "public",
            }),
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_owned();
    let thread_id = thread["id"].as_str().unwrap().to_owned();
    let seen = lemmy
        .wait_post(circle, &thread_url, "the thread on Lemmy", |_| true)
        .await;
    let post = &seen["post"];
    assert_eq!(post["name"], "Flare-ups after the new dose");
    assert_eq!(
        post["nsfw"], false,
        "a content warning is not adult content"
    );
    let body = post["body"].as_str().unwrap();
    assert!(
        body.starts_with("::: spoiler Content warning: pain, low mood\n"),
        "the warning is a collapsed spoiler on Lemmy: {body}"
    );
    assert!(body.contains("It was a *hard* week"), "{body}");
    assert!(
        body.ends_with("\n\n*Support kind: I need support or encouragement* #emotional_support"),
        "the support kind shows on Lemmy: {body}"
    );
    let lemmy_post = post["id"].as_i64().unwrap();

    // The members-only thread never went to Lemmy, which would drop it
    // (and Hearth would count a refused delivery): not sent, not fetchable.
    let private_url = private["url"].as_str().unwrap();
    assert!(
        !lemmy
            .posts(circle)
            .await
            .iter()
            .any(|p| p["post"]["ap_id"] == private_url)
    );
    let sent_private = a
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
             WHERE d.authority = '{}' AND o.about_ap_id = '{private_url}'",
            lemmy.authority()
        ))
        .await;
    assert_eq!(sent_private, 0, "members-only posts are not sent to Lemmy");
    let (status, _) = lemmy.resolve(private_url).await;
    assert!(
        !status.is_success(),
        "Lemmy cannot fetch a members-only thread"
    );

    // Replies at three depths: Lemmy → Hearth → Lemmy.
    let (top_lemmy_id, top_ap) = lemmy
        .comment(lemmy_post, None, "Sending you strength from Lemmy.")
        .await;
    let on_hearth = wait_hearth(
        &rig,
        "ann",
        "circle",
        &thread_url,
        "Lemmy's comment on Hearth",
        |t| find_in(t, &top_ap).is_some(),
    )
    .await;
    let top_here = find_in(&on_hearth, &top_ap).unwrap();
    assert!(text_of(top_here).contains("Sending you strength"));
    assert_eq!(top_here["in_reply_to"], thread_url.as_str());
    let top_id = top_here["id"].as_str().unwrap().to_owned();
    let answer = a
        .reply("ann", &top_id, "Thank you, it helps to hear.")
        .await;
    let answer_url = answer["url"].as_str().unwrap().to_owned();
    let answer_on_lemmy = lemmy
        .wait_comment(lemmy_post, "ann's reply on Lemmy", |c| {
            c["comment"]["ap_id"] == answer_url.as_str()
        })
        .await;
    assert!(
        answer_on_lemmy["comment"]["path"]
            .as_str()
            .unwrap()
            .contains(&top_lemmy_id.to_string()),
        "ann's reply hangs under Lemmy's comment: {answer_on_lemmy}"
    );
    let (_, deep_ap) = lemmy
        .comment(
            lemmy_post,
            answer_on_lemmy["comment"]["id"].as_i64(),
            "Any time. Did the nurse line help?",
        )
        .await;
    let on_hearth = wait_hearth(
        &rig,
        "ann",
        "circle",
        &thread_url,
        "the third level on Hearth",
        |t| find_in(t, &deep_ap).is_some(),
    )
    .await;
    assert_eq!(
        find_in(&on_hearth, &deep_ap).unwrap()["in_reply_to"],
        answer_url.as_str()
    );

    // A Lemmy upvote is a "helpful" reaction; a Hearth reaction stays with
    // the group's servers that keep members-only posts, which Lemmy does
    // not (it takes only public announces, and shows voters to its admins).
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/like",
            json!({"post_id": lemmy_post, "score": 1}),
        )
        .await;
    wait_hearth(
        &rig,
        "ann",
        "circle",
        &thread_url,
        "Lemmy's upvote as a reaction",
        |t| {
            t["reactions"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|c| c["reaction"] == "helpful" && c["count"] == 1)
            })
        },
    )
    .await;
    hearth_ok(
        &rig,
        Method::POST,
        &format!("/api/v1/posts/{top_id}/reactions/hug"),
        "ann",
        None,
    )
    .await;
    let reactions_to_lemmy = a
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
             WHERE d.authority = '{}' AND o.body LIKE '%\"Like\"%'",
            lemmy.authority()
        ))
        .await;
    assert_eq!(reactions_to_lemmy, 0, "no reaction is sent to Lemmy");

    // Edits and deletions by the author, and a moderator's removal.
    hearth_ok(
        &rig,
        Method::PATCH,
        &format!("/api/v1/posts/{thread_id}"),
        "ann",
        Some(json!({"body": "Update: the new dose is settling down."})),
    )
    .await;
    lemmy
        .wait_post_by_id(lemmy_post, "the edit on Lemmy", |p| {
            p["post"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("settling down"))
        })
        .await;
    let answer_id = find_in(&on_hearth, &answer_url).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    hearth_ok(
        &rig,
        Method::DELETE,
        &format!("/api/v1/posts/{answer_id}"),
        "ann",
        None,
    )
    .await;
    lemmy
        .wait_comment(lemmy_post, "ann's deleted reply on Lemmy", |c| {
            c["comment"]["ap_id"] == answer_url.as_str() && c["comment"]["deleted"] == true
        })
        .await;
    hearth_ok(
        &rig,
        Method::POST,
        &format!("/api/v1/posts/{top_id}/remove"),
        "ann",
        Some(json!({"reason": "Please keep medical advice out of this thread."})),
    )
    .await;
    lemmy
        .wait_comment(lemmy_post, "the removal on Lemmy", |c| {
            c["comment"]["ap_id"] == top_ap.as_str() && c["comment"]["removed"] == true
        })
        .await;
    // Brought back on Hearth (`Undo{Delete}` carrying the removal's
    // reason): back on Lemmy.
    hearth_ok(
        &rig,
        Method::POST,
        &format!("/api/v1/posts/{top_id}/restore"),
        "ann",
        Some(json!({"reason": "Asked the author; it was their own experience."})),
    )
    .await;
    lemmy
        .wait_comment(lemmy_post, "the restore on Lemmy", |c| {
            c["comment"]["ap_id"] == top_ap.as_str() && c["comment"]["removed"] == false
        })
        .await;

    // A thread started on Lemmy, answered on Hearth, edited and deleted on
    // Lemmy.
    let (started_id, started_ap) = lemmy
        .post(circle, "Hello from Lemmy", "New here, type 1 since May.")
        .await;
    let there = wait_hearth(
        &rig,
        "ann",
        "circle",
        &started_ap,
        "Lemmy's thread on Hearth",
        |_| true,
    )
    .await;
    assert_eq!(there["title"], "Hello from Lemmy");
    let welcome = a
        .reply(
            "ann",
            there["id"].as_str().unwrap(),
            "Welcome! Glad you found us.",
        )
        .await;
    lemmy
        .wait_comment(started_id, "ann's welcome on Lemmy", |c| {
            c["comment"]["ap_id"] == welcome["url"]
        })
        .await;
    lemmy
        .call(
            Method::PUT,
            "/api/v3/post",
            json!({"post_id": started_id, "body": "New here, type 1 since May. Edited."}),
        )
        .await;
    wait_hearth(
        &rig,
        "ann",
        "circle",
        &started_ap,
        "Lemmy's edit on Hearth",
        |t| text_of(t).contains("Edited."),
    )
    .await;
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/delete",
            json!({"post_id": started_id, "deleted": true}),
        )
        .await;
    wait_until("Lemmy's deleted thread to go from Hearth", || async {
        match a.thread(Some("ann"), "circle", &started_ap).await {
            None => Some(()),
            Some(t) if t["deleted"] == true => Some(()),
            Some(_) => None,
        }
    })
    .await;

    // An approval group: Lemmy shows the request pending until a
    // moderator lets the person in.
    let quiet = lemmy_subscribes(&rig, &lemmy, "quiet", "Pending").await;
    a.approve_all("quiet").await;
    wait_until("Lemmy to show the approved subscription", || async {
        (lemmy.subscribed(quiet).await == "Subscribed").then_some(())
    })
    .await;
    let quiet_thread = a
        .write(
            "ann",
            "quiet",
            json!({"title": "Quiet hello", "visibility": "public"}),
        )
        .await;
    lemmy
        .wait_post(
            quiet,
            quiet_thread["url"].as_str().unwrap(),
            "the approval group's thread on Lemmy",
            |_| true,
        )
        .await;

    no_refused_deliveries(&rig, &lemmy).await;
}

#[tokio::test]
async fn a_hearth_member_takes_part_in_a_lemmy_community() {
    each_backend!(|backend| hearth_member_in_a_lemmy_community(&backend));
}

async fn hearth_member_in_a_lemmy_community(backend: &Backend) {
    let peers = Peers::new();
    let Some((lemmy, rig)) = scene(backend, &peers).await else {
        return;
    };
    let _log = LogOnFailure(&rig);
    let a = rig.at("a");
    // Warm Lemmy's queue to Hearth's server up first (it skips what it
    // queued before it knew the server): Lemmy follows a group here.
    lemmy_subscribes(&rig, &lemmy, "circle", "Subscribed").await;
    let created = lemmy
        .call(
            Method::POST,
            "/api/v3/community",
            json!({"name": "support", "title": "Support"}),
        )
        .await;
    let community = created["community_view"]["community"]["id"]
        .as_i64()
        .unwrap();
    let handle = format!("support@{}", lemmy.authority());

    // Joining: the Follow goes straight to Lemmy's inbox; Lemmy's Accept
    // goes through its queue, which may skip its very first activity to a
    // new server, so the join is asked again if no answer comes.
    let join = || async {
        a.api(
            Method::POST,
            "/api/v1/memberships",
            Some("bea"),
            Some(json!({"target": format!("!{handle}")})),
        )
        .await
    };
    let asked = join().await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    let group_url = asked.body["group"]["url"].as_str().unwrap().to_owned();
    let joined = || async {
        let list = a
            .api(Method::GET, "/api/v1/memberships", Some("bea"), None)
            .await;
        list.body["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|m| m["group"]["url"] == group_url.as_str() && m["state"] == "joined")
        })
    };
    let started = std::time::Instant::now();
    while !joined().await {
        if started.elapsed() > std::time::Duration::from_secs(15) {
            let left = a
                .api(
                    Method::DELETE,
                    &format!("/api/v1/memberships/{}", asked.body["id"].as_str().unwrap()),
                    Some("bea"),
                    None,
                )
                .await;
            assert!(left.status.is_success(), "{}", left.text);
            join().await;
            wait_until("bea to join Lemmy's community", || async {
                joined().await.then_some(())
            })
            .await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }

    // A thread on Lemmy reaches bea; her reply reaches Lemmy.
    // Lemmy's queue learns of a new follower within a second (test mode)
    // and skips what the community announced before: a thread written
    // right after the join may never come, so it is written again until
    // one arrives.
    let started = std::time::Instant::now();
    let (lemmy_thread_id, lemmy_thread_ap, here) = loop {
        let (id, ap) = lemmy
            .post(community, "Weekly check-in", "How is everyone?")
            .await;
        let arrived = std::time::Instant::now();
        let mut seen = None;
        while seen.is_none() && arrived.elapsed() < std::time::Duration::from_secs(5) {
            seen = a.thread(Some("bea"), &handle, &ap).await;
            if seen.is_none() {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        if let Some(here) = seen {
            break (id, ap, here);
        }
        assert!(
            started.elapsed() < support::DEADLINE,
            "no thread from Lemmy reached Hearth"
        );
    };
    assert_eq!(here["title"], "Weekly check-in");
    let reply = a
        .reply(
            "bea",
            here["id"].as_str().unwrap(),
            "Better than last week.",
        )
        .await;
    lemmy
        .wait_comment(lemmy_thread_id, "bea's reply on Lemmy", |c| {
            c["comment"]["ap_id"] == reply["url"]
                && c["comment"]["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("Better than last week"))
        })
        .await;

    // Her reaction is an upvote there; her edit and her deletion reach it.
    let thread_here_id = here["id"].as_str().unwrap().to_owned();
    hearth_ok(
        &rig,
        Method::POST,
        &format!("/api/v1/posts/{thread_here_id}/reactions/hug"),
        "bea",
        None,
    )
    .await;
    lemmy
        .wait_post_by_id(lemmy_thread_id, "bea's hug as an upvote on Lemmy", |p| {
            p["counts"]["upvotes"] == 2
        })
        .await;
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    hearth_ok(
        &rig,
        Method::PATCH,
        &format!("/api/v1/posts/{reply_id}"),
        "bea",
        Some(json!({"body": "Better than last week, thanks for asking."})),
    )
    .await;
    lemmy
        .wait_comment(lemmy_thread_id, "bea's edit on Lemmy", |c| {
            c["comment"]["ap_id"] == reply["url"]
                && c["comment"]["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("thanks for asking"))
        })
        .await;
    hearth_ok(
        &rig,
        Method::DELETE,
        &format!("/api/v1/posts/{reply_id}"),
        "bea",
        None,
    )
    .await;
    lemmy
        .wait_comment(lemmy_thread_id, "bea's deletion on Lemmy", |c| {
            c["comment"]["ap_id"] == reply["url"] && c["comment"]["deleted"] == true
        })
        .await;

    // Lemmy's moderator locks the thread: shown here, and nobody here can
    // reply any more; unlocked, replies are open again.
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/lock",
            json!({"post_id": lemmy_thread_id, "locked": true}),
        )
        .await;
    let locked = wait_until("the lock on Hearth", || async {
        a.thread(Some("bea"), &handle, &lemmy_thread_ap)
            .await
            .filter(|t| t["locked"] == true)
    })
    .await;
    let refused = a
        .api(
            Method::POST,
            &format!("/api/v1/posts/{}/replies", locked["id"].as_str().unwrap()),
            Some("bea"),
            Some(json!({"body": "One more thing"})),
        )
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.text);
    assert!(
        refused.text.contains("closed to new replies"),
        "{}",
        refused.text
    );
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/lock",
            json!({"post_id": lemmy_thread_id, "locked": false}),
        )
        .await;
    wait_until("the unlock on Hearth", || async {
        a.thread(Some("bea"), &handle, &lemmy_thread_ap)
            .await
            .filter(|t| t["locked"] == false)
    })
    .await;

    // bea starts a thread there; a Lemmy comment on it comes back.
    let mine = a
        .write(
            "bea",
            &handle,
            json!({"title": "Tips for sleeping with pain?", "body": "Anything that helped you?", "visibility": "public"}),
        )
        .await;
    let mine_url = mine["url"].as_str().unwrap().to_owned();
    let on_lemmy = lemmy
        .wait_post(community, &mine_url, "bea's thread on Lemmy", |_| true)
        .await;
    assert_eq!(on_lemmy["post"]["name"], "Tips for sleeping with pain?");
    assert_eq!(on_lemmy["post"]["nsfw"], false);
    let mine_on_lemmy = on_lemmy["post"]["id"].as_i64().unwrap();
    let (_, comment_ap) = lemmy
        .comment(mine_on_lemmy, None, "A heat pad before bed.")
        .await;
    let with_comment = wait_until("Lemmy's comment on bea's thread", || async {
        a.thread(Some("bea"), &handle, &mine_url)
            .await
            .filter(|t| find_reply(t, &|r| r["url"] == comment_ap.as_str()).is_some())
    })
    .await;

    // bea reports Lemmy's comment: the report stays with this server's
    // admins (Lemmy takes a Flag only from a person, and bea stays
    // anonymous outside her server), so nothing goes to Lemmy for it (the
    // check for refused deliveries at the end would catch it).
    let comment_id = find_reply(&with_comment, &|r| r["url"] == comment_ap.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reported = a
        .api(
            Method::POST,
            "/api/v1/reports",
            Some("bea"),
            Some(json!({"post_id": comment_id, "category": "spam"})),
        )
        .await;
    assert_eq!(reported.status, StatusCode::CREATED, "{}", reported.text);
    let flags = a
        .instance
        .scalar(&format!(
            "SELECT COUNT(*) FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
             WHERE d.authority = '{}' AND o.kind = 'Flag'",
            lemmy.authority()
        ))
        .await;
    assert_eq!(flags, 0, "no Flag is sent to Lemmy");

    // Lemmy's moderator features bea's thread in the community: pinned
    // here too.
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/feature",
            json!({"post_id": mine_on_lemmy, "featured": true, "feature_type": "Community"}),
        )
        .await;
    wait_until("the pin on Hearth", || async {
        a.thread(Some("bea"), &handle, &mine_url)
            .await
            .filter(|t| t["pinned"] == true)
    })
    .await;

    // Lemmy's moderator removes bea's thread: gone on Hearth too.
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/remove",
            json!({"post_id": mine_on_lemmy, "removed": true, "reason": "Off topic"}),
        )
        .await;
    wait_until("the removal on Hearth", || async {
        match a.thread(Some("bea"), &handle, &mine_url).await {
            None => Some(()),
            Some(t) if t["deleted"] == true => Some(()),
            Some(_) => None,
        }
    })
    .await;

    // And brings it back: on Hearth too, with its words.
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/remove",
            json!({"post_id": mine_on_lemmy, "removed": false}),
        )
        .await;
    wait_until("the restore on Hearth", || async {
        a.thread(Some("bea"), &handle, &mine_url)
            .await
            .filter(|t| t["deleted"] == false && t["title"] == "Tips for sleeping with pain?")
    })
    .await;

    no_refused_deliveries(&rig, &lemmy).await;
}

#[tokio::test]
async fn a_hearth_moderators_lock_and_ban_show_on_lemmy_and_a_lemmy_report_reaches_them() {
    each_backend!(|backend| hearth_moderation_on_lemmy(&backend));
}

async fn hearth_moderation_on_lemmy(backend: &Backend) {
    let peers = Peers::new();
    let Some((lemmy, rig)) = scene(backend, &peers).await else {
        return;
    };
    let _log = LogOnFailure(&rig);
    let a = rig.at("a");
    let circle = lemmy_subscribes(&rig, &lemmy, "circle", "Subscribed").await;
    wait_until("Lemmy's admin to be a member of circle", || async {
        (lemmy_members(&rig, &lemmy, "circle").await == 1).then_some(())
    })
    .await;
    let thread = a
        .write(
            "ann",
            "circle",
            json!({"title": "A cure nobody tells you about", "body": "Stop your treatment.", "visibility": "public"}),
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_owned();
    let thread_id = thread["id"].as_str().unwrap().to_owned();
    let seen = lemmy
        .wait_post(circle, &thread_url, "the thread on Lemmy", |_| true)
        .await;
    let lemmy_post = seen["post"]["id"].as_i64().unwrap();

    // A Lemmy user's report reaches the group's moderators here.
    lemmy
        .call(
            Method::POST,
            "/api/v3/post/report",
            json!({"post_id": lemmy_post, "reason": "Dangerous medical advice"}),
        )
        .await;
    let report = wait_until("Lemmy's report on Hearth", || async {
        let list = a
            .api(Method::GET, "/api/v1/reports?state=open", Some("ann"), None)
            .await;
        list.body["items"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(report["post"], thread_url.as_str(), "{report}");
    assert_eq!(report["comment"], "Dangerous medical advice");
    assert_eq!(report["from"], lemmy.id("/u/lemmy"));

    // The moderator closes the thread: locked on Lemmy.
    hearth_ok(
        &rig,
        Method::POST,
        &format!("/api/v1/posts/{thread_id}/lock"),
        "ann",
        None,
    )
    .await;
    lemmy
        .wait_post_by_id(lemmy_post, "the lock on Lemmy", |p| {
            p["post"]["locked"] == true
        })
        .await;

    // Pinned here: featured in the community on Lemmy.
    hearth_ok(
        &rig,
        Method::POST,
        &format!("/api/v1/posts/{thread_id}/pin"),
        "ann",
        None,
    )
    .await;
    lemmy
        .wait_post_by_id(lemmy_post, "the pin on Lemmy", |p| {
            p["post"]["featured_community"] == true
        })
        .await;

    // And bans Lemmy's admin from the group for a week: Lemmy's modlog
    // shows the ban from the community.
    let banned = a
        .api(
            Method::POST,
            "/api/v1/groups/circle/bans",
            Some("ann"),
            Some(json!({"person": lemmy.id("/u/lemmy"), "reason": "Reports in bad faith", "days": 7})),
        )
        .await;
    assert_eq!(banned.status, StatusCode::CREATED, "{}", banned.text);
    let community_id = lemmy.community(&format!("!circle@{}", a.authority())).await;
    wait_until("the ban in Lemmy's modlog", || async {
        let (_, log) = lemmy
            .try_call(
                Method::GET,
                "/api/v3/modlog",
                json!({"community_id": community_id}),
            )
            .await;
        log["banned_from_community"]
            .as_array()
            .filter(|bans| {
                bans.iter().any(|b| {
                    b["mod_ban_from_community"]["reason"] == "Reports in bad faith"
                        && b["mod_ban_from_community"]["banned"] == true
                })
            })
            .map(|_| ())
    })
    .await;

    no_refused_deliveries(&rig, &lemmy).await;
}

#[tokio::test]
async fn a_hearth_members_deleted_account_is_erased_on_lemmy_and_lemmy_confirms() {
    each_backend!(|backend| deleted_account_on_lemmy(&backend));
}

async fn deleted_account_on_lemmy(backend: &Backend) {
    let peers = Peers::new();
    let Some((lemmy, rig)) = scene(backend, &peers).await else {
        return;
    };
    let _log = LogOnFailure(&rig);
    let a = rig.at("a");
    rig.join("a", "bea", "circle@a").await;
    let circle = lemmy_subscribes(&rig, &lemmy, "circle", "Subscribed").await;
    wait_until("Lemmy's admin to be a member of circle", || async {
        (lemmy_members(&rig, &lemmy, "circle").await == 1).then_some(())
    })
    .await;
    // bea's thread and her reply under ann's: Lemmy reads both.
    let thread = a
        .write(
            "bea",
            "circle",
            json!({"title": "Sleep after chemo", "body": "Does it ever come back?", "visibility": "public"}),
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_owned();
    let other = a
        .write(
            "ann",
            "circle",
            json!({"title": "Walking helps me", "visibility": "public"}),
        )
        .await;
    let other_url = other["url"].as_str().unwrap().to_owned();
    let reply = a
        .reply("bea", other["id"].as_str().unwrap(), "Me too, slowly.")
        .await;
    let reply_url = reply["url"].as_str().unwrap().to_owned();
    let on_lemmy = lemmy
        .wait_post(circle, &thread_url, "bea's thread on Lemmy", |_| true)
        .await;
    let lemmy_thread = on_lemmy["post"]["id"].as_i64().unwrap();
    let other_on_lemmy = lemmy
        .wait_post(circle, &other_url, "ann's thread on Lemmy", |_| true)
        .await;
    let lemmy_other = other_on_lemmy["post"]["id"].as_i64().unwrap();
    lemmy
        .wait_comment(lemmy_other, "bea's reply on Lemmy", |c| {
            c["comment"]["ap_id"] == reply_url.as_str()
        })
        .await;

    // bea deletes her account on Hearth.
    let erased = a
        .api(
            Method::DELETE,
            "/api/v1/me",
            Some("bea"),
            Some(json!({"password": support::rig::PASSWORD})),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text);
    let receipt_path = url::Url::parse(erased.body["receipt_api_url"].as_str().unwrap())
        .unwrap()
        .path()
        .to_owned();
    // Lemmy confirms, and her words are gone there.
    wait_until("Lemmy to acknowledge the erasure", || async {
        let got = a.instance.get(&receipt_path, None).await;
        (got.body["servers"]
            == json!([{
                "server": lemmy.authority(),
                "state": "acknowledged",
            }])
            || got.body["servers"].as_array().is_some_and(|s| {
                s.len() == 1
                    && s[0]["server"] == lemmy.authority().as_str()
                    && s[0]["state"] == "acknowledged"
            }))
        .then_some(())
    })
    .await;
    lemmy
        .wait_post_by_id(lemmy_thread, "bea's thread deleted on Lemmy", |p| {
            p["post"]["deleted"] == true
                && !p["post"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Does it ever come back")
        })
        .await;
    wait_until("bea's reply deleted on Lemmy", || async {
        let comments = lemmy.comments(lemmy_other).await;
        comments
            .iter()
            .find(|c| c["comment"]["ap_id"] == reply_url.as_str())
            .is_none_or(|c| {
                c["comment"]["deleted"] == true
                    && !c["comment"]["content"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("Me too, slowly")
            })
            .then_some(())
    })
    .await;
    // ann's thread, which bea replied to, is still there.
    lemmy
        .wait_post_by_id(lemmy_other, "ann's thread still on Lemmy", |p| {
            p["post"]["deleted"] == false
        })
        .await;
    no_refused_deliveries(&rig, &lemmy).await;
}

#[tokio::test]
async fn a_hearth_moderators_label_and_the_sources_read_as_text_on_lemmy() {
    each_backend!(|backend| label_on_lemmy(&backend));
}

/// Lemmy cannot show Hearth's `label` or `sources`: it reads them in the
/// post's body. The label reaches it as the author's `Update` (the post
/// was written on the group's server), which Lemmy applies.
async fn label_on_lemmy(backend: &Backend) {
    let peers = Peers::new();
    let Some((lemmy, rig)) = scene(backend, &peers).await else {
        return;
    };
    let _log = LogOnFailure(&rig);
    let a = rig.at("a");
    let circle = lemmy_subscribes(&rig, &lemmy, "circle", "Subscribed").await;
    wait_until("Lemmy's admin to be a member of circle", || async {
        (lemmy_members(&rig, &lemmy, "circle").await == 1).then_some(())
    })
    .await;
    hearth_ok(
        &rig,
        Method::POST,
        "/api/v1/groups/circle/join",
        "bea",
        None,
    )
    .await;
    let thread = a
        .write(
            "bea",
            "circle",
            json!({
                "title": "Cold water cures fatigue",
                "body": "Try it every morning.",
                "support_kind": "general-knowledge",
                "visibility": "public",
                "sources": [{"url": "https://blog.example/cold", "title": "My blog", "type": "personal-experience"}],
            }),
        )
        .await;
    let thread_url = thread["url"].as_str().unwrap().to_owned();
    let thread_id = thread["id"].as_str().unwrap().to_owned();
    let seen = lemmy
        .wait_post(circle, &thread_url, "the thread on Lemmy", |_| true)
        .await;
    let body = seen["post"]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("**Sources (1 independent):**")
            && body.contains("[My blog](https://blog.example/cold) (Personal experience)"),
        "the sources read as a list on Lemmy: {body}"
    );
    let lemmy_post = seen["post"]["id"].as_i64().unwrap();

    // ann, the group's moderator, labels it disputed: Lemmy shows the words.
    hearth_ok(
        &rig,
        Method::PUT,
        &format!("/api/v1/posts/{thread_id}/label"),
        "ann",
        Some(json!({
            "kind": "disputed",
            "note": "This goes against what the trials found.",
            "link": "https://www.nice.org.uk/guidance/ng206",
        })),
    )
    .await;
    let labelled = lemmy
        .wait_post_by_id(lemmy_post, "the label as text on Lemmy", |p| {
            p["post"]["body"].as_str().is_some_and(|b| {
                b.starts_with("> Disputed by the moderators: This goes against what the trials found. — better information: https://www.nice.org.uk/guidance/ng206")
            })
        })
        .await;
    assert!(
        labelled["post"]["body"]
            .as_str()
            .unwrap()
            .contains("Try it every morning."),
        "{labelled}"
    );

    // Taken off here: the words go on Lemmy too.
    hearth_ok(
        &rig,
        Method::DELETE,
        &format!("/api/v1/posts/{thread_id}/label"),
        "ann",
        None,
    )
    .await;
    lemmy
        .wait_post_by_id(lemmy_post, "the label gone on Lemmy", |p| {
            p["post"]["body"]
                .as_str()
                .is_some_and(|b| !b.contains("Disputed by the moderators"))
        })
        .await;

    no_refused_deliveries(&rig, &lemmy).await;
}

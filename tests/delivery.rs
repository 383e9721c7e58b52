//! Durable delivery, against fleets of fake member servers on loopback
//! (`tests/support/receivers.rs`) that verify every signature:
//!
//! - a sender killed with SIGKILL in the middle of a fan-out to 100 servers
//!   finishes it after a restart: nobody misses the post, and the
//!   duplicates are no more than the deliveries in flight at the kill;
//! - a server that was down gets everything it missed once it is back, each
//!   post's activities in the order they were made (its create before its
//!   edits); a server that hangs does not hold up the others;
//! - two worker processes on one PostgreSQL database share 1,000 activities
//!   for 10 servers, and each server gets each activity once;
//! - the same activity delivered many times at once is applied once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/receivers.rs"]
mod receivers;
mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use receivers::{ReceiverFleet, ReceiverOptions};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use support::{Backend, Instance, Options, wait_until};

const PW: &str = "a long enough passphrase";

/// A server with a moderator and an open group `peers`; returns the token
/// and the group's actor and inbox URLs.
async fn server_with_group(instance: &Instance) -> (String, String, String) {
    instance.register("mod", PW).await;
    let token = instance.login("mod", PW).await;
    let created = instance
        .post(
            "/api/v1/groups",
            Some(&token),
            json!({"name": "peers", "title": "Peers", "join_policy": "open"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let actor = format!("http://localhost:{}/g/peers", instance.port);
    let inbox = format!("{actor}/inbox");
    (token, actor, inbox)
}

/// Write a thread in `peers`; returns its ActivityPub id.
async fn thread(instance: &Instance, token: &str, title: &str) -> String {
    let written = instance
        .post(
            "/api/v1/posts",
            Some(token),
            json!({"group": "peers", "title": title, "body": "…", "support_kind": "emotional"}),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
    written.body["url"].as_str().unwrap().to_owned()
}

/// How many different activities about `object` receiver `i` took.
fn got(fleet: &ReceiverFleet, i: usize, object: &str) -> usize {
    fleet.with_received(i, |records| {
        records
            .iter()
            .filter(|r| r.accepted() && r.concerns(object))
            .map(|r| r.id.clone())
            .collect::<HashSet<_>>()
            .len()
    })
}

/// A thread is announced once to each member server that reads group
/// relays (the receivers say they run Hearth): the author's Create.
const ANNOUNCES_PER_THREAD: usize = 1;

#[tokio::test]
async fn a_sender_killed_mid_fan_out_finishes_after_a_restart_without_losing_anyone() {
    each_backend!(|backend| killed_mid_fan_out(&backend));
}

async fn killed_mid_fan_out(backend: &Backend) {
    // Short timeouts make the lease of a killed process run out sooner
    // (it is twice the request timeout plus 10 s).
    let mut a = Instance::start(
        backend,
        Options::default()
            .registration("open")
            .set("HEARTH_FEDERATION_REQUEST_TIMEOUT_SECS", 3)
            .set("HEARTH_FEDERATION_DELIVERY_CONCURRENCY", 16),
    )
    .await;
    let (token, group, inbox) = server_with_group(&a).await;
    let fleet = ReceiverFleet::start(100, ReceiverOptions::default()).await;
    fleet.join(&inbox, &group).await;
    // Slow receivers: the fan-out takes seconds, so the kill lands in it.
    fleet.set_delay_all(Duration::from_millis(400));

    let page = thread(&a, &token, "Sent to a hundred servers").await;
    wait_until("the fan-out to be under way", || async {
        let started = (0..fleet.len())
            .filter(|&i| got(&fleet, i, &page) > 0)
            .count();
        (started >= 10).then_some(())
    })
    .await;
    a.kill_hard().await;
    let complete_at_kill = (0..fleet.len())
        .filter(|&i| got(&fleet, i, &page) == ANNOUNCES_PER_THREAD)
        .count();
    let in_flight = a
        .scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'sending'")
        .await;
    let waiting = a
        .scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")
        .await;
    assert!(
        complete_at_kill < fleet.len(),
        "the kill came after the fan-out ended; nothing was tested"
    );

    a.restart().await;
    wait_until(
        "every receiver to have the thread after the restart",
        || async {
            (0..fleet.len())
                .all(|i| got(&fleet, i, &page) == ANNOUNCES_PER_THREAD)
                .then_some(())
        },
    )
    .await;
    let duplicates = fleet.duplicates();
    eprintln!(
        "[{backend}] SIGKILL mid-fan-out: {complete_at_kill}/100 servers complete at the kill, \
         {in_flight} deliveries in flight, {waiting} waiting; after the restart all 100 have \
         the announce; duplicates seen by receivers: {duplicates}"
    );
    assert!(
        duplicates as i64 <= in_flight,
        "{duplicates} duplicates, but only {in_flight} deliveries were in flight at the kill"
    );
    assert_eq!(fleet.rejected(), 0, "{:?}", fleet.rejections());
    // Deliveries in flight at the kill are sent again once their lease
    // runs out (twice the request timeout plus 10 s), though the receiver
    // may have taken the first copy: wait for the queue to settle.
    let settled = tokio::time::Instant::now() + support::DEADLINE;
    let mut undelivered;
    loop {
        undelivered = a
            .scalar("SELECT COUNT(*) FROM deliveries WHERE state <> 'delivered'")
            .await;
        if undelivered == 0 || tokio::time::Instant::now() > settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if undelivered != 0 {
        let detail = a
            .text(
                "SELECT MIN(o.kind || ' ' || d.state || ' ' || COALESCE(d.last_error, '')) \
                 FROM deliveries d JOIN outbound_activities o ON o.id = d.activity_id \
                 WHERE d.state <> 'delivered'",
            )
            .await;
        panic!("{undelivered} deliveries not delivered, for example: {detail:?}");
    }
}

#[tokio::test]
async fn a_server_that_was_down_catches_up_in_order_and_a_hanging_one_slows_nobody() {
    each_backend!(|backend| down_then_up(&backend));
}

async fn down_then_up(backend: &Backend) {
    let a = Instance::start(
        backend,
        Options::default()
            .registration("open")
            .set("HEARTH_FEDERATION_REQUEST_TIMEOUT_SECS", 3)
            .set("HEARTH_FEDERATION_UNREACHABLE_AFTER_FAILURES", 2)
            .set("HEARTH_FEDERATION_PROBE_INTERVAL_SECS", 1)
            .set("HEARTH_FEDERATION_RETRY_MAX_SECS", 2),
    )
    .await;
    let (token, group, inbox) = server_with_group(&a).await;
    // 0: goes down for a while; 1: hangs (listens, never answers); the rest
    // are healthy.
    let fleet = ReceiverFleet::start(8, ReceiverOptions::default()).await;
    fleet.join(&inbox, &group).await;
    let healthy: Vec<usize> = (2..fleet.len()).collect();

    // Without trouble, as a baseline.
    let started = Instant::now();
    let baseline_page = thread(&a, &token, "Baseline").await;
    wait_until("the baseline thread everywhere", || async {
        (0..fleet.len())
            .all(|i| got(&fleet, i, &baseline_page) == ANNOUNCES_PER_THREAD)
            .then_some(())
    })
    .await;
    let baseline = started.elapsed();

    fleet.stop(0).await;
    fleet.hang(1, true);
    let started = Instant::now();
    let mut pages = Vec::new();
    for n in 1..=5 {
        pages.push(thread(&a, &token, &format!("While you were away {n}")).await);
    }
    // The first thread is edited twice: three activities about one post,
    // which must arrive in the order they were made.
    let first_id = a
        .get("/api/v1/posts?group=peers&limit=50", Some(&token))
        .await;
    let first_id = first_id.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a timeline: {}", first_id.text))
        .iter()
        .find(|p| p["url"] == pages[0].as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for edit in ["first edit", "second edit"] {
        let edited = a
            .request(
                reqwest::Method::PATCH,
                &format!("/api/v1/posts/{first_id}"),
                Some(&token),
                Some(json!({"title": edit})),
            )
            .await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    }
    let expected = |p: usize| if p == 0 { 3 } else { ANNOUNCES_PER_THREAD };
    wait_until("the healthy servers to have all five threads", || async {
        healthy
            .iter()
            .all(|&i| {
                pages
                    .iter()
                    .enumerate()
                    .all(|(n, p)| got(&fleet, i, p) == expected(n))
            })
            .then_some(())
    })
    .await;
    let with_trouble = started.elapsed();
    eprintln!(
        "[{backend}] one thread to 8 servers: {} ms; five threads to the 6 healthy ones while \
         one server was down and one hung: {} ms",
        baseline.as_millis(),
        with_trouble.as_millis()
    );
    let down = fleet.authority(0);
    wait_until("the server that is down to be marked unreachable", || async {
        let state = a.scalar(&format!(
                "SELECT COUNT(*) FROM instances WHERE authority = '{down}' AND state = 'unreachable'"
            ),
        )
        .await;
        (state == 1).then_some(())
    })
    .await;
    assert_eq!(got(&fleet, 0, &pages[0]), 0, "it was down");

    // Back up: it gets everything it missed, each post's activities in the
    // order they were written.
    fleet.restart(0).await;
    wait_until("the server that was down to catch up", || async {
        pages
            .iter()
            .enumerate()
            .all(|(n, p)| got(&fleet, 0, p) == expected(n))
            .then_some(())
    })
    .await;
    let first: Vec<(String, String)> = fleet.with_received(0, |records| {
        records
            .iter()
            .filter(|r| r.accepted() && !r.duplicate && r.concerns(&pages[0]))
            .map(|r| {
                let inner = &r.body["object"];
                (
                    inner["type"].as_str().unwrap_or_default().to_owned(),
                    inner["object"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    });
    assert_eq!(
        first,
        vec![
            ("Create".to_owned(), "While you were away 1".to_owned()),
            ("Update".to_owned(), "first edit".to_owned()),
            ("Update".to_owned(), "second edit".to_owned()),
        ],
        "one post's activities arrive in the order they were made"
    );
    assert_eq!(
        a.scalar(&format!(
            "SELECT COUNT(*) FROM instances WHERE authority = '{down}' AND state = 'ok'"
        ),)
            .await,
        1,
        "answering again makes it reachable"
    );

    // The hanging one has nothing yet and holds at most its share of the
    // workers; let it answer and it catches up too.
    assert_eq!(got(&fleet, 1, &pages[4]), 0);
    fleet.hang(1, false);
    wait_until("the hanging server to catch up once it answers", || async {
        pages
            .iter()
            .enumerate()
            .all(|(n, p)| got(&fleet, 1, p) == expected(n))
            .then_some(())
    })
    .await;
    assert_eq!(fleet.duplicates(), 0);
    assert_eq!(fleet.rejected(), 0, "{:?}", fleet.rejections());
}

#[tokio::test]
async fn two_workers_on_one_postgres_share_a_thousand_activities_and_send_each_once() {
    let Some(Backend::Postgres(url)) = support::backends().into_iter().nth(1) else {
        eprintln!(
            "two_workers_on_one_postgres…: HEARTH_TEST_DATABASE_URL is not set; this test needs \
             PostgreSQL (CI sets it)"
        );
        return;
    };
    let a = Instance::start(
        &Backend::Postgres(url),
        Options::default()
            .registration("open")
            .set("HEARTH_FEDERATION_DELIVERY_CONCURRENCY", 8)
            // A thousand replies from one account: far over the limit a
            // person has, on purpose.
            .set("HEARTH_MODERATION_POSTS_PER_HOUR", 0),
    )
    .await;
    let (token, group, inbox) = server_with_group(&a).await;
    let fleet = ReceiverFleet::start(10, ReceiverOptions::default()).await;
    fleet.join(&inbox, &group).await;
    // A second process with workers only, on the same database.
    let log = std::fs::File::create(a.data_dir().join("worker.log")).unwrap();
    let mut worker = a
        .command(&["worker"])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();

    let page = thread(&a, &token, "A thousand replies").await;
    let thread_id = {
        let list = a.get("/api/v1/posts?group=peers", Some(&token)).await;
        list.body["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let client = reqwest::Client::new();
    let mut replies = Vec::new();
    let started = Instant::now();
    let count: usize = std::env::var("HEARTH_TEST_REPLIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    for chunk in (0..count).collect::<Vec<_>>().chunks(10) {
        let mut batch = tokio::task::JoinSet::new();
        for n in chunk {
            let req = client
                .post(a.url(&format!("/api/v1/posts/{thread_id}/replies")))
                .bearer_auth(&token)
                .json(&json!({"body": format!("reply {n}")}));
            batch.spawn(async move { req.send().await.unwrap().json::<Value>().await.unwrap() });
        }
        while let Some(done) = batch.join_next().await {
            replies.push(done.unwrap()["url"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(replies.len(), count);
    eprintln!(
        "{count} replies written in {} ms",
        started.elapsed().as_millis()
    );
    let worker_log = a.data_dir().join("worker.log");
    let wanted: HashSet<&String> = replies.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = (0..fleet.len()).all(|i| {
            fleet.with_received(i, |records| {
                records
                    .iter()
                    .filter(|r| {
                        r.accepted()
                            && r.inner_object_id
                                .as_ref()
                                .is_some_and(|id| wanted.contains(id))
                    })
                    .count()
                    >= count
            })
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every server has all replies after 5 minutes: {}\nworker log:\n{}\nserver log:\n{}",
            fleet.summary(),
            std::fs::read_to_string(&worker_log).unwrap_or_default(),
            a.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    for i in 0..fleet.len() {
        let seen: HashSet<String> = fleet.with_received(i, |records| {
            records
                .iter()
                .filter(|r| r.accepted())
                .filter_map(|r| r.inner_object_id.clone())
                .collect()
        });
        for reply in &replies {
            assert!(seen.contains(reply), "server {i} misses {reply}");
        }
        assert!(got(&fleet, i, &page) == ANNOUNCES_PER_THREAD);
    }
    assert_eq!(fleet.duplicates(), 0, "each activity arrives once");
    assert_eq!(fleet.rejected(), 0, "{:?}", fleet.rejections());

    let db = a.db().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT worker, COUNT(*) FROM deliveries WHERE state = 'delivered' GROUP BY worker",
        ))
        .await
        .unwrap();
    let split: HashMap<String, i64> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<Option<String>>(0)
                    .unwrap()
                    .unwrap_or_default(),
                r.try_get_by_index::<i64>(1).unwrap(),
            )
        })
        .collect();
    eprintln!(
        "two workers, 10 servers, 1,000 replies (+1 thread): {} deliveries in {} ms, split {:?}",
        split.values().sum::<i64>(),
        elapsed.as_millis(),
        split
    );
    assert_eq!(split.len(), 2, "both processes delivered: {split:?}");
    assert!(split.values().all(|&n| n > 0));
    let _ = worker.kill();
    let _ = worker.wait();
}

#[tokio::test]
async fn the_same_activity_delivered_many_times_at_once_is_applied_once() {
    each_backend!(|backend| concurrent_duplicates(&backend));
}

async fn concurrent_duplicates(backend: &Backend) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let (token, group, inbox) = server_with_group(&a).await;
    let fleet = ReceiverFleet::start(1, ReceiverOptions::default()).await;
    fleet.join(&inbox, &group).await;
    let page = thread(&a, &token, "Answer me once").await;
    let member = fleet.actor_url(0);
    let note_id = format!(
        "{}/notes/once",
        fleet.shared_inbox(0).trim_end_matches("/inbox")
    );
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": fleet.new_activity_id(0),
        "type": "Create",
        "actor": member,
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": member,
            "audience": group,
            "to": [group],
            "inReplyTo": page,
            "content": "<p>Only once, please.</p>",
        },
    });
    let posts_before = a.count("posts").await;
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (fleet_inbox, activity) = (inbox.clone(), create.clone());
        let headers = fleet.sign_post(0, &fleet_inbox, &serde_json::to_vec(&activity).unwrap());
        sends.spawn(async move {
            let mut req = reqwest::Client::new()
                .post(&fleet_inbox)
                .body(serde_json::to_vec(&activity).unwrap());
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.unwrap().status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = sends.join_next().await {
        statuses.push(s.unwrap());
    }
    assert!(
        statuses.iter().all(|s| (200..300).contains(s)),
        "every copy is acknowledged: {statuses:?}"
    );
    assert_eq!(a.count("posts").await, posts_before + 1, "stored once");
    // …and relayed once: the group announces it a single time.
    wait_until("the relay of the reply", || async {
        (fleet.count_with(|r| r.accepted() && r.concerns(&note_id)) >= 1).then_some(())
    })
    .await;
    let relays = a
        .scalar("SELECT COUNT(*) FROM outbound_activities WHERE kind = 'Announce'")
        .await;
    assert_eq!(
        relays, 2,
        "one for the thread (member servers run Hearth: no bare Announce), one for the reply"
    );
}

//! Help for a person in crisis, on real Hearth servers on loopback: A hosts
//! the group `circle` (ann moderates, max is a member), bea on B is a
//! member from elsewhere. A post with a crisis phrase shows its author the
//! configured helplines at once and goes first in A's moderators' reports,
//! with a notification and a call to A's webhook, whether it was written
//! on A or arrived from B; look-alike phrases do nothing (the per-language
//! tables are `hearth_domain::crisis`'s unit tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{Rig, Scene};
use support::{Backend, wait_until};

/// A webhook receiver on loopback that keeps every JSON body POSTed to it.
struct Webhook {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Webhook {
    fn start() -> Webhook {
        use axum::extract::State;
        use axum::routing::post;

        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let router = axum::Router::new()
            .route(
                "/hook",
                post(
                    |State(got): State<Arc<Mutex<Vec<Value>>>>,
                     axum::Json(body): axum::Json<Value>| async move {
                        got.lock().unwrap().push(body);
                        StatusCode::NO_CONTENT
                    },
                ),
            )
            .with_state(got.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router).await.unwrap();
            });
        });
        Webhook { url, got }
    }

    fn events(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }
}

async fn scene(backend: &Backend, hook: &Webhook) -> Rig {
    Scene::new()
        .server("a")
        .set("HEARTH_CRISIS_WEBHOOK_URL", &hook.url)
        .set("HEARTH_CRISIS_COUNTRY", "DK")
        .member("ann")
        .member("max")
        .group("circle", "ann")
        .joins("max", "circle@a")
        .server("b")
        .set("HEARTH_CRISIS_COUNTRY", "NL")
        .member("bea")
        .joins("bea", "circle@a")
        .start(backend)
        .await
}

/// The reports ann (moderator of circle) sees on A, in order.
async fn reports(rig: &Rig) -> Vec<Value> {
    let list = rig
        .at("a")
        .api(Method::GET, "/api/v1/reports?state=open", Some("ann"), None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body["items"].as_array().unwrap().clone()
}

fn names(support: &Value) -> Vec<String> {
    support["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn crisis_words_show_their_author_help_and_go_first_to_the_moderators() {
    each_backend!(|backend| crisis_flow(&backend));
}

async fn crisis_flow(backend: &Backend) {
    let hook = Webhook::start();
    let rig = scene(backend, &hook).await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let circle = rig.handle("circle@a");

    // Look-alikes: nothing shown, nothing reported.
    let near = a
        .write(
            "max",
            "circle",
            json!({"title": "Dying to try the new sensor", "body": "This pain is killing my sleep though."}),
        )
        .await;
    assert!(near.get("crisis_support").is_none(), "{near}");

    // max writes words that may mean a crisis: the post is there, and he
    // is shown the helplines at once, those in English first, then the
    // server's country's, then those for anywhere.
    let thread = a
        .write(
            "max",
            "circle",
            json!({"title": "Tonight", "body": "I don't want to live like this any more.", "support_kind": "emotional"}),
        )
        .await;
    let support = &thread["crisis_support"];
    assert_eq!(support["language"], "en", "{thread}");
    let shown = names(support);
    assert_eq!(shown[0], "Samaritans", "{shown:?}");
    assert!(shown.contains(&"Livslinien".to_owned()), "{shown:?}");
    assert!(shown.contains(&"Emergency services (Europe)".to_owned()));
    let url = thread["url"].as_str().unwrap().to_owned();

    // Nobody else is shown it: ann reads the thread without it.
    let as_ann = a.wait_thread("ann", "circle", &url).await;
    assert!(as_ann.get("crisis_support").is_none(), "{as_ann}");
    // max reads his own thread with it.
    let as_max = a.wait_thread("max", "circle", &url).await;
    assert_eq!(as_max["crisis_support"]["language"], "en");

    // A report of another kind, made after it.
    let other = a
        .write(
            "ann",
            "circle",
            json!({"title": "Cure everything with lemons"}),
        )
        .await;
    let reported = a
        .api(
            Method::POST,
            "/api/v1/reports",
            Some("max"),
            Some(json!({"post_id": other["id"], "category": "misinformation"})),
        )
        .await;
    assert_eq!(reported.status, StatusCode::CREATED, "{}", reported.text);
    // Nobody may file a "possible crisis" themselves.
    a.api(
        Method::POST,
        "/api/v1/reports",
        Some("max"),
        Some(json!({"post_id": other["id"], "category": "possible_crisis"})),
    )
    .await
    .assert_problem(422, "validation-failed");

    // bea, on B, replies in Danish: her server shows her its helplines in
    // Danish first; the group's server, A, notices it when it arrives.
    let b_thread = b.wait_thread("bea", &circle, &url).await;
    let reply = b
        .reply(
            "bea",
            b_thread["id"].as_str().unwrap(),
            "Jeg har haft selvmordstanker i nat.",
        )
        .await;
    assert_eq!(reply["crisis_support"]["language"], "da", "{reply}");
    assert_eq!(names(&reply["crisis_support"])[0], "Livslinien");
    let reply_url = reply["url"].as_str().unwrap().to_owned();

    // The moderators' queue: both possible crises first, newest first,
    // then the older report of another kind.
    let queue = wait_until("bea's reply noticed on A", || async {
        let queue = reports(&rig).await;
        (queue.len() == 3).then_some(queue)
    })
    .await;
    assert_eq!(queue[0]["category"], "possible_crisis", "{queue:?}");
    assert_eq!(queue[0]["post"], reply_url.as_str());
    assert_eq!(queue[1]["category"], "possible_crisis");
    assert_eq!(queue[1]["post"], url.as_str());
    assert_eq!(queue[2]["category"], "misinformation");
    assert!(
        queue[1]["comment"]
            .as_str()
            .unwrap()
            .contains("want to live")
    );
    // B's own moderators judge nothing of a group elsewhere.
    assert!(
        b.api(Method::GET, "/api/v1/reports", Some("bea"), None)
            .await
            .status
            .is_client_error()
    );
    // A member is not a moderator.
    assert_eq!(
        a.api(Method::GET, "/api/v1/reports", Some("max"), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // ann was alerted, once per post.
    let alerts = a
        .api(Method::GET, "/api/v1/notifications", Some("ann"), None)
        .await;
    let crisis_alerts = alerts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "possible_crisis")
        .count();
    assert_eq!(crisis_alerts, 2, "{}", alerts.text);

    // The webhook heard of both, without a word of either post.
    let events = wait_until("the webhook told twice", || async {
        let events = hook.events();
        (events.len() == 2).then_some(events)
    })
    .await;
    for event in &events {
        assert_eq!(event["event"], "possible_crisis");
        let text = event.to_string();
        assert!(
            !text.contains("live") && !text.contains("selvmord"),
            "{text}"
        );
        assert!(event["post"].as_str().unwrap().contains("/posts/"));
    }

    // ann sends max the helplines privately: only he is told.
    let report = queue[1]["id"].as_str().unwrap();
    let sent = a
        .api(
            Method::POST,
            &format!("/api/v1/reports/{report}/support"),
            Some("ann"),
            None,
        )
        .await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT, "{}", sent.text);
    let told = a
        .api(Method::GET, "/api/v1/notifications", Some("max"), None)
        .await;
    assert!(
        told.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "crisis_support"),
        "{}",
        told.text
    );
    // max may not send it (he does not handle reports); bea is on another
    // server, where Hearth cannot write to her privately.
    assert_eq!(
        a.api(
            Method::POST,
            &format!("/api/v1/reports/{report}/support"),
            Some("max"),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let elsewhere = queue[0]["id"].as_str().unwrap();
    a.api(
        Method::POST,
        &format!("/api/v1/reports/{elsewhere}/support"),
        Some("ann"),
        None,
    )
    .await
    .assert_problem(403, "forbidden");

    // An edit that brings crisis words in is noticed; the thread is
    // reported once.
    let edited = a
        .api(
            Method::PATCH,
            &format!("/api/v1/posts/{}", near["id"].as_str().unwrap()),
            Some("max"),
            Some(json!({"body": "Honestly, I want to end my life."})),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.body["crisis_support"]["language"], "en");
    assert_eq!(reports(&rig).await.len(), 4);

    // Dealt with, it leaves the top of the queue.
    let resolved = a
        .api(
            Method::POST,
            &format!("/api/v1/reports/{report}/resolve"),
            Some("ann"),
            Some(json!({"resolution": "Talked with max, he has support"})),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    let queue = reports(&rig).await;
    assert_eq!(queue.len(), 3);
    assert!(queue.iter().all(|r| r["id"] != report));

    // The helplines are public, in the language asked for first.
    let list = a
        .instance
        .get("/api/v1/crisis-resources?language=fr", None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body[0]["phone"], "3114", "{}", list.text);
    let page = a.instance.get("/help?language=da", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Livslinien"), "{}", page.text);
    assert!(page.text.contains("tel:70201201"));
}

#[tokio::test]
async fn an_instance_adds_a_language_of_its_own_and_can_turn_checking_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("de.txt"),
        "# German\nich will sterben\n!ich will sterben vor lachen\n",
    )
    .unwrap();
    let rig = Scene::new()
        .server("a")
        .set("HEARTH_CRISIS_PHRASES_DIR", dir.path().to_str().unwrap())
        .member("ann")
        .member("max")
        .group("circle", "ann")
        .joins("max", "circle@a")
        .server("b")
        .set("HEARTH_CRISIS_ENABLED", "false")
        .member("bea")
        .group("quiet", "bea")
        .start(&Backend::Sqlite)
        .await;
    let (a, b) = (rig.at("a"), rig.at("b"));
    let laugh = a
        .write(
            "max",
            "circle",
            json!({"title": "Ich will sterben vor Lachen"}),
        )
        .await;
    assert!(laugh.get("crisis_support").is_none());
    let german = a
        .write("max", "circle", json!({"title": "Ich will sterben"}))
        .await;
    assert_eq!(german["crisis_support"]["language"], "de", "{german}");
    assert_eq!(reports(&rig).await.len(), 1);

    let off = b
        .write("bea", "quiet", json!({"title": "I want to die"}))
        .await;
    assert!(off.get("crisis_support").is_none(), "{off}");

    // A bad list is refused by `hearth config check`, naming the key.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("sv.txt"), "# nothing but comments\n").unwrap();
    let (status, _, err) = a
        .instance
        .command(&["config", "check"])
        .env("HEARTH_CRISIS_PHRASES_DIR", bad.path())
        .output()
        .map(|o| {
            (
                o.status,
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert!(!status.success());
    assert!(err.contains("crisis.phrases_dir"), "{err}");
    let (status, _, err) = a
        .instance
        .command(&["config", "check"])
        .env("HEARTH_CRISIS_LANGUAGES", "en,xx")
        .output()
        .map(|o| {
            (
                o.status,
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert!(!status.success());
    assert!(err.contains("crisis.languages"), "{err}");
}

//! Subscriptions to published domain lists: a real HTTP server in the test
//! publishes a blocklist (or allowlist) whose contents the test changes,
//! and real Hearth servers subscribe to it, refuse what it lists, lift
//! what it drops, keep what they had when it fails, and let the admin's
//! own rule win. Every wait polls with a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{Rig, Scene, urlencode};
use support::{Backend, Instance, Options, wait_until};

const PW: &str = "a long enough passphrase";
const HEADER: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate";

/// A server on loopback publishing one list at `/list` (and a redirect
/// to it at `/moved`), whose answer the test changes. It runs on a thread
/// and runtime of its own, so it answers while the test waits for a
/// `hearth` command to finish.
struct ListServer {
    base: String,
    answer: Arc<Mutex<(u16, String)>>,
    /// Requests answered at `/list`.
    requests: Arc<AtomicUsize>,
}

impl ListServer {
    fn start(body: &str) -> ListServer {
        use axum::extract::State;
        use axum::http::{StatusCode as Status, header};
        use axum::routing::get;

        type Answer = (Arc<Mutex<(u16, String)>>, Arc<AtomicUsize>);
        let answer = Arc::new(Mutex::new((200, body.to_owned())));
        let requests = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new()
            .route(
                "/list",
                get(|State((answer, requests)): State<Answer>| async move {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = answer.lock().unwrap().clone();
                    (Status::from_u16(status).unwrap(), body)
                }),
            )
            .route(
                "/moved",
                get(|| async { (Status::FOUND, [(header::LOCATION, "/list")]) }),
            )
            .with_state((answer.clone(), requests.clone()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
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
        ListServer {
            base,
            answer,
            requests,
        }
    }

    fn url(&self) -> String {
        format!("{}/list", self.base)
    }

    /// Answer `status` with `body` from now on.
    fn publish(&self, status: u16, body: impl Into<String>) {
        *self.answer.lock().unwrap() = (status, body.into());
    }
}

/// A blocklist in Mastodon's CSV naming `domains` (suspended), and one
/// `noop` entry that is left out.
fn blocklist(domains: &[&str]) -> String {
    let mut text = format!("{HEADER}\n");
    for domain in domains {
        text.push_str(&format!("{domain},suspend,false,false,Spam,false\n"));
    }
    text.push_str("nothing.example,noop,false,false,,false\n");
    text
}

/// A: ann and her open group `peers`; B: bea, a member of `peers`.
async fn scene(backend: &Backend, mode: &str) -> Rig {
    Scene::new()
        .server("a")
        .set("HEARTH_FEDERATION_MODE", mode)
        .member("ann")
        .group("peers", "ann")
        .server("b")
        .member("bea")
        .start(backend)
        .await
}

async fn members(instance: &Instance) -> u64 {
    instance.get("/api/v1/groups/peers", None).await.body["members"]
        .as_u64()
        .unwrap()
}

/// Bea's signed `Follow` of `peers`, numbered `n`: its status at A.
async fn follow(rig: &Rig, n: u32) -> StatusCode {
    let (a, b) = (rig.at("a"), rig.at("b"));
    let bea = b.actor("bea");
    let activity = json!({"id": format!("{bea}/follows/s{n}"), "type": "Follow", "actor": bea, "object": a.group_url("peers")});
    b.send_as("bea", &a.inbox(), &activity).await.0
}

/// Wait until A answers bea's signed fetch of `peers` with `status`.
async fn wait_for_fetch(rig: &Rig, status: StatusCode) {
    let (a, b) = (rig.at("a"), rig.at("b"));
    wait_until(
        &format!("A to answer B's signed fetch with {status}"),
        || async { (b.fetch_as("bea", &a.group_url("peers")).await.0 == status).then_some(()) },
    )
    .await;
}

/// Run `hearth ARGS` for `instance`; panics unless it succeeds. Returns
/// its standard output.
fn run_ok(instance: &Instance, args: &[&str]) -> String {
    let (status, out, err) = instance.run(args, "");
    assert!(status.success(), "hearth {args:?}: {out}{err}");
    out
}

#[tokio::test]
async fn a_subscribed_blocklist_cuts_a_server_off_until_the_list_drops_it() {
    each_backend!(|backend| blocklist_scenario(&backend));
}

async fn blocklist_scenario(backend: &Backend) {
    let rig = scene(backend, "blocklist").await;
    let a = &rig.at("a").instance;
    let b_authority = rig.at("b").authority();
    assert_eq!(follow(&rig, 1).await, StatusCode::ACCEPTED);
    assert_eq!(members(a).await, 2);
    let list = ListServer::start(&blocklist(&[&b_authority, "spam.example"]));
    let url = list.url();

    // The name for it: subscribe, fetched at once.
    let out = run_ok(a, &["admin", "subscribe-blocklist", &url]);
    assert!(
        out.contains(&format!(
            "{url}: 2 entries (2 added, 0 changed, 0 lifted), 1 left out"
        )),
        "{out}"
    );
    assert!(
        out.contains("left out nothing.example: noop asks for nothing"),
        "{out}"
    );
    assert!(
        out.contains("1 of their members' memberships here"),
        "{out}"
    );
    assert_eq!(members(a).await, 1, "bea's membership ended at once");
    let listed = run_ok(a, &["admin", "domains", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&b_authority) && l.contains(&format!("(from {url})"))),
        "{listed}"
    );
    let subscriptions = run_ok(a, &["admin", "domains", "subscriptions"]);
    assert!(
        subscriptions.contains(&format!("{url}  blocklist  2 entries")),
        "{subscriptions}"
    );
    assert!(!subscriptions.contains("last error"), "{subscriptions}");

    // The serving process takes the list's rule up within seconds.
    wait_for_fetch(&rig, StatusCode::FORBIDDEN).await;
    assert_eq!(follow(&rig, 2).await, StatusCode::FORBIDDEN);

    // The admin's own rule wins over the list's, and removing it gives the
    // list its say again.
    run_ok(a, &["admin", "domains", "set", &b_authority, "allow"]);
    wait_for_fetch(&rig, StatusCode::OK).await;
    assert_eq!(follow(&rig, 3).await, StatusCode::ACCEPTED);
    assert_eq!(members(a).await, 2);
    // Fetching the list again does not touch the admin's rule.
    run_ok(a, &["admin", "domains", "refresh"]);
    assert_eq!(follow(&rig, 4).await, StatusCode::ACCEPTED);
    let out = run_ok(a, &["admin", "unblock-domain", &b_authority]);
    assert!(out.contains("is removed"), "{out}");
    assert_eq!(members(a).await, 1, "the list's suspension applies again");
    wait_for_fetch(&rig, StatusCode::FORBIDDEN).await;
    // Only the list blocks it now: unblocking says where the block is.
    let (status, _, err) = a.run(&["admin", "unblock-domain", &b_authority], "");
    assert!(!status.success());
    assert!(err.contains(&url) && err.contains("allow"), "{err}");

    // A list that cannot be fetched keeps what it gave, and says why.
    for (status, body, why) in [
        (500, "oops".to_owned(), "500"),
        (200, "a.example\n".repeat(120_000), "larger than 1024 KiB"),
        (
            200,
            "<!DOCTYPE html><html><body>Moved</body></html>".to_owned(),
            "HTML",
        ),
    ] {
        list.publish(status, body);
        let (exit, out, err) = a.run(&["admin", "domains", "refresh"], "");
        assert!(!exit.success(), "{out}{err}");
        assert!(out.contains("not fetched") && out.contains(why), "{out}");
        assert!(err.contains("1 of 1 lists could not be fetched"), "{err}");
        let subscriptions = run_ok(a, &["admin", "domains", "subscriptions"]);
        assert!(
            subscriptions.contains("2 entries") && subscriptions.contains("last error: "),
            "{subscriptions}"
        );
        assert!(subscriptions.contains(why), "{subscriptions}");
        assert_eq!(follow(&rig, 5).await, StatusCode::FORBIDDEN);
    }

    // The list drops B: the next fetch lifts its rule.
    list.publish(200, blocklist(&["spam.example"]));
    let out = run_ok(a, &["admin", "domains", "refresh"]);
    assert!(
        out.contains("1 entries (0 added, 0 changed, 1 lifted)"),
        "{out}"
    );
    wait_for_fetch(&rig, StatusCode::OK).await;
    assert_eq!(follow(&rig, 6).await, StatusCode::ACCEPTED);
    assert_eq!(members(a).await, 2);
    let subscriptions = run_ok(a, &["admin", "domains", "subscriptions"]);
    assert!(!subscriptions.contains("last error"), "{subscriptions}");

    // Unsubscribing lifts what is left of it.
    run_ok(a, &["admin", "domains", "unsubscribe", &url]);
    let listed = run_ok(a, &["admin", "domains", "list"]);
    assert!(!listed.contains("spam.example"), "{listed}");
    let subscriptions = run_ok(a, &["admin", "domains", "subscriptions"]);
    assert!(
        subscriptions.contains("no subscribed lists"),
        "{subscriptions}"
    );
}

#[tokio::test]
async fn in_allowlist_mode_a_subscribed_allowlist_lets_its_servers_in() {
    let rig = scene(&Backend::Sqlite, "allowlist").await;
    let a = &rig.at("a").instance;
    let b_authority = rig.at("b").authority();
    assert_eq!(follow(&rig, 1).await, StatusCode::FORBIDDEN);

    // A plain list of domains, one per line.
    let list = ListServer::start(&format!("# our friends\n{b_authority}\nfriends.example\n"));
    let out = run_ok(
        a,
        &["admin", "domains", "subscribe", &list.url(), "--allow"],
    );
    assert!(out.contains("subscribed to the allowlist"), "{out}");
    assert!(out.contains("2 entries (2 added"), "{out}");
    wait_for_fetch(&rig, StatusCode::OK).await;
    assert_eq!(follow(&rig, 2).await, StatusCode::ACCEPTED);
    assert_eq!(members(a).await, 2);

    // The admin's own suspension wins over the list's allow.
    run_ok(
        a,
        &[
            "admin",
            "block-domain",
            &b_authority,
            "--private-reason",
            "reports 7",
        ],
    );
    assert_eq!(members(a).await, 1);
    wait_for_fetch(&rig, StatusCode::FORBIDDEN).await;
    run_ok(a, &["admin", "domains", "remove", &b_authority]);
    wait_for_fetch(&rig, StatusCode::OK).await;
    assert_eq!(follow(&rig, 3).await, StatusCode::ACCEPTED);

    // The list no longer names B: B is cut off, as no rule allows it.
    list.publish(200, "friends.example\n");
    let out = run_ok(a, &["admin", "domains", "refresh"]);
    assert!(out.contains("1 lifted"), "{out}");
    assert!(
        out.contains("1 of their members' memberships here"),
        "{out}"
    );
    assert_eq!(members(a).await, 1);
    wait_for_fetch(&rig, StatusCode::FORBIDDEN).await;
}

/// An instance with an admin `alice` and a member `ann`; their tokens.
async fn with_admin(backend: &Backend, options: Options) -> (Instance, String, String) {
    let instance = Instance::start(backend, options.registration("open")).await;
    instance.create_user("alice", PW, &["--admin"]);
    let root = instance.login("alice", PW).await;
    instance.register("ann", PW).await;
    let ann = instance.login("ann", PW).await;
    (instance, root, ann)
}

/// The rules a list at `url` gave, as `(domain, action)`.
async fn rules_from(a: &Instance, token: &str, url: &str) -> Vec<(String, String)> {
    let listed = a.get("/api/v1/admin/domain_rules", Some(token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["subscription"] == url)
        .map(|r| {
            (
                r["domain"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn subscriptions(a: &Instance, token: &str) -> Vec<Value> {
    let listed = a
        .get("/api/v1/admin/domain_subscriptions", Some(token))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed.body["subscriptions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn admins_manage_subscriptions_over_the_api_and_lists_refresh_on_their_own() {
    each_backend!(|backend| api_scenario(&backend));
}

async fn api_scenario(backend: &Backend) {
    // Lists are fetched again every 10 seconds (the least allowed).
    let options = Options::default().set("HEARTH_FEDERATION_SUBSCRIPTION_REFRESH_SECS", 10);
    let (a, root, ann) = with_admin(backend, options).await;
    let path = "/api/v1/admin/domain_subscriptions";
    // Mastodon's /api/v1/instance/domain_blocks, behind a redirect.
    let list = ListServer::start(
        &json!([
            {"domain": "spam.example", "digest": "ab", "severity": "suspend", "comment": "Spam"},
            {"domain": "worse.example", "digest": "cd", "severity": "suspend", "comment": ""},
            {"domain": "quiet.example", "digest": "ef", "severity": "silence", "comment": ""},
            {"domain": "b*d.example", "digest": "01", "severity": "suspend", "comment": ""}
        ])
        .to_string(),
    );
    let url = format!("{}/moved", list.base);

    // Admins only.
    a.get(path, None)
        .await
        .assert_problem(401, "not-authenticated");
    a.get(path, Some(&ann))
        .await
        .assert_problem(403, "forbidden");
    a.post(path, Some(&ann), json!({"url": url}))
        .await
        .assert_problem(403, "forbidden");
    a.request(
        Method::DELETE,
        &format!("{path}?url={}", urlencode(&url)),
        Some(&ann),
        None,
    )
    .await
    .assert_problem(403, "forbidden");
    assert!(subscriptions(&a, &root).await.is_empty());

    // Bad input names its field.
    for (body, field) in [
        (json!({"url": "ftp://lists.example/b.csv"}), "url"),
        (
            json!({"url": "https://me:secret@lists.example/b.csv"}),
            "url",
        ),
        (json!({"url": "lists.example/b.csv"}), "url"),
        (json!({"url": url, "kind": "maybe"}), "kind"),
    ] {
        let answer = a.post(path, Some(&root), body).await;
        answer.assert_problem(422, "validation-failed");
        assert_eq!(answer.body["field"], field, "{}", answer.text);
    }

    let subscribed = a
        .post(path, Some(&root), json!({"url": url, "kind": "block"}))
        .await;
    assert_eq!(
        subscribed.status,
        StatusCode::CREATED,
        "{}",
        subscribed.text
    );
    let body = &subscribed.body;
    assert_eq!(body["subscription"]["url"], url);
    assert_eq!(body["subscription"]["kind"], "block");
    assert_eq!(body["subscription"]["entries"], 3);
    assert_eq!(body["subscription"]["last_error"], Value::Null);
    assert_eq!(body["fetch"]["error"], Value::Null);
    assert_eq!(body["fetch"]["added"], 3);
    let skipped: Vec<&str> = body["fetch"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["domain"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["b*d.example"], "{}", subscribed.text);
    assert_eq!(
        rules_from(&a, &root, &url).await,
        [
            // Mastodon's silence is Hearth's limit.
            ("quiet.example".to_owned(), "limit".to_owned()),
            ("spam.example".to_owned(), "suspend".to_owned()),
            ("worse.example".to_owned(), "suspend".to_owned())
        ]
    );
    a.post(path, Some(&root), json!({"url": url}))
        .await
        .assert_problem(409, "conflict");

    // The serving process fetches the list again by itself.
    list.publish(
        200,
        json!([{"domain": "spam.example", "severity": "suspend", "comment": "Spam"}]).to_string(),
    );
    wait_until(
        "the list to be fetched again and the others lifted",
        || async { (rules_from(&a, &root, &url).await.len() == 1).then_some(()) },
    )
    .await;
    // A failing fetch keeps the rules and records why.
    list.publish(404, "not here");
    let failed = wait_until("a failed fetch to be recorded", || async {
        subscriptions(&a, &root)
            .await
            .into_iter()
            .find(|s| s["last_error"].is_string())
    })
    .await;
    assert!(
        failed["last_error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    assert_eq!(failed["entries"], 1);
    assert_eq!(rules_from(&a, &root, &url).await.len(), 1);

    // An allowlist beside it, a plain list.
    let friends = ListServer::start("friends.example\n");
    let subscribed = a
        .post(
            path,
            Some(&root),
            json!({"url": friends.url(), "kind": "allow"}),
        )
        .await;
    assert_eq!(
        subscribed.status,
        StatusCode::CREATED,
        "{}",
        subscribed.text
    );
    assert_eq!(
        rules_from(&a, &root, &friends.url()).await,
        [("friends.example".to_owned(), "allow".to_owned())]
    );
    assert_eq!(subscriptions(&a, &root).await.len(), 2);

    // Unsubscribing needs the URL, lifts the list's rules, and happens once.
    a.request(Method::DELETE, path, Some(&root), None)
        .await
        .assert_problem(422, "validation-failed");
    let one = format!("{path}?url={}", urlencode(&url));
    let removed = a.request(Method::DELETE, &one, Some(&root), None).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    assert!(rules_from(&a, &root, &url).await.is_empty());
    a.request(Method::DELETE, &one, Some(&root), None)
        .await
        .assert_problem(404, "not-found");
    assert_eq!(subscriptions(&a, &root).await.len(), 1);
}

#[tokio::test]
async fn outside_test_mode_a_list_on_a_local_address_is_not_fetched() {
    let options = Options::default().set("HEARTH_TEST_MODE", "false");
    let (a, root, _) = with_admin(&Backend::Sqlite, options).await;
    let list = ListServer::start(&blocklist(&["spam.example"]));
    let port = list.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        list.url(),
        format!("http://localhost:{port}/list"),
        format!("http://[::1]:{port}/list"),
    ] {
        let subscribed = a
            .post(
                "/api/v1/admin/domain_subscriptions",
                Some(&root),
                json!({"url": url}),
            )
            .await;
        // Kept, as a list that is down for now would be; never fetched.
        assert_eq!(
            subscribed.status,
            StatusCode::CREATED,
            "{}",
            subscribed.text
        );
        let error = subscribed.body["fetch"]["error"]
            .as_str()
            .unwrap_or_default();
        assert!(
            error.contains("refused") && error.contains("address"),
            "{url}: {}",
            subscribed.text
        );
        assert_eq!(subscribed.body["subscription"]["entries"], 0);
        assert!(rules_from(&a, &root, &url).await.is_empty());
    }
    assert_eq!(list.requests.load(Ordering::SeqCst), 0);
}

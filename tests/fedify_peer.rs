//! Interoperability with an ActivityPub implementation this project did not
//! write: a Fedify (1.5.x, Node) peer resolves a Hearth group by WebFinger,
//! follows it with a signed `Follow`, and receives the group's signed
//! `Accept`, which Fedify verifies before it reports it. As a member, it
//! receives the group's `Announce`s of a new thread (FEP-1b12), replies with
//! a `Create` of a `Note`, and the reply reaches every Hearth server of the
//! group and comes back to the peer announced.
//!
//! The peer is `tests/peers/fedify/peer.mjs`; its pinned dependencies are
//! installed with `npm ci --prefix tests/peers/fedify` when missing (see
//! `tests/peers/README.md`). It prints one JSON event per line on stdout,
//! which these tests read with a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Instance, Options};
use tokio::sync::mpsc;

const PW: &str = "a long enough passphrase";

const PEER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/fedify");
const PEER_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/peers/fedify/peer.mjs"
);

/// A running `node peer.mjs`: its stdout events arrive on a channel, its
/// stderr (Fedify's debug log) goes to a file printed when a test fails.
/// The process is killed when this is dropped.
struct FedifyPeer {
    port: u16,
    child: Child,
    events: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
    stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl FedifyPeer {
    /// Start the peer and wait until it listens; it then looks up `group`
    /// and follows it on its own, then plays `scenario` (`follow` ends at
    /// the Accept; `reply`: see `tests/peers/fedify/peer.mjs`).
    ///
    /// `port` is chosen before Hearth starts ([`peer_port`]): Hearth does
    /// not know Fedify's handling of members-only posts, so the test's
    /// Hearth admin vouches for the peer's server by its address.
    async fn start(group: &str, scenario: &str, port: u16) -> FedifyPeer {
        require_installed();
        for attempt in 0..3 {
            let mut peer = FedifyPeer::spawn(group, scenario, port);
            let first = peer.next_any().await;
            match first["event"].as_str() {
                Some("listening") => return peer,
                Some("error")
                    if attempt < 2
                        && first["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("EADDRINUSE")) =>
                {
                    continue;
                }
                _ => panic!("the peer did not start listening: {first}"),
            }
        }
        unreachable!()
    }

    fn spawn(group: &str, scenario: &str, port: u16) -> FedifyPeer {
        let dir = tempfile::Builder::new()
            .prefix("hearth-fedify-peer-")
            .tempdir()
            .unwrap();
        let stderr_path = dir.path().join("peer.stderr");
        let stderr = File::create(&stderr_path).unwrap();
        let mut child = Command::new("node")
            .arg(PEER_SCRIPT)
            .args(["--port", &port.to_string()])
            .args(["--group", group])
            .args(["--scenario", scenario])
            .args(["--timeout-ms", &support::DEADLINE.as_millis().to_string()])
            .current_dir(PEER_DIR)
            // The `reply` scenario serves on until its stdin closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 or newer is needed): {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({"event": "unparsable", "line": line}));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        FedifyPeer {
            port,
            child,
            events,
            seen: Vec::new(),
            stderr_path,
            _dir: dir,
        }
    }

    /// The peer's next event, whatever it is; panics at the deadline or
    /// when the peer's stdout ends.
    async fn next_any(&mut self) -> Value {
        let event = tokio::time::timeout(support::DEADLINE, self.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no event from the peer within {:?}; so far: {:?}",
                    support::DEADLINE,
                    self.seen
                )
            })
            .unwrap_or_else(|| {
                panic!(
                    "the peer's stdout ended (exit: {:?}); events so far: {:?}",
                    self.child.try_wait(),
                    self.seen
                )
            });
        self.seen.push(event.clone());
        event
    }

    /// The next event, which must be `name`.
    async fn next(&mut self, name: &str) -> Value {
        let event = self.next_any().await;
        assert_eq!(
            event["event"], name,
            "expected the peer's `{name}` event, got {event}; events so far: {:?}",
            self.seen
        );
        event
    }

    /// The next event other than `announced`, which must be `name`; the
    /// `announced` events read on the way are added to `announced`.
    async fn next_after_announced(&mut self, name: &str, announced: &mut Vec<Value>) -> Value {
        loop {
            let event = self.next_any().await;
            if event["event"] == "announced" {
                announced.push(event);
                continue;
            }
            assert_eq!(
                event["event"], name,
                "expected the peer's `{name}` event, got {event}; events so far: {:?}",
                self.seen
            );
            return event;
        }
    }

    /// Whether the peer has printed anything not yet read.
    fn has_pending_event(&mut self) -> Option<Value> {
        self.events.try_recv().ok()
    }

    /// Close the peer's stdin: in the `reply` scenario, the signal to exit
    /// once done.
    fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Wait for the peer to exit on its own; returns whether it succeeded.
    async fn wait_exit(&mut self) -> bool {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                started.elapsed() < support::DEADLINE,
                "the peer did not exit"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn actor_id(&self) -> String {
        format!("http://localhost:{}/users/peer", self.port)
    }

    fn origin(&self) -> String {
        format!("http://localhost:{}/", self.port)
    }
}

impl Drop for FedifyPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("=== Fedify peer events ===");
            for event in &self.seen {
                eprintln!("{event}");
            }
            eprintln!("=== Fedify peer stderr ===\n{}", self.stderr());
        }
    }
}

/// Prints the whole log of the Hearth instance named `.0` when a test
/// fails (the instance itself only prints its last lines).
struct HearthLogOnFailure<'a>(&'a str, &'a Instance);

impl Drop for HearthLogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "=== Hearth {} log (port {}) ===\n{}",
                self.0,
                self.1.port,
                self.1.logs()
            );
        }
    }
}

/// Fails (never skips) when the peer's npm dependencies are missing.
fn require_installed() {
    support::ensure_npm_packages(PEER_DIR, "@fedify/fedify");
    let modules = Path::new(PEER_DIR).join("node_modules");
    assert!(
        modules.join("@fedify/fedify").is_dir(),
        "the Fedify peer's dependencies are not installed ({} is missing): \
         run `npm ci --prefix tests/peers/fedify` in the workspace root first",
        modules.display()
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// The options of a Hearth instance the Fedify peer on `peer_port` may join
/// from: its admin vouches for the peer's server (software Hearth does not
/// know may not join groups otherwise).
fn vouching_for(peer_port: u16) -> Options {
    Options::default().registration("open").set(
        "HEARTH_FEDERATION_MEMBERS_ONLY_SERVERS",
        format!("localhost:{peer_port}"),
    )
}

/// A port for the peer, chosen before Hearth starts.
fn peer_port() -> u16 {
    free_port()
}

/// A Hearth instance with a moderator `mod` who created group `peers`,
/// vouching for a peer on `peer_port`.
async fn hearth_with_group(
    backend: &Backend,
    join_policy: &str,
    peer_port: u16,
) -> (Instance, String) {
    require_installed();
    let hearth = Instance::start(backend, vouching_for(peer_port)).await;
    hearth.register("mod", PW).await;
    let token = hearth.login("mod", PW).await;
    let created = hearth
        .post(
            "/api/v1/groups",
            Some(&token),
            json!({"name": "peers", "title": "Type 1 Peers", "join_policy": join_policy}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["members"], 1, "{}", created.text);
    (hearth, token)
}

fn group_id(hearth: &Instance) -> String {
    format!("http://localhost:{}/g/peers", hearth.port)
}

async fn members(hearth: &Instance) -> Value {
    let group = hearth.get("/api/v1/groups/peers", None).await;
    assert_eq!(group.status, StatusCode::OK, "{}", group.text);
    group.body["members"].clone()
}

/// Reads the peer's `resolved` and `sent-follow` events and checks them.
async fn assert_resolved_and_followed(peer: &mut FedifyPeer, hearth: &Instance) -> String {
    let group = group_id(hearth);
    let resolved = peer.next("resolved").await;
    assert_eq!(resolved["type"], "Group", "{resolved}");
    assert_eq!(resolved["id"], group.as_str(), "{resolved}");
    assert_eq!(resolved["inbox"], format!("{group}/inbox"), "{resolved}");

    let sent = peer.next("sent-follow").await;
    let follow_id = sent["id"].as_str().expect("a Follow id").to_owned();
    assert!(
        follow_id.starts_with(&format!("http://localhost:{}/", peer.port)),
        "the Follow's id is under the peer's origin: {sent}"
    );
    follow_id
}

/// Reads the peer's `accepted` event and checks it names the group and the
/// Follow, and that Fedify verified the group's signature; then the peer
/// exits.
async fn assert_accepted(peer: &mut FedifyPeer, hearth: &Instance, follow_id: &str) {
    check_accepted(peer, hearth, follow_id).await;
    assert!(peer.wait_exit().await, "the peer exits 0 after the Accept");
}

/// Reads the peer's `accepted` event and checks it names the group and the
/// Follow, and that Fedify verified the group's signature.
async fn check_accepted(peer: &mut FedifyPeer, hearth: &Instance, follow_id: &str) {
    let group = group_id(hearth);
    let accepted = peer.next("accepted").await;
    assert_eq!(accepted["actor"], group.as_str(), "{accepted}");
    assert_eq!(accepted["object"], follow_id, "{accepted}");
    assert_eq!(accepted["signatureVerified"], true, "{accepted}");
    assert_eq!(
        accepted["keyId"],
        format!("{group}#main-key"),
        "signed with the group's key: {accepted}"
    );
    assert!(
        accepted["accept"]
            .as_str()
            .is_some_and(|id| id.starts_with(&format!("http://localhost:{}/", hearth.port))),
        "the Accept has an id on Hearth: {accepted}"
    );
}

#[tokio::test]
async fn fedify_peer_follows_an_open_group_and_verifies_the_accept() {
    each_backend!(|backend| fedify_peer_follows_an_open_group_and_verifies_the_accept_on(&backend));
}

async fn fedify_peer_follows_an_open_group_and_verifies_the_accept_on(backend: &Backend) {
    let port = peer_port();
    let (hearth, _token) = hearth_with_group(backend, "open", port).await;
    let _log = HearthLogOnFailure("A", &hearth);

    let mut peer = FedifyPeer::start(
        &format!("acct:peers@localhost:{}", hearth.port),
        "follow",
        port,
    )
    .await;
    let follow_id = assert_resolved_and_followed(&mut peer, &hearth).await;
    assert_accepted(&mut peer, &hearth, &follow_id).await;

    support::wait_until("the peer to count as a member", || async {
        (members(&hearth).await == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn fedify_peer_follow_of_an_approval_group_waits_for_the_moderator_then_is_accepted() {
    each_backend!(|backend| {
        fedify_peer_follow_of_an_approval_group_waits_for_the_moderator_then_is_accepted_on(
            &backend,
        )
    });
}

async fn fedify_peer_follow_of_an_approval_group_waits_for_the_moderator_then_is_accepted_on(
    backend: &Backend,
) {
    let port = peer_port();
    let (hearth, token) = hearth_with_group(backend, "approval", port).await;
    let _log = HearthLogOnFailure("A", &hearth);

    let mut peer = FedifyPeer::start(
        &format!("acct:peers@localhost:{}", hearth.port),
        "follow",
        port,
    )
    .await;
    let follow_id = assert_resolved_and_followed(&mut peer, &hearth).await;

    let handle = format!("peer@localhost:{}", peer.port);
    let request = support::wait_until("the moderator to see the peer's request", || async {
        let requests = hearth
            .get("/api/v1/groups/peers/requests", Some(&token))
            .await;
        assert_eq!(requests.status, StatusCode::OK, "{}", requests.text);
        requests.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|r| r["handle"] == handle.as_str()))
            .cloned()
    })
    .await;
    assert_eq!(request["remote"], true, "{request}");
    assert_eq!(request["actor_url"], peer.actor_id(), "{request}");
    assert_eq!(request["state"], "pending", "{request}");

    // Pending: not a member yet, and no Accept has reached the peer.
    assert_eq!(members(&hearth).await, 1);
    if let Some(early) = peer.has_pending_event() {
        panic!("the peer got something before the moderator decided: {early}");
    }

    let id = request["id"].as_str().expect("request ids are strings");
    let approved = hearth
        .post(
            &format!("/api/v1/groups/peers/requests/{id}/approve"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["state"], "joined", "{}", approved.text);

    assert_accepted(&mut peer, &hearth, &follow_id).await;
    support::wait_until("the peer to count as a member", || async {
        (members(&hearth).await == 2).then_some(())
    })
    .await;
}

/// The thread `url` of `group` (a handle or a local name) as a member on
/// `instance` sees it, with nested replies.
async fn thread_on(instance: &Instance, token: &str, group: &str, url: &str) -> Option<Value> {
    let group: String = url::form_urlencoded::byte_serialize(group.as_bytes()).collect();
    let list = instance
        .get(&format!("/api/v1/posts?group={group}"), Some(token))
        .await;
    let id = list.body["items"]
        .as_array()?
        .iter()
        .find(|p| p["url"] == url)?["id"]
        .as_str()?
        .to_owned();
    let thread = instance
        .get(&format!("/api/v1/posts/{id}"), Some(token))
        .await;
    (thread.status == StatusCode::OK).then_some(thread.body)
}

/// Join `target` from `instance` through the API and wait until joined.
async fn join(instance: &Instance, token: &str, target: &str) {
    let joined = instance
        .post(
            "/api/v1/memberships",
            Some(token),
            json!({"target": target}),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    let url = joined.body["group"]["url"].as_str().unwrap().to_owned();
    support::wait_until("the membership to be joined", || async {
        let list = instance.get("/api/v1/memberships", Some(token)).await;
        list.body["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|m| m["group"]["url"] == url.as_str() && m["state"] == "joined")
                .map(|_| ())
        })
    })
    .await;
}

#[tokio::test]
async fn fedify_peer_receives_announced_threads_and_its_reply_reaches_every_hearth_server() {
    each_backend!(|backend| {
        fedify_peer_receives_announced_threads_and_its_reply_reaches_every_hearth_server_on(
            &backend,
        )
    });
}

async fn fedify_peer_receives_announced_threads_and_its_reply_reaches_every_hearth_server_on(
    backend: &Backend,
) {
    require_installed();
    let port = peer_port();
    let a = Instance::start(backend, vouching_for(port)).await;
    let _log_a = HearthLogOnFailure("A", &a);
    let b = Instance::start(backend, Options::default().registration("open")).await;
    let _log_b = HearthLogOnFailure("B", &b);
    a.register("ann", PW).await;
    let ann = a.login("ann", PW).await;
    b.register("bob", PW).await;
    let bob = b.login("bob", PW).await;
    let created = a
        .post(
            "/api/v1/groups",
            Some(&ann),
            json!({"name": "peers", "title": "Type 1 Peers", "join_policy": "open"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let handle = format!("@peers@localhost:{}", a.port);
    let group = group_id(&a);
    join(&b, &bob, &handle).await;

    // The peer joins too.
    let mut peer =
        FedifyPeer::start(&format!("acct:peers@localhost:{}", a.port), "reply", port).await;
    let follow_id = assert_resolved_and_followed(&mut peer, &a).await;
    check_accepted(&mut peer, &a, &follow_id).await;
    support::wait_until("ann, bob and the peer to be members", || async {
        (members(&a).await == 3).then_some(())
    })
    .await;

    // Ann writes a (members-only) thread on A, the group's server.
    let title = "Pacing on bad days";
    let written = a
        .post(
            "/api/v1/posts",
            Some(&ann),
            json!({
                "group": "peers",
                "title": title,
                "body": "How do you **pace** yourselves?",
                "support_kind": "my-situation",
            }),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
    let url = written.body["url"].as_str().unwrap().to_owned();
    let ann_id = written.body["author"]["url"].as_str().unwrap().to_owned();

    // The group announces it to the peer, which replies.
    let mut announced = Vec::new();
    let sent = peer
        .next_after_announced("sent-reply", &mut announced)
        .await;
    assert!(
        !announced.is_empty(),
        "the peer replies once the thread is announced"
    );
    let reply_id = sent["id"].as_str().expect("a reply id").to_owned();
    assert!(
        reply_id.starts_with(&peer.origin()),
        "the reply's id is under the peer's origin: {sent}"
    );
    assert_eq!(sent["inReplyTo"], url.as_str(), "{sent}");

    // The reply reaches A (the group's server) and B (another member's).
    let peer_handle = format!("peer@localhost:{}", peer.port);
    for (name, instance, token) in [("A", &a, &ann), ("B", &b, &bob)] {
        let (thread, reply) = support::wait_until(&format!("the reply on {name}"), || async {
            let thread = thread_on(instance, token, &handle, &url).await?;
            let reply = thread["replies"]
                .as_array()?
                .iter()
                .find(|r| r["url"] == reply_id.as_str())?
                .clone();
            Some((thread, reply))
        })
        .await;
        assert_eq!(thread["title"], title, "{name}: {thread}");
        assert_eq!(
            reply["author"]["handle"],
            peer_handle.as_str(),
            "{name}: {reply}"
        );
        assert_eq!(reply["author"]["url"], peer.actor_id(), "{name}: {reply}");
        assert!(
            reply["body_html"]
                .as_str()
                .is_some_and(|html| html.contains("pacing helps")),
            "{name}: {reply}"
        );
    }

    // The group announces the reply to every member server, the peer's too.
    let back = peer
        .next_after_announced("reply-announced", &mut announced)
        .await;
    assert_eq!(back["id"], reply_id.as_str(), "{back}");
    assert_eq!(
        back["via"], "create",
        "the author's Create, announced: {back}"
    );
    assert_eq!(back["actor"], peer.actor_id(), "{back}");
    assert_eq!(back["inReplyTo"], url.as_str(), "{back}");
    assert_eq!(back["signatureVerified"], true, "{back}");
    assert_eq!(back["keyId"], format!("{group}#main-key"), "{back}");
    peer.close_stdin();
    assert!(
        peer.wait_exit().await,
        "the peer exits 0 after its reply came back"
    );

    // Both ways Hearth announces a new thread reached the peer and were
    // usable by Fedify: the author's Create embedded, and the bare Page
    // (fetched by the peer with a signed request, as a member's server).
    for event in &announced {
        assert_eq!(event["page"], url.as_str(), "{event}");
        assert_eq!(event["name"], title, "{event}");
        assert_eq!(event["signatureVerified"], true, "{event}");
        assert_eq!(event["keyId"], format!("{group}#main-key"), "{event}");
        assert_eq!(event["attributedTo"], ann_id.as_str(), "{event}");
        assert_eq!(event["audience"], group.as_str(), "{event}");
        assert!(
            event["content"]
                .as_str()
                .is_some_and(|html| html.contains("<strong>pace</strong>")),
            "{event}"
        );
    }
    let via: Vec<&str> = announced.iter().filter_map(|e| e["via"].as_str()).collect();
    assert!(
        via.contains(&"create"),
        "the Announce of ann's Create: {announced:?}"
    );
    assert!(
        via.contains(&"bare"),
        "the bare Announce of the Page: {announced:?}"
    );
    let create = announced.iter().find(|e| e["via"] == "create").unwrap();
    assert_eq!(create["actor"], ann_id.as_str(), "{create}");
}

//! Interoperability with an ActivityPub implementation this project did not
//! write: a Fedify (1.5.x, Node) peer resolves a Hearth group by WebFinger,
//! follows it with a signed `Follow`, and receives the group's signed
//! `Accept`, which Fedify verifies before it reports it.
//!
//! The peer is `tests/peers/fedify/peer.mjs`; its dependencies must be
//! installed first with `npm ci --prefix tests/peers/fedify` (see
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
    /// and follows it on its own.
    async fn start(group: &str) -> FedifyPeer {
        require_installed();
        for attempt in 0..3 {
            let mut peer = FedifyPeer::spawn(group);
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

    fn spawn(group: &str) -> FedifyPeer {
        let port = free_port();
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
            .args(["--timeout-ms", &support::DEADLINE.as_millis().to_string()])
            .current_dir(PEER_DIR)
            .stdin(Stdio::null())
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

    /// Whether the peer has printed anything not yet read.
    fn has_pending_event(&mut self) -> Option<Value> {
        self.events.try_recv().ok()
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

/// Prints the whole Hearth log when a test fails (the instance itself only
/// prints its last lines).
struct HearthLogOnFailure<'a>(&'a Instance);

impl Drop for HearthLogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("=== Hearth log ===\n{}", self.0.logs());
        }
    }
}

/// Fails (never skips) when the peer's npm dependencies are missing.
fn require_installed() {
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

/// A Hearth instance with a moderator `mod` who created group `peers`.
async fn hearth_with_group(join_policy: &str) -> (Instance, String) {
    require_installed();
    let hearth = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
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
/// Follow, and that Fedify verified the group's signature.
async fn assert_accepted(peer: &mut FedifyPeer, hearth: &Instance, follow_id: &str) {
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
    assert!(peer.wait_exit().await, "the peer exits 0 after the Accept");
}

#[tokio::test]
async fn fedify_peer_follows_an_open_group_and_verifies_the_accept() {
    let (hearth, _token) = hearth_with_group("open").await;
    let _log = HearthLogOnFailure(&hearth);

    let mut peer = FedifyPeer::start(&format!("acct:peers@localhost:{}", hearth.port)).await;
    let follow_id = assert_resolved_and_followed(&mut peer, &hearth).await;
    assert_accepted(&mut peer, &hearth, &follow_id).await;

    support::wait_until("the peer to count as a member", || async {
        (members(&hearth).await == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn fedify_peer_follow_of_an_approval_group_waits_for_the_moderator_then_is_accepted() {
    let (hearth, token) = hearth_with_group("approval").await;
    let _log = HearthLogOnFailure(&hearth);

    let mut peer = FedifyPeer::start(&format!("acct:peers@localhost:{}", hearth.port)).await;
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

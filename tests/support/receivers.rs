//! A fleet of fake ActivityPub member servers on loopback, for delivery
//! tests and the `hearth-bench` benchmark: each receiver is its own
//! `localhost:PORT` with one Person (`/users/member`), verifies the HTTP
//! signature of every inbox POST the way a real server would (fetching the
//! signer's key over HTTP), and records what arrived, in order.
//!
//! ```text
//!  hearth ──signed POST──▶ receiver i (127.0.0.1:PORT_i)
//!                            │ hang? ─▶ verify Digest + signature (key cached per keyId)
//!                            │ delay ─▶ record {id, type, object, seq, at} ─▶ status (202)
//!  fleet.join(group) ──signed Follow per receiver──▶ hearth; wait for each Accept
//! ```
//!
//! It is shared by the integration tests (`tests/support/mod.rs`) and the
//! bench crate (`#[path]`), so it uses only crates both have: tokio, axum,
//! reqwest, rsa, sha2, base64, serde_json, url and httpdate.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// The one actor every receiver hosts.
pub const MEMBER: &str = "member";
/// Joins in flight at once in [`ReceiverFleet::join`].
pub const JOIN_CONCURRENCY: usize = 16;
const ACTIVITY_JSON: &str = "application/activity+json";
const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
/// Mastodon's window for a signature's `Date`: 1 h ahead, 65 min behind.
const DATE_FUTURE: Duration = Duration::from_secs(3600);
const DATE_PAST: Duration = Duration::from_secs(3900);

/// How every receiver of a fleet behaves at first; see the `set_*` methods
/// to change one later.
#[derive(Debug, Clone, Copy)]
pub struct ReceiverOptions {
    /// Wait this long before answering each inbox POST.
    pub delay: Duration,
    /// The status inbox POSTs are answered with (after verification).
    pub status: u16,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        ReceiverOptions {
            delay: Duration::ZERO,
            status: 202,
        }
    }
}

/// One inbox POST a receiver verified and answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// Index of the receiver in its fleet.
    pub receiver: usize,
    /// 1, 2, 3 … in the order this receiver answered.
    pub seq: u64,
    /// When the request reached the handler (before any delay).
    pub at: Instant,
    /// `/inbox` (shared) or `/users/member/inbox`.
    pub inbox: String,
    pub id: String,
    pub kind: String,
    pub actor: String,
    /// The `object`'s id (or the object when it is a plain string). For an
    /// `Announce{Create{Page}}` this is the Create's id; for a bare
    /// `Announce` it is the Page's id.
    pub object_id: Option<String>,
    /// The `object`'s type, when it is embedded.
    pub object_kind: Option<String>,
    /// The id of the object's own object, when the object is an embedded
    /// activity: the Page's id for an `Announce{Create{Page}}`.
    pub inner_object_id: Option<String>,
    /// The status this receiver answered with.
    pub status: u16,
    /// This receiver had already answered this activity id with 2xx.
    pub duplicate: bool,
    pub body: Arc<Value>,
}

impl Received {
    /// Whether `id` is this activity, its object, or its object's object.
    pub fn concerns(&self, id: &str) -> bool {
        self.id == id
            || self.object_id.as_deref() == Some(id)
            || self.inner_object_id.as_deref() == Some(id)
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The key pair all receivers sign with (each is another host, so sharing
/// one is harmless); generated once per process because RSA key generation
/// is slow.
struct Keys {
    private: RsaPrivateKey,
    public_pem: String,
}

static KEYS: OnceLock<Arc<Keys>> = OnceLock::new();

async fn keys() -> Arc<Keys> {
    if let Some(keys) = KEYS.get() {
        return keys.clone();
    }
    tokio::task::spawn_blocking(|| {
        KEYS.get_or_init(|| {
            let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .expect("generate the receivers' RSA key");
            let public_pem = private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("encode the receivers' public key");
            Arc::new(Keys {
                private,
                public_pem,
            })
        })
        .clone()
    })
    .await
    .expect("key generation task")
}

#[derive(Debug, Clone, Copy, Default)]
struct Control {
    hang: bool,
    /// Bumped by `stop`, so requests of the stopped server give up.
    epoch: u64,
}

#[derive(Default)]
struct Log {
    records: Vec<Received>,
    accepted_ids: HashSet<String>,
}

#[derive(Clone)]
struct CachedKey {
    key: RsaPublicKey,
    owner: String,
}

/// Sockets of one listening period, so `stop` can cut them.
#[derive(Default)]
struct Conns {
    next: AtomicU64,
    open: Mutex<HashMap<u64, std::net::TcpStream>>,
}

struct Running {
    task: JoinHandle<()>,
    conns: Arc<Conns>,
}

struct Receiver {
    index: usize,
    port: u16,
    authority: String,
    keys: Arc<Keys>,
    client: reqwest::Client,
    control: watch::Sender<Control>,
    delay_ms: AtomicU64,
    status: AtomicU16,
    log: Mutex<Log>,
    duplicates: AtomicUsize,
    rejected: AtomicUsize,
    rejections: Mutex<Vec<String>>,
    key_cache: Mutex<HashMap<String, CachedKey>>,
    key_fetches: AtomicUsize,
    follows: Mutex<Vec<String>>,
    server: Mutex<Option<Running>>,
}

/// N fake member servers; see the module documentation.
pub struct ReceiverFleet {
    receivers: Vec<Arc<Receiver>>,
    client: reqwest::Client,
    counter: AtomicU64,
}

impl ReceiverFleet {
    /// Start `n` receivers, each on its own `127.0.0.1:0` listener.
    pub async fn start(n: usize, opts: ReceiverOptions) -> ReceiverFleet {
        let keys = keys().await;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("receivers' HTTP client");
        let mut receivers = Vec::with_capacity(n);
        for index in 0..n {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a receiver on loopback");
            let port = listener.local_addr().expect("receiver address").port();
            let receiver = Arc::new(Receiver {
                index,
                port,
                authority: format!("localhost:{port}"),
                keys: keys.clone(),
                client: client.clone(),
                control: watch::Sender::new(Control::default()),
                delay_ms: AtomicU64::new(opts.delay.as_millis() as u64),
                status: AtomicU16::new(opts.status),
                log: Mutex::new(Log::default()),
                duplicates: AtomicUsize::new(0),
                rejected: AtomicUsize::new(0),
                rejections: Mutex::new(Vec::new()),
                key_cache: Mutex::new(HashMap::new()),
                key_fetches: AtomicUsize::new(0),
                follows: Mutex::new(Vec::new()),
                server: Mutex::new(None),
            });
            receiver.serve(listener);
            receivers.push(receiver);
        }
        ReceiverFleet {
            receivers,
            client,
            counter: AtomicU64::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.receivers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.receivers.is_empty()
    }

    /// `localhost:PORT` of receiver `i`.
    pub fn authority(&self, i: usize) -> String {
        self.receivers[i].authority.clone()
    }

    pub fn port(&self, i: usize) -> u16 {
        self.receivers[i].port
    }

    /// `http://localhost:PORT/users/member`.
    pub fn actor_url(&self, i: usize) -> String {
        self.receivers[i].actor_url()
    }

    /// `http://localhost:PORT/inbox`.
    pub fn shared_inbox(&self, i: usize) -> String {
        format!("http://{}/inbox", self.receivers[i].authority)
    }

    /// `member@localhost:PORT`.
    pub fn handle(&self, i: usize) -> String {
        format!("{MEMBER}@{}", self.receivers[i].authority)
    }

    // ---- joining ----

    /// Every receiver sends a signed `Follow` of the group (at most
    /// [`JOIN_CONCURRENCY`] at once; a `429` or `5xx` is retried), then this
    /// waits until each has received the group's `Accept`. Panics, naming
    /// the receivers still waiting, if that takes longer than 60 s plus
    /// 100 ms per receiver.
    pub async fn join(&self, group_inbox: &str, group_actor: &str) {
        let all: Vec<usize> = (0..self.len()).collect();
        self.join_some(&all, group_inbox, group_actor).await;
    }

    /// [`ReceiverFleet::join`] for some receivers only.
    pub async fn join_some(&self, which: &[usize], group_inbox: &str, group_actor: &str) {
        let deadline = Instant::now()
            + Duration::from_secs(60)
            + Duration::from_millis(100) * which.len() as u32;
        let permits = Arc::new(Semaphore::new(JOIN_CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        let mut follow_ids = HashMap::new();
        for &i in which {
            let follow = self.follow_activity(i, group_actor);
            let id = follow["id"].as_str().expect("follow id").to_owned();
            self.receivers[i].follows.lock().unwrap().push(id.clone());
            follow_ids.insert(i, id);
            let receiver = self.receivers[i].clone();
            let inbox = group_inbox.to_owned();
            let permit = permits.clone().acquire_owned().await.expect("join permits");
            tasks.spawn(async move {
                let result = receiver.post_until_taken(&inbox, &follow, deadline).await;
                drop(permit);
                (receiver.index, result)
            });
        }
        let mut failures = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (i, result) = done.expect("join task");
            if let Err(e) = result {
                failures.push(format!("{}: {e}", self.receivers[i].authority));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} Follows were refused:\n{}",
            failures.len(),
            which.len(),
            failures.join("\n")
        );
        let accepted = |i: usize| {
            let follow_id = &follow_ids[&i];
            self.receivers[i]
                .log
                .lock()
                .unwrap()
                .records
                .iter()
                .any(|r| {
                    r.kind == "Accept"
                        && r.actor == group_actor
                        && r.object_id.as_deref() == Some(follow_id.as_str())
                        && r.accepted()
                })
        };
        loop {
            let waiting: Vec<usize> = which.iter().copied().filter(|&i| !accepted(i)).collect();
            if waiting.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                let names: Vec<String> = waiting
                    .iter()
                    .take(20)
                    .map(|&i| self.receivers[i].authority.clone())
                    .collect();
                panic!(
                    "{} of {} receivers got no Accept from {group_actor} (first: {}); rejections: {:?}",
                    waiting.len(),
                    which.len(),
                    names.join(", "),
                    self.rejections()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A fresh activity id on receiver `i`.
    pub fn new_activity_id(&self, i: usize) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        format!(
            "http://{}/activities/{nanos:x}-{n}",
            self.receivers[i].authority
        )
    }

    fn follow_activity(&self, i: usize, group_actor: &str) -> Value {
        json!({
            "@context": AS_CONTEXT,
            "id": self.new_activity_id(i),
            "type": "Follow",
            "actor": self.actor_url(i),
            "object": group_actor,
            "to": [group_actor],
        })
    }

    /// POST `activity` to `url`, signed as receiver `i`'s member; returns
    /// the status and body text.
    pub async fn post_as(&self, i: usize, url: &str, activity: &Value) -> (u16, String) {
        self.receivers[i]
            .post(url, activity)
            .await
            .unwrap_or_else(|e| panic!("POST {url} as {}: {e}", self.actor_url(i)))
    }

    /// The headers of a POST of `body` to `url` signed as receiver `i`'s
    /// member (draft-cavage, rsa-sha256, Mastodon style).
    pub fn sign_post(&self, i: usize, url: &str, body: &[u8]) -> Vec<(String, String)> {
        self.receivers[i].sign_post(url, body)
    }

    // ---- what arrived ----

    /// What receiver `i` verified and answered, in arrival order.
    pub fn received(&self, i: usize) -> Vec<Received> {
        self.receivers[i].log.lock().unwrap().records.clone()
    }

    /// Look at receiver `i`'s records in place (no copies), for checks
    /// polled often over many receivers.
    pub fn with_received<T>(&self, i: usize, f: impl FnOnce(&[Received]) -> T) -> T {
        f(&self.receivers[i].log.lock().unwrap().records)
    }

    /// Everything every receiver answered, receiver by receiver.
    pub fn all_received(&self) -> Vec<Received> {
        (0..self.len()).flat_map(|i| self.received(i)).collect()
    }

    /// How many records, over all receivers, match `pred`.
    pub fn count_with(&self, pred: impl Fn(&Received) -> bool) -> usize {
        self.receivers
            .iter()
            .map(|r| {
                r.log
                    .lock()
                    .unwrap()
                    .records
                    .iter()
                    .filter(|x| pred(x))
                    .count()
            })
            .sum()
    }

    /// Whether receiver `i` answered activity `id` with 2xx.
    pub fn has(&self, i: usize, activity_id: &str) -> bool {
        self.receivers[i]
            .log
            .lock()
            .unwrap()
            .accepted_ids
            .contains(activity_id)
    }

    /// Whether every receiver answered activity `id` with 2xx.
    pub fn all_have(&self, activity_id: &str) -> bool {
        (0..self.len()).all(|i| self.has(i, activity_id))
    }

    /// When receiver `i` first took (2xx) a record matching `pred`.
    pub fn first_arrival(&self, i: usize, pred: impl Fn(&Received) -> bool) -> Option<Instant> {
        self.receivers[i]
            .log
            .lock()
            .unwrap()
            .records
            .iter()
            .find(|r| r.accepted() && pred(r))
            .map(|r| r.at)
    }

    /// Activities received again after this receiver had answered them
    /// with 2xx, over all receivers.
    pub fn duplicates(&self) -> usize {
        self.receivers
            .iter()
            .map(|r| r.duplicates.load(Ordering::Relaxed))
            .sum()
    }

    /// Inbox POSTs refused (bad signature, digest, date, key or body), over
    /// all receivers.
    pub fn rejected(&self) -> usize {
        self.receivers
            .iter()
            .map(|r| r.rejected.load(Ordering::Relaxed))
            .sum()
    }

    /// Why each refused POST was refused, as `authority: reason`.
    pub fn rejections(&self) -> Vec<String> {
        self.receivers
            .iter()
            .flat_map(|r| r.rejections.lock().unwrap().clone())
            .collect()
    }

    /// Actor documents fetched to verify signatures, over all receivers.
    pub fn key_fetches(&self) -> usize {
        self.receivers
            .iter()
            .map(|r| r.key_fetches.load(Ordering::Relaxed))
            .sum()
    }

    /// Poll `check` every 20 ms until it holds (`true`) or `deadline` has
    /// passed (`false`).
    pub async fn wait_for(
        &self,
        deadline: Duration,
        check: impl Fn(&ReceiverFleet) -> bool,
    ) -> bool {
        let started = Instant::now();
        loop {
            if check(self) {
                return true;
            }
            if started.elapsed() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A few lines per receiver, for a failing test's message.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for r in &self.receivers {
            let log = r.log.lock().unwrap();
            out.push_str(&format!(
                "{} ({} records, {} rejected, {} duplicates):\n",
                r.authority,
                log.records.len(),
                r.rejected.load(Ordering::Relaxed),
                r.duplicates.load(Ordering::Relaxed)
            ));
            for rec in &log.records {
                out.push_str(&format!(
                    "  #{} {} {} {} -> {}\n",
                    rec.seq,
                    rec.kind,
                    rec.id,
                    rec.object_id.as_deref().unwrap_or("-"),
                    rec.status
                ));
            }
            for reason in r.rejections.lock().unwrap().iter() {
                out.push_str(&format!("  refused: {reason}\n"));
            }
        }
        out
    }

    // ---- control ----

    /// Close receiver `i`'s listener and cut its open connections, so its
    /// port refuses connections. Its records are kept.
    pub async fn stop(&self, i: usize) {
        let receiver = &self.receivers[i];
        let running = receiver.server.lock().unwrap().take();
        if let Some(running) = running {
            running.cut().await;
        }
        receiver.control.send_modify(|c| c.epoch += 1);
    }

    /// Listen again on receiver `i`'s port (after [`ReceiverFleet::stop`]),
    /// keeping its records. Retries the bind for up to 10 s.
    pub async fn restart(&self, i: usize) {
        let receiver = &self.receivers[i];
        if receiver.server.lock().unwrap().is_some() {
            return;
        }
        let started = Instant::now();
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", receiver.port)).await {
                Ok(listener) => break listener,
                Err(e) if started.elapsed() < Duration::from_secs(10) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot listen on 127.0.0.1:{} again: {e}", receiver.port),
            }
        };
        receiver.serve(listener);
    }

    /// While `on`, receiver `i` accepts connections but never answers inbox
    /// POSTs (a dead-but-listening server). Turning it off answers the held
    /// requests `503` without recording them; later ones are taken again.
    pub fn hang(&self, i: usize, on: bool) {
        self.receivers[i].control.send_modify(|c| c.hang = on);
    }

    /// Wait `delay` before answering each inbox POST at receiver `i`.
    pub fn set_delay(&self, i: usize, delay: Duration) {
        self.receivers[i]
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// [`ReceiverFleet::set_delay`] for every receiver.
    pub fn set_delay_all(&self, delay: Duration) {
        for i in 0..self.len() {
            self.set_delay(i, delay);
        }
    }

    /// Answer inbox POSTs at receiver `i` with `status` from now on.
    pub fn set_status(&self, i: usize, status: u16) {
        self.receivers[i].status.store(status, Ordering::Relaxed);
    }
}

impl Drop for ReceiverFleet {
    fn drop(&mut self) {
        for r in &self.receivers {
            let running = r.server.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(running) = running {
                running.task.abort();
                running.cut_connections();
            }
            r.control.send_modify(|c| c.epoch += 1);
        }
    }
}

impl Running {
    async fn cut(self) {
        let Running { task, conns } = self;
        task.abort();
        // Once the task has ended, its listener is closed.
        let _ = task.await;
        Self::shutdown_all(&conns);
    }

    fn cut_connections(&self) {
        Self::shutdown_all(&self.conns);
    }

    fn shutdown_all(conns: &Conns) {
        for (_, socket) in conns.open.lock().unwrap().drain() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

// ---- one receiver ----

impl Receiver {
    fn actor_url(&self) -> String {
        format!("http://{}/users/{MEMBER}", self.authority)
    }

    fn serve(self: &Arc<Self>, listener: TcpListener) {
        let conns = Arc::new(Conns::default());
        let app = Router::new()
            .route(&format!("/users/{MEMBER}"), get(actor))
            .route("/.well-known/webfinger", get(webfinger))
            .route("/.well-known/nodeinfo", get(nodeinfo))
            .route("/nodeinfo/2.1", get(nodeinfo))
            .route("/inbox", post(inbox))
            .route(&format!("/users/{MEMBER}/inbox"), post(inbox))
            .with_state(self.clone());
        let listener = TrackedListener {
            inner: listener,
            conns: conns.clone(),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.server.lock().unwrap() = Some(Running { task, conns });
    }

    fn person(&self) -> Value {
        let id = self.actor_url();
        json!({
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": MEMBER,
            "name": format!("Member at {}", self.authority),
            "inbox": format!("{id}/inbox"),
            "outbox": format!("{id}/outbox"),
            "endpoints": {"sharedInbox": format!("http://{}/inbox", self.authority)},
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": self.keys.public_pem,
            },
            "manuallyApprovesFollowers": false,
            "url": id,
        })
    }

    fn sign_post(&self, url: &str, body: &[u8]) -> Vec<(String, String)> {
        let parsed = url::Url::parse(url).expect("a URL to sign a POST to");
        // Sign for the domain a server addresses (a Hearth test instance is
        // `localhost:PORT`, reached at 127.0.0.1:PORT).
        let name = match parsed.host_str().unwrap_or_default() {
            "127.0.0.1" => "localhost",
            other => other,
        };
        let host = match parsed.port() {
            Some(port) => format!("{name}:{port}"),
            None => name.to_owned(),
        };
        let mut target = parsed.path().to_owned();
        if let Some(q) = parsed.query() {
            target.push('?');
            target.push_str(q);
        }
        let date = httpdate::fmt_http_date(SystemTime::now());
        let digest = format!("SHA-256={}", B64.encode(Sha256::digest(body)));
        let signing = format!(
            "(request-target): post {target}\nhost: {host}\ndate: {date}\ndigest: {digest}"
        );
        let signature = self
            .keys
            .private
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing.as_bytes()),
            )
            .expect("sign with the receivers' key");
        vec![
            ("host".into(), host),
            ("date".into(), date),
            ("digest".into(), digest),
            ("content-type".into(), ACTIVITY_JSON.into()),
            (
                "signature".into(),
                format!(
                    "keyId=\"{}#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                    self.actor_url(),
                    B64.encode(signature)
                ),
            ),
        ]
    }

    async fn post(&self, url: &str, activity: &Value) -> Result<(u16, String), String> {
        let body = serde_json::to_vec(activity).map_err(|e| e.to_string())?;
        let mut req = self.client.post(url).body(body.clone());
        for (name, value) in self.sign_post(url, &body) {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    /// POST until the answer is neither a network error, `429` nor `5xx`;
    /// `Err` for any other non-2xx answer or at the deadline.
    async fn post_until_taken(
        &self,
        url: &str,
        activity: &Value,
        deadline: Instant,
    ) -> Result<(), String> {
        let mut wait = Duration::from_millis(100);
        loop {
            let last = match self.post(url, activity).await {
                Ok((status, _)) if (200..300).contains(&status) => return Ok(()),
                Ok((status, text)) if status == 429 || status >= 500 => {
                    format!("HTTP {status}: {text}")
                }
                Ok((status, text)) => return Err(format!("HTTP {status}: {text}")),
                Err(e) => e,
            };
            if Instant::now() + wait > deadline {
                return Err(format!("gave up at the deadline; last answer {last}"));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    fn refuse(&self, reason: String) -> Response {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.rejections
            .lock()
            .unwrap()
            .push(format!("{}: {reason}", self.authority));
        let status = if reason.starts_with("malformed") {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        };
        (status, reason).into_response()
    }

    /// Check the request's Digest, Date and signature; `Ok` with the key's
    /// owner.
    async fn verify(
        &self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, String> {
        let value = headers
            .get("signature")
            .and_then(|v| v.to_str().ok())
            .ok_or("no signature header")?;
        let params = parse_signature(value)?;
        let key_id = params.get("keyid").ok_or("signature has no keyId")?;
        if let Some(alg) = params.get("algorithm")
            && !alg.eq_ignore_ascii_case("rsa-sha256")
            && !alg.eq_ignore_ascii_case("hs2019")
        {
            return Err(format!("unsupported algorithm {alg}"));
        }
        let covered: Vec<String> = params
            .get("headers")
            .map(|h| h.split_whitespace().map(str::to_ascii_lowercase).collect())
            .unwrap_or_else(|| vec!["date".into()]);
        for needed in ["(request-target)", "host", "date", "digest"] {
            if !covered.iter().any(|c| c == needed) {
                return Err(format!("signature does not cover {needed}"));
            }
        }
        let signature = B64
            .decode(
                params
                    .get("signature")
                    .ok_or("signature has no signature")?,
            )
            .map_err(|e| format!("signature is not base64: {e}"))?;
        let header = |name: &str| -> Result<String, String> {
            let values: Vec<&str> = headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().map(str::trim))
                .collect::<Result<_, _>>()
                .map_err(|_| format!("header {name} is not text"))?;
            if values.is_empty() {
                return Err(format!("signed header {name} is missing"));
            }
            Ok(values.join(", "))
        };
        let digest = header("digest")?;
        let expected = B64.encode(Sha256::digest(body));
        let matches = digest.split(',').any(|entry| {
            entry.trim().split_once('=').is_some_and(|(alg, value)| {
                alg.eq_ignore_ascii_case("sha-256") && value == expected
            })
        });
        if !matches {
            return Err(format!("digest {digest} does not match the body"));
        }
        let date = httpdate::parse_http_date(&header("date")?)
            .map_err(|_| "date is not an http date".to_owned())?;
        let now = SystemTime::now();
        if date > now + DATE_FUTURE || date + DATE_PAST < now {
            return Err(format!("date {} is outside the window", header("date")?));
        }
        let mut lines = Vec::with_capacity(covered.len());
        for name in &covered {
            if name == "(request-target)" {
                lines.push(format!(
                    "(request-target): {} {target}",
                    method.as_str().to_ascii_lowercase()
                ));
            } else if name.starts_with('(') {
                return Err(format!("pseudo-header {name} is not supported"));
            } else {
                lines.push(format!("{name}: {}", header(name)?));
            }
        }
        let hashed = Sha256::digest(lines.join("\n").as_bytes());
        let check = |key: &CachedKey| {
            key.key
                .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &signature)
                .is_ok()
        };
        let cached = self.key_cache.lock().unwrap().get(key_id).cloned();
        if let Some(key) = cached
            && check(&key)
        {
            return Ok(key.owner);
        }
        // Not cached, or the cached key no longer verifies (rotation): fetch.
        let key = self.fetch_key(key_id).await?;
        self.key_cache
            .lock()
            .unwrap()
            .insert(key_id.clone(), key.clone());
        if check(&key) {
            Ok(key.owner)
        } else {
            Err(format!("signature by {key_id} does not verify"))
        }
    }

    async fn fetch_key(&self, key_id: &str) -> Result<CachedKey, String> {
        self.key_fetches.fetch_add(1, Ordering::Relaxed);
        let actor = key_id.split('#').next().unwrap_or(key_id);
        let resp = self
            .client
            .get(actor)
            .header("accept", ACTIVITY_JSON)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {actor}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("fetching {actor} answered {}", resp.status()));
        }
        let doc: Value = resp
            .json()
            .await
            .map_err(|e| format!("{actor} is not JSON: {e}"))?;
        let keys = match &doc["publicKey"] {
            Value::Array(keys) => keys.clone(),
            key => vec![key.clone()],
        };
        let key = keys
            .iter()
            .find(|k| k["id"] == key_id)
            .ok_or_else(|| format!("{actor} has no key {key_id}"))?;
        let pem = key["publicKeyPem"]
            .as_str()
            .ok_or_else(|| format!("key {key_id} has no publicKeyPem"))?;
        let public = RsaPublicKey::from_public_key_pem(pem.trim())
            .or_else(|_| {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                RsaPublicKey::from_pkcs1_pem(pem.trim())
            })
            .map_err(|e| format!("key {key_id} is not an RSA key: {e}"))?;
        let owner = key["owner"].as_str().unwrap_or_default().to_owned();
        if owner != doc["id"].as_str().unwrap_or_default() {
            return Err(format!("key {key_id} is owned by {owner}, not {actor}"));
        }
        Ok(CachedKey { key: public, owner })
    }

    fn record(&self, mut received: Received) {
        let mut log = self.log.lock().unwrap();
        received.seq = log.records.len() as u64 + 1;
        if log.accepted_ids.contains(&received.id) {
            received.duplicate = true;
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        } else if received.accepted() {
            log.accepted_ids.insert(received.id.clone());
        }
        log.records.push(received);
    }
}

/// Parse `k="v",k2=v2` (draft-cavage §4.1) into lower-case keys.
fn parse_signature(value: &str) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("malformed signature header {value:?}"))?;
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let val;
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("unterminated quote in {value:?}"))?;
            val = quoted[..end].to_owned();
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            val = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        rest = rest
            .trim_start()
            .strip_prefix(',')
            .unwrap_or(rest)
            .trim_start();
        params.insert(key, val);
    }
    Ok(params)
}

fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.get("id").and_then(id_of),
        _ => None,
    }
}

fn type_of(value: &Value) -> Option<String> {
    match value.get("type")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

// ---- handlers ----

async fn actor(State(r): State<Arc<Receiver>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(ACTIVITY_JSON),
        )],
        r.person().to_string(),
    )
        .into_response()
}

/// NodeInfo saying this receiver runs Hearth: a member server that keeps
/// members-only posts to the group and reads group relays.
async fn nodeinfo(State(r): State<Arc<Receiver>>, uri: Uri) -> Response {
    let body = if uri.path() == "/.well-known/nodeinfo" {
        json!({"links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("http://{}/nodeinfo/2.1", r.authority),
        }]})
    } else {
        json!({
            "version": "2.1",
            "software": {"name": "hearth", "version": "0.0.0-receiver"},
            "protocols": ["activitypub"],
        })
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

async fn webfinger(State(r): State<Arc<Receiver>>, uri: Uri) -> Response {
    let wanted = format!("resource=acct:{MEMBER}@{}", r.authority);
    let wanted_encoded = format!(
        "resource=acct%3A{MEMBER}%40{}",
        r.authority.replace(':', "%3A")
    );
    let query = uri.query().unwrap_or_default();
    let found = query
        .split('&')
        .any(|p| p == wanted || p.eq_ignore_ascii_case(&wanted_encoded));
    if !found {
        return StatusCode::NOT_FOUND.into_response();
    }
    let body = json!({
        "subject": format!("acct:{MEMBER}@{}", r.authority),
        "aliases": [r.actor_url()],
        "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": r.actor_url()}],
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jrd+json"),
        )],
        body.to_string(),
    )
        .into_response()
}

async fn inbox(
    State(r): State<Arc<Receiver>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let Control { hang, epoch } = *r.control.borrow();
    if hang {
        // A dead-but-listening server: hold the request until released or
        // stopped, then drop it unrecorded. The sender has most likely given
        // up on it by then, and a late record would make its retry look
        // like a duplicate.
        let mut control = r.control.subscribe();
        let _ = control.wait_for(|c| !c.hang || c.epoch != epoch).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let target = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let owner = match r.verify(&method, &target, &headers, &body).await {
        Ok(owner) => owner,
        Err(reason) => return r.refuse(format!("{target}: {reason}")),
    };
    let activity: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return r.refuse("malformed: body is not a JSON object".into()),
    };
    let (Some(id), Some(kind), Some(actor)) = (
        activity.get("id").and_then(id_of),
        type_of(&activity),
        activity.get("actor").and_then(id_of),
    ) else {
        return r.refuse("malformed: activity needs id, type and actor".into());
    };
    if actor != owner {
        return r.refuse(format!(
            "{target}: {kind} {id} by {actor} is signed by a key of {owner}"
        ));
    }
    let delay = Duration::from_millis(r.delay_ms.load(Ordering::Relaxed));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if r.control.borrow().epoch != epoch {
        // Stopped meanwhile: the sender saw the connection cut, not an answer.
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let status = r.status.load(Ordering::Relaxed);
    let object = activity.get("object").cloned().unwrap_or(Value::Null);
    r.record(Received {
        receiver: r.index,
        seq: 0,
        at,
        inbox: uri.path().to_owned(),
        id,
        kind,
        actor,
        object_id: id_of(&object),
        object_kind: type_of(&object),
        inner_object_id: object.get("object").and_then(id_of),
        status,
        duplicate: false,
        body: Arc::new(activity),
    });
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::ACCEPTED)
        .into_response()
}

// ---- a listener whose connections can be cut ----

/// Accepts like a `TcpListener`, and keeps a second handle on each socket
/// so `stop` can shut it down under the server's feet.
struct TrackedListener {
    inner: TcpListener,
    conns: Arc<Conns>,
}

struct TrackedStream {
    inner: TcpStream,
    id: u64,
    conns: Arc<Conns>,
}

impl TrackedListener {
    fn track(&self, stream: TcpStream) -> std::io::Result<TrackedStream> {
        let std_stream = stream.into_std()?;
        let handle = std_stream.try_clone()?;
        let inner = TcpStream::from_std(std_stream)?;
        let id = self.conns.next.fetch_add(1, Ordering::Relaxed);
        self.conns.open.lock().unwrap().insert(id, handle);
        Ok(TrackedStream {
            inner,
            id,
            conns: self.conns.clone(),
        })
    }
}

impl axum::serve::Listener for TrackedListener {
    type Io = TrackedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    if let Ok(tracked) = self.track(stream) {
                        return (tracked, addr);
                    }
                }
                // Out of file descriptors and the like: let it pass.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.conns.open.lock().unwrap().remove(&self.id);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

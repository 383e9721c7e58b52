//! A real Lemmy 0.19.20 on loopback, driven through its HTTP API
//! (`/api/v3`), for the interoperability tests in `tests/lemmy_peer.rs`.
//!
//! The binary is built once, outside the clone, by
//! `tests/peers/lemmy/build.sh` from the source archive in the workplace's
//! `../shared/peers/` (or `HEARTH_LEMMY_SOURCE`); `HEARTH_LEMMY_BIN` names
//! a ready binary, and a binary built earlier in the cache is used when the
//! source is not here. Without any, [`Lemmy::start`] says in one line that
//! the Lemmy tests are left out and returns `None`, unless
//! `HEARTH_REQUIRE_LEMMY=1` (CI), where that is a failure.
//!
//! Lemmy keys servers by host name without the port, so it runs as
//! `lemmy.test:PORT` while Hearth stays `localhost:PORT`. Both processes
//! see a private hosts file ([`Peers::hosts`]) as `/etc/hosts` in a mount
//! namespace of their own; the machine's file is never touched. Lemmy gets
//! a fresh PostgreSQL database of its own (dropped afterwards), admin
//! `lemmy`, and raised rate limits (tests post more than a person would).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use super::{DEADLINE, free_port, replace_db_name, wait_until, with_hosts_file};

pub const ADMIN: &str = "lemmy";
pub const ADMIN_PASSWORD: &str = "lemmylemmy-a-long-one";
/// The host name Lemmy runs under (Hearth is `localhost`).
pub const HOST: &str = "lemmy.test";

/// The hosts file both sides see.
pub struct Peers {
    dir: tempfile::TempDir,
}

impl Peers {
    pub fn new() -> Peers {
        let dir = tempfile::Builder::new()
            .prefix("hearth-peers-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("hosts"),
            format!("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {HOST}\n"),
        )
        .unwrap();
        Peers { dir }
    }

    pub fn hosts(&self) -> PathBuf {
        self.dir.path().join("hosts")
    }
}

/// Where the Lemmy binary is, building it if its source is here.
fn binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("HEARTH_LEMMY_BIN")
        && !path.is_empty()
    {
        return Some(PathBuf::from(path));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = std::env::var("HEARTH_LEMMY_SOURCE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/peers/lemmy-0.19.20-src.tar.gz"));
    let required = std::env::var("HEARTH_REQUIRE_LEMMY").is_ok_and(|v| v == "1");
    let cached = std::env::var("HOME")
        .map(|home| PathBuf::from(home).join(".cache/hearth/lemmy-0.19.20/bin/lemmy_server"))
        .ok()
        .filter(|p| p.exists());
    if !source.exists()
        && let Some(cached) = cached
    {
        // Built earlier from the same archive by tests/peers/lemmy/build.sh.
        return Some(cached);
    }
    if !source.exists() {
        assert!(
            !required,
            "HEARTH_REQUIRE_LEMMY=1 but Lemmy's source is not at {}",
            source.display()
        );
        eprintln!(
            "Lemmy interoperability tests left out: no Lemmy source at {} (set HEARTH_LEMMY_SOURCE or HEARTH_LEMMY_BIN)",
            source.display()
        );
        return None;
    }
    let out = Command::new("bash")
        .arg(root.join("tests/peers/lemmy/build.sh"))
        .env("HEARTH_LEMMY_SOURCE", &source)
        .stderr(Stdio::inherit())
        .output()
        .expect("run tests/peers/lemmy/build.sh");
    assert!(out.status.success(), "building Lemmy failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    Some(PathBuf::from(stdout.lines().last().unwrap().trim()))
}

/// One running `lemmy_server`.
pub struct Lemmy {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
    pg_server: String,
    database: String,
    client: reqwest::Client,
    jwt: String,
}

impl Lemmy {
    /// Start Lemmy (seeing `peers`' hosts file), wait until it answers, log
    /// in as its admin and raise its rate limits. `None`: the Lemmy tests
    /// are left out on this machine (said on stderr).
    pub async fn start(peers: &Peers) -> Option<Lemmy> {
        let binary = binary()?;
        let pg_server = std::env::var("HEARTH_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let database = format!(
            "lemmy_t{}_{}",
            std::process::id(),
            super::COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let admin = Database::connect(pg_server.as_str())
            .await
            .unwrap_or_else(|e| panic!("Lemmy needs PostgreSQL at {pg_server}: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{database}\""))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let dir = tempfile::Builder::new()
            .prefix("hearth-lemmy-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let config = format!(
            r#"{{
  hostname: "{HOST}:{port}"
  bind: "127.0.0.1"
  port: {port}
  tls_enabled: false
  database: {{ uri: "{uri}" }}
  pictrs: {{ url: "http://127.0.0.1:9/", api_key: "unused" }}
  setup: {{ admin_username: "{ADMIN}", admin_password: "{ADMIN_PASSWORD}", site_name: "Lemmy peer" }}
}}
"#,
            uri = replace_db_name(&pg_server, &database),
        );
        std::fs::write(dir.path().join("config.hjson"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("lemmy.log")).unwrap();
        let child = with_hosts_file(&peers.hosts(), binary.to_str().unwrap())
            .env("LEMMY_CONFIG_LOCATION", dir.path().join("config.hjson"))
            .env("LEMMY_TEST_FAST_FEDERATION", "1")
            .env(
                "RUST_LOG",
                "warn,lemmy_apub=info,lemmy_federate=info,activitypub_federation=info",
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start lemmy_server");
        let mut lemmy = Lemmy {
            child,
            port,
            dir,
            pg_server,
            database,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            jwt: String::new(),
        };
        lemmy.wait_ready().await;
        let login = lemmy
            .call(
                Method::POST,
                "/api/v3/user/login",
                json!({"username_or_email": ADMIN, "password": ADMIN_PASSWORD}),
            )
            .await;
        lemmy.jwt = login["jwt"].as_str().expect("a jwt").to_owned();
        let limits = 100_000;
        lemmy
            .call(
                Method::PUT,
                "/api/v3/site",
                json!({
                    "rate_limit_message": limits, "rate_limit_message_per_second": 1,
                    "rate_limit_post": limits, "rate_limit_post_per_second": 1,
                    "rate_limit_comment": limits, "rate_limit_comment_per_second": 1,
                    "rate_limit_search": limits, "rate_limit_search_per_second": 1,
                    "rate_limit_register": limits, "rate_limit_register_per_second": 1,
                }),
            )
            .await;
        Some(lemmy)
    }

    /// Lemmy runs its migrations on a fresh database before it answers.
    async fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("Lemmy exited ({status}); log:\n{}", self.logs());
            }
            if let Ok(r) = self.client.get(self.url("/api/v3/site")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE * 6,
                "Lemmy did not start; log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `lemmy.test:PORT`.
    pub fn authority(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    /// An id on Lemmy (`http://lemmy.test:PORT/path`).
    pub fn id(&self, path: &str) -> String {
        format!("http://{}{path}", self.authority())
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("lemmy.log")).unwrap_or_default()
    }

    /// An API call as the admin; panics on an error answer.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, value) = self.try_call(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "Lemmy {method} {path} answered {status}: {value}"
        );
        value
    }

    /// An API call as the admin: the status and the JSON answer. A GET
    /// sends `body`'s fields as the query.
    pub async fn try_call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let mut url = url::Url::parse(&self.url(path)).unwrap();
        if method == Method::GET {
            for (k, v) in body.as_object().into_iter().flatten() {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                url.query_pairs_mut().append_pair(k, &v);
            }
        }
        let mut req = self.client.request(method.clone(), url.as_str());
        if !self.jwt.is_empty() {
            req = req.bearer_auth(&self.jwt);
        }
        if method != Method::GET {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Resolve `q` (`!group@host`, a post's or comment's URL) through
    /// Lemmy's search, as a Lemmy user pasting it would.
    pub async fn resolve(&self, q: &str) -> (StatusCode, Value) {
        self.try_call(Method::GET, "/api/v3/resolve_object", json!({"q": q}))
            .await
    }

    /// The community id of `!name@host`, once Lemmy can resolve it.
    pub async fn community(&self, handle: &str) -> i64 {
        wait_until(&format!("Lemmy to resolve {handle}"), || async {
            let (status, found) = self.resolve(handle).await;
            if status.is_success() {
                found["community"]["community"]["id"].as_i64()
            } else {
                None
            }
        })
        .await
    }

    /// Subscribe the admin to community `id`: its `subscribed` state.
    pub async fn follow(&self, id: i64, follow: bool) -> String {
        let answer = self
            .call(
                Method::POST,
                "/api/v3/community/follow",
                json!({"community_id": id, "follow": follow}),
            )
            .await;
        answer["community_view"]["subscribed"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The subscription state of community `id` as Lemmy sees it now.
    pub async fn subscribed(&self, id: i64) -> String {
        let answer = self
            .call(Method::GET, "/api/v3/community", json!({"id": id}))
            .await;
        answer["community_view"]["subscribed"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The admin comments on post `post` (under comment `parent`, if
    /// any): the comment's (id, ap_id).
    pub async fn comment(&self, post: i64, parent: Option<i64>, content: &str) -> (i64, String) {
        let mut body = json!({"post_id": post, "content": content});
        if let Some(parent) = parent {
            body["parent_id"] = json!(parent);
        }
        let made = self.call(Method::POST, "/api/v3/comment", body).await;
        let comment = &made["comment_view"]["comment"];
        (
            comment["id"].as_i64().unwrap(),
            comment["ap_id"].as_str().unwrap().to_owned(),
        )
    }

    /// The admin starts a thread in community `community`: its (id, ap_id).
    pub async fn post(&self, community: i64, name: &str, body: &str) -> (i64, String) {
        let made = self
            .call(
                Method::POST,
                "/api/v3/post",
                json!({"community_id": community, "name": name, "body": body}),
            )
            .await;
        let post = &made["post_view"]["post"];
        (
            post["id"].as_i64().unwrap(),
            post["ap_id"].as_str().unwrap().to_owned(),
        )
    }

    /// The posts of community `id`, newest first.
    pub async fn posts(&self, community: i64) -> Vec<Value> {
        let answer = self
            .call(
                Method::GET,
                "/api/v3/post/list",
                json!({"community_id": community, "sort": "New", "type_": "All", "limit": 50}),
            )
            .await;
        answer["posts"].as_array().cloned().unwrap_or_default()
    }

    /// Wait for the post whose `ap_id` is `ap_id` to show in community
    /// `community` and satisfy `check`.
    pub async fn wait_post(
        &self,
        community: i64,
        ap_id: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_until(what, || async {
            self.posts(community)
                .await
                .into_iter()
                .find(|p| p["post"]["ap_id"] == ap_id && check(p))
        })
        .await
    }

    /// The comments of post `id`.
    pub async fn comments(&self, post: i64) -> Vec<Value> {
        let answer = self
            .call(
                Method::GET,
                "/api/v3/comment/list",
                json!({"post_id": post, "sort": "Old", "type_": "All", "max_depth": 8, "limit": 50}),
            )
            .await;
        answer["comments"].as_array().cloned().unwrap_or_default()
    }

    /// Wait for a comment of post `post` that satisfies `check`.
    pub async fn wait_comment(
        &self,
        post: i64,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_until(what, || async {
            self.comments(post).await.into_iter().find(|c| check(c))
        })
        .await
    }

    /// Wait until `check` holds of post `id` (as `GET /api/v3/post`).
    pub async fn wait_post_by_id(
        &self,
        id: i64,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_until(what, || async {
            let (status, post) = self
                .try_call(Method::GET, "/api/v3/post", json!({"id": id}))
                .await;
            (status.is_success() && check(&post["post_view"])).then(|| post["post_view"].clone())
        })
        .await
    }
}

impl Drop for Lemmy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.logs();
            let tail: Vec<&str> = log.lines().rev().take(150).collect();
            eprintln!("--- Lemmy's log (last lines) ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
        let server = self.pg_server.clone();
        let database = self.database.clone();
        // Dropped from a runtime thread: do it on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = Database::connect(server.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

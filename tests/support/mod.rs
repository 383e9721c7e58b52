//! Test rig for the workspace-level integration tests: start real `hearth`
//! processes on loopback ports, each with its own database, and talk to
//! them over HTTP.
//!
//! - Every test runs against SQLite (a real file in a temporary folder) and,
//!   when `HEARTH_TEST_DATABASE_URL` is set, against PostgreSQL too: each
//!   instance then gets a fresh database created next to that one.
//! - Nothing waits by sleeping: helpers poll with a deadline.
//! - When a test fails, each instance prints the end of its log.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod hostile;
pub mod lemmy;
pub mod rig;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How long any wait in the rig may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The `hearth` binary Cargo built for these tests, or `HEARTH_TEST_BIN`
/// when set (a target directory shared by several checkouts uplifts
/// whichever built last to `debug/hearth`).
pub fn hearth_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("HEARTH_TEST_BIN")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_hearth").to_owned())
    })
}

/// A database kind an instance can run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// A server URL naming an existing database we may create others beside.
    Postgres(String),
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Sqlite => f.write_str("sqlite"),
            Backend::Postgres(_) => f.write_str("postgres"),
        }
    }
}

/// SQLite always; PostgreSQL too when `HEARTH_TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("HEARTH_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        all.push(Backend::Postgres(url));
    }
    all
}

/// A command running `program` with `hosts` bind-mounted over
/// `/etc/hosts` in a private mount namespace (`unshare -m`; needs root,
/// as on CI). Arguments added to the command go to `program`.
pub fn with_hosts_file(hosts: &Path, program: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
        .arg(hosts)
        .arg(program);
    cmd
}

/// Run `body` once per backend, saying which one failed.
#[macro_export]
macro_rules! each_backend {
    (|$backend:ident| $body:expr) => {{
        for $backend in support::backends() {
            eprintln!("--- backend: {}", $backend);
            $body.await;
        }
    }};
}

/// Options for starting an instance, as `HEARTH_*` variables.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub env: Vec<(String, String)>,
    /// A hosts file the process sees as `/etc/hosts` (in a mount namespace
    /// of its own), so peers with host names of their own resolve to
    /// loopback without touching the machine's file.
    pub hosts_file: Option<PathBuf>,
}

impl Options {
    pub fn hosts_file(mut self, path: &Path) -> Self {
        self.hosts_file = Some(path.to_owned());
        self
    }

    pub fn set(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    pub fn registration(self, mode: &str) -> Self {
        self.set("HEARTH_REGISTRATION_MODE", mode)
    }
}

/// One running `hearth serve` process.
pub struct Instance {
    pub backend: Backend,
    pub port: u16,
    pub base: String,
    pub database_url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    options: Options,
    pg_database: Option<(String, String)>,
    client: reqwest::Client,
}

/// An HTTP answer, body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert this is a problem document with `status` and type `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem document: {}",
            self.text
        );
        assert_eq!(
            self.body["type"],
            format!("urn:hearth:problem:{code}"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Instance {
    /// Start an instance and wait until it answers its health check.
    pub async fn start(backend: &Backend, options: Options) -> Instance {
        let dir = tempfile::Builder::new()
            .prefix("hearth-test-")
            .tempdir()
            .unwrap();
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (String::new(), None),
            Backend::Postgres(server) => {
                let name = format!(
                    "hearth_t{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                    dir.path()
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .to_ascii_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
                );
                let name: String = name.chars().take(60).collect();
                let admin = Database::connect(server.as_str())
                    .await
                    .unwrap_or_else(|e| {
                        panic!("cannot reach PostgreSQL at HEARTH_TEST_DATABASE_URL: {e}")
                    });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let url = replace_db_name(server, &name);
                (url, Some((server.clone(), name)))
            }
        };
        let mut instance = Instance {
            backend: backend.clone(),
            port: 0,
            base: String::new(),
            database_url,
            dir,
            child: None,
            options,
            pg_database,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        instance.launch().await;
        instance
    }

    /// Set a `HEARTH_*` variable for the next start (see [`Instance::restart`]).
    pub fn set_option(&mut self, key: &str, value: &str) {
        self.options = std::mem::take(&mut self.options).set(key, value);
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("hearth.log")
    }

    /// The database URL this instance uses (the SQLite file, or its own
    /// PostgreSQL database).
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}",
                self.dir.path().join("hearth.sqlite3").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    /// The environment a `hearth` command for this instance runs with.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("HEARTH_DOMAIN".into(), format!("localhost:{}", self.port)),
            ("HEARTH_BIND".into(), format!("127.0.0.1:{}", self.port)),
            (
                "HEARTH_DATA_DIR".into(),
                self.dir.path().display().to_string(),
            ),
            ("HEARTH_DATABASE_URL".into(), self.database_url.clone()),
            ("HEARTH_TEST_MODE".into(), "true".into()),
            ("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE".into(), "100000".into()),
            (
                "HEARTH_AUTH_ACCOUNT_RATE_LIMIT_PER_MINUTE".into(),
                "100000".into(),
            ),
            ("HEARTH_LOG_FILTER".into(), "info".into()),
        ];
        env.extend(self.options.env.iter().cloned());
        env
    }

    /// A `hearth` command with this instance's configuration.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.options.hosts_file {
            Some(hosts) => with_hosts_file(hosts, hearth_bin()),
            None => Command::new(hearth_bin()),
        };
        for (key, _) in std::env::vars() {
            if key.starts_with("HEARTH_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env()).args(args).current_dir(self.dir.path());
        cmd
    }

    /// Run `hearth ARGS` to completion with `stdin`; returns (status, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: &str) -> (ExitStatus, String, String) {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Start `hearth serve`: on a free port the first time, and on the same
    /// port (so the same domain and actor ids) when restarting.
    pub async fn launch(&mut self) {
        let restarting = self.port != 0;
        for attempt in 0..5 {
            if !restarting {
                self.port = free_port();
            }
            self.base = format!("http://127.0.0.1:{}", self.port);
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path())
                .unwrap();
            let child = self
                .command(&["serve"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            self.child = Some(child);
            match self.wait_healthy().await {
                Ok(()) => return,
                Err(exited) if exited && self.logs().contains("cannot listen") && attempt < 4 => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(_) => panic!("instance did not become healthy; log:\n{}", self.logs()),
            }
        }
    }

    /// Poll the health endpoint; `Err(true)` if the process exited.
    async fn wait_healthy(&mut self) -> Result<(), bool> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().unwrap().is_some()
            {
                return Err(true);
            }
            if let Ok(resp) = self.client.get(self.url("/api/v1/health")).send().await
                && resp.status() == StatusCode::OK
            {
                return Ok(());
            }
            if started.elapsed() > DEADLINE {
                return Err(false);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("instance not running").id()
    }

    /// Send SIGTERM and wait for the process to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let pid = Pid::from_raw(self.pid() as i32);
        kill(pid, Signal::SIGTERM).unwrap();
        self.wait_exit().await
    }

    pub async fn wait_exit(&mut self) -> ExitStatus {
        let started = Instant::now();
        let child = self.child.as_mut().expect("instance not running");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(started.elapsed() < DEADLINE, "instance did not exit");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kill with SIGKILL (no chance to finish anything) and wait for it.
    pub async fn kill_hard(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let pid = Pid::from_raw(self.pid() as i32);
        kill(pid, Signal::SIGKILL).unwrap();
        self.wait_exit().await;
    }

    /// Stop with SIGTERM (if running) and start again on the same database.
    pub async fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.terminate().await;
            assert!(
                status.success(),
                "exit on SIGTERM: {status}; log:\n{}",
                self.logs()
            );
        }
        self.launch().await;
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// POST a raw body with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let resp = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(resp).await
    }

    /// Register through the API; panics unless 201.
    pub async fn register(&self, username: &str, password: &str) -> Value {
        let a = self
            .post(
                "/api/v1/auth/register",
                None,
                serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "register {username}: {}",
            a.text
        );
        a.body
    }

    /// Log in; panics unless 200. Returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let a = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "login {username}: {}", a.text);
        a.body["token"].as_str().unwrap().to_owned()
    }

    /// Create an account with the admin CLI; panics unless it succeeds.
    pub fn create_user(&self, username: &str, password: &str, extra: &[&str]) {
        let mut args = vec!["admin", "create-user", username, "--password-stdin"];
        args.extend_from_slice(extra);
        let (status, out, err) = self.run(&args, &format!("{password}\n"));
        assert!(status.success(), "create-user failed: {out}{err}");
    }

    /// A direct connection to this instance's database, for checking what
    /// was (not) written.
    pub async fn db(&self) -> DatabaseConnection {
        Database::connect(self.effective_database_url())
            .await
            .unwrap()
    }

    /// The first column of the first row of `sql`, as a number.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let db = self.db().await;
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no row for {sql}"));
        let n = row.try_get_by_index::<i64>(0).unwrap();
        db.close().await.unwrap();
        n
    }

    /// The first column of the first row of `sql`, as text (`None` when
    /// there is no row or it is NULL).
    pub async fn text(&self, sql: &str) -> Option<String> {
        let db = self.db().await;
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        let value = row.and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten());
        db.close().await.unwrap();
        value
    }

    /// Row count of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let db = self.db().await;
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        db.close().await.unwrap();
        n
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let logs = self.logs();
            let tail: Vec<&str> = logs.lines().rev().take(40).collect();
            eprintln!(
                "=== last log lines of instance {} ({}) ===",
                self.base, self.backend
            );
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
            // A panic's message sits above its backtrace, often beyond the
            // tail: show every one with the lines that follow it.
            let lines: Vec<&str> = logs.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.contains("panicked at") {
                    eprintln!("=== panic in instance {} ===", self.base);
                    for l in lines.iter().skip(i).take(4) {
                        eprintln!("{l}");
                    }
                }
            }
        }
        if let Some((server, name)) = self.pg_database.take() {
            // Drop the per-instance database on a thread of its own: Drop
            // cannot await, and we may be inside a runtime.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = Database::connect(server.as_str()).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// `postgres://u@h:p/old?x` with the database name replaced.
fn replace_db_name(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("HEARTH_TEST_DATABASE_URL is not a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the hidden CSRF field in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Poll `check` until it returns `Some`, or fail after [`DEADLINE`].
pub async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- signing as a real actor, for tests that play another server ----

/// A member's private key, read from their server's database: the test
/// signs as that real, fetchable actor.
pub async fn private_key(instance: &Instance, username: &str) -> RsaPrivateKey {
    let db = instance.db().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT private_key_pem FROM users WHERE username = '{username}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    let pem: String = row.try_get("", "private_key_pem").unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

/// The `Host` a request to `url` is signed for: servers sign for the
/// domain they address, and an instance's domain is `localhost:PORT` while
/// the tests reach it at `127.0.0.1:PORT`.
pub fn signed_host(url: &url::Url) -> String {
    let host = match url.host_str().unwrap() {
        "127.0.0.1" => "localhost",
        other => other,
    };
    format!("{host}:{}", url.port().unwrap())
}

/// Headers of a draft-cavage signed POST, Mastodon style.
pub fn signed_post(
    url: &str,
    body: &[u8],
    key_id: &str,
    key: &RsaPrivateKey,
    date: std::time::SystemTime,
) -> reqwest::header::HeaderMap {
    let url = url::Url::parse(url).unwrap();
    let host = signed_host(&url);
    let date = httpdate::fmt_http_date(date);
    let digest = format!("SHA-256={}", B64.encode(Sha256::digest(body)));
    let signing = format!(
        "(request-target): post {}\nhost: {host}\ndate: {date}\ndigest: {digest}",
        url.path()
    );
    let signature = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("host", host.parse().unwrap());
    headers.insert("date", date.parse().unwrap());
    headers.insert("digest", digest.parse().unwrap());
    headers.insert("content-type", "application/activity+json".parse().unwrap());
    headers.insert(
        "signature",
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
            B64.encode(signature)
        )
        .parse()
        .unwrap(),
    );
    headers
}

pub async fn post_signed(
    url: &str,
    body: &Value,
    headers: reqwest::header::HeaderMap,
) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .headers(headers)
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Headers of a draft-cavage signed GET, Mastodon style.
pub fn signed_get(url: &str, key_id: &str, key: &RsaPrivateKey) -> reqwest::header::HeaderMap {
    let url = url::Url::parse(url).unwrap();
    let host = signed_host(&url);
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let signing = format!(
        "(request-target): get {}\nhost: {host}\ndate: {date}",
        url.path()
    );
    let signature = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("host", host.parse().unwrap());
    headers.insert("date", date.parse().unwrap());
    headers.insert("accept", "application/activity+json".parse().unwrap());
    headers.insert(
        "signature",
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date\",signature=\"{}\"",
            B64.encode(signature)
        )
        .parse()
        .unwrap(),
    );
    headers
}

/// Make sure the npm packages a Node helper under `dir` needs are there:
/// if `probe` (one of them) is missing, run `npm ci` (the lockfile pins
/// every version) once per test process, and fail loudly if that fails.
#[allow(dead_code)]
pub fn ensure_npm_packages(dir: &str, probe: &str) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let modules = Path::new(dir).join("node_modules");
    if modules.join(probe).is_dir() {
        return;
    }
    eprintln!("installing the npm packages of {dir} (npm ci)");
    let status = Command::new("npm")
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
            dir,
        ])
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`npm ci --prefix {dir}` failed ({s}); the tests need Node.js 20+ and the npm registry"
        ),
        Err(e) => panic!(
            "could not run npm ({e}): install Node.js 20+ and npm, then `npm ci --prefix {dir}`"
        ),
    }
    assert!(
        modules.join(probe).is_dir(),
        "{} is still missing after npm ci",
        modules.join(probe).display()
    );
}

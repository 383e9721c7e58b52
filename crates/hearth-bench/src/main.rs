//! `hearth-bench`: how fast one `hearth serve` relays a new thread in an open
//! group to N member servers, set against the floor that RSA signing puts
//! under any sender. What it measures and how to read it:
//! `docs/PERFORMANCE.md`.
//!
//! ```text
//!  hearth-bench ──spawn──▶ hearth serve (temporary data dir, test mode)
//!    │  register, log in, create an open group
//!    ├─▶ ReceiverFleet(N + dead) ──Follow──▶ group ──Accept──▶ each receiver
//!    │  (dead ones then hang: they accept connections, never answer)
//!    │  POST /api/v1/posts ── t0 = when it returns
//!    │                                 group ──Announce{Create}, Announce{Page}──▶ N shared inboxes
//!    └─ poll the receivers until each verified the Announce; sample hearth's RSS
//! ```

#[path = "../../../tests/support/receivers.rs"]
mod receivers;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Parser;
use receivers::{Received, ReceiverFleet, ReceiverOptions};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Not the group's name: a person and a group never share one.
const USERNAME: &str = "bench_writer";
const PASSWORD: &str = "a long enough bench passphrase";
const GROUP: &str = "bench";

/// Measure how fast one `hearth serve` delivers a group post to N member
/// servers (fake ones on loopback that verify every signature), and the
/// RSA signing floor under it. Prints a Markdown table on stdout; progress
/// goes to stderr.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Numbers of member servers to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    receivers: Vec<usize>,

    /// `sqlite` (a file in a temporary folder), or the URL of a PostgreSQL
    /// server: a fresh database is created beside the one it names and
    /// dropped afterwards.
    #[arg(long, default_value = "sqlite")]
    database: String,

    /// Also run each size again with this many extra members whose servers
    /// accept connections but never answer, to compare the time to reach
    /// the healthy ones.
    #[arg(long, default_value_t = 0)]
    dead: usize,

    /// The `hearth` binary to run. Without it, `cargo build --release -p
    /// hearth` is run into this program's own target folder and that
    /// binary is used.
    #[arg(long)]
    hearth: Option<PathBuf>,

    /// Seconds to spend measuring the signing floor.
    #[arg(long, default_value_t = 2.0)]
    signing_secs: f64,

    /// Run each configuration this many times (one table row per run).
    #[arg(long, default_value_t = 1)]
    repeat: usize,

    /// Give up waiting for one run's deliveries after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

/// One line of the results table.
#[derive(Debug)]
struct Row {
    receivers: usize,
    dead: usize,
    database: String,
    join: Duration,
    deliveries: usize,
    delivered: usize,
    first: Option<Duration>,
    all: Option<Duration>,
    hwm_before_kib: Option<u64>,
    hwm_after_kib: Option<u64>,
    peak_rss_kib: u64,
    /// CPU time hearth used from the POST until the last delivery.
    cpu: Option<Duration>,
    /// The 1-minute load average when the run started.
    load: Option<f64>,
    refused: usize,
    duplicates: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.receivers.is_empty() {
        bail!("--receivers needs at least one number");
    }
    let hearth = match &args.hearth {
        Some(path) => path.clone(),
        None => build_hearth()?,
    };
    eprintln!("hearth binary: {}", hearth.display());
    eprintln!("{}", machine());
    match (&args.hearth, commit()) {
        (None, Some(commit)) => eprintln!("hearth built from commit {commit}"),
        (Some(_), Some(commit)) => eprintln!(
            "this checkout is at {commit}; the hearth binary given with --hearth may be from elsewhere"
        ),
        (_, None) => {}
    }

    let secs = args.signing_secs;
    let floor = tokio::task::spawn_blocking(move || signing_floor(secs)).await??;
    eprintln!(
        "signing floor: {floor:.0} rsa-sha256 signatures/s on one core (rsa crate, 2048-bit key, PKCS#1 v1.5)"
    );
    match openssl_reference() {
        Some(lines) => eprintln!("openssl speed -seconds 2 rsa2048 (reference):\n{lines}"),
        None => eprintln!("openssl not found or its output not understood; reference skipped"),
    }

    let mut rows = Vec::new();
    for &n in &args.receivers {
        for _ in 0..args.repeat.max(1) {
            rows.push(run(&args, &hearth, n, 0).await?);
            if args.dead > 0 {
                rows.push(run(&args, &hearth, n, args.dead).await?);
            }
        }
    }
    println!("Signing floor: {floor:.0} signatures/s on one core.\n");
    print!("{}", table(&rows, floor));
    Ok(())
}

// ---- the runs ----

async fn run(args: &Args, hearth: &Path, n: usize, dead: usize) -> anyhow::Result<Row> {
    eprintln!(
        "\n== {n} receivers, {dead} dead, database {} ==",
        db_label(&args.database)
    );
    let mut server = Server::start(hearth, &args.database).await?;
    let result = measure(args, &server, n, dead).await;
    if result.is_err() {
        eprintln!("hearth log (last lines):\n{}", server.log_tail(40));
    }
    server.stop().await;
    result
}

async fn measure(args: &Args, server: &Server, n: usize, dead: usize) -> anyhow::Result<Row> {
    let load = load_average();
    eprintln!(
        "load average (1 min) at start: {}",
        load.map(|l| format!("{l:.2}"))
            .unwrap_or_else(|| "?".into())
    );
    server
        .call(
            "/api/v1/auth/register",
            None,
            json!({"username": USERNAME, "password": PASSWORD}),
            201,
        )
        .await?;
    let login = server
        .call(
            "/api/v1/auth/login",
            None,
            json!({"username": USERNAME, "password": PASSWORD}),
            200,
        )
        .await?;
    let token = login["token"]
        .as_str()
        .ok_or_else(|| anyhow!("log-in answer has no token: {login}"))?
        .to_owned();
    let group = server
        .call(
            "/api/v1/groups",
            Some(&token),
            json!({"name": GROUP, "title": "Bench group", "join_policy": "open"}),
            201,
        )
        .await?;
    let group_url = group["url"]
        .as_str()
        .ok_or_else(|| anyhow!("group answer has no url: {group}"))?
        .to_owned();

    let fleet = ReceiverFleet::start(n + dead, ReceiverOptions::default()).await;
    let started = Instant::now();
    fleet.join(&format!("{group_url}/inbox"), &group_url).await;
    let join = started.elapsed();
    eprintln!(
        "joined: {} receivers in {:.2} s ({} key fetches by receivers)",
        fleet.len(),
        join.as_secs_f64(),
        fleet.key_fetches()
    );
    for i in n..n + dead {
        fleet.hang(i, true);
    }

    let pid = server.pid();
    let cpu_before = proc_cpu(pid);
    let hwm_before_kib = proc_status_kib(pid, "VmHWM");
    let rss_before = proc_status_kib(pid, "VmRSS");
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(rss_before.unwrap_or(0)));
    let sampler = tokio::spawn({
        let sampling = sampling.clone();
        let peak = peak.clone();
        async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });

    let sent = Instant::now();
    let post = server
        .call(
            "/api/v1/posts",
            Some(&token),
            json!({
                "group": GROUP,
                "title": "How do you pace yourselves on bad days?",
                "body": "Some days I can do very little. **What helps you** plan a day like that?\n\nAny tips welcome.",
                "support_kind": "emotional",
                "visibility": "members",
            }),
            201,
        )
        .await?;
    let t0 = Instant::now();
    let post_url = post["url"]
        .as_str()
        .ok_or_else(|| anyhow!("post answer has no url: {post}"))?
        .to_owned();
    eprintln!(
        "posted {post_url} in {:.0} ms",
        (t0 - sent).as_secs_f64() * 1000.0
    );

    // Poll until every healthy receiver verified the Announce; the
    // arrival times recorded by the receivers give the figures, so the
    // polling interval does not enter them.
    let deadline = t0 + Duration::from_secs(args.timeout_secs);
    let mut done: Vec<Option<Instant>> = vec![None; n];
    loop {
        for (i, slot) in done.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = fleet.with_received(i, |records| announced(records, &post_url));
            }
        }
        let count = done.iter().filter(|d| d.is_some()).count();
        if count == n {
            break;
        }
        if Instant::now() > deadline {
            eprintln!("timed out: {count} of {n} receivers have the Announce");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let hwm_after_kib = proc_status_kib(pid, "VmHWM");
    let cpu = proc_cpu(pid)
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;

    let delivered: usize = (0..n)
        .map(|i| {
            fleet.with_received(i, |records| {
                records
                    .iter()
                    .filter(|r| r.accepted() && !r.duplicate && is_announce_of(r, &post_url))
                    .count()
            })
        })
        .sum();
    let first = (0..n)
        .filter_map(|i| fleet.first_arrival(i, |r| is_announce_of(r, &post_url)))
        .min()
        .map(|at| at.saturating_duration_since(t0));
    let all = if done.iter().all(Option::is_some) {
        done.iter()
            .flatten()
            .max()
            .map(|at| at.saturating_duration_since(t0))
    } else {
        None
    };
    let refused = fleet.rejected();
    if refused > 0 {
        eprintln!(
            "refused at receivers: {:?}",
            fleet.rejections().iter().take(10).collect::<Vec<_>>()
        );
    }
    Ok(Row {
        receivers: n,
        dead,
        database: db_label(&args.database).to_owned(),
        join,
        deliveries: n,
        delivered,
        first,
        all,
        hwm_before_kib,
        hwm_after_kib,
        peak_rss_kib: peak.load(Ordering::Relaxed),
        cpu,
        load,
        refused,
        duplicates: fleet.duplicates(),
    })
}

fn is_announce_of(r: &Received, post_url: &str) -> bool {
    r.kind == "Announce" && r.concerns(post_url)
}

/// When a receiver had the group's Announce of the post (the
/// `Announce{Create}`; the receivers say they run Hearth, which reads group
/// relays, so there is no bare `Announce{Page}` for them), or `None` if it
/// has not yet.
fn announced(records: &[Received], post_url: &str) -> Option<Instant> {
    let mut firsts: Vec<(&str, Instant)> = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.accepted() && is_announce_of(r, post_url))
    {
        if !firsts.iter().any(|(id, _)| *id == r.id) {
            firsts.push((&r.id, r.at));
        }
    }
    if !firsts.is_empty() {
        firsts.iter().map(|(_, at)| *at).max()
    } else {
        None
    }
}

// ---- the hearth process ----

struct Server {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    client: reqwest::Client,
    /// The PostgreSQL server URL and the database made for this run.
    pg: Option<(String, String)>,
}

impl Server {
    async fn start(hearth: &Path, database: &str) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("hearth-bench-")
            .tempdir()
            .context("create a temporary data folder")?;
        let (database_url, pg) = if database == "sqlite" {
            (String::new(), None)
        } else {
            let name = format!(
                "hearth_bench_{}_{}",
                std::process::id(),
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
            );
            let admin = sea_orm::Database::connect(database)
                .await
                .with_context(|| format!("connect to {database}"))?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .with_context(|| format!("create database {name}"))?;
            let _ = admin.close().await;
            let mut url = url::Url::parse(database).context("--database is not a URL")?;
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((database.to_owned(), name)))
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut server = Server {
            child: None,
            port: 0,
            dir,
            client,
            pg,
        };
        for attempt in 0..5 {
            server.port = free_port()?;
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(server.log_path())?;
            let mut cmd = Command::new(hearth);
            for (key, _) in std::env::vars() {
                if key.starts_with("HEARTH_") || key == "RUST_LOG" {
                    cmd.env_remove(key);
                }
            }
            let port = server.port;
            cmd.args(["serve"])
                .envs([
                    ("HEARTH_TEST_MODE", "true".to_owned()),
                    ("HEARTH_DOMAIN", format!("localhost:{port}")),
                    ("HEARTH_BIND", format!("127.0.0.1:{port}")),
                    ("HEARTH_DATA_DIR", server.dir.path().display().to_string()),
                    ("HEARTH_DATABASE_URL", database_url.clone()),
                    ("HEARTH_REGISTRATION_MODE", "open".to_owned()),
                    ("HEARTH_LOG_FILTER", "warn".to_owned()),
                    ("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE", "100000".to_owned()),
                    // Every receiver sends its Follow from 127.0.0.1.
                    (
                        "HEARTH_FEDERATION_INBOX_RATE_LIMIT_PER_MINUTE",
                        "10000000".to_owned(),
                    ),
                ])
                .current_dir(server.dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            server.child = Some(
                cmd.spawn()
                    .with_context(|| format!("start {}", hearth.display()))?,
            );
            match server.wait_healthy().await {
                Ok(()) => return Ok(server),
                Err(exited)
                    if exited && server.log_tail(20).contains("cannot listen") && attempt < 4 =>
                {
                    continue;
                }
                Err(_) => bail!(
                    "hearth did not become healthy; log:\n{}",
                    server.log_tail(40)
                ),
            }
        }
        bail!("hearth found no free port")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("hearth.log")
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `Err(true)` if the process exited, `Err(false)` after 60 s.
    async fn wait_healthy(&mut self) -> Result<(), bool> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && !matches!(child.try_wait(), Ok(None))
            {
                return Err(true);
            }
            if let Ok(resp) = self.client.get(self.url("/api/v1/health")).send().await
                && resp.status().as_u16() == 200
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(false);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// POST JSON to the API; the answer must have status `expect`.
    async fn call(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
        expect: u16,
    ) -> anyhow::Result<Value> {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.with_context(|| format!("POST {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if status != expect {
            bail!("POST {path} answered {status}, not {expect}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("POST {path} answered {text}"))
    }

    /// Kill the process (a hanging member would hold up a graceful stop)
    /// and drop the run's PostgreSQL database.
    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((server, name)) = self.pg.take() {
            match sea_orm::Database::connect(server.as_str()).await {
                Ok(admin) => {
                    if let Err(e) = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                    {
                        eprintln!("could not drop database {name}: {e}");
                    }
                    let _ = admin.close().await;
                }
                Err(e) => eprintln!("could not drop database {name}: {e}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A `kB` field of `/proc/PID/status` (VmHWM, VmRSS), in KiB.
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU time of a process, from `/proc/PID/stat`.
fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks(),
    ))
}

/// `getconf CLK_TCK`: the unit of `/proc/PID/stat` times (100 on Linux).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn db_label(database: &str) -> &'static str {
    if database == "sqlite" {
        "sqlite"
    } else {
        "postgres"
    }
}

// ---- building hearth ----

/// `cargo build --release -p hearth` into the target folder this program
/// was built in; returns the binary's path.
fn build_hearth() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find this program's path")?;
    let target_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("{} is not inside a target folder", exe.display()))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "building hearth: {cargo} build --release -p hearth --target-dir {}",
        target_dir.display()
    );
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "hearth", "--target-dir"])
        .arg(target_dir)
        .current_dir(&workspace)
        .status()
        .with_context(|| format!("run {cargo}"))?;
    if !status.success() {
        bail!("cargo build --release -p hearth failed ({status})");
    }
    let bin = target_dir.join("release").join("hearth");
    if !bin.is_file() {
        bail!("{} is missing after the build", bin.display());
    }
    Ok(bin)
}

// ---- the floor ----

/// rsa-sha256 signatures per second on this thread, signing a string like
/// the one a delivery signs (request target, host, date, body digest),
/// exactly as activitypub_federation does: SHA-256 of the string, then
/// PKCS#1 v1.5 with the `rsa` crate.
fn signing_floor(secs: f64) -> anyhow::Result<f64> {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let body = json!({
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": "http://localhost:40000/activities/0b7e4c1e-6f0e-4d7c-9d0e-1f2a3b4c5d6e",
        "type": "Announce",
        "actor": "http://localhost:40000/g/bench",
        "object": {"type": "Create", "object": {"type": "Page", "content": "x".repeat(800)}},
    })
    .to_string();
    let digest = B64.encode(Sha256::digest(body.as_bytes()));
    let date = httpdate::fmt_http_date(SystemTime::now());
    let signing = format!(
        "(request-target): post /inbox\nhost: localhost:40001\ndate: {date}\ndigest: SHA-256={digest}"
    );
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        key.sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )?;
        count += 1;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// The header and rsa 2048 lines of `openssl speed -seconds 2 rsa2048`.
fn openssl_reference() -> Option<String> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "2", "rsa2048"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("sign/s") || l.trim_start().starts_with("rsa") && l.contains("2048"))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

// ---- reporting ----

fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("machine: {cores} cores, {model}")
}

fn commit() -> Option<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(&workspace)
        .output()
        .ok()?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if hash.is_empty() {
        return None;
    }
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(&workspace)
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{hash} (with uncommitted changes)")
    } else {
        hash
    })
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.0}", k as f64 / 1024.0))
        .unwrap_or_else(|| "?".into())
}

fn table(rows: &[Row], floor: f64) -> String {
    let mut out = String::from(
        "| receivers | dead | database | join (s) | deliveries | first (s) | all (s) | deliveries/s | of signing floor | hearth CPU (s) | CPU ms/delivery | VmHWM before (MiB) | VmHWM after (MiB) | peak RSS (MiB) | refused | duplicates | load |\n\
         | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let secs = |d: Option<Duration>| {
            d.map(|d| format!("{:.2}", d.as_secs_f64()))
                .unwrap_or_else(|| "—".into())
        };
        let (all, rate, fraction) = match r.all {
            Some(all) if !all.is_zero() => {
                let rate = r.deliveries as f64 / all.as_secs_f64();
                (
                    secs(Some(all)),
                    format!("{rate:.0}"),
                    format!("{:.2}", rate / floor),
                )
            }
            _ => (
                format!("timeout ({} of {} delivered)", r.delivered, r.deliveries),
                "—".into(),
                "—".into(),
            ),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} |\n",
            r.receivers,
            r.dead,
            r.database,
            r.join.as_secs_f64(),
            r.deliveries,
            secs(r.first),
            all,
            rate,
            fraction,
            secs(r.cpu),
            r.cpu
                .filter(|_| r.delivered > 0)
                .map(|c| format!("{:.2}", c.as_secs_f64() * 1000.0 / r.delivered as f64))
                .unwrap_or_else(|| "—".into()),
            mib(r.hwm_before_kib),
            mib(r.hwm_after_kib),
            r.peak_rss_kib as f64 / 1024.0,
            r.refused,
            r.duplicates,
            r.load
                .map(|l| format!("{l:.1}"))
                .unwrap_or_else(|| "?".into()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    //! The receivers checked against each other, without hearth: receiver 0
    //! plays the sender, so its signature is verified with a key fetched
    //! from it over HTTP.

    use super::*;

    async fn send(fleet: &ReceiverFleet, to: usize, kind: &str) -> (u16, String, Value) {
        let id = fleet.new_activity_id(0);
        let activity = json!({
            "id": id, "type": kind, "actor": fleet.actor_url(0),
            "object": {"id": format!("{id}/object"), "type": "Note", "object": "http://x.example/p/1"},
        });
        let (status, _) = fleet.post_as(0, &fleet.shared_inbox(to), &activity).await;
        (status, id, activity)
    }

    #[tokio::test]
    async fn receivers_verify_record_stop_restart_and_hang() {
        let fleet = ReceiverFleet::start(2, ReceiverOptions::default()).await;
        let (status, id, activity) = send(&fleet, 1, "Create").await;
        assert_eq!(status, 202);
        assert!(fleet.has(1, &id));
        let got = fleet.received(1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].seq, 1);
        assert_eq!(got[0].kind, "Create");
        assert_eq!(
            got[0].object_id.as_deref(),
            Some(format!("{id}/object").as_str())
        );
        assert_eq!(
            got[0].inner_object_id.as_deref(),
            Some("http://x.example/p/1")
        );
        assert_eq!(fleet.key_fetches(), 1);

        // The same activity again is a duplicate.
        let (status, _) = fleet.post_as(0, &fleet.shared_inbox(1), &activity).await;
        assert_eq!(status, 202);
        assert_eq!(fleet.duplicates(), 1);

        // A body that does not match its digest is refused.
        let url = fleet.shared_inbox(1);
        let mut req = reqwest::Client::new()
            .post(&url)
            .body("{\"tampered\": true}");
        for (name, value) in fleet.sign_post(0, &url, b"{}") {
            req = req.header(name, value);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
        assert_eq!(fleet.rejected(), 1);

        // Stopped: the port refuses; restarted: same port, records kept.
        fleet.stop(1).await;
        let refused = reqwest::Client::new()
            .get(fleet.actor_url(1))
            .send()
            .await
            .unwrap_err();
        assert!(refused.is_connect(), "{refused}");
        fleet.restart(1).await;
        let (status, id2, _) = send(&fleet, 1, "Like").await;
        assert_eq!(status, 202);
        assert!(fleet.has(1, &id) && fleet.has(1, &id2));

        // Hanging: accepted, never answered.
        fleet.hang(1, true);
        let body = serde_json::to_vec(
            &json!({"id": fleet.new_activity_id(0), "type": "Like", "actor": fleet.actor_url(0)}),
        )
        .unwrap();
        let mut req = reqwest::Client::new()
            .post(&url)
            .timeout(Duration::from_millis(300))
            .body(body.clone());
        for (name, value) in fleet.sign_post(0, &url, &body) {
            req = req.header(name, value);
        }
        assert!(req.send().await.unwrap_err().is_timeout());
        fleet.hang(1, false);
        fleet.set_status(1, 500);
        let (status, _, _) = send(&fleet, 1, "Like").await;
        assert_eq!(status, 500);
        assert_eq!(fleet.count_with(|r| r.status == 500), 1);
        assert_eq!(fleet.rejected(), 1);
    }
}

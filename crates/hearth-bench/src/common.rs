//! What every benchmark shares: a `hearth serve` process of its own, what
//! `/proc` says about a process, building the release binary, and the
//! machine and commit a run was made on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

// ---- the hearth process ----

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    /// The PostgreSQL server URL and the database made for this run.
    pg: Option<(String, String)>,
    /// What `HEARTH_DATABASE_URL` is set to (empty: SQLite in `dir`).
    database_url: String,
    /// More `HEARTH_*` settings for the next start.
    pub extra_env: Vec<(String, String)>,
}

impl Server {
    pub async fn start(hearth: &Path, database: &str) -> anyhow::Result<Server> {
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
            database_url,
            extra_env: Vec::new(),
        };
        for attempt in 0..5 {
            server.port = free_port()?;
            match server.spawn(hearth).await {
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

    /// Start `hearth serve` on this server's port, data folder and
    /// database, and wait until it answers; `Err(true)` if it exited.
    async fn spawn(&mut self, hearth: &Path) -> Result<(), bool> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|_| false)?;
        let mut cmd = Command::new(hearth);
        for (key, _) in std::env::vars() {
            if key.starts_with("HEARTH_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        let port = self.port;
        cmd.args(["serve"])
            .envs([
                ("HEARTH_TEST_MODE", "true".to_owned()),
                ("HEARTH_DOMAIN", format!("localhost:{port}")),
                ("HEARTH_BIND", format!("127.0.0.1:{port}")),
                ("HEARTH_DATA_DIR", self.dir.path().display().to_string()),
                ("HEARTH_DATABASE_URL", self.database_url.clone()),
                ("HEARTH_REGISTRATION_MODE", "open".to_owned()),
                ("HEARTH_LOG_FILTER", "warn".to_owned()),
                ("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE", "100000".to_owned()),
                // Every receiver sends its Follow from 127.0.0.1.
                (
                    "HEARTH_FEDERATION_INBOX_RATE_LIMIT_PER_MINUTE",
                    "10000000".to_owned(),
                ),
                // A load test is a flood by design: no moderation limits.
                ("HEARTH_MODERATION_POSTS_PER_HOUR", "0".to_owned()),
                ("HEARTH_MODERATION_JOINS_PER_HOUR", "0".to_owned()),
                ("HEARTH_MODERATION_REMOTE_POSTS_PER_MINUTE", "0".to_owned()),
                ("HEARTH_MODERATION_REMOTE_JOINS_PER_HOUR", "0".to_owned()),
            ])
            .envs(self.extra_env.iter().cloned())
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        let Ok(err) = log.try_clone() else {
            return Err(false);
        };
        cmd.stdout(err).stderr(log);
        self.child = Some(cmd.spawn().map_err(|_| false)?);
        self.wait_healthy().await
    }

    /// The database the server uses, as a URL this program can open.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}",
                self.dir.path().join("hearth.sqlite3").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    /// Kill the process with SIGKILL, as a crash would, keeping its data.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again on the same port, data and database (after
    /// [`Server::kill`]); returns when it answers.
    pub async fn restart(&mut self, hearth: &Path) -> anyhow::Result<()> {
        self.kill();
        if self.spawn(hearth).await.is_err() {
            bail!(
                "hearth did not come back after a restart; log:\n{}",
                self.log_tail(40)
            );
        }
        Ok(())
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("hearth.log")
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `Err(true)` if the process exited, `Err(false)` after 60 s.
    pub async fn wait_healthy(&mut self) -> Result<(), bool> {
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
    pub async fn call(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
        expect: u16,
    ) -> anyhow::Result<Value> {
        post_json(&self.client, self.url(path), path, token, body, expect).await
    }

    /// Kill the process (a hanging member would hold up a graceful stop)
    /// and drop the run's PostgreSQL database.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((server, name)) = self.pg.take() {
            drop_database(&server, &name).await;
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

/// POST `body` as JSON to `url` (the API's `path` on some server, named in
/// errors), with `token` as bearer; the answer must have status `expect`.
pub async fn post_json(
    client: &reqwest::Client,
    url: String,
    path: &str,
    token: Option<&str>,
    body: Value,
    expect: u16,
) -> anyhow::Result<Value> {
    let mut req = client.post(url).json(&body);
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

/// The `hearth` binary a run uses (`given`, or a release build of this
/// checkout), after printing the machine and the commit it runs on.
pub fn hearth_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let hearth = match given {
        Some(path) => path.to_path_buf(),
        None => build_hearth()?,
    };
    eprintln!("{}", machine());
    if let Some(commit) = commit() {
        eprintln!("commit {commit}");
    }
    Ok(hearth)
}

/// The open group every benchmark's writer creates.
pub const GROUP: &str = "bench";
const USERNAME: &str = "bench_writer";
const PASSWORD: &str = "a long enough bench passphrase";

/// Register the writer, log in and create an open group; returns the
/// writer's token and the group's actor URL.
pub async fn writer_and_group(server: &Server) -> anyhow::Result<(String, String)> {
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
            // Public, as groups were when these figures were first taken:
            // the benches post public threads too.
            json!({"name": GROUP, "title": "Bench group", "join_policy": "open", "visibility": "public"}),
            201,
        )
        .await?;
    let group_url = group["url"]
        .as_str()
        .ok_or_else(|| anyhow!("group answer has no url: {group}"))?
        .to_owned();
    Ok((token, group_url))
}

/// Drop the database `name` made for a run on the PostgreSQL at `server`
/// (a failure is reported, not returned: the run's figures stand).
pub async fn drop_database(server: &str, name: &str) {
    match sea_orm::Database::connect(server).await {
        Ok(admin) => {
            if let Err(e) = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
            {
                eprintln!("could not drop database {name}: {e}");
            }
            let _ = admin.close().await;
        }
        Err(e) => eprintln!("could not drop database {name}: {e}"),
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A `kB` field of `/proc/PID/status` (VmHWM, VmRSS), in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU time of a process, from `/proc/PID/stat`.
pub fn proc_cpu(pid: u32) -> Option<Duration> {
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
pub fn clock_ticks() -> f64 {
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

pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn db_label(database: &str) -> &'static str {
    if database == "sqlite" {
        "sqlite"
    } else {
        "postgres"
    }
}

// ---- building hearth ----

/// `cargo build --release -p hearth` into the target folder this program
/// was built in; returns the binary's path.
pub fn build_hearth() -> anyhow::Result<PathBuf> {
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

// ---- reporting ----

pub fn machine() -> String {
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

pub fn commit() -> Option<String> {
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

//! `hearth-bench timeline`: how fast one `hearth serve` answers the pages
//! people read most (a group's timeline and a thread, over the API and as
//! web pages) when its database holds many posts. What it measures and how
//! to read it: `docs/PERFORMANCE.md`, section "Timeline".
//!
//! ```text
//!  hearth-bench ──spawn──▶ hearth serve (test mode, its own data dir, SQLite or a fresh PostgreSQL db)
//!    │  register a reader and a few authors, create G open groups, join them
//!    ├─ kill hearth
//!    │  seed N posts straight into its database (multi-row INSERTs, big
//!    │  transactions): threads with replies, reactions, remote authors
//!    ├─▶ spawn hearth again on the same data: cold start = first 200 from /api/v1/health
//!    └─▶ for each page × each --connections C: C keep-alive workers for --secs
//!        (latencies, errors, hearth's CPU from /proc, its RSS)
//! ```
//!
//! The seeded rows follow the schema in `migrations/src/` column for
//! column; the ids this server mints (`/u/NAME`, `/g/NAME`) are the ones
//! `hearth_app::Urls` builds for the same domain, so the restarted server
//! reads them as its own. It must listen on the same port (its domain is
//! `localhost:PORT`), which is kept from the first start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::{Value as Json, json};

use crate::common::{
    build_hearth, commit, db_label, free_port, load_average, machine, proc_cpu, proc_status_kib,
};

const READER: &str = "bench_reader";
const PASSWORD: &str = "a long enough bench passphrase";
/// Local authors besides the reader.
const AUTHORS: usize = 6;
/// Servers elsewhere, each with a few authors.
const REMOTE_SERVERS: usize = 2;
const REMOTE_AUTHORS_EACH: usize = 3;
/// A browser that has been here before sends its CSRF cookie back.
const CSRF: &str = "0123456789abcdef0123456789abcdef";
/// Rows per INSERT statement: under SQLite's 32,766 bound parameters with
/// the widest row (posts, 22 columns).
const ROWS_PER_STATEMENT: usize = 500;
/// Statements per transaction while seeding.
const STATEMENTS_PER_TXN: usize = 40;

/// Measure a group's timeline and a thread, over the API and as web pages,
/// with a database of many posts. Prints a Markdown table on stdout;
/// progress goes to stderr.
#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// Posts to seed: threads (a fifth) and their replies.
    #[arg(long, default_value_t = 1_000_000)]
    posts: usize,

    /// Seconds to load each page at each concurrency.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,

    /// Concurrent keep-alive connections, comma-separated: one table row
    /// per page and number.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    connections: Vec<usize>,

    /// `sqlite` (a file in a temporary folder), or the URL of a PostgreSQL
    /// server: a fresh database is created beside the one it names and
    /// dropped afterwards.
    #[arg(long, default_value = "sqlite")]
    database: String,

    /// Groups the posts are spread over; the first is measured.
    #[arg(long, default_value_t = 4)]
    groups: usize,

    /// Replies in the long thread whose pages are measured beside a
    /// typical one (4 replies).
    #[arg(long, default_value_t = 200)]
    thread_replies: usize,

    /// The `hearth` binary to run. Without it, `cargo build --release -p
    /// hearth` is run into this program's own target folder and that
    /// binary is used.
    #[arg(long)]
    hearth: Option<PathBuf>,

    /// A request not answered within this many seconds counts as a timeout.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
}

pub async fn run_timeline(args: TimelineArgs) -> anyhow::Result<()> {
    if args.connections.is_empty() || args.connections.contains(&0) {
        bail!("--connections needs numbers above 0");
    }
    if args.groups == 0 {
        bail!("--groups must be at least 1");
    }
    let hearth = match &args.hearth {
        Some(path) => path.clone(),
        None => build_hearth()?,
    };
    eprintln!("hearth binary: {}", hearth.display());
    eprintln!("{}", machine());
    if let Some(commit) = commit() {
        eprintln!("checkout at commit {commit}");
    }
    let mut run = Run::prepare(&args).await?;
    let result = measure(&args, &hearth, &mut run).await;
    if result.is_err()
        && let Some(h) = &run.hearth
    {
        eprintln!("hearth log (last lines):\n{}", h.log_tail(40));
    }
    run.finish().await;
    let report = result?;
    print!("{}", report.render(&args));
    Ok(())
}

// ---- the hearth process and its database ----

/// One benchmark's data folder and database, and the `hearth serve`
/// running on them (if any). Unlike [`crate::common::Server`], the process
/// can be stopped and started again on the same data.
struct Run {
    dir: tempfile::TempDir,
    port: u16,
    /// The URL hearth is given (empty for its SQLite file in `dir`).
    hearth_url: String,
    /// The URL the seeder connects to.
    seed_url: String,
    /// The PostgreSQL server URL and the database made for this run.
    pg: Option<(String, String)>,
    hearth: Option<Hearth>,
}

impl Run {
    async fn prepare(args: &TimelineArgs) -> anyhow::Result<Run> {
        let dir = tempfile::Builder::new()
            .prefix("hearth-bench-timeline-")
            .tempdir()
            .context("create a temporary data folder")?;
        let port = free_port()?;
        if args.database == "sqlite" {
            let file = dir.path().join("hearth.sqlite3");
            return Ok(Run {
                seed_url: format!("sqlite://{}", file.display()),
                hearth_url: String::new(),
                dir,
                port,
                pg: None,
                hearth: None,
            });
        }
        let name = format!(
            "hearth_bench_timeline_{}_{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        let admin = sea_orm::Database::connect(args.database.as_str())
            .await
            .with_context(|| format!("connect to {}", args.database))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("create database {name}"))?;
        let _ = admin.close().await;
        let mut url = url::Url::parse(&args.database).context("--database is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Run {
            seed_url: url.to_string(),
            hearth_url: url.to_string(),
            dir,
            port,
            pg: Some((args.database.clone(), name)),
            hearth: None,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The id hearth gives a path of its own (`/u/ann`), as `Urls` does in
    /// test mode for the domain `localhost:PORT`.
    fn id(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// Start `hearth serve` on this run's data; returns how long it took
    /// to answer its health check.
    async fn start(&mut self, bin: &Path) -> anyhow::Result<Duration> {
        let hearth = Hearth::spawn(bin, self.dir.path(), self.port, &self.hearth_url)?;
        let started = hearth.started;
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let health = self.url("/api/v1/health");
        self.hearth = Some(hearth);
        loop {
            if let Some(h) = self.hearth.as_mut()
                && h.exited()
            {
                bail!("hearth exited while starting; log:\n{}", h.log_tail(40));
            }
            if let Ok(resp) = probe.get(&health).send().await
                && resp.status().as_u16() == 200
            {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("hearth did not answer its health check within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut h) = self.hearth.take() {
            h.kill();
        }
    }

    fn pid(&self) -> u32 {
        self.hearth.as_ref().map(|h| h.child.id()).unwrap_or(0)
    }

    async fn finish(&mut self) {
        self.stop();
        if let Some((server, name)) = self.pg.take() {
            crate::common::drop_database(&server, &name).await;
        }
    }
}

/// A running `hearth serve`.
struct Hearth {
    child: Child,
    started: Instant,
    log: PathBuf,
}

impl Hearth {
    fn spawn(bin: &Path, dir: &Path, port: u16, database_url: &str) -> anyhow::Result<Hearth> {
        let log_path = dir.join("hearth.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut cmd = Command::new(bin);
        for (key, _) in std::env::vars() {
            if key.starts_with("HEARTH_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.arg("serve")
            .envs([
                ("HEARTH_TEST_MODE", "true".to_owned()),
                ("HEARTH_DOMAIN", format!("localhost:{port}")),
                ("HEARTH_BIND", format!("127.0.0.1:{port}")),
                ("HEARTH_DATA_DIR", dir.display().to_string()),
                ("HEARTH_DATABASE_URL", database_url.to_owned()),
                ("HEARTH_REGISTRATION_MODE", "open".to_owned()),
                ("HEARTH_LOG_FILTER", "warn".to_owned()),
                ("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE", "100000".to_owned()),
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        Ok(Hearth {
            child,
            started,
            log: log_path,
        })
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Hearth {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---- the people and groups, through the API ----

/// What the API set up, for the seeder and the load.
struct Scene {
    token: String,
    /// (id, actor id) of every local author, the reader first.
    locals: Vec<(i64, String)>,
    /// (group id, group actor id, name).
    groups: Vec<(i64, String, String)>,
}

async fn call(
    client: &reqwest::Client,
    run: &Run,
    path: &str,
    token: Option<&str>,
    body: Json,
    expect: u16,
) -> anyhow::Result<Json> {
    crate::common::post_json(client, run.url(path), path, token, body, expect).await
}

async fn login(client: &reqwest::Client, run: &Run, username: &str) -> anyhow::Result<String> {
    call(
        client,
        run,
        "/api/v1/auth/register",
        None,
        json!({"username": username, "password": PASSWORD, "display_name": format!("Bench {username}")}),
        201,
    )
    .await?;
    let login = call(
        client,
        run,
        "/api/v1/auth/login",
        None,
        json!({"username": username, "password": PASSWORD}),
        200,
    )
    .await?;
    login["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("log-in answer has no token: {login}"))
}

async fn set_up(args: &TimelineArgs, run: &Run) -> anyhow::Result<Scene> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let token = login(&client, run, READER).await?;
    let mut names = Vec::new();
    for g in 0..args.groups {
        let name = format!("bench{g}");
        call(
            &client,
            run,
            "/api/v1/groups",
            Some(&token),
            // Public: the timeline mixes public, members and local posts.
            json!({"name": name, "title": format!("Bench group {g}"), "join_policy": "open", "visibility": "public"}),
            201,
        )
        .await?;
        names.push(name);
    }
    for a in 0..AUTHORS {
        let author = login(&client, run, &format!("bench_author{a}")).await?;
        for name in &names {
            let path = format!("/api/v1/groups/{name}/join");
            let resp = client
                .post(run.url(&path))
                .bearer_auth(&author)
                .send()
                .await
                .with_context(|| format!("POST {path}"))?;
            if !resp.status().is_success() {
                bail!("POST {path} answered {}", resp.status());
            }
        }
    }
    // The ids the database gave, read back where the seeder will write.
    let db = sea_orm::Database::connect(run.seed_url.as_str()).await?;
    let backend = db.get_database_backend();
    let mut locals = Vec::new();
    for row in db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, username FROM users ORDER BY id",
        ))
        .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let name: String = row.try_get("", "username")?;
        locals.push((id, run.id(&format!("/u/{}", name.to_ascii_lowercase()))));
    }
    let mut groups = Vec::new();
    for row in db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, name FROM groups ORDER BY id",
        ))
        .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let name: String = row.try_get("", "name")?;
        groups.push((
            id,
            run.id(&format!("/g/{}", name.to_ascii_lowercase())),
            name,
        ));
    }
    let _ = db.close().await;
    if groups.len() != args.groups || locals.len() != AUTHORS + 1 {
        bail!(
            "expected {} groups and {} people, found {} and {}",
            args.groups,
            AUTHORS + 1,
            groups.len(),
            locals.len()
        );
    }
    Ok(Scene {
        token,
        locals,
        groups,
    })
}

// ---- seeding ----

/// A small deterministic generator (xorshift64*), so every run seeds the
/// same posts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Who wrote a seeded post: a local account, or an actor elsewhere.
#[derive(Clone)]
struct Writer {
    ap_id: String,
    user_id: Option<i64>,
}

/// The seeder's one connection, with the transaction it writes in: each
/// [`STATEMENTS_PER_TXN`] statements, whatever their table, it commits
/// and begins the next.
struct Batch {
    db: DatabaseConnection,
    statements: std::cell::Cell<usize>,
}

impl Batch {
    async fn open(url: &str) -> anyhow::Result<Batch> {
        // One connection, so BEGIN and COMMIT frame the statements between
        // them (a pool would hand each statement any connection).
        let mut options = sea_orm::ConnectOptions::new(url.to_owned());
        options
            .max_connections(1)
            .min_connections(1)
            .sqlx_logging(false);
        let db = sea_orm::Database::connect(options)
            .await
            .with_context(|| format!("connect to {url}"))?;
        if db.get_database_backend() == DbBackend::Sqlite {
            // A crash while seeding loses the run anyway; nothing to keep
            // safe on the way.
            db.execute_unprepared("PRAGMA synchronous = OFF").await?;
            db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
        }
        db.execute_unprepared("BEGIN").await?;
        Ok(Batch {
            db,
            statements: std::cell::Cell::new(0),
        })
    }

    async fn execute(&self, table: &str, stmt: Statement) -> anyhow::Result<()> {
        self.db
            .execute_raw(stmt)
            .await
            .with_context(|| format!("insert into {table}"))?;
        self.statements.set(self.statements.get() + 1);
        if self.statements.get() >= STATEMENTS_PER_TXN {
            self.db.execute_unprepared("COMMIT").await?;
            self.db.execute_unprepared("BEGIN").await?;
            self.statements.set(0);
        }
        Ok(())
    }

    async fn close(self) -> anyhow::Result<()> {
        self.db.execute_unprepared("COMMIT").await?;
        let _ = self.db.close().await;
        Ok(())
    }
}

/// Batches one table's rows into multi-row INSERTs.
struct Inserter<'a> {
    batch: &'a Batch,
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
    written: usize,
    /// Write a statement whenever a batch is full; off for rows that must
    /// wait for the rows they refer to (reactions for their posts).
    auto: bool,
}

impl<'a> Inserter<'a> {
    fn new(batch: &'a Batch, table: &'static str, columns: &'static [&'static str]) -> Self {
        Inserter {
            batch,
            table,
            columns,
            rows: Vec::with_capacity(ROWS_PER_STATEMENT),
            written: 0,
            auto: true,
        }
    }

    /// Rows that refer to another table's: written only when told
    /// ([`Inserter::flush`]), after the rows they refer to.
    fn following(mut self) -> Self {
        self.auto = false;
        self
    }

    /// Whether every row pushed so far has been written.
    fn is_flushed(&self) -> bool {
        self.rows.is_empty()
    }

    async fn push(&mut self, row: Vec<Value>) -> anyhow::Result<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
        if self.auto && self.rows.len() >= ROWS_PER_STATEMENT {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let backend = self.batch.db.get_database_backend();
        let width = self.columns.len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        );
        let mut values = Vec::with_capacity(self.rows.len() * width);
        for (r, row) in self.rows.drain(..).enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    DbBackend::Postgres => sql.push_str(&format!("${}", r * width + c + 1)),
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
            values.extend(row);
        }
        let n = values.len() / width;
        self.batch
            .execute(
                self.table,
                Statement::from_sql_and_values(backend, sql, values),
            )
            .await?;
        self.written += n;
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<usize> {
        self.flush().await?;
        Ok(self.written)
    }
}

const POST_COLUMNS: &[&str] = &[
    "id",
    "ap_id",
    "group_ap_id",
    "group_id",
    "author_ap_id",
    "author_user_id",
    "parent_id",
    "root_id",
    "in_reply_to_ap_id",
    "kind",
    "title",
    "source",
    "content_html",
    "content_warning",
    "support_kind",
    "visibility",
    "url",
    "local",
    "published_at",
    "deleted_at",
    "last_activity_at",
    "created_at",
];

const REACTION_COLUMNS: &[&str] = &[
    "id",
    "post_id",
    "reaction",
    "actor_ap_id",
    "user_id",
    "ap_id",
    "created_at",
];

const REMOTE_COLUMNS: &[&str] = &[
    "ap_id",
    "kind",
    "authority",
    "preferred_username",
    "name",
    "summary",
    "inbox",
    "public_key_id",
    "public_key_pem",
    "manually_approves_followers",
    "fetched_at",
    "created_at",
];

const KINDS: [&str; 5] = [
    "emotional",
    "my-situation",
    "general-knowledge",
    "experience",
    "resource",
];
const REACTIONS: [&str; 3] = ["hug", "me-too", "helpful"];

/// What was seeded, and what the load asks for.
struct Seeded {
    posts: usize,
    threads: usize,
    reactions: usize,
    /// The long thread whose pages are measured.
    big_thread: i64,
    /// A thread of the measured group with 4 replies.
    typical_thread: Option<i64>,
    took: Duration,
}

fn text(v: &str) -> Value {
    Value::from(v.to_owned())
}

fn opt_text(v: Option<String>) -> Value {
    Value::String(v)
}

fn opt_int(v: Option<i64>) -> Value {
    Value::BigInt(v)
}

fn at(t: DateTime<Utc>) -> Value {
    Value::from(t)
}

async fn seed(args: &TimelineArgs, run: &Run, scene: &Scene) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let batch = Batch::open(&run.seed_url).await?;
    let now = Utc::now();
    let epoch = now - chrono::Duration::days(365);

    // Authors elsewhere: known actors, as a fetch would have stored them.
    let mut remote = Inserter::new(&batch, "remote_actors", REMOTE_COLUMNS);
    let mut writers: Vec<Writer> = scene
        .locals
        .iter()
        .map(|(id, ap_id)| Writer {
            ap_id: ap_id.clone(),
            user_id: Some(*id),
        })
        .collect();
    for s in 0..REMOTE_SERVERS {
        let authority = format!("remote{s}.example");
        for a in 0..REMOTE_AUTHORS_EACH {
            let ap_id = format!("https://{authority}/users/someone{a}");
            remote
                .push(vec![
                    text(&ap_id),
                    text("Person"),
                    text(&authority),
                    text(&format!("someone{a}")),
                    text(&format!("Someone {a} of {authority}")),
                    text(""),
                    text(&format!("{ap_id}/inbox")),
                    text(&format!("{ap_id}#main-key")),
                    text("-----BEGIN PUBLIC KEY-----\nseeded\n-----END PUBLIC KEY-----\n"),
                    Value::from(false),
                    at(now),
                    at(now),
                ])
                .await?;
            writers.push(Writer {
                ap_id,
                user_id: None,
            });
        }
    }
    remote.finish().await?;

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut posts = Inserter::new(&batch, "posts", POST_COLUMNS);
    // At most three reactions a post: one statement of them per statement
    // of posts stays under the bound-parameter limits.
    let mut reactions = Inserter::new(&batch, "reactions", REACTION_COLUMNS).following();
    let threads_wanted = (args.posts / 5).max(1);
    let span = (now - epoch).num_microseconds().unwrap_or(1).max(1);
    let step = (span / threads_wanted as i64).max(1);
    let body = "Some days I can do very little. **What helps you** plan a day like that? \
                I have tried lists and timers, and asking a friend to check in. Any tips welcome, \
                small ones too: what worked, what did not, and what you would tell someone starting out.";
    let body_html = format!("<p>{}</p>", body.replace("**", ""));
    let mut next_id: i64 = 1;
    let mut next_reaction: i64 = 1;
    let mut written = 0usize;
    let mut threads = 0usize;
    // The measured thread: the newest thread of the first group, written
    // last, so it is also the first row of that group's timeline.
    let big_group = 0usize;
    let mut big_thread = 0i64;
    let mut typical_thread = None;
    let mut last_report = Instant::now();
    while written < args.posts {
        let last = written + 1 + args.thread_replies >= args.posts;
        let g = if last {
            big_group
        } else {
            threads % scene.groups.len()
        };
        let (group_id, group_ap_id, _) = &scene.groups[g];
        let thread_id = next_id;
        next_id += 1;
        // Micro-second times that are never whole seconds, so every
        // stored text timestamp has the same shape on SQLite.
        let published = epoch
            + chrono::Duration::microseconds(threads as i64 * step + 1 + rng.below(997) as i64);
        let replies = if last {
            (args.posts - written - 1).min(args.thread_replies)
        } else {
            rng.below(9).min(args.posts - written - 1)
        };
        let visibility = match rng.below(20) {
            0..=13 => "members",
            14..=18 => "public",
            _ => "local",
        };
        let writer = writers[rng.below(writers.len())].clone();
        let deleted = !last && rng.below(200) == 0;
        let thread_ap_id = post_ap_id(run, &writer, thread_id);
        let mut reply_times = Vec::with_capacity(replies);
        let mut t = published;
        for _ in 0..replies {
            t += chrono::Duration::microseconds(1 + rng.below(3_600_000_000) as i64);
            reply_times.push(t.min(now));
        }
        let last_activity = reply_times.last().copied().unwrap_or(published);
        posts
            .push(post_row(PostRow {
                id: thread_id,
                ap_id: &thread_ap_id,
                group_ap_id,
                group_id: *group_id,
                writer: &writer,
                parent: None,
                title: Some(format!("How do you pace yourselves, part {threads}?")),
                source: if deleted { "" } else { body },
                html: if deleted { "" } else { &body_html },
                warning: (rng.below(20) == 0).then(|| "talk of burnout".to_owned()),
                kind: Some(KINDS[rng.below(KINDS.len())]),
                visibility,
                published,
                deleted: deleted.then_some(published),
                last_activity,
            }))
            .await?;
        if posts.is_flushed() {
            reactions.flush().await?;
        }
        react(
            &mut reactions,
            &mut rng,
            &mut next_reaction,
            run,
            &writers,
            thread_id,
            published,
        )
        .await?;
        threads += 1;
        written += 1;
        let mut ids_in_thread = vec![(thread_id, thread_ap_id)];
        for at_time in reply_times {
            let id = next_id;
            next_id += 1;
            // Most replies answer the thread, some answer another reply.
            let parent = if rng.below(3) == 0 {
                ids_in_thread[rng.below(ids_in_thread.len())].clone()
            } else {
                ids_in_thread[0].clone()
            };
            let writer = writers[rng.below(writers.len())].clone();
            let ap_id = post_ap_id(run, &writer, id);
            let deleted = rng.below(100) == 0;
            posts
                .push(post_row(PostRow {
                    id,
                    ap_id: &ap_id,
                    group_ap_id,
                    group_id: *group_id,
                    writer: &writer,
                    parent: Some((parent.0, thread_id, parent.1.clone())),
                    title: None,
                    source: if deleted { "" } else { body },
                    html: if deleted { "" } else { &body_html },
                    warning: None,
                    kind: None,
                    visibility,
                    published: at_time,
                    deleted: deleted.then_some(at_time),
                    last_activity: at_time,
                }))
                .await?;
            if posts.is_flushed() {
                reactions.flush().await?;
            }
            if rng.below(3) == 0 {
                react(
                    &mut reactions,
                    &mut rng,
                    &mut next_reaction,
                    run,
                    &writers,
                    id,
                    at_time,
                )
                .await?;
            }
            ids_in_thread.push((id, ap_id));
            written += 1;
        }
        if last {
            big_thread = thread_id;
        } else if g == big_group && replies == 4 && !deleted {
            typical_thread = Some(thread_id);
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "seeded {written} of {} posts ({:.0} posts/s)",
                args.posts,
                written as f64 / started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let posts_written = posts.finish().await?;
    let reactions_written = reactions.finish().await?;
    batch.close().await?;
    eprintln!("inserted in {:.1} s", started.elapsed().as_secs_f64());
    let db = sea_orm::Database::connect(run.seed_url.as_str()).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // Explicit ids leave the sequences behind; the server's own
        // inserts must not collide with the seeded rows.
        for table in ["posts", "reactions"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .await?;
        }
        db.execute_unprepared("ANALYZE").await?;
    } else {
        // No ANALYZE: hearth never runs it, so its SQLite plans without
        // statistics, and so must the benchmark. (With the STAT4 tables
        // ANALYZE writes, SQLite re-prepares every statement whose plan a
        // bound value could change, on every execution.)
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    let _ = db.close().await;
    Ok(Seeded {
        posts: posts_written,
        threads,
        reactions: reactions_written,
        big_thread,
        typical_thread,
        took: started.elapsed(),
    })
}

fn post_ap_id(run: &Run, writer: &Writer, id: i64) -> String {
    match writer.user_id {
        Some(_) => run.id(&format!("/p/seed-{id}")),
        None => {
            let server = writer
                .ap_id
                .split('/')
                .nth(2)
                .unwrap_or("remote.example")
                .to_owned();
            format!("https://{server}/objects/seed-{id}")
        }
    }
}

/// One post row, as `hearth_db::posts::insert` would write it.
struct PostRow<'a> {
    id: i64,
    ap_id: &'a str,
    group_ap_id: &'a str,
    group_id: i64,
    writer: &'a Writer,
    /// (parent id, thread id, parent's ap_id) for a reply.
    parent: Option<(i64, i64, String)>,
    title: Option<String>,
    source: &'a str,
    html: &'a str,
    warning: Option<String>,
    kind: Option<&'static str>,
    visibility: &'static str,
    published: DateTime<Utc>,
    deleted: Option<DateTime<Utc>>,
    last_activity: DateTime<Utc>,
}

fn post_row(p: PostRow<'_>) -> Vec<Value> {
    let local = p.writer.user_id.is_some();
    vec![
        Value::from(p.id),
        text(p.ap_id),
        text(p.group_ap_id),
        Value::from(p.group_id),
        text(&p.writer.ap_id),
        opt_int(p.writer.user_id),
        opt_int(p.parent.as_ref().map(|(parent, _, _)| *parent)),
        opt_int(p.parent.as_ref().map(|(_, root, _)| *root)),
        opt_text(p.parent.as_ref().map(|(_, _, ap_id)| ap_id.clone())),
        text(if p.parent.is_some() {
            "reply"
        } else {
            "thread"
        }),
        text(&p.title.unwrap_or_default()),
        text(p.source),
        text(p.html),
        opt_text(p.warning),
        opt_text(p.kind.map(str::to_owned)),
        text(p.visibility),
        opt_text(Some(p.ap_id.to_owned())),
        Value::from(local),
        at(p.published),
        Value::ChronoDateTimeUtc(p.deleted),
        at(p.last_activity),
        at(p.published),
    ]
}

/// Up to three reactions on a post, by different people.
async fn react(
    out: &mut Inserter<'_>,
    rng: &mut Rng,
    next_id: &mut i64,
    run: &Run,
    writers: &[Writer],
    post_id: i64,
    after: DateTime<Utc>,
) -> anyhow::Result<()> {
    let n = rng.below(4);
    let first = rng.below(writers.len());
    for k in 0..n {
        let writer = &writers[(first + k) % writers.len()];
        let id = *next_id;
        *next_id += 1;
        out.push(vec![
            Value::from(id),
            Value::from(post_id),
            text(REACTIONS[rng.below(REACTIONS.len())]),
            text(&writer.ap_id),
            opt_int(writer.user_id),
            text(&run.id(&format!("/activities/seed-like-{id}"))),
            at(after + chrono::Duration::seconds(1)),
        ])
        .await?;
    }
    Ok(())
}

// ---- the load ----

/// One page the load asks for.
struct Target {
    name: &'static str,
    path: String,
    /// Web pages are read with the session cookie, the API with the token.
    web: bool,
    /// Whether the answer must show seeded posts (all but the floor).
    shows_posts: bool,
}

/// One line of the results table.
struct Row {
    page: &'static str,
    connections: usize,
    requests: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    timeouts: usize,
    errors: usize,
    cpu: Option<Duration>,
    rss_kib: Option<u64>,
    load: Option<f64>,
    bytes: usize,
}

struct Report {
    database: String,
    seeded: Seeded,
    cold_start: Duration,
    idle_rss_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    hwm_after_kib: Option<u64>,
    rows: Vec<Row>,
}

async fn measure(args: &TimelineArgs, bin: &Path, run: &mut Run) -> anyhow::Result<Report> {
    eprintln!(
        "\n== timeline: {} posts, database {} ==",
        args.posts,
        db_label(&args.database)
    );
    run.start(bin).await?;
    let scene = set_up(args, run).await?;
    run.stop();
    eprintln!(
        "set up: {} people, {} groups; hearth stopped, seeding",
        scene.locals.len(),
        scene.groups.len()
    );
    let seeded = seed(args, run, &scene).await?;
    eprintln!(
        "seeded {} posts ({} threads) and {} reactions in {:.1} s",
        seeded.posts,
        seeded.threads,
        seeded.reactions,
        seeded.took.as_secs_f64()
    );

    let cold_start = run.start(bin).await?;
    eprintln!(
        "cold start on the seeded database: {:.0} ms",
        cold_start.as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = run.pid();
    let idle_rss_kib = proc_status_kib(pid, "VmRSS");

    let max_conn = args.connections.iter().copied().max().unwrap_or(1);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .pool_max_idle_per_host(max_conn)
        .build()?;
    let group = &scene.groups[0].2;
    let deep = deep_cursor(
        &client,
        run,
        &scene.token,
        group,
        seeded.threads / scene.groups.len() / 2,
    )
    .await?;
    let typical = seeded
        .typical_thread
        .ok_or_else(|| anyhow!("no thread with 4 replies was seeded; seed more posts"))?;
    let targets = vec![
        // The floor: the cheapest answer the same server gives (one
        // `SELECT 1`), on the same machine at the same moment.
        Target {
            name: "health (floor)",
            path: "/api/v1/health".to_owned(),
            web: false,
            shows_posts: false,
        },
        Target {
            name: "API timeline, first page",
            path: format!("/api/v1/posts?group={group}&limit=50"),
            web: false,
            shows_posts: true,
        },
        Target {
            name: "API timeline, deep page",
            path: format!("/api/v1/posts?group={group}&limit=50&cursor={deep}"),
            web: false,
            shows_posts: true,
        },
        Target {
            name: "web group page",
            path: format!("/groups/{group}"),
            web: true,
            shows_posts: true,
        },
        Target {
            name: "API thread, 5 posts",
            path: format!("/api/v1/posts/{typical}"),
            web: false,
            shows_posts: true,
        },
        Target {
            name: "web thread page, 5 posts",
            path: format!("/posts/{typical}"),
            web: true,
            shows_posts: true,
        },
        Target {
            name: "API thread, long",
            path: format!("/api/v1/posts/{}", seeded.big_thread),
            web: false,
            shows_posts: true,
        },
        Target {
            name: "web thread page, long",
            path: format!("/posts/{}", seeded.big_thread),
            web: true,
            shows_posts: true,
        },
    ];
    let token: Arc<str> = Arc::from(scene.token.as_str());
    let mut rows = Vec::new();
    for target in &targets {
        // Every page must answer, and hold what was seeded, before it is
        // timed.
        let probe = request(&client, run, target, &token).send().await?;
        let status = probe.status();
        let body = probe.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("GET {} answered {status}: {body}", target.path);
        }
        if target.shows_posts {
            check_page(target, &body, &seeded)?;
        }
        for &c in &args.connections {
            let row = load(args, run, &client, target, &token, c).await?;
            eprintln!(
                "{} × {c}: {:.0} requests/s, p99 {:.1} ms, {} timeouts, {} errors",
                target.name,
                row.requests as f64 / row.elapsed.as_secs_f64(),
                percentile(&row.latencies_us, 0.99) as f64 / 1000.0,
                row.timeouts,
                row.errors
            );
            rows.push(row);
        }
    }
    let rss_after_kib = proc_status_kib(pid, "VmRSS");
    let hwm_after_kib = proc_status_kib(pid, "VmHWM");
    Ok(Report {
        database: db_label(&args.database).to_owned(),
        seeded,
        cold_start,
        idle_rss_kib,
        rss_after_kib,
        hwm_after_kib,
        rows,
    })
}

fn request(
    client: &reqwest::Client,
    run: &Run,
    target: &Target,
    token: &str,
) -> reqwest::RequestBuilder {
    let req = client.get(run.url(&target.path));
    if target.web {
        req.header(
            reqwest::header::COOKIE,
            format!("hearth_session={token}; hearth_csrf={CSRF}"),
        )
    } else {
        req.bearer_auth(token)
    }
}

/// A page that answers 200 but lists nothing would flatter the figures.
fn check_page(target: &Target, body: &str, seeded: &Seeded) -> anyhow::Result<()> {
    let ok = if target.web {
        body.contains("How do you pace yourselves")
    } else {
        let json: Json = serde_json::from_str(body)?;
        match json.get("items") {
            Some(items) => items.as_array().is_some_and(|a| !a.is_empty()),
            None => json["replies"].as_array().is_some_and(|r| !r.is_empty()) || seeded.posts < 2,
        }
    };
    if !ok {
        bail!(
            "GET {} does not show the seeded posts: {}",
            target.path,
            body.chars().take(300).collect::<String>()
        );
    }
    Ok(())
}

/// The cursor that starts the page `depth` threads down the group's
/// newest-first timeline, found by paging through it as a client would.
async fn deep_cursor(
    client: &reqwest::Client,
    run: &Run,
    token: &str,
    group: &str,
    depth: usize,
) -> anyhow::Result<String> {
    let mut cursor: Option<String> = None;
    let mut seen = 0usize;
    while seen < depth {
        let limit = (depth - seen).min(200);
        let mut path = format!("/api/v1/posts?group={group}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Json = client
            .get(run.url(&path))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        seen += page["items"].as_array().map(Vec::len).unwrap_or(0);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                cursor = None;
                break;
            }
        }
    }
    eprintln!("deep page: after {seen} threads");
    cursor.ok_or_else(|| anyhow!("the group has too few threads for a deep page; seed more posts"))
}

async fn load(
    args: &TimelineArgs,
    run: &Run,
    client: &reqwest::Client,
    target: &Target,
    token: &Arc<str>,
    connections: usize,
) -> anyhow::Result<Row> {
    let pid = run.pid();
    let load_avg = load_average();
    // Open the connections and warm the caches before the clock starts.
    let warm_until = Instant::now() + Duration::from_secs_f64((args.secs / 10.0).min(1.0));
    let mut warm = Vec::new();
    for _ in 0..connections {
        let req = request(client, run, target, token);
        warm.push(tokio::spawn(async move {
            while Instant::now() < warm_until {
                let Some(req) = req.try_clone() else {
                    break;
                };
                if let Ok(resp) = req.send().await {
                    let _ = resp.bytes().await;
                }
            }
        }));
    }
    for w in warm {
        let _ = w.await;
    }

    let cpu_before = proc_cpu(pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.secs);
    let mut workers = Vec::new();
    for _ in 0..connections {
        let req = request(client, run, target, token);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut timeouts, mut errors, mut bytes) = (0usize, 0usize, 0usize);
            while Instant::now() < deadline {
                let Some(req) = req.try_clone() else {
                    errors += 1;
                    break;
                };
                let sent = Instant::now();
                match req.send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        match resp.bytes().await {
                            Ok(body) if ok => bytes += body.len(),
                            Ok(_) => errors += 1,
                            Err(e) if e.is_timeout() => timeouts += 1,
                            Err(_) => errors += 1,
                        }
                    }
                    Err(e) if e.is_timeout() => timeouts += 1,
                    Err(_) => errors += 1,
                }
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            (latencies, timeouts, errors, bytes)
        }));
    }
    let mut latencies_us = Vec::new();
    let (mut timeouts, mut errors, mut bytes) = (0, 0, 0);
    for w in workers {
        let (l, t, e, b) = w.await?;
        latencies_us.extend(l);
        timeouts += t;
        errors += e;
        bytes += b;
    }
    let elapsed = started.elapsed();
    let cpu = proc_cpu(pid)
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    latencies_us.sort_unstable();
    Ok(Row {
        page: target.name,
        connections,
        requests: latencies_us.len() - timeouts - errors,
        elapsed,
        latencies_us,
        timeouts,
        errors,
        cpu,
        rss_kib: proc_status_kib(pid, "VmRSS"),
        load: load_avg,
        bytes,
    })
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.0}", k as f64 / 1024.0))
        .unwrap_or_else(|| "?".into())
}

impl Report {
    fn render(&self, args: &TimelineArgs) -> String {
        let s = &self.seeded;
        let mut out = format!(
            "Database: {}. Seeded {} posts ({} threads over {} groups, {} replies) and {} reactions in {:.1} s. \
             Long thread: {} posts. Cold start: {:.0} ms. RSS idle after start: {} MiB; after the load: {} MiB (peak {} MiB).\n\n",
            self.database,
            s.posts,
            s.threads,
            args.groups,
            s.posts - s.threads,
            s.reactions,
            s.took.as_secs_f64(),
            (args.thread_replies + 1).min(s.posts),
            self.cold_start.as_secs_f64() * 1000.0,
            mib(self.idle_rss_kib),
            mib(self.rss_after_kib),
            mib(self.hwm_after_kib),
        );
        out.push_str(
            "| page | database | connections | requests/s | p50 (ms) | p99 (ms) | max (ms) | timeouts | errors | hearth CPU ms/request | KiB/response | RSS (MiB) | load |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for r in &self.rows {
            let ms = |us: u64| format!("{:.1}", us as f64 / 1000.0);
            out.push_str(&format!(
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.page,
                self.database,
                r.connections,
                r.requests as f64 / r.elapsed.as_secs_f64(),
                ms(percentile(&r.latencies_us, 0.50)),
                ms(percentile(&r.latencies_us, 0.99)),
                ms(r.latencies_us.last().copied().unwrap_or(0)),
                r.timeouts,
                r.errors,
                r.cpu
                    .filter(|_| r.requests > 0)
                    .map(|c| format!("{:.2}", c.as_secs_f64() * 1000.0 / r.requests as f64))
                    .unwrap_or_else(|| "—".into()),
                if r.requests > 0 {
                    format!("{:.1}", r.bytes as f64 / 1024.0 / r.requests as f64)
                } else {
                    "—".into()
                },
                mib(r.rss_kib),
                r.load
                    .map(|l| format!("{l:.1}"))
                    .unwrap_or_else(|| "?".into()),
            ));
        }
        out
    }
}

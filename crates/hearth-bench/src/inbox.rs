//! `hearth-bench inbox`: how many signed activities per second one group's
//! inbox takes, how fast the answers come, what each costs in CPU and
//! memory, and how far the group's relays to its member servers fall
//! behind, measured the same way against Hearth (SQLite or PostgreSQL) and
//! a real Lemmy 0.19.20. What it measures and how to read it:
//! `docs/PERFORMANCE.md` ("Inbox load").
//!
//! ```text
//!  hearth-bench ──spawn──▶ hearth serve | lemmy_server (own database)
//!    │  open group / community
//!    ├─ fake member servers (2 by default, 25 Person actors each, own
//!    │  RSA keys) ──signed Follow──▶ group inbox ──Accept──▶ each actor
//!    │  pre-sign N Create{Page} (all cores): complete HTTP requests in memory
//!    │  warm-up: one post per server, untimed ── learn what one post brings
//!    │
//!    │  C workers, one keep-alive connection each
//!    ├──▶ POST group inbox ──▶ ack (stamped) ...for --secs
//!    │                          group ──Announce──▶ fake shared inboxes
//!    │                                  (stamped on arrival: lag = arrival − ack)
//!    └─ every 100 ms: server RSS, CPU of the server and of `postgres`;
//!       then wait for stragglers (--drain-secs) and for RSS to settle
//! ```
//!
//! The driver shares the machine with the server it measures, so the timed
//! part does as little as possible: every request (headers, signature and
//! body) is built before it, and sent over a plain HTTP/1.1 connection of
//! the worker's own with one write, the answer read into a reused buffer.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use aws_lc_rs::signature::KeyPair as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sea_orm::ConnectionTrait as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{
    Server, build_hearth, clock_ticks, commit, load_average, machine, proc_cpu, proc_status_kib,
};

/// The group (Hearth, opened by `common::writer_and_group`) or community
/// (Lemmy) everybody posts in.
const GROUP: &str = crate::common::GROUP;
const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const ACTIVITY_JSON: &str = "application/activity+json";
/// Lemmy keys servers by host name without the port, so under Lemmy each
/// fake server needs a name of its own; Hearth tells them apart by port.
const LEMMY_HOST: &str = "lemmy.test";
const SERVER_NAMES: [&str; 6] = [
    "alpha.test",
    "beta.test",
    "gamma.test",
    "delta.test",
    "epsilon.test",
    "zeta.test",
];
const LEMMY_ADMIN: &str = "lemmy";
const LEMMY_PASSWORD: &str = "lemmylemmy-a-long-one";
/// One answer taking longer than this counts as an error (Lemmy gives up
/// on an incoming activity after 9 s itself).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Measure how fast one group's inbox takes signed `Create{Page}`
/// activities from many remote actors, and how far its relays to the
/// member servers fall behind; against Hearth (SQLite, PostgreSQL) and a
/// real Lemmy 0.19.20. Prints a Markdown table on stdout; progress goes to
/// stderr.
#[derive(Debug, clap::Args)]
pub struct InboxArgs {
    /// What to measure, comma-separated: `hearth-sqlite`, `hearth-postgres`,
    /// `lemmy`. Each runs on its own, one after the other.
    #[arg(long, value_delimiter = ',', default_value = "hearth-sqlite")]
    target: Vec<Target>,

    /// Remote actors posting, spread round-robin over the fake servers.
    #[arg(long, default_value_t = 50)]
    actors: usize,

    /// Fake member servers the actors live on (each gets the group's
    /// relays once per post).
    #[arg(long, default_value_t = 2)]
    servers: usize,

    /// Concurrent connections POSTing (one keep-alive connection each).
    #[arg(long, default_value_t = 16)]
    connections: usize,

    /// Length of the timed part, in seconds (it ends sooner if the
    /// pre-signed activities run out).
    #[arg(long, default_value_t = 60.0)]
    secs: f64,

    /// Activities to pre-sign per target; by default `--max-rate` × `--secs`.
    #[arg(long)]
    activities: Option<usize>,

    /// The highest rate (activities/s) the run is prepared for: only what
    /// is pre-signed can be sent.
    #[arg(long, default_value_t = 1500.0)]
    max_rate: f64,

    /// After the load, wait up to this long for the last relays.
    #[arg(long, default_value_t = 60)]
    drain_secs: u64,

    /// Read the server's RSS again this long after the load ended (0:
    /// don't wait).
    #[arg(long, default_value_t = 60)]
    settle_secs: u64,

    /// The PostgreSQL server for `hearth-postgres` and `lemmy` (trust
    /// auth): a fresh database is created beside the one it names and
    /// dropped afterwards.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,

    /// The `hearth` binary to run. Without it, `cargo build --release -p
    /// hearth` is run into this program's own target folder and that
    /// binary is used.
    #[arg(long)]
    hearth: Option<PathBuf>,

    /// The `lemmy_server` binary (0.19.20) for the `lemmy` target; by
    /// default `$HOME/.cache/hearth/lemmy-0.19.20/bin/lemmy_server_release`
    /// (an optimised build, see `docs/PERFORMANCE.md`) if it is there, else
    /// `bin/lemmy_server` beside it (the unoptimised build the tests make).
    /// It must be built with debug assertions: otherwise Lemmy refuses the
    /// `http://` ids of loopback peers.
    #[arg(long, env = "HEARTH_LEMMY_BIN")]
    lemmy: Option<PathBuf>,

    /// Lemmy's `federation.concurrent_sends_per_instance` (its default is 1).
    #[arg(long, default_value_t = 1)]
    lemmy_concurrent_sends: u32,

    /// Have the fake servers verify the digest and signature of every
    /// relay they receive (costs driver CPU, which the server shares).
    #[arg(long)]
    verify_deliveries: bool,

    /// Bytes of HTML in each post's `content`.
    #[arg(long, default_value_t = 500)]
    content_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    HearthSqlite,
    HearthPostgres,
    Lemmy,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::HearthSqlite => "hearth-sqlite",
            Target::HearthPostgres => "hearth-postgres",
            Target::Lemmy => "lemmy",
        }
    }

    fn uses_postgres(self) -> bool {
        self != Target::HearthSqlite
    }
}

/// One line of the results table.
#[derive(Debug, Default)]
struct Row {
    target: String,
    sent: usize,
    accepted: usize,
    refused: usize,
    elapsed: Duration,
    p50: Option<Duration>,
    p99: Option<Duration>,
    max: Option<Duration>,
    /// CPU of the server process over the timed part.
    server_cpu: Option<Duration>,
    /// CPU of every `postgres` process over the timed part.
    pg_cpu: Option<Duration>,
    /// CPU of this program (load workers and fake servers) over the timed
    /// part: it shares the machine with the server it measures.
    driver_cpu: Option<Duration>,
    /// Server plus PostgreSQL CPU from the start of the load until every
    /// relay arrived (or the drain gave up).
    cpu_with_drain: Option<Duration>,
    peak_rss_kib: u64,
    end_rss_kib: Option<u64>,
    settled_rss_kib: Option<u64>,
    per_activity: f64,
    expected: usize,
    delivered: usize,
    lag_during_load: Option<Duration>,
    lag_max: Option<Duration>,
    all_delivered_after: Option<Duration>,
    duplicates: usize,
    delivery_refusals: usize,
    load: Option<f64>,
}

pub async fn run_inbox(args: InboxArgs) -> anyhow::Result<()> {
    if args.actors == 0 || args.servers == 0 || args.connections == 0 {
        bail!("--actors, --servers and --connections must be at least 1");
    }
    if args.servers > args.actors {
        bail!("--servers may not exceed --actors: every server needs an actor");
    }
    if args.target.is_empty() {
        bail!("--target needs at least one of hearth-sqlite, hearth-postgres, lemmy");
    }
    let activities = args
        .activities
        .unwrap_or((args.max_rate * args.secs).ceil() as usize)
        .max(1);
    let hearth = if args.target.iter().any(|t| *t != Target::Lemmy) {
        Some(match &args.hearth {
            Some(path) => path.clone(),
            None => build_hearth()?,
        })
    } else {
        None
    };
    let lemmy = if args.target.contains(&Target::Lemmy) {
        let path = match &args.lemmy {
            Some(path) => path.clone(),
            None => {
                let bin = PathBuf::from(std::env::var("HOME").unwrap_or_default())
                    .join(".cache/hearth/lemmy-0.19.20/bin");
                let optimised = bin.join("lemmy_server_release");
                if optimised.is_file() {
                    optimised
                } else {
                    bin.join("lemmy_server")
                }
            }
        };
        if !path.is_file() {
            bail!(
                "no Lemmy binary at {} (build one with tests/peers/lemmy/build.sh, or pass --lemmy)",
                path.display()
            );
        }
        Some(path)
    } else {
        None
    };
    if let Some(hearth) = &hearth {
        eprintln!("hearth binary: {}", hearth.display());
    }
    if let Some(lemmy) = &lemmy {
        eprintln!("lemmy binary: {}", lemmy.display());
    }
    eprintln!("{}", machine());
    match (&args.hearth, commit()) {
        (None, Some(commit)) => eprintln!("hearth built from commit {commit}"),
        (Some(_), Some(commit)) => eprintln!(
            "this checkout is at {commit}; the hearth binary given with --hearth may be from elsewhere"
        ),
        (_, None) => {}
    }

    let started = Instant::now();
    let keys = generate_keys(args.actors).await?;
    eprintln!(
        "generated {} RSA-2048 actor keys in {:.1} s",
        keys.len(),
        started.elapsed().as_secs_f64()
    );

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for &target in &args.target {
        eprintln!("\n== {} ==", target.label());
        let result = match target {
            Target::HearthSqlite | Target::HearthPostgres => {
                let Some(hearth) = &hearth else {
                    bail!("no hearth binary");
                };
                run_hearth(&args, target, hearth, &keys, activities).await
            }
            Target::Lemmy => {
                let Some(lemmy) = &lemmy else {
                    bail!("no lemmy binary");
                };
                run_lemmy(&args, lemmy, &keys, activities).await
            }
        };
        match result {
            Ok(row) => {
                if row.accepted == 0 {
                    failures.push(format!("{}: no activity was accepted", row.target));
                }
                if row.delivery_refusals > 0 {
                    failures.push(format!(
                        "{}: the fake servers refused {} relays",
                        row.target, row.delivery_refusals
                    ));
                }
                if row.accepted > 0 && row.per_activity == 0.0 {
                    failures.push(format!(
                        "{}: the warm-up posts were relayed to nobody",
                        row.target
                    ));
                }
                rows.push(row);
            }
            Err(e) => {
                eprintln!("{}: {e:#}", target.label());
                failures.push(format!("{}: {e:#}", target.label()));
            }
        }
    }

    println!(
        "Inbox load: {} actors on {} servers, {} connections, {} s, {} pre-signed activities per target.\n",
        args.actors, args.servers, args.connections, args.secs, activities
    );
    print!("{}", table(&rows));
    print!("{}", ratios(&rows));
    if !failures.is_empty() {
        bail!("the run is not usable:\n{}", failures.join("\n"));
    }
    Ok(())
}

// ---- the targets ----

/// What the driver needs to know about the server under load.
struct Under {
    label: &'static str,
    pid: u32,
    /// Where to connect (loopback).
    addr: SocketAddr,
    /// The `Host` the requests carry and sign.
    host: String,
    /// The group's (or community's) actor id.
    group: String,
    /// Path of the group's inbox.
    inbox_path: String,
    uses_postgres: bool,
}

async fn run_hearth(
    args: &InboxArgs,
    target: Target,
    hearth: &Path,
    keys: &[ActorKey],
    activities: usize,
) -> anyhow::Result<Row> {
    let database = if target == Target::HearthPostgres {
        args.database_url.as_str()
    } else {
        "sqlite"
    };
    let mut server = Server::start(hearth, database).await?;
    let result = async {
        let (_, group) = crate::common::writer_and_group(&server).await?;
        let inbox = url::Url::parse(&format!("{group}/inbox"))
            .with_context(|| format!("group url {group}"))?;
        let under = Under {
            label: target.label(),
            pid: server.pid(),
            addr: SocketAddr::from(([127, 0, 0, 1], server.port)),
            host: format!("localhost:{}", server.port),
            group,
            inbox_path: inbox.path().to_owned(),
            uses_postgres: target.uses_postgres(),
        };
        // Hearth in test mode takes `http://localhost:PORT` actors, and
        // tells servers apart by port.
        let names = vec!["localhost".to_owned(); args.servers];
        measure(args, &under, names, keys, activities).await
    }
    .await;
    if result.is_err() {
        eprintln!("hearth log (last lines):\n{}", server.log_tail(40));
    }
    server.stop().await;
    result
}

async fn run_lemmy(
    args: &InboxArgs,
    binary: &Path,
    keys: &[ActorKey],
    activities: usize,
) -> anyhow::Result<Row> {
    let names: Vec<String> = (0..args.servers).map(server_name).collect();
    let mut lemmy = Lemmy::start(
        binary,
        &args.database_url,
        &names,
        args.lemmy_concurrent_sends,
    )
    .await?;
    let result = async {
        let community = lemmy.open_community().await?;
        let inbox = url::Url::parse(&format!("{community}/inbox"))
            .with_context(|| format!("community url {community}"))?;
        let under = Under {
            label: Target::Lemmy.label(),
            pid: lemmy.pid(),
            addr: SocketAddr::from(([127, 0, 0, 1], lemmy.port)),
            host: format!("{LEMMY_HOST}:{}", lemmy.port),
            group: community,
            inbox_path: inbox.path().to_owned(),
            uses_postgres: true,
        };
        measure(args, &under, names.clone(), keys, activities).await
    }
    .await;
    if result.is_err() {
        eprintln!("lemmy log (last lines):\n{}", lemmy.log_tail(40));
    }
    lemmy.stop().await;
    result
}

fn server_name(i: usize) -> String {
    SERVER_NAMES
        .get(i)
        .map(|n| (*n).to_owned())
        .unwrap_or_else(|| format!("server{i}.test"))
}

// ---- one measurement ----

async fn measure(
    args: &InboxArgs,
    under: &Under,
    names: Vec<String>,
    keys: &[ActorKey],
    activities: usize,
) -> anyhow::Result<Row> {
    let load = load_average();
    eprintln!(
        "load average (1 min) at start: {}",
        load.map(|l| format!("{l:.2}"))
            .unwrap_or_else(|| "?".into())
    );
    // The first `servers` activities (one from each server) are the
    // untimed warm-up; the rest are the load.
    let warmup = args.servers;
    let total = warmup + activities;
    let fleet = Fleet::start(
        names,
        keys,
        args.actors,
        total,
        warmup,
        args.verify_deliveries,
    )
    .await?;

    let started = Instant::now();
    follow_all(&fleet, under, keys).await?;
    eprintln!(
        "{} actors on {} servers follow {} ({:.1} s)",
        args.actors,
        args.servers,
        under.group,
        started.elapsed().as_secs_f64()
    );

    let requests = presign(&fleet, under, keys, total, args.content_bytes).await?;
    let acks: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());

    // Warm-up: learn what one post brings to the member servers, so the
    // load's deliveries can be counted against it.
    let mut conn = Conn::open(under.addr).await?;
    for i in 0..warmup {
        let sent = Instant::now();
        let status = conn
            .exchange(&requests[i])
            .await
            .with_context(|| format!("warm-up POST to {}", under.inbox_path))?;
        if !(200..300).contains(&status.0) {
            bail!(
                "the warm-up post {i} was answered {} (first bytes: {})",
                status.0,
                conn.head_text()
            );
        }
        acks[i].store(fleet.since_epoch(Instant::now()), Ordering::Relaxed);
        eprintln!(
            "warm-up post {i} answered {} in {:.0} ms",
            status.0,
            sent.elapsed().as_secs_f64() * 1000.0
        );
    }
    drop(conn);
    let per_activity = fleet.settle_warmup(warmup).await;
    eprintln!("each post was relayed as: {}", fleet.warmup_summary());
    if per_activity == 0.0 {
        eprintln!("the warm-up posts brought no relays within 30 s");
    }

    // The timed part.
    let pid = under.pid;
    let pg_before = under.uses_postgres.then(PgCpu::scan);
    let cpu_before = proc_cpu(pid);
    let driver_before = proc_cpu(std::process::id());
    let sampling = Arc::new(AtomicBool::new(true));
    let samples = Arc::new(Mutex::new(Vec::<(Instant, u64)>::new()));
    let sampler = tokio::spawn({
        let sampling = sampling.clone();
        let samples = samples.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while sampling.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                    lock(&samples).push((Instant::now(), rss));
                }
            }
        }
    });
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(warmup));
    let load_start = Instant::now();
    let deadline = load_start + Duration::from_secs_f64(args.secs);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        workers.spawn(worker(
            under.addr,
            requests.clone(),
            next.clone(),
            deadline,
            acks.clone(),
            fleet.clone(),
        ));
    }
    let progress = tokio::spawn({
        let fleet = fleet.clone();
        let next = next.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!(
                    "  {:>4.0} s: {} sent, {} relays arrived, RSS {} MiB",
                    load_start.elapsed().as_secs_f64(),
                    next.load(Ordering::Relaxed).saturating_sub(warmup),
                    fleet.delivered_main.load(Ordering::Relaxed),
                    mib(proc_status_kib(pid, "VmRSS"))
                );
            }
        }
    });
    let mut stats = WorkerStats::default();
    let mut load_end = load_start;
    while let Some(done) = workers.join_next().await {
        let (s, ended) = done.context("a load worker")?;
        stats.merge(s);
        load_end = load_end.max(ended);
    }
    progress.abort();
    let cpu_after = proc_cpu(pid);
    let driver_cpu = proc_cpu(std::process::id())
        .zip(driver_before)
        .map(|(a, b)| a.saturating_sub(b));
    let pg_after = pg_before.as_ref().map(|b| b.delta_since());
    let end_rss_kib = proc_status_kib(pid, "VmRSS");
    let elapsed = load_end - load_start;
    let accepted: usize = stats
        .statuses
        .iter()
        .filter(|(s, _)| (200..300).contains(*s))
        .map(|(_, n)| n)
        .sum();
    let sent: usize = stats.statuses.values().sum();
    eprintln!(
        "load done: {sent} sent, {accepted} accepted in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    if accepted < sent {
        eprintln!("answers: {}", status_breakdown(&stats.statuses));
        for e in stats.errors.iter().take(5) {
            eprintln!("  {e}");
        }
    }

    // Stragglers: every accepted post should reach every member server.
    let expected = (accepted as f64 * per_activity).round() as usize;
    let drain_deadline = load_end + Duration::from_secs(args.drain_secs);
    while fleet.delivered_main.load(Ordering::Relaxed) < expected && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = Instant::now();
    let cpu_drained = proc_cpu(pid);
    let pg_drained = pg_before.as_ref().map(|b| b.delta_since());
    let delivered = fleet.delivered_main.load(Ordering::Relaxed);
    if delivered < expected {
        eprintln!(
            "{delivered} of {expected} relays arrived within {} s of the load's end",
            args.drain_secs
        );
    }
    let settled_rss_kib = if args.settle_secs > 0 {
        let at = load_end + Duration::from_secs(args.settle_secs);
        if at > Instant::now() {
            eprintln!(
                "waiting {:.0} s for the server's memory to settle",
                (at - Instant::now()).as_secs_f64()
            );
            tokio::time::sleep_until(at.into()).await;
        }
        proc_status_kib(pid, "VmRSS")
    } else {
        None
    };
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let peak_rss_kib = lock(&samples)
        .iter()
        .filter(|(at, _)| *at <= drained)
        .map(|(_, rss)| *rss)
        .max()
        .unwrap_or(0);

    let lags = fleet.lags(&acks, load_end);
    let mut latencies = std::mem::take(&mut stats.latencies_us);
    latencies.sort_unstable();
    let pick = |q: f64| -> Option<Duration> {
        if latencies.is_empty() {
            return None;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies
            .get(i)
            .map(|us| Duration::from_micros(u64::from(*us)))
    };
    let server_cpu = cpu_after.zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
    let cpu_with_drain = cpu_drained
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b) + pg_drained.unwrap_or_default());
    let refusals = fleet.refused.load(Ordering::Relaxed);
    if refusals > 0 {
        eprintln!(
            "relays refused by the fake servers: {:?}",
            lock(&fleet.refusals).iter().take(10).collect::<Vec<_>>()
        );
    }
    eprintln!(
        "actor documents fetched from the fake servers: {} (for {} actors)",
        fleet.actor_fetches.load(Ordering::Relaxed),
        fleet.actors
    );
    let others = lock(&fleet.other_kinds).clone();
    if !others.is_empty() {
        eprintln!("other activities the fake servers received: {others:?}");
    }
    Ok(Row {
        target: under.label.to_owned(),
        sent,
        accepted,
        refused: sent - accepted,
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        max: latencies
            .last()
            .map(|us| Duration::from_micros(u64::from(*us))),
        server_cpu,
        pg_cpu: pg_after,
        driver_cpu,
        cpu_with_drain,
        peak_rss_kib,
        end_rss_kib,
        settled_rss_kib,
        per_activity,
        expected,
        delivered,
        lag_during_load: lags.during_load,
        lag_max: lags.max,
        all_delivered_after: (delivered >= expected && expected > 0)
            .then(|| {
                lags.last_arrival
                    .map(|at| at.saturating_duration_since(load_end))
            })
            .flatten(),
        duplicates: fleet.duplicates.load(Ordering::Relaxed),
        delivery_refusals: refusals,
        load,
    })
}

/// Every actor follows the group with a signed `Follow`, and this waits
/// until each got the `Accept`. Lemmy's queue starts a server it has not
/// sent to before at its newest activity, so an early `Accept` may never
/// come: a `Follow` still unanswered after 8 s is sent again (new id).
async fn follow_all(fleet: &Arc<Fleet>, under: &Under, keys: &[ActorKey]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("http://{}{}", under.addr, under.inbox_path);
    let deadline = Instant::now() + Duration::from_secs(90);
    for attempt in 0.. {
        let waiting: Vec<usize> = (0..fleet.actors)
            .filter(|&a| !fleet.follow_accepted[a].load(Ordering::Relaxed))
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {} actors got no Accept from {}",
                waiting.len(),
                fleet.actors,
                under.group
            );
        }
        if attempt > 0 {
            eprintln!("{} Follows unanswered; sending them again", waiting.len());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in waiting.chunks(waiting.len().div_ceil(8)) {
            let chunk = chunk.to_vec();
            let client = client.clone();
            let url = url.clone();
            let fleet = fleet.clone();
            let host = under.host.clone();
            let path = under.inbox_path.clone();
            let group = under.group.clone();
            let keys: Vec<ActorKey> = chunk.iter().map(|&a| keys[a].clone()).collect();
            tasks.spawn(async move {
                for (a, key) in chunk.into_iter().zip(keys) {
                    let actor = fleet.actor_id(a);
                    let follow = json!({
                        "@context": AS_CONTEXT,
                        "id": format!("{}/activities/follow/{attempt}/{a}", fleet.base_of(a)),
                        "type": "Follow",
                        "actor": actor,
                        "object": group,
                        "to": [group],
                    });
                    let body = serde_json::to_vec(&follow)?;
                    let date = httpdate::fmt_http_date(SystemTime::now());
                    let headers = sign(&key, &actor, &host, &path, &date, &body)?;
                    let mut req = client.post(&url).body(body);
                    for (name, value) in headers {
                        req = req.header(name, value);
                    }
                    let resp = req
                        .send()
                        .await
                        .with_context(|| format!("Follow by {actor}"))?;
                    let status = resp.status().as_u16();
                    if !(200..300).contains(&status) {
                        let text = resp.text().await.unwrap_or_default();
                        bail!("the Follow by {actor} was answered {status}: {text}");
                    }
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.context("a follow task")??;
        }
        let wait_until = Instant::now() + Duration::from_secs(8);
        while Instant::now() < wait_until
            && (0..fleet.actors).any(|a| !fleet.follow_accepted[a].load(Ordering::Relaxed))
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

// ---- keys and signatures ----

#[derive(Clone)]
struct ActorKey {
    pair: Arc<aws_lc_rs::rsa::KeyPair>,
    public_pem: Arc<str>,
}

/// One RSA-2048 key per actor, generated on every core (each takes a
/// while). aws-lc-rs, as Hearth signs: about four times as fast as the
/// `rsa` crate, which matters for pre-signing.
async fn generate_keys(n: usize) -> anyhow::Result<Vec<ActorKey>> {
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1)
            .min(n.max(1));
        let next = AtomicUsize::new(0);
        let keys: Mutex<Vec<Option<ActorKey>>> = Mutex::new(vec![None; n]);
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<()> {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                return Ok(());
                            }
                            let pair =
                                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                                    .map_err(|e| anyhow!("generate an RSA key: {e}"))?;
                            // aws-lc-rs gives PKCS#1; actors publish SPKI.
                            let public_pem =
                                RsaPublicKey::from_pkcs1_der(pair.public_key().as_ref())?
                                    .to_public_key_pem(LineEnding::LF)?;
                            lock(&keys)[i] = Some(ActorKey {
                                pair: Arc::new(pair),
                                public_pem: public_pem.into(),
                            });
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow!("a key generation thread panicked"))??;
            }
            Ok(())
        })?;
        let keys = keys.into_inner().unwrap_or_else(|e| e.into_inner());
        keys.into_iter()
            .map(|k| k.ok_or_else(|| anyhow!("a key was not generated")))
            .collect()
    })
    .await?
}

/// The `Host`, `Date`, `Digest`, `Content-Type` and `Signature` headers of
/// a POST of `body` to `path`, signed draft-cavage rsa-sha256 the way
/// Mastodon and Lemmy sign (request target, host, date, digest).
fn sign(
    key: &ActorKey,
    actor: &str,
    host: &str,
    path: &str,
    date: &str,
    body: &[u8],
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let digest = format!("SHA-256={}", B64.encode(Sha256::digest(body)));
    let signing =
        format!("(request-target): post {path}\nhost: {host}\ndate: {date}\ndigest: {digest}");
    let mut signature = vec![0; key.pair.public_modulus_len()];
    key.pair
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            signing.as_bytes(),
            &mut signature,
        )
        .map_err(|e| anyhow!("sign as {actor}: {e}"))?;
    Ok(vec![
        ("host", host.to_owned()),
        ("date", date.to_owned()),
        ("digest", digest),
        ("content-type", ACTIVITY_JSON.to_owned()),
        (
            "signature",
            format!(
                "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                B64.encode(signature)
            ),
        ),
    ])
}

/// Every activity of the run as the complete bytes of its HTTP/1.1
/// request, signed on every core; activity `n` is by actor `n % actors`.
async fn presign(
    fleet: &Arc<Fleet>,
    under: &Under,
    keys: &[ActorKey],
    total: usize,
    content_bytes: usize,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1);
    let published = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // One Date for all: the run is minutes long, and both Hearth and Lemmy
    // take a Date up to an hour old.
    let date = httpdate::fmt_http_date(SystemTime::now());
    let job = {
        let fleet = fleet.clone();
        let keys = keys.to_vec();
        let host = under.host.clone();
        let path = under.inbox_path.clone();
        let group = under.group.clone();
        let done = done.clone();
        move || -> anyhow::Result<Vec<Vec<u8>>> {
            let chunk = total.div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let range = (t * chunk).min(total)..((t + 1) * chunk).min(total);
                        let (fleet, keys, host, path, group, published, date, done) = (
                            &fleet, &keys, &host, &path, &group, &published, &date, &done,
                        );
                        scope.spawn(move || -> anyhow::Result<Vec<Vec<u8>>> {
                            let mut out = Vec::with_capacity(range.len());
                            for n in range {
                                let a = n % fleet.actors;
                                let body =
                                    create_page(fleet, a, n, group, published, content_bytes)?;
                                let actor = fleet.actor_id(a);
                                let headers = sign(&keys[a], &actor, host, path, date, &body)?;
                                out.push(http_request(path, &headers, &body));
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(out)
                        })
                    })
                    .collect();
                let mut all = Vec::with_capacity(total);
                for h in handles {
                    all.extend(
                        h.join()
                            .map_err(|_| anyhow!("a signing thread panicked"))??,
                    );
                }
                Ok(all)
            })
        }
    };
    let handle = tokio::task::spawn_blocking(job);
    let report = tokio::spawn({
        let done = done.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = done.load(Ordering::Relaxed);
                eprintln!(
                    "  pre-signed {n} of {total} ({:.0}/s)",
                    n as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
    });
    let requests = handle.await;
    report.abort();
    let requests = requests.context("the signing task")??;
    let bytes: usize = requests.iter().map(Vec::len).sum();
    eprintln!(
        "pre-signed {total} Create{{Page}} in {:.1} s ({:.0}/s on {threads} threads, {:.0} MiB of requests)",
        started.elapsed().as_secs_f64(),
        total as f64 / started.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    Ok(requests)
}

/// A new thread by actor `a` in `group`, as a Lemmy (or Hearth) member's
/// server sends it to the group: `to` the group and the public, `audience`
/// the group, a `Page` with a title, HTML content and its Markdown source.
fn create_page(
    fleet: &Fleet,
    a: usize,
    n: usize,
    group: &str,
    published: &str,
    content_bytes: usize,
) -> anyhow::Result<Vec<u8>> {
    const FILLER: &str = "Pacing helps: I plan one task in the morning, rest after lunch, and keep the evening free. Some weeks that is still too much, and that is fine. ";
    let actor = fleet.actor_id(a);
    let base = fleet.base_of(a);
    let mut text = format!("Post {n} from member{a}. ");
    while text.len() + 7 < content_bytes {
        text.push_str(FILLER);
    }
    let cut = (content_bytes.saturating_sub(7)).min(text.len());
    let cut = (0..=cut)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text.truncate(cut);
    let page = json!({
        "id": format!("{base}/post/{n}"),
        "type": "Page",
        "attributedTo": actor,
        "to": [group, AS_PUBLIC],
        "cc": [],
        "audience": group,
        "name": format!("Bench thread {n}: how do you pace a bad day?"),
        "content": format!("<p>{text}</p>"),
        "mediaType": "text/html",
        "source": {"content": text, "mediaType": "text/markdown"},
        "published": published,
    });
    let create = json!({
        "@context": AS_CONTEXT,
        "id": format!("{base}/activities/create/{n}"),
        "type": "Create",
        "actor": actor,
        "to": [group, AS_PUBLIC],
        "cc": [],
        "audience": group,
        "object": page,
    });
    Ok(serde_json::to_vec(&create)?)
}

fn http_request(path: &str, headers: &[(&'static str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(
        head,
        "user-agent: hearth-bench\r\naccept: */*\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out
}

// ---- the load ----

#[derive(Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    /// Answers by status; 0 counts requests that got no answer.
    statuses: BTreeMap<u16, usize>,
    errors: Vec<String>,
}

impl WorkerStats {
    fn merge(&mut self, other: WorkerStats) {
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        if self.errors.len() < 20 {
            self.errors.extend(other.errors.into_iter().take(5));
        }
    }
}

/// POST the next pre-signed activity until the deadline or until they run
/// out; returns its figures and when its last answer came.
async fn worker(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    deadline: Instant,
    acks: Arc<Vec<AtomicU64>>,
    fleet: Arc<Fleet>,
) -> (WorkerStats, Instant) {
    let mut stats = WorkerStats {
        latencies_us: Vec::with_capacity(requests.len() / 4),
        ..WorkerStats::default()
    };
    let mut conn: Option<Conn> = None;
    let mut last = Instant::now();
    loop {
        if Instant::now() >= deadline {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(request) = requests.get(i) else {
            break;
        };
        let sent = Instant::now();
        let answer = async {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => conn.insert(Conn::open(addr).await?),
            };
            c.exchange(request).await
        };
        let result = match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
            Ok(result) => result,
            Err(_) => Err(anyhow!("no answer within {} s", REQUEST_TIMEOUT.as_secs())),
        };
        last = Instant::now();
        match result {
            Ok((status, keep_alive)) => {
                if (200..300).contains(&status) {
                    acks[i].store(fleet.since_epoch(last), Ordering::Relaxed);
                }
                stats
                    .latencies_us
                    .push(u32::try_from((last - sent).as_micros()).unwrap_or(u32::MAX));
                *stats.statuses.entry(status).or_default() += 1;
                if !(200..300).contains(&status) && stats.errors.len() < 5 {
                    let text = conn.as_ref().map(Conn::head_text).unwrap_or_default();
                    stats.errors.push(format!("HTTP {status}: {text}"));
                }
                if !keep_alive {
                    conn = None;
                }
            }
            Err(e) => {
                conn = None;
                *stats.statuses.entry(0).or_default() += 1;
                if stats.errors.len() < 5 {
                    stats.errors.push(format!("{e:#}"));
                }
            }
        }
    }
    (stats, last)
}

fn status_breakdown(statuses: &BTreeMap<u16, usize>) -> String {
    statuses
        .iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("{n} without an answer")
            } else {
                format!("{n} × {s}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A minimal HTTP/1.1 client connection: one request at a time, the
/// answer read into a buffer kept across requests. Enough for inbox
/// answers (`Content-Length` or chunked bodies), and nothing allocated per
/// request once the buffer has grown.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        })
    }

    /// Send `request`, read the whole answer: its status, and whether the
    /// connection may be used again.
    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, bool)> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            if self.buf.len() > 64 * 1024 {
                bail!("an answer's head is longer than 64 KiB");
            }
            self.read_more().await?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let mut keep_alive = !head.close;
        if head.chunked {
            let mut at = head_end;
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf[at..], b"\r\n") {
                        break at + i;
                    }
                    self.read_more().await?;
                };
                let line = std::str::from_utf8(&self.buf[at..line_end])?;
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                    .with_context(|| format!("bad chunk size {line:?}"))?;
                at = line_end + 2;
                if size == 0 {
                    // Trailers (if any) end with an empty line.
                    loop {
                        if self.buf[at..].starts_with(b"\r\n")
                            || find(&self.buf[at..], b"\r\n\r\n").is_some()
                        {
                            break;
                        }
                        self.read_more().await?;
                    }
                    break;
                }
                while self.buf.len() < at + size + 2 {
                    self.read_more().await?;
                }
                at += size + 2;
            }
        } else if let Some(length) = head.length {
            while self.buf.len() < head_end + length {
                self.read_more().await?;
            }
        } else if !(head.status == 204 || head.status == 304 || head.status < 200) {
            // No length: the body ends with the connection.
            keep_alive = false;
            loop {
                let before = self.buf.len();
                self.buf.reserve(8 * 1024);
                if self.stream.read_buf(&mut self.buf).await? == 0 || self.buf.len() == before {
                    break;
                }
            }
        }
        Ok((head.status, keep_alive))
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        self.buf.reserve(8 * 1024);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            bail!("the server closed the connection mid-answer");
        }
        Ok(())
    }

    /// The last answer's first bytes, for error messages.
    fn head_text(&self) -> String {
        let end = self.buf.len().min(300);
        String::from_utf8_lossy(&self.buf[..end]).replace("\r\n", " | ")
    }
}

struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    close: bool,
}

fn parse_head(head: &[u8]) -> anyhow::Result<Head> {
    let text = std::str::from_utf8(head).context("an answer's head is not text")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line {status_line:?}"))?;
    let mut parsed = Head {
        status,
        length: None,
        chunked: false,
        close: version == "HTTP/1.0",
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            parsed.length = Some(value.parse().context("bad content-length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            parsed.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                parsed.close = true;
            } else if value.contains("keep-alive") {
                parsed.close = false;
            }
        }
    }
    Ok(parsed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---- the fake member servers ----

/// Relays of a post, by what they wrap.
const KIND_CREATE: u8 = 1;
const KIND_PAGE: u8 = 2;
const KIND_OTHER_ANNOUNCE: u8 = 4;
const KIND_OTHER: u8 = 8;
const KINDS: [(u8, &str); 4] = [
    (KIND_CREATE, "Announce{Create}"),
    (KIND_PAGE, "Announce{Page}"),
    (KIND_OTHER_ANNOUNCE, "Announce{other}"),
    (KIND_OTHER, "other"),
];

/// One relay that arrived: which post, what kind, when (ns since the
/// fleet's epoch).
#[derive(Clone, Copy)]
struct Arrival {
    index: u32,
    kind: u8,
    at: u64,
}

#[derive(Default)]
struct ServerLog {
    /// Per post, the kinds already received (a second one is a duplicate).
    seen: Vec<u8>,
    arrivals: Vec<Arrival>,
}

/// The fake member servers of one measurement: each listens on its own
/// loopback port, hosts its share of the actors, and stamps and counts
/// every relay it gets.
struct Fleet {
    epoch: Instant,
    actors: usize,
    /// `http://NAME:PORT` of each server.
    bases: Vec<String>,
    docs: Vec<String>,
    follow_accepted: Vec<AtomicBool>,
    logs: Vec<Mutex<ServerLog>>,
    warmup: usize,
    delivered_main: AtomicUsize,
    delivered_warmup: AtomicUsize,
    duplicates: AtomicUsize,
    refused: AtomicUsize,
    refusals: Mutex<Vec<String>>,
    other_kinds: Mutex<BTreeMap<String, usize>>,
    /// Actor documents served (the server under load fetching keys).
    actor_fetches: AtomicUsize,
    verifier: Option<Verifier>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

#[derive(Clone)]
struct Served {
    fleet: Arc<Fleet>,
    server: usize,
}

impl Fleet {
    async fn start(
        names: Vec<String>,
        keys: &[ActorKey],
        actors: usize,
        total: usize,
        warmup: usize,
        verify: bool,
    ) -> anyhow::Result<Arc<Fleet>> {
        let mut listeners = Vec::new();
        let mut bases = Vec::new();
        for name in &names {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .context("bind a fake server on loopback")?;
            bases.push(format!("http://{name}:{}", listener.local_addr()?.port()));
            listeners.push(listener);
        }
        let servers = names.len();
        let published = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let docs = (0..actors)
            .map(|a| {
                let base = &bases[a % servers];
                let id = format!("{base}/users/member{a}");
                json!({
                    "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
                    "id": id,
                    "type": "Person",
                    "preferredUsername": format!("member{a}"),
                    "name": format!("Member {a}"),
                    "inbox": format!("{id}/inbox"),
                    "outbox": format!("{id}/outbox"),
                    "endpoints": {"sharedInbox": format!("{base}/inbox")},
                    "publicKey": {
                        "id": format!("{id}#main-key"),
                        "owner": id,
                        "publicKeyPem": &*keys[a].public_pem,
                    },
                    "manuallyApprovesFollowers": false,
                    "url": id,
                    "published": published,
                })
                .to_string()
            })
            .collect();
        let fleet = Arc::new(Fleet {
            epoch: Instant::now(),
            actors,
            bases,
            docs,
            follow_accepted: (0..actors).map(|_| AtomicBool::new(false)).collect(),
            logs: (0..servers)
                .map(|_| {
                    Mutex::new(ServerLog {
                        seen: vec![0; total],
                        arrivals: Vec::with_capacity(total * 2),
                    })
                })
                .collect(),
            warmup,
            delivered_main: AtomicUsize::new(0),
            delivered_warmup: AtomicUsize::new(0),
            duplicates: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            refusals: Mutex::new(Vec::new()),
            other_kinds: Mutex::new(BTreeMap::new()),
            actor_fetches: AtomicUsize::new(0),
            verifier: verify.then(Verifier::new).transpose()?,
            tasks: Mutex::new(Vec::new()),
        });
        for (server, listener) in listeners.into_iter().enumerate() {
            let app = Router::new()
                .route("/users/{name}", get(actor_doc))
                .route("/users/{name}/outbox", get(outbox))
                .route("/users/{name}/inbox", post(inbox_with_name))
                .route("/inbox", post(inbox))
                .route("/.well-known/webfinger", get(webfinger))
                .route("/.well-known/nodeinfo", get(nodeinfo_links))
                .route("/nodeinfo/2.1", get(nodeinfo))
                .with_state(Served {
                    fleet: fleet.clone(),
                    server,
                });
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            lock(&fleet.tasks).push(task);
        }
        Ok(fleet)
    }

    fn since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn base_of(&self, actor: usize) -> &str {
        &self.bases[actor % self.bases.len()]
    }

    fn actor_id(&self, actor: usize) -> String {
        format!("{}/users/member{actor}", self.base_of(actor))
    }

    /// The post an id of ours names: `BASE/activities/create/N` or
    /// `BASE/post/N`.
    fn post_index(&self, id: &str) -> Option<usize> {
        for base in &self.bases {
            let Some(rest) = id.strip_prefix(base.as_str()) else {
                continue;
            };
            let Some(n) = rest
                .strip_prefix("/activities/create/")
                .or_else(|| rest.strip_prefix("/post/"))
            else {
                continue;
            };
            if let Ok(n) = n.parse() {
                return Some(n);
            }
        }
        None
    }

    /// The actor a `Follow` id of ours (`BASE/activities/follow/TRY/A`) is by.
    fn follow_actor(&self, id: &str) -> Option<usize> {
        let rest = self
            .bases
            .iter()
            .find_map(|b| id.strip_prefix(b.as_str()))?;
        let rest = rest.strip_prefix("/activities/follow/")?;
        rest.rsplit('/').next()?.parse().ok()
    }

    fn record(&self, server: usize, index: usize, kind: u8, at: u64) {
        let mut log = lock(&self.logs[server]);
        let Some(seen) = log.seen.get_mut(index) else {
            return;
        };
        if *seen & kind != 0 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *seen |= kind;
        log.arrivals.push(Arrival {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            kind,
            at,
        });
        drop(log);
        if index < self.warmup {
            self.delivered_warmup.fetch_add(1, Ordering::Relaxed);
        } else {
            self.delivered_main.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn refuse(&self, reason: String) -> Response {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let mut refusals = lock(&self.refusals);
        if refusals.len() < 100 {
            refusals.push(reason.clone());
        }
        (StatusCode::UNAUTHORIZED, reason).into_response()
    }

    /// Wait until the warm-up posts' relays stop coming (none for 3 s after
    /// at least one, or 30 s): relays per post.
    async fn settle_warmup(&self, warmup: usize) -> f64 {
        let started = Instant::now();
        let mut last_count = 0;
        let mut last_change = Instant::now();
        loop {
            let count = self.delivered_warmup.load(Ordering::Relaxed);
            if count != last_count {
                last_count = count;
                last_change = Instant::now();
            }
            let quiet = last_change.elapsed() > Duration::from_secs(3);
            if (count > 0 && quiet) || started.elapsed() > Duration::from_secs(30) {
                return count as f64 / warmup.max(1) as f64;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the warm-up posts brought, per server and kind.
    fn warmup_summary(&self) -> String {
        let mut parts = Vec::new();
        for (s, log) in self.logs.iter().enumerate() {
            let log = lock(log);
            for (bit, name) in KINDS {
                let n = log
                    .arrivals
                    .iter()
                    .filter(|a| (a.index as usize) < self.warmup && a.kind == bit)
                    .count();
                if n > 0 {
                    parts.push(format!(
                        "{n} × {name} to {}",
                        self.bases[s].trim_start_matches("http://")
                    ));
                }
            }
        }
        if parts.is_empty() {
            return "nothing".into();
        }
        format!(
            "{} (for {} posts, one from each server)",
            parts.join(", "),
            self.warmup
        )
    }

    fn lags(&self, acks: &[AtomicU64], load_end: Instant) -> Lags {
        let end = self.since_epoch(load_end);
        let mut lags = Lags::default();
        let mut last = 0u64;
        for log in &self.logs {
            for a in lock(log).arrivals.iter() {
                let index = a.index as usize;
                if index < self.warmup {
                    continue;
                }
                let ack = acks.get(index).map_or(0, |x| x.load(Ordering::Relaxed));
                if ack == 0 {
                    continue;
                }
                let lag = Duration::from_nanos(a.at.saturating_sub(ack));
                lags.max = lags.max.max(Some(lag));
                if a.at <= end {
                    lags.during_load = lags.during_load.max(Some(lag));
                }
                last = last.max(a.at);
            }
        }
        if last > 0 {
            lags.last_arrival = Some(self.epoch + Duration::from_nanos(last));
        }
        lags
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

#[derive(Default)]
struct Lags {
    during_load: Option<Duration>,
    max: Option<Duration>,
    last_arrival: Option<Instant>,
}

/// What the fake servers read of a relay: only the ids and types.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    object: Option<Inner<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Inner<'a> {
    Id(#[serde(borrow)] Cow<'a, str>),
    Object(#[serde(borrow)] InnerObject<'a>),
}

#[derive(Deserialize)]
struct InnerObject<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    object: Option<Box<Inner<'a>>>,
}

impl Inner<'_> {
    fn id(&self) -> Option<&str> {
        match self {
            Inner::Id(id) => Some(id),
            Inner::Object(o) => o.id.as_deref(),
        }
    }
}

async fn inbox_with_name(
    State(s): State<Served>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    take(s, headers, body, &format!("/users/{name}/inbox")).await
}

async fn inbox(State(s): State<Served>, headers: HeaderMap, body: Bytes) -> Response {
    take(s, headers, body, "/inbox").await
}

/// Stamp, (optionally verify,) classify and count one POST to a fake inbox.
async fn take(s: Served, headers: HeaderMap, body: Bytes, path: &str) -> Response {
    let at = s.fleet.since_epoch(Instant::now());
    let fleet = &s.fleet;
    if let Some(verifier) = &fleet.verifier
        && let Err(reason) = verifier.verify(path, &headers, &body).await
    {
        return fleet.refuse(format!("{}{path}: {reason}", fleet.bases[s.server]));
    }
    let Ok(incoming) = serde_json::from_slice::<Incoming>(&body) else {
        return fleet.refuse(format!(
            "{}: a POST that is not an activity",
            fleet.bases[s.server]
        ));
    };
    let kind = incoming.kind.as_deref().unwrap_or("");
    match (kind, &incoming.object) {
        ("Announce", Some(object)) => {
            let (bit, index) = match object {
                Inner::Id(id) => (KIND_PAGE, fleet.post_index(id)),
                Inner::Object(o) => match o.kind.as_deref() {
                    Some("Create") => (
                        KIND_CREATE,
                        o.object
                            .as_deref()
                            .and_then(Inner::id)
                            .and_then(|id| fleet.post_index(id))
                            .or_else(|| o.id.as_deref().and_then(|id| fleet.post_index(id))),
                    ),
                    Some("Page" | "Article" | "Note") => (
                        KIND_PAGE,
                        o.id.as_deref().and_then(|id| fleet.post_index(id)),
                    ),
                    _ => (
                        KIND_OTHER_ANNOUNCE,
                        o.id.as_deref().and_then(|id| fleet.post_index(id)),
                    ),
                },
            };
            match index {
                Some(index) => fleet.record(s.server, index, bit, at),
                None => note_other(fleet, "Announce of something else"),
            }
        }
        ("Accept", Some(object)) => match object.id().and_then(|id| fleet.follow_actor(id)) {
            Some(a) if a < fleet.actors => fleet.follow_accepted[a].store(true, Ordering::Relaxed),
            _ => note_other(fleet, "Accept of something else"),
        },
        (kind, object) => {
            match object
                .as_ref()
                .and_then(Inner::id)
                .and_then(|id| fleet.post_index(id))
            {
                Some(index) => fleet.record(s.server, index, KIND_OTHER, at),
                None => note_other(fleet, kind),
            }
        }
    }
    StatusCode::ACCEPTED.into_response()
}

fn note_other(fleet: &Fleet, what: &str) {
    *lock(&fleet.other_kinds).entry(what.to_owned()).or_default() += 1;
}

async fn actor_doc(State(s): State<Served>, UrlPath(name): UrlPath<String>) -> Response {
    s.fleet.actor_fetches.fetch_add(1, Ordering::Relaxed);
    let doc = name
        .strip_prefix("member")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&a| a < s.fleet.actors && a % s.fleet.bases.len() == s.server)
        .map(|a| s.fleet.docs[a].clone());
    match doc {
        Some(doc) => ([(header::CONTENT_TYPE, ACTIVITY_JSON)], doc).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn outbox(State(s): State<Served>, UrlPath(name): UrlPath<String>) -> Response {
    let id = format!("{}/users/{name}/outbox", s.fleet.bases[s.server]);
    (
        [(header::CONTENT_TYPE, ACTIVITY_JSON)],
        json!({"@context": AS_CONTEXT, "id": id, "type": "OrderedCollection", "totalItems": 0, "orderedItems": []})
            .to_string(),
    )
        .into_response()
}

async fn webfinger(State(s): State<Served>, RawQuery(query): RawQuery) -> Response {
    let base = &s.fleet.bases[s.server];
    let authority = base.trim_start_matches("http://");
    let resource = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "resource")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let actor = resource
        .strip_prefix("acct:member")
        .and_then(|rest| rest.strip_suffix(&format!("@{authority}")))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&a| a < s.fleet.actors && a % s.fleet.bases.len() == s.server);
    let Some(a) = actor else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id = s.fleet.actor_id(a);
    (
        [(header::CONTENT_TYPE, "application/jrd+json")],
        json!({
            "subject": resource,
            "aliases": [id],
            "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": id}],
        })
        .to_string(),
    )
        .into_response()
}

async fn nodeinfo_links(State(s): State<Served>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({"links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{}/nodeinfo/2.1", s.fleet.bases[s.server]),
        }]})
        .to_string(),
    )
        .into_response()
}

/// The fake servers say they run Hearth: a member server that reads
/// group relays (Hearth then sends each post once per server, as an
/// `Announce{Create}`). Lemmy does not ask.
async fn nodeinfo() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "version": "2.1",
            "software": {"name": "hearth", "version": "0.0.0-bench"},
            "protocols": ["activitypub"],
            "usage": {"users": {"total": 25}},
            "openRegistrations": false,
        })
        .to_string(),
    )
        .into_response()
}

/// Checks a relay's digest and draft-cavage signature with the sender's
/// key, fetched once per key id (over loopback, whatever host name the id
/// has).
struct Verifier {
    client: reqwest::Client,
    keys: tokio::sync::Mutex<HashMap<String, Arc<RsaPublicKey>>>,
}

impl Verifier {
    fn new() -> anyhow::Result<Verifier> {
        Ok(Verifier {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            keys: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn verify(&self, target: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
        let header = |name: &str| -> Result<&str, String> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("no {name} header"))
        };
        let digest = header("digest")?;
        let expected = B64.encode(Sha256::digest(body));
        if !digest.split(',').any(|d| {
            d.trim()
                .split_once('=')
                .is_some_and(|(alg, v)| alg.eq_ignore_ascii_case("sha-256") && v == expected)
        }) {
            return Err(format!("digest {digest} does not match the body"));
        }
        let params = signature_params(header("signature")?);
        let key_id = params.get("keyid").ok_or("signature has no keyId")?;
        let covered = params
            .get("headers")
            .map_or("date", String::as_str)
            .to_ascii_lowercase();
        let mut lines = Vec::new();
        for name in covered.split_whitespace() {
            if name == "(request-target)" {
                lines.push(format!("(request-target): post {target}"));
            } else {
                lines.push(format!("{name}: {}", header(name)?));
            }
        }
        let signature = B64
            .decode(
                params
                    .get("signature")
                    .ok_or("signature has no signature")?,
            )
            .map_err(|e| format!("signature is not base64: {e}"))?;
        let key = self.key(key_id).await?;
        key.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(lines.join("\n").as_bytes()),
            &signature,
        )
        .map_err(|_| format!("signature by {key_id} does not verify"))
    }

    async fn key(&self, key_id: &str) -> Result<Arc<RsaPublicKey>, String> {
        let mut keys = self.keys.lock().await;
        if let Some(key) = keys.get(key_id) {
            return Ok(key.clone());
        }
        let mut url = url::Url::parse(key_id).map_err(|e| format!("keyId {key_id}: {e}"))?;
        url.set_fragment(None);
        let host = url.authority().to_owned();
        url.set_host(Some("127.0.0.1"))
            .map_err(|e| format!("keyId {key_id}: {e}"))?;
        let doc: Value = self
            .client
            .get(url.as_str())
            .header("accept", ACTIVITY_JSON)
            .header("host", host)
            .send()
            .await
            .map_err(|e| format!("fetch {key_id}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("fetch {key_id}: {e}"))?;
        let pem = doc["publicKey"]["publicKeyPem"]
            .as_str()
            .ok_or_else(|| format!("{key_id}: no publicKeyPem"))?;
        let key = Arc::new(
            RsaPublicKey::from_public_key_pem(pem.trim())
                .map_err(|e| format!("{key_id}: not an RSA key: {e}"))?,
        );
        keys.insert(key_id.to_owned(), key.clone());
        Ok(key)
    }
}

/// `k="v",k2="v2"` (draft-cavage §4.1), keys lower-cased.
fn signature_params(value: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for part in value.split(',') {
        if let Some((k, v)) = part.split_once('=') {
            params.insert(
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            );
        }
    }
    params
}

// ---- CPU of PostgreSQL ----

/// CPU time of every process named `postgres`, per pid, from a starting
/// point: backends come and go, so each is counted from when it was first
/// seen (or from 0 if it started later).
struct PgCpu {
    start: HashMap<u32, Duration>,
}

impl PgCpu {
    fn scan() -> PgCpu {
        PgCpu {
            start: postgres_cpu(),
        }
    }

    fn delta_since(&self) -> Duration {
        postgres_cpu()
            .into_iter()
            .map(|(pid, now)| now.saturating_sub(self.start.get(&pid).copied().unwrap_or_default()))
            .sum()
    }
}

fn postgres_cpu() -> HashMap<u32, Duration> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let comm = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(comm, _)| comm);
        if comm != Some("postgres") {
            continue;
        }
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let cpu = (ticks(11) + ticks(12)) as f64 / clock_ticks();
        out.insert(pid, Duration::from_secs_f64(cpu));
    }
    out
}

// ---- Lemmy ----

/// One `lemmy_server` with a PostgreSQL database of its own, seeing a
/// private hosts file (through a mount namespace: the machine's
/// `/etc/hosts` is never touched) where `lemmy.test` and the fake servers'
/// names are loopback.
struct Lemmy {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    client: reqwest::Client,
    jwt: String,
}

impl Lemmy {
    async fn start(
        binary: &Path,
        pg_server: &str,
        names: &[String],
        concurrent_sends: u32,
    ) -> anyhow::Result<Lemmy> {
        let dir = tempfile::Builder::new()
            .prefix("hearth-bench-lemmy-")
            .tempdir()
            .context("create a temporary folder for Lemmy")?;
        let database = format!(
            "lemmy_bench_{}_{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        let admin = sea_orm::Database::connect(pg_server)
            .await
            .with_context(|| format!("Lemmy needs PostgreSQL at {pg_server}"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{database}\""))
            .await
            .with_context(|| format!("create database {database}"))?;
        let _ = admin.close().await;
        let mut uri = url::Url::parse(pg_server).context("--database-url is not a URL")?;
        uri.set_path(&format!("/{database}"));
        let mut lemmy = Lemmy {
            child: None,
            port: crate::common::free_port()?,
            dir,
            pg: Some((pg_server.to_owned(), database)),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            jwt: String::new(),
        };
        let hosts = lemmy.dir.path().join("hosts");
        let mut lines = format!("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {LEMMY_HOST}\n");
        for name in names {
            let _ = writeln!(lines, "127.0.0.1 {name}");
        }
        std::fs::write(&hosts, lines)?;
        let port = lemmy.port;
        let config = format!(
            r#"{{
  hostname: "{LEMMY_HOST}:{port}"
  bind: "127.0.0.1"
  port: {port}
  tls_enabled: false
  database: {{ uri: "{uri}" }}
  pictrs: {{ url: "http://127.0.0.1:9/", api_key: "unused" }}
  setup: {{ admin_username: "{LEMMY_ADMIN}", admin_password: "{LEMMY_PASSWORD}", site_name: "Lemmy bench" }}
  federation: {{ concurrent_sends_per_instance: {concurrent_sends} }}
}}
"#
        );
        let config_path = lemmy.dir.path().join("config.hjson");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(lemmy.log_path())?;
        // `unshare` and `sh` both exec, so the child's pid is Lemmy's.
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
            .arg(&hosts)
            .arg(binary)
            .env("LEMMY_CONFIG_LOCATION", &config_path)
            // Without it Lemmy's queue looks for new work every 30 s and
            // for new followers every 2 min (the integration tests set it
            // too).
            .env("LEMMY_TEST_FAST_FEDERATION", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start lemmy_server under unshare")?;
        lemmy.child = Some(child);
        lemmy.wait_ready().await?;
        let login = lemmy
            .call(
                reqwest::Method::POST,
                "/api/v3/user/login",
                json!({"username_or_email": LEMMY_ADMIN, "password": LEMMY_PASSWORD}),
            )
            .await?;
        lemmy.jwt = login["jwt"]
            .as_str()
            .ok_or_else(|| anyhow!("Lemmy's log-in answer has no jwt: {login}"))?
            .to_owned();
        let limits = 1_000_000;
        lemmy
            .call(
                reqwest::Method::PUT,
                "/api/v3/site",
                json!({
                    "rate_limit_message": limits, "rate_limit_message_per_second": 1,
                    "rate_limit_post": limits, "rate_limit_post_per_second": 1,
                    "rate_limit_comment": limits, "rate_limit_comment_per_second": 1,
                    "rate_limit_search": limits, "rate_limit_search_per_second": 1,
                    "rate_limit_register": limits, "rate_limit_register_per_second": 1,
                }),
            )
            .await?;
        // The kernel keeps 15 bytes of a process name.
        let comm =
            std::fs::read_to_string(format!("/proc/{}/comm", lemmy.pid())).unwrap_or_default();
        let expected: String = binary
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(15).collect())
            .unwrap_or_default();
        if comm.trim() != expected {
            eprintln!(
                "warning: process {} is {:?}, not {expected:?}; its CPU figures are not Lemmy's",
                lemmy.pid(),
                comm.trim()
            );
        }
        Ok(lemmy)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("lemmy.log")
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Lemmy runs its migrations on the fresh database before it answers.
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("Lemmy exited ({status}); log:\n{}", self.log_tail(40));
            }
            if let Ok(r) = self
                .client
                .get(format!("http://127.0.0.1:{}/api/v3/site", self.port))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(300) {
                bail!("Lemmy did not start in 300 s; log:\n{}", self.log_tail(40));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .client
            .request(
                method.clone(),
                format!("http://127.0.0.1:{}{path}", self.port),
            )
            .json(&body);
        if !self.jwt.is_empty() {
            req = req.bearer_auth(&self.jwt);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("Lemmy {method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("Lemmy {method} {path} answered {status}: {text}");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("Lemmy {method} {path} answered {text}"))
    }

    /// Create the community everybody posts in: its actor id.
    async fn open_community(&self) -> anyhow::Result<String> {
        let made = self
            .call(
                reqwest::Method::POST,
                "/api/v3/community",
                json!({"name": GROUP, "title": "Bench community"}),
            )
            .await?;
        Ok(made["community_view"]["community"]["actor_id"]
            .as_str()
            .ok_or_else(|| anyhow!("community answer has no actor_id: {made}"))?
            .to_owned())
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((server, name)) = self.pg.take() {
            crate::common::drop_database(&server, &name).await;
        }
    }
}

impl Drop for Lemmy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---- reporting ----

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.0}", k as f64 / 1024.0))
        .unwrap_or_else(|| "?".into())
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "—".into())
}

fn secs(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.2}", d.as_secs_f64()))
        .unwrap_or_else(|| "—".into())
}

fn per_activity(cpu: Option<Duration>, n: usize) -> Option<f64> {
    cpu.filter(|_| n > 0)
        .map(|c| c.as_secs_f64() * 1000.0 / n as f64)
}

fn opt2(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
}

impl Row {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn total_cpu_per_activity(&self) -> Option<f64> {
        per_activity(
            self.server_cpu.map(|c| c + self.pg_cpu.unwrap_or_default()),
            self.accepted,
        )
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| target | sent | accepted | refused | accepted/s | ack p50 (ms) | ack p99 (ms) | ack max (ms) | server CPU ms/act | PostgreSQL CPU ms/act | CPU ms/act incl. drain | driver CPU ms/act | peak RSS (MiB) | RSS at end (MiB) | RSS after settle (MiB) | relays/act | lag max during load (s) | lag max (s) | all relayed after load (s) | duplicates | load |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let all = match r.all_delivered_after {
            Some(d) => format!("{:.2}", d.as_secs_f64()),
            None => format!("{} of {} relayed", r.delivered, r.expected),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.target,
            r.sent,
            r.accepted,
            r.refused,
            r.rate(),
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            opt2(per_activity(r.server_cpu, r.accepted)),
            opt2(per_activity(r.pg_cpu, r.accepted)),
            opt2(per_activity(r.cpu_with_drain, r.accepted)),
            opt2(per_activity(r.driver_cpu, r.accepted)),
            r.peak_rss_kib as f64 / 1024.0,
            mib(r.end_rss_kib),
            r.settled_rss_kib
                .map_or_else(|| "—".into(), |k| mib(Some(k))),
            r.per_activity,
            secs(r.lag_during_load),
            secs(r.lag_max),
            all,
            r.duplicates,
            r.load
                .map(|l| format!("{l:.1}"))
                .unwrap_or_else(|| "?".into()),
        );
    }
    out
}

/// Hearth against Lemmy, when both ran in this invocation.
fn ratios(rows: &[Row]) -> String {
    let Some(lemmy) = rows.iter().find(|r| r.target == "lemmy") else {
        return String::new();
    };
    let hearths: Vec<&Row> = rows.iter().filter(|r| r.target != "lemmy").collect();
    if hearths.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n| Hearth ÷ Lemmy | accepted/s | ack p50 | ack p99 | server + PostgreSQL CPU per activity | peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let ratio = |a: Option<f64>, b: Option<f64>| -> String {
        match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "—".into(),
        }
    };
    let d = |x: Option<Duration>| x.map(|d| d.as_secs_f64());
    for h in hearths {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            h.target,
            ratio(Some(h.rate()), Some(lemmy.rate())),
            ratio(d(h.p50), d(lemmy.p50)),
            ratio(d(h.p99), d(lemmy.p99)),
            ratio(h.total_cpu_per_activity(), lemmy.total_cpu_per_activity()),
            ratio(Some(h.peak_rss_kib as f64), Some(lemmy.peak_rss_kib as f64)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_answer_heads() {
        let head = parse_head(
            b"HTTP/1.1 202 Accepted\r\ncontent-length: 12\r\nConnection: keep-alive\r\n\r\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.status, 202);
        assert_eq!(head.length, Some(12));
        assert!(!head.chunked && !head.close);
        let head = parse_head(
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nconnection: close\r\n\r\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.status, 400);
        assert!(head.chunked && head.close);
    }

    #[test]
    fn reads_signature_params() {
        let p = signature_params(
            r#"keyId="http://a.test:1/users/member0#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="YWJj""#,
        );
        assert_eq!(
            p.get("keyid").map(String::as_str),
            Some("http://a.test:1/users/member0#main-key")
        );
        assert_eq!(p.get("signature").map(String::as_str), Some("YWJj"));
    }

    #[tokio::test]
    async fn conn_reads_length_and_chunked_answers() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            let answers: [&[u8]; 2] = [
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 5\r\n\r\nhello",
                b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            ];
            for answer in answers {
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer).await;
            }
        });
        let mut conn = Conn::open(addr).await.unwrap_or_else(|e| panic!("{e}"));
        let req = b"POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            conn.exchange(req).await.unwrap_or_else(|e| panic!("{e}")),
            (202, true)
        );
        assert_eq!(
            conn.exchange(req).await.unwrap_or_else(|e| panic!("{e}")),
            (400, true)
        );
    }
}

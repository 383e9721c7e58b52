//! `hearth-bench soak`: whether one `hearth serve` keeps its memory bounded
//! under a steady mixed load for a long time (`--secs`, ten minutes by
//! default).
//!
//! ```text
//!  readers ── GET timeline, thread, group page ──┐
//!  writers ── POST threads (relayed to members) ─┤
//!  members ── signed Create into the inbox ──────┼─▶ hearth serve ─▶ N member servers
//!  abusers ── no token, bad JSON, unsigned, 404 ─┘        │
//!                                         every --sample-secs: VmRSS, VmHWM
//! ```
//!
//! Each kind of request goes out at its own steady rate, whatever the
//! answers take (each request is a task of its own, at most
//! [`IN_FLIGHT`] at once). Memory is read from `/proc/PID/status`; the
//! figures are RSS at the start, after the warm-up, at its highest and at
//! the end, and its slope after the warm-up (least squares, MiB per
//! minute): a server that leaks shows a slope that does not flatten.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::common::{Server, db_label, hearth_binary, proc_status_kib, writer_and_group};
use crate::receivers::{ReceiverFleet, ReceiverOptions};

/// Requests of all kinds in flight at once, at most.
const IN_FLIGHT: usize = 64;

/// Options of `hearth-bench soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is made
    /// beside the one it names and dropped afterwards).
    #[arg(long, default_value = "sqlite")]
    database: String,

    /// How long the load runs, in seconds.
    #[arg(long, default_value_t = 600)]
    secs: u64,

    /// Seconds of load before the "after warm-up" figure (default: a
    /// tenth of --secs, at most 60).
    #[arg(long)]
    warmup_secs: Option<u64>,

    /// Seconds between two memory samples.
    #[arg(long, default_value_t = 5)]
    sample_secs: u64,

    /// Requests per second of each kind: reads, writes, signed inbox
    /// deliveries, bad requests.
    #[arg(long, default_value = "30,3,10,5", value_delimiter = ',', num_args = 4)]
    rates: Vec<u32>,

    /// Fake member servers in the group: each write is relayed to each,
    /// and each sends signed activities into the inbox.
    #[arg(long, default_value_t = 4)]
    members: usize,

    /// The `hearth` binary (default: `cargo build --release -p hearth`).
    #[arg(long)]
    hearth: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Read,
    Write,
    Inbox,
    Bad,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Read => "reads",
            Kind::Write => "writes",
            Kind::Inbox => "inbox",
            Kind::Bad => "bad requests",
        }
    }
}

/// What a kind of request got: by status, and failures to get an answer.
#[derive(Default)]
struct Tally {
    statuses: std::sync::Mutex<BTreeMap<(Kind, u16), u64>>,
    unexpected: std::sync::Mutex<Vec<String>>,
    no_answer: AtomicU64,
}

impl Tally {
    fn record(&self, kind: Kind, status: u16, expected: &[u16], what: &str) {
        if let Ok(mut s) = self.statuses.lock() {
            *s.entry((kind, status)).or_default() += 1;
        }
        if !expected.contains(&status)
            && let Ok(mut u) = self.unexpected.lock()
            && u.len() < 20
        {
            u.push(format!("{what}: {status}"));
        }
    }

    fn count(&self, kind: Kind) -> u64 {
        self.statuses
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|((k, _), _)| *k == kind)
                    .map(|(_, n)| n)
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// One memory sample: seconds since the load began, VmRSS and VmHWM (KiB).
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: f64,
    rss: u64,
    hwm: u64,
}

/// Run the soak and print its table.
pub async fn run_soak(args: SoakArgs) -> anyhow::Result<()> {
    let hearth = hearth_binary(args.hearth.as_deref())?;
    let mut server = Server::start(&hearth, &args.database).await?;
    let result = soak(&args, &server).await;
    if result.is_err() {
        eprintln!("hearth log (last lines):\n{}", server.log_tail(40));
    }
    server.stop().await;
    let report = result?;
    println!(
        "| database | load (s) | requests/s (read, write, inbox, bad) | RSS start (MiB) | after warm-up | max | end | VmHWM (MiB) | slope after warm-up (MiB/min) |"
    );
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:+.3} |",
        db_label(&args.database),
        args.secs,
        args.rates
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        mib(report.start),
        mib(report.warm),
        mib(report.max),
        mib(report.end),
        mib(report.hwm),
        report.slope_kib_per_min / 1024.0,
    );
    println!();
    println!("| requests | answered | by status |");
    println!("| --- | ---: | --- |");
    for (kind, answered, statuses) in &report.kinds {
        println!("| {} | {answered} | {statuses} |", kind.label());
    }
    println!(
        "\n{} member deliveries received; {} requests without an answer",
        report.delivered, report.no_answer
    );
    if !report.unexpected.is_empty() {
        anyhow::bail!(
            "unexpected answers (first {}): {}",
            report.unexpected.len(),
            report.unexpected.join("; ")
        );
    }
    Ok(())
}

struct Report {
    start: u64,
    warm: u64,
    max: u64,
    end: u64,
    hwm: u64,
    slope_kib_per_min: f64,
    kinds: Vec<(Kind, u64, String)>,
    delivered: usize,
    no_answer: u64,
    unexpected: Vec<String>,
}

async fn soak(args: &SoakArgs, server: &Server) -> anyhow::Result<Report> {
    let rates: [u32; 4] = args
        .rates
        .clone()
        .try_into()
        .map_err(|_| anyhow!("--rates takes four numbers"))?;
    let pid = server.pid();
    let (token, group_url) = writer_and_group(server).await?;
    let fleet = Arc::new(ReceiverFleet::start(args.members, ReceiverOptions::default()).await);
    let group_inbox = format!("{group_url}/inbox");
    fleet.join(&group_inbox, &group_url).await;
    // A first thread, so that readers have one to read from the start.
    let first = server
        .call(
            "/api/v1/posts",
            Some(&token),
            json!({"group": crate::common::GROUP, "title": "Soak thread 0", "body": "The first.", "support_kind": "experience"}),
            201,
        )
        .await?;
    let thread_id = first["id"]
        .as_str()
        .ok_or_else(|| anyhow!("a post without an id: {first}"))?
        .to_owned();

    let read_kib = |field| proc_status_kib(pid, field).unwrap_or(0);
    let start = read_kib("VmRSS");
    eprintln!("RSS before the load: {:.1} MiB", start as f64 / 1024.0);

    let tally = Arc::new(Tally::default());
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let began = Instant::now();
    let until = began + Duration::from_secs(args.secs);
    let ctx = Arc::new(Load {
        client: server.client.clone(),
        base: server.url(""),
        token,
        thread_id,
        group_inbox,
        group_url,
        fleet: fleet.clone(),
        tally: tally.clone(),
        counter: AtomicU64::new(1),
    });
    let mut streams = tokio::task::JoinSet::new();
    for (kind, rate) in [Kind::Read, Kind::Write, Kind::Inbox, Kind::Bad]
        .into_iter()
        .zip(rates)
    {
        if rate == 0 {
            continue;
        }
        let ctx = ctx.clone();
        let permits = permits.clone();
        streams.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut n: u64 = 0;
            while Instant::now() < until {
                tick.tick().await;
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let ctx = ctx.clone();
                n += 1;
                tokio::spawn(async move {
                    ctx.one(kind, n).await;
                    drop(permit);
                });
            }
        });
    }

    let warmup = args.warmup_secs.unwrap_or((args.secs / 10).min(60));
    let mut samples: Vec<Sample> = Vec::new();
    let mut sampler = tokio::time::interval(Duration::from_secs(args.sample_secs.max(1)));
    loop {
        sampler.tick().await;
        let at = began.elapsed().as_secs_f64();
        let sample = Sample {
            at,
            rss: read_kib("VmRSS"),
            hwm: read_kib("VmHWM"),
        };
        eprintln!(
            "{:>6.0} s  RSS {:>7.1} MiB  HWM {:>7.1} MiB  requests {}",
            at,
            sample.rss as f64 / 1024.0,
            sample.hwm as f64 / 1024.0,
            [Kind::Read, Kind::Write, Kind::Inbox, Kind::Bad]
                .map(|k| tally.count(k).to_string())
                .join("/"),
        );
        samples.push(sample);
        if Instant::now() >= until {
            break;
        }
    }
    while streams.join_next().await.is_some() {}
    // Let the requests in flight finish.
    let _ = permits.acquire_many(IN_FLIGHT as u32).await;
    let end = read_kib("VmRSS");
    let hwm = read_kib("VmHWM");

    let after: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.at >= warmup as f64)
        .collect();
    let warm = after.first().map(|s| s.rss).unwrap_or(end);
    let max = samples.iter().map(|s| s.rss).max().unwrap_or(end).max(end);
    let kinds = [Kind::Read, Kind::Write, Kind::Inbox, Kind::Bad]
        .into_iter()
        .map(|kind| {
            let statuses = tally
                .statuses
                .lock()
                .map(|s| {
                    s.iter()
                        .filter(|((k, _), _)| *k == kind)
                        .map(|((_, status), n)| format!("{status}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            (kind, tally.count(kind), statuses)
        })
        .collect();
    let unexpected = tally
        .unexpected
        .lock()
        .map(|u| u.clone())
        .unwrap_or_default();
    Ok(Report {
        start,
        warm,
        max,
        end,
        hwm,
        slope_kib_per_min: slope(&after) * 60.0,
        kinds,
        delivered: fleet.count_with(|r| r.accepted() && r.kind == "Announce"),
        no_answer: tally.no_answer.load(Ordering::SeqCst),
        unexpected,
    })
}

/// Least-squares slope of RSS over time, KiB per second.
fn slope(samples: &[Sample]) -> f64 {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return 0.0;
    }
    let mean_t = samples.iter().map(|s| s.at).sum::<f64>() / n;
    let mean_r = samples.iter().map(|s| s.rss as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for s in samples {
        num += (s.at - mean_t) * (s.rss as f64 - mean_r);
        den += (s.at - mean_t).powi(2);
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// What every request of the load needs.
struct Load {
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    base: String,
    token: String,
    thread_id: String,
    group_inbox: String,
    group_url: String,
    fleet: Arc<ReceiverFleet>,
    tally: Arc<Tally>,
    counter: AtomicU64,
}

impl Load {
    /// Request number `n` of `kind`, recorded in the tally.
    async fn one(&self, kind: Kind, n: u64) {
        let group = crate::common::GROUP;
        let (what, answer, expected): (String, Result<u16, reqwest::Error>, &[u16]) = match kind {
            Kind::Read => {
                let path = match n % 3 {
                    0 => format!("/api/v1/posts?group={group}&limit=20"),
                    1 => format!("/api/v1/posts/{}", self.thread_id),
                    _ => format!("/g/{group}"),
                };
                let answer = self
                    .client
                    .get(format!("{}{path}", self.base))
                    .bearer_auth(&self.token)
                    .send()
                    .await;
                (path, drain(answer).await, &[200][..])
            }
            Kind::Write => {
                let answer = self
                    .client
                    .post(format!("{}/api/v1/posts", self.base))
                    .bearer_auth(&self.token)
                    .json(&json!({
                        "group": group,
                        "title": format!("Soak thread {n}"),
                        "body": "Pacing helps: one task in the morning, rest after lunch.",
                        "support_kind": "experience",
                    }))
                    .send()
                    .await;
                ("POST /api/v1/posts".into(), drain(answer).await, &[201][..])
            }
            Kind::Inbox => {
                let member = (n as usize) % self.fleet.len().max(1);
                let activity = self.create(member, n);
                let (status, _) = self
                    .fleet
                    .post_as(member, &self.group_inbox, &activity)
                    .await;
                ("signed Create".into(), Ok(status), &[200, 201, 202][..])
            }
            Kind::Bad => {
                let request = match n % 4 {
                    // No token.
                    0 => self
                        .client
                        .post(format!("{}/api/v1/posts", self.base))
                        .json(&json!({"group": group, "title": "x", "body": "x", "support_kind": "experience"})),
                    // Not JSON.
                    1 => self
                        .client
                        .post(format!("{}/api/v1/posts", self.base))
                        .bearer_auth(&self.token)
                        .header("content-type", "application/json")
                        .body("{not json"),
                    // Unsigned, into the inbox.
                    2 => self
                        .client
                        .post(&self.group_inbox)
                        .header("content-type", "application/activity+json")
                        .body(r#"{"type":"Create"}"#),
                    // Nothing there.
                    _ => self.client.get(format!("{}/api/v1/nothing/{n}", self.base)),
                };
                (
                    format!("bad request {}", n % 4),
                    drain(request.send().await).await,
                    &[400, 401, 404, 415, 422][..],
                )
            }
        };
        match answer {
            Ok(status) => self.tally.record(kind, status, expected, &what),
            Err(_) => {
                self.tally.no_answer.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// A member's new thread in the group, as Lemmy-like servers send it.
    fn create(&self, member: usize, n: u64) -> Value {
        let actor = self.fleet.actor_url(member);
        let id = self.fleet.new_activity_id(member);
        let k = self.counter.fetch_add(1, Ordering::Relaxed);
        let public = "https://www.w3.org/ns/activitystreams#Public";
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{id}/create"),
            "type": "Create",
            "actor": actor,
            "to": [self.group_url, public],
            "audience": self.group_url,
            "object": {
                "id": format!("{id}/page"),
                "type": "Page",
                "attributedTo": actor,
                "to": [self.group_url, public],
                "audience": self.group_url,
                "name": format!("A member's thread {n}.{k}"),
                "content": "<p>What helped me this week.</p>",
                "mediaType": "text/html",
                "published": chrono::Utc::now().to_rfc3339(),
            },
        })
    }
}

/// The status, after reading the body (so the connection is reused).
async fn drain(answer: Result<reqwest::Response, reqwest::Error>) -> Result<u16, reqwest::Error> {
    let response = answer?;
    let status = response.status().as_u16();
    response.bytes().await?;
    Ok(status)
}

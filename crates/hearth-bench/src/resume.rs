//! `hearth-bench resume`: how soon delivery resumes after the sending
//! process is killed with SIGKILL in the middle of a busy queue and started
//! again at once, and whether anything is lost or sent twice.
//!
//! ```text
//!  hearth (workers off) ── N threads written ──▶ 2N deliveries queued
//!  restart with workers on ──▶ receivers (2 member servers) start getting them
//!  at --kill-at of them delivered: SIGKILL; count rows still `sending`
//!  restart at once ──▶ t(spawn), t(first delivery after it), t(all delivered)
//! ```
//!
//! Before the heartbeat of `delivery_workers`, the killed process's claimed
//! deliveries waited for their lease (about 30 s) before anyone sent them.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use sea_orm::ConnectionTrait as _;
use serde_json::json;

use crate::common::{GROUP, Server, db_label, hearth_binary, writer_and_group};
use crate::receivers::{ReceiverFleet, ReceiverOptions};

/// Options of `hearth-bench resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is made
    /// beside the one it names and dropped afterwards).
    #[arg(long, default_value = "sqlite")]
    database: String,

    /// Threads written while the workers are off; each is one delivery to
    /// each member server.
    #[arg(long, default_value_t = 6000)]
    threads: usize,

    /// Member servers (fake ones on loopback that verify every signature).
    #[arg(long, default_value_t = 2)]
    receivers: usize,

    /// Kill the sender once this share of the deliveries has arrived.
    #[arg(long, default_value_t = 0.3)]
    kill_at: f64,

    /// The `hearth` binary (default: `cargo build --release -p hearth`).
    #[arg(long)]
    hearth: Option<std::path::PathBuf>,

    /// Give up waiting for the deliveries after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

/// Run the benchmark and print its table.
pub async fn run_resume(args: ResumeArgs) -> anyhow::Result<()> {
    let hearth = hearth_binary(args.hearth.as_deref())?;
    let mut server = Server::start(&hearth, &args.database).await?;
    let result = measure(&args, &hearth, &mut server).await;
    if result.is_err() {
        eprintln!("hearth log (last lines):\n{}", server.log_tail(40));
    }
    server.stop().await;
    let row = result?;
    println!(
        "| database | deliveries | delivered before the kill | sending at the kill | \
         restart to answering (s) | restart to first delivery (s) | restart to all delivered (s) | lost | duplicates |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let secs = |d: Option<Duration>| {
        d.map(|d| format!("{:.2}", d.as_secs_f64()))
            .unwrap_or_else(|| "—".into())
    };
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        db_label(&args.database),
        row.deliveries,
        row.before_kill,
        row.sending_at_kill,
        secs(Some(row.to_healthy)),
        secs(row.to_first),
        secs(row.to_all),
        row.lost,
        row.duplicates
    );
    Ok(())
}

struct Row {
    deliveries: usize,
    before_kill: usize,
    sending_at_kill: i64,
    to_healthy: Duration,
    to_first: Option<Duration>,
    to_all: Option<Duration>,
    lost: usize,
    duplicates: usize,
}

async fn measure(args: &ResumeArgs, hearth: &Path, server: &mut Server) -> anyhow::Result<Row> {
    let (token, group_url) = writer_and_group(server).await?;
    let fleet = ReceiverFleet::start(args.receivers, ReceiverOptions::default()).await;
    fleet.join(&format!("{group_url}/inbox"), &group_url).await;

    // Fill the queue with the workers off.
    server.extra_env = vec![(
        "HEARTH_FEDERATION_SERVE_RUNS_WORKERS".into(),
        "false".into(),
    )];
    server.restart(hearth).await?;
    let started = Instant::now();
    let pages: HashSet<String> = write_threads(server, &token, args.threads)
        .await?
        .into_iter()
        .collect();
    let deliveries = pages.len() * args.receivers;
    eprintln!(
        "{} threads written in {:.1} s: {deliveries} deliveries queued",
        pages.len(),
        started.elapsed().as_secs_f64()
    );
    let delivered = || {
        fleet.count_with(|r| {
            r.accepted()
                && !r.duplicate
                && r.kind == "Announce"
                && r.inner_object_id
                    .as_ref()
                    .is_some_and(|id| pages.contains(id))
        })
    };

    // Deliver; kill mid-way.
    server.extra_env.clear();
    server.restart(hearth).await?;
    let kill_at = ((deliveries as f64) * args.kill_at.clamp(0.0, 1.0)) as usize;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while delivered() < kill_at {
        if Instant::now() > deadline {
            bail!(
                "only {} of {deliveries} delivered before the kill",
                delivered()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let killed = Instant::now();
    let before_kill = delivered();
    let db = sea_orm::Database::connect(server.database_url()).await?;
    let sending_at_kill = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'sending'",
        ))
        .await?
        .and_then(|row| row.try_get::<i64>("", "n").ok())
        .unwrap_or(-1);
    let _ = db.close().await;
    eprintln!(
        "killed at {before_kill} of {deliveries} delivered; {sending_at_kill} deliveries were being sent"
    );
    let spawned = Instant::now();
    server.restart(hearth).await?;
    let to_healthy = spawned.elapsed();
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut to_all = None;
    loop {
        if delivered() >= deliveries {
            to_all = Some(spawned.elapsed());
            break;
        }
        if Instant::now() > deadline {
            eprintln!("timed out: {} of {deliveries} delivered", delivered());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let to_first = fleet
        .all_received()
        .iter()
        .filter(|r| r.accepted() && r.at > spawned)
        .map(|r| r.at)
        .min()
        .map(|at| at.saturating_duration_since(spawned));
    let _ = killed;
    Ok(Row {
        deliveries,
        before_kill,
        sending_at_kill,
        to_healthy,
        to_first,
        to_all,
        lost: deliveries.saturating_sub(delivered()),
        duplicates: fleet.duplicates(),
    })
}

/// Write `n` threads in the group, 8 at a time; returns their ids in the
/// order they were written.
pub(crate) async fn write_threads(
    server: &Server,
    token: &str,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let mut pages: Vec<String> = Vec::with_capacity(n);
    let writers = 8;
    for chunk in (0..n).collect::<Vec<_>>().chunks(writers) {
        let mut batch = tokio::task::JoinSet::new();
        for n in chunk {
            let req = server
                .client
                .post(server.url("/api/v1/posts"))
                .bearer_auth(token)
                .json(&json!({
                    "group": GROUP,
                    "title": format!("Thread {n}"),
                    "body": "How do you pace yourselves on bad days?",
                    "support_kind": "emotional",
                }));
            batch.spawn(async move {
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await?;
                if status != 201 {
                    bail!("writing a thread answered {status}: {body}");
                }
                body["url"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("no url in {body}"))
            });
        }
        while let Some(done) = batch.join_next().await {
            pages.push(done??);
        }
    }
    Ok(pages)
}

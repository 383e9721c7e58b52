//! `hearth-bench fanout`: how fast one `hearth serve` relays a new thread in an open
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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{
    Server, build_hearth, commit, db_label, load_average, machine, proc_cpu, proc_status_kib,
};
use crate::receivers::{Received, ReceiverFleet, ReceiverOptions};
use anyhow::{anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::common::GROUP;

/// Measure how fast one `hearth serve` delivers a group post to N member
/// servers (fake ones on loopback that verify every signature), and the
/// RSA signing floor under it. Prints a Markdown table on stdout; progress
/// goes to stderr.
#[derive(Debug, clap::Args)]
pub struct FanoutArgs {
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

pub async fn run_fanout(args: FanoutArgs) -> anyhow::Result<()> {
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
        "signing floor: {floor:.0} rsa-sha256 signatures/s on one core (aws-lc-rs, as hearth signs; 2048-bit key, PKCS#1 v1.5)"
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

async fn run(args: &FanoutArgs, hearth: &Path, n: usize, dead: usize) -> anyhow::Result<Row> {
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

async fn measure(args: &FanoutArgs, server: &Server, n: usize, dead: usize) -> anyhow::Result<Row> {
    let load = load_average();
    eprintln!(
        "load average (1 min) at start: {}",
        load.map(|l| format!("{l:.2}"))
            .unwrap_or_else(|| "?".into())
    );
    let (token, group_url) = crate::common::writer_and_group(server).await?;

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

// ---- the floor ----

/// rsa-sha256 signatures per second on this thread, signing a string like
/// the one a delivery signs (request target, content type, date, body
/// digest, host), exactly as hearth does (`hearth-activitypub`'s `sign`):
/// RSASSA-PKCS1-v1_5 with SHA-256 by aws-lc-rs, hashing included.
fn signing_floor(secs: f64) -> anyhow::Result<f64> {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::RSA_PKCS1_SHA256;
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(|e| anyhow!("rsa key: {e}"))?;
    let rng = aws_lc_rs::rand::SystemRandom::new();
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
        "(request-target): post /inbox\ncontent-type: application/activity+json\ndate: {date}\ndigest: SHA-256={digest}\nhost: localhost:40001"
    );
    let mut signature = vec![0; key.public_modulus_len()];
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        key.sign(&RSA_PKCS1_SHA256, &rng, signing.as_bytes(), &mut signature)
            .map_err(|e| anyhow!("signing: {e}"))?;
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
    use serde_json::Value;

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

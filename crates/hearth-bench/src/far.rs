//! `hearth-bench far`: how many activities a second one busy group gets to
//! a member server that takes `--delay-ms` to answer each request (a
//! server far away), and whether each post's activities arrive in order.
//!
//! ```text
//!  hearth (workers off) ── N threads written, the first E edited twice ──▶ queue
//!  restart with workers on ──▶ far receiver (answers after 300 ms)
//!  rate = activities / (last arrival − first arrival); order per post checked
//! ```
//!
//! One request at a time to a server 300 ms away caps it near 3 a second;
//! Hearth sends activities about different posts in parallel, up to
//! `federation.delivery_per_server` at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;

use crate::common::{Server, db_label, hearth_binary, writer_and_group};
use crate::receivers::{ReceiverFleet, ReceiverOptions};
use crate::resume::write_threads;

/// Options of `hearth-bench far`.
#[derive(Debug, clap::Args)]
pub struct FarArgs {
    /// `sqlite`, or a PostgreSQL server URL (a fresh database is made
    /// beside the one it names and dropped afterwards).
    #[arg(long, default_value = "sqlite")]
    database: String,

    /// Threads written in the group.
    #[arg(long, default_value_t = 1000)]
    threads: usize,

    /// Of them, how many are then edited twice (three activities about one
    /// post, whose order is checked).
    #[arg(long, default_value_t = 50)]
    edited: usize,

    /// How long the member server takes to answer each request.
    #[arg(long, default_value_t = 300)]
    delay_ms: u64,

    /// The `hearth` binary (default: `cargo build --release -p hearth`).
    #[arg(long)]
    hearth: Option<std::path::PathBuf>,

    /// Give up waiting for the deliveries after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

/// Run the benchmark and print its table.
pub async fn run_far(args: FarArgs) -> anyhow::Result<()> {
    let hearth = hearth_binary(args.hearth.as_deref())?;
    let mut server = Server::start(&hearth, &args.database).await?;
    let result = measure(&args, &hearth, &mut server).await;
    if result.is_err() {
        eprintln!("hearth log (last lines):\n{}", server.log_tail(40));
    }
    server.stop().await;
    let (activities, span, out_of_order, duplicates) = result?;
    println!(
        "| database | answer delay (ms) | activities | first to last (s) | activities/s | posts out of order | duplicates |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let rate = activities as f64 / span.as_secs_f64().max(0.001);
    println!(
        "| {} | {} | {activities} | {:.2} | {rate:.0} | {out_of_order} | {duplicates} |",
        db_label(&args.database),
        args.delay_ms,
        span.as_secs_f64(),
    );
    Ok(())
}

async fn measure(
    args: &FarArgs,
    hearth: &std::path::Path,
    server: &mut Server,
) -> anyhow::Result<(usize, Duration, usize, usize)> {
    let (token, group_url) = writer_and_group(server).await?;
    let fleet = ReceiverFleet::start(1, ReceiverOptions::default()).await;
    fleet.join(&format!("{group_url}/inbox"), &group_url).await;
    fleet.set_delay_all(Duration::from_millis(args.delay_ms));

    server.extra_env = vec![(
        "HEARTH_FEDERATION_SERVE_RUNS_WORKERS".into(),
        "false".into(),
    )];
    server.restart(hearth).await?;
    let pages = write_threads(server, &token, args.threads).await?;
    // The thread list gives each page's numeric id, for the edits.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut cursor: Option<String> = None;
    let wanted = args.edited.min(pages.len());
    while pages.iter().take(wanted).any(|p| !ids.contains_key(p)) {
        let path = match &cursor {
            Some(c) => format!("/api/v1/posts?group=bench&limit=200&cursor={c}"),
            None => "/api/v1/posts?group=bench&limit=200".to_owned(),
        };
        let page: serde_json::Value = server
            .client
            .get(server.url(&path))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if let (Some(url), Some(id)) = (item["url"].as_str(), item["id"].as_str()) {
                ids.insert(url.to_owned(), id.to_owned());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let edited: Vec<&String> = pages.iter().take(args.edited).collect();
    for round in ["first edit", "second edit"] {
        for page in &edited {
            let Some(id) = ids.get(*page) else {
                bail!("{page} is not in the group's thread list");
            };
            let resp = server
                .client
                .patch(server.url(&format!("/api/v1/posts/{id}")))
                .bearer_auth(&token)
                .json(&json!({ "title": round }))
                .send()
                .await?;
            if !resp.status().is_success() {
                bail!("editing {page} answered {}", resp.status());
            }
        }
    }
    let expected = pages.len() + 2 * edited.len();
    eprintln!(
        "{expected} activities queued for a server {} ms away",
        args.delay_ms
    );

    server.extra_env.clear();
    server.restart(hearth).await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let arrived = || fleet.count_with(|r| r.accepted() && !r.duplicate && r.kind == "Announce");
    while arrived() < expected {
        if Instant::now() > deadline {
            bail!("only {} of {expected} arrived", arrived());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let records = fleet.received(0);
    let announces: Vec<_> = records
        .iter()
        .filter(|r| r.accepted() && !r.duplicate && r.kind == "Announce")
        .collect();
    let first = announces.iter().map(|r| r.at).min();
    let last = announces.iter().map(|r| r.at).max();
    let span = match (first, last) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    // Per edited post, the inner activities' types must be Create, Update,
    // Update in arrival order.
    let mut out_of_order = 0;
    for page in &edited {
        let kinds: Vec<&str> = announces
            .iter()
            .filter(|r| r.inner_object_id.as_deref() == Some(page.as_str()))
            .map(|r| r.object_kind.as_deref().unwrap_or(""))
            .collect();
        if kinds != ["Create", "Update", "Update"] {
            out_of_order += 1;
        }
    }
    Ok((announces.len(), span, out_of_order, fleet.duplicates()))
}

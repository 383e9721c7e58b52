//! Abuse, against real Hearth servers on loopback:
//!
//! - a flood: A relays a busy group's posts to B faster than B's inbox
//!   limit allows; B answers 429 with `Retry-After`, A's delivery queue
//!   waits as asked and tries again, and in the end B has every post;
//! - slow-loris: connections that send their headers a byte at a time,
//!   send nothing, or dribble a body, are closed within the configured
//!   limits, and a normal request is answered while many of them are open.
//!
//! Nothing sleeps to synchronise: every wait polls with a deadline, and no
//! wall time is asserted beyond "before the deadline".

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::rig::Scene;
use support::{Backend, Instance, Options, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Posts written on A for B; B's inbox takes 30 a minute (a burst of 30,
/// then one every 2 s), so about ten of them wait for a retry.
const POSTS: i64 = 40;

#[tokio::test]
async fn a_flood_beyond_the_inbox_limit_gets_429_and_every_post_arrives_in_the_end() {
    each_backend!(|backend| flood(&backend));
}

async fn flood(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .set("HEARTH_FEDERATION_INBOX_RATE_LIMIT_PER_MINUTE", "30")
        .member("bea")
        .joins("bea", "circle@a")
        .start(backend)
        .await;
    let a = &rig.at("a").instance;
    let b = &rig.at("b").instance;
    let before = b.count("posts").await;
    for n in 0..POSTS {
        rig.at("a")
            .write("ann", "circle", json!({"title": format!("post {n}")}))
            .await;
    }
    // B refused some (429, `Retry-After`), A tried them again: every post
    // arrives, none is given up.
    wait_until("B to hold every post of the flood", || async {
        (b.count("posts").await - before >= POSTS).then_some(())
    })
    .await;
    let retried = a
        .scalar("SELECT COUNT(*) FROM deliveries WHERE attempts > 1")
        .await;
    assert!(
        retried > 0,
        "B never refused a delivery: the limit was not reached"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'failed'")
            .await,
        0
    );
    let log = std::fs::read_to_string(b.log_path()).unwrap();
    assert!(log.contains("rate limit reached"), "B never limited");

    // What B answers past its limit: 429 with `Retry-After`, seconds.
    let inbox = format!("{}/inbox", b.base);
    let client = reqwest::Client::new();
    let limited = wait_until("B's inbox to say 429", || async {
        let answer = client
            .post(&inbox)
            .header("content-type", "application/activity+json")
            .body("{}")
            .send()
            .await
            .unwrap();
        (answer.status() == StatusCode::TOO_MANY_REQUESTS).then_some(answer)
    })
    .await;
    let wait: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a 429 without Retry-After in seconds");
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
}

/// How long the slow clients may go on before the test fails: far beyond
/// the limits set below (2 s for headers, 3 s for a request).
const SLOW_DEADLINE: Duration = Duration::from_secs(60);

/// Open a connection that misbehaves with `send` (header bytes dribbled,
/// or nothing), counting it in `closed` once the server hangs up.
async fn slow_client(address: String, kind: Slow, closed: Arc<[AtomicUsize; 3]>) {
    let stream = TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let dribble = async move {
        let bytes: &[u8] = match kind {
            Slow::Headers => b"GET /api/v1/health HTTP/1.1\r\nHost: slow\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            Slow::Body => b"POST /api/v1/auth/register HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"username\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            Slow::Silent => b"",
        };
        for byte in bytes
            .iter()
            .cycle()
            .take(if bytes.is_empty() { 0 } else { 100_000 })
        {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            // The slow client's own pace, not a wait for the server.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        std::future::pending::<()>().await;
    };
    let hung_up = async move {
        let mut buffer = [0u8; 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = hung_up => {}
        () = dribble => {}
    }
    closed[kind as usize].fetch_add(1, Ordering::SeqCst);
}

#[derive(Debug, Clone, Copy)]
enum Slow {
    /// Headers a byte every 250 ms, never finished.
    Headers,
    /// Nothing at all after connecting.
    Silent,
    /// Headers at once, then the body a byte every 250 ms.
    Body,
}

#[tokio::test]
async fn slow_loris_connections_are_closed_and_others_are_still_served() {
    let a = Instance::start(
        &Backend::Sqlite,
        Options::default()
            .registration("open")
            .set("HEARTH_HTTP_HEADER_READ_TIMEOUT_SECS", 2)
            .set("HEARTH_HTTP_REQUEST_TIMEOUT_SECS", 3),
    )
    .await;
    let address = format!("127.0.0.1:{}", a.port);
    let closed: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
    let mut clients = Vec::new();
    let kinds = [Slow::Headers, Slow::Silent, Slow::Body];
    let total = 300;
    for n in 0..total {
        clients.push(tokio::spawn(slow_client(
            address.clone(),
            kinds[n % kinds.len()],
            closed.clone(),
        )));
    }
    // While they are open, others are served.
    let health = a.get("/api/v1/health", None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    a.register("ann", "a long enough passphrase").await;

    let started = std::time::Instant::now();
    loop {
        let by_kind = kinds.map(|k| closed[k as usize].load(Ordering::SeqCst));
        if by_kind.iter().sum::<usize>() == total {
            break;
        }
        assert!(
            started.elapsed() < SLOW_DEADLINE,
            "slow connections still open after {SLOW_DEADLINE:?}: closed by kind {:?} of {} each",
            kinds.iter().zip(by_kind).collect::<Vec<_>>(),
            total / kinds.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for client in clients {
        client.await.unwrap();
    }
    // And after them.
    let health = a.get("/api/v1/health", None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
}

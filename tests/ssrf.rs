//! Outbound safety with the SSRF guard on: a real Hearth server outside
//! test mode is asked to fetch from loopback, private and link-local
//! addresses in every spelling, directly and through redirects, and must
//! refuse each before a byte leaves; answers too large or too slow are cut
//! off.
//!
//! How a reachable first hop exists with the guard on: the Hearth process
//! sees its own hosts file (a mount namespace, `support::with_hosts_file`)
//! in which `lists.test` is 127.0.0.1, and is configured with
//! `federation.allow_private_hosts = ["lists.test:PORT"]`: that one name on
//! that one port is let through, exactly as an operator would allow a list
//! server on their own network. Everything else, including where
//! `lists.test` redirects to, is judged by the real guard. A second server,
//! the sink, listens on every loopback address (`[::]`, so 127.0.0.1, ::1
//! and ::ffff:127.0.0.1 all reach it) and counts requests: a refusal that
//! let a request through would show there.
//!
//! The way in is an admin subscribing to a published domain list
//! (`POST /api/v1/admin/domain_subscriptions`), which fetches at once and
//! answers with the fetch's error, and joining a group elsewhere (WebFinger).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Instance, Options};

const PW: &str = "a long enough passphrase";
const LIST: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                    spam.example,suspend,false,false,Spam,false\n";

/// A server on a thread and runtime of its own, counting every request
/// and every byte of the endless answers it streams.
struct Target {
    port: u16,
    hits: Arc<AtomicUsize>,
    streamed: Arc<AtomicU64>,
}

impl Target {
    /// `bind`: `127.0.0.1` or `[::]` (every loopback spelling).
    fn start(bind: &str) -> Target {
        use axum::extract::{Query, State};
        use axum::http::{StatusCode as Status, header};
        use axum::routing::get;

        let hits = Arc::new(AtomicUsize::new(0));
        let streamed = Arc::new(AtomicU64::new(0));
        let counted = hits.clone();
        let router = axum::Router::new()
            .route("/list", get(|| async { LIST }))
            // A redirect to wherever the test says.
            .route(
                "/to",
                get(
                    |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                        (Status::FOUND, [(header::LOCATION, q["url"].clone())])
                    },
                ),
            )
            // An answer that never ends, as fast as it is read.
            .route(
                "/big",
                get(|State(streamed): State<Arc<AtomicU64>>| async move {
                    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                    let body = futures::stream::repeat_with(move || {
                        streamed.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                        Ok::<_, Infallible>(chunk.clone())
                    });
                    Body::from_stream(body)
                }),
            )
            // Headers at once, then a byte now and then, forever.
            .route(
                "/slow",
                get(|| async {
                    let body = futures::stream::unfold((), |()| async {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        Some((Ok::<_, Infallible>(Bytes::from_static(b"x")), ()))
                    });
                    Body::from_stream(body)
                }),
            )
            // Never an answer at all.
            .route("/stall", get(std::future::pending::<&'static str>))
            .fallback(|| async { "nothing here" })
            .with_state(streamed.clone())
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ));
        let listener = std::net::TcpListener::bind(format!("{bind}:0")).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router).await.unwrap();
            });
        });
        Target {
            port,
            hits,
            streamed,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Hearth outside test mode, seeing `hosts` as its `/etc/hosts`, with
/// `lists.test` on `allowed_port` allowed; an admin's token.
async fn hearth(dir: &tempfile::TempDir, allowed_port: u16) -> (Instance, String) {
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n::1 localhost ip6-localhost\n\
         127.0.0.1 lists.test\n127.0.0.1 inner.test\n::1 inner6.test\n\
         ::ffff:127.0.0.1 mapped.test\n10.9.8.7 ten.test\n169.254.169.254 metadata.test\n",
    )
    .unwrap();
    let options = Options::default()
        .hosts_file(&hosts)
        .registration("open")
        .set("HEARTH_TEST_MODE", "false")
        .set(
            "HEARTH_FEDERATION_ALLOW_PRIVATE_HOSTS",
            format!("lists.test:{allowed_port}"),
        )
        .set("HEARTH_FEDERATION_REQUEST_TIMEOUT_SECS", 2);
    let instance = Instance::start(&Backend::Sqlite, options).await;
    instance.create_user("alice", PW, &["--admin"]);
    let token = instance.login("alice", PW).await;
    (instance, token)
}

/// Subscribe to a list at `url`: `Ok(entries)` when it was fetched,
/// `Err(error)` with the fetch's error.
async fn subscribe(a: &Instance, token: &str, url: &str) -> Result<u64, String> {
    let answer = a
        .post(
            "/api/v1/admin/domain_subscriptions",
            Some(token),
            json!({"url": url}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{url}: {}", answer.text);
    match answer.body["fetch"]["error"].as_str() {
        Some(error) => Err(error.to_owned()),
        None => Ok(answer.body["subscription"]["entries"].as_u64().unwrap()),
    }
}

#[track_caller]
fn assert_refused(url: &str, outcome: Result<u64, String>) {
    match outcome {
        Ok(entries) => panic!("{url} was fetched ({entries} entries)"),
        Err(error) => assert!(
            error.contains("address refused"),
            "{url}: not refused by the guard: {error}"
        ),
    }
}

fn encoded(url: &str) -> String {
    url::form_urlencoded::byte_serialize(url.as_bytes()).collect()
}

#[tokio::test]
async fn outside_test_mode_private_addresses_are_refused_directly_and_after_redirects() {
    let first = Target::start("127.0.0.1");
    let sink = Target::start("[::]");
    let dir = tempfile::tempdir().unwrap();
    let (a, root) = hearth(&dir, first.port).await;
    let allowed = format!("http://lists.test:{}", first.port);
    let s = sink.port;

    // The allowance works: the first hop is reachable, also through a
    // redirect that stays on it.
    assert_eq!(
        subscribe(&a, &root, &format!("{allowed}/list")).await,
        Ok(1)
    );
    let within = format!("{allowed}/to?url={}", encoded(&format!("{allowed}/list?b")));
    assert_eq!(subscribe(&a, &root, &within).await, Ok(1));
    assert_eq!(first.hits(), 3);

    // Every spelling of this machine and of private networks, asked for
    // directly. The URL parser turns numeric spellings into the address
    // they mean; the guard judges that address.
    let direct = [
        format!("http://127.0.0.1:{s}/list"),
        format!("http://2130706433:{s}/list"),
        format!("http://017700000001:{s}/list"),
        format!("http://0x7f000001:{s}/list"),
        format!("http://0x7f.1:{s}/list"),
        format!("http://127.1:{s}/list"),
        format!("http://0.0.0.0:{s}/list"),
        format!("http://0:{s}/list"),
        format!("http://[::1]:{s}/list"),
        format!("http://[::]:{s}/list"),
        format!("http://[::ffff:127.0.0.1]:{s}/list"),
        format!("http://[::ffff:7f00:1]:{s}/list"),
        format!("http://[::127.0.0.1]:{s}/list"),
        format!("http://[64:ff9b::7f00:1]:{s}/list"),
        format!("http://[2002:7f00:1::]:{s}/list"),
        format!("http://[fc00::1]:{s}/list"),
        "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
        format!("http://[fe80::1]:{s}/list"),
        "http://10.0.0.1/list".to_owned(),
        "http://172.16.0.1/list".to_owned(),
        "http://192.168.0.1/list".to_owned(),
        "http://100.64.0.1/list".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        // Names: this machine by rule (RFC 6761), and names the hosts file
        // resolves to loopback, IPv6 loopback, IPv4-mapped loopback, a
        // private and a link-local address.
        format!("http://localhost:{s}/list"),
        format!("http://LOCALHOST.:{s}/list"),
        format!("http://a.localhost:{s}/list"),
        format!("http://inner.test:{s}/list"),
        format!("http://inner6.test:{s}/list"),
        format!("http://mapped.test:{s}/list"),
        "http://ten.test/list".to_owned(),
        "http://metadata.test/latest/meta-data/".to_owned(),
        // The allowed name, on another port than the one allowed.
        format!("http://lists.test:{s}/list"),
    ];
    for (case, url) in direct.iter().enumerate() {
        // Many spellings are stored as the same address: one list each.
        let url = format!("{url}?case={case}");
        assert_refused(&url, subscribe(&a, &root, &url).await);
    }

    // The same, as where the allowed first hop redirects to: each hop is
    // judged again.
    let redirected = [
        format!("http://127.0.0.1:{s}/list"),
        format!("http://2130706433:{s}/list"),
        format!("http://[::1]:{s}/list"),
        format!("http://[::ffff:127.0.0.1]:{s}/list"),
        format!("http://localhost:{s}/list"),
        format!("http://inner.test:{s}/list"),
        format!("http://mapped.test:{s}/list"),
        format!("http://lists.test:{s}/list"),
        "http://10.0.0.1/list".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[fe80::1]:{s}/list"),
    ];
    let before = first.hits();
    for target in &redirected {
        let url = format!("{allowed}/to?url={}", encoded(target));
        assert_refused(&url, subscribe(&a, &root, &url).await);
    }
    // Each redirect was asked for (the first hop is allowed); not one of
    // its targets was reached.
    assert_eq!(first.hits(), before + redirected.len());
    assert_eq!(sink.hits(), 0, "a refused address was reached");
}

#[tokio::test]
async fn outside_test_mode_answers_too_large_or_too_slow_are_cut_off() {
    let first = Target::start("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let (a, root) = hearth(&dir, first.port).await;
    let allowed = format!("http://lists.test:{}", first.port);

    // An endless answer: dropped past the cap (1 MiB), not read on. What
    // the server managed to stream is the cap plus what the sockets'
    // buffers hold, nowhere near what a reader of everything would take.
    let error = subscribe(&a, &root, &format!("{allowed}/big"))
        .await
        .unwrap_err();
    assert!(error.contains("larger than"), "{error}");
    let streamed = first.streamed.load(Ordering::SeqCst);
    assert!(
        streamed < 64 * 1024 * 1024,
        "{streamed} bytes streamed for a 1 MiB cap"
    );

    // Headers, then a byte every 200 ms; and no answer at all. The
    // request timeout (2 s here) ends both; the subscription call itself
    // returns (the test client gives up after 30 s).
    for path in ["/slow", "/stall"] {
        let error = subscribe(&a, &root, &format!("{allowed}{path}"))
            .await
            .unwrap_err();
        let lower = error.to_ascii_lowercase();
        assert!(
            lower.contains("timed out") || lower.contains("timeout"),
            "{path}: {error}"
        );
        assert!(!error.contains("address refused"), "{path}: {error}");
    }
}

/// Joining a group by handle asks the handle's server (WebFinger, over
/// https on the standard port outside test mode): names that resolve to
/// this machine are refused by the guard, not merely found unreachable.
#[tokio::test]
async fn outside_test_mode_handles_on_private_names_are_refused() {
    let first = Target::start("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let (a, _root) = hearth(&dir, first.port).await;
    a.register("ann", PW).await;
    let ann = a.login("ann", PW).await;
    for target in [
        "@peers@inner.test",
        "@peers@inner6.test",
        "@peers@mapped.test",
        "@peers@metadata.test",
        "@peers@a.localhost",
        "https://inner.test/g/peers",
        "https://mapped.test/g/peers",
    ] {
        let answer = a
            .post("/api/v1/memberships", Some(&ann), json!({"target": target}))
            .await;
        answer.assert_problem(422, "validation-failed");
        assert_eq!(answer.body["field"], "target", "{target}: {}", answer.text);
    }
    assert_eq!(a.count("remote_actors").await, 0);
    assert_eq!(a.count("outbound_activities").await, 0);
}

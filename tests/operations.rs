//! Operating a server: what admins see of the delivery queue (API and
//! `hearth admin federation-status`) and what Prometheus reads at
//! `/metrics` on its own address. Each test polls until the numbers have
//! moved.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Instance, Options, wait_until};

const PW: &str = "a long enough passphrase";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// An instance with open sign-up, an admin `alice` and Prometheus metrics
/// on a port of their own; returns it with the admin's token and the
/// metrics URL.
async fn start(backend: &Backend) -> (Instance, String, String) {
    let port = free_port();
    let instance = Instance::start(
        backend,
        Options::default()
            .registration("open")
            .set("HEARTH_METRICS_BIND", format!("127.0.0.1:{port}")),
    )
    .await;
    instance.create_user("alice", PW, &["--admin"]);
    let token = instance.login("alice", PW).await;
    (instance, token, format!("http://127.0.0.1:{port}/metrics"))
}

async fn member(instance: &Instance, name: &str) -> String {
    instance.register(name, PW).await;
    instance.login(name, PW).await
}

/// `hearth admin federation-status ARGS`; panics unless it succeeds.
fn cli_status(instance: &Instance, extra: &[&str]) -> String {
    let mut args = vec!["admin", "federation-status"];
    args.extend_from_slice(extra);
    let (status, out, err) = instance.run(&args, "");
    assert!(status.success(), "federation-status failed: {out}{err}");
    out
}

/// The server entry for `authority` in an admin federation answer.
fn server<'a>(status: &'a Value, authority: &str) -> Option<&'a Value> {
    status["servers"]
        .as_array()?
        .iter()
        .find(|s| s["authority"] == authority)
}

/// One sample of a scrape: `name{labels}` exactly as written, or `name`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(url: &str) -> Option<String> {
    let resp = reqwest::get(url).await.ok()?;
    if resp.status() != StatusCode::OK {
        return None;
    }
    resp.text().await.ok()
}

#[tokio::test]
async fn only_admins_see_the_delivery_queue_and_an_idle_one_is_all_zeros() {
    each_backend!(|backend| async {
        let (a, root, _) = start(&backend).await;
        let ann = member(&a, "ann").await;

        a.get("/api/v1/admin/federation", None)
            .await
            .assert_problem(401, "not-authenticated");
        a.get("/api/v1/admin/federation", Some(&ann))
            .await
            .assert_problem(403, "forbidden");

        let status = a.get("/api/v1/admin/federation", Some(&root)).await;
        assert_eq!(status.status, StatusCode::OK, "{}", status.text);
        assert_eq!(
            status.body,
            json!({
                "queue": {
                    "pending": 0,
                    "sending": 0,
                    "delivered": 0,
                    "failed": 0,
                    "oldest_pending_at": null,
                    "oldest_pending_age_secs": null,
                },
                "servers": [],
            })
        );

        // The shell sees the same, as a table or as the API's JSON.
        let table = cli_status(&a, &[]);
        assert!(
            table.starts_with(
                "queue: 0 pending, 0 sending, 0 delivered, 0 failed; nothing waiting\n"
            ),
            "{table}"
        );
        let printed: Value = serde_json::from_str(&cli_status(&a, &["--json"])).unwrap();
        assert_eq!(printed, status.body);
    });
}

#[tokio::test]
async fn a_member_server_that_stops_answering_shows_in_the_status_and_the_metrics() {
    each_backend!(|backend| async {
        let (a, root, metrics) = start(&backend).await;
        let mut b =
            Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
        let ann = member(&a, "ann").await;
        let bob = member(&b, "bob").await;
        let created = a
            .post(
                "/api/v1/groups",
                Some(&ann),
                json!({"name": "peers", "title": "Peers", "join_policy": "open"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let joined = b
            .post(
                "/api/v1/memberships",
                Some(&bob),
                json!({"target": format!("@peers@localhost:{}", a.port)}),
            )
            .await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
        let b_authority = format!("localhost:{}", b.port);

        // A accepted bob: one delivery to B went through.
        wait_until("A's Accept to reach B", || async {
            let status = a.get("/api/v1/admin/federation", Some(&root)).await.body;
            server(&status, &b_authority)
                .filter(|s| s["delivered"].as_u64() >= Some(1) && s["state"] == "ok")
                .map(|_| ())
        })
        .await;

        // B goes away; ann's thread still has to reach bob there.
        let stopped = b.terminate().await;
        assert!(stopped.success(), "B did not stop cleanly: {stopped}");
        let written = a
            .post(
                "/api/v1/posts",
                Some(&ann),
                json!({"group": "peers", "title": "Anyone there?", "body": "Hello.", "support_kind": "emotional"}),
            )
            .await;
        assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);

        let status = wait_until("a failed attempt at B to be recorded", || async {
            let status = a.get("/api/v1/admin/federation", Some(&root)).await.body;
            let s = server(&status, &b_authority)?;
            (s["pending"].as_u64() >= Some(1)
                && s["consecutive_failures"].as_u64() >= Some(1)
                && s["last_error"].is_string())
            .then(|| status.clone())
        })
        .await;
        let queue = &status["queue"];
        assert!(
            queue["pending"].as_u64().unwrap() + queue["sending"].as_u64().unwrap() >= 1,
            "{status}"
        );
        assert!(queue["oldest_pending_age_secs"].is_u64(), "{status}");
        assert!(queue["oldest_pending_at"].is_string(), "{status}");
        let entry = server(&status, &b_authority).unwrap();
        assert!(entry["last_failure_at"].is_string(), "{entry}");
        assert!(entry["last_success_at"].is_string(), "{entry}");
        // B is the server that needs attention most.
        assert_eq!(status["servers"][0]["authority"], b_authority, "{status}");

        // The shell names B with its waiting deliveries.
        let table = cli_status(&a, &[]);
        let line = table
            .lines()
            .find(|l| l.starts_with(&b_authority))
            .unwrap_or_else(|| panic!("no line for {b_authority}:\n{table}"));
        assert!(
            line.contains(" ok ") || line.contains(" unreachable "),
            "{line}"
        );

        // Prometheus sees a queue that waits, and the failed attempt.
        let text = wait_until("metrics to count the failed attempt", || async {
            let text = scrape(&metrics).await?;
            (sample(
                &text,
                "hearth_deliveries_attempted_total{outcome=\"retried\"}",
            )? >= 1.0)
                .then_some(text)
        })
        .await;
        let waiting = sample(&text, "hearth_deliveries{state=\"pending\"}").unwrap()
            + sample(&text, "hearth_deliveries{state=\"sending\"}").unwrap();
        assert!(waiting >= 1.0, "{text}");
        assert!(
            sample(&text, "hearth_deliveries{state=\"delivered\"}").unwrap() >= 1.0,
            "{text}"
        );
        assert!(
            sample(&text, "hearth_delivery_oldest_pending_seconds").unwrap() >= 0.0,
            "{text}"
        );
        assert!(
            sample(&text, "hearth_servers{state=\"ok\"}").unwrap()
                + sample(&text, "hearth_servers{state=\"unreachable\"}").unwrap()
                >= 1.0,
            "{text}"
        );
    });
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let (a, _, metrics) = start(&Backend::Sqlite).await;
    let text = wait_until("the metrics endpoint", || scrape(&metrics)).await;
    let resp = reqwest::get(&metrics).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let version = a.get("/api/v1/instance", None).await.body["version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        sample(
            &text,
            &format!("hearth_build_info{{version=\"{version}\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "hearth_database_up"), Some(1.0), "{text}");
    for state in ["pending", "sending", "delivered", "failed"] {
        assert_eq!(
            sample(&text, &format!("hearth_deliveries{{state=\"{state}\"}}")),
            Some(0.0),
            "{text}"
        );
    }
    assert_eq!(
        sample(&text, "hearth_delivery_oldest_pending_seconds"),
        Some(0.0)
    );
    for state in ["ok", "unreachable"] {
        assert_eq!(
            sample(&text, &format!("hearth_servers{{state=\"{state}\"}}")),
            Some(0.0),
            "{text}"
        );
    }
    // Every family says what it is.
    for family in [
        "hearth_build_info",
        "hearth_deliveries",
        "hearth_delivery_oldest_pending_seconds",
        "hearth_servers",
        "hearth_deliveries_attempted_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family}: {text}"
        );
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family}: {text}"
        );
    }

    // Not on the public listener, and nothing else on the metrics one.
    a.get("/metrics", None)
        .await
        .assert_problem(404, "not-found");
    let other = reqwest::get(metrics.replace("/metrics", "/api/v1/health"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bad_or_taken_metrics_address_stops_start_up_naming_the_key() {
    let a = Instance::start(&Backend::Sqlite, Options::default()).await;
    let (status, out, err) = a.run(&["config", "check"], "");
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("[metrics]"), "{out}");

    let mut cmd = a.command(&["config", "check"]);
    cmd.env("HEARTH_METRICS_BIND", "localhost");
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`metrics.bind`") && err.contains("HEARTH_METRICS_BIND"),
        "{err}"
    );

    // A metrics port already taken stops `serve` at once, naming the key.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = a.command(&["serve"]);
    cmd.env("HEARTH_BIND", format!("127.0.0.1:{}", free_port()))
        .env(
            "HEARTH_METRICS_BIND",
            taken.local_addr().unwrap().to_string(),
        );
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > support::DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve kept running with metrics.bind on a taken port");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.contains("`metrics.bind`"), "{err}");
}

#[tokio::test]
async fn only_admins_set_domain_rules_and_bad_ones_name_their_field() {
    each_backend!(|backend| async {
        let (a, root, _) = start(&backend).await;
        let ann = member(&a, "ann").await;
        let rule = json!({"domain": "Spam.Example", "action": "suspend", "public_reason": "spam", "private_reason": "reports 3 and 4"});

        a.get("/api/v1/admin/domain_rules", None)
            .await
            .assert_problem(401, "not-authenticated");
        a.post("/api/v1/admin/domain_rules", Some(&ann), rule.clone())
            .await
            .assert_problem(403, "forbidden");
        a.request(
            reqwest::Method::DELETE,
            "/api/v1/admin/domain_rules/spam.example",
            Some(&ann),
            None,
        )
        .await
        .assert_problem(403, "forbidden");

        for (bad, field) in [
            (
                json!({"domain": "not a domain", "action": "suspend"}),
                "domain",
            ),
            (json!({"domain": "b.example", "action": "ban"}), "action"),
            (
                json!({"domain": "b.example", "action": "suspend", "expires_at": "2020-01-01T00:00:00Z"}),
                "expires_at",
            ),
        ] {
            let answer = a.post("/api/v1/admin/domain_rules", Some(&root), bad).await;
            answer.assert_problem(422, "validation-failed");
            assert_eq!(answer.body["field"], field, "{}", answer.text);
        }

        let set = a
            .post("/api/v1/admin/domain_rules", Some(&root), rule)
            .await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.text);
        assert_eq!(set.body["rule"]["domain"], "spam.example");
        assert_eq!(set.body["cut_off"]["deliveries_given_up"], 0);
        let listed = a.get("/api/v1/admin/domain_rules", Some(&root)).await;
        assert_eq!(listed.body["mode"], "blocklist");
        let rules = listed.body["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1, "{}", listed.text);
        assert_eq!(rules[0]["action"], "suspend");
        assert_eq!(rules[0]["private_reason"], "reports 3 and 4");
        assert_eq!(rules[0]["subscription"], Value::Null);

        let path = "/api/v1/admin/domain_rules/spam.example";
        let removed = a
            .request(reqwest::Method::DELETE, path, Some(&root), None)
            .await;
        assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
        a.request(reqwest::Method::DELETE, path, Some(&root), None)
            .await
            .assert_problem(404, "not-found");
        let listed = a.get("/api/v1/admin/domain_rules", Some(&root)).await;
        assert_eq!(listed.body["rules"], json!([]));

        // Both changes are in the moderation log, which only admins read.
        let log = a.get("/api/v1/admin/moderation_log", Some(&root)).await;
        let actions: Vec<&str> = log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["remove_domain_rule", "set_domain_rule"],
            "{}",
            log.text
        );
        assert_eq!(log.body["items"][1]["target"], "spam.example");
        a.get("/api/v1/admin/moderation_log", Some(&ann))
            .await
            .assert_problem(403, "forbidden");
    });
}

#[tokio::test]
async fn domain_blocks_import_from_and_export_to_mastodons_csv() {
    let (a, _, _) = start(&Backend::Sqlite).await;
    let csv = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
               spam.example,suspend,false,false,Spam,false\n\
               \"not a domain, really\",suspend,false,false,,false\n\
               quiet.example,silence,true,false,Noisy,false\n\
               nothing.example,noop,false,false,,false\n\
               Loud.Example,suspend,false,false,\"Harassment, repeated\",false\n";
    let file = a.data_dir().join("blocks.csv");
    std::fs::write(&file, csv).unwrap();
    let path = file.to_str().unwrap();

    let (status, out, err) = a.run(&["admin", "domains", "import", path, "--dry-run"], "");
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("3 domain rules would be set, 2 lines left out"),
        "{out}"
    );
    assert!(
        out.contains("line 3: left out not a domain, really"),
        "{out}"
    );
    assert!(
        out.contains("line 5: left out nothing.example: noop asks for nothing"),
        "{out}"
    );
    let (_, listed, _) = a.run(&["admin", "domains", "list"], "");
    assert!(
        !listed.contains("spam.example"),
        "a dry run sets nothing: {listed}"
    );

    let (status, out, err) = a.run(&["admin", "domains", "import", path], "");
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("3 domain rules set, 2 lines left out"),
        "{out}"
    );
    let (status, exported, err) = a.run(&["admin", "domains", "export"], "");
    assert!(status.success(), "{err}");
    assert_eq!(
        exported,
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         loud.example,suspend,false,false,\"Harassment, repeated\",false\n\
         quiet.example,silence,false,false,Noisy,false\n\
         spam.example,suspend,false,false,Spam,false\n"
    );

    // Another server takes the export as it is, from standard input.
    let (b, _, _) = start(&Backend::Sqlite).await;
    let (status, out, err) = b.run(&["admin", "domains", "import", "-"], &exported);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("3 domain rules set, 0 lines left out"),
        "{out}"
    );
    let (_, again, _) = b.run(&["admin", "domains", "export"], "");
    assert_eq!(again, exported);

    // A missing file is named.
    let (status, _, err) = a.run(
        &["admin", "domains", "import", "/nonexistent/blocks.csv"],
        "",
    );
    assert!(!status.success());
    assert!(err.contains("/nonexistent/blocks.csv"), "{err}");
}

//! The OpenAPI document against the running server, by schemathesis
//! (PyPI): it generates requests for every operation the document lists,
//! valid and invalid, as an admin, and checks every answer:
//!
//! - no 5xx, ever;
//! - every status, content type and body is one the document declares
//!   (problems included).
//!
//! The server is real (SQLite file, test mode) and holds a group, threads,
//! a reply and a report, so reads find something. Bounded: a fixed seed,
//! `HEARTH_SCHEMATHESIS_SECS` seconds (default 120) and a few examples per
//! operation. tests/run installs schemathesis and sets
//! `HEARTH_SCHEMATHESIS`; without it the test says so and does nothing
//! (`HEARTH_REQUIRE_SCHEMATHESIS=1` makes that a failure, as in CI).
//!
//! Also here, without schemathesis: the document is served, is OpenAPI
//! 3.1, and its browsable page shows every operation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Instance, Options};

const PASSWORD: &str = "correct horse battery staple";

async fn instance() -> (Instance, String) {
    let a = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    a.create_user("nurse", PASSWORD, &["--admin"]);
    let admin = a.login("nurse", PASSWORD).await;
    a.register("ann", PASSWORD).await;
    let ann = a.login("ann", PASSWORD).await;
    let made = a
        .post(
            "/api/v1/groups",
            Some(&admin),
            json!({"name": "circle", "title": "Circle", "visibility": "public", "join_policy": "open"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let joined = a
        .post("/api/v1/groups/circle/join", Some(&ann), json!({}))
        .await;
    assert!(joined.status.is_success(), "{}", joined.text);
    let thread = a
        .post(
            "/api/v1/posts",
            Some(&ann),
            json!({"group": "circle", "title": "Morning walks", "body": "They *help* me.", "support_kind": "emotional"}),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.text);
    let id = thread.body["id"].as_str().unwrap();
    let reply = a
        .post(
            &format!("/api/v1/posts/{id}/replies"),
            Some(&admin),
            json!({"body": "Same here."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let report = a
        .post(
            "/api/v1/reports",
            Some(&admin),
            json!({"post_id": id, "category": "spam", "comment": "testing"}),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.text);
    (a, admin)
}

#[tokio::test]
async fn the_document_is_served_and_readable() {
    let (a, _) = instance().await;
    let doc = a.get("/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    // The server's own public address (in test mode, localhost and the port).
    let server = doc.body["servers"][0]["url"].as_str().unwrap();
    assert!(server.ends_with(&format!(":{}", a.port)), "{server}");
    let page = a.get("/api/docs", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let mut operations = 0;
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let heading = format!("{} {}", method.to_uppercase(), path);
            assert!(page.text.contains(&heading), "the page lacks {heading}");
            assert!(
                page.text.contains(&format!(
                    "id=\"op-{}\"",
                    op["operationId"].as_str().unwrap()
                )),
                "{heading}"
            );
        }
    }
    assert!(operations > 90, "only {operations} operations");
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let Ok(schemathesis) = std::env::var("HEARTH_SCHEMATHESIS") else {
        assert!(
            std::env::var("HEARTH_REQUIRE_SCHEMATHESIS").as_deref() != Ok("1"),
            "HEARTH_REQUIRE_SCHEMATHESIS=1 but HEARTH_SCHEMATHESIS is not set: run tests/run"
        );
        eprintln!("schemathesis is not installed: run tests/run to include this test");
        return;
    };
    let (a, admin) = instance().await;
    let secs: u64 = std::env::var("HEARTH_SCHEMATHESIS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let report = tempfile::tempdir().unwrap();
    let output = tokio::task::spawn_blocking({
        let url = a.url("/api/v1/openapi.json");
        let report = report.path().to_owned();
        move || {
            Command::new(schemathesis)
                .arg("run")
                .arg(url)
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                    "--header",
                ])
                .arg(format!("Authorization: Bearer {admin}"))
                // Operations that would end the admin's session or
                // account, which every later request needs.
                .args([
                    "--exclude-operation-id",
                    "auth_logout",
                    "--exclude-operation-id",
                    "erasure_delete_mine",
                    "--exclude-operation-id",
                    "erasure_delete_member",
                    "--exclude-operation-id",
                    "me_change_password",
                ])
                .args(["--max-examples", "12", "--seed", "16", "--workers", "1"])
                .args(["--max-time", &secs.to_string()])
                .args(["--request-timeout", "20", "--no-shrink"])
                .args(["--suppress-health-check", "all"])
                .arg("--report-dir")
                .arg(&report)
                .env("NO_COLOR", "1")
                // Its caches and reports stay out of the checkout.
                .current_dir(&report)
                .output()
                .expect("schemathesis runs")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "schemathesis found problems (above); the server's log ends:\n{}",
        a.logs()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

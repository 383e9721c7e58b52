//! The server process itself: health, problem documents for every error,
//! request ids, body limits, restarts on an existing database, and a clean
//! shutdown on SIGTERM in the middle of requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use support::{Backend, Instance, Options, wait_until};

const PW: &str = "a long enough passphrase";

#[tokio::test]
async fn health_and_instance_information_answer() {
    each_backend!(|backend| async {
        let hearth = Instance::start(
            &backend,
            Options::default().set("HEARTH_INSTANCE_NAME", "Type 1 Peers"),
        )
        .await;
        let health = hearth.get("/api/v1/health", None).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.body, json!({"status": "ok", "database": "ok"}));
        let info = hearth.get("/api/v1/instance", None).await;
        assert_eq!(info.body["name"], "Type 1 Peers");
        assert_eq!(info.body["software"], "hearth");
        assert_eq!(info.body["domain"], format!("localhost:{}", hearth.port));
        assert_eq!(info.body["registration_mode"], "approval");
    });
}

#[tokio::test]
async fn every_error_is_a_problem_document_with_a_request_id() {
    let hearth = Instance::start(&Backend::Sqlite, Options::default()).await;
    let missing = hearth.get("/api/v1/nothing-here", None).await;
    missing.assert_problem(404, "not-found");
    assert!(
        missing
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 32)
    );

    let wrong_method = hearth
        .request(Method::DELETE, "/api/v1/health", None, None)
        .await;
    wrong_method.assert_problem(405, "method-not-allowed");

    let bad_query = hearth.get("/api/v1/admin/accounts?limit=lots", None).await;
    // Authentication is checked first: the caller learns nothing about the
    // endpoint before logging in.
    bad_query.assert_problem(401, "not-authenticated");

    // A request id sent by a proxy is kept.
    let resp = reqwest::Client::new()
        .get(hearth.url("/api/v1/health"))
        .header("x-request-id", "proxy-id-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "proxy-id-123");
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413_and_nothing_is_written() {
    let hearth = Instance::start(
        &Backend::Sqlite,
        Options::default()
            .registration("open")
            .set("HEARTH_HTTP_MAX_BODY_BYTES", 2048),
    )
    .await;
    let big = json!({"username": "ann", "password": PW, "bio": "x".repeat(4096)});
    let answer = hearth
        .post_raw(
            "/api/v1/auth/register",
            "application/json",
            serde_json::to_vec(&big).unwrap(),
        )
        .await;
    answer.assert_problem(413, "body-too-large");
    assert_eq!(hearth.count("users").await, 0);
}

#[tokio::test]
async fn restart_on_an_existing_database_keeps_data_and_applies_no_migration_twice() {
    each_backend!(|backend| async {
        let mut hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("ann", PW).await;
        let token = hearth.login("ann", PW).await;
        let migrations = hearth.count("seaql_migrations").await;
        assert!(migrations >= 2, "all migrations applied on first start");

        hearth.restart().await;
        assert!(
            !hearth
                .logs()
                .split("hearth is listening")
                .nth(1)
                .unwrap()
                .contains("applied migration")
        );
        assert_eq!(hearth.count("seaql_migrations").await, migrations);
        let me = hearth.get("/api/v1/me", Some(&token)).await;
        assert_eq!(
            me.status,
            StatusCode::OK,
            "a session survives a restart: {}",
            me.text
        );
        hearth.login("ann", PW).await;
    });
}

#[tokio::test]
async fn sigterm_in_the_middle_of_requests_leaves_the_database_consistent() {
    each_backend!(|backend| async {
        let mut hearth = Instance::start(&backend, Options::default().registration("open")).await;
        let client = reqwest::Client::new();
        let url = hearth.url("/api/v1/auth/register");

        // Sign-ups hash a password and make an RSA key, so they take a
        // while: many are in flight when the signal arrives.
        let sign_ups = (0..30).map(|i| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let result = client
                    .post(url)
                    .json(&json!({"username": format!("m{i}"), "password": PW}))
                    .send()
                    .await;
                (format!("m{i}"), result.map(|r| r.status()))
            }
        });
        let all = tokio::spawn(join_all(sign_ups));
        // Signal as soon as the first account exists, i.e. mid-stream.
        wait_until("first sign-up to land", || async {
            (hearth.count("users").await > 0).then_some(())
        })
        .await;
        let landed_before_signal = hearth.count("users").await;
        let status = hearth.terminate().await;
        assert!(
            status.success(),
            "SIGTERM should exit cleanly, got {status}; log:\n{}",
            hearth.logs()
        );
        let results = all.await.unwrap();

        let confirmed: Vec<&String> = results
            .iter()
            .filter(|(_, r)| matches!(r, Ok(s) if *s == StatusCode::CREATED))
            .map(|(n, _)| n)
            .collect();
        let refused = results.iter().filter(|(_, r)| r.is_err()).count();
        eprintln!(
            "{landed_before_signal} stored when SIGTERM was sent; {} confirmed, {refused} refused after it",
            confirmed.len()
        );
        assert!(
            (landed_before_signal as usize) < results.len(),
            "the signal must arrive while sign-ups are still in flight"
        );
        assert!(!confirmed.is_empty());
        for (name, result) in &results {
            if let Ok(status) = result {
                assert_eq!(
                    *status,
                    StatusCode::CREATED,
                    "{name}: requests in flight must finish, not fail"
                );
            }
        }

        // Every confirmed account is there, whole; nothing half-written.
        let db = hearth.db().await;
        let backend_kind = db.get_database_backend();
        if backend == Backend::Sqlite {
            let row = db
                .query_one_raw(Statement::from_string(
                    backend_kind,
                    "PRAGMA integrity_check",
                ))
                .await
                .unwrap()
                .unwrap();
            let verdict: String = row.try_get_by_index(0).unwrap();
            assert_eq!(verdict, "ok");
        }
        let rows = db
            .query_all_raw(Statement::from_string(
                backend_kind,
                "SELECT username, password_hash, public_key_pem, private_key_pem FROM users",
            ))
            .await
            .unwrap();
        let stored: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "username").unwrap())
            .collect();
        for row in &rows {
            let hash: String = row.try_get("", "password_hash").unwrap();
            let public: String = row.try_get("", "public_key_pem").unwrap();
            let private: String = row.try_get("", "private_key_pem").unwrap();
            assert!(
                hash.starts_with("$argon2id$")
                    && public.contains("PUBLIC KEY")
                    && private.contains("PRIVATE KEY")
            );
        }
        for name in &confirmed {
            assert!(stored.contains(name), "{name} was confirmed but is missing");
        }
        db.close().await.unwrap();

        // And the server starts again on it.
        hearth.restart().await;
        hearth.login(confirmed[0], PW).await;
    });
}

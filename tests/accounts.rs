//! Accounts over the real HTTP API: register, log in and out, profiles,
//! registration modes, admin approval, and what bad input does (and does
//! not) write. Each test runs on SQLite and, when configured, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Backend, Instance, Options};

const PW: &str = "a long enough passphrase";

#[tokio::test]
async fn admin_created_by_cli_logs_in_and_wrong_password_gets_401_writing_nothing() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default()).await;
        hearth.create_user("alice", PW, &["--admin"]);

        let token = hearth.login("alice", PW).await;
        let me = hearth.get("/api/v1/me", Some(&token)).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.body["username"], "alice");
        assert_eq!(me.body["role"], "admin");
        assert_eq!(me.body["status"], "active");
        assert!(me.body["id"].is_string(), "ids are strings: {}", me.text);

        // Usernames are case-insensitive at log-in.
        hearth.login("ALICE", PW).await;

        let users = hearth.count("users").await;
        let tokens = hearth.count("access_tokens").await;
        let wrong = hearth
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "alice", "password": "wrong password"}),
            )
            .await;
        wrong.assert_problem(401, "bad-credentials");
        let unknown = hearth
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "nobody", "password": PW}),
            )
            .await;
        unknown.assert_problem(401, "bad-credentials");
        assert_eq!(
            wrong.body["title"], unknown.body["title"],
            "must not reveal which usernames exist"
        );
        assert_eq!(hearth.count("users").await, users);
        assert_eq!(hearth.count("access_tokens").await, tokens);
    });
}

#[tokio::test]
async fn duplicate_username_gets_409_in_any_case_and_writes_nothing() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("Ann", PW).await;
        let before = hearth.count("users").await;

        for name in ["Ann", "ann", "ANN"] {
            let again = hearth
                .post(
                    "/api/v1/auth/register",
                    None,
                    json!({"username": name, "password": PW}),
                )
                .await;
            again.assert_problem(409, "username-taken");
            assert_eq!(again.body["field"], "username");
        }
        // The CLI path hits the same rule.
        let (status, _, err) = hearth.run(
            &["admin", "create-user", "aNN", "--password-stdin"],
            &format!("{PW}\n"),
        );
        assert!(!status.success());
        assert!(err.contains("username: already taken"), "{err}");
        assert_eq!(hearth.count("users").await, before);
    });
}

#[tokio::test]
async fn concurrent_sign_ups_of_one_name_create_exactly_one_account() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        let attempts = (0..8).map(|i| {
            let name = if i % 2 == 0 { "Zoe" } else { "zoe" };
            hearth.post(
                "/api/v1/auth/register",
                None,
                json!({"username": name, "password": PW}),
            )
        });
        let answers = join_all(attempts).await;
        let created = answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count();
        let conflicts = answers
            .iter()
            .filter(|a| a.status == StatusCode::CONFLICT)
            .count();
        assert_eq!(
            (created, conflicts),
            (1, 7),
            "{:?}",
            answers.iter().map(|a| &a.text).collect::<Vec<_>>()
        );
        assert_eq!(hearth.count("users").await, 1);
    });
}

#[tokio::test]
async fn malformed_body_gets_400_naming_the_problem_and_writes_nothing() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;

        let broken = hearth
            .post_raw(
                "/api/v1/auth/register",
                "application/json",
                br#"{"username": "ann", "password": "#.to_vec(),
            )
            .await;
        broken.assert_problem(400, "malformed-json");
        assert!(
            broken.body["detail"]
                .as_str()
                .unwrap()
                .contains("line 1 column"),
            "{}",
            broken.text
        );

        let missing = hearth
            .post("/api/v1/auth/register", None, json!({"username": "ann"}))
            .await;
        missing.assert_problem(422, "validation-failed");
        assert_eq!(missing.body["field"], "password");
        assert_eq!(missing.body["errors"][0]["code"], "required");

        let mistyped = hearth
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": ["ann"], "password": PW}),
            )
            .await;
        mistyped.assert_problem(422, "validation-failed");
        assert_eq!(mistyped.body["field"], "username");

        let not_json = hearth
            .post_raw(
                "/api/v1/auth/register",
                "text/plain",
                b"username=ann".to_vec(),
            )
            .await;
        not_json.assert_problem(415, "unsupported-media-type");

        let nested = hearth
            .post_raw(
                "/api/v1/auth/register",
                "application/json",
                "[".repeat(5000).into_bytes(),
            )
            .await;
        nested.assert_problem(400, "malformed-json");

        assert_eq!(hearth.count("users").await, 0);
    });
}

#[tokio::test]
async fn invalid_fields_are_all_reported_by_name_and_nothing_is_written() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        let bad = hearth
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": "no spaces", "password": "short", "email": "not-an-email"}),
            )
            .await;
        bad.assert_problem(422, "validation-failed");
        let fields: Vec<&str> = bad.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["username", "password", "email"]);
        assert!(
            bad.body["errors"][1]["message"]
                .as_str()
                .unwrap()
                .contains("8 characters")
        );
        assert_eq!(hearth.count("users").await, 0);
    });
}

#[tokio::test]
async fn approval_mode_keeps_sign_ups_pending_until_an_admin_decides() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("approval")).await;
        hearth.create_user("admin1", PW, &["--admin"]);
        let admin = hearth.login("admin1", PW).await;

        let mut ids = Vec::new();
        for name in ["p1", "p2", "p3"] {
            let answer = hearth
                .post(
                    "/api/v1/auth/register",
                    None,
                    json!({"username": name, "password": PW, "reason": "My sister has MS"}),
                )
                .await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
            assert_eq!(answer.body["account"]["status"], "pending");
            ids.push(answer.body["account"]["id"].as_str().unwrap().to_owned());
        }
        hearth
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "p1", "password": PW}),
            )
            .await
            .assert_problem(403, "account-pending");

        // A member cannot see the queue.
        hearth.create_user("member1", PW, &[]);
        let member = hearth.login("member1", PW).await;
        hearth
            .get("/api/v1/admin/accounts?status=pending", Some(&member))
            .await
            .assert_problem(403, "forbidden");

        // Cursor pagination over the pending queue.
        let first = hearth
            .get(
                "/api/v1/admin/accounts?status=pending&limit=2",
                Some(&admin),
            )
            .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let names: Vec<&str> = first.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["p1", "p2"]);
        assert_eq!(
            first.body["items"][0]["registration_reason"],
            "My sister has MS"
        );
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = hearth
            .get(
                &format!("/api/v1/admin/accounts?status=pending&limit=2&cursor={cursor}"),
                Some(&admin),
            )
            .await;
        let names: Vec<&str> = second.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["p3"]);
        assert!(second.body["next_cursor"].is_null());
        hearth
            .get("/api/v1/admin/accounts?cursor=garbage", Some(&admin))
            .await
            .assert_problem(400, "invalid-query");
        hearth
            .get("/api/v1/admin/accounts?status=sleeping", Some(&admin))
            .await
            .assert_problem(400, "invalid-query");

        let approved = hearth
            .post(
                &format!("/api/v1/admin/accounts/{}/approve", ids[0]),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(approved.body["status"], "active", "{}", approved.text);
        hearth.login("p1", PW).await;

        let rejected = hearth
            .post(
                &format!("/api/v1/admin/accounts/{}/reject", ids[1]),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(rejected.body["status"], "rejected");
        hearth
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "p2", "password": PW}),
            )
            .await
            .assert_problem(403, "account-not-active");
        // Deciding twice is refused.
        hearth
            .post(
                &format!("/api/v1/admin/accounts/{}/approve", ids[1]),
                Some(&admin),
                json!({}),
            )
            .await
            .assert_problem(422, "validation-failed");
        hearth
            .post(
                "/api/v1/admin/accounts/999999/approve",
                Some(&admin),
                json!({}),
            )
            .await
            .assert_problem(404, "not-found");

        // The CLI approves too.
        let (status, out, err) = hearth.run(&["admin", "approve-user", "p3"], "");
        assert!(status.success(), "{out}{err}");
        hearth.login("p3", PW).await;
    });
}

#[tokio::test]
async fn closed_registration_refuses_sign_ups_but_admins_still_create_accounts() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("closed")).await;
        hearth
            .post(
                "/api/v1/auth/register",
                None,
                json!({"username": "ann", "password": PW}),
            )
            .await
            .assert_problem(403, "registration-closed");
        assert_eq!(hearth.count("users").await, 0);
        hearth.create_user("ann", PW, &[]);
        hearth.login("ann", PW).await;
        let info = hearth.get("/api/v1/instance", None).await;
        assert_eq!(info.body["registration_mode"], "closed");
        assert_eq!(info.body["stats"]["accounts"], 1);
    });
}

#[tokio::test]
async fn logout_revokes_the_token_and_only_that_token() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("ann", PW).await;
        let phone = hearth.login("ann", PW).await;
        let laptop = hearth.login("ann", PW).await;

        let out = hearth
            .request(Method::POST, "/api/v1/auth/logout", Some(&phone), None)
            .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        hearth
            .get("/api/v1/me", Some(&phone))
            .await
            .assert_problem(401, "not-authenticated");
        assert_eq!(
            hearth.get("/api/v1/me", Some(&laptop)).await.status,
            StatusCode::OK
        );

        let none = hearth.get("/api/v1/me", None).await;
        none.assert_problem(401, "not-authenticated");
        assert!(
            none.header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
        hearth
            .get("/api/v1/me", Some("made-up-token"))
            .await
            .assert_problem(401, "not-authenticated");
    });
}

#[tokio::test]
async fn tokens_are_stored_only_as_digests() {
    let hearth = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    hearth.register("ann", PW).await;
    let token = hearth.login("ann", PW).await;
    let raw = std::fs::read(hearth.data_dir().join("hearth.sqlite3")).unwrap();
    let wal = std::fs::read(hearth.data_dir().join("hearth.sqlite3-wal")).unwrap_or_default();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&raw, token.as_bytes()) && !contains(&wal, token.as_bytes()));
    assert!(!contains(&raw, PW.as_bytes()) && !contains(&wal, PW.as_bytes()));
}

#[tokio::test]
async fn profile_changes_are_validated_and_email_stays_private_to_its_owner() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("ann", PW).await;
        let token = hearth.login("ann", PW).await;

        let too_long = hearth
            .request(
                Method::PATCH,
                "/api/v1/me",
                Some(&token),
                Some(json!({"display_name": "x".repeat(101)})),
            )
            .await;
        too_long.assert_problem(422, "validation-failed");
        assert_eq!(too_long.body["field"], "display_name");

        let ok = hearth
            .request(
                Method::PATCH,
                "/api/v1/me",
                Some(&token),
                Some(json!({"display_name": "  Ann B ", "bio": "Type 1 since 2009.", "email": "ann@example.org"})),
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
        assert_eq!(ok.body["display_name"], "Ann B");
        assert_eq!(ok.body["email"], "ann@example.org");

        let cleared = hearth
            .request(
                Method::PATCH,
                "/api/v1/me",
                Some(&token),
                Some(json!({"email": ""})),
            )
            .await;
        assert!(cleared.body["email"].is_null());
        assert_eq!(cleared.body["bio"], "Type 1 since 2009.");
    });
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_ends_every_session() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("ann", PW).await;
        let token = hearth.login("ann", PW).await;
        let other = hearth.login("ann", PW).await;

        let wrong = hearth
            .post(
                "/api/v1/me/password",
                Some(&token),
                json!({"current_password": "nope nope", "new_password": "another passphrase"}),
            )
            .await;
        wrong.assert_problem(422, "validation-failed");
        assert_eq!(wrong.body["field"], "current_password");

        let weak = hearth
            .post(
                "/api/v1/me/password",
                Some(&token),
                json!({"current_password": PW, "new_password": "short"}),
            )
            .await;
        assert_eq!(weak.body["field"], "new_password");

        let changed = hearth
            .post(
                "/api/v1/me/password",
                Some(&token),
                json!({"current_password": PW, "new_password": "another passphrase"}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
        hearth
            .get("/api/v1/me", Some(&other))
            .await
            .assert_problem(401, "not-authenticated");
        hearth
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "ann", "password": PW}),
            )
            .await
            .assert_problem(401, "bad-credentials");
        hearth.login("ann", "another passphrase").await;
    });
}

#[tokio::test]
async fn log_in_attempts_are_rate_limited_per_client() {
    let hearth = Instance::start(
        &Backend::Sqlite,
        Options::default()
            .registration("open")
            .set("HEARTH_AUTH_RATE_LIMIT_PER_MINUTE", 3),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let a = hearth
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "ann", "password": "guess guess"}),
            )
            .await;
        statuses.push(a.status.as_u16());
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            a.assert_problem(429, "rate-limited");
            let wait: u64 = a.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "retry-after {wait}");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // Other endpoints are not affected.
    assert_eq!(
        hearth.get("/api/v1/health", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn many_concurrent_sign_ups_and_log_ins_never_hit_a_locked_database() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        let names: Vec<String> = (0..24).map(|i| format!("member{i}")).collect();
        let sign_ups = names.iter().map(|n| {
            hearth.post(
                "/api/v1/auth/register",
                None,
                json!({"username": n, "password": PW}),
            )
        });
        for a in join_all(sign_ups).await {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        }
        let log_ins = names.iter().map(|n| {
            hearth.post(
                "/api/v1/auth/login",
                None,
                json!({"username": n, "password": PW}),
            )
        });
        for a in join_all(log_ins).await {
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        }
        assert_eq!(hearth.count("users").await, 24);
        assert_eq!(hearth.count("access_tokens").await, 24);
    });
}

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

// ---- the first-run setup link ----------------------------------------

/// Every setup link an instance printed so far, oldest first (its stdout
/// line and its log line name the same link once).
fn setup_links(hearth: &Instance) -> Vec<String> {
    let logs = hearth.logs();
    let mut links: Vec<String> = Vec::new();
    for (at, _) in logs.match_indices("/setup/") {
        let token: String = logs[at + "/setup/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !token.is_empty() && links.last() != Some(&token) {
            links.push(token);
        }
    }
    links
}

/// A browser that opened `/setup/{token}`: its client (holding the CSRF
/// cookie), the answer's status and page.
async fn open_setup(hearth: &Instance, token: &str) -> (reqwest::Client, StatusCode, String) {
    let client = support::browser();
    let page = client
        .get(hearth.url(&format!("/setup/{token}")))
        .send()
        .await
        .unwrap();
    let status = page.status();
    (client, status, page.text().await.unwrap())
}

async fn submit_setup(
    hearth: &Instance,
    client: &reqwest::Client,
    token: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    let answer = client
        .post(hearth.url(&format!("/setup/{token}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.text().await.unwrap())
}

#[tokio::test]
async fn a_fresh_server_prints_a_setup_link_that_creates_the_admin_exactly_once() {
    each_backend!(|backend| async {
        let mut hearth = Instance::start(&backend, Options::default()).await;
        let logs = hearth.logs();
        let links = setup_links(&hearth);
        assert_eq!(links.len(), 1, "one link on a fresh start: {logs}");
        let token = links[0].clone();
        assert!(token.len() >= 22, "at least 128 bits: {token}");
        let link = format!("http://localhost:{}/setup/{token}", hearth.port);
        assert!(
            logs.contains(&format!(
                "create the admin account (it works once, for 24 hours): {link}"
            )),
            "printed on standard output: {logs}"
        );
        assert!(
            logs.lines()
                .any(|l| l.contains("INFO") && l.contains(&format!("link={link}"))),
            "and in the log: {logs}"
        );
        assert_eq!(
            hearth.count("setup_tokens").await,
            1,
            "stored, as a digest only"
        );
        assert_eq!(
            hearth
                .text("SELECT token_digest FROM setup_tokens")
                .await
                .map(|d| d.len()),
            Some(64)
        );
        assert!(
            !hearth
                .text("SELECT token_digest FROM setup_tokens")
                .await
                .unwrap()
                .contains(&token)
        );

        // A wrong link does not work.
        let (_, status, page) = open_setup(&hearth, "not-the-link").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("This setup link does not work"), "{page}");

        // Someone already asked to join with a name: taking it is refused
        // in words, and the link keeps working.
        hearth.register("sam", PW).await;
        let (client, status, page) = open_setup(&hearth, &token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("<h1>Set up this server</h1>"), "{page}");
        assert!(page.contains("<label for=\"confirm\">"), "{page}");
        let csrf = support::csrf_of(&page);
        let (status, page) = submit_setup(
            &hearth,
            &client,
            &token,
            &csrf,
            &[("username", "Sam"), ("password", PW), ("confirm", PW)],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.contains("already used by a person or a group"),
            "{page}"
        );
        // Passwords that differ, and a form without its CSRF token.
        let (status, page) = submit_setup(
            &hearth,
            &client,
            &token,
            &csrf,
            &[
                ("username", "alice"),
                ("password", PW),
                ("confirm", "something else"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("href=\"#confirm\""), "{page}");
        assert!(page.contains("value=\"alice\""), "what was typed is kept");
        let (status, _) = submit_setup(
            &hearth,
            &client,
            &token,
            "forged",
            &[("username", "alice"), ("password", PW), ("confirm", PW)],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(hearth.count("users").await, 1);

        // Two people send the form at once: exactly one becomes admin.
        let (other, _, other_page) = open_setup(&hearth, &token).await;
        let other_csrf = support::csrf_of(&other_page);
        let (first, second) = tokio::join!(
            submit_setup(
                &hearth,
                &client,
                &token,
                &csrf,
                &[("username", "alice"), ("password", PW), ("confirm", PW)],
            ),
            submit_setup(
                &hearth,
                &other,
                &token,
                &other_csrf,
                &[("username", "bruno"), ("password", PW), ("confirm", PW)],
            ),
        );
        let mut statuses = [first.0, second.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND],
            "{}\n{}",
            first.1,
            second.1
        );
        let (winner, name) = if first.0 == StatusCode::SEE_OTHER {
            (&client, "alice")
        } else {
            (&other, "bruno")
        };
        assert_eq!(
            hearth
                .scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active'")
                .await,
            1
        );
        assert_eq!(hearth.count("setup_tokens").await, 0);
        // The winner is logged in, as an admin.
        let home = winner
            .get(hearth.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(home.contains(&format!("Logged in as {name}")), "{home}");
        let token_api = hearth.login(name, PW).await;
        let me = hearth.get("/api/v1/me", Some(&token_api)).await;
        assert_eq!(me.body["role"], "admin", "{}", me.text);

        // Now the page is gone, for the used link and any other.
        for link in [token.as_str(), "not-the-link"] {
            let (_, status, page) = open_setup(&hearth, link).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(page.contains("This server is already set up"), "{page}");
        }
        let (status, _) = submit_setup(
            &hearth,
            &client,
            &token,
            &csrf,
            &[("username", "carol"), ("password", PW), ("confirm", PW)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(hearth.count("users").await, 2);

        // With an admin, a restart prints no link.
        hearth.restart().await;
        assert_eq!(setup_links(&hearth), vec![token.clone()]);
        assert_eq!(hearth.count("setup_tokens").await, 0);
    });
}

#[tokio::test]
async fn a_setup_link_is_replaced_at_each_start_and_expires() {
    each_backend!(|backend| async {
        let mut hearth = Instance::start(&backend, Options::default()).await;
        let first = setup_links(&hearth);
        hearth.restart().await;
        let links = setup_links(&hearth);
        assert_eq!(links.len(), 2, "a new link at each start");
        assert_eq!(links[0], first[0]);
        let (old, new) = (&links[0], &links[1]);
        assert_ne!(old, new);
        assert_eq!(hearth.count("setup_tokens").await, 1);
        let (_, status, page) = open_setup(&hearth, old).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the old link is replaced");
        assert!(page.contains("This setup link does not work"), "{page}");
        let (client, status, page) = open_setup(&hearth, new).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let csrf = support::csrf_of(&page);

        // A day later the link no longer works.
        let db = hearth.db().await;
        let backend_kind = db.get_database_backend();
        let placeholder = if backend_kind == sea_orm::DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        use sea_orm::ConnectionTrait;
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend_kind,
            format!("UPDATE setup_tokens SET created_at = {placeholder}"),
            [(chrono::Utc::now() - chrono::Duration::hours(25)).into()],
        ))
        .await
        .unwrap();
        db.close().await.unwrap();
        let (_, status, page) = open_setup(&hearth, new).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("more than 24 hours old"), "{page}");
        let (status, _) = submit_setup(
            &hearth,
            &client,
            new,
            &csrf,
            &[("username", "alice"), ("password", PW), ("confirm", PW)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(hearth.count("users").await, 0);

        // A restart gives a fresh link that works.
        hearth.restart().await;
        let fresh = setup_links(&hearth).pop().unwrap();
        assert_ne!(&fresh, new);
        let (client, status, page) = open_setup(&hearth, &fresh).await;
        assert_eq!(status, StatusCode::OK);
        let (status, page) = submit_setup(
            &hearth,
            &client,
            &fresh,
            &support::csrf_of(&page),
            &[("username", "alice"), ("password", PW), ("confirm", PW)],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        hearth.login("alice", PW).await;
    });
}

// ---- one name, one owner: people and groups ---------------------------

/// The `self` links WebFinger gives for `name` on `hearth`.
async fn webfinger_links(hearth: &Instance, name: &str) -> Vec<String> {
    let wf = hearth
        .get(
            &format!(
                "/.well-known/webfinger?resource=acct:{name}@localhost:{}",
                hearth.port
            ),
            None,
        )
        .await;
    assert_eq!(wf.status, StatusCode::OK, "{}", wf.text);
    wf.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "self")
        .map(|l| l["href"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_person_and_a_group_never_share_a_name_in_any_letter_case() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("Ann", PW).await;
        let ann = hearth.login("ann", PW).await;
        let group = |name: &str| {
            hearth.post(
                "/api/v1/groups",
                Some(&ann),
                json!({"name": name, "title": "Peer support"}),
            )
        };
        // A group named like a person.
        for name in ["Ann", "ann", "ANN"] {
            let clash = group(name).await;
            clash.assert_problem(409, "conflict");
            assert_eq!(clash.body["field"], "name");
            assert!(
                clash.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("a person or a group"),
                "{}",
                clash.text
            );
        }
        // A person named like a group: the API, the web form, the CLI.
        assert_eq!(group("Circle").await.status, StatusCode::CREATED);
        for name in ["Circle", "circle", "CIRCLE"] {
            let clash = hearth
                .post(
                    "/api/v1/auth/register",
                    None,
                    json!({"username": name, "password": PW}),
                )
                .await;
            clash.assert_problem(409, "username-taken");
            assert_eq!(clash.body["field"], "username");
        }
        let browser = support::browser();
        let signup = browser
            .get(hearth.url("/signup"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let page = browser
            .post(hearth.url("/signup"))
            .form(&[
                ("csrf", support::csrf_of(&signup).as_str()),
                ("username", "cIRCLE"),
                ("password", PW),
                ("consent", "yes"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(
                "That name is already used by a person or a group on this server. Please choose another."
            ) && page.contains("href=\"#username\""),
            "{page}"
        );
        let (status, _, err) = hearth.run(
            &["admin", "create-user", "circle", "--password-stdin"],
            &format!("{PW}\n"),
        );
        assert!(!status.success());
        assert!(err.contains("username: already taken"), "{err}");
        assert_eq!(hearth.count("users").await, 1);
        assert_eq!(hearth.count("groups").await, 1);
        assert_eq!(hearth.count("local_names").await, 2);

        // A person and a group asking for one name at once: one gets it.
        let people = (0..4).map(|i| {
            hearth.post(
                "/api/v1/auth/register",
                None,
                json!({"username": if i % 2 == 0 { "Mix" } else { "mix" }, "password": PW}),
            )
        });
        let groups = (0..4).map(|_| group("MIX"));
        let (people, groups) = tokio::join!(join_all(people), join_all(groups));
        let won: Vec<_> = people
            .iter()
            .chain(groups.iter())
            .filter(|a| a.status == StatusCode::CREATED)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "{:?}",
            people
                .iter()
                .chain(groups.iter())
                .map(|a| &a.text)
                .collect::<Vec<_>>()
        );
        assert!(
            people
                .iter()
                .chain(groups.iter())
                .all(|a| a.status == StatusCode::CREATED || a.status == StatusCode::CONFLICT)
        );

        // WebFinger: one self link per name, in any case.
        let person = webfinger_links(&hearth, "ANN").await;
        assert_eq!(person.len(), 1, "{person:?}");
        assert!(person[0].ends_with("/u/ann"));
        let circle = webfinger_links(&hearth, "circle").await;
        assert_eq!(circle.len(), 1, "{circle:?}");
        assert!(circle[0].ends_with("/g/circle"));
    });
}

#[tokio::test]
async fn a_name_shared_before_names_were_unique_answers_webfinger_with_the_older_actor() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("rosa", PW).await;
        let rosa = hearth.login("rosa", PW).await;
        let created = hearth
            .post(
                "/api/v1/groups",
                Some(&rosa),
                json!({"name": "garden", "title": "Garden"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        // Data from before the rule: a group that shares its person's name.
        let db = hearth.db().await;
        use sea_orm::ConnectionTrait;
        db.execute_unprepared(
            "UPDATE groups SET name = 'Rosa', name_canonical = 'rosa' WHERE name_canonical = 'garden'",
        )
        .await
        .unwrap();
        db.close().await.unwrap();
        let links = webfinger_links(&hearth, "rosa").await;
        assert_eq!(links.len(), 1, "{links:?}");
        assert!(
            links[0].ends_with("/u/rosa"),
            "the person came first: {links:?}"
        );
        support::wait_until("the warning about the shared name", || async {
            hearth
                .logs()
                .lines()
                .any(|l| l.contains("WARN") && l.contains("a person and a group share this name"))
                .then_some(())
        })
        .await;
        // The group still answers at its own address.
        let group = hearth.get("/api/v1/groups/rosa", None).await;
        assert_eq!(group.status, StatusCode::OK, "{}", group.text);
    });
}

#[tokio::test]
async fn an_admins_question_must_be_answered_to_ask_for_an_account() {
    let question = "Which condition brings you here?";
    let hearth = Instance::start(
        &Backend::Sqlite,
        Options::default()
            .registration("approval")
            .set("HEARTH_REGISTRATION_QUESTION", question),
    )
    .await;
    let instance = hearth.get("/api/v1/instance", None).await;
    assert_eq!(instance.body["registration_question"], question);
    let page = hearth.get("/signup", None).await;
    assert!(page.text.contains(question), "the sign-up form asks it");

    // No answer: refused, naming the field, and nothing is stored.
    for reason in [None, Some("   ")] {
        let mut body = json!({"username": "pat", "password": PW});
        if let Some(reason) = reason {
            body["reason"] = json!(reason);
        }
        let refused = hearth.post("/api/v1/auth/register", None, body).await;
        refused.assert_problem(422, "validation-failed");
        assert_eq!(
            refused.body["errors"][0]["field"], "reason",
            "{}",
            refused.text
        );
    }
    assert_eq!(hearth.count("users").await, 0);

    let asked = hearth
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "pat", "password": PW, "reason": "Long COVID, two years now"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text);
    assert_eq!(asked.body["account"]["status"], "pending");
    hearth.create_user("admin1", PW, &["--admin"]);
    let admin = hearth.login("admin1", PW).await;
    let queue = hearth
        .get("/api/v1/admin/accounts?status=pending", Some(&admin))
        .await;
    assert_eq!(
        queue.body["items"][0]["registration_reason"],
        "Long COVID, two years now"
    );
}

/// A member sees where they signed in from, for
/// `privacy.ip_retention_days`; with 0 days nothing is kept at all.
#[tokio::test]
async fn a_member_sees_where_they_signed_in_from_and_nothing_is_kept_when_told_not_to() {
    each_backend!(|backend| async {
        let hearth = Instance::start(&backend, Options::default().registration("open")).await;
        hearth.register("mira", PW).await;
        let token = hearth.login("mira", PW).await;
        let seen = hearth.get("/api/v1/me/sign_ins", Some(&token)).await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
        let items = seen.body.as_array().unwrap();
        assert!(!items.is_empty(), "{}", seen.text);
        assert_eq!(items[0]["ip"], "127.0.0.1", "{}", seen.text);
        hearth
            .get("/api/v1/me/sign_ins", None)
            .await
            .assert_problem(401, "not-authenticated");

        let forgetful = Instance::start(
            &backend,
            Options::default()
                .registration("open")
                .set("HEARTH_PRIVACY_IP_RETENTION_DAYS", 0),
        )
        .await;
        forgetful.register("noor", PW).await;
        let token = forgetful.login("noor", PW).await;
        let seen = forgetful.get("/api/v1/me/sign_ins", Some(&token)).await;
        assert_eq!(seen.body, json!([]), "{}", seen.text);
        assert_eq!(forgetful.count("sign_ins").await, 0);
    });
}

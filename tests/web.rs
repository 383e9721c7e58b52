//! The web pages, through a real server: sign up with consent, log in and
//! out with a session cookie, forms that keep what was typed and say what
//! is wrong, CSRF refusals, and the security headers every page carries.
//! The same journeys in a real browser, with an accessibility checker, are
//! in `tests/browser.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use support::{Backend, Instance, Options, browser, csrf_of};

#[tokio::test]
async fn signing_up_needs_consent_keeps_what_was_typed_and_logs_in() {
    each_backend!(|backend| signing_up_needs_consent_keeps_what_was_typed_and_logs_in_on(&backend));
}

async fn signing_up_needs_consent_keeps_what_was_typed_and_logs_in_on(backend: &Backend) {
    let hearth = Instance::start(
        backend,
        Options::default()
            .registration("open")
            .set("HEARTH_INSTANCE_RULES", "Be gentle with each other."),
    )
    .await;
    let client = browser();
    let form = client.get(hearth.url("/signup")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csp = form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let csrf_cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"),
        "{csrf_cookie}"
    );
    assert!(
        !csrf_cookie.contains("Secure"),
        "test mode sends cookies over http"
    );
    let html = form.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(
        html.contains("Be gentle with each other."),
        "rules shown before consent"
    );
    assert!(html.contains("How we use your information"));
    assert!(html.contains("<label for=\"username\">Username</label>"));
    let csrf = csrf_of(&html);

    // No consent and a bad password: every problem at once, input kept.
    let resp = client
        .post(hearth.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ann_b"),
            ("password", "short"),
            ("email", "ann@example.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("There is a problem"));
    assert!(
        html.contains("href=\"#password\""),
        "summary links to the field"
    );
    assert!(html.contains("href=\"#consent\""));
    assert!(
        html.contains("id=\"password-error\""),
        "message next to the field"
    );
    assert!(html.contains("value=\"ann_b\""), "username kept");
    assert!(html.contains("value=\"ann@example.org\""), "email kept");
    assert!(
        !html.contains("value=\"short\""),
        "passwords are never echoed"
    );
    assert_eq!(hearth.count("users").await, 0);

    // A wrong CSRF token: a clear message, input kept, nothing written.
    let resp = client
        .post(hearth.url("/signup"))
        .form(&[
            ("csrf", "forged"),
            ("username", "ann_b"),
            ("password", "long enough pass"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("This form had expired"));
    assert!(html.contains("value=\"ann_b\""));
    assert_eq!(hearth.count("users").await, 0);

    // The right token, but the browser says the form was posted from
    // another site (or a sibling subdomain that could set the cookie):
    // refused all the same.
    for site in ["cross-site", "same-site"] {
        let resp = client
            .post(hearth.url("/signup"))
            .header("sec-fetch-site", site)
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", "ann_b"),
                ("password", "long enough pass"),
                ("consent", "yes"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{site}");
        assert!(resp.text().await.unwrap().contains("This form had expired"));
        assert_eq!(hearth.count("users").await, 0, "{site}");
    }

    // All good: the account exists and the browser is logged in.
    let resp = client
        .post(hearth.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "ann_b"),
            ("password", "long enough pass"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let session_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(session_cookie.starts_with("hearth_session=") && session_cookie.contains("HttpOnly"));
    let home = client
        .get(hearth.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/people/ann_b\""), "{home}");
    assert!(home.contains("You have not joined a group yet."));
}

#[tokio::test]
async fn logging_in_and_out_with_a_session_cookie() {
    each_backend!(|backend| logging_in_and_out_with_a_session_cookie_on(&backend));
}

async fn logging_in_and_out_with_a_session_cookie_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    hearth.register("bob", "a long enough passphrase").await;
    let client = browser();
    let html = client
        .get(hearth.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);

    let wrong = client
        .post(hearth.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "bob"),
            ("password", "not it at all"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("The username or password is not right"));
    assert!(html.contains("value=\"bob\""));

    let ok = client
        .post(hearth.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "bob"),
            ("password", "a long enough passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let home = client
        .get(hearth.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/people/bob\""));

    // Log out: the token is revoked, the cookie cleared.
    let tokens_before = hearth.count("access_tokens").await;
    let out = client
        .post(hearth.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(hearth.count("access_tokens").await, tokens_before - 1);
    let home = client
        .get(hearth.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Welcome"));
}

#[tokio::test]
async fn the_stylesheet_is_cache_busted_and_the_directory_lists_groups() {
    each_backend!(
        |backend| the_stylesheet_is_cache_busted_and_the_directory_lists_groups_on(&backend)
    );
}

async fn the_stylesheet_is_cache_busted_and_the_directory_lists_groups_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    hearth.register("ann", "a long enough passphrase").await;
    let token = hearth.login("ann", "a long enough passphrase").await;
    hearth
        .post("/api/v1/groups", Some(&token), serde_json::json!({"name": "ms_circle", "title": "MS circle", "description": "For people living with MS.", "join_policy": "open"}))
        .await;
    let client = browser();
    let html = client
        .get(hearth.url("/groups"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("MS circle")
            && html.contains("For people living with MS.")
            && html.contains("Anyone can join")
    );
    let marker = "rel=\"stylesheet\" href=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let path = html[start..].split('"').next().unwrap();
    assert!(
        path.starts_with("/static/hearth.") && path.ends_with(".css"),
        "{path}"
    );
    let css = client.get(hearth.url(path)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let stale = client
        .get(hearth.url("/static/hearth.000000.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
}

/// Sign up through the pages and return the logged-in browser and its CSRF token.
async fn signed_up(hearth: &Instance, username: &str) -> (reqwest::Client, String) {
    let client = browser();
    let html = client
        .get(hearth.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let resp = client
        .post(hearth.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", "long enough pass"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    (client, csrf)
}

#[tokio::test]
async fn a_member_joins_writes_with_a_content_warning_and_others_reply_and_react() {
    each_backend!(|backend| {
        a_member_joins_writes_with_a_content_warning_and_others_reply_and_react_on(&backend)
    });
}

async fn a_member_joins_writes_with_a_content_warning_and_others_reply_and_react_on(
    backend: &Backend,
) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    hearth.register("mod", "a long enough passphrase").await;
    let token = hearth.login("mod", "a long enough passphrase").await;
    hearth
        .post("/api/v1/groups", Some(&token), serde_json::json!({"name": "t1", "title": "Type 1 peers", "rules": "No diet shaming.", "join_policy": "open"}))
        .await;
    let (ann, csrf) = signed_up(&hearth, "ann").await;

    let page = ann
        .get(hearth.url("/groups/t1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("No diet shaming.")
            && page.contains("Need help now?")
            && page.contains("Join group")
    );
    let joined = ann
        .post(hearth.url("/groups/t1/join"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let page = ann
        .get(hearth.url("/groups/t1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Write a post") && page.contains("Leave group"));

    // Bad input: each problem named beside its field, what was typed kept.
    let compose = ann
        .get(hearth.url("/groups/t1/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        compose.contains("Members of Type 1 peers (2 members) will be able to read this"),
        "who can read it is said: {compose}"
    );
    let bad = ann
        .post(hearth.url("/groups/t1/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", ""),
            ("body", "My sugar crashed at night & I was scared"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Your post needs a title") && html.contains("href=\"#title\""));
    assert!(html.contains("Choose what kind of post this is"));
    assert!(
        html.contains("My sugar crashed at night &amp; I was scared"),
        "body kept, escaped"
    );
    let too_long = ann
        .post(hearth.url("/groups/t1/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Long"),
            ("support_kind", "emotional"),
            ("body", &"x".repeat(20_001)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long
            .text()
            .await
            .unwrap()
            .contains("at most 20000 characters")
    );

    let posted = ann
        .post(hearth.url("/groups/t1/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Night lows <script>alert(1)</script>"),
            ("support_kind", "emotional"),
            ("body", "I woke up **shaking**."),
            ("content_warning", "hypo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    let thread = ann
        .get(hearth.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        thread.contains("Night lows &lt;script&gt;"),
        "titles are escaped"
    );
    assert!(
        thread.contains("<details><summary>Content warning: hypo (open to read)</summary>"),
        "warning folds the body"
    );
    assert!(thread.contains("<strong>shaking</strong>"));

    // Another member replies and gives a hug.
    let (bob, bob_csrf) = signed_up(&hearth, "bob").await;
    bob.post(hearth.url("/groups/t1/join"))
        .form(&[("csrf", bob_csrf.as_str())])
        .send()
        .await
        .unwrap();
    let id = location.trim_start_matches("/posts/");
    bob.post(hearth.url(&format!("/posts/{id}/reply")))
        .form(&[("csrf", bob_csrf.as_str()), ("body", "Sending strength.")])
        .send()
        .await
        .unwrap();
    bob.post(hearth.url(&format!("/posts/{id}/react")))
        .form(&[("csrf", bob_csrf.as_str()), ("reaction", "hug")])
        .send()
        .await
        .unwrap();
    let thread = ann
        .get(hearth.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(thread.contains("Sending strength."));
    let api = hearth
        .get(&format!("/api/v1/posts/{id}"), Some(&token))
        .await;
    assert_eq!(
        api.body["reactions"],
        serde_json::json!([{"reaction": "hug", "count": 1}])
    );

    // Ann is told: the header counts two unread, the page says what.
    let get = |client: &reqwest::Client, path: &str| {
        let req = client.get(hearth.url(path));
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let home = get(&ann, "/").await;
    assert!(
        home.contains(
            "Notifications <span class=\"badge\">2<span class=\"visually-hidden\"> unread</span>"
        ),
        "{home}"
    );
    let list = get(&ann, "/notifications").await;
    assert!(list.contains("replied in"), "{list}");
    assert!(list.contains("sent you a hug"), "{list}");
    assert!(list.contains(">New</strong>"), "unread is said in words");
    let up_to = list
        .split("name=\"up_to\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let marked = ann
        .post(hearth.url("/notifications/read"))
        .form(&[("csrf", csrf.as_str()), ("up_to", up_to.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), StatusCode::SEE_OTHER);
    let home = get(&ann, "/").await;
    assert!(!home.contains("class=\"badge\""), "all read");

    // A reply that is too long is refused next to its box, text kept.
    let long_reply = format!("{} end-of-my-reply", "y".repeat(20_000));
    let refused = bob
        .post(hearth.url(&format!("/posts/{id}/reply")))
        .form(&[("csrf", bob_csrf.as_str()), ("body", long_reply.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains(&format!("id=\"reply-{id}-error\"")), "{html}");
    assert!(html.contains("end-of-my-reply</textarea>"), "text kept");
    assert!(
        html.contains(&format!("href=\"#reply-{id}\"")),
        "summary links to it"
    );
    let empty = bob
        .post(hearth.url(&format!("/posts/{id}/reply")))
        .form(&[("csrf", bob_csrf.as_str()), ("body", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("Write something before you send it")
    );

    // Preview shows the Markdown rendered, sends nothing, keeps the form.
    let before = hearth.count("posts").await;
    let preview = ann
        .post(hearth.url("/groups/t1/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "preview"),
            ("title", "Draft"),
            ("body", "Some *emphasis* <script>x</script>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let html = preview.text().await.unwrap();
    assert!(html.contains("<em>emphasis</em>") && !html.contains("<script>x"));
    assert!(html.contains("value=\"Draft\""));
    assert_eq!(
        hearth.count("posts").await,
        before,
        "a preview sends nothing"
    );

    // Ann edits her post: the form starts filled in, the change shows.
    let edit = get(&ann, &format!("/posts/{id}/edit")).await;
    assert!(edit.contains("I woke up **shaking**.</textarea>"), "{edit}");
    assert!(
        get(&bob, &format!("/posts/{id}/edit"))
            .await
            .contains("Page not found")
    );
    let saved = ann
        .post(hearth.url(&format!("/posts/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Night lows"),
            ("support_kind", "emotional"),
            ("body", "I woke up **shaking**, now better."),
            ("content_warning", "hypo"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let thread = get(&ann, &location).await;
    assert!(thread.contains("now better.") && thread.contains(" · edited"));

    // Profiles: Ann sees her members-only post; a stranger does not.
    let own = get(&ann, "/people/ann").await;
    assert!(own.contains("Night lows"), "{own}");
    let strangers_view = get(&browser(), "/people/ann").await;
    assert!(!strangers_view.contains("Night lows"));
    assert!(strangers_view.contains("@ann@localhost:"));

    // Only the group's moderator ("mod") may remove Bob's reply; Bob is
    // told why.
    let thread = get(&ann, &location).await;
    assert!(
        !thread.contains("Moderator: remove this post"),
        "ann is no moderator"
    );
    let api = hearth
        .get(&format!("/api/v1/posts/{id}"), Some(&token))
        .await;
    let reply_id = api.body["replies"][0]["id"].as_str().unwrap().to_owned();
    let removed = hearth
        .post(
            &format!("/api/v1/posts/{reply_id}/remove"),
            Some(&token),
            serde_json::json!({"reason": "Off topic, sorry."}),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    assert!(
        get(&ann, &location)
            .await
            .contains("This post was deleted.")
    );
    let bobs = get(&bob, "/notifications").await;
    assert!(
        bobs.contains("removed one of your posts. They said: “Off topic, sorry.”"),
        "{bobs}"
    );

    // Someone not logged in sees neither the members-only post nor its thread.
    let stranger = browser();
    let page = stranger
        .get(hearth.url("/groups/t1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Night lows"));
    let hidden = stranger.get(hearth.url(&location)).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn starting_a_group_deciding_requests_and_changing_settings() {
    each_backend!(|backend| starting_a_group_deciding_requests_and_changing_settings_on(&backend));
}

async fn starting_a_group_deciding_requests_and_changing_settings_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    let (ann, csrf) = signed_up(&hearth, "ann").await;

    let bad = ann
        .post(hearth.url("/groups/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "MS circle"),
            ("name", "ms circle"),
            ("join_policy", "approval"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("href=\"#name\"") && html.contains("id=\"name-error\""));
    assert!(html.contains("value=\"MS circle\""), "title kept");
    let made = ann
        .post(hearth.url("/groups/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "MS circle"),
            ("name", "ms_circle"),
            ("join_policy", "approval"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.headers()["location"], "/groups/ms_circle");

    let (bob, bob_csrf) = signed_up(&hearth, "bob").await;
    bob.post(hearth.url("/groups/ms_circle/join"))
        .form(&[("csrf", bob_csrf.as_str())])
        .send()
        .await
        .unwrap();
    let page = bob
        .get(hearth.url("/groups/ms_circle"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Waiting for a moderator to let you in."));
    let denied = bob
        .get(hearth.url("/groups/ms_circle/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let requests = ann
        .get(hearth.url("/groups/ms_circle/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(requests.contains("bob") && requests.contains("Let them in"));
    let marker = "/groups/ms_circle/requests/";
    let start = requests.find(marker).unwrap() + marker.len();
    let id: String = requests[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    ann.post(hearth.url(&format!("/groups/ms_circle/requests/{id}/approve")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let page = bob
        .get(hearth.url("/groups/ms_circle"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Write a post"));

    // Settings: profile saved; a wrong current password is named beside its field.
    let saved = bob
        .post(hearth.url("/settings/profile"))
        .form(&[
            ("csrf", bob_csrf.as_str()),
            ("display_name", "Bob B"),
            ("bio", "Diagnosed 2021."),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(saved.contains("Your profile is saved.") && saved.contains("value=\"Bob B\""));
    let wrong = bob
        .post(hearth.url("/settings/password"))
        .form(&[
            ("csrf", bob_csrf.as_str()),
            ("current_password", "not mine"),
            ("new_password", "another long one"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap();
    assert!(
        html.contains("id=\"current_password-error\"")
            && html.contains("That is not your current password")
    );
}

#[tokio::test]
async fn joining_a_group_on_another_server_from_the_web() {
    each_backend!(|backend| joining_a_group_on_another_server_from_the_web_on(&backend));
}

async fn joining_a_group_on_another_server_from_the_web_on(backend: &Backend) {
    let a = Instance::start(backend, Options::default().registration("open")).await;
    let b = Instance::start(backend, Options::default().registration("open")).await;
    a.register("ann", "a long enough passphrase").await;
    let token = a.login("ann", "a long enough passphrase").await;
    a.post(
        "/api/v1/groups",
        Some(&token),
        serde_json::json!({"name": "peers", "title": "Long COVID peers", "join_policy": "open"}),
    )
    .await;
    let (bob, csrf) = signed_up(&b, "bob").await;

    let empty = bob
        .post(b.url("/groups/join"))
        .form(&[("csrf", csrf.as_str()), ("target", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("Enter the group's address")
    );

    let handle = format!("@peers@localhost:{}", a.port);
    let asked = bob
        .post(b.url("/groups/join"))
        .form(&[("csrf", csrf.as_str()), ("target", handle.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let group_page = asked.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(group_page, format!("/groups/peers@localhost:{}", a.port));
    support::wait_until("the membership to show as joined", || async {
        let home = bob
            .get(b.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (home.contains("Long COVID peers") && home.contains("Member")).then_some(())
    })
    .await;

    // The group's page on B: it says where the group lives, lists the
    // thread Ann writes on A, and Bob replies from B.
    let thread = a
        .post(
            "/api/v1/posts",
            Some(&token),
            serde_json::json!({"group": "peers", "title": "Brain fog at work", "body": "How do you cope?", "support_kind": "emotional", "content_warning": "work stress"}),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.text);
    let page = support::wait_until("the thread on B's group page", || async {
        let html = bob
            .get(b.url(&group_page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        html.contains("Brain fog at work").then_some(html)
    })
    .await;
    assert!(page.contains("This group is on another server"), "{page}");
    assert!(page.contains("Leave group"));
    let link = page
        .split("href=\"/posts/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let thread_page = bob
        .get(b.url(&format!("/posts/{link}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        thread_page.contains("from another server, localhost:"),
        "{thread_page}"
    );
    assert!(thread_page.contains("Content warning: work stress"));
    assert!(
        thread_page.contains(&format!("href=\"{group_page}\"")),
        "back to the group"
    );
    let sent = bob
        .post(b.url(&format!("/posts/{link}/reply")))
        .form(&[("csrf", csrf.as_str()), ("body", "Lists and naps.")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let thread_id = thread.body["id"].as_str().unwrap().to_owned();
    support::wait_until("bob's reply on A", || async {
        let shown = a
            .get(&format!("/api/v1/posts/{thread_id}"), Some(&token))
            .await;
        shown.text.contains("Lists and naps.").then_some(())
    })
    .await;

    // A browser asking for the group's ActivityPub id is sent to its page.
    let html_client = browser();
    let redirected = html_client
        .get(a.url("/g/peers"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(redirected.status(), StatusCode::SEE_OTHER);
    assert_eq!(redirected.headers()["location"], "/groups/peers");
    let json = html_client
        .get(a.url("/g/peers"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_moderator_reads_a_removed_post_and_brings_it_back_from_the_web() {
    let hearth = Instance::start(&Backend::Sqlite, Options::default().registration("open")).await;
    let (ann, csrf) = signed_up(&hearth, "ann").await;
    let made = ann
        .post(hearth.url("/groups/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Long COVID circle"),
            ("name", "lc_circle"),
            ("join_policy", "open"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let (bob, bob_csrf) = signed_up(&hearth, "bob").await;
    bob.post(hearth.url("/groups/lc_circle/join"))
        .form(&[("csrf", bob_csrf.as_str())])
        .send()
        .await
        .unwrap();
    let bob_token = hearth.login("bob", "long enough pass").await;
    let ann_token = hearth.login("ann", "long enough pass").await;
    let title = "Pacing plan that finally works";
    let written = hearth
        .post(
            "/api/v1/posts",
            Some(&bob_token),
            serde_json::json!({"group": "lc_circle", "title": title, "body": "Half of what I think I can do.", "support_kind": "experience"}),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
    let id = written.body["id"].as_str().unwrap().to_owned();
    let removed = hearth
        .post(
            &format!("/api/v1/posts/{id}/remove"),
            Some(&ann_token),
            serde_json::json!({"reason": "Looks like an advert"}),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);

    // Only moderators read what was removed.
    let denied = bob
        .get(hearth.url("/groups/lc_circle/removed"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let page = ann
        .get(hearth.url("/groups/lc_circle/removed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(title) && page.contains("Looks like an advert"),
        "{page}"
    );
    // A forged form (no CSRF token) changes nothing.
    let forged = bob
        .post(hearth.url(&format!("/groups/lc_circle/removed/{id}/restore")))
        .form(&[("reason", "")])
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());
    let back = ann
        .post(hearth.url(&format!("/groups/lc_circle/removed/{id}/restore")))
        .form(&[("csrf", csrf.as_str()), ("reason", "It was her own plan")])
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        back.headers()["location"],
        "/groups/lc_circle/removed?done=restored"
    );
    let thread = hearth
        .get(&format!("/api/v1/posts/{id}"), Some(&bob_token))
        .await;
    assert_eq!(thread.body["title"], title, "{}", thread.text);
    assert_eq!(thread.body["deleted"], false);
    let notices = bob
        .get(hearth.url("/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notices.contains("brought back your post"), "{notices}");
}

/// Log in through the pages and return the browser and its CSRF token.
async fn logged_in(hearth: &Instance, username: &str, password: &str) -> (reqwest::Client, String) {
    let client = browser();
    let html = client
        .get(hearth.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let resp = client
        .post(hearth.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "log in {username}");
    (client, csrf)
}

async fn page_text(client: &reqwest::Client, hearth: &Instance, path: &str) -> String {
    let resp = client.get(hearth.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    resp.text().await.unwrap()
}

#[tokio::test]
async fn members_follow_their_reports_and_moderators_find_them_dealt_with() {
    each_backend!(
        |backend| members_follow_their_reports_and_moderators_find_them_dealt_with_on(&backend)
    );
}

async fn members_follow_their_reports_and_moderators_find_them_dealt_with_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    let admin_password = "a long enough passphrase";
    hearth.create_user("ruth", admin_password, &["--admin"]);
    let (bob, _) = signed_up(&hearth, "bob").await;
    signed_up(&hearth, "cid").await;

    // Every member's header links their own reports.
    let home = page_text(&bob, &hearth, "/").await;
    assert!(home.contains("href=\"/me/reports\""), "{home}");
    let mine = page_text(&bob, &hearth, "/me/reports").await;
    assert!(mine.contains("You have not reported anything."), "{mine}");
    let nobody = browser()
        .get(hearth.url("/me/reports"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), StatusCode::SEE_OTHER);
    assert_eq!(nobody.headers()["location"], "/login");

    // Bob reports cid's post: his reports say it waits, without the
    // post's words, then, once an admin dealt with it, what was done.
    let ruth_token = hearth.login("ruth", admin_password).await;
    let bob_token = hearth.login("bob", "long enough pass").await;
    let cid_token = hearth.login("cid", "long enough pass").await;
    let made = hearth
        .post(
            "/api/v1/groups",
            Some(&ruth_token),
            serde_json::json!({"name": "circle", "title": "Fatigue Circle", "join_policy": "open"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    for token in [&bob_token, &cid_token] {
        let joined = hearth
            .post(
                "/api/v1/groups/circle/join",
                Some(token),
                serde_json::json!({}),
            )
            .await;
        assert!(joined.status.is_success(), "{}", joined.text);
    }
    let thread = hearth
        .post(
            "/api/v1/posts",
            Some(&cid_token),
            serde_json::json!({"group": "circle", "title": "Buy my pills", "body": "Half price today.", "support_kind": "emotional"}),
        )
        .await;
    assert_eq!(thread.status, StatusCode::CREATED, "{}", thread.text);
    let report = hearth
        .post(
            "/api/v1/reports",
            Some(&bob_token),
            serde_json::json!({"post_id": thread.body["id"], "category": "spam", "comment": "Selling pills"}),
        )
        .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.text);
    let report_id = report.body["id"].as_str().unwrap().to_owned();
    let mine = page_text(&bob, &hearth, "/me/reports").await;
    for expected in [
        "Spam or advertising",
        "Buy my pills",
        "Waiting",
        "You said: \u{201c}Selling pills\u{201d}",
    ] {
        assert!(mine.contains(expected), "{expected}: {mine}");
    }
    assert!(
        !mine.contains("Half price today."),
        "no post's words: {mine}"
    );

    let (ruth, ruth_csrf) = logged_in(&hearth, "ruth", admin_password).await;
    let none_yet = page_text(&ruth, &hearth, "/moderation/reports?state=resolved").await;
    assert!(
        none_yet.contains("No report has been dealt with yet."),
        "{none_yet}"
    );
    let resolved = ruth
        .post(hearth.url(&format!("/moderation/reports/{report_id}/resolve")))
        .form(&[
            ("csrf", ruth_csrf.as_str()),
            ("resolution", "Removed the advert"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::SEE_OTHER);
    let mine = page_text(&bob, &hearth, "/me/reports").await;
    assert!(
        mine.contains("Dealt with") && mine.contains("\u{201c}Removed the advert\u{201d}"),
        "{mine}"
    );

    // The admin finds it among the reports dealt with: who, and what.
    let waiting = page_text(&ruth, &hearth, "/moderation/reports").await;
    assert!(waiting.contains("No reports are waiting."), "{waiting}");
    let dealt = page_text(&ruth, &hearth, "/moderation/reports?state=resolved").await;
    for expected in [
        "Reports dealt with",
        "Buy my pills",
        "What was done: \u{201c}Removed the advert\u{201d}",
        "href=\"/people/ruth\"",
    ] {
        assert!(dealt.contains(expected), "{expected}: {dealt}");
    }
    assert!(!dealt.contains("Mark as dealt with"), "{dealt}");
    // A member who moderates nothing has neither list.
    let refused = bob
        .get(hearth.url("/moderation/reports?state=resolved"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_admins_ban_from_the_server_and_read_its_moderation_log() {
    each_backend!(
        |backend| only_admins_ban_from_the_server_and_read_its_moderation_log_on(&backend)
    );
}

async fn only_admins_ban_from_the_server_and_read_its_moderation_log_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    let admin_password = "a long enough passphrase";
    hearth.create_user("ruth", admin_password, &["--admin"]);
    let (bob, bob_csrf) = signed_up(&hearth, "bob").await;
    signed_up(&hearth, "cid").await;

    // A member is refused the admins' pages, and a form sent to them
    // anyway changes nothing.
    let home = page_text(&bob, &hearth, "/").await;
    assert!(!home.contains("href=\"/admin/bans\""), "{home}");
    for path in ["/admin/bans", "/admin/log"] {
        let refused = bob.get(hearth.url(path)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let html = refused.text().await.unwrap();
        assert!(
            html.contains("Only the people who run this server can see this page."),
            "{path}: {html}"
        );
    }
    for (path, form) in [
        (
            "/admin/bans",
            vec![
                ("csrf", bob_csrf.as_str()),
                ("person", "cid"),
                ("reason", "Spam"),
                ("duration", "lifted"),
            ],
        ),
        (
            "/admin/bans/lift",
            vec![("csrf", bob_csrf.as_str()), ("person", "cid")],
        ),
    ] {
        let refused = bob.post(hearth.url(path)).form(&form).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(hearth.count("bans").await, 0);
    assert_eq!(hearth.count("moderation_log").await, 0);
    let nobody = browser()
        .get(hearth.url("/admin/log"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), StatusCode::SEE_OTHER);
    assert_eq!(nobody.headers()["location"], "/login");

    // The admin's header links every admin page.
    let (ruth, ruth_csrf) = logged_in(&hearth, "ruth", admin_password).await;
    let header = page_text(&ruth, &hearth, "/").await;
    for link in ["/admin/federation", "/admin/bans", "/admin/log"] {
        assert!(header.contains(&format!("href=\"{link}\"")), "{link}");
    }

    // Banning cid from the server: a reason is needed, next to the field,
    // with the name kept; then the ban is listed, holds, and is lifted.
    let bans = page_text(&ruth, &hearth, "/admin/bans").await;
    assert!(
        bans.contains("Nobody is banned from this server."),
        "{bans}"
    );
    let no_reason = ruth
        .post(hearth.url("/admin/bans"))
        .form(&[
            ("csrf", ruth_csrf.as_str()),
            ("person", "cid"),
            ("reason", ""),
            ("duration", "7"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = no_reason.text().await.unwrap();
    assert!(
        html.contains("id=\"reason-error\"") && html.contains("href=\"#reason\""),
        "{html}"
    );
    assert!(html.contains("value=\"cid\""), "the name is kept");
    let banned = ruth
        .post(hearth.url("/admin/bans"))
        .form(&[
            ("csrf", ruth_csrf.as_str()),
            ("person", "cid"),
            ("reason", "Selling pills in every group"),
            ("duration", "7"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(banned.status(), StatusCode::SEE_OTHER);
    assert_eq!(banned.headers()["location"], "/admin/bans?done=banned");
    let bans = page_text(&ruth, &hearth, "/admin/bans?done=banned").await;
    assert!(
        bans.contains("Selling pills in every group") && bans.contains("Lift ban"),
        "{bans}"
    );
    let ruth_token = hearth.login("ruth", admin_password).await;
    let cid_token = hearth.login("cid", "long enough pass").await;
    let made = hearth
        .post(
            "/api/v1/groups",
            Some(&ruth_token),
            serde_json::json!({"name": "circle", "title": "Fatigue Circle", "join_policy": "open"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let refused = hearth
        .post(
            "/api/v1/posts",
            Some(&cid_token),
            serde_json::json!({"group": "circle", "title": "Buy my pills", "body": "Half price.", "support_kind": "emotional"}),
        )
        .await;
    refused.assert_problem(403, "forbidden");
    assert!(
        refused.text.contains("an admin banned your account"),
        "{}",
        refused.text
    );
    let lifted = ruth
        .post(hearth.url("/admin/bans/lift"))
        .form(&[("csrf", ruth_csrf.as_str()), ("person", "cid")])
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.headers()["location"], "/admin/bans?done=lifted");
    assert_eq!(hearth.count("bans").await, 0);

    // The server's moderation log has both, for the whole server.
    let log = page_text(&ruth, &hearth, "/admin/log").await;
    for expected in [
        "banned someone",
        "Selling pills in every group",
        "lifted a ban",
        "For the whole server",
    ] {
        assert!(log.contains(expected), "{expected}: {log}");
    }
}

#[tokio::test]
async fn a_member_downloads_their_data_with_the_session_cookie() {
    each_backend!(|backend| a_member_downloads_their_data_with_the_session_cookie_on(&backend));
}

async fn a_member_downloads_their_data_with_the_session_cookie_on(backend: &Backend) {
    let hearth = Instance::start(backend, Options::default().registration("open")).await;
    let admin_password = "a long enough passphrase";
    hearth.create_user("ruth", admin_password, &["--admin"]);
    let (bob, _) = signed_up(&hearth, "bob").await;

    // Linked from every page; the page says what is in it.
    let home = page_text(&bob, &hearth, "/").await;
    assert!(home.contains("href=\"/me/export\""), "{home}");
    let html = page_text(&bob, &hearth, "/me/export").await;
    assert!(html.contains("<h1>Download your data</h1>"), "{html}");
    assert!(html.contains("It does not hold what other people wrote."));
    assert!(html.contains("action=\"/me/export/download\""));
    assert!(html.contains("Nobody who runs this server has downloaded or read your private data."));

    let resp = bob
        .get(hearth.url("/me/export/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"hearth-bob-")
    );
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK\x03\x04"), "a zip archive");

    // Nobody logged in is sent to log in.
    let anonymous = browser()
        .get(hearth.url("/me/export/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()["location"], "/login");

    // An admin's export of Bob is written where Bob reads it, and on the
    // admins' page, which Bob may not open.
    let (status, _, stderr) = {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bob.zip");
        hearth.run(
            &[
                "admin",
                "export-user",
                "bob",
                "--out",
                out.to_str().unwrap(),
                "--reason",
                "asked by letter",
            ],
            "",
        )
    };
    assert!(status.success(), "{stderr}");
    let html = page_text(&bob, &hearth, "/me/export").await;
    assert!(html.contains("downloaded your data"), "{html}");
    assert!(html.contains("asked by letter"), "{html}");
    let refused = bob.get(hearth.url("/admin/audit")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (ruth, _) = logged_in(&hearth, "ruth", admin_password).await;
    let html = page_text(&ruth, &hearth, "/admin/audit").await;
    assert!(
        html.contains("downloaded the data of <strong>bob</strong>"),
        "{html}"
    );

    // Reading members' e-mail addresses and sign-up words is written too:
    // once an hour per member, however often the list is opened.
    let token = hearth.login("ruth", admin_password).await;
    for _ in 0..2 {
        let list = hearth.get("/api/v1/admin/accounts", Some(&token)).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    }
    let bob_token = hearth.login("bob", "long enough pass").await;
    let mine = hearth.get("/api/v1/me/audit_log", Some(&bob_token)).await;
    let actions: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["account_details", "export"], "{}", mine.text);
    let html = page_text(&bob, &hearth, "/me/export").await;
    assert!(
        html.contains("read your account details (your e-mail address"),
        "{html}"
    );
    // The admin reading their own account is not a privileged read.
    let own = hearth.get("/api/v1/me/audit_log", Some(&token)).await;
    assert_eq!(own.body["items"], serde_json::json!([]), "{}", own.text);
}

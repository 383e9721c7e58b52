//! Verified professionals across servers: a professional verified on A
//! writes "as a professional" in a group on B; members on B and C see the
//! role "verified by A" and the disclaimer; revoking it on A takes both
//! away on B and C; a server that claims A verified its own person is not
//! believed; only admins and moderators they trust may verify; nobody else
//! may speak as a professional.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rig::{PASSWORD, Rig, Scene};
use support::{Backend, wait_until};

const ROLE: &str = "Registered nurse, oncology";
const DISCLAIMER: &str = "General information, not advice for your situation. Talk to your own care team about what is right for you.";

/// A hostile person joins a group on a Hearth server (an open group:
/// accepted at once) and waits for the Accept.
async fn hostile_joins(rig: &Rig, person: &str, server: &str, group: &str) {
    let hostile = rig.hostile();
    let actor = hostile.person(person);
    let target = rig.at(server).group_url(group);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": hostile.new_id("follow"),
        "type": "Follow",
        "actor": actor,
        "object": target,
    });
    let (status, body) = hostile
        .send(&actor, &format!("{target}/inbox"), &follow)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_until(&format!("{person} to be accepted"), || async {
        hostile
            .received()
            .iter()
            .any(|r| {
                r.path == format!("/users/{person}/inbox")
                    && String::from_utf8_lossy(&r.body).contains("\"Accept\"")
            })
            .then_some(())
    })
    .await;
}

/// The post `url` as `member` of `server` sees it, once `check` holds.
async fn wait_post(
    rig: &Rig,
    server: &str,
    member: &str,
    url: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let at = rig.at(server);
    // On b the group is local.
    let group = if server == "b" {
        "circle".to_owned()
    } else {
        rig.handle("circle@b")
    };
    wait_until(&format!("{what} on {server}"), || async {
        let thread = at.thread(Some(member), &group, url).await?;
        check(&thread).then_some(thread)
    })
    .await
}

/// A web page as `member` of `server` sees it (logged in by cookie).
async fn web_page(rig: &Rig, server: &str, member: &str, path: &str) -> String {
    let at = rig.at(server);
    let resp = reqwest::Client::new()
        .get(at.instance.url(path))
        .header("cookie", format!("hearth_session={}", at.token(member)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path} on {server}");
    resp.text().await.unwrap()
}

fn verified_by(post: &Value) -> Option<&str> {
    post["author"]["professional"]["verified_by"].as_str()
}

#[tokio::test]
async fn a_professional_verified_on_one_server_is_shown_so_on_others_until_revoked() {
    each_backend!(|backend| professional_across_servers(&backend));
}

async fn professional_across_servers(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("nina")
        .member("olly")
        .joins("nina", "circle@b")
        .server("b")
        .member("bea")
        .group("circle", "bea")
        .server("c")
        .member("cal")
        .joins("cal", "circle@b")
        .hostile()
        .start(backend)
        .await;
    let a = rig.at("a");
    a.instance
        .create_user("root_a", PASSWORD, &["--role", "admin"]);
    a.instance
        .create_user("mod_a", PASSWORD, &["--role", "moderator"]);
    let admin = a.instance.login("root_a", PASSWORD).await;
    let moderator = a.instance.login("mod_a", PASSWORD).await;
    let me = a.api(Method::GET, "/api/v1/me", Some("nina"), None).await;
    let nina_id = me.body["id"].as_str().unwrap().to_owned();
    let mod_id = a.instance.get("/api/v1/me", Some(&moderator)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let verification = format!("/api/v1/admin/accounts/{nina_id}/verification");
    let as_ = |token: &str, method: Method, path: &str, body: Option<Value>| {
        let (token, path) = (token.to_owned(), path.to_owned());
        async move { a.instance.request(method, &path, Some(&token), body).await }
    };

    // Nobody speaks as a professional without a verification.
    let unverified = a
        .api(
            Method::POST,
            "/api/v1/posts",
            Some("nina"),
            Some(json!({"group": rig.handle("circle@b"), "title": "Mouth care", "body": "Rinse.", "support_kind": "general-knowledge", "speaking_as": "professional"})),
        )
        .await;
    assert_eq!(
        unverified.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unverified.text
    );
    assert!(
        unverified.text.contains("speaking_as"),
        "{}",
        unverified.text
    );

    // A member, and a moderator the admin has not trusted, may not verify.
    let body = Some(json!({"role": ROLE}));
    let member = a
        .api(Method::PUT, &verification, Some("olly"), body.clone())
        .await;
    assert_eq!(member.status, StatusCode::FORBIDDEN, "{}", member.text);
    let untrusted = as_(&moderator, Method::PUT, &verification, body.clone()).await;
    assert_eq!(
        untrusted.status,
        StatusCode::FORBIDDEN,
        "{}",
        untrusted.text
    );
    // Only admins choose who is trusted; then the moderator may.
    let by_moderator = as_(
        &moderator,
        Method::PUT,
        &format!("/api/v1/admin/accounts/{mod_id}/verifier"),
        None,
    )
    .await;
    assert_eq!(by_moderator.status, StatusCode::FORBIDDEN);
    let trusted = as_(
        &admin,
        Method::PUT,
        &format!("/api/v1/admin/accounts/{mod_id}/verifier"),
        None,
    )
    .await;
    assert_eq!(trusted.status, StatusCode::OK, "{}", trusted.text);
    assert_eq!(trusted.body["may_verify"], true);
    // A role that is markup is refused, naming the field.
    let markup = as_(
        &moderator,
        Method::PUT,
        &verification,
        Some(json!({"role": "<b>Doctor</b>"})),
    )
    .await;
    assert_eq!(markup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(markup.text.contains("\"role\""), "{}", markup.text);
    let verified = as_(&moderator, Method::PUT, &verification, body.clone()).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert_eq!(verified.body["professional_role"], ROLE);
    assert_eq!(verified.body["verified_by"], a.authority());
    let claim_id = verified.body["verification"].as_str().unwrap().to_owned();
    // Anyone may check it at its id.
    let served = a.instance.get(&path_of(&claim_id), None).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    assert_eq!(served.body["type"], "Verification");
    assert_eq!(served.body["subject"], a.actor("nina"));
    assert_eq!(served.body["role"], ROLE);
    // The actor carries it.
    let actor = a.instance.get(&path_of(&a.actor("nina")), None).await;
    assert_eq!(actor.body["professional"]["id"], claim_id.as_str());

    // Only a verified professional is offered the choice.
    let compose = format!("/groups/circle@{}/new", rig.at("b").authority());
    assert!(
        web_page(&rig, "a", "nina", &compose)
            .await
            .contains("Speaking as")
    );
    assert!(
        !web_page(&rig, "c", "cal", &compose)
            .await
            .contains("Speaking as")
    );

    // Nina writes as a professional in the group on b.
    let written = a
        .write(
            "nina",
            &rig.handle("circle@b"),
            json!({"title": "Mouth care during chemo", "body": "Rinse with salt water.", "support_kind": "general-knowledge", "speaking_as": "professional"}),
        )
        .await;
    assert_eq!(written["speaking_as"], "professional");
    assert_eq!(written["disclaimer"], DISCLAIMER);
    assert_eq!(verified_by(&written), Some(a.authority().as_str()));
    let url = written["url"].as_str().unwrap().to_owned();

    // Members on b and c see the role, verified by a, and the disclaimer.
    let authority_a = a.authority();
    for (server, member) in [("b", "bea"), ("c", "cal")] {
        let seen = wait_post(&rig, server, member, &url, "the badge", |p| {
            verified_by(p) == Some(authority_a.as_str()) && p["speaking_as"] == "professional"
        })
        .await;
        assert_eq!(seen["author"]["professional"]["role"], ROLE);
        assert_eq!(seen["disclaimer"], DISCLAIMER, "on {server}");
        assert!(
            !seen["body_html"]
                .as_str()
                .unwrap()
                .contains("Speaking as a professional"),
            "the disclaimer is taken off the text on {server}: {seen}"
        );
        // And on the web page, beside her name, with the disclaimer under.
        let id = seen["id"].as_str().unwrap();
        let page = web_page(&rig, server, member, &format!("/posts/{id}")).await;
        assert!(
            page.contains(&format!("{ROLE} · verified by {authority_a}")),
            "badge on the {server} page"
        );
        assert!(page.contains(DISCLAIMER), "disclaimer on the {server} page");
    }

    // A hostile server says a verified its person: a does not confirm it
    // (the verification it names is nina's), so nobody is shown verified.
    let hostile = rig.hostile();
    hostile.set_person_extra(
        "mallory",
        json!({"professional": {
            "id": claim_id,
            "type": "Verification",
            "role": ROLE,
            "verifiedBy": format!("http://{authority_a}/"),
            "subject": hostile.person("mallory"),
        }}),
    );
    hostile_joins(&rig, "mallory", "b", "circle").await;
    let b = rig.at("b");
    let group = b.group_url("circle");
    let mallory = hostile.person("mallory");
    let page_id = hostile.url("/pages/forged");
    let create = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"hearth": "urn:hearth:ns#", "speakingAs": "hearth:speakingAs", "disclaimer": "hearth:disclaimer"}],
        "id": hostile.new_id("create"),
        "type": "Create",
        "actor": mallory,
        "object": {
            "id": page_id,
            "type": "Page",
            "attributedTo": mallory,
            "audience": group,
            "to": [group],
            "name": "Stop your chemo",
            "content": "<p>Trust me, I am a nurse.</p>",
            "speakingAs": "professional",
            "disclaimer": "Trust me.",
        },
    });
    let (status, text) = hostile
        .send(&mallory, &format!("{group}/inbox"), &create)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let forged = b.wait_thread("bea", "circle", &page_id).await;
    assert_eq!(forged["author"]["professional"], Value::Null, "{forged}");
    assert_eq!(forged["speaking_as"], "peer");
    assert_eq!(forged["disclaimer"], Value::Null);
    // The check was made, and failed: stored as such.
    assert_eq!(
        b.instance
            .scalar(&format!(
                "SELECT COUNT(*) FROM remote_actors WHERE ap_id = '{mallory}' \
                 AND professional_checked_at IS NOT NULL AND professional_role IS NULL"
            ))
            .await,
        1
    );

    // Revoked on a: the badge and the professional's voice go on b and c.
    let revoked = as_(&admin, Method::DELETE, &verification, None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.body["professional_role"], Value::Null);
    assert_eq!(
        a.instance.get(&path_of(&claim_id), None).await.status,
        StatusCode::GONE
    );
    for (server, member) in [("b", "bea"), ("c", "cal")] {
        let seen = wait_post(&rig, server, member, &url, "the badge gone", |p| {
            p["author"]["professional"].is_null()
        })
        .await;
        assert_eq!(seen["speaking_as"], "peer", "on {server}");
        assert_eq!(seen["disclaimer"], Value::Null, "on {server}");
    }
    // The history is kept: who verified, who revoked.
    let history = as_(&admin, Method::GET, &verification, None).await;
    let rows = history.body["verifications"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", history.text);
    assert_eq!(rows[0]["verified_by"], mod_id.as_str());
    assert!(rows[0]["revoked_at"].is_string());
    // Revoking what is not there is 404.
    let again = as_(&admin, Method::DELETE, &verification, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

/// The path (and query) of a URL on a test server.
fn path_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    }
}

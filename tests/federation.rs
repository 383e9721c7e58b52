//! Federation between real Hearth instances on loopback: discovery, actor
//! documents, joining groups across servers, and the inbox refusing what it
//! cannot verify. Each behaviour polls until the other side has caught up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use rsa::RsaPrivateKey;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use support::{
    Backend, Instance, Options, post_signed, private_key, signed_get, signed_post, wait_until,
};

const PW: &str = "a long enough passphrase";

fn open() -> Options {
    Options::default().registration("open")
}

async fn member(instance: &Instance, name: &str) -> String {
    instance.register(name, PW).await;
    instance.login(name, PW).await
}

async fn create_group(instance: &Instance, token: &str, name: &str, policy: &str) -> Value {
    let created = instance
        .post(
            "/api/v1/groups",
            Some(token),
            json!({"name": name, "title": format!("{name} group"), "description": "We talk.\n\nKindly.", "join_policy": policy}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body
}

/// The caller's membership of the group with `url`, as its own server sees it.
async fn membership_state(
    instance: &Instance,
    token: &str,
    group_url: &str,
) -> Option<(String, String)> {
    let list = instance.get("/api/v1/memberships", Some(token)).await;
    list.body["items"].as_array()?.iter().find_map(|m| {
        (m["group"]["url"] == group_url).then(|| {
            (
                m["id"].as_str().unwrap_or_default().to_owned(),
                m["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
    })
}

async fn wait_for_state(instance: &Instance, token: &str, group_url: &str, state: &str) -> String {
    wait_until(
        &format!("membership of {group_url} to be {state}"),
        || async {
            membership_state(instance, token, group_url)
                .await
                .filter(|(_, s)| s == state)
                .map(|(id, _)| id)
        },
    )
    .await
}

async fn members(instance: &Instance, group: &str) -> u64 {
    instance
        .get(&format!("/api/v1/groups/{group}"), None)
        .await
        .body["members"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn members_on_other_servers_join_wait_for_approval_and_leave() {
    each_backend!(|backend| async {
        let a = Instance::start(&backend, open()).await;
        let b = Instance::start(&Backend::Sqlite, open()).await;
        let c = Instance::start(&Backend::Sqlite, open()).await;
        let ann = member(&a, "ann").await;
        let bob = member(&b, "bob").await;
        let carol = member(&c, "carol").await;
        let dave = member(&c, "dave").await;
        let open_group = create_group(&a, &ann, "peers", "open").await;
        let closed_group = create_group(&a, &ann, "circle", "approval").await;
        let peers_url = open_group["url"].as_str().unwrap().to_owned();
        let circle_url = closed_group["url"].as_str().unwrap().to_owned();

        // B joins the open group by handle: pending until A's Accept arrives.
        let joined = b
            .post(
                "/api/v1/memberships",
                Some(&bob),
                json!({"target": format!("@peers@localhost:{}", a.port)}),
            )
            .await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
        assert_eq!(joined.body["group"]["url"], peers_url);
        let bob_membership = wait_for_state(&b, &bob, &peers_url, "joined").await;
        wait_until("A to count bob", || async {
            (members(&a, "peers").await == 2).then_some(())
        })
        .await;

        // C asks to join the approval group by link; a moderator on A approves.
        let asked = c
            .post(
                "/api/v1/memberships",
                Some(&carol),
                json!({"target": circle_url}),
            )
            .await;
        assert_eq!(asked.body["state"], "pending", "{}", asked.text);
        let request = wait_until("carol's request on A", || async {
            let list = a.get("/api/v1/groups/circle/requests", Some(&ann)).await;
            list.body["items"].as_array().and_then(|items| {
                items
                    .iter()
                    .find(|r| r["handle"] == format!("carol@localhost:{}", c.port))
                    .cloned()
            })
        })
        .await;
        assert_eq!(request["remote"], true);
        // Only moderators see the queue.
        b.get("/api/v1/memberships", Some(&bob)).await;
        let outsider = member(&a, "zed").await;
        a.get("/api/v1/groups/circle/requests", Some(&outsider))
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(
            membership_state(&c, &carol, &circle_url).await.unwrap().1,
            "pending"
        );
        let approved = a
            .post(
                &format!(
                    "/api/v1/groups/circle/requests/{}/approve",
                    request["id"].as_str().unwrap()
                ),
                Some(&ann),
                json!({}),
            )
            .await;
        assert_eq!(approved.body["state"], "joined", "{}", approved.text);
        wait_for_state(&c, &carol, &circle_url, "joined").await;

        // Another member of C is declined.
        c.post(
            "/api/v1/memberships",
            Some(&dave),
            json!({"target": format!("circle@localhost:{}", a.port)}),
        )
        .await;
        let request = wait_until("dave's request on A", || async {
            let list = a.get("/api/v1/groups/circle/requests", Some(&ann)).await;
            list.body["items"]
                .as_array()
                .and_then(|items| items.first().cloned())
        })
        .await;
        a.post(
            &format!(
                "/api/v1/groups/circle/requests/{}/decline",
                request["id"].as_str().unwrap()
            ),
            Some(&ann),
            json!({}),
        )
        .await;
        wait_for_state(&c, &dave, &circle_url, "declined").await;
        assert_eq!(members(&a, "circle").await, 2);

        // Leaving removes the membership on A.
        let left = b
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/memberships/{bob_membership}"),
                Some(&bob),
                None,
            )
            .await;
        assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text);
        wait_until("A to drop bob", || async {
            (members(&a, "peers").await == 1).then_some(())
        })
        .await;
        assert!(membership_state(&b, &bob, &peers_url).await.is_none());
    });
}

#[tokio::test]
async fn actor_and_webfinger_documents_meet_mastodons_requirements() {
    let req: Value =
        serde_json::from_str(include_str!("fixtures/mastodon/actor-requirements.json")).unwrap();
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let ann = member(&a, "ann").await;
    create_group(&a, &ann, "peers", "approval").await;
    let client = reqwest::Client::new();
    let domain = format!("localhost:{}", a.port);

    for (handle, expected_type) in [
        ("ann", "Person"),
        ("peers", "Group"),
        ("instance", "Application"),
    ] {
        let wf = a
            .get(
                &format!("/.well-known/webfinger?resource=acct:{handle}@{domain}"),
                None,
            )
            .await;
        assert_eq!(wf.status, StatusCode::OK, "{}", wf.text);
        assert_eq!(
            wf.header("content-type"),
            req["webfinger"]["content_type"].as_str()
        );
        assert_eq!(wf.body["subject"], format!("acct:{handle}@{domain}"));
        let link = wf.body["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| {
                l["rel"] == req["webfinger"]["self_link_rel"]
                    && l["type"] == req["webfinger"]["self_link_type"]
            })
            .expect("self link")
            .clone();
        let href = link["href"].as_str().unwrap();

        for accept in req["content_types"].as_array().unwrap() {
            let resp = client
                .get(href)
                .header("accept", accept.as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(resp.headers()["content-type"], "application/activity+json");
            let actor: Value = resp.json().await.unwrap();
            assert_eq!(actor["id"], href);
            assert_eq!(actor["type"], expected_type);
            assert!(
                req["actor_types"]
                    .as_array()
                    .unwrap()
                    .contains(&actor["type"])
            );
            for field in req["required_strings"]
                .as_array()
                .unwrap()
                .iter()
                .chain(req["recommended_strings"].as_array().unwrap())
            {
                if expected_type == "Application" && (field == "followers" || field == "published")
                {
                    continue;
                }
                assert!(
                    actor[field.as_str().unwrap()].is_string(),
                    "{expected_type} lacks {field}: {actor}"
                );
            }
            for field in req["required_public_key"].as_array().unwrap() {
                assert!(
                    actor["publicKey"][field.as_str().unwrap()].is_string(),
                    "publicKey.{field}"
                );
            }
            assert_eq!(actor["publicKey"]["owner"], href);
            assert!(
                actor["publicKey"]["publicKeyPem"]
                    .as_str()
                    .unwrap()
                    .starts_with(req["public_key_pem_prefix"].as_str().unwrap())
            );
            for ctx in req["context_must_include"].as_array().unwrap() {
                assert!(
                    actor["@context"].as_array().unwrap().contains(ctx),
                    "@context lacks {ctx}"
                );
            }
            for field in req["booleans"].as_array().unwrap() {
                assert!(actor[field.as_str().unwrap()].is_boolean(), "{field}");
            }
            assert_eq!(actor["indexable"], false, "not indexable by default");
            assert!(actor["endpoints"]["sharedInbox"].is_string());
            // preferredUsername@domain WebFingers back to the same actor.
            let back = a
                .get(
                    &format!(
                        "/.well-known/webfinger?resource=acct:{}@{domain}",
                        actor["preferredUsername"].as_str().unwrap()
                    ),
                    None,
                )
                .await;
            assert!(
                back.body["links"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l["href"] == href)
            );
        }
    }

    // A group's followers collection shows a count, never the members.
    let followers = client
        .get(a.url("/g/peers/followers"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(followers["totalItems"], 1);
    assert!(followers.get("orderedItems").is_none() && followers.get("first").is_none());
    let group: Value = client
        .get(a.url("/g/peers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(group["manuallyApprovesFollowers"], true);
    let mods: Value = client
        .get(group["attributedTo"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        mods["orderedItems"][0],
        a.url("/u/ann").replace("127.0.0.1", "localhost")
    );
    // Email never appears in a Person document.
    a.request(
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&ann),
        Some(json!({"email": "ann@example.org"})),
    )
    .await;
    let person = client
        .get(a.url("/u/ann"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!person.contains("ann@example.org"));
}

#[tokio::test]
async fn webfinger_answers_one_actor_per_name() {
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let token = member(&a, "support").await;
    create_group(&a, &token, "circle", "open").await;
    for (name, path) in [("support", "/u/support"), ("CIRCLE", "/g/circle")] {
        let wf = a
            .get(
                &format!(
                    "/.well-known/webfinger?resource=acct:{name}@localhost:{}",
                    a.port
                ),
                None,
            )
            .await;
        let links: Vec<&Value> = wf.body["links"].as_array().unwrap().iter().collect();
        assert_eq!(links.len(), 1, "{}", wf.text);
        assert_eq!(links[0]["rel"], "self");
        assert!(links[0]["href"].as_str().unwrap().ends_with(path));
    }
    a.get(
        &format!(
            "/.well-known/webfinger?resource=acct:nobody@localhost:{}",
            a.port
        ),
        None,
    )
    .await
    .assert_problem(404, "not-found");
    a.get(
        "/.well-known/webfinger?resource=acct:support@elsewhere.example",
        None,
    )
    .await
    .assert_problem(404, "not-found");
    a.get("/.well-known/webfinger", None)
        .await
        .assert_problem(400, "invalid-query");
}

#[tokio::test]
async fn nodeinfo_names_the_software_and_the_instance_actor() {
    let a = Instance::start(&Backend::Sqlite, open()).await;
    member(&a, "ann").await;
    let links = a.get("/.well-known/nodeinfo", None).await;
    let rels: Vec<&str> = links.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert!(rels.contains(&"http://nodeinfo.diaspora.software/ns/schema/2.0"));
    assert!(rels.contains(&"http://nodeinfo.diaspora.software/ns/schema/2.1"));
    let actor_link = links.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "https://www.w3.org/ns/activitystreams#Application")
        .unwrap();
    assert!(actor_link["href"].as_str().unwrap().ends_with("/actor"));
    for version in ["2.0", "2.1"] {
        let doc = a.get(&format!("/nodeinfo/{version}"), None).await;
        assert_eq!(doc.body["version"], version);
        assert_eq!(doc.body["software"]["name"], "hearth");
        assert_eq!(doc.body["protocols"][0], "activitypub");
        assert_eq!(doc.body["openRegistrations"], true);
        assert_eq!(doc.body["usage"]["users"]["total"], 1);
    }
}

// ---- the inbox refuses what it cannot verify ----

/// Row counts of the tables an inbound activity could change.
async fn state_of(instance: &Instance) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "inbound_activities",
        "group_members",
        "remote_actors",
        "outbound_activities",
        "deliveries",
    ] {
        counts.push(instance.count(table).await);
    }
    counts
}

#[tokio::test]
async fn inbox_refuses_what_it_cannot_verify_and_stores_nothing() {
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let b = Instance::start(&Backend::Sqlite, open()).await;
    let ann = member(&a, "ann").await;
    member(&b, "bob").await;
    member(&b, "carol").await;
    create_group(&a, &ann, "peers", "open").await;
    let inbox = format!("http://localhost:{}/g/peers/inbox", a.port);
    let group = format!("http://localhost:{}/g/peers", a.port);
    let bob_id = format!("http://localhost:{}/u/bob", b.port);
    let bob_key = private_key(&b, "bob").await;
    let carol_key = private_key(&b, "carol").await;
    let follow = |n: u32| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{bob_id}/follows/{n}"),
            "type": "Follow",
            "actor": bob_id,
            "object": group,
        })
    };
    let now = std::time::SystemTime::now();
    let key_id = format!("{bob_id}#main-key");
    let before = state_of(&a).await;

    // Unsigned.
    let body = follow(1);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", "application/activity+json".parse().unwrap());
    let (status, problem) = post_signed(&inbox, &body, headers).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("urn:hearth:problem:invalid-signature")
        )
    );

    // Signed with another actor's key (carol's), claiming to be bob.
    let carol_key_id = format!("http://localhost:{}/u/carol#main-key", b.port);
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&body).unwrap(),
        &carol_key_id,
        &carol_key,
        now,
    );
    let (status, problem) = post_signed(&inbox, &body, headers).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("urn:hearth:problem:key-owner-mismatch")
        ),
        "{problem}"
    );

    // A Date from two hours ago, and one from two hours ahead.
    for offset in [-7200i64, 7200] {
        let date = if offset < 0 {
            now - std::time::Duration::from_secs(7200)
        } else {
            now + std::time::Duration::from_secs(7200)
        };
        let headers = signed_post(
            &inbox,
            &serde_json::to_vec(&body).unwrap(),
            &key_id,
            &bob_key,
            date,
        );
        let (status, problem) = post_signed(&inbox, &body, headers).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "offset {offset}: {problem}"
        );
    }

    // A body over the limit.
    let mut big = follow(2);
    big["padding"] = json!("x".repeat(300 * 1024));
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&big).unwrap(),
        &key_id,
        &bob_key,
        now,
    );
    let (status, problem) = post_signed(&inbox, &big, headers).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("urn:hearth:problem:body-too-large")
        )
    );

    // Nothing above even fetched an actor.
    assert_eq!(state_of(&a).await, before);

    // Signed, then the signature bytes tampered with: the key has to be
    // fetched to find out.
    let mut headers = signed_post(
        &inbox,
        &serde_json::to_vec(&body).unwrap(),
        &key_id,
        &bob_key,
        now,
    );
    let sig = headers["signature"].to_str().unwrap().to_owned();
    let tampered = sig.replacen("signature=\"", "signature=\"AAAA", 1);
    headers.insert("signature", tampered.parse().unwrap());
    let (status, problem) = post_signed(&inbox, &body, headers).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");

    // Correctly signed, but undoing an activity on another origin.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob_id}/undo/1"),
        "type": "Undo",
        "actor": bob_id,
        "object": {"id": "http://elsewhere.example/follows/9", "type": "Follow", "actor": bob_id, "object": group},
    });
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&undo).unwrap(),
        &key_id,
        &bob_key,
        now,
    );
    let (status, problem) = post_signed(&inbox, &undo, headers).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("urn:hearth:problem:origin-mismatch")
        ),
        "{problem}"
    );

    // An activity whose own id is on another origin than its actor.
    let mut foreign = follow(3);
    foreign["id"] = json!("http://elsewhere.example/follows/3");
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&foreign).unwrap(),
        &key_id,
        &bob_key,
        now,
    );
    let (status, _) = post_signed(&inbox, &foreign, headers).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Only the verified actor may have been cached; nothing else changed.
    let after = state_of(&a).await;
    assert_eq!(
        (after[0], after[1], after[3], after[4]),
        (before[0], before[1], before[3], before[4]),
        "inbound, memberships, outbound and deliveries unchanged"
    );

    // The same request, correct in every way, is accepted: the checks above
    // refused for their reason, not because the harness signs wrongly.
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&body).unwrap(),
        &key_id,
        &bob_key,
        now,
    );
    let (status, problem) = post_signed(&inbox, &body, headers).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{problem}");
    assert_eq!(members(&a, "peers").await, 2);
}

#[tokio::test]
async fn a_duplicate_activity_is_acknowledged_and_applied_once() {
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let b = Instance::start(&Backend::Sqlite, open()).await;
    let ann = member(&a, "ann").await;
    member(&b, "bob").await;
    create_group(&a, &ann, "peers", "open").await;
    let inbox = format!("http://localhost:{}/inbox", a.port);
    let bob_id = format!("http://localhost:{}/u/bob", b.port);
    let key = private_key(&b, "bob").await;
    let follow = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"extra": "https://example.org/ns#extra"}],
        "id": format!("{bob_id}/follows/dup"),
        "type": "Follow",
        "actor": {"id": bob_id, "type": "Person"},
        "object": {"id": format!("http://localhost:{}/g/peers", a.port), "type": "Group"},
    });
    let bytes = serde_json::to_vec(&follow).unwrap();
    let sends = (0..3).map(|_| {
        let headers = signed_post(
            &inbox,
            &bytes,
            &format!("{bob_id}#main-key"),
            &key,
            std::time::SystemTime::now(),
        );
        post_signed(&inbox, &follow, headers)
    });
    for (status, body) in futures::future::join_all(sends).await {
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(a.count("inbound_activities").await, 1);
    assert_eq!(members(&a, "peers").await, 2);
    assert_eq!(a.count("outbound_activities").await, 1, "one Accept");
    // The Accept reaches B, whose inbox ignores an Accept of a Follow it did not send.
    let db = a.db().await;
    wait_until("the Accept to be delivered", || async {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT state, last_status FROM deliveries",
            ))
            .await
            .unwrap()?;
        let state: String = row.try_get("", "state").unwrap();
        (state == "delivered").then_some(())
    })
    .await;
}

#[tokio::test]
async fn signed_fetches_are_verified_and_unsigned_public_ones_allowed() {
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let b = Instance::start(&Backend::Sqlite, open()).await;
    let ann = member(&a, "ann").await;
    member(&b, "bob").await;
    create_group(&a, &ann, "peers", "open").await;
    let url = url::Url::parse(&format!("http://localhost:{}/g/peers", a.port)).unwrap();
    let key = private_key(&b, "bob").await;
    let key_id = format!("http://localhost:{}/u/bob#main-key", b.port);
    let sign = |tamper: bool| {
        let mut headers = signed_get(url.as_str(), &key_id, &key);
        if tamper {
            let sig = headers["signature"].to_str().unwrap().to_owned();
            let tampered = sig.replacen("signature=\"", "signature=\"AAAA", 1);
            headers.insert("signature", tampered.parse().unwrap());
        }
        headers
    };
    let client = reqwest::Client::new();
    let ok = client
        .get(url.as_str())
        .headers(sign(false))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let bad = client
        .get(url.as_str())
        .headers(sign(true))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let unsigned = client.get(url.as_str()).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_a_group_that_exists_has_an_inbox() {
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let ann = member(&a, "ann").await;
    create_group(&a, &ann, "peers", "open").await;
    let client = reqwest::Client::new();
    // Twice each: the second answer comes after the group's name was
    // remembered (or, for a missing group, was not).
    for _ in 0..2 {
        for (name, expected) in [
            ("no-such-group", StatusCode::NOT_FOUND),
            ("peers", StatusCode::UNAUTHORIZED),
            ("PEERS", StatusCode::UNAUTHORIZED),
        ] {
            let response = client
                .post(format!("http://localhost:{}/g/{name}/inbox", a.port))
                .header("content-type", "application/activity+json")
                .body(r#"{"type":"Follow"}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), expected, "inbox of {name}");
        }
    }
}

#[tokio::test]
async fn a_rotated_remote_key_is_refetched_once_and_then_verifies() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let a = Instance::start(&Backend::Sqlite, open()).await;
    let b = Instance::start(&Backend::Sqlite, open()).await;
    let ann = member(&a, "ann").await;
    member(&b, "bob").await;
    create_group(&a, &ann, "peers", "open").await;
    let inbox = format!("http://localhost:{}/g/peers/inbox", a.port);
    let group = format!("http://localhost:{}/g/peers", a.port);
    let bob_id = format!("http://localhost:{}/u/bob", b.port);
    let key_id = format!("{bob_id}#main-key");
    let follow = json!({"id": format!("{bob_id}/follows/r1"), "type": "Follow", "actor": bob_id, "object": group});
    let old_key = private_key(&b, "bob").await;
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&follow).unwrap(),
        &key_id,
        &old_key,
        std::time::SystemTime::now(),
    );
    assert_eq!(
        post_signed(&inbox, &follow, headers).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(members(&a, "peers").await, 2);

    // Bob's server rotates his key; A still has the old one cached.
    let new_key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let private_pem = new_key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public_pem = new_key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let db = b.db().await;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE users SET public_key_pem = $1, private_key_pem = $2 WHERE username = 'bob'",
        [public_pem.into(), private_pem.into()],
    ))
    .await
    .unwrap();

    let undo = json!({"id": format!("{bob_id}/undo/r1"), "type": "Undo", "actor": bob_id, "object": follow});
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&undo).unwrap(),
        &key_id,
        &new_key,
        std::time::SystemTime::now(),
    );
    let (status, problem) = post_signed(&inbox, &undo, headers).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{problem}");
    assert_eq!(
        members(&a, "peers").await,
        1,
        "the Undo was applied after the refetch"
    );

    // The old key no longer works.
    let stale = json!({"id": format!("{bob_id}/follows/r2"), "type": "Follow", "actor": bob_id, "object": group});
    let headers = signed_post(
        &inbox,
        &serde_json::to_vec(&stale).unwrap(),
        &key_id,
        &old_key,
        std::time::SystemTime::now(),
    );
    assert_eq!(
        post_signed(&inbox, &stale, headers).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn outside_test_mode_local_and_private_addresses_are_refused() {
    let a = Instance::start(&Backend::Sqlite, open().set("HEARTH_TEST_MODE", "false")).await;
    let ann = member(&a, "ann").await;
    for target in [
        "https://localhost/g/peers",
        "https://127.0.0.1/g/peers",
        "@peers@localhost",
        "@peers@10.0.0.1",
    ] {
        let answer = a
            .post("/api/v1/memberships", Some(&ann), json!({"target": target}))
            .await;
        answer.assert_problem(422, "validation-failed");
        assert_eq!(answer.body["field"], "target", "{target}: {}", answer.text);
    }
    let answer = a
        .post(
            "/api/v1/memberships",
            Some(&ann),
            json!({"target": "@peers@localhost:8080"}),
        )
        .await;
    answer.assert_problem(422, "validation-failed");
    assert_eq!(a.count("remote_actors").await, 0);
    assert_eq!(a.count("outbound_activities").await, 0);
}

/// Two servers on loopback: A, with ann and her open group `peers` (which
/// allows public posts: bob writes public ones); B, with bob, whom the
/// test plays from outside with his real key.
struct Pair {
    a: Instance,
    b: Instance,
    ann: String,
    inbox: String,
    group: String,
    bob_id: String,
    key_id: String,
    bob_key: RsaPrivateKey,
}

impl Pair {
    async fn start(a_options: Options) -> Pair {
        let a = Instance::start(&Backend::Sqlite, a_options).await;
        let b = Instance::start(&Backend::Sqlite, open()).await;
        let ann = member(&a, "ann").await;
        member(&b, "bob").await;
        let made = a
            .post(
                "/api/v1/groups",
                Some(&ann),
                json!({"name": "peers", "title": "peers group", "join_policy": "open", "visibility": "public"}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        let bob_id = format!("http://localhost:{}/u/bob", b.port);
        let bob_key = private_key(&b, "bob").await;
        Pair {
            inbox: format!("http://localhost:{}/g/peers/inbox", a.port),
            group: format!("http://localhost:{}/g/peers", a.port),
            key_id: format!("{bob_id}#main-key"),
            a,
            b,
            ann,
            bob_id,
            bob_key,
        }
    }

    /// B's authority, as a rule names one server.
    fn b_authority(&self) -> String {
        format!("localhost:{}", self.b.port)
    }

    /// Bob's `Follow` of `peers`, numbered `n`, signed and sent to A.
    async fn follow(&self, n: u32) -> (StatusCode, Value) {
        let activity = json!({"id": format!("{}/follows/p{n}", self.bob_id), "type": "Follow", "actor": self.bob_id, "object": self.group});
        let headers = signed_post(
            &self.inbox,
            &serde_json::to_vec(&activity).unwrap(),
            &self.key_id,
            &self.bob_key,
            std::time::SystemTime::now(),
        );
        post_signed(&self.inbox, &activity, headers).await
    }

    /// Bob's thread in `peers`, numbered `n`, signed and sent to A: its id.
    async fn thread(&self, n: u32) -> String {
        let id = format!("{}/threads/t{n}", self.bob_id);
        let activity = json!({
            "id": format!("{}/creates/c{n}", self.bob_id),
            "type": "Create",
            "actor": self.bob_id,
            "to": [self.group, "https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": id, "type": "Page", "name": format!("Bob's thread {n}"),
                "attributedTo": self.bob_id, "audience": self.group,
                "to": [self.group, "https://www.w3.org/ns/activitystreams#Public"],
                "content": "<p>Words from B.</p>",
            }
        });
        let headers = signed_post(
            &self.inbox,
            &serde_json::to_vec(&activity).unwrap(),
            &self.key_id,
            &self.bob_key,
            std::time::SystemTime::now(),
        );
        let (status, body) = post_signed(&self.inbox, &activity, headers).await;
        assert!(status.is_success(), "{status} {body}");
        id
    }

    /// Whether ann on A sees the post `id` in `peers`.
    async fn ann_sees(&self, id: &str) -> bool {
        let list = self
            .a
            .get("/api/v1/posts?group=peers", Some(&self.ann))
            .await;
        list.body["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|p| p["url"] == id))
    }

    /// The id ann's API gives the post `url` in `peers`.
    async fn ann_id_of(&self, url: &str) -> String {
        let listed = self
            .a
            .get("/api/v1/posts?group=peers", Some(&self.ann))
            .await;
        listed.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|t| t["url"] == url))
            .and_then(|t| t["id"].as_str())
            .unwrap_or_else(|| panic!("{}", listed.text))
            .to_owned()
    }

    /// The status of bob's signed fetch of the group.
    async fn fetch_group(&self) -> StatusCode {
        reqwest::Client::new()
            .get(&self.group)
            .header("accept", "application/activity+json")
            .headers(signed_get(&self.group, &self.key_id, &self.bob_key))
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn a_suspended_server_is_cut_off_both_ways_until_the_rule_goes() {
    let p = Pair::start(open()).await;
    let a = &p.a;
    assert_eq!(p.follow(1).await.0, StatusCode::ACCEPTED);
    assert_eq!(members(a, "peers").await, 2);
    let bobs = p.thread(1).await;
    assert!(p.ann_sees(&bobs).await, "bob's thread is in the group");

    // Bad input names its field and changes nothing.
    let (status, _, err) = a.run(&["admin", "domains", "set", "not a domain", "suspend"], "");
    assert!(!status.success());
    assert!(err.contains("domain"), "{err}");
    let (status, _, err) = a.run(&["admin", "domains", "set", "b.example", "ban"], "");
    assert!(!status.success());
    assert!(err.contains("action"), "{err}");
    let (_, listed, _) = a.run(&["admin", "domains", "list"], "");
    assert!(!listed.contains("b.example"), "{listed}");

    // A's admin suspends B's server from the shell, while A is serving.
    let b_authority = p.b_authority();
    let (status, out, err) = a.run(
        &[
            "admin",
            "domains",
            "set",
            &b_authority,
            "suspend",
            "--public-reason",
            "spam",
            "--private-reason",
            "reports 3 and 4",
        ],
        "",
    );
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("1 of their members' memberships"), "{out}");
    assert_eq!(
        members(a, "peers").await,
        1,
        "bob's membership ended at once"
    );
    let (_, listed, _) = a.run(&["admin", "domains", "list"], "");
    assert!(
        listed.contains(&b_authority) && listed.contains("reports 3 and 4"),
        "{listed}"
    );
    // What B's people wrote is hidden while the suspension holds.
    assert!(
        !p.ann_sees(&bobs).await,
        "a suspended server's posts are hidden"
    );

    // The serving process takes the rule up within seconds: B's signed
    // fetches and activities are refused before anything is looked up.
    wait_until("A to refuse B's signed fetches", || async {
        (p.fetch_group().await == StatusCode::FORBIDDEN).then_some(())
    })
    .await;
    let (status, problem) = p.follow(2).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(
        problem["type"].as_str(),
        Some("urn:hearth:problem:refused"),
        "{problem}"
    );
    assert_eq!(members(a, "peers").await, 1);
    // Nothing is queued for B any more: A's post in the group goes nowhere.
    let posted = a
        .post(
            "/api/v1/posts",
            Some(&p.ann),
            json!({"group": "peers", "title": "Still here", "body": "Hello", "support_kind": "emotional"}),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let waiting = a
        .scalar(&format!(
            "SELECT COUNT(*) FROM deliveries WHERE authority = '{b_authority}' AND state IN ('pending', 'sending')"
        ))
        .await;
    assert_eq!(waiting, 0);

    // Removing the rule lets B back in.
    let (status, out, err) = a.run(&["admin", "domains", "remove", &b_authority], "");
    assert!(status.success(), "{out}{err}");
    wait_until("A to answer B's signed fetches again", || async {
        (p.fetch_group().await == StatusCode::OK).then_some(())
    })
    .await;
    assert_eq!(p.follow(3).await.0, StatusCode::ACCEPTED);
    assert_eq!(members(a, "peers").await, 2);
    assert!(p.ann_sees(&bobs).await, "shown again once the rule is gone");
}

#[tokio::test]
async fn in_allowlist_mode_only_allowed_servers_get_in() {
    let p = Pair::start(open().set("HEARTH_FEDERATION_MODE", "allowlist")).await;
    let a = &p.a;
    assert_eq!(p.follow(1).await.0, StatusCode::FORBIDDEN);
    assert_eq!(members(a, "peers").await, 1);

    // A rule for the whole host would allow every server on it; this one
    // names B's port.
    let (status, out, err) = a.run(&["admin", "domains", "set", &p.b_authority(), "allow"], "");
    assert!(status.success(), "{out}{err}");
    wait_until("A to answer B's signed fetches", || async {
        (p.fetch_group().await == StatusCode::OK).then_some(())
    })
    .await;
    assert_eq!(p.follow(2).await.0, StatusCode::ACCEPTED);
    assert_eq!(members(a, "peers").await, 2);

    // Removing the allow cuts B off again, and ends its membership.
    let (status, out, err) = a.run(&["admin", "domains", "remove", &p.b_authority()], "");
    assert!(status.success(), "{out}{err}");
    assert_eq!(members(a, "peers").await, 1);
}

#[tokio::test]
async fn a_limited_servers_people_wait_to_join_and_their_posts_stay_in_the_group() {
    let p = Pair::start(open()).await;
    let a = &p.a;
    let (status, _, err) = a.run(
        &[
            "admin",
            "create-user",
            "keeper",
            "--admin",
            "--password-stdin",
        ],
        &format!("{PW}\n"),
    );
    assert!(status.success(), "{err}");
    let root = a.login("keeper", PW).await;
    let set = a
        .post(
            "/api/v1/admin/domain_rules",
            Some(&root),
            json!({"domain": p.b_authority(), "action": "limit", "public_reason": "new server, not known yet"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);

    // Not let into an open group without a moderator.
    assert_eq!(p.follow(1).await.0, StatusCode::ACCEPTED);
    assert_eq!(members(a, "peers").await, 1, "bob waits for a moderator");
    let requests = a.get("/api/v1/groups/peers/requests", Some(&p.ann)).await;
    let id = requests.body["items"][0]["id"].as_str().unwrap().to_owned();
    let approved = a
        .post(
            &format!("/api/v1/groups/peers/requests/{id}/approve"),
            Some(&p.ann),
            json!({}),
        )
        .await;
    assert!(approved.status.is_success(), "{}", approved.text);
    assert_eq!(members(a, "peers").await, 2);

    // bob's public thread is for the group's members only while the limit
    // holds: ann reads it; nobody outside the group does.
    let bobs = p.thread(1).await;
    assert!(p.ann_sees(&bobs).await);
    let outside = a.get("/api/v1/posts?group=peers", None).await;
    assert_eq!(outside.status, StatusCode::OK, "{}", outside.text);
    assert!(!outside.text.contains(&bobs), "{}", outside.text);

    // ann's reply to it is for the members too (it once took the thread's
    // stored visibility and went to the public; found by the addressing
    // property tests, crates/hearth-activitypub/tests).
    let thread_id = p.ann_id_of(&bobs).await;
    let reply = a
        .post(
            &format!("/api/v1/posts/{thread_id}/replies"),
            Some(&p.ann),
            json!({"body": "Same here."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["visibility"], "members", "{}", reply.text);
    let reply_path = format!("/api/v1/posts/{}", reply.body["id"].as_str().unwrap());
    assert_eq!(a.get(&reply_path, None).await.status, StatusCode::NOT_FOUND);

    // Lifted: public again.
    let path = format!("/api/v1/admin/domain_rules/{}", p.b_authority());
    let removed = a
        .request(reqwest::Method::DELETE, &path, Some(&root), None)
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    let outside = a.get("/api/v1/posts?group=peers", None).await;
    assert!(outside.text.contains(&bobs), "{}", outside.text);
    // The reply was written for the members, and stays theirs.
    assert_eq!(a.get(&reply_path, None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reply_written_before_its_threads_server_was_limited_is_for_the_members_while_it_holds() {
    let p = Pair::start(open()).await;
    let a = &p.a;
    assert_eq!(p.follow(1).await.0, StatusCode::ACCEPTED);
    assert_eq!(members(a, "peers").await, 2);
    let bobs = p.thread(1).await;
    assert!(p.ann_sees(&bobs).await);
    let thread_id = p.ann_id_of(&bobs).await;
    // ann answers in public, before any rule.
    let reply = a
        .post(
            &format!("/api/v1/posts/{thread_id}/replies"),
            Some(&p.ann),
            json!({"body": "Same here, for years."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["visibility"], "public", "{}", reply.text);
    let reply_path = format!("/api/v1/posts/{}", reply.body["id"].as_str().unwrap());
    let reply_url = reply.body["url"].as_str().unwrap().to_owned();
    assert_eq!(a.get(&reply_path, None).await.status, StatusCode::OK);

    // B is limited: bob's thread is for the members, and so is ann's
    // earlier reply in it, on every read path (the API, the ActivityPub
    // object); ann still reads both.
    let (status, out, err) = a.run(&["admin", "domains", "set", &p.b_authority(), "limit"], "");
    assert!(status.success(), "{out}{err}");
    assert_eq!(a.get(&reply_path, None).await.status, StatusCode::NOT_FOUND);
    let fetched = reqwest::Client::new()
        .get(support::rig::to_loopback(&reply_url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        a.get(&reply_path, Some(&p.ann)).await.status,
        StatusCode::OK
    );
    assert!(p.ann_sees(&bobs).await);

    // Lifted: both public again, as they were written.
    let (status, out, err) = a.run(&["admin", "domains", "remove", &p.b_authority()], "");
    assert!(status.success(), "{out}{err}");
    assert_eq!(a.get(&reply_path, None).await.status, StatusCode::OK);
    let outside = a.get("/api/v1/posts?group=peers", None).await;
    assert!(outside.text.contains(&bobs), "{}", outside.text);
}

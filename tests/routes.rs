//! Every route of the router, walked against a real server: none may serve
//! stored posts without asking the one read rule, and none may show a
//! reader what the rule keeps from them.
//!
//! The route list is `hearth_http::routes()`, the very table the router is
//! built from, so a route added without a row here cannot exist. For each
//! route, with its parameters filled from a scene (a members-only thread
//! with a reply, a `local` thread, a public thread), each reader asks:
//! nobody, a logged-in non-member, a server with no member in the group
//! (signed), a member server (signed), and a member. Then:
//!
//! 1. what a reader may not read never appears in an answer to them;
//! 2. an answer that shows any stored post's words asked the read rule
//!    (test mode reports how often in `x-hearth-read-checks`);
//! 3. a route that says it is public by design shows no post at all;
//! 4. every route that serves posts did serve them to someone allowed
//!    (so this test cannot pass by never reaching them);
//! 5. the method each route is listed with is the one it answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;

use hearth_http::{Access, READ_CHECKS_HEADER, Route};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::rig::{PASSWORD, Scene, Server};
use support::{Backend, signed_get};

/// Words only members may read, and only members here.
const MEMBERS: &str = "MEMBERSONLY";
const LOCAL: &str = "LOCALONLY";
/// Words anyone may read.
const PUBLIC: &str = "PUBLICWORDS";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Nobody,
    /// Logged in (API token and browser cookie), not in the group.
    Outsider,
    /// Another server with no member in the group, signing.
    OtherServer,
    /// A server one member lives on, signing.
    MemberServer,
    /// The group's moderator and the posts' author.
    Member,
}

impl Reader {
    fn may_read_members(self) -> bool {
        matches!(self, Reader::MemberServer | Reader::Member)
    }

    fn may_read_local(self) -> bool {
        self == Reader::Member
    }
}

/// What one request got.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    checks: usize,
    body: String,
}

struct Walk {
    a: String,
    ids: HashMap<&'static str, String>,
}

impl Walk {
    /// The path of `route` with its parameters filled in for `target`
    /// (`members`, `local` or `public`), plus the query it needs.
    fn path(&self, route: &Route, target: &str) -> String {
        let mut path = route.path.to_owned();
        let post = |kind: &str| self.ids[format!("{target}-{kind}").as_str()].clone();
        let fills: &[(&str, String)] = &[
            (
                "{name}",
                if route.path.starts_with("/u/") {
                    "ann".into()
                } else {
                    "circle".into()
                },
            ),
            ("{username}", "ann".into()),
            ("{reaction}", "hug".into()),
            ("{version}", "2.1".into()),
            ("{file}", "hearth.css".into()),
            ("{token}", "not-a-setup-link".into()),
            ("{secret}", "not-a-receipt-link".into()),
            ("{domain}", "example.org".into()),
        ];
        for (param, value) in fills {
            path = path.replace(param, value);
        }
        if path.contains("{id}") {
            let value = if route.path.starts_with("/p/") {
                post("uuid")
            } else if route.path.starts_with("/activities/") {
                post("activity")
            } else if route.path.contains("/posts/") {
                post("id")
            } else if route.path.starts_with("/api/v1/memberships/") {
                "local:1".into()
            } else if route.path.contains("/{id}/") || route.path.ends_with("/{id}") {
                "1".into()
            } else {
                panic!("{}: fill its {{id}} in tests/routes.rs", route.path)
            };
            path = path.replace("{id}", &value);
        }
        assert!(
            !path.contains('{'),
            "{}: a parameter this test does not know; fill it in tests/routes.rs",
            route.path
        );
        match route.path {
            "/api/v1/posts" => path.push_str("?group=circle"),
            "/.well-known/webfinger" => path.push_str(&format!("?resource=acct:ann@{}", self.a)),
            "/api/v1/resolve" => path.push_str(&format!("?handle=%40circle%40{}", self.a)),
            _ => {}
        }
        path
    }
}

/// A browser-like client, logged in as `member` when given.
async fn client(server: &Server, member: Option<&str>) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    if let Some(member) = member {
        let base = &server.instance.base;
        let html = client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        let csrf = html[at..].split('"').next().unwrap().to_owned();
        let r = client
            .post(format!("{base}/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", member),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "log in {member}");
    }
    client
}

#[tokio::test]
async fn every_route_serving_posts_asks_the_read_rule() {
    each_backend!(|backend| walk_every_route(&backend));
}

async fn walk_every_route(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .member("olga")
        .group_with(
            "circle",
            "ann",
            json!({"join_policy": "approval", "visibility": "public"}),
        )
        .server("b")
        .member("bea")
        .joins("bea", "circle@a")
        .server("c")
        .member("carl")
        .start(backend)
        .await;
    let (a, b, c) = (rig.at("a"), rig.at("b"), rig.at("c"));

    // The scene: a members-only thread with a reply and a reaction, a
    // local thread, a public thread; every id each route may need.
    let mut ids = HashMap::new();
    for (target, visibility, marker) in [
        ("members", "members", MEMBERS),
        ("local", "local", LOCAL),
        ("public", "public", PUBLIC),
    ] {
        let thread = a
            .write(
                "ann",
                "circle",
                json!({"title": format!("{marker} title"), "body": format!("{marker} body"), "visibility": visibility}),
            )
            .await;
        let url = thread["url"].as_str().unwrap().to_owned();
        // Pinned, so the group's `featured` collection has posts to serve.
        let pinned = a
            .api(
                Method::POST,
                &format!("/api/v1/posts/{}/pin", thread["id"].as_str().unwrap()),
                Some("ann"),
                None,
            )
            .await;
        assert!(pinned.status.is_success(), "{}", pinned.text);
        let reply = a
            .reply(
                "ann",
                thread["id"].as_str().unwrap(),
                &format!("{marker} reply"),
            )
            .await;
        let activity = a.instance.text(&format!(
                "SELECT ap_id FROM outbound_activities WHERE about_ap_id = '{}' AND kind = 'Create'",
                reply["url"].as_str().unwrap()
            ),
        )
        .await
        .unwrap_or_else(|| a.id("/activities/none"));
        ids.insert(
            format!("{target}-uuid"),
            url.rsplit('/').next().unwrap().to_owned(),
        );
        ids.insert(
            format!("{target}-id"),
            thread["id"].as_str().unwrap().to_owned(),
        );
        ids.insert(
            format!("{target}-activity"),
            activity.rsplit('/').next().unwrap().to_owned(),
        );
    }
    let ids: HashMap<&'static str, String> = ids
        .into_iter()
        .map(|(k, v)| (&*Box::leak(k.into_boxed_str()), v))
        .collect();
    let walk = Walk {
        a: a.authority(),
        ids,
    };

    let clients: HashMap<&str, reqwest::Client> = [
        ("nobody", client(a, None).await),
        ("olga", client(a, Some("olga")).await),
        ("ann", client(a, Some("ann")).await),
    ]
    .into_iter()
    .collect();
    let keys = [
        (Reader::OtherServer, c.key("carl").await, c.actor("carl")),
        (Reader::MemberServer, b.key("bea").await, b.actor("bea")),
    ];

    let send = |reader: Reader, method: Method, path: String| {
        let client = match reader {
            Reader::Outsider => clients["olga"].clone(),
            Reader::Member => clients["ann"].clone(),
            _ => clients["nobody"].clone(),
        };
        let token = match reader {
            Reader::Outsider => Some(a.token("olga").to_owned()),
            Reader::Member => Some(a.token("ann").to_owned()),
            _ => None,
        };
        let signer = keys
            .iter()
            .find(|(r, _, _)| *r == reader)
            .map(|(_, k, id)| (k.clone(), id.clone()));
        let url = format!("{}{path}", a.instance.base);
        async move {
            let mut req = client.request(method.clone(), &url);
            if let (Some(token), true) = (&token, path.starts_with("/api/")) {
                req = req.bearer_auth(token);
            }
            if let Some((key, actor)) = signer
                && method == Method::GET
            {
                let signed_url = url.replacen("127.0.0.1", "localhost", 1);
                req = req.headers(signed_get(&signed_url, &format!("{actor}#main-key"), &key));
            }
            if method != Method::GET {
                req = if path.starts_with("/api/") {
                    req.json(&json!({}))
                } else {
                    req.header("content-type", "application/x-www-form-urlencoded")
                        .body("")
                };
            } else if matches!(reader, Reader::OtherServer | Reader::MemberServer) {
                req = req.header("accept", "application/activity+json");
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let checks = resp
                .headers()
                .get(READ_CHECKS_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("test mode reports read checks on every answer");
            Got {
                status,
                checks,
                body: resp.text().await.unwrap(),
            }
        }
    };

    let mut routes = hearth_http::routes();
    // Reads first, then changes; log-outs last of all.
    routes.sort_by_key(|r| (r.method != Method::GET, r.path.ends_with("logout")));
    let readers = [
        Reader::Nobody,
        Reader::Outsider,
        Reader::OtherServer,
        Reader::MemberServer,
        Reader::Member,
    ];
    let mut served_posts: HashMap<&str, bool> = HashMap::new();
    for route in &routes {
        for target in ["members", "local", "public"] {
            let path = walk.path(route, target);
            for reader in readers {
                // Members change nothing here: this walk is about reading.
                if route.method != Method::GET && reader == Reader::Member {
                    continue;
                }
                let got = send(reader, route.method.clone(), path.clone()).await;
                let what = format!(
                    "{} {path} as {reader:?}: {} {}",
                    route.method,
                    got.status,
                    got.body.chars().take(300).collect::<String>()
                );
                assert_ne!(got.status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                assert!(!got.status.is_server_error(), "{what}");
                let shows_members = got.body.contains(MEMBERS);
                let shows_local = got.body.contains(LOCAL);
                let shows_any = shows_members || shows_local || got.body.contains(PUBLIC);
                // 1. Nothing a reader may not read.
                assert!(
                    !shows_members || reader.may_read_members(),
                    "members-only words leaked: {what}"
                );
                assert!(
                    !shows_local || reader.may_read_local(),
                    "local words leaked: {what}"
                );
                // 2. Posts shown only after asking the rule.
                assert!(
                    !shows_any || got.checks > 0,
                    "served posts without the read rule: {what}"
                );
                // 3. Public by design shows no post.
                if let Access::Public(why) = route.access {
                    assert!(
                        !shows_any,
                        "{} is public ({why}) but shows posts: {what}",
                        route.path
                    );
                }
                if got.status.is_success() && got.checks > 0 {
                    *served_posts.entry(route.path).or_default() |=
                        shows_any || got.body.contains(&walk.ids["members-uuid"]);
                }
            }
        }
    }
    // 4. Every route that serves posts served some to a reader allowed.
    for route in routes.iter().filter(|r| r.access == Access::ReadRule) {
        assert!(
            served_posts.get(route.path).copied().unwrap_or(false),
            "{} {} never served a post to anyone allowed: the walk did not reach it",
            route.method,
            route.path
        );
    }
}

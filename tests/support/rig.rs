//! A federation scene in a line: real Hearth servers with members, groups
//! and memberships across them, and a hostile server when a test needs an
//! attacker.
//!
//! ```ignore
//! let rig = Scene::new()
//!     .server("a").member("ann").group("circle", "ann")
//!     .server("b").member("bea").joins("bea", "circle@a")
//!     .hostile()
//!     .start(&backend)
//!     .await;
//! let post = rig.at("a").write("ann", "circle", json!({...})).await;
//! ```
//!
//! Builder calls after `server(name)` describe that server. `start` runs
//! them in order: start every server, sign members up, create groups,
//! then make each membership (approving requests as the group's creator)
//! and wait until every member is joined.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::hostile::Hostile;
use super::{Backend, Instance, Options, private_key, signed_get, signed_post, wait_until};

pub const PASSWORD: &str = "a long enough passphrase";

#[derive(Default)]
struct ServerSpec {
    name: String,
    options: Options,
    members: Vec<String>,
    /// (group, creator, extra fields for the create request)
    groups: Vec<(String, String, Value)>,
    /// (member, "group@server")
    joins: Vec<(String, String)>,
}

/// What to build.
#[derive(Default)]
pub struct Scene {
    servers: Vec<ServerSpec>,
    hostile: bool,
}

impl Scene {
    pub fn new() -> Scene {
        Scene::default()
    }

    fn current(&mut self) -> &mut ServerSpec {
        self.servers
            .last_mut()
            .expect("call server(name) before describing one")
    }

    /// A Hearth server (open registration); what follows describes it.
    pub fn server(mut self, name: &str) -> Scene {
        self.servers.push(ServerSpec {
            name: name.to_owned(),
            options: Options::default().registration("open"),
            ..Default::default()
        });
        self
    }

    /// Extra `HEARTH_*` settings for the current server.
    pub fn set(mut self, key: &str, value: &str) -> Scene {
        let server = self.current();
        server.options = std::mem::take(&mut server.options).set(key, value);
        self
    }

    /// The current server sees `hosts` as its `/etc/hosts` (peers with
    /// host names of their own, such as a real Lemmy).
    pub fn hosts_file(mut self, hosts: &std::path::Path) -> Scene {
        let server = self.current();
        server.options = std::mem::take(&mut server.options).hosts_file(hosts);
        self
    }

    pub fn member(mut self, name: &str) -> Scene {
        self.current().members.push(name.to_owned());
        self
    }

    /// An open group created by `creator` (its first moderator). Like
    /// every new group, it is members-only: no post in it is public.
    pub fn group(self, name: &str, creator: &str) -> Scene {
        self.group_with(name, creator, json!({"join_policy": "open"}))
    }

    /// An open group whose posts may be public, for tests that need public
    /// posts (groups are members-only unless their creator says so).
    pub fn public_group(self, name: &str, creator: &str) -> Scene {
        self.group_with(
            name,
            creator,
            json!({"join_policy": "open", "visibility": "public"}),
        )
    }

    /// A group with more fields for its create request.
    pub fn group_with(mut self, name: &str, creator: &str, extra: Value) -> Scene {
        self.current()
            .groups
            .push((name.to_owned(), creator.to_owned(), extra));
        self
    }

    /// `member` (of the current server) joins `group@server`, where
    /// `server` is a scene name or `hostile`.
    pub fn joins(mut self, member: &str, target: &str) -> Scene {
        self.current()
            .joins
            .push((member.to_owned(), target.to_owned()));
        self
    }

    /// A hostile server too (see `hostile.rs`).
    pub fn hostile(mut self) -> Scene {
        self.hostile = true;
        self
    }

    pub async fn start(self, backend: &Backend) -> Rig {
        let hostile = match self.hostile {
            true => Some(Hostile::start().await),
            false => None,
        };
        let mut servers = Vec::new();
        for spec in &self.servers {
            let instance = Instance::start(backend, spec.options.clone()).await;
            let mut tokens = HashMap::new();
            for member in &spec.members {
                instance.register(member, PASSWORD).await;
                tokens.insert(member.clone(), instance.login(member, PASSWORD).await);
            }
            for (group, creator, extra) in &spec.groups {
                let mut body = json!({"name": group, "title": format!("{group} (a test group)")});
                for (k, v) in extra.as_object().into_iter().flatten() {
                    body[k] = v.clone();
                }
                let created = instance
                    .post("/api/v1/groups", Some(&tokens[creator]), body)
                    .await;
                assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
            }
            servers.push(Server {
                name: spec.name.clone(),
                instance,
                tokens,
                creators: spec
                    .groups
                    .iter()
                    .map(|(g, c, extra)| {
                        (g.clone(), (c.clone(), extra["join_policy"] == "approval"))
                    })
                    .collect(),
            });
        }
        let rig = Rig { servers, hostile };
        for spec in &self.servers {
            for (member, target) in &spec.joins {
                rig.join(&spec.name, member, target).await;
            }
        }
        rig
    }
}

/// The running scene.
pub struct Rig {
    pub servers: Vec<Server>,
    pub hostile: Option<Hostile>,
}

impl Rig {
    pub fn at(&self, name: &str) -> &Server {
        self.servers
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no server {name} in the scene"))
    }

    pub fn hostile(&self) -> &Hostile {
        self.hostile
            .as_ref()
            .expect("the scene has no hostile server")
    }

    /// The handle of `group@server` (a scene name or `hostile`).
    pub fn handle(&self, target: &str) -> String {
        let (group, server) = target.split_once('@').expect("group@server");
        match server {
            "hostile" => self.hostile().handle(group),
            name => self.at(name).handle(group),
        }
    }

    /// `member` of server `from` joins `target` (`group@server`) and waits
    /// until joined, approving the request as the group's creator if the
    /// group asks for approval.
    pub async fn join(&self, from: &str, member: &str, target: &str) {
        let server = self.at(from);
        let token = server.token(member);
        let (group, host) = target.split_once('@').expect("group@server");
        if host == "hostile" {
            self.hostile().group(group);
        }
        let handle = self.handle(target);
        let joined = server
            .instance
            .post(
                "/api/v1/memberships",
                Some(token),
                json!({"target": handle}),
            )
            .await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
        let url = joined.body["group"]["url"].as_str().unwrap().to_owned();
        if host != "hostile" && self.at(host).creators[group].1 {
            self.at(host).approve_all(group).await;
        }
        wait_until(&format!("{member}@{from} to join {target}"), || async {
            let list = server
                .instance
                .get("/api/v1/memberships", Some(token))
                .await;
            list.body["items"].as_array().and_then(|items| {
                items
                    .iter()
                    .find(|m| m["group"]["url"] == url && m["state"] == "joined")
                    .map(|_| ())
            })
        })
        .await;
    }
}

/// One Hearth server of the scene.
pub struct Server {
    pub name: String,
    pub instance: Instance,
    tokens: HashMap<String, String>,
    /// Each group's creator, and whether it asks for approval.
    creators: HashMap<String, (String, bool)>,
}

impl Server {
    pub fn token(&self, member: &str) -> &str {
        self.tokens
            .get(member)
            .unwrap_or_else(|| panic!("no member {member} on {}", self.name))
    }

    /// `localhost:PORT`.
    pub fn authority(&self) -> String {
        format!("localhost:{}", self.instance.port)
    }

    /// An id on this server (`http://localhost:PORT/…`).
    pub fn id(&self, path: &str) -> String {
        format!("http://{}{path}", self.authority())
    }

    pub fn handle(&self, group: &str) -> String {
        format!("@{group}@{}", self.authority())
    }

    pub fn group_url(&self, group: &str) -> String {
        self.id(&format!("/g/{group}"))
    }

    pub fn actor(&self, member: &str) -> String {
        self.id(&format!("/u/{member}"))
    }

    /// The shared inbox, as other servers address it.
    pub fn inbox(&self) -> String {
        self.id("/inbox")
    }

    /// Approve every waiting request to join `group`, as its creator.
    pub async fn approve_all(&self, group: &str) {
        let token = self.token(&self.creators[group].0);
        let pending = wait_until("a request to approve", || async {
            let list = self
                .instance
                .get(&format!("/api/v1/groups/{group}/requests"), Some(token))
                .await;
            list.body["items"]
                .as_array()
                .filter(|items| !items.is_empty())
                .cloned()
        })
        .await;
        for request in pending {
            let id = request["id"].as_str().unwrap();
            let done = self
                .instance
                .post(
                    &format!("/api/v1/groups/{group}/requests/{id}/approve"),
                    Some(token),
                    json!({}),
                )
                .await;
            assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        }
    }

    /// `member` starts a thread in `group` (a local name or a handle);
    /// `fields` adds to or overrides title, body and support kind.
    pub async fn write(&self, member: &str, group: &str, fields: Value) -> Value {
        let mut body = json!({
            "group": group,
            "title": "A thread",
            "body": "Some words.",
            "support_kind": "experience",
        });
        for (k, v) in fields.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let written = self
            .instance
            .post("/api/v1/posts", Some(self.token(member)), body)
            .await;
        assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
        written.body
    }

    /// A browser (a client with cookies) logged in as `member` through
    /// the web's own log-in form.
    pub async fn logged_in(&self, member: &str) -> reqwest::Client {
        let browser = super::browser();
        let login = browser
            .get(self.instance.url("/login"))
            .send()
            .await
            .unwrap();
        let csrf = super::csrf_of(&login.text().await.unwrap());
        let done = browser
            .post(self.instance.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", member),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            done.status().is_redirection(),
            "log-in failed: {}",
            done.status()
        );
        browser
    }

    /// `member` replies to the post with local id `id`.
    pub async fn reply(&self, member: &str, id: &str, body: &str) -> Value {
        let written = self
            .instance
            .post(
                &format!("/api/v1/posts/{id}/replies"),
                Some(self.token(member)),
                json!({"body": body}),
            )
            .await;
        assert_eq!(written.status, StatusCode::CREATED, "{}", written.text);
        written.body
    }

    /// The thread `url` of `group` as `member` (or nobody) sees it here,
    /// with nested replies.
    pub async fn thread(&self, member: Option<&str>, group: &str, url: &str) -> Option<Value> {
        let token = member.map(|m| self.token(m));
        let list = self
            .instance
            .get(&format!("/api/v1/posts?group={}", urlencode(group)), token)
            .await;
        let id = list.body["items"]
            .as_array()?
            .iter()
            .find(|p| p["url"] == url)?["id"]
            .as_str()?
            .to_owned();
        Some(
            self.instance
                .get(&format!("/api/v1/posts/{id}"), token)
                .await
                .body,
        )
    }

    /// Wait until `member` sees the thread `url` of `group` here.
    pub async fn wait_thread(&self, member: &str, group: &str, url: &str) -> Value {
        wait_until(&format!("{url} on {}", self.name), || {
            self.thread(Some(member), group, url)
        })
        .await
    }

    /// The local id of the post with `url`, as `member` sees it (through
    /// the thread it is in).
    pub async fn local_id(&self, member: &str, group: &str, thread_url: &str, url: &str) -> String {
        let thread = self.wait_thread(member, group, thread_url).await;
        find_in(&thread, url)
            .and_then(|p| p["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("{url} is not in {thread}"))
    }

    /// `member`'s real private key, to play them from outside.
    pub async fn key(&self, member: &str) -> rsa::RsaPrivateKey {
        private_key(&self.instance, member).await
    }

    /// POST `activity` to `inbox`, signed with `member`'s real key.
    pub async fn send_as(
        &self,
        member: &str,
        inbox: &str,
        activity: &Value,
    ) -> (StatusCode, String) {
        let key = self.key(member).await;
        let key_id = format!("{}#main-key", self.actor(member));
        let body = serde_json::to_vec(activity).unwrap();
        let headers = signed_post(inbox, &body, &key_id, &key, std::time::SystemTime::now());
        let target = to_loopback(inbox);
        let resp = reqwest::Client::new()
            .post(target)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap_or_default())
    }

    /// GET `url`, signed with `member`'s real key.
    pub async fn fetch_as(&self, member: &str, url: &str) -> (StatusCode, String) {
        let key = self.key(member).await;
        let key_id = format!("{}#main-key", self.actor(member));
        let resp = reqwest::Client::new()
            .get(to_loopback(url))
            .headers(signed_get(url, &key_id, &key))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap_or_default())
    }

    /// A request through the API as `member` (or nobody).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        member: Option<&str>,
        body: Option<Value>,
    ) -> super::Answer {
        self.instance
            .request(method, path, member.map(|m| self.token(m)), body)
            .await
    }
}

/// The post with `url` anywhere in a nested thread.
pub fn find_in<'a>(post: &'a Value, url: &str) -> Option<&'a Value> {
    if post["url"] == url {
        return Some(post);
    }
    post["replies"]
        .as_array()?
        .iter()
        .find_map(|r| find_in(r, url))
}

/// `http://localhost:PORT/x` → `http://127.0.0.1:PORT/x` (test servers
/// listen on IPv4 loopback only).
pub fn to_loopback(url: &str) -> String {
    url.replacen("://localhost:", "://127.0.0.1:", 1)
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

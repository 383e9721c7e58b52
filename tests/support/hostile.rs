//! A hostile server for the tests: it signs exactly as a real server does
//! (its actors are fetchable at its own `localhost:PORT`, their keys are
//! theirs) and lies about everything else. It plays the attacker in the
//! regression tests of the one-door issue.
//!
//! - Actors: people at `/users/NAME` and groups at `/groups/NAME` (a group
//!   only once declared with [`Hostile::group`]), each with a key it holds;
//!   WebFinger answers for both.
//! - A `Follow` of one of its groups is answered with a signed `Accept`, so
//!   members of a Hearth server can join it; its outbox serves whatever the
//!   test put there ([`Hostile::set_outbox`]).
//! - Every request it receives is recorded with its headers
//!   ([`Hostile::received`]), so a test can replay a signature another
//!   server made for it ([`Hostile::replay`]).
//! - It sends any activity, signed by any of its actors, to any inbox
//!   ([`Hostile::send`]).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const ACTIVITY_JSON: &str = "application/activity+json";
const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";

/// One request the hostile server received, exactly as it came.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether it carried an HTTP signature.
    pub fn signed(&self) -> bool {
        self.header("signature").is_some()
    }
}

struct Shared {
    authority: String,
    /// The software its NodeInfo names.
    software: String,
    key: RsaPrivateKey,
    public_pem: String,
    groups: Mutex<Vec<String>>,
    outboxes: Mutex<HashMap<String, Vec<Value>>>,
    /// More properties of a person's actor document, by name.
    extras: Mutex<HashMap<String, Value>>,
    received: Mutex<Vec<Recorded>>,
    client: reqwest::Client,
}

/// The hostile server. Stops when dropped.
pub struct Hostile {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// RSA key generation is slow: one key per test process.
fn key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
        .clone()
}

impl Hostile {
    /// A hostile server that passes itself off as a Hearth server.
    pub async fn start() -> Hostile {
        Hostile::start_as("hearth").await
    }

    /// A server whose NodeInfo says it runs `software` (`mastodon`,
    /// `mbin`, `piefed`…), to play that software's side in tests.
    pub async fn start_as(software: &str) -> Hostile {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let key = key();
        let public_pem = RsaPublicKey::from(&key)
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let shared = Arc::new(Shared {
            authority: format!("localhost:{port}"),
            software: software.to_owned(),
            key,
            public_pem,
            groups: Mutex::default(),
            outboxes: Mutex::default(),
            extras: Mutex::default(),
            received: Mutex::default(),
            client: reqwest::Client::new(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Hostile { port, shared, task }
    }

    /// `localhost:PORT`.
    pub fn authority(&self) -> &str {
        &self.shared.authority
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.shared.authority)
    }

    /// The id of a person here (any name is one).
    pub fn person(&self, name: &str) -> String {
        self.url(&format!("/users/{name}"))
    }

    /// Declare a group here; returns its id.
    pub fn group(&self, name: &str) -> String {
        let mut groups = self.shared.groups.lock().unwrap();
        if !groups.iter().any(|g| g == name) {
            groups.push(name.to_owned());
        }
        self.url(&format!("/groups/{name}"))
    }

    /// `@name@localhost:PORT`, to join a group here from Hearth.
    pub fn handle(&self, name: &str) -> String {
        format!("@{name}@{}", self.shared.authority)
    }

    /// What the group's outbox lists (for backfills).
    pub fn set_outbox(&self, group: &str, items: Vec<Value>) {
        self.shared
            .outboxes
            .lock()
            .unwrap()
            .insert(group.to_owned(), items);
    }

    /// Add `properties` to the actor document of the person `name` (a
    /// professional claim, say).
    pub fn set_person_extra(&self, name: &str, properties: Value) {
        self.shared
            .extras
            .lock()
            .unwrap()
            .insert(name.to_owned(), properties);
    }

    /// A new activity id on this server.
    pub fn new_id(&self, what: &str) -> String {
        self.url(&format!(
            "/activities/{what}-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ))
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Recorded> {
        self.shared.received.lock().unwrap().clone()
    }

    /// POST `activity` to `inbox`, signed by `actor` (one of ours) the way
    /// Mastodon signs. Returns the status and body.
    pub async fn send(&self, actor: &str, inbox: &str, activity: &Value) -> (StatusCode, String) {
        send_signed(&self.shared, actor, inbox, activity).await
    }

    /// Send `recorded` again, unchanged (its `Host` header included), to
    /// `base` (`http://127.0.0.1:PORT`): a signature made for this server,
    /// replayed elsewhere.
    pub async fn replay(&self, recorded: &Recorded, base: &str) -> (StatusCode, String) {
        self.replay_to(recorded, base, &recorded.path).await
    }

    /// [`Hostile::replay`] to another path.
    pub async fn replay_to(
        &self,
        recorded: &Recorded,
        base: &str,
        path: &str,
    ) -> (StatusCode, String) {
        let method = Method::from_bytes(recorded.method.as_bytes()).unwrap();
        let mut req = self
            .shared
            .client
            .request(method, format!("{base}{path}"))
            .body(recorded.body.clone());
        for (k, v) in &recorded.headers {
            if k.eq_ignore_ascii_case("content-length") {
                continue;
            }
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    // NodeInfo, not recorded: the software it passes itself off as.
    if let Some(answer) = nodeinfo(&shared.authority, uri.path(), &shared.software) {
        return answer;
    }
    shared.received.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
    });
    let base = format!("http://{}", shared.authority);
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let is_group = |name: &str| shared.groups.lock().unwrap().iter().any(|g| g == name);
    match (method.as_str(), segments.as_slice()) {
        ("GET", [".well-known", "webfinger"]) => {
            let resource = uri
                .query()
                .and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "resource")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default();
            let name = resource
                .trim_start_matches("acct:")
                .split('@')
                .next()
                .unwrap_or("")
                .to_owned();
            let (href, kind) = if is_group(&name) {
                (format!("{base}/groups/{name}"), "Group")
            } else {
                (format!("{base}/users/{name}"), "Person")
            };
            let jrd = json!({
                "subject": resource,
                "links": [{
                    "rel": "self",
                    "type": ACTIVITY_JSON,
                    "href": href,
                    "properties": {"https://www.w3.org/ns/activitystreams#type": kind},
                }],
            });
            typed(StatusCode::OK, "application/jrd+json", &jrd)
        }
        ("GET", ["users", name]) => {
            let mut doc = actor(&shared, "Person", &format!("{base}/users/{name}"), name);
            if let Some(extra) = shared.extras.lock().unwrap().get(*name) {
                for (k, v) in extra.as_object().into_iter().flatten() {
                    doc[k] = v.clone();
                }
            }
            typed(StatusCode::OK, ACTIVITY_JSON, &doc)
        }
        ("GET", ["groups", name]) if is_group(name) => typed(
            StatusCode::OK,
            ACTIVITY_JSON,
            &actor(&shared, "Group", &format!("{base}/groups/{name}"), name),
        ),
        ("GET", ["groups", name, "outbox"]) if is_group(name) => {
            let items = shared
                .outboxes
                .lock()
                .unwrap()
                .get(*name)
                .cloned()
                .unwrap_or_default();
            typed(
                StatusCode::OK,
                ACTIVITY_JSON,
                &json!({
                    "@context": AS_CONTEXT,
                    "id": format!("{base}/groups/{name}/outbox"),
                    "type": "OrderedCollection",
                    "totalItems": items.len(),
                    "orderedItems": items,
                }),
            )
        }
        ("POST", ["groups", name, "inbox"]) if is_group(name) => {
            let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if activity["type"] == "Follow" {
                let group = format!("{base}/groups/{name}");
                let shared = shared.clone();
                tokio::spawn(async move { accept(&shared, &group, activity).await });
            }
            StatusCode::ACCEPTED.into_response()
        }
        ("POST", _) => StatusCode::ACCEPTED.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn typed(status: StatusCode, content_type: &'static str, value: &Value) -> Response {
    let mut response = (status, serde_json::to_vec(value).unwrap()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    response
}

fn actor(shared: &Shared, kind: &str, id: &str, name: &str) -> Value {
    json!({
        "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
        "id": id,
        "type": kind,
        "preferredUsername": name,
        "name": name,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "endpoints": {"sharedInbox": format!("http://{}/inbox", shared.authority)},
        "publicKey": {
            "id": format!("{id}#main-key"),
            "owner": id,
            "publicKeyPem": shared.public_pem,
        },
    })
}

/// Answer a Follow of one of our groups with a signed Accept, sent to the
/// follower's inbox (read from their actor document).
async fn accept(shared: &Shared, group: &str, follow: Value) {
    let Some(follower) = follow["actor"].as_str() else {
        return;
    };
    let Ok(resp) = shared
        .client
        .get(follower)
        .header("accept", ACTIVITY_JSON)
        .send()
        .await
    else {
        return;
    };
    let Ok(doc) = resp.json::<Value>().await else {
        return;
    };
    let Some(inbox) = doc["inbox"].as_str() else {
        return;
    };
    let accept = json!({
        "@context": AS_CONTEXT,
        "id": format!("{group}/accepts/{}", SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos()),
        "type": "Accept",
        "actor": group,
        "object": follow,
        "to": [follower],
    });
    send_signed(shared, group, inbox, &accept).await;
}

async fn send_signed(
    shared: &Shared,
    actor: &str,
    inbox: &str,
    activity: &Value,
) -> (StatusCode, String) {
    let body = serde_json::to_vec(activity).unwrap();
    let url = url::Url::parse(inbox).unwrap();
    // Sign for the domain addressed: Hearth test instances are
    // `localhost:PORT`, reached at 127.0.0.1.
    let host = format!(
        "{}:{}",
        match url.host_str().unwrap() {
            "127.0.0.1" => "localhost",
            other => other,
        },
        url.port().unwrap()
    );
    let date = httpdate::fmt_http_date(SystemTime::now());
    let digest = format!("SHA-256={}", B64.encode(Sha256::digest(&body)));
    let signing = format!(
        "(request-target): post {}\nhost: {host}\ndate: {date}\ndigest: {digest}",
        url.path()
    );
    let signature = shared
        .key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )
        .unwrap();
    let target = format!("http://127.0.0.1:{}{}", url.port().unwrap(), url.path());
    let resp = shared
        .client
        .post(target)
        .header("host", host)
        .header("date", date)
        .header("digest", digest)
        .header("content-type", ACTIVITY_JSON)
        .header(
            "signature",
            format!(
                "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                B64.encode(signature)
            ),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

impl Hostile {
    /// The private key every actor here signs with, as PKCS#8 PEM: for a
    /// test that signs as one of them with another implementation (see
    /// `tests/rfc9421.rs`).
    pub fn private_key_pem(&self) -> String {
        use rsa::pkcs8::EncodePrivateKey as _;
        self.shared
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .as_str()
            .to_owned()
    }
}

/// A NodeInfo answer for `path` on a server at `authority` that says it
/// runs `software`; `None` for other paths.
pub fn nodeinfo(authority: &str, path: &str, software: &str) -> Option<Response> {
    let body = match path {
        "/.well-known/nodeinfo" => json!({"links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("http://{authority}/nodeinfo/2.1"),
        }]}),
        "/nodeinfo/2.1" => json!({
            "version": "2.1",
            "software": {"name": software, "version": "0.0.0-test"},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": false,
            "usage": {"users": {}},
            "metadata": {},
        }),
        _ => return None,
    };
    Some(
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
    )
}

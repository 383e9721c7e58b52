//! RFC 9421 HTTP Message Signatures made by an implementation Hearth did
//! not write, the `http-message-signatures` Python package (pinned in
//! `tests/peers/rfc9421/requirements.txt`, driven by
//! `tests/peers/rfc9421/sign.py`), against real Hearth servers on SQLite
//! and, when `HEARTH_TEST_DATABASE_URL` is set, PostgreSQL.
//!
//! The hostile server plays the remote side: its Person `mallory` is
//! fetchable with its public key, and the Python package signs with the
//! matching private key. The package's virtual environment is made under
//! `$HOME/.cache/hearth/` the first time (pip, from PyPI); a failed
//! install fails the test, it is never skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

use reqwest::{Method, StatusCode};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use support::rig::{Scene, to_loopback};
use support::{Backend, wait_until};

const PEER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/rfc9421");

/// The virtual environment's python, made (or remade, when the pinned
/// requirements changed) once per test process.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requirements = Path::new(PEER_DIR).join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).unwrap();
        let cache = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(".cache/hearth");
        let venv = cache.join("rfc9421-venv");
        let marker = venv.join("hearth-requirements.txt");
        let python = venv.join("bin/python");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str())
            && python.exists()
        {
            return python;
        }
        eprintln!("installing the rfc 9421 signer into {}", venv.display());
        let _ = std::fs::remove_dir_all(&venv);
        std::fs::create_dir_all(&cache).unwrap();
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd
                .output()
                .unwrap_or_else(|e| panic!("cannot run {what}: {e} (python3 3.11+ is needed)"));
            assert!(
                out.status.success(),
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        );
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            "pip install -r tests/peers/rfc9421/requirements.txt",
        );
        std::fs::write(&marker, wanted).unwrap();
        python
    })
}

/// Run `sign.py` on `spec` (see its docs) and return the headers to send.
async fn sign(spec: Value) -> Vec<(String, String)> {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(python())
            .arg(Path::new(PEER_DIR).join("sign.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(spec.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "sign.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signed: Value = serde_json::from_slice(&out.stdout).unwrap();
        signed["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_owned()))
            .collect()
    })
    .await
    .unwrap()
}

/// A request as the Python package signed it.
#[derive(Clone)]
struct Signed {
    method: Method,
    /// The URL signed, `http://localhost:PORT/…` as the server sees itself.
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Signed {
    /// Sign `method url` with `key_pem`/`key_id`, covering `components`
    /// (plus `content-digest` when there is a body). `extra` adds to the
    /// spec (`alg`, `include_alg`, …).
    async fn new(
        method: Method,
        url: &str,
        body: Option<&Value>,
        (key_pem, key_id): (&str, &str),
        components: &[&str],
        extra: Value,
    ) -> Signed {
        let parsed = url::Url::parse(url).unwrap();
        let mut headers = json!({
            "host": format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap()),
            "date": httpdate::fmt_http_date(SystemTime::now()),
            "accept": "application/activity+json",
        });
        let body = body.map(|b| serde_json::to_string(b).unwrap());
        if body.is_some() {
            headers["content-type"] = json!("application/activity+json");
        }
        let mut spec = json!({
            "method": method.as_str(),
            "url": url,
            "headers": headers,
            "body": body,
            "key_pem": key_pem,
            "key_id": key_id,
            "components": components,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            spec[k] = v.clone();
        }
        let headers = sign(spec).await;
        assert!(
            headers.iter().any(|(k, _)| k == "signature-input"),
            "{headers:?}"
        );
        Signed {
            method,
            url: url.to_owned(),
            headers,
            body: body.map(String::into_bytes),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    fn with_header(mut self, name: &str, value: &str) -> Signed {
        self.headers.retain(|(k, _)| k != name);
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn with_body(mut self, body: &[u8]) -> Signed {
        self.body = Some(body.to_vec());
        self
    }

    /// Send as signed, to where it was signed for.
    async fn send(&self) -> (StatusCode, String) {
        self.send_to(&self.url).await
    }

    /// Send unchanged (its `Host` header included) to `url`.
    async fn send_to(&self, url: &str) -> (StatusCode, String) {
        let mut req = reqwest::Client::new().request(self.method.clone(), to_loopback(url));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &self.body {
            req = req.body(body.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }
}

fn uuid_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[track_caller]
fn assert_refused(answer: &(StatusCode, String), code: &str, what: &str) {
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{what}: {}", answer.1);
    assert!(
        answer.1.contains(&format!("urn:hearth:problem:{code}")),
        "{what}: {}",
        answer.1
    );
}

async fn members(server: &support::rig::Server, group: &str) -> Value {
    let group = server
        .instance
        .get(&format!("/api/v1/groups/{group}"), None)
        .await;
    assert_eq!(group.status, StatusCode::OK, "{}", group.text);
    group.body["members"].clone()
}

#[tokio::test]
async fn rfc_9421_signatures_from_another_implementation_are_verified() {
    // Install (or find) the signer before any server runs.
    tokio::task::spawn_blocking(python).await.unwrap();
    each_backend!(|backend| rfc_9421_from_another_implementation(&backend));
}

async fn rfc_9421_from_another_implementation(backend: &Backend) {
    let rig = Scene::new()
        .server("a")
        .member("ann")
        .group("circle", "ann")
        .server("b")
        .member("bea")
        .group("circle", "bea")
        .hostile()
        .start(backend)
        .await;
    let (a, b, hostile) = (rig.at("a"), rig.at("b"), rig.hostile());
    let mallory = hostile.person("mallory");
    let mallory_key = hostile.private_key_pem();
    let mallory_key_id = format!("{mallory}#main-key");
    let as_mallory = (mallory_key.as_str(), mallory_key_id.as_str());

    // 1. A Follow of A's group, signed the way Fedify signs a delivery.
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": hostile.new_id("follow"),
        "type": "Follow",
        "actor": mallory,
        "object": a.group_url("circle"),
    });
    let inbox = format!("{}/inbox", a.group_url("circle"));
    let delivery = Signed::new(
        Method::POST,
        &inbox,
        Some(&follow),
        as_mallory,
        &["@method", "@target-uri", "@authority", "host", "date"],
        json!({}),
    )
    .await;
    assert!(
        delivery
            .header("signature-input")
            .contains(r#"("@method" "@target-uri" "@authority" "host" "date" "content-digest")"#)
            && delivery
                .header("signature-input")
                .contains(r#"alg="rsa-v1_5-sha256""#),
        "{}",
        delivery.header("signature-input")
    );

    // A tampered body is refused: its digest no longer matches...
    // (A well-formed activity, so that it gets as far as the signature.)
    let mut undo = follow.clone();
    undo["type"] = json!("Undo");
    let tampered = serde_json::to_vec(&undo).unwrap();
    let tampered = tampered.as_slice();
    assert_refused(
        &delivery.clone().with_body(tampered).send().await,
        "invalid-signature",
        "tampered body",
    );
    // ...and with a digest to match, the signature does not.
    let digest = format!(
        "sha-256=:{}:",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            Sha256::digest(tampered)
        )
    );
    assert_refused(
        &delivery
            .clone()
            .with_body(tampered)
            .with_header("content-digest", &digest)
            .send()
            .await,
        "invalid-signature",
        "tampered body with its digest",
    );
    // The same request replayed to B (where a group of the same name is)
    // was signed for A.
    let replayed_to_b = b.id("/g/circle/inbox");
    assert_refused(
        &delivery.send_to(&replayed_to_b).await,
        "wrong-host",
        "replayed to b",
    );
    // Claiming B's host instead changes the signed authority.
    assert_refused(
        &delivery
            .clone()
            .with_header("host", &b.authority())
            .send_to(&replayed_to_b)
            .await,
        "invalid-signature",
        "replayed to b with b's host",
    );
    assert_eq!(members(a, "circle").await, 1, "nothing applied on a");
    assert_eq!(members(b, "circle").await, 1, "nothing applied on b");

    // The real one is accepted and applied: mallory joins, and the group
    // answers with an Accept.
    let (status, body) = delivery.send().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_until("the Accept of mallory's Follow", || async {
        hostile
            .received()
            .iter()
            .any(|r| {
                r.path == "/users/mallory/inbox"
                    && String::from_utf8_lossy(&r.body).contains("\"Accept\"")
            })
            .then_some(())
    })
    .await;
    assert_eq!(members(a, "circle").await, 2);
    assert_eq!(members(b, "circle").await, 1);

    // 2. A members-only thread on A, fetched with RFC 9421 signed GETs.
    let secret = "members-only words about a diagnosis";
    let thread = a
        .write("ann", "circle", json!({"title": "Just us", "body": secret}))
        .await;
    let post = thread["url"].as_str().unwrap().to_owned();

    // By the member server (the hostile one, through mallory): read, with
    // rsa-v1_5-sha256 and no `alg` by authority, path and query...
    let get = Signed::new(
        Method::GET,
        &post,
        None,
        as_mallory,
        &["@method", "@authority", "@path", "@query"],
        json!({"include_alg": false}),
    )
    .await;
    let (status, body) = get.send().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(secret), "{body}");
    // ...and with rsa-pss-sha512 over the target URI.
    let pss = Signed::new(
        Method::GET,
        &post,
        None,
        as_mallory,
        &["@method", "@target-uri"],
        json!({"alg": "rsa-pss-sha512"}),
    )
    .await;
    assert!(
        pss.header("signature-input")
            .contains(r#"alg="rsa-pss-sha512""#)
    );
    let (status, body) = pss.send().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(secret), "{body}");
    // The member's signed GET, replayed to B, was signed for A.
    assert_refused(
        &get.send_to(&b.id(&format!("/p/{}", uuid_of(&post)))).await,
        "wrong-host",
        "signed get replayed to b",
    );

    // By a server without a member (B, through bea's real key): the same
    // answer as for a post that does not exist.
    let bea_key = b
        .key("bea")
        .await
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .as_str()
        .to_owned();
    let bea_key_id = format!("{}#main-key", b.actor("bea"));
    let outsider = Signed::new(
        Method::GET,
        &post,
        None,
        (&bea_key, &bea_key_id),
        &["@method", "@target-uri"],
        json!({}),
    )
    .await;
    let (status, body) = outsider.send().await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains(secret), "{body}");
}

//! What the fuzz targets in `tests/fuzz` run on every input, with the
//! invariants each asserts (a broken one panics, which the fuzzer reports
//! as a crash). This crate's tests replay every seed and every input that
//! once failed (`tests/fuzz/regressions/<target>`) through the same
//! functions, so a fixed crash stays fixed under a plain `cargo test`.
//!
//! Each driver runs the part of a door that reads untrusted input without
//! a network or a database:
//! - [`signature_cavage`] and [`signature_rfc9421`]: the signature header
//!   parsers, then [`precheck`] and the signing string or signature base
//!   over a fixed request, as the inbox and signed fetches run them before
//!   any key is fetched, then [`verify`] with a key nobody can sign for;
//! - [`inbound_activity`]: an inbox body read as the inbox reads it
//!   ([`crate::inbox`]'s parser: JSON, depth, envelope), then what
//!   [`crate::translate`] reads off the wire before it calls a command
//!   (objects, reactions, reports, bans, announced activities, a group's
//!   guidance), and the domain's own reading of a remote post
//!   ([`Content::from_remote`]), which is where the commands begin. The
//!   commands themselves need the database and are left out;
//! - [`webfinger_resource`]: [`crate::discovery::webfinger_name`].
//!
//! Compiled for tests and with the `fuzzing` feature only (the fuzz crate
//! turns it on); nothing in a server calls it.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use hearth_app::{LocalRef, Urls};
use hearth_domain::content::Content;
use hearth_domain::moderation::ReportCategory;
use hearth_domain::post::{CONTENT_WARNING_MAX, TITLE_MAX};
use hearth_domain::sources::{MAX_SOURCES, SOURCE_TITLE_MAX};
use hearth_domain::{safe_html, text};
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::discovery::{WebfingerName, webfinger_name};
use crate::objects::{self, Announced, Envelope};
use crate::protocol;
use crate::signatures::{
    MASTODON_WINDOW, MessageSignature, Signature, SignatureHeader, SignedRequest, check_host,
    key_id_without_fragment, parse_message_signature, parse_signature_header, precheck,
    signature_base, signing_string, verify,
};

// ---- draft-cavage -------------------------------------------------------

/// The host, date and body of the fixed Mastodon-shaped requests the
/// cavage driver signs over (`signatures`' own test vectors): Tue, 14 Nov
/// 2023 22:13:20 GMT.
const CAVAGE_HOST: &str = "hearth.example";
const CAVAGE_NOW: u64 = 1_700_000_000;
const CAVAGE_BODY: &str = r#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://mastodon.example/users/ann#follows/1","type":"Follow","actor":"https://mastodon.example/users/ann","object":"https://hearth.example/users/bob"}"#;

/// RFC 9421 appendix B.1.1's `test-key-rsa`: the cavage driver's requests
/// are never signed with it.
const NOBODYS_KEY_A: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----";

/// A throwaway 2048-bit key whose private half was never kept (the
/// `signatures` tests' fixed vectors): the RFC 9421 driver's key.
const NOBODYS_KEY_B: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw3gqN1lU4fIzu50sxMpV
jqXayLuYmdm65HdMIivjNzBF0S7wPaWfqXJvjYaapNs5ZFEXAOyItIARVYoeEEFR
BK7n+rKOF5lF8cXz/BdyvIi5RG6BF/R4nmW3mTtWJCBJHaoqyO7ENs61veVYu6z+
5o8R5HFleorwxGOIbnmne1pmRIJH8Om1vu81sFh5OdGWWhD02uIqzCcs9DkB3StZ
i2TKnjE5m0dtoIYojpVD7grJLOS4A+IYGly8RDJAmFjFqH2BAH75SyjbdQ1iazZZ
f0T5eXv34RjbyHBOcLfyehwvSgc8UEnlzdkVlm8ALmiS2n+GkUJaK5PYjKXXLG4r
8QIDAQAB
-----END PUBLIC KEY-----
";

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("x"))
}

/// The first byte picks the request (bit 0: a GET instead of a POST; bit
/// 1: `Authorization: Signature …` instead of `Signature`); the rest is the
/// header's value. The value is parsed alone, then the request goes
/// through [`precheck`] as an inbox or signed fetch would take it:
/// - what parses, serialised again, parses to the same signature;
/// - what passes [`precheck`] covers the target, the host, a time and, for
///   a POST, the body's digest, names this host, and has a signing string
///   of one line per covered header;
/// - [`verify`] never accepts it with a key nobody signs with;
/// - a key id turns into an http(s) actor address without fragment, which
///   it maps to itself;
/// - every error renders as text and a status.
///
/// True when the request passed [`precheck`] (so every invariant was
/// asked).
pub fn signature_cavage(data: &[u8]) -> bool {
    let (flags, value) = data.split_first().map_or((0, data), |(f, v)| (*f, v));
    let text = String::from_utf8_lossy(value);
    if let Ok(sig) = parse_signature_header(&text) {
        let again = parse_signature_header(&cavage_header(&sig));
        assert_eq!(again.as_ref(), Ok(&sig), "serialised again: {text:?}");
        check_key_id(&sig.key_id);
    }

    let Ok(value) = HeaderValue::from_bytes(value) else {
        return false;
    };
    let get = flags & 1 == 1;
    let mut headers = HeaderMap::new();
    headers.insert("host", header(CAVAGE_HOST));
    headers.insert("date", header("Tue, 14 Nov 2023 22:13:20 GMT"));
    if get {
        headers.insert("accept", header("application/activity+json"));
    } else {
        headers.insert(
            "digest",
            header("SHA-256=WjFGlP04noobG7HMZK7VDtcKKwZH/Y5pT4phgB7y2ug="),
        );
        headers.insert("content-type", header("application/activity+json"));
    }
    if flags & 2 == 0 {
        headers.insert("signature", value);
    } else {
        let mut authorization = b"Signature ".to_vec();
        authorization.extend_from_slice(value.as_bytes());
        let Ok(value) = HeaderValue::from_bytes(&authorization) else {
            return false;
        };
        headers.insert(http::header::AUTHORIZATION, value);
    }
    let req = SignedRequest {
        method: if get { "GET" } else { "POST" },
        scheme: "https",
        path_and_query: if get {
            "/users/bob/outbox?page=true"
        } else {
            "/users/bob/inbox"
        },
        headers: &headers,
        body: (!get).then_some(CAVAGE_BODY.as_bytes()),
    };
    let now = UNIX_EPOCH + Duration::from_secs(CAVAGE_NOW);
    let sig = match precheck(&req, now, MASTODON_WINDOW) {
        Ok(Signature::Cavage(sig)) => sig,
        Ok(Signature::Message(sig)) => {
            panic!("an rfc 9421 signature from no Signature-Input: {sig:?}")
        }
        Err(err) => {
            let _ = (err.to_string(), err.status());
            return false;
        }
    };
    assert_eq!(Ok(&sig), parse_signature_header(&text).as_ref());
    let covers = |name: &str| sig.headers.iter().any(|h| h == name);
    assert!(covers("(request-target)") && covers("host"), "{sig:?}");
    assert!(covers("date") || covers("(created)"), "{sig:?}");
    assert!(
        get || covers("digest") || covers("content-digest"),
        "{sig:?}"
    );
    assert_eq!(check_host(&req, CAVAGE_HOST, 443), Ok(()));
    let signing = signing_string(&req, &sig);
    let signing = match signing {
        Ok(s) => s,
        Err(err) => panic!("passed precheck, but no signing string ({err}): {sig:?}"),
    };
    assert_eq!(
        signing.split('\n').count(),
        sig.headers.len(),
        "{signing:?}"
    );
    for (line, name) in signing.split('\n').zip(&sig.headers) {
        assert!(line.starts_with(&format!("{name}: ")), "{line:?}");
    }
    let verified = verify(&req, &Signature::Cavage(sig), NOBODYS_KEY_A);
    assert!(verified.is_err(), "verified with a key nobody signs with");
    true
}

/// `sig` as a `Signature` header, every parameter quoted.
fn cavage_header(sig: &SignatureHeader) -> String {
    let quoted = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let mut params = vec![format!("keyId={}", quoted(&sig.key_id))];
    if let Some(algorithm) = &sig.algorithm {
        params.push(format!("algorithm={}", quoted(algorithm)));
    }
    params.push(format!("headers={}", quoted(&sig.headers.join(" "))));
    let signature = base64::engine::general_purpose::STANDARD.encode(&sig.signature);
    params.push(format!("signature={}", quoted(&signature)));
    if let Some(created) = sig.created {
        params.push(format!("created={created}"));
    }
    if let Some(expires) = sig.expires {
        params.push(format!("expires={expires}"));
    }
    params.join(",")
}

/// The actor address a key id names, if any, is an http(s) URL without
/// fragment that names itself.
fn check_key_id(key_id: &str) {
    if let Some(actor) = key_id_without_fragment(key_id) {
        assert!(matches!(actor.scheme(), "http" | "https"), "{actor}");
        assert_eq!(actor.fragment(), None, "{actor}");
        assert_eq!(
            key_id_without_fragment(actor.as_str()).as_ref(),
            Some(&actor)
        );
    }
}

// ---- RFC 9421 -------------------------------------------------------------

/// RFC 9421 appendix B.2's example request: created 1618884473.
const MESSAGE_HOST: &str = "example.com";
const MESSAGE_NOW: u64 = 1_618_884_473;
const MESSAGE_BODY: &str = r#"{"hello": "world"}"#;
const MESSAGE_DIGEST: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

/// The first byte picks the request (bit 0: a GET instead of a POST; bit
/// 1: without a query); the rest is `Signature-Input`, a line break, and
/// `Signature`. Both are parsed alone, then the request goes through
/// [`precheck`]:
/// - what parses, its `@signature-params` put back as `Signature-Input`,
///   parses to the same signature (the structured-field parser and
///   serialiser agree);
/// - what passes [`precheck`] is that same signature, names this host,
///   and has a signature base of one line per covered component and the
///   `@signature-params` line last (nothing in a value can add a line);
/// - [`verify`] never accepts it with a key nobody signs with;
/// - every error renders as text and a status.
///
/// True when the request passed [`precheck`].
pub fn signature_rfc9421(data: &[u8]) -> bool {
    let (flags, rest) = data.split_first().map_or((0, data), |(f, v)| (*f, v));
    let (input, signature) = match rest.iter().position(|b| *b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b""[..]),
    };
    let (input_text, signature_text) = (
        String::from_utf8_lossy(input),
        String::from_utf8_lossy(signature),
    );
    if let Ok(sig) = parse_message_signature(&input_text, &signature_text) {
        check_message(&sig, &signature_text);
    }

    let (Ok(input), Ok(signature)) = (
        HeaderValue::from_bytes(input),
        HeaderValue::from_bytes(signature),
    ) else {
        return false;
    };
    let get = flags & 1 == 1;
    let mut headers = HeaderMap::new();
    headers.insert("host", header(MESSAGE_HOST));
    headers.insert("date", header("Tue, 20 Apr 2021 02:07:55 GMT"));
    headers.insert("content-type", header("application/json"));
    if !get {
        headers.insert("content-digest", header(MESSAGE_DIGEST));
        headers.insert("content-length", header("18"));
    }
    headers.insert("signature-input", input);
    headers.insert("signature", signature);
    let req = SignedRequest {
        method: if get { "GET" } else { "POST" },
        scheme: "https",
        path_and_query: if flags & 2 == 2 {
            "/foo"
        } else {
            "/foo?param=Value&Pet=dog"
        },
        headers: &headers,
        body: (!get).then_some(MESSAGE_BODY.as_bytes()),
    };
    let now = UNIX_EPOCH + Duration::from_secs(MESSAGE_NOW);
    let sig = match precheck(&req, now, MASTODON_WINDOW) {
        Ok(Signature::Message(sig)) => sig,
        Ok(Signature::Cavage(sig)) => panic!("a cavage signature beside Signature-Input: {sig:?}"),
        Err(err) => {
            let _ = (err.to_string(), err.status());
            return false;
        }
    };
    assert_eq!(
        Ok(&sig),
        parse_message_signature(&input_text, &signature_text).as_ref()
    );
    assert_eq!(check_host(&req, MESSAGE_HOST, 443), Ok(()));
    let base = match signature_base(&req, &sig) {
        Ok(base) => base,
        Err(err) => panic!("passed precheck, but no signature base ({err}): {sig:?}"),
    };
    let lines: Vec<&str> = base.split('\n').collect();
    assert_eq!(lines.len(), sig.covered().len() + 1, "{base:?}");
    for (line, id) in lines.iter().zip(sig.covered()) {
        assert!(line.starts_with(&format!("{id}: ")), "{line:?}");
    }
    assert_eq!(
        lines.last().copied(),
        Some(format!("\"@signature-params\": {}", sig.signature_params()).as_str())
    );
    let verified = verify(&req, &Signature::Message(sig), NOBODYS_KEY_B);
    assert!(verified.is_err(), "verified with a key nobody signs with");
    true
}

fn check_message(sig: &MessageSignature, signature: &str) {
    assert!(
        !sig.key_id.is_empty() && !sig.signature.is_empty(),
        "{sig:?}"
    );
    let input = format!("{}={}", sig.label, sig.signature_params());
    assert_eq!(
        parse_message_signature(&input, signature).as_ref(),
        Ok(sig),
        "serialised again as {input:?}"
    );
    check_key_id(&sig.key_id);
}

// ---- inbound activities ---------------------------------------------------

/// This server, for telling its own groups among the addressees.
const LOCAL_DOMAIN: &str = "hearth.example";

/// `data` as an inbox body: read as the inbox reads it, then as
/// [`crate::translate`] reads each kind of activity before calling its
/// command, one announced activity deep as a group's relay is. Panics
/// unless:
/// - a post's content, as the domain builds it ([`Content::from_remote`],
///   as a thread and as a reply), holds only the allow-list
///   ([`safe_html::check`]) and sanitises to itself, its title and warning
///   are printable and within their limits, and its link, page and sources
///   are http(s) addresses;
/// - the group a post is taken for is its `audience` or one of its
///   addressees or mentions;
/// - a group's guidance holds only the allow-list.
///
/// True when the body was read as far as a command's input (a post's
/// content built, a reaction, report, ban or guidance read).
pub fn inbound_activity(data: &[u8]) -> bool {
    let Ok((envelope, raw)) = crate::inbox::parse(data) else {
        return false;
    };
    let _ = crate::inbox::dedupe_id(&envelope);
    let Ok(urls) = Urls::new(LOCAL_DOMAIN, false) else {
        return false;
    };
    activity(&urls, &envelope, &raw, 0)
}

fn activity(urls: &Urls, envelope: &Envelope, raw: &Value, depth: usize) -> bool {
    match envelope.kind.as_str() {
        "Update" if envelope.object_kind.as_deref() == Some("Group") => {
            let Ok(group) = serde_json::from_value::<protocol::ActorJson>(envelope.object.clone())
            else {
                return false;
            };
            for html in [&group.care.rules, &group.care.support_guide] {
                let html = hearth_domain::care::remote_guidance(html.as_deref());
                must_be_safe("a group's guidance", &html);
            }
            true
        }
        "Create" | "Update" => {
            objects::parse_object(&envelope.object).is_ok_and(|obj| post(urls, &obj))
        }
        "Like" | "EmojiReact" | "Dislike" => objects::parse_reaction(raw)
            .is_ok_and(|reaction| crate::translate::reaction_of(&reaction).is_some()),
        "Flag" => {
            let flag = objects::parse_flag(raw);
            // Only Hearth itself raises a possible crisis.
            let category = ReportCategory::from_remote(flag.category.as_deref());
            assert_ne!(category, ReportCategory::PossibleCrisis, "{flag:?}");
            !flag.objects.is_empty()
        }
        "Block" => objects::parse_ban_terms(raw).is_ok(),
        "Undo" => {
            protocol::type_of(&envelope.object) == Some("Block")
                && objects::parse_ban_terms(&envelope.object).is_ok()
        }
        "Announce" => match objects::announced(envelope) {
            Ok(Announced::Activity(inner)) if depth == 0 => objects::parse_envelope(&inner)
                .is_ok_and(|inner_envelope| activity(urls, &inner_envelope, &inner, depth + 1)),
            Ok(Announced::Object(object)) => {
                objects::parse_object(&object).is_ok_and(|obj| post(urls, &obj))
            }
            _ => false,
        },
        _ => false,
    }
}

/// True when the content of the post was built, as a thread or a reply.
fn post(urls: &Urls, obj: &objects::IncomingObject) -> bool {
    let is_group = |url: &url::Url| matches!(urls.parse_local(url), Some(LocalRef::Group(_)));
    let incoming = crate::translate::incoming_post(obj, is_group);
    if let Some(group) = &incoming.group {
        let named = obj.audience.iter().any(|a| a.as_str() == group)
            || obj
                .to
                .iter()
                .chain(&obj.cc)
                .chain(obj.mentions())
                .any(|u| u.as_str() == group && is_group(u));
        assert!(named, "taken for {group}, which it does not name: {obj:?}");
    }
    assert_eq!(incoming.public, obj.public);
    if let Some(Some(label)) = &obj.label {
        let label = hearth_domain::sources::label_from_remote(
            &label.label_type,
            &label.note,
            label.href.as_deref(),
        );
        if let Some(label) = label {
            assert!(
                !label.note.is_empty()
                    && label.note.chars().count() <= hearth_domain::sources::LABEL_NOTE_MAX,
                "{label:?}"
            );
            assert!(
                !label.note.chars().any(|c| c.is_control() && c != '\n'),
                "label note not printable: {label:?}"
            );
            if let Some(link) = &label.link {
                assert_http(link);
            }
        }
    }
    if let Some(url) = &incoming.url {
        assert_http(url);
    }
    let mut built = false;
    for reply in [false, true] {
        let Ok(content) = Content::from_remote(&incoming.content, reply) else {
            continue;
        };
        built = true;
        must_be_safe("a remote post", &content.html);
        let mut plain = vec![
            ("title", Some(&content.title), TITLE_MAX),
            (
                "warning",
                content.content_warning.as_ref(),
                CONTENT_WARNING_MAX,
            ),
            ("disclaimer", content.disclaimer.as_ref(), usize::MAX),
        ];
        plain.extend(
            content
                .sources
                .iter()
                .map(|s| ("source title", Some(&s.title), SOURCE_TITLE_MAX)),
        );
        for (what, words, max) in plain {
            let Some(words) = words else { continue };
            assert!(words.chars().count() <= max, "{what} too long: {words:?}");
            assert!(
                !words
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\t')),
                "{what} not printable: {words:?}"
            );
        }
        // PostgreSQL's text refuses NUL: none may reach a row.
        assert!(
            !content.html.contains('\0') && !content.source.contains('\0'),
            "a NUL in the content: {content:?}"
        );
        if let Some(link) = &content.link {
            assert_http(link);
        }
        assert!(content.sources.len() <= MAX_SOURCES, "{content:?}");
        for source in &content.sources {
            assert_http(&source.url);
        }
        if reply {
            assert!(content.title.is_empty() && content.link.is_none());
        }
    }
    built
}

fn assert_http(address: &str) {
    let url = url::Url::parse(address);
    assert!(
        url.as_ref()
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()),
        "not an http(s) address: {address:?}"
    );
}

fn must_be_safe(what: &str, html: &str) {
    if let Err(problem) = safe_html::check(html) {
        panic!("{what} kept {problem}: {html:?}");
    }
    assert_eq!(text::sanitize_html(html), html, "{what} is not final");
}

// ---- WebFinger ------------------------------------------------------------

/// `data` as the `resource` of a WebFinger request to this server, with
/// and without a port: what it finds is on this server (the resource ends
/// in `@` and its authority), and asking for that name again finds the
/// same. True when something was found.
pub fn webfinger_resource(data: &[u8]) -> bool {
    let resource = String::from_utf8_lossy(data);
    let mut found_any = false;
    for authority in [LOCAL_DOMAIN, "hearth.example:8443"] {
        let found = match webfinger_name(&resource, authority) {
            Ok(found) => found,
            Err(err) => {
                let _ = err.to_string();
                continue;
            }
        };
        assert!(
            resource
                .to_ascii_lowercase()
                .ends_with(&format!("@{authority}")),
            "{resource:?} is not on {authority}"
        );
        let name = match found {
            WebfingerName::Site => crate::actors::SITE_ACTOR_NAME,
            WebfingerName::Named(name) => name,
        };
        let again = format!("acct:{name}@{}", authority.to_ascii_uppercase());
        assert_eq!(
            webfinger_name(&again, authority).ok(),
            Some(found),
            "{again:?}"
        );
        found_any = true;
    }
    found_any
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    /// The files in `dir` (relative to the workspace root), sorted; none
    /// when it does not exist.
    fn files(dir: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        };
        files.retain(|f| f.is_file() && !f.ends_with("README.md"));
        files.sort();
        files
    }

    /// Replays the seeds (and `extra` files) and every input the fuzzer
    /// once failed on through `driver`; fails naming each file that fails,
    /// and unless some seed gets through every check (seeds that all stop
    /// at the first would test nothing).
    fn replay(target: &str, driver: fn(&[u8]) -> bool, extra: Vec<PathBuf>) {
        let mut seeds = files(&format!("tests/fuzz/seeds/{target}"));
        seeds.extend(extra);
        assert!(seeds.len() >= 4, "{target}: seeds missing: {seeds:?}");
        let mut failed = Vec::new();
        let mut deep = 0;
        for file in seeds
            .iter()
            .chain(&files(&format!("tests/fuzz/regressions/{target}")))
        {
            let data = std::fs::read(file).unwrap();
            match std::panic::catch_unwind(|| driver(&data)) {
                Ok(through) => deep += usize::from(through),
                Err(_) => failed.push(file.display().to_string()),
            }
        }
        assert!(failed.is_empty(), "{target} fails on {failed:#?}");
        assert!(deep > 0, "{target}: no seed gets through every check");
    }

    #[test]
    fn signature_cavage_seeds_and_regressions_hold() {
        replay("signature_cavage", super::signature_cavage, Vec::new());
    }

    #[test]
    fn signature_rfc9421_seeds_and_regressions_hold() {
        replay("signature_rfc9421", super::signature_rfc9421, Vec::new());
    }

    /// Seeded with the activities of other servers kept in
    /// `tests/fixtures` as well.
    #[test]
    fn inbound_activity_seeds_and_regressions_hold() {
        let fixtures: Vec<PathBuf> = files("tests/fixtures")
            .into_iter()
            .chain(
                std::fs::read_dir(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
                )
                .unwrap()
                .flat_map(|dir| {
                    files(&format!(
                        "tests/fixtures/{}",
                        dir.unwrap().file_name().to_string_lossy()
                    ))
                }),
            )
            .collect();
        assert!(fixtures.len() >= 20, "{fixtures:?}");
        replay("inbound_activity", super::inbound_activity, fixtures);
    }

    #[test]
    fn webfinger_resource_seeds_and_regressions_hold() {
        replay("webfinger_resource", super::webfinger_resource, Vec::new());
    }
}

//! Signing outbound deliveries: draft-cavage HTTP signatures made with
//! aws-lc-rs.
//!
//! activitypub_federation signs with the `rsa` crate, whose private-key
//! operation is not constant-time (RUSTSEC-2023-0071) and several times
//! slower than aws-lc's. Hearth therefore signs its deliveries here, in
//! exactly the shape activitypub_federation 0.7 produces with
//! `http_signature_compat` (the shape Mastodon, Lemmy, Fedify and Hearth
//! already accept from us):
//!
//! ```text
//! Content-Type: application/activity+json
//! Host: inbox.example            (with :port when the inbox URL names one)
//! Date: Tue, 14 Nov 2023 22:13:20 GMT
//! Digest: SHA-256=<base64 of the body's SHA-256>
//! Signature: keyId="<actor id>#main-key",algorithm="hs2019",
//!            headers="(request-target) content-type date digest host",
//!            signature="<base64 RSASSA-PKCS1-v1_5 SHA-256>"
//! ```
//!
//! The covered headers are in that (alphabetical) order because
//! http-signature-normalization, which activitypub_federation signs
//! through, lists them from a sorted map; `hs2019` is its algorithm label,
//! meaning "whatever the key calls for", which for the RSA keys of the
//! fediverse is RSASSA-PKCS1-v1_5 with SHA-256.
//!
//! Signed fetches (GET) are still signed by activitypub_federation, as the
//! instance actor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{CONTENT_TYPE, DATE, HOST, HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// The content type of every delivery, as activitypub_federation sends it.
pub const ACTIVITY_CONTENT_TYPE: &str = "application/activity+json";

/// The covered headers, in signing order.
const COVERED: &str = "(request-target) content-type date digest host";

/// How many actors' parsed keys [`KeyCache`] keeps. A group relaying a post
/// signs all its deliveries with one key, so a few active actors cover
/// nearly all signing; past the bound, an entry is dropped to make room.
const CACHED_KEYS: usize = 1024;

/// Why a delivery could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The stored private key does not parse (or is not a usable RSA key).
    #[error("{0}")]
    Key(#[from] hearth_app::keys::KeyError),
    /// The inbox URL has no host to sign for.
    #[error("inbox {0} has no host")]
    NoHost(String),
    /// A header value could not be built (a host with characters a header
    /// cannot hold).
    #[error("cannot build the {0} header")]
    Header(&'static str),
    /// aws-lc refused to sign.
    #[error("signing failed")]
    Failed,
}

/// The local actors' private keys, parsed: parsing and checking a PKCS#8
/// key costs about as much as signing, and a group relaying one post signs
/// hundreds of deliveries with the same key.
///
/// Entries are keyed by actor id and remember a digest of the PEM they were
/// parsed from, so a key changed in the database is parsed again rather
/// than served stale. They also remember when the PEM was last read from
/// the database: a delivery worker signs with a key read less than
/// [`KEY_FRESH_FOR`] ago without reading it again (two queries per
/// delivery otherwise), so a changed key is taken up within that time.
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, CachedKey>>,
}

struct CachedKey {
    pem_digest: [u8; 32],
    key: Arc<KeyPair>,
    /// When the PEM was last read from the database and found unchanged.
    checked: Instant,
}

/// How long a delivery worker signs with a key without reading it again.
pub const KEY_FRESH_FOR: Duration = Duration::from_secs(60);

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.keys.lock().map(|k| k.len()).unwrap_or_default();
        f.debug_struct("KeyCache")
            .field("keys", &len)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// `actor_id`'s key parsed from `private_pem`, from the cache when the
    /// PEM is the one cached for that actor.
    pub fn get(&self, actor_id: &str, private_pem: &str) -> Result<Arc<KeyPair>, SignError> {
        let pem_digest = pem_digest(private_pem);
        if let Some(cached) = self.lock().get_mut(actor_id)
            && cached.pem_digest == pem_digest
        {
            cached.checked = Instant::now();
            return Ok(cached.key.clone());
        }
        // Parsed outside the lock: other deliveries keep signing meanwhile.
        let key = Arc::new(hearth_app::keys::parse_private_pem(private_pem)?);
        let mut keys = self.lock();
        if keys.len() >= CACHED_KEYS
            && !keys.contains_key(actor_id)
            && let Some(evicted) = keys.keys().next().cloned()
        {
            keys.remove(&evicted);
        }
        keys.insert(
            actor_id.to_owned(),
            CachedKey {
                pem_digest,
                key: key.clone(),
                checked: Instant::now(),
            },
        );
        Ok(key)
    }

    /// `actor_id`'s key, if [`KeyCache::get`] read it from the database
    /// less than `fresh_for` ago.
    pub fn recent(&self, actor_id: &str, fresh_for: Duration) -> Option<Arc<KeyPair>> {
        self.lock()
            .get(actor_id)
            .filter(|cached| cached.checked.elapsed() < fresh_for)
            .map(|cached| cached.key.clone())
    }

    /// The map, even if a thread panicked holding it: entries are only
    /// ever whole, so what it holds is still right.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedKey>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn pem_digest(pem: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, pem.as_bytes()).as_ref());
    out
}

/// The headers that sign a POST of `body` to `inbox` as `actor_id`, dated
/// `now`: `Content-Type`, `Host`, `Date`, `Digest` and `Signature`, in the
/// shape described in the module docs. `body` must be sent byte for byte:
/// the digest covers it.
///
/// RSA signing takes a fraction of a millisecond with aws-lc-rs, so this
/// runs inline on the async runtime.
pub fn sign_post(
    key: &KeyPair,
    actor_id: &Url,
    inbox: &Url,
    body: &[u8],
    now: SystemTime,
) -> Result<HeaderMap, SignError> {
    let host = match (inbox.host_str(), inbox.port()) {
        (Some(host), None) => host.to_owned(),
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (None, _) => return Err(SignError::NoHost(inbox.to_string())),
    };
    let date = httpdate::fmt_http_date(now);
    let digest_header = format!("SHA-256={}", BASE64.encode(digest(&SHA256, body).as_ref()));
    let target = match inbox.query() {
        Some(query) => format!("{}?{query}", inbox.path()),
        None => inbox.path().to_owned(),
    };
    let signing_string = format!(
        "(request-target): post {target}\n\
         content-type: {ACTIVITY_CONTENT_TYPE}\n\
         date: {date}\n\
         digest: {digest_header}\n\
         host: {host}"
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_string.as_bytes(),
        &mut signature,
    )
    .map_err(|_| SignError::Failed)?;
    let signature_header = format!(
        r#"keyId="{actor_id}#main-key",algorithm="hs2019",headers="{COVERED}",signature="{}""#,
        BASE64.encode(&signature)
    );

    let value = |v: String, name: &'static str| {
        HeaderValue::try_from(v).map_err(|_| SignError::Header(name))
    };
    let mut headers = HeaderMap::with_capacity(5);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(ACTIVITY_CONTENT_TYPE),
    );
    headers.insert(HOST, value(host, "host")?);
    headers.insert(DATE, value(date, "date")?);
    headers.insert(
        HeaderName::from_static("digest"),
        value(digest_header, "digest")?,
    );
    headers.insert(
        HeaderName::from_static("signature"),
        value(signature_header, "signature")?,
    );
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signatures::{self, MASTODON_WINDOW, Signature, SignatureError, SignedRequest};
    use std::collections::BTreeMap;
    use std::sync::LazyLock;
    use std::time::{Duration, UNIX_EPOCH};

    /// Tue, 14 Nov 2023 22:13:20 GMT.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    const BODY: &str = r#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://hearth.example/activities/1","type":"Follow","actor":"https://hearth.example/u/ann","object":"https://remote.example/g/cats"}"#;

    struct TestKey {
        private_pem: String,
        public_pem: String,
        pair: Arc<KeyPair>,
    }

    static KEY: LazyLock<TestKey> = LazyLock::new(|| {
        let keys = hearth_app::keys::generate().unwrap();
        TestKey {
            pair: Arc::new(hearth_app::keys::parse_private_pem(&keys.private_pem).unwrap()),
            private_pem: keys.private_pem,
            public_pem: keys.public_pem,
        }
    });

    fn actor() -> Url {
        Url::parse("https://hearth.example/u/ann").unwrap()
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers.get(name).unwrap().to_str().unwrap()
    }

    /// What the receiving server sees: the headers we send, and the path.
    fn check(
        headers: &HeaderMap,
        path_and_query: &str,
        body: &[u8],
        pem: &str,
    ) -> Result<Signature, SignatureError> {
        let req = SignedRequest {
            method: "POST",
            scheme: "https",
            path_and_query,
            headers,
            body: Some(body),
        };
        let sig = signatures::precheck(&req, now(), MASTODON_WINDOW)?;
        signatures::check_host(&req, "remote.example", 443)?;
        signatures::verify(&req, &sig, pem)?;
        Ok(sig)
    }

    #[test]
    fn signs_in_the_shape_activitypub_federation_did() {
        let inbox = Url::parse("https://remote.example/inbox").unwrap();
        let headers = sign_post(&KEY.pair, &actor(), &inbox, BODY.as_bytes(), now()).unwrap();
        assert_eq!(
            header(&headers, "content-type"),
            "application/activity+json"
        );
        assert_eq!(header(&headers, "host"), "remote.example");
        assert_eq!(header(&headers, "date"), "Tue, 14 Nov 2023 22:13:20 GMT");
        let digest = header(&headers, "digest");
        assert_eq!(
            digest,
            format!(
                "SHA-256={}",
                BASE64.encode(<sha2::Sha256 as sha2::Digest>::digest(BODY.as_bytes()))
            )
        );
        let signature = header(&headers, "signature");
        assert!(
            signature.starts_with(
                r#"keyId="https://hearth.example/u/ann#main-key",algorithm="hs2019",headers="(request-target) content-type date digest host",signature=""#
            ),
            "{signature}"
        );
        assert_eq!(headers.len(), 5);

        // http-signature-normalization (what activitypub_federation signs
        // through) given the headers activitypub_federation's request had
        // builds the same header, byte for byte: PKCS#1 v1.5 is
        // deterministic, so even the signature is the same.
        let mut before = BTreeMap::new();
        for name in ["content-type", "host", "date", "digest"] {
            before.insert(name.to_owned(), header(&headers, name).to_owned());
        }
        // Its reqwest glue adds Host again, capitalised, from the URL.
        before.insert("Host".to_owned(), "remote.example".to_owned());
        let theirs = http_signature_normalization::Config::new()
            .mastodon_compat()
            .set_expiration(Duration::from_secs(3600))
            .begin_sign("POST", "/inbox", before)
            .unwrap()
            .sign(
                "https://hearth.example/u/ann#main-key".to_owned(),
                |signing_string| {
                    let mut sig = vec![0; KEY.pair.public_modulus_len()];
                    KEY.pair
                        .sign(
                            &RSA_PKCS1_SHA256,
                            &SystemRandom::new(),
                            signing_string.as_bytes(),
                            &mut sig,
                        )
                        .unwrap();
                    Ok::<_, std::convert::Infallible>(BASE64.encode(sig))
                },
            )
            .unwrap()
            .signature_header();
        assert_eq!(theirs, signature);
    }

    #[test]
    fn what_it_signs_verifies_with_hearths_verifier() {
        let inbox = Url::parse("https://remote.example/inbox").unwrap();
        let headers = sign_post(&KEY.pair, &actor(), &inbox, BODY.as_bytes(), now()).unwrap();
        let sig = check(&headers, "/inbox", BODY.as_bytes(), &KEY.public_pem).unwrap();
        assert_eq!(sig.key_id(), "https://hearth.example/u/ann#main-key");
        let Signature::Cavage(cavage) = sig else {
            panic!("not draft-cavage: {sig:?}");
        };
        assert_eq!(
            cavage.headers,
            ["(request-target)", "content-type", "date", "digest", "host"]
        );
        assert_eq!(cavage.algorithm.as_deref(), Some("hs2019"));

        // With the rsa crate too: an implementation independent of aws-lc.
        use rsa::pkcs8::DecodePublicKey as _;
        use sha2::Digest as _;
        let public = rsa::RsaPublicKey::from_public_key_pem(&KEY.public_pem).unwrap();
        let map = headers.clone();
        let req = SignedRequest {
            method: "POST",
            scheme: "https",
            path_and_query: "/inbox",
            headers: &map,
            body: Some(BODY.as_bytes()),
        };
        let signing_string = signatures::signing_string(&req, &cavage).unwrap();
        public
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(signing_string.as_bytes()),
                &cavage.signature,
            )
            .unwrap();
    }

    #[test]
    fn ports_and_queries_are_signed_as_sent() {
        let inbox = Url::parse("http://remote.example:8080/g/cats/inbox?x=1").unwrap();
        let headers = sign_post(&KEY.pair, &actor(), &inbox, BODY.as_bytes(), now()).unwrap();
        assert_eq!(header(&headers, "host"), "remote.example:8080");
        let req = SignedRequest {
            method: "POST",
            scheme: "http",
            path_and_query: "/g/cats/inbox?x=1",
            headers: &headers,
            body: Some(BODY.as_bytes()),
        };
        let sig = signatures::precheck(&req, now(), MASTODON_WINDOW).unwrap();
        signatures::check_host(&req, "remote.example", 8080).unwrap();
        signatures::verify(&req, &sig, &KEY.public_pem).unwrap();
        // The default port is not named, as the URL does not name it.
        let inbox = Url::parse("https://remote.example:443/inbox").unwrap();
        let headers = sign_post(&KEY.pair, &actor(), &inbox, BODY.as_bytes(), now()).unwrap();
        assert_eq!(header(&headers, "host"), "remote.example");
    }

    #[test]
    fn tampering_is_caught() {
        let inbox = Url::parse("https://remote.example/inbox").unwrap();
        let headers = sign_post(&KEY.pair, &actor(), &inbox, BODY.as_bytes(), now()).unwrap();
        let other_body = BODY.replace("Follow", "Block");

        // Another body under the original digest.
        assert_eq!(
            check(&headers, "/inbox", other_body.as_bytes(), &KEY.public_pem),
            Err(SignatureError::DigestMismatch("digest"))
        );
        // Another body with its own digest: the signature no longer holds.
        let mut forged = headers.clone();
        forged.insert(
            "digest",
            HeaderValue::from_str(&format!(
                "SHA-256={}",
                BASE64.encode(digest(&SHA256, other_body.as_bytes()).as_ref())
            ))
            .unwrap(),
        );
        assert_eq!(
            check(&forged, "/inbox", other_body.as_bytes(), &KEY.public_pem),
            Err(SignatureError::InvalidSignature)
        );
        // Another path, another content type, another key.
        assert_eq!(
            check(&headers, "/other/inbox", BODY.as_bytes(), &KEY.public_pem),
            Err(SignatureError::InvalidSignature)
        );
        let mut retyped = headers.clone();
        retyped.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(
            check(&retyped, "/inbox", BODY.as_bytes(), &KEY.public_pem),
            Err(SignatureError::InvalidSignature)
        );
        let other = hearth_app::keys::generate().unwrap();
        assert_eq!(
            check(&headers, "/inbox", BODY.as_bytes(), &other.public_pem),
            Err(SignatureError::InvalidSignature)
        );
    }

    #[test]
    fn the_key_cache_parses_once_and_notices_a_new_key() {
        let cache = KeyCache::default();
        let ann = "https://hearth.example/u/ann";
        let first = cache.get(ann, &KEY.private_pem).unwrap();
        let again = cache.get(ann, &KEY.private_pem).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // The key changed in the database: parsed again.
        let rotated = hearth_app::keys::generate().unwrap();
        let new = cache.get(ann, &rotated.private_pem).unwrap();
        assert!(!Arc::ptr_eq(&first, &new));
        let inbox = Url::parse("https://remote.example/inbox").unwrap();
        let headers = sign_post(&new, &actor(), &inbox, BODY.as_bytes(), now()).unwrap();
        check(&headers, "/inbox", BODY.as_bytes(), &rotated.public_pem).unwrap();
        // A bad key is an error, and does not poison the entry.
        assert!(matches!(
            cache.get(
                ann,
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(SignError::Key(_))
        ));
        assert!(Arc::ptr_eq(
            &new,
            &cache.get(ann, &rotated.private_pem).unwrap()
        ));
    }

    #[test]
    fn the_key_cache_is_bounded() {
        let cache = KeyCache::default();
        for n in 0..CACHED_KEYS + 10 {
            cache
                .get(&format!("https://hearth.example/u/{n}"), &KEY.private_pem)
                .unwrap();
        }
        assert_eq!(cache.lock().len(), CACHED_KEYS);
    }
}

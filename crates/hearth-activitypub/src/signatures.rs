//! Verification of inbound draft-cavage HTTP Signatures (the scheme Mastodon,
//! Lemmy, GoToSocial and Fedify sign with) on both inbox POSTs and signed GETs
//! (authorized fetch): parsing the `Signature` header, the cheap checks that
//! come before any key is fetched, and the RSA check once the caller has the
//! key. Pure functions: no I/O, the caller fetches the public key.
//!
//! It exists because activitypub_federation's axum integration verifies only
//! POSTs, checks only that `Date` is not too old (never that it is not in the
//! future), and fetches the signing actor before doing any cheap check, so a
//! request with a stale or unsigned `Date` still costs an outbound fetch.
//!
//! Use it in this order:
//! 1. [`precheck`] the request (header present and well formed, algorithm,
//!    covered headers, `Date`/`(created)`/`(expires)` window, body digest);
//! 2. fetch the key named by [`SignatureHeader::key_id`] (see
//!    [`key_id_without_fragment`]) and check the fetched `publicKey.id`
//!    equals the keyId;
//! 3. [`verify`] the signature with the key's PEM;
//! 4. check that the key's owner is the activity's actor (and, if replays
//!    of deliveries meant for other servers matter, that the signed `Host`
//!    is ours): not this module's business, and a valid signature alone
//!    proves neither.
//!
//! Errors map to HTTP statuses with [`SignatureError::status`]: 400 when the
//! signature header cannot be parsed at all, 401 for every other failure.
//!
//! Section numbers below are those of draft-cavage-http-signatures-12.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest as _, Sha256};

/// Inputs taken from the HTTP request.
///
/// `headers` must hold the headers as received. Under HTTP/2 there is no
/// `Host` header (the authority travels as the `:authority` pseudo-header),
/// so for such requests the caller inserts `host` from the request URI's
/// authority before calling; peers always sign `host`.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// "GET" / "POST", in any case.
    pub method: &'a str,
    /// The request target exactly as received, query included, not decoded
    /// or normalised: e.g. "/inbox" or "/u/ann?x=1".
    pub path_and_query: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The raw body, for the digest check. `Some` for POST; `None` is checked
    /// as an empty body.
    pub body: Option<&'a [u8]>,
}

/// A parsed `Signature` header (§4.1), or the parameters of an
/// `Authorization: Signature …` header (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    /// As sent; compared case-insensitively.
    pub algorithm: Option<String>,
    /// The covered headers, lower-case, in signing order. When the parameter
    /// is absent: `(created)` as §2.1.6 says, except `date` when the algorithm
    /// is one (rsa-*, hmac-*, ecdsa-*) that §2.3 forbids `(created)` with,
    /// which is also what Mastodon falls back to.
    pub headers: Vec<String>,
    /// base64-decoded.
    pub signature: Vec<u8>,
    /// The `created` parameter (§2.1.4), Unix seconds.
    pub created: Option<i64>,
    /// The `expires` parameter (§2.1.5), Unix seconds.
    pub expires: Option<i64>,
}

/// How far a signature's time (`Date` header or `created` parameter) may be
/// from the verifier's clock. `future` doubles as the clock-skew allowance
/// for the `expires` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateWindow {
    /// The most a signature time may be ahead of now.
    pub future: Duration,
    /// The most a signature time may be behind now.
    pub past: Duration,
}

/// The window Mastodon accepts: one hour of clock skew either way on top of
/// the five minutes a signature without `expires` is valid for
/// (`CLOCK_SKEW_MARGIN` and the default expiry in its `SignedRequest`), so up
/// to 1 hour ahead and 65 minutes behind.
pub const MASTODON_WINDOW: DateWindow = DateWindow {
    future: Duration::from_secs(3600),
    past: Duration::from_secs(3900),
};

/// Why a signature was refused. Messages are lower-case fragments, fit to be
/// logged or returned in a problem body after a prefix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// Neither a `Signature` header nor an `Authorization: Signature …` one.
    #[error("request has no signature header")]
    Missing,
    /// A `Signature-Input` header means the `Signature` header is an RFC 9421
    /// HTTP Message Signature, which this module does not verify.
    #[error("rfc 9421 http message signatures are not supported")]
    MessageSignatureUnsupported,
    /// The header could not be parsed at all (the only 400).
    #[error("malformed signature header: {0}")]
    Malformed(String),
    /// A required parameter (`keyId`, `signature`, or `created`/`expires`
    /// when their pseudo-header is covered) is absent or empty.
    #[error("signature header has no {0} parameter")]
    MissingParameter(&'static str),
    /// §2.2: a signature with a repeated parameter must not be processed.
    #[error("signature header repeats the {0} parameter")]
    DuplicateParameter(String),
    /// §2.1.6: a zero-length `headers` parameter must not be used.
    #[error("signature header has an empty headers parameter")]
    EmptyHeaderList,
    /// Only `rsa-sha256` and `hs2019` (or no algorithm) are accepted.
    #[error("signature algorithm {0:?} is not supported")]
    UnsupportedAlgorithm(String),
    /// A header this module requires to be signed is not in `headers`.
    #[error("signature does not cover {0}")]
    NotCovered(&'static str),
    /// §2.3 items 2 and 3: `(created)`/`(expires)` with an rsa, hmac or
    /// ecdsa algorithm.
    #[error("{0} cannot be signed with algorithm {1:?}")]
    PseudoHeaderNotAllowed(&'static str, String),
    /// A covered name in parentheses that §2.3 does not define.
    #[error("unknown pseudo-header {0}")]
    UnknownPseudoHeader(String),
    /// A covered header is absent from the request.
    #[error("signed header {0} is missing from the request")]
    MissingHeader(String),
    /// A covered header's value is not UTF-8 text.
    #[error("signed header {0} is not text")]
    InvalidHeaderValue(String),
    #[error("date header is not an http date")]
    InvalidDate,
    #[error("date header is {} in the future", human(.0))]
    DateInFuture(Duration),
    #[error("date header is {} old", human(.0))]
    DateTooOld(Duration),
    #[error("signature created time is {} in the future", human(.0))]
    CreatedInFuture(Duration),
    #[error("signature created time is {} old", human(.0))]
    CreatedTooOld(Duration),
    #[error("signature expired {} ago", human(.0))]
    Expired(Duration),
    /// The digest header (`digest` or `content-digest`) has no SHA-256 entry.
    #[error("{0} header has no sha-256 entry")]
    DigestAlgorithmMissing(&'static str),
    /// The SHA-256 entry is not base64 of 32 bytes.
    #[error("{0} header is malformed")]
    DigestMalformed(&'static str),
    #[error("{0} header does not match the body")]
    DigestMismatch(&'static str),
    /// The key handed to [`verify`] is neither SPKI nor PKCS#1 RSA PEM.
    #[error("public key is not an rsa public key in pem form")]
    InvalidPublicKey,
    #[error("signature does not match")]
    InvalidSignature,
    /// The request was signed for another server: a signature replayed
    /// from elsewhere.
    #[error("signed for host {0}, not for this server")]
    WrongHost(String),
}

impl SignatureError {
    /// The HTTP status to answer with: 400 when the signature header cannot
    /// be parsed at all ([`SignatureError::Malformed`]), 401 for everything
    /// else (missing or invalid signature, uncovered headers, bad digest,
    /// time outside the window, unsupported algorithm, unusable key).
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            _ => 401,
        }
    }
}

const SIGNATURE: &str = "signature";
const SIGNATURE_INPUT: &str = "signature-input";
const REQUEST_TARGET: &str = "(request-target)";
const CREATED: &str = "(created)";
const EXPIRES: &str = "(expires)";
const DIGEST: &str = "digest";
const CONTENT_DIGEST: &str = "content-digest";

/// Peers differ on base64 padding; accept either.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parse the value of a `Signature` header (§4.1), or of an
/// `Authorization` header with its `Signature ` scheme removed (§3.1).
///
/// Values may be quoted (with `\` escapes) or bare (`created=1402170695`);
/// names are matched case-insensitively as for any auth-param; unknown
/// parameters are ignored (§2.2) and repeated ones refused (§2.2).
pub fn parse_signature_header(value: &str) -> Result<SignatureHeader, SignatureError> {
    let mut seen = HashSet::new();
    let mut key_id = None;
    let mut algorithm = None;
    let mut headers = None;
    let mut signature = None;
    let mut created = None;
    let mut expires = None;
    for (name, value) in split_params(value)? {
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(SignatureError::DuplicateParameter(name));
        }
        match name.to_ascii_lowercase().as_str() {
            "keyid" => key_id = Some(value),
            "algorithm" => algorithm = Some(value),
            "headers" => headers = Some(value),
            "signature" => signature = Some(value),
            "created" => created = Some(parse_timestamp("created", &value)?),
            "expires" => expires = Some(parse_timestamp("expires", &value)?),
            _ => {}
        }
    }

    let key_id = key_id
        .filter(|k| !k.is_empty())
        .ok_or(SignatureError::MissingParameter("keyId"))?;
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingParameter("signature"))?;
    let signature = LENIENT_BASE64
        .decode(signature.as_bytes())
        .map_err(|_| SignatureError::Malformed("signature is not base64".to_owned()))?;
    let headers = match headers {
        Some(list) => {
            let list: Vec<String> = list
                .split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
            if list.is_empty() {
                return Err(SignatureError::EmptyHeaderList);
            }
            list
        }
        None if algorithm.as_deref().is_some_and(forbids_pseudo_headers) => {
            vec!["date".to_owned()]
        }
        None => vec![CREATED.to_owned()],
    };

    Ok(SignatureHeader {
        key_id,
        algorithm,
        headers,
        signature,
        created,
        expires,
    })
}

/// Cheap checks done BEFORE any key is fetched:
/// - a `Signature` header exists (or `Authorization: Signature …`) and parses;
/// - algorithm is absent, "rsa-sha256" or "hs2019" (case-insensitive);
/// - covered headers include "(request-target)", "host" and "date" (or
///   "(created)" instead of date); for POST also "digest" (or
///   "content-digest");
/// - a covered `Date` is within `window` of `now`, and so is the `created`
///   parameter; `expires`, if present, has not passed (give or take
///   `window.future` of clock skew);
/// - every covered digest header (`Digest`, or RFC 9530 `Content-Digest`)
///   has a SHA-256 entry matching the body.
///
/// Passing proves nothing about who signed: [`verify`] must follow.
pub fn precheck(
    req: &SignedRequest<'_>,
    now: SystemTime,
    window: DateWindow,
) -> Result<SignatureHeader, SignatureError> {
    let sig = parse_signature_header(signature_header_value(req.headers)?)?;
    check_algorithm(&sig)?;
    check_pseudo_headers(&sig)?;
    check_coverage(req, &sig)?;
    check_times(req, &sig, now, window)?;
    check_digests(req, &sig)?;
    Ok(sig)
}

/// Build the signing string exactly per §2.3: one `name: value` line per
/// covered header, in order, joined by "\n". `(request-target)` is the
/// lower-cased method, a space and the path with its query; `(created)` and
/// `(expires)` are the parameters' integers. Several headers of one name are
/// joined by ", ", each value trimmed. A covered header missing from the
/// request is an error.
pub fn signing_string(
    req: &SignedRequest<'_>,
    sig: &SignatureHeader,
) -> Result<String, SignatureError> {
    check_pseudo_headers(sig)?;
    let mut lines = Vec::with_capacity(sig.headers.len());
    for name in &sig.headers {
        let value = match name.as_str() {
            REQUEST_TARGET => format!("{} {}", req.method.to_ascii_lowercase(), req.path_and_query),
            CREATED => sig
                .created
                .ok_or(SignatureError::MissingParameter("created"))?
                .to_string(),
            EXPIRES => sig
                .expires
                .ok_or(SignatureError::MissingParameter("expires"))?
                .to_string(),
            _ => header_value(req.headers, name)?,
        };
        lines.push(format!("{name}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// Verify the RSA PKCS#1 v1.5 SHA-256 signature over the signing string with
/// a PEM public key, SPKI ("BEGIN PUBLIC KEY", what Mastodon and Lemmy
/// publish) or PKCS#1 ("BEGIN RSA PUBLIC KEY"). `hs2019` means whatever the
/// key's type calls for, which for the RSA keys the fediverse publishes is
/// this same scheme.
///
/// The query stays in `(request-target)`: unlike Mastodon, there is no
/// second try without it for the old Mastodon versions that signed the path
/// alone, since that would leave the query unsigned.
pub fn verify(
    req: &SignedRequest<'_>,
    sig: &SignatureHeader,
    public_key_pem: &str,
) -> Result<(), SignatureError> {
    check_algorithm(sig)?;
    let key = parse_public_key(public_key_pem)?;
    let signing_string = signing_string(req, sig)?;
    let hashed = Sha256::digest(signing_string.as_bytes());
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &sig.signature)
        .map_err(|_| SignatureError::InvalidSignature)
}

/// The actor URL a keyId most likely belongs to: the keyId without its
/// fragment (Mastodon/Lemmy "…/users/ann#main-key" -> "…/users/ann"). A keyId
/// without a fragment (GoToSocial's "…/users/ann/main-key") comes back
/// unchanged: fetching it gives the key, whose `owner` names the actor.
/// `None` unless the keyId is an http(s) URL. Callers still check the
/// fetched actor's publicKey.id equals the keyId.
pub fn key_id_without_fragment(key_id: &str) -> Option<url::Url> {
    let mut url = url::Url::parse(key_id).ok()?;
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

/// The value of the one `Signature` header, else of the one `Authorization`
/// header using the `Signature` scheme, without the scheme.
fn signature_header_value(headers: &http::HeaderMap) -> Result<&str, SignatureError> {
    if headers.contains_key(SIGNATURE_INPUT) {
        return Err(SignatureError::MessageSignatureUnsupported);
    }
    let not_text = || SignatureError::Malformed("signature header is not ascii text".to_owned());
    let mut signatures = headers.get_all(SIGNATURE).iter();
    if let Some(value) = signatures.next() {
        if signatures.next().is_some() {
            return Err(SignatureError::Malformed(
                "more than one signature header".to_owned(),
            ));
        }
        return value.to_str().map_err(|_| not_text());
    }
    // §3.1. An Authorization header with another scheme (a client's Bearer
    // token) is not a signature, so it is skipped rather than refused.
    let mut found = None;
    for value in headers.get_all(http::header::AUTHORIZATION) {
        let Some(params) = value.to_str().ok().and_then(strip_signature_scheme) else {
            continue;
        };
        if found.replace(params).is_some() {
            return Err(SignatureError::Malformed(
                "more than one signature authorization header".to_owned(),
            ));
        }
    }
    found.ok_or(SignatureError::Missing)
}

/// "Signature keyId=…" -> "keyId=…"; `None` for any other scheme.
fn strip_signature_scheme(value: &str) -> Option<&str> {
    let value = value.trim_start_matches([' ', '\t']);
    let scheme = value.get(..SIGNATURE.len())?;
    let rest = value.get(SIGNATURE.len()..)?;
    if scheme.eq_ignore_ascii_case(SIGNATURE) && rest.starts_with([' ', '\t']) {
        Some(rest.trim_start_matches([' ', '\t']))
    } else {
        None
    }
}

/// Split `name=value, name="quoted, value"` into pairs, in order. Grammar
/// per RFC 9110's auth-param: `token BWS "=" BWS ( token / quoted-string )`,
/// separated by commas with optional whitespace; bare values are read up to
/// the next comma or whitespace so that unquoted base64 still parses.
fn split_params(input: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let bytes = input.as_bytes();
    let malformed = SignatureError::Malformed;
    let mut params = Vec::new();
    let mut i = 0;
    loop {
        // Empty list elements (",,") are allowed by the #rule of RFC 9110.
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let name_start = i;
        while i < bytes.len() && is_tchar(bytes[i]) {
            i += 1;
        }
        let name = input.get(name_start..i).unwrap_or_default();
        if name.is_empty() {
            return Err(malformed(format!(
                "expected a parameter name at byte {name_start}"
            )));
        }
        i = skip_ows(bytes, i);
        if bytes.get(i) != Some(&b'=') {
            return Err(malformed(format!("parameter {name} has no value")));
        }
        i = skip_ows(bytes, i + 1);
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut value = Vec::new();
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(malformed(format!(
                            "parameter {name} has an unterminated quoted value"
                        )));
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        // quoted-pair: the next byte stands for itself.
                        match bytes.get(i + 1) {
                            Some(&escaped) => value.push(escaped),
                            None => {
                                return Err(malformed(format!(
                                    "parameter {name} has an unterminated quoted value"
                                )));
                            }
                        }
                        i += 2;
                    }
                    Some(&byte) => {
                        value.push(byte);
                        i += 1;
                    }
                }
            }
            String::from_utf8(value)
                .map_err(|_| malformed(format!("parameter {name} is not text")))?
        } else {
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b',' | b' ' | b'\t' | b'"') {
                i += 1;
            }
            let value = input.get(start..i).unwrap_or_default();
            if value.is_empty() {
                return Err(malformed(format!("parameter {name} has an empty value")));
            }
            value.to_owned()
        };
        i = skip_ows(bytes, i);
        if i < bytes.len() && bytes[i] != b',' {
            return Err(malformed(format!(
                "expected a comma after parameter {name}"
            )));
        }
        params.push((name.to_owned(), value));
    }
    Ok(params)
}

fn skip_ows(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// §2.1.4/§2.1.5 call these Unix timestamp integers. Refusing anything else
/// (rather than ignoring it as §2.2 allows) keeps a garbled `expires` from
/// silently switching the expiry check off.
fn parse_timestamp(param: &str, value: &str) -> Result<i64, SignatureError> {
    value
        .parse()
        .map_err(|_| SignatureError::Malformed(format!("{param} is not an integer")))
}

/// §2.3 items 2 and 3: `(created)` and `(expires)` are errors with
/// algorithms whose name starts with rsa, hmac or ecdsa.
fn forbids_pseudo_headers(algorithm: &str) -> bool {
    let algorithm = algorithm.to_ascii_lowercase();
    ["rsa", "hmac", "ecdsa"]
        .iter()
        .any(|prefix| algorithm.starts_with(prefix))
}

/// Mastodon accepts exactly these two; `hs2019` is draft 12's "derive it
/// from the key", and RSA keys are all the fediverse publishes in PEM.
fn check_algorithm(sig: &SignatureHeader) -> Result<(), SignatureError> {
    match sig.algorithm.as_deref() {
        None => Ok(()),
        Some(a) if a.eq_ignore_ascii_case("rsa-sha256") || a.eq_ignore_ascii_case("hs2019") => {
            Ok(())
        }
        Some(other) => Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    }
}

fn check_pseudo_headers(sig: &SignatureHeader) -> Result<(), SignatureError> {
    for name in sig.headers.iter().filter(|h| h.starts_with('(')) {
        let (pseudo, param, value) = match name.as_str() {
            REQUEST_TARGET => continue,
            CREATED => (CREATED, "created", sig.created),
            EXPIRES => (EXPIRES, "expires", sig.expires),
            other => return Err(SignatureError::UnknownPseudoHeader(other.to_owned())),
        };
        if let Some(algorithm) = sig.algorithm.as_deref()
            && forbids_pseudo_headers(algorithm)
        {
            return Err(SignatureError::PseudoHeaderNotAllowed(
                pseudo,
                algorithm.to_owned(),
            ));
        }
        if value.is_none() {
            return Err(SignatureError::MissingParameter(param));
        }
    }
    Ok(())
}

/// What must be signed for the signature to mean anything: the target (or a
/// signature could be replayed to another path), the host (or to another
/// server), a time (or replayed forever) and, for a POST, the body through
/// its digest. Mastodon requires the same, bar host on POSTs.
fn check_coverage(req: &SignedRequest<'_>, sig: &SignatureHeader) -> Result<(), SignatureError> {
    let covers = |name: &str| sig.headers.iter().any(|h| h == name);
    if !covers(REQUEST_TARGET) {
        return Err(SignatureError::NotCovered(REQUEST_TARGET));
    }
    if !covers("host") {
        return Err(SignatureError::NotCovered("host"));
    }
    if !covers("date") && !covers(CREATED) {
        return Err(SignatureError::NotCovered("date or (created)"));
    }
    if req.method.eq_ignore_ascii_case("post") && !covers(DIGEST) && !covers(CONTENT_DIGEST) {
        return Err(SignatureError::NotCovered(DIGEST));
    }
    Ok(())
}

fn check_times(
    req: &SignedRequest<'_>,
    sig: &SignatureHeader,
    now: SystemTime,
    window: DateWindow,
) -> Result<(), SignatureError> {
    // An uncovered Date could be anything, so only a signed one is checked.
    if sig.headers.iter().any(|h| h == "date") {
        let value = header_value(req.headers, "date")?;
        let date = httpdate::parse_http_date(&value).map_err(|_| SignatureError::InvalidDate)?;
        match skew(date, now, window) {
            Skew::Within => {}
            Skew::Ahead(by) => return Err(SignatureError::DateInFuture(by)),
            Skew::Behind(by) => return Err(SignatureError::DateTooOld(by)),
        }
    }
    // `created` stands in for Date (§2.1.4 forbids one in the future; the
    // clock-skew allowance is Mastodon's). Honoured even when not covered:
    // an unsigned parameter can only make this stricter.
    if let Some(created) = sig.created {
        match unix_time(created) {
            Some(created) => match skew(created, now, window) {
                Skew::Within => {}
                Skew::Ahead(by) => return Err(SignatureError::CreatedInFuture(by)),
                Skew::Behind(by) => return Err(SignatureError::CreatedTooOld(by)),
            },
            None if created > 0 => return Err(SignatureError::CreatedInFuture(Duration::MAX)),
            None => return Err(SignatureError::CreatedTooOld(Duration::MAX)),
        }
    }
    // §2.1.5: an expired signature must not be processed. Mastodon allows
    // its clock-skew margin past `expires` too.
    if let Some(expires) = sig.expires {
        match unix_time(expires) {
            Some(expires) => {
                if let Ok(late) = now.duration_since(expires)
                    && late > window.future
                {
                    return Err(SignatureError::Expired(late));
                }
            }
            // Beyond what SystemTime holds: forever ahead, or long gone.
            None if expires > 0 => {}
            None => return Err(SignatureError::Expired(Duration::MAX)),
        }
    }
    Ok(())
}

enum Skew {
    Within,
    Ahead(Duration),
    Behind(Duration),
}

fn skew(time: SystemTime, now: SystemTime, window: DateWindow) -> Skew {
    match time.duration_since(now) {
        Ok(ahead) if ahead > window.future => Skew::Ahead(ahead),
        Ok(_) => Skew::Within,
        Err(behind) if behind.duration() > window.past => Skew::Behind(behind.duration()),
        Err(_) => Skew::Within,
    }
}

fn unix_time(secs: i64) -> Option<SystemTime> {
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// Every covered digest header must match the body; which one a peer sends
/// varies (draft-cavage peers send `Digest`, RFC 9530 ones `Content-Digest`).
fn check_digests(req: &SignedRequest<'_>, sig: &SignatureHeader) -> Result<(), SignatureError> {
    let covers = |name: &str| sig.headers.iter().any(|h| h == name);
    if !covers(DIGEST) && !covers(CONTENT_DIGEST) {
        return Ok(());
    }
    let body_digest = Sha256::digest(req.body.unwrap_or_default());
    if covers(DIGEST) {
        check_digest_header(&header_value(req.headers, DIGEST)?, &body_digest)?;
    }
    if covers(CONTENT_DIGEST) {
        check_content_digest_header(&header_value(req.headers, CONTENT_DIGEST)?, &body_digest)?;
    }
    Ok(())
}

/// RFC 3230 `Digest: SHA-256=base64, SHA-512=base64`: algorithm names are
/// case-insensitive, unknown ones are ignored, SHA-256 is required (as
/// Mastodon does), and every SHA-256 entry must match.
fn check_digest_header(value: &str, body_digest: &[u8]) -> Result<(), SignatureError> {
    let mut found = false;
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((algorithm, encoded)) = entry.split_once('=') else {
            return Err(SignatureError::DigestMalformed(DIGEST));
        };
        if !algorithm.trim().eq_ignore_ascii_case("sha-256") {
            continue;
        }
        found = true;
        compare_digest(DIGEST, encoded.trim(), body_digest)?;
    }
    if found {
        Ok(())
    } else {
        Err(SignatureError::DigestAlgorithmMissing(DIGEST))
    }
}

/// RFC 9530 `Content-Digest: sha-256=:base64:, sha-512=:base64:`, a
/// structured-field dictionary. Only the few rules needed here are applied:
/// members split on commas (base64 has none), parameters after `;` dropped.
fn check_content_digest_header(value: &str, body_digest: &[u8]) -> Result<(), SignatureError> {
    let mut found = false;
    for member in value.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        // A bare key is a boolean member: not a digest, so not ours.
        let Some((key, item)) = member.split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("sha-256") {
            continue;
        }
        found = true;
        let item = item.split(';').next().unwrap_or_default().trim();
        let encoded = item
            .strip_prefix(':')
            .and_then(|i| i.strip_suffix(':'))
            .ok_or(SignatureError::DigestMalformed(CONTENT_DIGEST))?;
        compare_digest(CONTENT_DIGEST, encoded, body_digest)?;
    }
    if found {
        Ok(())
    } else {
        Err(SignatureError::DigestAlgorithmMissing(CONTENT_DIGEST))
    }
}

fn compare_digest(
    header: &'static str,
    encoded: &str,
    body_digest: &[u8],
) -> Result<(), SignatureError> {
    let given = LENIENT_BASE64
        .decode(encoded.as_bytes())
        .map_err(|_| SignatureError::DigestMalformed(header))?;
    if given.len() != body_digest.len() {
        return Err(SignatureError::DigestMalformed(header));
    }
    if given != body_digest {
        return Err(SignatureError::DigestMismatch(header));
    }
    Ok(())
}

/// §2.3 item 4: all values of the header, in order, each trimmed of
/// surrounding whitespace, joined by ", ".
fn header_value(headers: &http::HeaderMap, name: &str) -> Result<String, SignatureError> {
    let mut joined: Option<String> = None;
    for value in headers.get_all(name) {
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| SignatureError::InvalidHeaderValue(name.to_owned()))?
            .trim_matches([' ', '\t']);
        match joined.as_mut() {
            Some(joined) => {
                joined.push_str(", ");
                joined.push_str(text);
            }
            None => joined = Some(text.to_owned()),
        }
    }
    joined.ok_or_else(|| SignatureError::MissingHeader(name.to_owned()))
}

fn parse_public_key(pem: &str) -> Result<RsaPublicKey, SignatureError> {
    let pem = pem.trim();
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| SignatureError::InvalidPublicKey)
}

/// "2h 5m", "30m", "45s": the two largest non-zero units, whole seconds.
fn human(duration: &Duration) -> String {
    let secs = duration.as_secs();
    let units = [
        (secs / 86_400, "d"),
        (secs / 3_600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let Some(first) = units.iter().position(|(n, _)| *n > 0) else {
        return "0s".to_owned();
    };
    units
        .iter()
        .skip(first)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The request was signed for this server: its `Host` (covered by every
/// signature [`precheck`] accepts) names `authority`, ignoring case and the
/// scheme's `default_port`. The request target is the real path by
/// construction ([`SignedRequest::path_and_query`]), so a signature made
/// for another server (or another path) never verifies here.
pub fn check_host(
    req: &SignedRequest<'_>,
    authority: &str,
    default_port: u16,
) -> Result<(), SignatureError> {
    let host = header_value(req.headers, "host")?;
    let normalise = |a: &str| {
        let a = a.trim().to_ascii_lowercase();
        match a.strip_suffix(&format!(":{default_port}")) {
            Some(bare) => bare.to_owned(),
            None => a,
        }
    };
    if normalise(&host) != normalise(authority) {
        return Err(SignatureError::WrongHost(host));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rsa::RsaPrivateKey;
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    use std::collections::BTreeMap;
    use std::sync::LazyLock;

    /// Tue, 14 Nov 2023 22:13:20 GMT.
    const NOW_SECS: u64 = 1_700_000_000;
    const KEY_ID: &str = "https://remote.example/users/ann#main-key";
    const ACTIVITY: &str = r#"{"type":"Follow","actor":"https://remote.example/users/ann"}"#;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn at(offset_secs: i64) -> SystemTime {
        unix_time(NOW_SECS as i64 + offset_secs).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn sha256_b64(body: &[u8]) -> String {
        b64(&Sha256::digest(body))
    }

    struct TestKey {
        private: RsaPrivateKey,
        public_pem: String,
    }

    impl TestKey {
        fn generate() -> Self {
            let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
            TestKey {
                private: RsaPrivateKey::from_pkcs8_pem(&pair.private_key).unwrap(),
                public_pem: pair.public_key,
            }
        }

        fn sign(&self, signing_string: &str) -> String {
            let hashed = Sha256::digest(signing_string.as_bytes());
            b64(&self
                .private
                .sign(Pkcs1v15Sign::new::<Sha256>(), &hashed)
                .unwrap())
        }
    }

    // Generated once: RSA key generation is the slow part of these tests.
    static KEY: LazyLock<TestKey> = LazyLock::new(TestKey::generate);
    static OTHER_KEY: LazyLock<TestKey> = LazyLock::new(TestKey::generate);

    /// What the test signer puts in the Signature header.
    #[derive(Clone)]
    struct Params {
        key_id: &'static str,
        algorithm: Option<&'static str>,
        headers: &'static str,
        created: Option<i64>,
        expires: Option<i64>,
        /// Send as `Authorization: Signature …` instead.
        authorization: bool,
    }

    impl Params {
        fn rsa(headers: &'static str) -> Self {
            Params {
                key_id: KEY_ID,
                algorithm: Some("rsa-sha256"),
                headers,
                created: None,
                expires: None,
                authorization: false,
            }
        }
    }

    /// A request under construction: headers kept in order, as sent.
    #[derive(Clone)]
    struct Req {
        method: &'static str,
        path: &'static str,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    }

    impl Req {
        /// An inbox delivery as Mastodon sends it, dated `offset` from now.
        fn post_at(offset: i64) -> Self {
            Req {
                method: "POST",
                path: "/users/bob/inbox",
                headers: vec![],
                body: Some(ACTIVITY.as_bytes().to_vec()),
            }
            .with("host", "hearth.example")
            .with("date", &httpdate::fmt_http_date(at(offset)))
            .with(
                "digest",
                &format!("SHA-256={}", sha256_b64(ACTIVITY.as_bytes())),
            )
            .with("content-type", "application/activity+json")
        }

        fn post() -> Self {
            Self::post_at(0)
        }

        /// A signed fetch (authorized fetch).
        fn get() -> Self {
            Req {
                method: "GET",
                path: "/users/bob/outbox?page=true",
                headers: vec![],
                body: None,
            }
            .with("host", "hearth.example")
            .with("date", &httpdate::fmt_http_date(now()))
            .with("accept", "application/activity+json")
        }

        fn with(mut self, name: &str, value: &str) -> Self {
            self.headers.push((name.to_owned(), value.to_owned()));
            self
        }

        fn without(mut self, name: &str) -> Self {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self
        }

        fn replacing(self, name: &str, value: &str) -> Self {
            self.without(name).with(name, value)
        }

        fn body(mut self, body: &str) -> Self {
            self.body = Some(body.as_bytes().to_vec());
            self
        }

        /// Sign with `key`, building the signing string independently of
        /// the code under test.
        fn signed_by(self, key: &TestKey, p: &Params) -> Self {
            let lines: Vec<String> = p
                .headers
                .split(' ')
                .map(|name| {
                    let value = match name {
                        "(request-target)" => {
                            format!("{} {}", self.method.to_lowercase(), self.path)
                        }
                        "(created)" => p.created.unwrap().to_string(),
                        "(expires)" => p.expires.unwrap().to_string(),
                        _ => self
                            .headers
                            .iter()
                            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.trim())
                            .collect::<Vec<_>>()
                            .join(", "),
                    };
                    format!("{name}: {value}")
                })
                .collect();
            let signature = key.sign(&lines.join("\n"));
            let mut params = vec![format!(r#"keyId="{}""#, p.key_id)];
            if let Some(algorithm) = p.algorithm {
                params.push(format!(r#"algorithm="{algorithm}""#));
            }
            if let Some(created) = p.created {
                params.push(format!("created={created}"));
            }
            if let Some(expires) = p.expires {
                params.push(format!("expires={expires}"));
            }
            params.push(format!(r#"headers="{}""#, p.headers));
            params.push(format!(r#"signature="{signature}""#));
            let value = params.join(",");
            if p.authorization {
                self.with("authorization", &format!("Signature {value}"))
            } else {
                self.with("signature", &value)
            }
        }

        fn signed(self, p: &Params) -> Self {
            self.signed_by(&KEY, p)
        }

        /// Mastodon's inbox delivery headers.
        fn signed_post(self) -> Self {
            self.signed(&Params::rsa(
                "(request-target) host date digest content-type",
            ))
        }

        fn signed_get(self) -> Self {
            self.signed(&Params::rsa("(request-target) host date accept"))
        }

        /// Change one base64 character of the signature.
        fn tampered_signature(mut self) -> Self {
            for (name, value) in &mut self.headers {
                if name == "signature" {
                    let at = value.find(r#"signature=""#).unwrap() + r#"signature=""#.len();
                    let old = value.as_bytes()[at];
                    let new = if old == b'A' { "B" } else { "A" };
                    value.replace_range(at..=at, new);
                }
            }
            self
        }

        fn header_map(&self) -> http::HeaderMap {
            let mut map = http::HeaderMap::new();
            for (name, value) in &self.headers {
                map.append(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            map
        }

        fn view<'a>(&'a self, map: &'a http::HeaderMap) -> SignedRequest<'a> {
            SignedRequest {
                method: self.method,
                path_and_query: self.path,
                headers: map,
                body: self.body.as_deref(),
            }
        }

        /// precheck, then verify: what an inbox handler does.
        fn check_with(
            &self,
            now: SystemTime,
            pem: &str,
        ) -> Result<SignatureHeader, SignatureError> {
            let map = self.header_map();
            let req = self.view(&map);
            let sig = precheck(&req, now, MASTODON_WINDOW)?;
            verify(&req, &sig, pem)?;
            Ok(sig)
        }
    }

    #[test]
    fn verifies_requests_signed_like_activitypub_federation() {
        // activitypub_federation builds its headers with
        // http-signature-normalization: by default with (created) and
        // (expires) and a one-hour expiry, or draft-10 style with Date only
        // when `http_signature_compat` is set. Both must verify, on POST and
        // GET, in the Signature and the Authorization form.
        use http_signature_normalization::Config;
        let expiry = Duration::from_secs(3600);
        let cases = [
            (
                "post, default",
                "POST",
                Config::new().set_expiration(expiry),
                false,
            ),
            (
                "post, compat",
                "POST",
                Config::new().mastodon_compat().set_expiration(expiry),
                false,
            ),
            (
                "get, default",
                "GET",
                Config::new().set_expiration(expiry),
                false,
            ),
            (
                "get, compat",
                "GET",
                Config::new().mastodon_compat().set_expiration(expiry),
                false,
            ),
            (
                "post, authorization",
                "POST",
                Config::new().set_expiration(expiry),
                true,
            ),
        ];
        for (case, method, config, authorization) in cases {
            // The signer takes its (created) from the real clock.
            let now = SystemTime::now();
            let mut headers = BTreeMap::new();
            headers.insert("Host".to_owned(), "hearth.example".to_owned());
            headers.insert("Date".to_owned(), httpdate::fmt_http_date(now));
            let (path, body) = if method == "POST" {
                headers.insert(
                    "Content-Type".to_owned(),
                    "application/activity+json".to_owned(),
                );
                headers.insert(
                    "Digest".to_owned(),
                    format!("SHA-256={}", sha256_b64(ACTIVITY.as_bytes())),
                );
                ("/users/bob/inbox", Some(ACTIVITY.as_bytes().to_vec()))
            } else {
                headers.insert("Accept".to_owned(), "application/activity+json".to_owned());
                ("/users/bob/outbox?page=true", None)
            };
            let signed = config
                .begin_sign(method, path, headers.clone())
                .unwrap()
                .sign(KEY_ID.to_owned(), |s| {
                    Ok::<_, std::convert::Infallible>(KEY.sign(s))
                })
                .unwrap();
            let mut req = Req {
                method,
                path,
                headers: vec![],
                body,
            };
            for (name, value) in headers {
                req = req.with(&name.to_lowercase(), &value);
            }
            let req = if authorization {
                req.with("authorization", &signed.authorization_header())
            } else {
                req.with("signature", &signed.signature_header())
            };
            let sig = req
                .check_with(now, &KEY.public_pem)
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(sig.key_id, KEY_ID, "{case}");
        }
    }

    /// Signed with the openssl command line by a throwaway 2048-bit key, of
    /// which only the public half is kept: an implementation independent of
    /// both this module and the rsa crate.
    const FIXED_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw3gqN1lU4fIzu50sxMpV
jqXayLuYmdm65HdMIivjNzBF0S7wPaWfqXJvjYaapNs5ZFEXAOyItIARVYoeEEFR
BK7n+rKOF5lF8cXz/BdyvIi5RG6BF/R4nmW3mTtWJCBJHaoqyO7ENs61veVYu6z+
5o8R5HFleorwxGOIbnmne1pmRIJH8Om1vu81sFh5OdGWWhD02uIqzCcs9DkB3StZ
i2TKnjE5m0dtoIYojpVD7grJLOS4A+IYGly8RDJAmFjFqH2BAH75SyjbdQ1iazZZ
f0T5eXv34RjbyHBOcLfyehwvSgc8UEnlzdkVlm8ALmiS2n+GkUJaK5PYjKXXLG4r
8QIDAQAB
-----END PUBLIC KEY-----
";
    const FIXED_BODY: &str = r#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://mastodon.example/users/ann#follows/1","type":"Follow","actor":"https://mastodon.example/users/ann","object":"https://hearth.example/users/bob"}"#;

    #[test]
    fn verifies_fixed_mastodon_shaped_vectors() {
        let post = Req {
            method: "POST",
            path: "/users/bob/inbox",
            headers: vec![],
            body: Some(FIXED_BODY.as_bytes().to_vec()),
        }
        .with("host", "hearth.example")
        .with("date", "Tue, 14 Nov 2023 22:13:20 GMT")
        .with("digest", "SHA-256=WjFGlP04noobG7HMZK7VDtcKKwZH/Y5pT4phgB7y2ug=")
        .with("content-type", "application/activity+json")
        .with("signature", concat!(
            r#"keyId="https://mastodon.example/users/ann#main-key",algorithm="rsa-sha256","#,
            r#"headers="(request-target) host date digest content-type","#,
            r#"signature="PLUhW0b8Li7JzW1uCsfv+zdCxVR9LqRp8f0g6jiwztNazLrfZ6raNzVL9vZt49fsf2VmmvYiY6nMpBW/R5UfOVG/1rhhsr6OmiMj5r+H4ZJUaJcsvO97IIZpav4Smex0c3lJP9m5FaD3fC7aKjVjv0TLmd8AG3eu1lNL65XZEFFoxtoG5oEzJ8K7TlDtA6JyfFINzZyCxYwyxTGlcbPhnOjTh9zDSOvenQzmgDl01CAzDmrzgd6M2ucqO+LjuURlrjrbzaL3XT5NRJaJMsJsyVxSAdVtn/yGDEwsoWKCISJDO9VoB8FBEqtXPq62xK98vdL/YAO5ucTgrENuOWd/aQ==""#,
        ));
        let get = Req {
            method: "GET",
            path: "/users/bob/outbox?page=true",
            headers: vec![],
            body: None,
        }
        .with("host", "hearth.example")
        .with("date", "Tue, 14 Nov 2023 22:13:20 GMT")
        .with("accept", "application/activity+json")
        .with("signature", concat!(
            r#"keyId="https://mastodon.example/users/ann#main-key",algorithm="rsa-sha256","#,
            r#"headers="(request-target) host date accept","#,
            r#"signature="rUNd7hY9BWloe/KXftIq5t0R0equl2Eti+ofPiKdGekYkELyROzEdK8spz8Zv2t3wuctT8Y0bjoX7HI0U8Si0YLYGlpt8vv9OTiUqw8cCU3rbjbEoXnRX2Bk9RidJ4+LCXIrSfJj1YgVaoZ3UQoGlIgj5JbYHrPrdACDJ7/6GhOJEzZELfXTHlC/pQDwpTcAdQjMhdPcKgQ+W4OGen/T4hntGVSsqyAMfN8Y0m3a28efimKQ1Ijz0kQnJIMdQ3uYS3VrR7L7rUBdavF0VaoeTSN8FuobOeiF3QJia3QG8gj+9S1wTW8xPHla2CNh2+CvtS4sd4fgwrJxupZ128/wfA==""#,
        ));
        let cases = [
            (
                "post",
                &post,
                "(request-target): post /users/bob/inbox\n\
                 host: hearth.example\n\
                 date: Tue, 14 Nov 2023 22:13:20 GMT\n\
                 digest: SHA-256=WjFGlP04noobG7HMZK7VDtcKKwZH/Y5pT4phgB7y2ug=\n\
                 content-type: application/activity+json",
            ),
            (
                "get",
                &get,
                "(request-target): get /users/bob/outbox?page=true\n\
                 host: hearth.example\n\
                 date: Tue, 14 Nov 2023 22:13:20 GMT\n\
                 accept: application/activity+json",
            ),
        ];
        for (case, req, expected_signing_string) in cases {
            let map = req.header_map();
            let view = req.view(&map);
            let sig = precheck(&view, now(), MASTODON_WINDOW).unwrap();
            assert_eq!(
                signing_string(&view, &sig).unwrap(),
                expected_signing_string,
                "{case}"
            );
            assert_eq!(verify(&view, &sig, FIXED_PUBLIC_KEY), Ok(()), "{case}");
            assert_eq!(
                verify(&view, &sig, &KEY.public_pem),
                Err(SignatureError::InvalidSignature),
                "{case}: another key"
            );
        }
    }

    /// The test key of draft-cavage-http-signatures-12 appendix C.
    const DRAFT_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----";
    /// The same key in PKCS#1 form.
    const DRAFT_PUBLIC_KEY_PKCS1: &str = "-----BEGIN RSA PUBLIC KEY-----
MIGJAoGBAMIUQ0bDffIaKHL3akONlCGXQLfqs8mP4K99ILz6rbyHEDXrVAU1R3Xf
C4JNRyrRB3aqwF7/aEXJzYMIkmDSHUvvz7pnhQxHsQ5yl91QT0d/eb+Gz4VRHjm4
El4MrUdIUcPxscoPqS/wU8Z8lOi1z7bGMnChiL7WGqnV8h6RrGzJAgMBAAE=
-----END RSA PUBLIC KEY-----";

    #[test]
    fn verifies_draft_cavage_appendix_c2_vector_with_spki_and_pkcs1_keys() {
        let req = Req {
            method: "POST",
            path: "/foo?param=value&pet=dog",
            headers: vec![],
            body: Some(br#"{"hello": "world"}"#.to_vec()),
        }
        .with("host", "example.com")
        .with("date", "Sun, 05 Jan 2014 21:31:40 GMT")
        .with("content-type", "application/json")
        .with("digest", "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")
        .with("content-length", "18")
        .with("signature", concat!(
            r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date","#,
            r#"signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=""#,
        ));
        let map = req.header_map();
        let view = req.view(&map);
        let sig = parse_signature_header(map["signature"].to_str().unwrap()).unwrap();
        for pem in [DRAFT_PUBLIC_KEY, DRAFT_PUBLIC_KEY_PKCS1] {
            assert_eq!(verify(&view, &sig, pem), Ok(()));
        }
        // A valid signature, but not one an inbox may accept: the body is
        // not signed.
        let then = httpdate::parse_http_date("Sun, 05 Jan 2014 21:31:40 GMT").unwrap();
        assert_eq!(
            precheck(&view, then, MASTODON_WINDOW),
            Err(SignatureError::NotCovered("digest"))
        );
    }

    #[test]
    fn accepts_what_peers_send() {
        let with_created = |algorithm: Option<&'static str>| Params {
            algorithm,
            created: Some(NOW_SECS as i64 - 10),
            expires: Some(NOW_SECS as i64 + 3590),
            ..Params::rsa("(request-target) (created) (expires) host digest")
        };
        let mastodon = Params::rsa("(request-target) host date digest content-type");
        let other_digests = format!(
            "MD5=XrY7u+Ae7tCTyyK7j1rNww==, sha-512=abc, sha-256={}",
            sha256_b64(ACTIVITY.as_bytes())
        );
        let content_digest = format!("sha-256=:{}:", sha256_b64(ACTIVITY.as_bytes()));
        let pkcs1_pem = KEY
            .private
            .to_public_key()
            .to_pkcs1_pem(Default::default())
            .unwrap();
        let crlf_pem = KEY.public_pem.replace('\n', "\r\n");
        let cases: Vec<(&str, Req, &str)> = vec![
            ("mastodon post", Req::post().signed_post(), &KEY.public_pem),
            (
                "signed get with query",
                Req::get().signed_get(),
                &KEY.public_pem,
            ),
            (
                "hs2019",
                Req::post().signed(&Params {
                    algorithm: Some("hs2019"),
                    ..mastodon.clone()
                }),
                &KEY.public_pem,
            ),
            (
                "algorithm in upper case",
                Req::post().signed(&Params {
                    algorithm: Some("RSA-SHA256"),
                    ..mastodon.clone()
                }),
                &KEY.public_pem,
            ),
            (
                "no algorithm",
                Req::post().signed(&Params {
                    algorithm: None,
                    ..mastodon.clone()
                }),
                &KEY.public_pem,
            ),
            (
                "authorization form",
                Req::post().signed(&Params {
                    authorization: true,
                    ..mastodon.clone()
                }),
                &KEY.public_pem,
            ),
            (
                "authorization form beside a bearer token",
                Req::post()
                    .with("authorization", "Bearer abc")
                    .signed(&Params {
                        authorization: true,
                        ..mastodon.clone()
                    }),
                &KEY.public_pem,
            ),
            (
                "date 30 minutes ahead",
                Req::post_at(1800).signed_post(),
                &KEY.public_pem,
            ),
            (
                "date 1 hour ahead",
                Req::post_at(3600).signed_post(),
                &KEY.public_pem,
            ),
            (
                "date 65 minutes old",
                Req::post_at(-3900).signed_post(),
                &KEY.public_pem,
            ),
            (
                "(created) and (expires) without date, hs2019",
                Req::post().signed(&with_created(Some("hs2019"))),
                &KEY.public_pem,
            ),
            (
                "(created) and (expires) without algorithm",
                Req::post().signed(&with_created(None)),
                &KEY.public_pem,
            ),
            (
                "several digest algorithms",
                Req::post()
                    .replacing("digest", &other_digests)
                    .signed_post(),
                &KEY.public_pem,
            ),
            (
                "content-digest instead of digest",
                Req::post()
                    .without("digest")
                    .with("content-digest", &content_digest)
                    .signed(&Params::rsa("(request-target) host date content-digest")),
                &KEY.public_pem,
            ),
            (
                "repeated header joined",
                Req::get()
                    .with("accept", " application/ld+json ")
                    .signed_get(),
                &KEY.public_pem,
            ),
            (
                "method in lower case",
                Req {
                    method: "post",
                    ..Req::post()
                }
                .signed_post(),
                &KEY.public_pem,
            ),
            ("pkcs#1 public key", Req::post().signed_post(), &pkcs1_pem),
            ("crlf pem", Req::post().signed_post(), &crlf_pem),
        ];
        for (case, req, pem) in cases {
            if let Err(e) = req.check_with(now(), pem) {
                panic!("{case}: {e}");
            }
        }
    }

    #[test]
    fn rejects_bad_signatures() {
        use SignatureError as E;
        let mastodon = Params::rsa("(request-target) host date digest content-type");
        let stale = NOW_SECS as i64 - 2 * 3600;
        let cases: Vec<(&str, Req, &str, SignatureError)> = vec![
            (
                "tampered body",
                Req::post().signed_post().body(r#"{"type":"Delete"}"#),
                &KEY.public_pem,
                E::DigestMismatch("digest"),
            ),
            (
                "tampered body with matching unsigned digest",
                Req::post()
                    .signed(&Params::rsa("(request-target) host date content-digest"))
                    .body("{}")
                    .with("content-digest", &format!("sha-256=:{}:", sha256_b64(b"{}"))),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "tampered signature",
                Req::post().signed_post().tampered_signature(),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            ("wrong key", Req::post().signed_post(), &OTHER_KEY.public_pem, E::InvalidSignature),
            (
                "signed by another key",
                Req::post().signed_by(&OTHER_KEY, &mastodon),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "date changed after signing",
                Req::post()
                    .signed_post()
                    .replacing("date", &httpdate::fmt_http_date(at(60))),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "replayed to another path",
                Req { path: "/inbox", ..Req::post().signed_post() },
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "query dropped",
                Req { path: "/users/bob/outbox", ..Req::get().signed_get() },
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "post without digest covered",
                Req::post().signed(&Params::rsa("(request-target) host date content-type")),
                &KEY.public_pem,
                E::NotCovered("digest"),
            ),
            (
                "host not covered",
                Req::get().signed(&Params::rsa("(request-target) date accept")),
                &KEY.public_pem,
                E::NotCovered("host"),
            ),
            (
                "request target not covered",
                Req::post().signed(&Params::rsa("host date digest")),
                &KEY.public_pem,
                E::NotCovered("(request-target)"),
            ),
            (
                "neither date nor created covered",
                Req::post().signed(&Params::rsa("(request-target) host digest")),
                &KEY.public_pem,
                E::NotCovered("date or (created)"),
            ),
            (
                "date 2 hours old",
                Req::post_at(-7200).signed_post(),
                &KEY.public_pem,
                E::DateTooOld(Duration::from_secs(7200)),
            ),
            (
                "date 2 hours ahead",
                Req::post_at(7200).signed_post(),
                &KEY.public_pem,
                E::DateInFuture(Duration::from_secs(7200)),
            ),
            (
                "date just over an hour ahead",
                Req::post_at(3601).signed_post(),
                &KEY.public_pem,
                E::DateInFuture(Duration::from_secs(3601)),
            ),
            (
                "date just over 65 minutes old",
                Req::post_at(-3901).signed_post(),
                &KEY.public_pem,
                E::DateTooOld(Duration::from_secs(3901)),
            ),
            (
                "date not an http date",
                Req::post().replacing("date", "yesterday").signed_post(),
                &KEY.public_pem,
                E::InvalidDate,
            ),
            (
                "hmac-sha256",
                Req::post().signed(&Params { algorithm: Some("hmac-sha256"), ..mastodon.clone() }),
                &KEY.public_pem,
                E::UnsupportedAlgorithm("hmac-sha256".to_owned()),
            ),
            (
                "no signature header",
                Req::post(),
                &KEY.public_pem,
                E::Missing,
            ),
            (
                "only a bearer token",
                Req::post().with("authorization", "Bearer abc"),
                &KEY.public_pem,
                E::Missing,
            ),
            (
                "two signature headers",
                Req::post().signed_post().signed_post(),
                &KEY.public_pem,
                E::Malformed("more than one signature header".to_owned()),
            ),
            (
                "rfc 9421 signature",
                Req::post()
                    .with("signature-input", r#"sig1=("@method");created=1700000000"#)
                    .with("signature", "sig1=:AAAA:"),
                &KEY.public_pem,
                E::MessageSignatureUnsupported,
            ),
            (
                "(created) with rsa-sha256",
                Req::post().signed(&Params {
                    created: Some(NOW_SECS as i64),
                    ..Params::rsa("(request-target) (created) host digest")
                }),
                &KEY.public_pem,
                E::PseudoHeaderNotAllowed("(created)", "rsa-sha256".to_owned()),
            ),
            (
                "created 2 hours old",
                Req::post().signed(&Params {
                    algorithm: Some("hs2019"),
                    created: Some(stale),
                    ..Params::rsa("(request-target) (created) host digest")
                }),
                &KEY.public_pem,
                E::CreatedTooOld(Duration::from_secs(7200)),
            ),
            (
                "created 2 hours ahead",
                Req::post().signed(&Params {
                    algorithm: Some("hs2019"),
                    created: Some(NOW_SECS as i64 + 7200),
                    ..Params::rsa("(request-target) (created) host digest")
                }),
                &KEY.public_pem,
                E::CreatedInFuture(Duration::from_secs(7200)),
            ),
            (
                "expired more than the skew ago",
                Req::post().signed(&Params {
                    algorithm: Some("hs2019"),
                    created: Some(NOW_SECS as i64 - 3800),
                    expires: Some(NOW_SECS as i64 - 3700),
                    ..Params::rsa("(request-target) (created) (expires) host digest")
                }),
                &KEY.public_pem,
                E::Expired(Duration::from_secs(3700)),
            ),
            (
                "(created) covered but no created parameter",
                Req::post().signed(&Params {
                    algorithm: Some("hs2019"),
                    ..Params::rsa("(request-target) host date digest")
                })
                .replacing(
                    "signature",
                    r#"keyId="k",algorithm="hs2019",headers="(request-target) (created) host digest",signature="AAAA""#,
                ),
                &KEY.public_pem,
                E::MissingParameter("created"),
            ),
            (
                "covered header missing from the request",
                Req::post().signed_post().without("content-type"),
                &KEY.public_pem,
                E::MissingHeader("content-type".to_owned()),
            ),
            (
                "digest covered but missing",
                Req::post().signed_post().without("digest"),
                &KEY.public_pem,
                E::MissingHeader("digest".to_owned()),
            ),
            (
                "digest without sha-256",
                Req::post()
                    .replacing("digest", "SHA-512=abc")
                    .signed_post(),
                &KEY.public_pem,
                E::DigestAlgorithmMissing("digest"),
            ),
            (
                "digest not base64",
                Req::post().replacing("digest", "SHA-256=%%%").signed_post(),
                &KEY.public_pem,
                E::DigestMalformed("digest"),
            ),
            (
                "digest of the wrong length",
                Req::post().replacing("digest", "SHA-256=AAAA").signed_post(),
                &KEY.public_pem,
                E::DigestMalformed("digest"),
            ),
            (
                "content-digest mismatch",
                Req::post()
                    .with("content-digest", &format!("sha-256=:{}:", sha256_b64(b"{}")))
                    .signed(&Params::rsa("(request-target) host date content-digest")),
                &KEY.public_pem,
                E::DigestMismatch("content-digest"),
            ),
            (
                "garbled signature header",
                Req::post().with("signature", r#"keyId="a,"#),
                &KEY.public_pem,
                E::Malformed("parameter keyId has an unterminated quoted value".to_owned()),
            ),
            (
                "not a pem key",
                Req::post().signed_post(),
                "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----",
                E::InvalidPublicKey,
            ),
        ];
        for (case, req, pem, expected) in cases {
            assert_eq!(req.check_with(now(), pem), Err(expected), "{case}");
        }
    }

    #[test]
    fn parses_signature_headers() {
        use SignatureError as E;
        let header = |key_id: &str, algorithm: Option<&str>, headers: &[&str], signature: &[u8]| {
            SignatureHeader {
                key_id: key_id.to_owned(),
                algorithm: algorithm.map(str::to_owned),
                headers: headers.iter().map(|h| (*h).to_owned()).collect(),
                signature: signature.to_vec(),
                created: None,
                expires: None,
            }
        };
        let cases: Vec<(&str, &str, Result<SignatureHeader, SignatureError>)> = vec![
            (
                "quoted values with commas and =",
                r#"keyId="https://a.example/u?x=1,2#k",algorithm="rsa-sha256",headers="(request-target) host date",signature="aGk=""#,
                Ok(header(
                    "https://a.example/u?x=1,2#k",
                    Some("rsa-sha256"),
                    &["(request-target)", "host", "date"],
                    b"hi",
                )),
            ),
            (
                "whitespace around commas and equals signs",
                " keyId = \"k\" ,\talgorithm=\"hs2019\" , headers=\"Host  Date\",signature=\"aGk=\" ",
                Ok(header("k", Some("hs2019"), &["host", "date"], b"hi")),
            ),
            (
                "unknown parameters ignored",
                r#"keyId="k",foo="bar, baz",headers="date",qux=1,signature="aGk=""#,
                Ok(header("k", None, &["date"], b"hi")),
            ),
            (
                "parameter names in any case",
                r#"KEYID="k",Headers="date",SIGNATURE="aGk=""#,
                Ok(header("k", None, &["date"], b"hi")),
            ),
            (
                "escaped quote",
                r#"keyId="a\"b\\c",headers="date",signature="aGk=""#,
                Ok(header(r#"a"b\c"#, None, &["date"], b"hi")),
            ),
            (
                "unpadded base64",
                r#"keyId="k",headers="date",signature="aGk""#,
                Ok(header("k", None, &["date"], b"hi")),
            ),
            (
                "bare values",
                r#"keyId=k,algorithm=hs2019,created=1402170695,expires=1402170699,headers="(created) (expires)",signature=aGk="#,
                Ok(SignatureHeader {
                    created: Some(1_402_170_695),
                    expires: Some(1_402_170_699),
                    ..header("k", Some("hs2019"), &["(created)", "(expires)"], b"hi")
                }),
            ),
            (
                "default headers for rsa-sha256",
                r#"keyId="k",algorithm="rsa-sha256",signature="aGk=""#,
                Ok(header("k", Some("rsa-sha256"), &["date"], b"hi")),
            ),
            (
                "default headers for hs2019",
                r#"keyId="k",algorithm="hs2019",signature="aGk=""#,
                Ok(header("k", Some("hs2019"), &["(created)"], b"hi")),
            ),
            (
                "default headers without algorithm",
                r#"keyId="k",signature="aGk=""#,
                Ok(header("k", None, &["(created)"], b"hi")),
            ),
            (
                "duplicate parameter",
                r#"keyId="a",keyId="b",signature="aGk=""#,
                Err(E::DuplicateParameter("keyId".to_owned())),
            ),
            (
                "duplicate parameter in another case",
                r#"keyId="a",signature="aGk=",keyid="b""#,
                Err(E::DuplicateParameter("keyid".to_owned())),
            ),
            (
                "no keyId",
                r#"signature="aGk=""#,
                Err(E::MissingParameter("keyId")),
            ),
            (
                "empty keyId",
                r#"keyId="",signature="aGk=""#,
                Err(E::MissingParameter("keyId")),
            ),
            (
                "no signature",
                r#"keyId="k""#,
                Err(E::MissingParameter("signature")),
            ),
            (
                "empty header list",
                r#"keyId="k",headers=" ",signature="aGk=""#,
                Err(E::EmptyHeaderList),
            ),
            ("empty header", "", Err(E::MissingParameter("keyId"))),
            (
                "unterminated quote",
                r#"keyId="a,"#,
                Err(E::Malformed(
                    "parameter keyId has an unterminated quoted value".to_owned(),
                )),
            ),
            (
                "trailing backslash",
                r#"keyId="a\"#,
                Err(E::Malformed(
                    "parameter keyId has an unterminated quoted value".to_owned(),
                )),
            ),
            (
                "no equals sign",
                r#"keyId "k""#,
                Err(E::Malformed("parameter keyId has no value".to_owned())),
            ),
            (
                "empty bare value",
                "keyId=,signature=aGk=",
                Err(E::Malformed(
                    "parameter keyId has an empty value".to_owned(),
                )),
            ),
            (
                "no comma between parameters",
                r#"keyId="k" signature="aGk=""#,
                Err(E::Malformed(
                    "expected a comma after parameter keyId".to_owned(),
                )),
            ),
            (
                "name missing",
                r#"="k""#,
                Err(E::Malformed(
                    "expected a parameter name at byte 0".to_owned(),
                )),
            ),
            (
                "signature not base64",
                r#"keyId="k",signature="***""#,
                Err(E::Malformed("signature is not base64".to_owned())),
            ),
            (
                "created not an integer",
                r#"keyId="k",created="soon",signature="aGk=""#,
                Err(E::Malformed("created is not an integer".to_owned())),
            ),
        ];
        for (case, input, expected) in cases {
            assert_eq!(parse_signature_header(input), expected, "{case}");
        }
    }

    #[test]
    fn builds_signing_strings_per_draft_cavage_section_2_3() {
        let req = Req {
            method: "POST",
            path: "/u/ann?x=1&y=%20",
            headers: vec![],
            body: None,
        }
        .with("host", "hearth.example")
        .with("x-multi", "  one ")
        .with("x-multi", "two\t")
        .with("x-empty", "")
        .with("Content-Type", "application/activity+json");
        let sig = SignatureHeader {
            key_id: "k".to_owned(),
            algorithm: Some("hs2019".to_owned()),
            headers: [
                "(request-target)",
                "(created)",
                "(expires)",
                "host",
                "x-multi",
                "x-empty",
                "content-type",
            ]
            .map(str::to_owned)
            .to_vec(),
            signature: vec![],
            created: Some(1_402_170_695),
            expires: Some(1_402_170_699),
        };
        let map = req.header_map();
        assert_eq!(
            signing_string(&req.view(&map), &sig).unwrap(),
            "(request-target): post /u/ann?x=1&y=%20\n\
             (created): 1402170695\n\
             (expires): 1402170699\n\
             host: hearth.example\n\
             x-multi: one, two\n\
             x-empty: \n\
             content-type: application/activity+json"
        );

        let cases = [
            (
                "missing header",
                &["(request-target)", "date"][..],
                SignatureError::MissingHeader("date".to_owned()),
            ),
            (
                "unknown pseudo-header",
                &["(method)"][..],
                SignatureError::UnknownPseudoHeader("(method)".to_owned()),
            ),
            (
                "not a header name",
                &["bad name"][..],
                SignatureError::MissingHeader("bad name".to_owned()),
            ),
        ];
        for (case, headers, expected) in cases {
            let sig = SignatureHeader {
                headers: headers.iter().map(|h| (*h).to_owned()).collect(),
                ..sig.clone()
            };
            assert_eq!(
                signing_string(&req.view(&map), &sig),
                Err(expected),
                "{case}"
            );
        }
        let no_created = SignatureHeader {
            created: None,
            ..sig.clone()
        };
        assert_eq!(
            signing_string(&req.view(&map), &no_created),
            Err(SignatureError::MissingParameter("created"))
        );
    }

    #[test]
    fn strips_key_id_fragments() {
        let cases = [
            (
                "https://mastodon.example/users/ann#main-key",
                Some("https://mastodon.example/users/ann"),
            ),
            (
                "https://lemmy.example/u/ann#main-key",
                Some("https://lemmy.example/u/ann"),
            ),
            (
                "https://gts.example/users/ann/main-key",
                Some("https://gts.example/users/ann/main-key"),
            ),
            (
                "http://localhost:8080/ap/actor?x=1#key",
                Some("http://localhost:8080/ap/actor?x=1"),
            ),
            ("acct:ann@mastodon.example", None),
            ("ftp://files.example/key#k", None),
            ("main-key", None),
            ("", None),
        ];
        for (key_id, expected) in cases {
            assert_eq!(
                key_id_without_fragment(key_id)
                    .as_ref()
                    .map(url::Url::as_str),
                expected,
                "{key_id}"
            );
        }
    }

    #[test]
    fn maps_errors_to_statuses() {
        let cases = [
            (SignatureError::Malformed("x".to_owned()), 400),
            (SignatureError::Missing, 401),
            (SignatureError::MissingParameter("keyId"), 401),
            (SignatureError::DuplicateParameter("keyId".to_owned()), 401),
            (
                SignatureError::UnsupportedAlgorithm("hmac-sha256".to_owned()),
                401,
            ),
            (SignatureError::NotCovered("digest"), 401),
            (SignatureError::DigestMismatch("digest"), 401),
            (SignatureError::DateInFuture(Duration::from_secs(7200)), 401),
            (SignatureError::InvalidPublicKey, 401),
            (SignatureError::InvalidSignature, 401),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error}");
        }
    }

    #[test]
    fn words_errors_as_lower_case_fragments() {
        let cases = [
            (
                SignatureError::DateInFuture(Duration::from_secs(7500)),
                "date header is 2h 5m in the future",
            ),
            (
                SignatureError::DateTooOld(Duration::from_secs(3901)),
                "date header is 1h 5m old",
            ),
            (
                SignatureError::CreatedTooOld(Duration::from_secs(90)),
                "signature created time is 1m 30s old",
            ),
            (
                SignatureError::Expired(Duration::from_secs(2 * 86_400 + 3600)),
                "signature expired 2d 1h ago",
            ),
            (
                SignatureError::DateInFuture(Duration::from_secs(3600)),
                "date header is 1h in the future",
            ),
            (
                SignatureError::DateInFuture(Duration::from_millis(500)),
                "date header is 0s in the future",
            ),
            (
                SignatureError::Expired(Duration::MAX),
                "signature expired 213503982334601d 7h ago",
            ),
            (
                SignatureError::UnsupportedAlgorithm("hmac-sha256".to_owned()),
                r#"signature algorithm "hmac-sha256" is not supported"#,
            ),
            (
                SignatureError::NotCovered("digest"),
                "signature does not cover digest",
            ),
            (
                SignatureError::DigestMismatch("digest"),
                "digest header does not match the body",
            ),
            (SignatureError::Missing, "request has no signature header"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
            assert!(
                message.starts_with(|c: char| c.is_ascii_lowercase()),
                "{message}"
            );
        }
    }

    /// Garbage must come back as an error, never a panic: 200 strings built
    /// from the header's own syntax and arbitrary bytes, and 200 random
    /// edits of a valid signed request, run through every public function.
    #[test]
    fn garbage_never_panics() {
        let mut rng = StdRng::seed_from_u64(0x4845_4152_5448);
        let vocabulary: [&[u8]; 20] = [
            b"keyId",
            b"signature",
            b"headers",
            b"algorithm",
            b"created",
            b"expires",
            b"=",
            b"\"",
            b",",
            b" ",
            b"\\",
            b"(request-target)",
            b"(created)",
            b"hs2019",
            b"rsa-sha256",
            b"aGk=",
            b"-1",
            b"99999999999999999999",
            b"\t",
            b"(",
        ];
        let valid = Req::post().signed(&Params {
            algorithm: Some("hs2019"),
            created: Some(NOW_SECS as i64),
            expires: Some(NOW_SECS as i64 + 60),
            ..Params::rsa("(request-target) (created) (expires) host date digest")
        });
        let valid_signature = valid.header_map()["signature"].as_bytes().to_vec();
        let base = valid.without("signature");

        for round in 0..400 {
            let raw: Vec<u8> = if round < 200 {
                (0..rng.gen_range(0..40))
                    .flat_map(|_| {
                        if rng.gen_bool(0.8) {
                            vocabulary[rng.gen_range(0..vocabulary.len())].to_vec()
                        } else {
                            vec![rng.r#gen::<u8>()]
                        }
                    })
                    .collect()
            } else {
                let mut raw = valid_signature.clone();
                for _ in 0..rng.gen_range(1..6) {
                    let at = rng.gen_range(0..=raw.len());
                    match rng.gen_range(0..3) {
                        0 if at < raw.len() => {
                            raw.remove(at);
                        }
                        1 if at < raw.len() => raw[at] = rng.r#gen(),
                        _ => raw.insert(at, vocabulary[rng.gen_range(0..vocabulary.len())][0]),
                    }
                }
                raw
            };

            let _ = parse_signature_header(&String::from_utf8_lossy(&raw));
            let Ok(value) = HeaderValue::from_bytes(&raw) else {
                continue;
            };
            let mut map = base.header_map();
            map.insert("signature", value.clone());
            if round % 3 == 0 {
                map.insert("date", value.clone());
                map.insert("digest", value.clone());
            }
            let req = base.view(&map);
            let _ = precheck(&req, now(), MASTODON_WINDOW);
            let _ = precheck(&req, UNIX_EPOCH, MASTODON_WINDOW);
            if let Ok(sig) = parse_signature_header(&String::from_utf8_lossy(&raw)) {
                let _ = signing_string(&req, &sig);
                let _ = verify(&req, &sig, &KEY.public_pem);
                let _ = verify(&req, &sig, &String::from_utf8_lossy(&raw));
            }
            let _ = key_id_without_fragment(&String::from_utf8_lossy(&raw));
        }
    }

    #[test]
    fn a_signature_for_another_host_is_refused() {
        let request = |headers: &http::HeaderMap, authority: &str, port: u16| {
            check_host(
                &SignedRequest {
                    method: "GET",
                    path_and_query: "/p/1",
                    headers,
                    body: None,
                },
                authority,
                port,
            )
        };
        let mut headers = http::HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("Hearth.Example:443"));
        assert_eq!(request(&headers, "hearth.example", 443), Ok(()));
        assert_eq!(
            request(&headers, "evil.example", 443),
            Err(SignatureError::WrongHost("Hearth.Example:443".into()))
        );
        headers.insert("host", http::HeaderValue::from_static("localhost:8081"));
        assert_eq!(request(&headers, "localhost:8081", 80), Ok(()));
        assert!(request(&headers, "localhost:8082", 80).is_err());
        assert!(matches!(
            request(&http::HeaderMap::new(), "localhost:8081", 80),
            Err(SignatureError::MissingHeader(_))
        ));
    }
}

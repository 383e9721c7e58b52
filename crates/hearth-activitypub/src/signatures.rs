//! Verification of inbound HTTP signatures on both inbox POSTs and signed
//! GETs (authorized fetch), in the two schemes peers sign with:
//! draft-cavage HTTP Signatures (a `Signature` header, or `Authorization:
//! Signature …`; what Mastodon, Lemmy, GoToSocial and Fedify send) and RFC
//! 9421 HTTP Message Signatures (`Signature-Input` + `Signature`, RFC 8941
//! structured-field dictionaries; what Mastodon 4.5 and Fedify can send).
//! Parsing, the cheap checks that come before any key is fetched, and the
//! RSA check once the caller has the key. Pure functions: no I/O, the caller
//! fetches the public key. Hearth itself signs with draft-cavage only.
//!
//! It exists because activitypub_federation's axum integration verifies only
//! draft-cavage POSTs, checks only that `Date` is not too old (never that it
//! is not in the future), and fetches the signing actor before doing any
//! cheap check, so a request with a stale or unsigned `Date` still costs an
//! outbound fetch.
//!
//! Use it in this order, whatever the scheme ([`Signature`] holds either):
//! 1. [`precheck`] the request (headers present and well formed, algorithm,
//!    covered headers or components, `Date`/`created`/`expires` window,
//!    body digest);
//! 2. fetch the key named by [`Signature::key_id`] (see
//!    [`key_id_without_fragment`]) and check the fetched `publicKey.id`
//!    equals the key id;
//! 3. [`verify`] the signature with the key's PEM;
//! 4. check that the key's owner is the activity's actor, and with
//!    [`check_host`] that the signed `Host` (draft-cavage) or authority (RFC
//!    9421's `@authority`/`@target-uri`, derived from the same `Host`) is
//!    ours: a valid signature alone proves neither.
//!
//! RFC 9421, as this module takes it:
//! - the first label of `Signature-Input` is the one verified, and
//!   `Signature` must hold the same label: a party that adds a signature
//!   (a proxy, §4.3) appends it after the sender's, and trying every label
//!   would cost one key fetch per label, which a sender could multiply;
//! - it must cover `@method`, the target (`@target-uri`, `@request-target`,
//!   or `@path` with `@query` when there is a query), the authority
//!   (`@target-uri`, `@authority` or `host`) and, for a POST,
//!   `content-digest`, whole or by its `sha-256`/`sha-512` member (RFC
//!   9530, `sha-256` and `sha-512` checked against the body); `created`
//!   and `keyid` are required, `expires` is honoured;
//!   `nonce` and `tag` are signed but not used (a repeated delivery is
//!   recognised by its activity id);
//! - algorithms: `rsa-v1_5-sha256` and `rsa-pss-sha512`; without `alg` the
//!   key decides, and since fediverse keys are RSA PEMs without a stated
//!   scheme, either RSA scheme is accepted. Ed25519 and ECDSA keys are not
//!   published as `publicKeyPem`, so they are refused;
//! - covered components: `@method`, `@target-uri`, `@authority`, `@scheme`,
//!   `@request-target`, `@path`, `@query`, and header fields, plain, with
//!   `bs`, or with `sf`/`key` for the dictionary fields this module knows
//!   (`content-digest`, `repr-digest`, `signature`, `signature-input`,
//!   `accept-signature`). `@query-param`, `req`, `tr` and anything else are
//!   refused.
//!
//! Errors map to HTTP statuses with [`SignatureError::status`]: 400 when a
//! signature header cannot be parsed at all, 401 for every other failure.
//!
//! Section numbers below are those of draft-cavage-http-signatures-12
//! unless they name RFC 9421 (HTTP Message Signatures), RFC 8941
//! (Structured Field Values) or RFC 9530 (Digest Fields).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, RSA_PSS_2048_8192_SHA512,
    RsaParameters,
};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hearth_app::keys::{PUBLIC_KEY_LABEL, RSA_PUBLIC_KEY_LABEL, decode_pem};
use sha2::{Digest as _, Sha256, Sha512};

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
    /// "https", or "http" in test mode: how this server is reached (behind
    /// a TLS proxy, https), for RFC 9421's `@scheme` and `@target-uri`.
    pub scheme: &'a str,
    /// The request target exactly as received, query included, not decoded
    /// or normalised: e.g. "/inbox" or "/u/ann?x=1".
    pub path_and_query: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The raw body, for the digest check. `Some` for POST; `None` is checked
    /// as an empty body.
    pub body: Option<&'a [u8]>,
}

/// A signature that passed [`precheck`], in either scheme: what the caller
/// needs to fetch the key, and what [`verify`] checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// draft-cavage: a `Signature` or `Authorization: Signature` header.
    Cavage(SignatureHeader),
    /// RFC 9421: `Signature-Input` and `Signature` headers.
    Message(MessageSignature),
}

impl Signature {
    /// The key that signed: draft-cavage's `keyId`, RFC 9421's `keyid`.
    pub fn key_id(&self) -> &str {
        match self {
            Signature::Cavage(sig) => &sig.key_id,
            Signature::Message(sig) => &sig.key_id,
        }
    }
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

/// One RFC 9421 signature: the first member of `Signature-Input` and the
/// member of `Signature` with the same label (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The dictionary key both headers name it by, e.g. `sig1`.
    pub label: String,
    /// The `keyid` parameter.
    pub key_id: String,
    /// The `alg` parameter, if sent.
    pub algorithm: Option<String>,
    /// The `created` parameter, Unix seconds.
    pub created: Option<i64>,
    /// The `expires` parameter, Unix seconds.
    pub expires: Option<i64>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The covered components, in signing order, with their parameters.
    components: Vec<sf::Item>,
    /// Every parameter of the inner list, in order, for `@signature-params`.
    params: sf::Parameters,
}

impl MessageSignature {
    /// The covered component identifiers as serialised in the signature
    /// base, e.g. `"@method"` or `"content-digest";sf`.
    pub fn covered(&self) -> Vec<String> {
        self.components.iter().map(sf::serialize_item).collect()
    }

    /// The inner list of `Signature-Input` this signature was read from,
    /// serialised again with its parameters in the order received: the
    /// value of the `@signature-params` line of the signature base (RFC
    /// 9421 §2.3).
    pub fn signature_params(&self) -> String {
        sf::serialize_inner_list(&self.components, &self.params)
    }

    /// Whether the body's digest is signed: `content-digest` covered whole
    /// (plain, or re-serialised with `sf`), or its `sha-256` or `sha-512`
    /// member with `key` (RFC 9421 §2.1.1, §2.1.2). A member of another
    /// algorithm is not checked against the body, so it proves nothing.
    fn covers_content_digest(&self) -> bool {
        self.components.iter().any(|c| {
            matches!(&c.bare, sf::BareItem::String(n) if n == CONTENT_DIGEST)
                && c.params.iter().all(|(k, v)| match (k.as_str(), v) {
                    ("sf", sf::BareItem::Boolean(true)) => true,
                    ("key", sf::BareItem::String(alg)) => alg == "sha-256" || alg == "sha-512",
                    _ => false,
                })
        })
    }

    /// Whether `name` is covered as a bare identifier (no parameters).
    fn covers(&self, name: &str) -> bool {
        self.components
            .iter()
            .any(|c| c.params.is_empty() && matches!(&c.bare, sf::BareItem::String(n) if n == name))
    }
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
    /// The header could not be parsed at all (the only 400).
    #[error("malformed signature header: {0}")]
    Malformed(String),
    /// A required parameter (`keyId`, `signature`, or `created`/`expires`
    /// when their pseudo-header is covered; RFC 9421's `keyid` and
    /// `created`) is absent or empty.
    #[error("signature header has no {0} parameter")]
    MissingParameter(&'static str),
    /// RFC 9421: `Signature-Input` names a label `Signature` does not hold.
    #[error("signature header has no signature labelled {0}")]
    MissingLabel(String),
    /// RFC 9421: a covered component this module does not derive (see the
    /// module docs), or one not valid in a request.
    #[error("covered component {0} is not supported")]
    UnsupportedComponent(String),
    /// RFC 9421 §2.5: a component may be covered once.
    #[error("signature covers {0} twice")]
    DuplicateComponent(String),
    /// §2.2: a signature with a repeated parameter must not be processed.
    #[error("signature header repeats the {0} parameter")]
    DuplicateParameter(String),
    /// §2.1.6: a zero-length `headers` parameter must not be used.
    #[error("signature header has an empty headers parameter")]
    EmptyHeaderList,
    /// Only `rsa-sha256` and `hs2019` (or no algorithm) are accepted for
    /// draft-cavage; `rsa-v1_5-sha256` and `rsa-pss-sha512` (or no `alg`)
    /// for RFC 9421.
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
    /// A covered header's value is not UTF-8 text (ASCII for RFC 9421).
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
    /// The digest header has no entry this module checks: `digest` needs
    /// SHA-256, `content-digest` SHA-256 or SHA-512.
    #[error("{0} header has no {1} entry")]
    DigestAlgorithmMissing(&'static str, &'static str),
    /// The header does not parse, or an entry is not base64 of a digest of
    /// its algorithm's length.
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
const RSA_V1_5_SHA256: &str = "rsa-v1_5-sha256";
const RSA_PSS_SHA512: &str = "rsa-pss-sha512";
/// Header fields this module knows to be RFC 8941 dictionaries, the only
/// ones an RFC 9421 signature may cover with `sf` or `key`.
const DICTIONARY_FIELDS: [&str; 5] = [
    CONTENT_DIGEST,
    "repr-digest",
    SIGNATURE,
    SIGNATURE_INPUT,
    "accept-signature",
];

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

/// Cheap checks done BEFORE any key is fetched. With a `Signature-Input`
/// header, the RFC 9421 checks of [`precheck_message`]; otherwise, for
/// draft-cavage:
/// - a `Signature` header exists (or `Authorization: Signature …`) and parses;
/// - algorithm is absent, "rsa-sha256" or "hs2019" (case-insensitive);
/// - covered headers include "(request-target)", "host" and "date" (or
///   "(created)" instead of date); for POST also "digest" (or
///   "content-digest");
/// - a covered `Date` is within `window` of `now`, and so is the `created`
///   parameter; `expires`, if present, has not passed (give or take
///   `window.future` of clock skew);
/// - every covered digest header (`Digest`, or RFC 9530 `Content-Digest`)
///   has a SHA-256 entry matching the body (or, for `Content-Digest`, a
///   SHA-512 one), and every SHA-256/SHA-512 entry matches;
/// - the signing string can be built: every covered header is in the
///   request (a signature over a header the request lacks can never
///   verify, so it must not cost a key fetch; the RFC 9421 checks build
///   the signature base for the same reason).
///
/// Passing proves nothing about who signed: [`verify`] must follow.
pub fn precheck(
    req: &SignedRequest<'_>,
    now: SystemTime,
    window: DateWindow,
) -> Result<Signature, SignatureError> {
    if req.headers.contains_key(SIGNATURE_INPUT) {
        return precheck_message(req, now, window).map(Signature::Message);
    }
    let sig = parse_signature_header(signature_header_value(req.headers)?)?;
    check_algorithm(&sig)?;
    check_pseudo_headers(&sig)?;
    check_coverage(req, &sig)?;
    check_times(req, &sig, now, window)?;
    let covers = |name: &str| sig.headers.iter().any(|h| h == name);
    check_digests(req, covers(DIGEST), covers(CONTENT_DIGEST))?;
    signing_string(req, &sig)?;
    Ok(Signature::Cavage(sig))
}

/// The RFC 9421 half of [`precheck`]:
/// - `Signature-Input` and `Signature` parse as RFC 8941 dictionaries, the
///   first label of the first names an inner list of component strings
///   with a `keyid`, and the second holds a byte sequence for that label;
/// - `alg` is absent, `rsa-v1_5-sha256` or `rsa-pss-sha512`;
/// - covered: `@method`; the target (`@target-uri` or `@request-target`,
///   or `@path`, with `@query` too when the request has a query); the
///   authority (`@target-uri`, `@authority` or `host`); for POST
///   `content-digest` (plain, with `sf`, or its `sha-256`/`sha-512` member
///   with `key`); and a `created` parameter;
/// - `created` is within `window` of `now`, `expires` has not passed (give
///   or take `window.future`), and a covered `date` is within the window;
/// - a covered `content-digest` (whole, or its `sha-256`/`sha-512` member)
///   or `digest` matches the body;
/// - the signature base can be built: every component is supported,
///   covered once, and present in the request.
pub fn precheck_message(
    req: &SignedRequest<'_>,
    now: SystemTime,
    window: DateWindow,
) -> Result<MessageSignature, SignatureError> {
    let input = structured_header(req.headers, SIGNATURE_INPUT)?.ok_or(SignatureError::Missing)?;
    let signature = structured_header(req.headers, SIGNATURE)?.ok_or(SignatureError::Missing)?;
    let sig = parse_message_signature(&input, &signature)?;
    check_message_algorithm(&sig)?;
    check_message_coverage(req, &sig)?;
    check_created(sig.created, now, window)?;
    check_expires(sig.expires, now, window)?;
    if sig.covers("date") {
        check_date_header(req, now, window)?;
    }
    check_digests(req, sig.covers(DIGEST), sig.covers_content_digest())?;
    signature_base(req, &sig)?;
    Ok(sig)
}

/// Parse RFC 9421's `Signature-Input` and `Signature` field values (all
/// lines of each joined with ", ") into the signature of the first label.
///
/// Both must be RFC 8941 dictionaries (a repeated label or parameter is
/// refused rather than overwritten, so no two readers can disagree on
/// which one counts); the `Signature-Input` member an inner list of
/// strings; `created`/`expires` integers and `keyid`/`alg`/`nonce`/`tag`
/// strings when present. Other parameters are kept (they are signed) and
/// not interpreted.
pub fn parse_message_signature(
    signature_input: &str,
    signature: &str,
) -> Result<MessageSignature, SignatureError> {
    let malformed = SignatureError::Malformed;
    let inputs = sf::parse_dictionary(signature_input)
        .map_err(|e| malformed(format!("signature-input header {e}")))?;
    let Some((label, member)) = inputs.into_iter().next() else {
        return Err(malformed("signature-input header is empty".to_owned()));
    };
    let sf::Member::InnerList(components, params) = member else {
        return Err(malformed(format!(
            "signature-input {label} is not a list of components"
        )));
    };
    if components
        .iter()
        .any(|c| !matches!(c.bare, sf::BareItem::String(_)))
    {
        return Err(malformed(format!(
            "signature-input {label} covers a component that is not a string"
        )));
    }
    let (mut key_id, mut algorithm, mut created, mut expires) = (None, None, None, None);
    for (name, value) in &params {
        match (name.as_str(), value) {
            ("keyid", sf::BareItem::String(v)) => key_id = Some(v.clone()),
            ("alg", sf::BareItem::String(v)) => algorithm = Some(v.clone()),
            ("created", sf::BareItem::Integer(v)) => created = Some(*v),
            ("expires", sf::BareItem::Integer(v)) => expires = Some(*v),
            ("nonce" | "tag", sf::BareItem::String(_)) => {}
            ("keyid" | "alg" | "nonce" | "tag", _) => {
                return Err(malformed(format!("{name} is not a string")));
            }
            ("created" | "expires", _) => {
                return Err(malformed(format!("{name} is not an integer")));
            }
            _ => {}
        }
    }
    let key_id = key_id
        .filter(|k| !k.is_empty())
        .ok_or(SignatureError::MissingParameter("keyid"))?;

    let signatures =
        sf::parse_dictionary(signature).map_err(|e| malformed(format!("signature header {e}")))?;
    let Some((_, value)) = signatures.into_iter().find(|(l, _)| *l == label) else {
        return Err(SignatureError::MissingLabel(label));
    };
    let sf::Member::Item(sf::Item {
        bare: sf::BareItem::ByteSeq(signature),
        ..
    }) = value
    else {
        return Err(malformed(format!(
            "signature {label} is not a byte sequence"
        )));
    };
    if signature.is_empty() {
        return Err(SignatureError::MissingParameter("signature"));
    }
    Ok(MessageSignature {
        label,
        key_id,
        algorithm,
        created,
        expires,
        signature,
        components,
        params,
    })
}

/// Build the signature base exactly per RFC 9421 §2.5: one line per covered
/// component, in order, `IDENTIFIER: VALUE`, where the identifier is the
/// component name serialised as an RFC 8941 string with its parameters;
/// then the `"@signature-params"` line, the inner list re-serialised with
/// its parameters in the order received; joined by "\n", no trailing
/// newline.
///
/// Derived components (§2.2): `@method` upper-cased; `@scheme` as
/// [`SignedRequest::scheme`]; `@authority` the `Host` header in lower case
/// without the scheme's default port; `@target-uri` scheme, "://",
/// authority and request target; `@request-target` the path and query as
/// received; `@path` the path ("/" if empty); `@query` "?" and the query
/// ("?" alone if none). A header field (§2.1): its lines trimmed and joined
/// by ", " (US-ASCII only); with `bs`, each line as a byte sequence; with
/// `sf` the dictionary re-serialised; with `key` its member re-serialised.
pub fn signature_base(
    req: &SignedRequest<'_>,
    sig: &MessageSignature,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(sig.components.len() + 1);
    let mut seen = HashSet::new();
    for component in &sig.components {
        let id = sf::serialize_item(component);
        // §2.5 step 1: the same name with the same parameters, in any order.
        let mut identity = component.params.clone();
        identity.sort_by(|a, b| a.0.cmp(&b.0));
        if !seen.insert((component.bare.clone(), identity)) {
            return Err(SignatureError::DuplicateComponent(id));
        }
        let value = component_value(req, component, &id)?;
        lines.push(format!("{id}: {value}"));
    }
    lines.push(format!("\"@signature-params\": {}", sig.signature_params()));
    Ok(lines.join("\n"))
}

/// The value of one covered component (RFC 9421 §2.1, §2.2).
fn component_value(
    req: &SignedRequest<'_>,
    component: &sf::Item,
    id: &str,
) -> Result<String, SignatureError> {
    let unsupported = || SignatureError::UnsupportedComponent(id.to_owned());
    let sf::BareItem::String(name) = &component.bare else {
        return Err(unsupported());
    };
    if name.starts_with('@') {
        if !component.params.is_empty() {
            return Err(unsupported());
        }
        let target = if req.path_and_query.is_empty() {
            "/"
        } else {
            req.path_and_query
        };
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        return Ok(match name.as_str() {
            "@method" => req.method.to_ascii_uppercase(),
            "@scheme" => req.scheme.to_ascii_lowercase(),
            "@authority" => authority(req)?,
            "@target-uri" => format!(
                "{}://{}{target}",
                req.scheme.to_ascii_lowercase(),
                authority(req)?
            ),
            "@request-target" => target.to_owned(),
            "@path" if path.is_empty() => "/".to_owned(),
            "@path" => path.to_owned(),
            "@query" => format!("?{}", query.unwrap_or_default()),
            // @query-param (its re-encoding rules), @status (responses)
            // and anything unregistered.
            _ => return Err(unsupported()),
        });
    }
    // §2.1: field names are covered in lower case.
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(unsupported());
    }
    let is_true = |v: &sf::BareItem| *v == sf::BareItem::Boolean(true);
    match component.params.as_slice() {
        [] => ascii_header_value(req.headers, name),
        [(param, flag)] if param == "bs" && is_true(flag) => {
            // §2.1.3: each field line on its own, trimmed, as a byte
            // sequence (which also carries what is not ASCII).
            let lines: Vec<String> = req
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|v| {
                    let bytes = v.as_bytes();
                    let start = bytes
                        .iter()
                        .position(|b| !matches!(b, b' ' | b'\t'))
                        .unwrap_or(bytes.len());
                    let end = bytes
                        .iter()
                        .rposition(|b| !matches!(b, b' ' | b'\t'))
                        .map_or(start, |i| i + 1);
                    let trimmed = bytes.get(start..end).unwrap_or_default();
                    let mut out = String::new();
                    sf::serialize_bare(&sf::BareItem::ByteSeq(trimmed.to_vec()), &mut out);
                    out
                })
                .collect();
            if lines.is_empty() {
                return Err(SignatureError::MissingHeader(name.clone()));
            }
            Ok(lines.join(", "))
        }
        params
            if DICTIONARY_FIELDS.contains(&name.as_str())
                && !params.is_empty()
                && params.iter().all(|(k, v)| {
                    (k == "sf" && is_true(v))
                        || (k == "key" && matches!(v, sf::BareItem::String(_)))
                }) =>
        {
            // §2.1.1 (sf) and §2.1.2 (key): the field re-serialised.
            let value = ascii_header_value(req.headers, name)?;
            let dictionary = sf::parse_dictionary(&value)
                .map_err(|_| SignatureError::InvalidHeaderValue(name.clone()))?;
            let key = params.iter().find_map(|(k, v)| match (k.as_str(), v) {
                ("key", sf::BareItem::String(key)) => Some(key),
                _ => None,
            });
            match key {
                None => Ok(sf::serialize_dictionary(&dictionary)),
                Some(key) => dictionary
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, member)| sf::serialize_member(member))
                    .ok_or_else(|| SignatureError::MissingHeader(id.to_owned())),
            }
        }
        // `req` (responses only), `tr` (trailers), `sf` on a field whose
        // type is unknown here, and anything unregistered.
        _ => Err(unsupported()),
    }
}

/// `@authority` (RFC 9421 §2.2.3): the `Host` header, lower case, without
/// the scheme's default port. The same header [`check_host`] compares with
/// this server's domain.
fn authority(req: &SignedRequest<'_>) -> Result<String, SignatureError> {
    let host = ascii_header_value(req.headers, "host")?.to_ascii_lowercase();
    let default_port = match req.scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return Ok(host),
    };
    Ok(host
        .strip_suffix(default_port)
        .map(str::to_owned)
        .unwrap_or(host))
}

/// [`header_value`], refusing what the US-ASCII signature base cannot hold.
fn ascii_header_value(headers: &http::HeaderMap, name: &str) -> Result<String, SignatureError> {
    let value = header_value(headers, name)?;
    if value.is_ascii() {
        Ok(value)
    } else {
        Err(SignatureError::InvalidHeaderValue(name.to_owned()))
    }
}

/// All lines of a structured header joined with ", " (RFC 8941 §4.2), or
/// `None` when absent; 400 when it is not text.
fn structured_header(
    headers: &http::HeaderMap,
    name: &str,
) -> Result<Option<String>, SignatureError> {
    match ascii_header_value(headers, name) {
        Ok(value) => Ok(Some(value)),
        Err(SignatureError::MissingHeader(_)) => Ok(None),
        Err(_) => Err(SignatureError::Malformed(format!(
            "{name} header is not ascii text"
        ))),
    }
}

/// `rsa-v1_5-sha256` is what Mastodon and Fedify sign with;
/// `rsa-pss-sha512` costs nothing more with an RSA key. Registered names
/// are lower case (RFC 9421 §6.2), so they are compared exactly.
fn check_message_algorithm(sig: &MessageSignature) -> Result<(), SignatureError> {
    match sig.algorithm.as_deref() {
        None | Some(RSA_V1_5_SHA256 | RSA_PSS_SHA512) => Ok(()),
        Some(other) => Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    }
}

/// What an RFC 9421 signature must cover to mean anything: the same as a
/// draft-cavage one (see [`check_coverage`]), in RFC 9421's words. A query
/// the signature does not cover could be changed at will, so `@path` alone
/// is enough only for a request without one.
fn check_message_coverage(
    req: &SignedRequest<'_>,
    sig: &MessageSignature,
) -> Result<(), SignatureError> {
    if !sig.covers("@method") {
        return Err(SignatureError::NotCovered("@method"));
    }
    if !sig.covers("@target-uri") && !sig.covers("@request-target") {
        if !sig.covers("@path") {
            return Err(SignatureError::NotCovered("@target-uri or @path"));
        }
        if req.path_and_query.contains('?') && !sig.covers("@query") {
            return Err(SignatureError::NotCovered("@query"));
        }
    }
    if !sig.covers("@target-uri") && !sig.covers("@authority") && !sig.covers("host") {
        return Err(SignatureError::NotCovered("@authority"));
    }
    if req.method.eq_ignore_ascii_case("post") && !sig.covers_content_digest() {
        return Err(SignatureError::NotCovered(CONTENT_DIGEST));
    }
    if sig.created.is_none() {
        return Err(SignatureError::MissingParameter("created"));
    }
    Ok(())
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

/// Verify the signature with a PEM public key, SPKI ("BEGIN PUBLIC KEY",
/// what Mastodon and Lemmy publish) or PKCS#1 ("BEGIN RSA PUBLIC KEY").
///
/// draft-cavage: RSA PKCS#1 v1.5 SHA-256 over the signing string. `hs2019`
/// means whatever the key's type calls for, which for the RSA keys the
/// fediverse publishes is this same scheme. The query stays in
/// `(request-target)`: unlike Mastodon, there is no second try without it
/// for the old Mastodon versions that signed the path alone, since that
/// would leave the query unsigned.
///
/// RFC 9421: over the [`signature_base`], `rsa-v1_5-sha256` (RSASSA-PKCS1-v1_5
/// with SHA-256) or `rsa-pss-sha512` (RSASSA-PSS, SHA-512, MGF1 SHA-512, 64
/// bytes of salt, §3.3.1); without `alg`, either (module docs).
///
/// The RSA check is aws-lc-rs's, which Hearth also signs with: about ten
/// times as fast as the `rsa` crate's for the 2048-bit keys of the
/// fediverse (some 30 µs against 350 µs, parsing the key included). Keys
/// of 1024 to 8192 bits verify PKCS#1 v1.5 signatures (some servers still
/// publish 1024-bit keys, and the `rsa` crate this replaced took them);
/// PSS with SHA-512 needs 2048 bits at least (its 64-byte salt and digest
/// do not even fit a 1024-bit key).
pub fn verify(
    req: &SignedRequest<'_>,
    sig: &Signature,
    public_key_pem: &str,
) -> Result<(), SignatureError> {
    match sig {
        Signature::Cavage(sig) => verify_cavage(req, sig, public_key_pem),
        Signature::Message(sig) => verify_message(req, sig, public_key_pem),
    }
}

fn verify_cavage(
    req: &SignedRequest<'_>,
    sig: &SignatureHeader,
    public_key_pem: &str,
) -> Result<(), SignatureError> {
    check_algorithm(sig)?;
    let key = parse_public_key(public_key_pem, &PKCS1_SHA256)?;
    let signing_string = signing_string(req, sig)?;
    key.verify_sig(signing_string.as_bytes(), &sig.signature)
        .map_err(|_| SignatureError::InvalidSignature)
}

fn verify_message(
    req: &SignedRequest<'_>,
    sig: &MessageSignature,
    public_key_pem: &str,
) -> Result<(), SignatureError> {
    check_message_algorithm(sig)?;
    let first: &'static RsaParameters = match sig.algorithm.as_deref() {
        Some(RSA_V1_5_SHA256) | None => &PKCS1_SHA256,
        Some(RSA_PSS_SHA512) => &RSA_PSS_2048_8192_SHA512,
        Some(other) => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    };
    let key = parse_public_key(public_key_pem, first)?;
    let base = signature_base(req, sig)?;
    let verified = key.verify_sig(base.as_bytes(), &sig.signature);
    if verified.is_err() && sig.algorithm.is_none() {
        // Without `alg`, the key decides, and an RSA key may sign either way.
        return parse_public_key(public_key_pem, &RSA_PSS_2048_8192_SHA512)?
            .verify_sig(base.as_bytes(), &sig.signature)
            .map_err(|_| SignatureError::InvalidSignature);
    }
    verified.map_err(|_| SignatureError::InvalidSignature)
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
        check_date_header(req, now, window)?;
    }
    // `created` stands in for Date (§2.1.4 forbids one in the future; the
    // clock-skew allowance is Mastodon's). Honoured even when not covered:
    // an unsigned parameter can only make this stricter.
    check_created(sig.created, now, window)?;
    check_expires(sig.expires, now, window)
}

fn check_date_header(
    req: &SignedRequest<'_>,
    now: SystemTime,
    window: DateWindow,
) -> Result<(), SignatureError> {
    let value = header_value(req.headers, "date")?;
    let date = httpdate::parse_http_date(&value).map_err(|_| SignatureError::InvalidDate)?;
    match skew(date, now, window) {
        Skew::Within => Ok(()),
        Skew::Ahead(by) => Err(SignatureError::DateInFuture(by)),
        Skew::Behind(by) => Err(SignatureError::DateTooOld(by)),
    }
}

/// The `created` parameter, if any, is within the window (draft-cavage
/// §2.1.4, RFC 9421 §2.3).
fn check_created(
    created: Option<i64>,
    now: SystemTime,
    window: DateWindow,
) -> Result<(), SignatureError> {
    let Some(created) = created else {
        return Ok(());
    };
    match unix_time(created) {
        Some(created) => match skew(created, now, window) {
            Skew::Within => Ok(()),
            Skew::Ahead(by) => Err(SignatureError::CreatedInFuture(by)),
            Skew::Behind(by) => Err(SignatureError::CreatedTooOld(by)),
        },
        None if created > 0 => Err(SignatureError::CreatedInFuture(Duration::MAX)),
        None => Err(SignatureError::CreatedTooOld(Duration::MAX)),
    }
}

/// draft-cavage §2.1.5 and RFC 9421 §2.3: an expired signature must not be
/// processed. Mastodon allows its clock-skew margin past `expires` too.
fn check_expires(
    expires: Option<i64>,
    now: SystemTime,
    window: DateWindow,
) -> Result<(), SignatureError> {
    let Some(expires) = expires else {
        return Ok(());
    };
    match unix_time(expires) {
        Some(expires) => match now.duration_since(expires) {
            Ok(late) if late > window.future => Err(SignatureError::Expired(late)),
            _ => Ok(()),
        },
        // Beyond what SystemTime holds: forever ahead, or long gone.
        None if expires > 0 => Ok(()),
        None => Err(SignatureError::Expired(Duration::MAX)),
    }
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
fn check_digests(
    req: &SignedRequest<'_>,
    digest: bool,
    content_digest: bool,
) -> Result<(), SignatureError> {
    let body = req.body.unwrap_or_default();
    if digest {
        check_digest_header(&header_value(req.headers, DIGEST)?, &Sha256::digest(body))?;
    }
    if content_digest {
        check_content_digest_header(&header_value(req.headers, CONTENT_DIGEST)?, body)?;
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
        let given = LENIENT_BASE64
            .decode(encoded.trim().as_bytes())
            .map_err(|_| SignatureError::DigestMalformed(DIGEST))?;
        compare_digest(DIGEST, &given, body_digest)?;
    }
    if found {
        Ok(())
    } else {
        Err(SignatureError::DigestAlgorithmMissing(DIGEST, "sha-256"))
    }
}

/// RFC 9530 `Content-Digest: sha-256=:base64:, sha-512=:base64:`, an RFC
/// 8941 dictionary: every `sha-256` and `sha-512` member must be a byte
/// sequence matching the body, and there must be one; other algorithms
/// (the deprecated `md5`, `sha`, …) are ignored.
fn check_content_digest_header(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let members =
        sf::parse_dictionary(value).map_err(|_| SignatureError::DigestMalformed(CONTENT_DIGEST))?;
    let mut found = false;
    for (algorithm, member) in &members {
        let expected = match algorithm.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        found = true;
        let sf::Member::Item(sf::Item {
            bare: sf::BareItem::ByteSeq(given),
            ..
        }) = member
        else {
            return Err(SignatureError::DigestMalformed(CONTENT_DIGEST));
        };
        compare_digest(CONTENT_DIGEST, given, &expected)?;
    }
    if found {
        Ok(())
    } else {
        Err(SignatureError::DigestAlgorithmMissing(
            CONTENT_DIGEST,
            "sha-256 or sha-512",
        ))
    }
}

fn compare_digest(
    header: &'static str,
    given: &[u8],
    body_digest: &[u8],
) -> Result<(), SignatureError> {
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

/// RSASSA-PKCS1-v1_5 with SHA-256, for keys of 1024 to 8192 bits (see
/// [`verify`] for why 1024-bit keys still pass).
const PKCS1_SHA256: RsaParameters = RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY;

/// An RSA public key from SPKI PEM ("BEGIN PUBLIC KEY") or PKCS#1 PEM
/// ("BEGIN RSA PUBLIC KEY"), parsed to verify with `params`.
fn parse_public_key(
    pem: &str,
    params: &'static RsaParameters,
) -> Result<ParsedPublicKey, SignatureError> {
    let der = decode_pem(pem, &[PUBLIC_KEY_LABEL, RSA_PUBLIC_KEY_LABEL])
        .map_err(|_| SignatureError::InvalidPublicKey)?;
    ParsedPublicKey::new(params, der).map_err(|_| SignatureError::InvalidPublicKey)
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
/// signature [`precheck`] accepts: directly, or for RFC 9421 through the
/// `@authority` or `@target-uri` derived from it) names `authority`,
/// ignoring case and the scheme's `default_port`. The request target is the
/// real path by construction ([`SignedRequest::path_and_query`]), so a
/// signature made for another server (or another path) never verifies
/// here.
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

/// RFC 8941 Structured Field Values: what RFC 9421 and RFC 9530 need of
/// them. Dictionaries are parsed (§4.2), and items, inner lists and
/// dictionaries serialised (§4.1) so that a signature base can be rebuilt
/// exactly. Stricter than §4.2 on one point: a repeated dictionary key or
/// parameter is refused instead of overwritten, so that no two readers of a
/// signature can disagree on which value counts.
mod sf {
    use base64::Engine as _;
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

    /// §4.2.7: parsers should not fail on missing padding or non-zero pad
    /// bits.
    const BASE64: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );

    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub(super) enum BareItem {
        Integer(i64),
        /// Kept in its serialised form (§4.1.5), which is canonical.
        Decimal(String),
        String(String),
        Token(String),
        ByteSeq(Vec<u8>),
        Boolean(bool),
    }

    pub(super) type Parameters = Vec<(String, BareItem)>;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) struct Item {
        pub bare: BareItem,
        pub params: Parameters,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum Member {
        Item(Item),
        InnerList(Vec<Item>, Parameters),
    }

    pub(super) type Dictionary = Vec<(String, Member)>;

    /// §4.2.2, with the combined field value (lines joined with ", ").
    /// Errors are fragments to follow the header's name.
    pub(super) fn parse_dictionary(input: &str) -> Result<Dictionary, String> {
        if !input.is_ascii() {
            return Err("is not ascii".to_owned());
        }
        let mut p = Parser {
            bytes: input.as_bytes(),
            at: 0,
        };
        p.skip_sp();
        let mut dictionary: Dictionary = Vec::new();
        while !p.at_end() {
            let key = p.key()?;
            let member = if p.eat(b'=') {
                p.item_or_inner_list()?
            } else {
                Member::Item(Item {
                    bare: BareItem::Boolean(true),
                    params: p.parameters()?,
                })
            };
            if dictionary.iter().any(|(k, _)| *k == key) {
                return Err(format!("repeats the key {key}"));
            }
            dictionary.push((key, member));
            p.skip_ows();
            if p.at_end() {
                break;
            }
            if !p.eat(b',') {
                return Err(format!("has no comma at byte {}", p.at));
            }
            p.skip_ows();
            if p.at_end() {
                return Err("ends with a comma".to_owned());
            }
        }
        Ok(dictionary)
    }

    struct Parser<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.bytes.get(self.at).copied()
        }

        fn at_end(&self) -> bool {
            self.at >= self.bytes.len()
        }

        fn eat(&mut self, byte: u8) -> bool {
            if self.peek() == Some(byte) {
                self.at += 1;
                true
            } else {
                false
            }
        }

        fn skip_sp(&mut self) {
            while self.eat(b' ') {}
        }

        fn skip_ows(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.at += 1;
            }
        }

        fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &str {
            let start = self.at;
            while self.peek().is_some_and(&keep) {
                self.at += 1;
            }
            // ASCII was checked up front, so any range is a str.
            std::str::from_utf8(self.bytes.get(start..self.at).unwrap_or_default())
                .unwrap_or_default()
        }

        /// §4.2.3.3.
        fn key(&mut self) -> Result<String, String> {
            if !self
                .peek()
                .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
            {
                return Err(format!("has no key at byte {}", self.at));
            }
            Ok(self
                .take_while(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)
                })
                .to_owned())
        }

        /// §4.2.1.1.
        fn item_or_inner_list(&mut self) -> Result<Member, String> {
            if self.peek() == Some(b'(') {
                self.inner_list()
            } else {
                Ok(Member::Item(self.item()?))
            }
        }

        /// §4.2.1.2.
        fn inner_list(&mut self) -> Result<Member, String> {
            self.eat(b'(');
            let mut items = Vec::new();
            loop {
                self.skip_sp();
                if self.eat(b')') {
                    return Ok(Member::InnerList(items, self.parameters()?));
                }
                if self.at_end() {
                    return Err("has an unterminated inner list".to_owned());
                }
                items.push(self.item()?);
                match self.peek() {
                    Some(b' ' | b')') => {}
                    None => return Err("has an unterminated inner list".to_owned()),
                    Some(_) => {
                        return Err(format!("has no space between items at byte {}", self.at));
                    }
                }
            }
        }

        fn item(&mut self) -> Result<Item, String> {
            Ok(Item {
                bare: self.bare_item()?,
                params: self.parameters()?,
            })
        }

        /// §4.2.3.2.
        fn parameters(&mut self) -> Result<Parameters, String> {
            let mut params: Parameters = Vec::new();
            while self.eat(b';') {
                self.skip_sp();
                let key = self.key()?;
                let value = if self.eat(b'=') {
                    self.bare_item()?
                } else {
                    BareItem::Boolean(true)
                };
                if params.iter().any(|(k, _)| *k == key) {
                    return Err(format!("repeats the parameter {key}"));
                }
                params.push((key, value));
            }
            Ok(params)
        }

        /// §4.2.3.1.
        fn bare_item(&mut self) -> Result<BareItem, String> {
            match self.peek() {
                Some(b'-' | b'0'..=b'9') => self.number(),
                Some(b'"') => self.string(),
                Some(b':') => self.byte_sequence(),
                Some(b'?') => self.boolean(),
                Some(b) if b.is_ascii_alphabetic() || b == b'*' => Ok(BareItem::Token(
                    self.take_while(|b| super::is_tchar(b) || b == b':' || b == b'/')
                        .to_owned(),
                )),
                _ => Err(format!("has no value at byte {}", self.at)),
            }
        }

        /// §4.2.4.
        fn number(&mut self) -> Result<BareItem, String> {
            let negative = self.eat(b'-');
            let integer = self.take_while(|b| b.is_ascii_digit()).to_owned();
            if integer.is_empty() {
                return Err(format!("has a sign without digits at byte {}", self.at));
            }
            if !self.eat(b'.') {
                if integer.len() > 15 {
                    return Err("has an integer of more than 15 digits".to_owned());
                }
                let value: i64 = integer
                    .parse()
                    .map_err(|_| "has an unreadable integer".to_owned())?;
                return Ok(BareItem::Integer(if negative { -value } else { value }));
            }
            let fraction = self.take_while(|b| b.is_ascii_digit());
            if integer.len() > 12 || fraction.is_empty() || fraction.len() > 3 {
                return Err("has a malformed decimal".to_owned());
            }
            // §4.1.5: no leading zeros, no trailing zeros past the first
            // fractional digit.
            let fraction = match fraction.trim_end_matches('0') {
                "" => "0",
                trimmed => trimmed,
            };
            let integer = integer.trim_start_matches('0');
            let integer = if integer.is_empty() { "0" } else { integer };
            let sign = if negative && (integer != "0" || fraction != "0") {
                "-"
            } else {
                ""
            };
            Ok(BareItem::Decimal(format!("{sign}{integer}.{fraction}")))
        }

        /// §4.2.5.
        fn string(&mut self) -> Result<BareItem, String> {
            self.eat(b'"');
            let mut value = String::new();
            loop {
                match self.peek() {
                    None => return Err("has an unterminated string".to_owned()),
                    Some(b'"') => {
                        self.at += 1;
                        return Ok(BareItem::String(value));
                    }
                    Some(b'\\') => {
                        self.at += 1;
                        match self.peek() {
                            Some(c @ (b'"' | b'\\')) => value.push(char::from(c)),
                            _ => return Err("has a bad escape in a string".to_owned()),
                        }
                        self.at += 1;
                    }
                    Some(c @ 0x20..=0x7e) => {
                        value.push(char::from(c));
                        self.at += 1;
                    }
                    Some(_) => return Err("has a control character in a string".to_owned()),
                }
            }
        }

        /// §4.2.7.
        fn byte_sequence(&mut self) -> Result<BareItem, String> {
            self.eat(b':');
            let encoded = self
                .take_while(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                .to_owned();
            if !self.eat(b':') {
                return Err("has an unterminated byte sequence".to_owned());
            }
            BASE64
                .decode(encoded.as_bytes())
                .map(BareItem::ByteSeq)
                .map_err(|_| "has a byte sequence that is not base64".to_owned())
        }

        /// §4.2.8.
        fn boolean(&mut self) -> Result<BareItem, String> {
            self.eat(b'?');
            if self.eat(b'1') {
                Ok(BareItem::Boolean(true))
            } else if self.eat(b'0') {
                Ok(BareItem::Boolean(false))
            } else {
                Err("has a malformed boolean".to_owned())
            }
        }
    }

    /// §4.1.3.1.
    pub(super) fn serialize_bare(bare: &BareItem, out: &mut String) {
        match bare {
            BareItem::Integer(n) => out.push_str(&n.to_string()),
            BareItem::Decimal(d) => out.push_str(d),
            BareItem::String(s) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            BareItem::Token(t) => out.push_str(t),
            BareItem::ByteSeq(bytes) => {
                out.push(':');
                out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
                out.push(':');
            }
            BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
        }
    }

    /// §4.1.1.2: a true boolean is the key alone.
    fn serialize_params(params: &Parameters, out: &mut String) {
        for (key, value) in params {
            out.push(';');
            out.push_str(key);
            if *value != BareItem::Boolean(true) {
                out.push('=');
                serialize_bare(value, out);
            }
        }
    }

    /// §4.1.3.
    pub(super) fn serialize_item(item: &Item) -> String {
        let mut out = String::new();
        serialize_bare(&item.bare, &mut out);
        serialize_params(&item.params, &mut out);
        out
    }

    /// §4.1.1.1.
    pub(super) fn serialize_inner_list(items: &[Item], params: &Parameters) -> String {
        let items: Vec<String> = items.iter().map(serialize_item).collect();
        let mut out = format!("({})", items.join(" "));
        serialize_params(params, &mut out);
        out
    }

    pub(super) fn serialize_member(member: &Member) -> String {
        match member {
            Member::Item(item) => serialize_item(item),
            Member::InnerList(items, params) => serialize_inner_list(items, params),
        }
    }

    /// §4.1.2.
    pub(super) fn serialize_dictionary(dictionary: &Dictionary) -> String {
        let members: Vec<String> = dictionary
            .iter()
            .map(|(key, member)| match member {
                Member::Item(Item {
                    bare: BareItem::Boolean(true),
                    params,
                }) => {
                    let mut out = key.clone();
                    serialize_params(params, &mut out);
                    out
                }
                _ => format!("{key}={}", serialize_member(member)),
            })
            .collect();
        members.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::pss::Pss;
    use rsa::{Pkcs1v15Sign, RsaPrivateKey};
    use std::collections::BTreeMap;
    use std::sync::LazyLock;

    /// Tue, 14 Nov 2023 22:13:20 GMT.
    const NOW_SECS: u64 = 1_700_000_000;
    const KEY_ID: &str = "https://remote.example/users/ann#main-key";
    const ACTIVITY: &str = r#"{"type":"Follow","actor":"https://remote.example/users/ann"}"#;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    /// The draft-cavage header inside a [`Signature`].
    fn cavage(sig: &Signature) -> SignatureHeader {
        match sig {
            Signature::Cavage(sig) => sig.clone(),
            other => panic!("not a draft-cavage signature: {other:?}"),
        }
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
                scheme: "https",
                path_and_query: self.path,
                headers: map,
                body: self.body.as_deref(),
            }
        }

        /// precheck, then verify: what an inbox handler does.
        fn check_with(&self, now: SystemTime, pem: &str) -> Result<Signature, SignatureError> {
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
            assert_eq!(sig.key_id(), KEY_ID, "{case}");
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
                signing_string(&view, &cavage(&sig)).unwrap(),
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
        let sig =
            Signature::Cavage(parse_signature_header(map["signature"].to_str().unwrap()).unwrap());
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
                "rfc 9421 signature without keyid",
                Req::post()
                    .with("signature-input", r#"sig1=("@method");created=1700000000"#)
                    .with("signature", "sig1=:AAAA:"),
                &KEY.public_pem,
                E::MissingParameter("keyid"),
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
                E::DigestAlgorithmMissing("digest", "sha-256"),
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

    /// Found by fuzzing: a signature over a header the request lacks
    /// passed the prechecks, so it cost a key fetch although it could
    /// never verify.
    #[test]
    fn a_covered_header_the_request_lacks_is_refused_before_any_key_is_fetched() {
        let req = Req::post().signed_post().without("content-type");
        let map = req.header_map();
        assert_eq!(
            precheck(&req.view(&map), now(), MASTODON_WINDOW),
            Err(SignatureError::MissingHeader("content-type".to_owned()))
        );
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
            (SignatureError::MissingLabel("sig1".to_owned()), 401),
            (
                SignatureError::UnsupportedComponent("\"@status\"".to_owned()),
                401,
            ),
            (
                SignatureError::DuplicateComponent("\"@method\"".to_owned()),
                401,
            ),
            (SignatureError::NotCovered("@method"), 401),
            (SignatureError::WrongHost("evil.example".to_owned()), 401),
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
                let sig = Signature::Cavage(sig);
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
                    scheme: "https",
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

    // ---- RFC 9421 HTTP Message Signatures ----

    /// RFC 9421 appendix B.1.1, `test-key-rsa` (PKCS#1).
    const RFC9421_KEY_RSA: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----";
    /// RFC 9421 appendix B.1.2, `test-key-rsa-pss` (SPKI).
    const RFC9421_KEY_RSA_PSS: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----";
    const RFC9421_BODY: &str = r#"{"hello": "world"}"#;
    const RFC9421_DIGEST: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    /// The example request of RFC 9421 appendix B.2 (§4.3 sends it on to
    /// another host, with a `Forwarded` header).
    fn rfc9421_request(host: &str, date: &str) -> Req {
        Req {
            method: "POST",
            path: "/foo?param=Value&Pet=dog",
            headers: vec![],
            body: Some(RFC9421_BODY.as_bytes().to_vec()),
        }
        .with("host", host)
        .with("date", date)
        .with("content-type", "application/json")
        .with("content-digest", RFC9421_DIGEST)
        .with("content-length", "18")
    }

    fn message(sig: &Signature) -> MessageSignature {
        match sig {
            Signature::Message(sig) => sig.clone(),
            other => panic!("not an rfc 9421 signature: {other:?}"),
        }
    }

    #[test]
    fn verifies_rfc_9421_appendix_b_2_3_full_coverage() {
        let req = rfc9421_request("example.com", "Tue, 20 Apr 2021 02:07:55 GMT")
            .with(
                "signature-input",
                r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
            )
            .with("signature", concat!(
                "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fU",
                "xN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9",
                "bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
            ));
        let map = req.header_map();
        let view = req.view(&map);
        let then = UNIX_EPOCH + Duration::from_secs(1_618_884_473);
        let sig = precheck(&view, then, MASTODON_WINDOW).unwrap();
        assert_eq!(sig.key_id(), "test-key-rsa-pss");
        assert_eq!(
            signature_base(&view, &message(&sig)).unwrap(),
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
             \"@method\": POST\n\
             \"@path\": /foo\n\
             \"@query\": ?param=Value&Pet=dog\n\
             \"@authority\": example.com\n\
             \"content-type\": application/json\n\
             \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
             \"content-length\": 18\n\
             \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\""
        );
        // No `alg`: the RSA key decides, and this one signed with PSS.
        assert_eq!(verify(&view, &sig, RFC9421_KEY_RSA_PSS), Ok(()));
        assert_eq!(
            verify(&view, &sig, RFC9421_KEY_RSA),
            Err(SignatureError::InvalidSignature)
        );
        // Tampering with any covered value breaks it.
        let tampered = req.clone().replacing("content-length", "19");
        let map = tampered.header_map();
        assert_eq!(
            verify(&tampered.view(&map), &sig, RFC9421_KEY_RSA_PSS),
            Err(SignatureError::InvalidSignature)
        );
        // Replayed to another host (and so another authority).
        let elsewhere = req.replacing("host", "hearth.example");
        let map = elsewhere.header_map();
        assert_eq!(
            verify(&elsewhere.view(&map), &sig, RFC9421_KEY_RSA_PSS),
            Err(SignatureError::InvalidSignature)
        );
    }

    #[test]
    fn verifies_rfc_9421_appendix_b_2_1_but_refuses_what_it_does_not_cover() {
        let req = rfc9421_request("example.com", "Tue, 20 Apr 2021 02:07:55 GMT");
        let sig = parse_message_signature(
            r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
            concat!(
                "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG",
                "52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6",
                "UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
            ),
        )
        .unwrap();
        let map = req.header_map();
        let view = req.view(&map);
        assert_eq!(
            signature_base(&view, &sig).unwrap(),
            r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#
        );
        let sig = Signature::Message(sig);
        assert_eq!(verify(&view, &sig, RFC9421_KEY_RSA_PSS), Ok(()));
        // A valid signature over nothing of the request: not one an inbox
        // may accept.
        let with_headers = req
            .with(
                "signature-input",
                r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
            )
            .with("signature", "sig-b21=:AAAA:");
        let map = with_headers.header_map();
        let then = UNIX_EPOCH + Duration::from_secs(1_618_884_473);
        assert_eq!(
            precheck(&with_headers.view(&map), then, MASTODON_WINDOW),
            Err(SignatureError::NotCovered("@method"))
        );
    }

    /// RFC 9421 §4.3: the proxy's `rsa-v1_5-sha256` signature, with
    /// `test-key-rsa`, the deterministic scheme Mastodon and Fedify use.
    #[test]
    fn verifies_the_rsa_v1_5_sha256_vector_of_rfc_9421_section_4_3() {
        let req = rfc9421_request(
            "origin.host.internal.example",
            "Tue, 20 Apr 2021 02:07:56 GMT",
        )
        .with("forwarded", "for=192.0.2.123;host=example.com;proto=https");
        let input = r#"proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540"#;
        let signature = concat!(
            "proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49",
            "GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZd",
            "XAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:",
        );
        let sig = parse_message_signature(input, signature).unwrap();
        assert_eq!(sig.label, "proxy_sig");
        assert_eq!(sig.key_id, "test-key-rsa");
        assert_eq!(sig.algorithm.as_deref(), Some("rsa-v1_5-sha256"));
        assert_eq!(
            (sig.created, sig.expires),
            (Some(1_618_884_480), Some(1_618_884_540))
        );
        let map = req.header_map();
        let view = req.view(&map);
        assert_eq!(
            signature_base(&view, &sig).unwrap(),
            "\"@method\": POST\n\
             \"@authority\": origin.host.internal.example\n\
             \"@path\": /foo\n\
             \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
             \"content-type\": application/json\n\
             \"content-length\": 18\n\
             \"forwarded\": for=192.0.2.123;host=example.com;proto=https\n\
             \"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540"
        );
        let sig = Signature::Message(sig);
        assert_eq!(verify(&view, &sig, RFC9421_KEY_RSA), Ok(()));
        assert_eq!(
            verify(&view, &sig, RFC9421_KEY_RSA_PSS),
            Err(SignatureError::InvalidSignature)
        );
        // Valid, but the query is not signed: a mature verifier cannot let
        // `?param=Value&Pet=dog` be changed at will.
        let sent = req
            .with("signature-input", input)
            .with("signature", signature);
        let map = sent.header_map();
        let then = UNIX_EPOCH + Duration::from_secs(1_618_884_500);
        assert_eq!(
            precheck(&sent.view(&map), then, MASTODON_WINDOW),
            Err(SignatureError::NotCovered("@query"))
        );
    }

    /// What the RFC 9421 test signer puts in `Signature-Input`.
    #[derive(Clone)]
    struct Msg {
        label: &'static str,
        /// The covered component identifiers, serialised.
        components: Vec<&'static str>,
        /// Everything after the inner list, serialised.
        params: String,
        pss: bool,
    }

    impl Msg {
        /// Signed now by `KEY_ID` with `rsa-v1_5-sha256`.
        fn new(components: &[&'static str]) -> Self {
            Msg {
                label: "sig1",
                components: components.to_vec(),
                params: format!(r#";created={NOW_SECS};keyid="{KEY_ID}";alg="rsa-v1_5-sha256""#),
                pss: false,
            }
        }

        fn params(self, params: &str) -> Self {
            Msg {
                params: params.to_owned(),
                ..self
            }
        }

        /// As Fedify signs a delivery.
        fn fedify_post() -> Self {
            Self::new(&[
                r#""@method""#,
                r#""@target-uri""#,
                r#""@authority""#,
                r#""host""#,
                r#""date""#,
                r#""content-digest""#,
            ])
        }

        fn get() -> Self {
            Self::new(&[r#""@method""#, r#""@target-uri""#])
        }
    }

    impl Req {
        /// An inbox delivery with an RFC 9530 digest instead of RFC 3230's.
        fn post_9421() -> Self {
            Req::post().without("digest").with(
                "content-digest",
                &format!("sha-256=:{}:", sha256_b64(ACTIVITY.as_bytes())),
            )
        }

        fn header(&self, name: &str) -> String {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .collect::<Vec<_>>()
                .join(", ")
        }

        /// Sign per RFC 9421 with `key`, building the signature base
        /// independently of the code under test (over https).
        fn signed_9421_by(self, key: &TestKey, m: &Msg) -> Self {
            let host = self.header("host");
            let (path, query) = self.path.split_once('?').unwrap_or((self.path, ""));
            let mut lines: Vec<String> = m
                .components
                .iter()
                .map(|id| {
                    let value = match *id {
                        r#""@method""# => self.method.to_uppercase(),
                        r#""@target-uri""# => format!("https://{host}{}", self.path),
                        r#""@authority""# => host.clone(),
                        r#""@scheme""# => "https".to_owned(),
                        r#""@request-target""# => self.path.to_owned(),
                        r#""@path""# => path.to_owned(),
                        r#""@query""# => format!("?{query}"),
                        r#""content-type";bs"# => {
                            format!(":{}:", b64(self.header("content-type").as_bytes()))
                        }
                        r#""content-digest";key="sha-256""# => self
                            .header("content-digest")
                            .trim_start_matches("sha-256=")
                            .to_owned(),
                        r#""content-digest";sf"# => self.header("content-digest"),
                        id if id.ends_with('"') => self.header(id.trim_matches('"')),
                        _ => "unknown".to_owned(),
                    };
                    format!("{id}: {value}")
                })
                .collect();
            let params = format!("({}){}", m.components.join(" "), m.params);
            lines.push(format!("\"@signature-params\": {params}"));
            let base = lines.join("\n");
            let signature = if m.pss {
                let hashed = Sha512::digest(base.as_bytes());
                b64(&key
                    .private
                    .sign_with_rng(&mut StdRng::seed_from_u64(7), Pss::new::<Sha512>(), &hashed)
                    .unwrap())
            } else {
                key.sign(&base)
            };
            self.with("signature-input", &format!("{}={params}", m.label))
                .with("signature", &format!("{}=:{signature}:", m.label))
        }

        fn signed_9421(self, m: &Msg) -> Self {
            self.signed_9421_by(&KEY, m)
        }
    }

    #[test]
    fn accepts_rfc_9421_signatures_peers_send() {
        let both_digests = format!(
            "sha-256=:{}:, sha-512=:{}:",
            sha256_b64(ACTIVITY.as_bytes()),
            b64(&Sha512::digest(ACTIVITY.as_bytes()))
        );
        let sha512 = format!("sha-512=:{}:", b64(&Sha512::digest(ACTIVITY.as_bytes())));
        let base = format!(r#";created={NOW_SECS};keyid="{KEY_ID}""#);
        let cases: Vec<(&str, Req)> = vec![
            (
                "fedify post",
                Req::post_9421().signed_9421(&Msg::fedify_post()),
            ),
            (
                "target uri and digest only, no alg",
                Req::post_9421().signed_9421(
                    &Msg::new(&[r#""@method""#, r#""@target-uri""#, r#""content-digest""#])
                        .params(&base),
                ),
            ),
            ("signed get", Req::get().signed_9421(&Msg::get())),
            (
                "get by authority, path and query",
                Req::get().signed_9421(&Msg::new(&[
                    r#""@method""#,
                    r#""@authority""#,
                    r#""@path""#,
                    r#""@query""#,
                ])),
            ),
            (
                "get by request target and host",
                Req::get().signed_9421(&Msg::new(&[
                    r#""@request-target""#,
                    r#""host""#,
                    r#""@method""#,
                    r#""@scheme""#,
                ])),
            ),
            (
                "post without a query by path",
                Req::post_9421().signed_9421(&Msg::new(&[
                    r#""@method""#,
                    r#""@path""#,
                    r#""@authority""#,
                    r#""content-digest""#,
                ])),
            ),
            (
                "expires, nonce, tag and an unknown parameter",
                Req::get().signed_9421(&Msg::get().params(&format!(
                    r#"{base};expires={};nonce="n-1";tag="fediverse";x-ext=?0"#,
                    NOW_SECS + 300
                ))),
            ),
            (
                "parameters in another order",
                Req::get().signed_9421(&Msg::get().params(&format!(
                    r#";alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created={NOW_SECS}"#
                ))),
            ),
            (
                "sha-512 content digest",
                Req::post_9421()
                    .replacing("content-digest", &sha512)
                    .signed_9421(&Msg::fedify_post()),
            ),
            (
                "both content digests",
                Req::post_9421()
                    .replacing("content-digest", &both_digests)
                    .signed_9421(&Msg::fedify_post()),
            ),
            (
                "rsa-pss-sha512",
                Req::post_9421().signed_9421(&Msg {
                    pss: true,
                    ..Msg::fedify_post().params(&format!(r#"{base};alg="rsa-pss-sha512""#))
                }),
            ),
            (
                "rsa-pss-sha512 without alg",
                Req::post_9421().signed_9421(&Msg {
                    pss: true,
                    ..Msg::fedify_post().params(&base)
                }),
            ),
            (
                "byte-sequence and dictionary-member components",
                Req::post_9421().signed_9421(&Msg::new(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""content-digest""#,
                    r#""content-type";bs"#,
                    r#""content-digest";key="sha-256""#,
                    r#""content-digest";sf"#,
                ])),
            ),
            (
                "another label, and a second signature after it",
                Req::get()
                    .signed_9421(&Msg {
                        label: "mastodon",
                        ..Msg::get()
                    })
                    .with(
                        "signature-input",
                        r#"proxy=("@method");created=1;keyid="p""#,
                    )
                    .with("signature", "proxy=:AAAA:"),
            ),
            (
                "content digest covered re-serialised",
                Req::post_9421().signed_9421(&Msg::new(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""content-digest";sf"#,
                ])),
            ),
            (
                "content digest covered by its sha-256 member",
                Req::post_9421().signed_9421(&Msg::new(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""content-digest";key="sha-256""#,
                ])),
            ),
            (
                "host in another case, with the default port",
                Req::get()
                    .signed_9421(&Msg::get())
                    .replacing("host", "Hearth.Example:443"),
            ),
            (
                "an unsigned digest header beside the signed content digest",
                Req::post_9421()
                    .with("digest", "SHA-256=AAAA")
                    .signed_9421(&Msg::fedify_post()),
            ),
        ];
        for (case, req) in cases {
            match req.check_with(now(), &KEY.public_pem) {
                Ok(Signature::Message(sig)) => assert_eq!(sig.key_id, KEY_ID, "{case}"),
                other => panic!("{case}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_rfc_9421_signatures() {
        use SignatureError as E;
        let base = format!(r#";created={NOW_SECS};keyid="{KEY_ID}""#);
        let old = NOW_SECS as i64 - 7200;
        let fedify = Msg::fedify_post();
        let with = |components: &[&'static str]| Msg::new(components);
        let cases: Vec<(&str, Req, &str, SignatureError)> = vec![
            (
                "tampered body",
                Req::post_9421()
                    .signed_9421(&fedify)
                    .body(r#"{"type":"Delete"}"#),
                &KEY.public_pem,
                E::DigestMismatch("content-digest"),
            ),
            (
                "tampered body with a matching digest put in after signing",
                Req::post_9421().signed_9421(&fedify).body("{}").replacing(
                    "content-digest",
                    &format!("sha-256=:{}:", sha256_b64(b"{}")),
                ),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "tampered body, sha-512",
                Req::post_9421()
                    .replacing(
                        "content-digest",
                        &format!("sha-512=:{}:", b64(&Sha512::digest(b"{}"))),
                    )
                    .signed_9421(&fedify),
                &KEY.public_pem,
                E::DigestMismatch("content-digest"),
            ),
            (
                "content digest of another algorithm only",
                Req::post_9421()
                    .replacing("content-digest", "md5=:XrY7u+Ae7tCTyyK7j1rNww==:")
                    .signed_9421(&fedify),
                &KEY.public_pem,
                E::DigestAlgorithmMissing("content-digest", "sha-256 or sha-512"),
            ),
            (
                "content digest not a dictionary",
                Req::post_9421()
                    .replacing("content-digest", "SHA-256=abc")
                    .signed_9421(&fedify),
                &KEY.public_pem,
                E::DigestMalformed("content-digest"),
            ),
            (
                "content digest of the wrong length",
                Req::post_9421()
                    .replacing("content-digest", "sha-256=:AAAA:")
                    .signed_9421(&fedify),
                &KEY.public_pem,
                E::DigestMalformed("content-digest"),
            ),
            (
                "tampered signature",
                Req::post_9421()
                    .signed_9421(&fedify)
                    .replacing("signature", "sig1=:AAAA:"),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "wrong key",
                Req::post_9421().signed_9421(&fedify),
                &OTHER_KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "host changed after signing",
                Req::post_9421()
                    .signed_9421(&fedify)
                    .replacing("host", "evil.example"),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "host with another port",
                Req::get()
                    .signed_9421(&Msg::get())
                    .replacing("host", "hearth.example:8443"),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "replayed to another path",
                Req {
                    path: "/inbox",
                    ..Req::post_9421().signed_9421(&fedify)
                },
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "query dropped",
                Req {
                    path: "/users/bob/outbox",
                    ..Req::get().signed_9421(&Msg::get())
                },
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "method not covered",
                Req::get().signed_9421(&with(&[r#""@target-uri""#])),
                &KEY.public_pem,
                E::NotCovered("@method"),
            ),
            (
                "target not covered",
                Req::get().signed_9421(&with(&[r#""@method""#, r#""@authority""#])),
                &KEY.public_pem,
                E::NotCovered("@target-uri or @path"),
            ),
            (
                "query not covered",
                Req::get().signed_9421(&with(&[r#""@method""#, r#""@authority""#, r#""@path""#])),
                &KEY.public_pem,
                E::NotCovered("@query"),
            ),
            (
                "authority not covered",
                Req::get().signed_9421(&with(&[r#""@method""#, r#""@request-target""#])),
                &KEY.public_pem,
                E::NotCovered("@authority"),
            ),
            (
                "post without content-digest covered",
                Req::post_9421().signed_9421(&Msg::get()),
                &KEY.public_pem,
                E::NotCovered("content-digest"),
            ),
            (
                "post covering only a content digest member not checked",
                Req::post_9421()
                    .replacing(
                        "content-digest",
                        &format!("sha-256=:{}:, md5=:AAAA:", sha256_b64(ACTIVITY.as_bytes())),
                    )
                    .signed_9421(&with(&[
                        r#""@method""#,
                        r#""@target-uri""#,
                        r#""content-digest";key="md5""#,
                    ])),
                &KEY.public_pem,
                E::NotCovered("content-digest"),
            ),
            (
                "tampered body, sha-256 member covered",
                Req::post_9421()
                    .signed_9421(&with(&[
                        r#""@method""#,
                        r#""@target-uri""#,
                        r#""content-digest";key="sha-256""#,
                    ]))
                    .body("{}"),
                &KEY.public_pem,
                E::DigestMismatch("content-digest"),
            ),
            (
                "post covering only the rfc 3230 digest",
                Req::post().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""digest""#,
                ])),
                &KEY.public_pem,
                E::NotCovered("content-digest"),
            ),
            (
                "no created",
                Req::get().signed_9421(&Msg::get().params(&format!(r#";keyid="{KEY_ID}""#))),
                &KEY.public_pem,
                E::MissingParameter("created"),
            ),
            (
                "no keyid",
                Req::get().signed_9421(&Msg::get().params(&format!(";created={NOW_SECS}"))),
                &KEY.public_pem,
                E::MissingParameter("keyid"),
            ),
            (
                "created 2 hours old",
                Req::get().signed_9421(
                    &Msg::get().params(&format!(r#";created={old};keyid="{KEY_ID}""#)),
                ),
                &KEY.public_pem,
                E::CreatedTooOld(Duration::from_secs(7200)),
            ),
            (
                "created 2 hours ahead",
                Req::get().signed_9421(
                    &Msg::get()
                        .params(&format!(r#";created={};keyid="{KEY_ID}""#, NOW_SECS + 7200)),
                ),
                &KEY.public_pem,
                E::CreatedInFuture(Duration::from_secs(7200)),
            ),
            (
                "expired more than the skew ago",
                Req::get().signed_9421(&Msg::get().params(&format!(
                    r#";created={};keyid="{KEY_ID}";expires={}"#,
                    NOW_SECS - 3800,
                    NOW_SECS - 3700
                ))),
                &KEY.public_pem,
                E::Expired(Duration::from_secs(3700)),
            ),
            (
                "covered date 2 hours old",
                Req::post_9421()
                    .replacing("date", &httpdate::fmt_http_date(at(-7200)))
                    .signed_9421(&fedify),
                &KEY.public_pem,
                E::DateTooOld(Duration::from_secs(7200)),
            ),
            (
                "hmac",
                Req::get().signed_9421(&Msg::get().params(&format!(r#"{base};alg="hmac-sha256""#))),
                &KEY.public_pem,
                E::UnsupportedAlgorithm("hmac-sha256".to_owned()),
            ),
            (
                "ed25519",
                Req::get().signed_9421(&Msg::get().params(&format!(r#"{base};alg="ed25519""#))),
                &KEY.public_pem,
                E::UnsupportedAlgorithm("ed25519".to_owned()),
            ),
            (
                "draft-cavage algorithm name",
                Req::get().signed_9421(&Msg::get().params(&format!(r#"{base};alg="rsa-sha256""#))),
                &KEY.public_pem,
                E::UnsupportedAlgorithm("rsa-sha256".to_owned()),
            ),
            (
                "pss claimed, pkcs#1 v1.5 signed",
                Req::get()
                    .signed_9421(&Msg::get().params(&format!(r#"{base};alg="rsa-pss-sha512""#))),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "query parameter component",
                Req::get().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""@query-param";name="page""#,
                ])),
                &KEY.public_pem,
                E::UnsupportedComponent(r#""@query-param";name="page""#.to_owned()),
            ),
            (
                "status component",
                Req::get().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""@status""#,
                ])),
                &KEY.public_pem,
                E::UnsupportedComponent(r#""@status""#.to_owned()),
            ),
            (
                "upper-case field name",
                Req::get().signed_9421(&with(&[r#""@method""#, r#""@target-uri""#, r#""Accept""#])),
                &KEY.public_pem,
                E::UnsupportedComponent(r#""Accept""#.to_owned()),
            ),
            (
                "sf on a field of unknown type",
                Req::get().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""accept";sf"#,
                ])),
                &KEY.public_pem,
                E::UnsupportedComponent(r#""accept";sf"#.to_owned()),
            ),
            (
                "req in a request",
                Req::get().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""accept";req"#,
                ])),
                &KEY.public_pem,
                E::UnsupportedComponent(r#""accept";req"#.to_owned()),
            ),
            (
                "component covered twice",
                Req::get().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""@method""#,
                ])),
                &KEY.public_pem,
                E::DuplicateComponent(r#""@method""#.to_owned()),
            ),
            (
                "covered header missing from the request",
                Req::get().signed_9421(&with(&[
                    r#""@method""#,
                    r#""@target-uri""#,
                    r#""x-missing""#,
                ])),
                &KEY.public_pem,
                E::MissingHeader("x-missing".to_owned()),
            ),
            (
                "first label verified, not the second",
                Req::get()
                    .with(
                        "signature-input",
                        r#"first=("@method" "@target-uri");created=1700000000;keyid="k""#,
                    )
                    .with("signature", "first=:AAAA:")
                    .signed_9421(&Msg::get()),
                &KEY.public_pem,
                E::InvalidSignature,
            ),
            (
                "label missing from the signature header",
                Req::get()
                    .signed_9421(&Msg::get())
                    .replacing("signature", "other=:AAAA:"),
                &KEY.public_pem,
                E::MissingLabel("sig1".to_owned()),
            ),
            (
                "signature-input without signature",
                Req::get().signed_9421(&Msg::get()).without("signature"),
                &KEY.public_pem,
                E::Missing,
            ),
            (
                "signature-input not a dictionary",
                Req::get()
                    .with("signature-input", "sig1")
                    .with("signature", "sig1=:AAAA:"),
                &KEY.public_pem,
                E::Malformed("signature-input sig1 is not a list of components".to_owned()),
            ),
            (
                "signature-input garbled",
                Req::get()
                    .with("signature-input", r#"sig1=("@method""#)
                    .with("signature", "sig1=:AAAA:"),
                &KEY.public_pem,
                E::Malformed("signature-input header has an unterminated inner list".to_owned()),
            ),
            (
                "signature not a byte sequence",
                Req::get()
                    .signed_9421(&Msg::get())
                    .replacing("signature", r#"sig1="AAAA""#),
                &KEY.public_pem,
                E::Malformed("signature sig1 is not a byte sequence".to_owned()),
            ),
            (
                "created not an integer",
                Req::get().signed_9421(
                    &Msg::get().params(&format!(r#";created="now";keyid="{KEY_ID}""#)),
                ),
                &KEY.public_pem,
                E::Malformed("created is not an integer".to_owned()),
            ),
            (
                "component not a string",
                Req::get()
                    .with("signature-input", r#"sig1=(method);keyid="k""#)
                    .with("signature", "sig1=:AAAA:"),
                &KEY.public_pem,
                E::Malformed(
                    "signature-input sig1 covers a component that is not a string".to_owned(),
                ),
            ),
            (
                "repeated label",
                Req::get()
                    .signed_9421(&Msg::get())
                    .with("signature-input", r#"sig1=("@method");keyid="k""#),
                &KEY.public_pem,
                E::Malformed("signature-input header repeats the key sig1".to_owned()),
            ),
        ];
        for (case, req, pem, expected) in cases {
            assert_eq!(req.check_with(now(), pem), Err(expected), "{case}");
        }
    }

    #[test]
    fn an_rfc_9421_signature_for_another_host_is_refused() {
        let post = Req::post_9421().signed_9421(&Msg::fedify_post());
        let map = post.header_map();
        let view = post.view(&map);
        assert!(precheck(&view, now(), MASTODON_WINDOW).is_ok());
        assert_eq!(check_host(&view, "hearth.example", 443), Ok(()));
        assert_eq!(
            check_host(&view, "other.example", 443),
            Err(SignatureError::WrongHost("hearth.example".to_owned()))
        );
        // The authority of the signature base is the Host header's, so
        // putting the other server's there breaks the signature instead.
        let moved = post.replacing("host", "other.example");
        let map = moved.header_map();
        let view = moved.view(&map);
        let sig = precheck(&view, now(), MASTODON_WINDOW).unwrap();
        assert_eq!(check_host(&view, "other.example", 443), Ok(()));
        assert_eq!(
            verify(&view, &sig, &KEY.public_pem),
            Err(SignatureError::InvalidSignature)
        );
        // Same for the scheme: a signature made over http:// does not
        // verify on a server reached over https.
        let get = Req::get().signed_9421(&Msg::get());
        let map = get.header_map();
        let plain = SignedRequest {
            scheme: "http",
            ..get.view(&map)
        };
        let sig = precheck(&plain, now(), MASTODON_WINDOW).unwrap();
        assert_eq!(
            verify(&plain, &sig, &KEY.public_pem),
            Err(SignatureError::InvalidSignature)
        );
    }

    #[test]
    fn derives_rfc_9421_components() {
        let req = Req {
            method: "get",
            path: "/p/%C3%A9t%C3%A9?a=1&b=%20",
            headers: vec![],
            body: None,
        }
        .with("host", "Hearth.Example:443")
        .with("x-multi", " one ")
        .with("x-multi", "two\t")
        .with("x-empty", "")
        .with("content-digest", "sha-256=:aGk=:,  sha-512=:aGk=:;p=1");
        let mut map = req.header_map();
        map.insert(
            "x-latin",
            HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        );
        let view = req.view(&map);
        let cases = [
            (r#""@method""#, Ok("GET")),
            (r#""@scheme""#, Ok("https")),
            (r#""@authority""#, Ok("hearth.example")),
            (
                r#""@target-uri""#,
                Ok("https://hearth.example/p/%C3%A9t%C3%A9?a=1&b=%20"),
            ),
            (r#""@request-target""#, Ok("/p/%C3%A9t%C3%A9?a=1&b=%20")),
            (r#""@path""#, Ok("/p/%C3%A9t%C3%A9")),
            (r#""@query""#, Ok("?a=1&b=%20")),
            (r#""x-multi""#, Ok("one, two")),
            (r#""x-multi";bs"#, Ok(":b25l:, :dHdv:")),
            (r#""x-empty""#, Ok("")),
            (
                r#""content-digest";sf"#,
                Ok("sha-256=:aGk=:, sha-512=:aGk=:;p=1"),
            ),
            (r#""content-digest";key="sha-512""#, Ok(":aGk=:;p=1")),
            (
                r#""content-digest";key="md5""#,
                Err(SignatureError::MissingHeader(
                    r#""content-digest";key="md5""#.to_owned(),
                )),
            ),
            (
                r#""x-latin""#,
                Err(SignatureError::InvalidHeaderValue("x-latin".to_owned())),
            ),
            (
                r#""x-absent""#,
                Err(SignatureError::MissingHeader("x-absent".to_owned())),
            ),
            (
                r#""@path";x"#,
                Err(SignatureError::UnsupportedComponent(
                    r#""@path";x"#.to_owned(),
                )),
            ),
            (
                r#""x-multi";tr"#,
                Err(SignatureError::UnsupportedComponent(
                    r#""x-multi";tr"#.to_owned(),
                )),
            ),
        ];
        for (id, expected) in cases {
            let sig = parse_message_signature(&format!(r#"s=({id});keyid="k""#), "s=:AAAA:")
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(sig.covered(), vec![id.to_owned()]);
            let base = signature_base(&view, &sig);
            let expected = expected
                .map(|value| format!("{id}: {value}\n\"@signature-params\": ({id});keyid=\"k\""));
            assert_eq!(base, expected, "{id}");
        }
        // An empty path is "/"; "@query" of a request without one is "?".
        let bare = Req {
            method: "POST",
            path: "",
            headers: vec![],
            body: None,
        }
        .with("host", "localhost:80");
        let map = bare.header_map();
        let view = SignedRequest {
            scheme: "http",
            ..bare.view(&map)
        };
        let sig = parse_message_signature(
            r#"s=("@target-uri" "@path" "@query" "@authority");keyid="k""#,
            "s=:AAAA:",
        )
        .unwrap();
        assert_eq!(
            signature_base(&view, &sig).unwrap(),
            "\"@target-uri\": http://localhost/\n\
             \"@path\": /\n\
             \"@query\": ?\n\
             \"@authority\": localhost\n\
             \"@signature-params\": (\"@target-uri\" \"@path\" \"@query\" \"@authority\");keyid=\"k\""
        );
    }

    #[test]
    fn parses_and_serialises_structured_field_dictionaries() {
        let cases = [
            (
                "signature-input shape",
                r#"sig1=("@method" "@target-uri";sf "content-digest";key="sha-256");created=1618884473;keyid="k";alg="rsa-v1_5-sha256""#,
                Ok(
                    r#"sig1=("@method" "@target-uri";sf "content-digest";key="sha-256");created=1618884473;keyid="k";alg="rsa-v1_5-sha256""#,
                ),
            ),
            (
                "whitespace normalised",
                "a=(  \"x\"   \"y\" )  ,\tb=1 ,c",
                Ok(r#"a=("x" "y"), b=1, c"#),
            ),
            (
                "every bare item",
                r#"i=-42, d=1.50, z=-0.0, s="q\"\\", t=tok/en:x, b=:aGk:, f=?0, t2=?1;p=?1;q=?0, e=()"#,
                Ok(
                    r#"i=-42, d=1.5, z=0.0, s="q\"\\", t=tok/en:x, b=:aGk=:, f=?0, t2;p;q=?0, e=()"#,
                ),
            ),
            ("leading zeros", "n=007, d=003.100", Ok("n=7, d=3.1")),
            ("empty", "", Ok("")),
            ("upper-case key", "A=1", Err("has no key at byte 0")),
            ("trailing comma", "a=1,", Err("ends with a comma")),
            ("no comma", "a=1 b=2", Err("has no comma at byte 4")),
            (
                "unterminated list",
                "a=(1 2",
                Err("has an unterminated inner list"),
            ),
            (
                "no space in list",
                r#"a=("x""y")"#,
                Err("has no space between items at byte 6"),
            ),
            (
                "bad escape",
                r#"a="\x""#,
                Err("has a bad escape in a string"),
            ),
            (
                "unterminated string",
                r#"a="x"#,
                Err("has an unterminated string"),
            ),
            ("repeated key", "a=1, a=2", Err("repeats the key a")),
            (
                "repeated parameter",
                "a=1;p;p=2",
                Err("repeats the parameter p"),
            ),
            (
                "bad base64",
                "a=:a*:",
                Err("has an unterminated byte sequence"),
            ),
            (
                "not base64",
                "a=:a===b:",
                Err("has a byte sequence that is not base64"),
            ),
            (
                "long integer",
                "a=1234567890123456",
                Err("has an integer of more than 15 digits"),
            ),
            ("long fraction", "a=1.2345", Err("has a malformed decimal")),
            (
                "bare sign",
                "a=-x",
                Err("has a sign without digits at byte 3"),
            ),
            ("bad boolean", "a=?2", Err("has a malformed boolean")),
            ("no value", "a=)", Err("has no value at byte 2")),
            ("non-ascii", "a=\"\u{e9}\"", Err("is not ascii")),
            (
                "control character",
                "a=\"\u{7f}\"",
                Err("has a control character in a string"),
            ),
        ];
        for (case, input, expected) in cases {
            let parsed = sf::parse_dictionary(input).map(|d| sf::serialize_dictionary(&d));
            assert_eq!(
                parsed,
                expected.map(str::to_owned).map_err(str::to_owned),
                "{case}"
            );
        }
    }

    /// Garbage in either RFC 9421 header must come back as an error, never
    /// a panic, from every public function.
    #[test]
    fn rfc_9421_garbage_never_panics() {
        let mut rng = StdRng::seed_from_u64(0x0939_0421);
        let vocabulary: [&[u8]; 24] = [
            b"sig1",
            b"=",
            b"(",
            b")",
            b"\"@method\"",
            b"\"@target-uri\"",
            b"\"content-digest\"",
            b";",
            b"created=1700000000",
            b"keyid=\"k\"",
            b"key=\"sha-256\"",
            b"sf",
            b"bs",
            b":",
            b"aGk=",
            b",",
            b" ",
            b"\\",
            b"\"",
            b"?1",
            b"-1.5",
            b"99999999999999999999",
            b"*",
            b"\t",
        ];
        let valid = Req::post_9421().signed_9421(&Msg::fedify_post());
        let base = valid
            .clone()
            .without("signature-input")
            .without("signature");
        for round in 0..400 {
            let raw = |rng: &mut StdRng| -> Vec<u8> {
                (0..rng.gen_range(0..30))
                    .flat_map(|_| {
                        if rng.gen_bool(0.9) {
                            vocabulary[rng.gen_range(0..vocabulary.len())].to_vec()
                        } else {
                            vec![rng.r#gen::<u8>()]
                        }
                    })
                    .collect()
            };
            let (input, signature) = if round % 2 == 0 {
                (raw(&mut rng), raw(&mut rng))
            } else {
                let mut input = valid.header("signature-input").into_bytes();
                let at = rng.gen_range(0..=input.len());
                let tail = input.split_off(at);
                input.extend(raw(&mut rng));
                input.extend(tail);
                (input, valid.header("signature").into_bytes())
            };
            let _ = parse_message_signature(
                &String::from_utf8_lossy(&input),
                &String::from_utf8_lossy(&signature),
            );
            let (Ok(input), Ok(signature)) = (
                HeaderValue::from_bytes(&input),
                HeaderValue::from_bytes(&signature),
            ) else {
                continue;
            };
            let mut map = base.header_map();
            map.insert("signature-input", input.clone());
            map.insert("signature", signature);
            if round % 3 == 0 {
                map.insert("content-digest", input);
            }
            let req = base.view(&map);
            if let Ok(sig) = precheck(&req, now(), MASTODON_WINDOW) {
                let _ = verify(&req, &sig, &KEY.public_pem);
            }
        }
    }
}

//! Liberal readers for what other servers send about posts: the objects
//! (threads and replies), the votes and reactions on them, and the activities
//! that carry both.
//!
//! The fediverse agrees on very little of the shape: a field may be a URL, an
//! embedded object or a list of either; `to` may be one string or a list; the
//! public audience may be spelled three ways; `tag` may be one object or a
//! list; a group-bound post may name its group in `audience` (FEP-1b12), in
//! `to`/`cc`, or only in a mention. These readers accept all of that and hand
//! back one plain shape. They do not sanitise HTML (callers do) and do not
//! touch the database.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use url::Url;

use crate::protocol::{id_of, is_public, type_of};

/// Activity types that may be wrapped in an `Announce` (FEP-1b12 groups
/// announce whole activities; Mbin also announces announces).
pub const ACTIVITY_TYPES: &[&str] = &[
    "Create",
    "Update",
    "Delete",
    "Like",
    "Dislike",
    "EmojiReact",
    "Undo",
    "Add",
    "Remove",
    "Block",
    "Flag",
    "Lock",
    "Follow",
    "Accept",
    "Reject",
    "Announce",
];

/// The ActivityStreams namespace, which some servers spell out in `type`.
const AS_NAMESPACE: &str = "https://www.w3.org/ns/activitystreams#";

/// What kind of post an object is. `Article` (WordPress, Friendica long
/// posts) and `Question` (polls) are read as posts too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    Page,
    Note,
    Article,
    Question,
}

impl ObjectKind {
    /// The kind for an ActivityStreams type, if it is a post type.
    pub fn from_type(kind: &str) -> Option<Self> {
        match canonical_type(kind) {
            "Page" => Some(ObjectKind::Page),
            "Note" => Some(ObjectKind::Note),
            "Article" => Some(ObjectKind::Article),
            "Question" => Some(ObjectKind::Question),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ObjectKind::Page => "Page",
            ObjectKind::Note => "Note",
            ObjectKind::Article => "Article",
            ObjectKind::Question => "Question",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKind {
    Hashtag,
    Mention,
    Emoji,
    /// Anything else, e.g. PieFed's `lemmy:CommunityTag` flair.
    Other(String),
}

/// One entry of an object's `tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    /// As sent (`@mira@hearth.example`, `:blobcat:`), except that hashtag
    /// names are normalised: no leading `#`, lower-cased (`#LongCovid` →
    /// `longcovid`).
    pub name: Option<String>,
    /// `href`, or for tags that have none (custom emoji, flair) their `id`.
    pub href: Option<Url>,
}

/// A post (thread) or reply as read from any server.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingObject {
    pub id: Url,
    pub kind: ObjectKind,
    /// `attributedTo`: a URL, an object with `id`, or a list (the first
    /// Person-like entry, else the first URL).
    pub attributed_to: Url,
    /// FEP-1b12 `audience`: the group the object belongs to.
    pub audience: Option<Url>,
    /// `to` without the public audience.
    pub to: Vec<Url>,
    /// `cc` without the public audience.
    pub cc: Vec<Url>,
    /// Whether `to` or `cc` held the public audience, in any spelling.
    pub public: bool,
    pub in_reply_to: Option<Url>,
    /// The title (`name`; Lemmy, Mbin and PieFed threads have one).
    pub name: Option<String>,
    /// `content`, else the first value of `contentMap`. Not sanitised.
    pub content_html: Option<String>,
    /// `source.content` when `source.mediaType` is `text/markdown`.
    pub source_markdown: Option<String>,
    /// The content warning (Mastodon) or summary.
    pub summary: Option<String>,
    /// Hearth's own `contentWarning` (a Hearth `Page`'s `summary` may be
    /// an excerpt).
    pub content_warning: Option<String>,
    pub sensitive: bool,
    /// The page for people: `url` as a string, a Link, or a list (the first
    /// `text/html` one, else the first that reads).
    pub url: Option<Url>,
    /// Link posts (Lemmy, Mbin, PieFed): the `href` of the first `Link`
    /// in `attachment`.
    pub link: Option<Url>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub tags: Vec<Tag>,
    /// Hearth's own property `supportKind` (or `hearth:supportKind`): any
    /// string; callers validate it.
    pub support_kind: Option<String>,
    /// Hearth's `speakingAs` (`peer` or `professional`), unchecked.
    pub speaking_as: Option<String>,
    /// Hearth's `disclaimer` of a professional's post, unchecked.
    pub disclaimer: Option<String>,
    /// Hearth's own `sources` (or `hearth:sources`): each entry's `href`,
    /// `name` and `sourceType`, unchecked.
    pub sources: Vec<IncomingSource>,
    /// Hearth's own `label` (or `hearth:label`): `None` when the object
    /// does not carry the property, `Some(None)` when it is `null` (the
    /// label taken off).
    pub label: Option<Option<IncomingLabelObject>>,
}

/// One entry of Hearth's `sources`, unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncomingSource {
    pub href: String,
    pub name: String,
    pub source_type: String,
}

/// Hearth's `label`, unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncomingLabelObject {
    pub label_type: String,
    pub note: String,
    pub href: Option<String>,
    pub attributed_to: Option<Url>,
    pub published: Option<DateTime<Utc>>,
}

/// Hearth's `sources`: entries that are not objects are skipped.
fn incoming_sources(map: &Map<String, Value>) -> Vec<IncomingSource> {
    let Some(list) = ["sources", "hearth:sources"]
        .iter()
        .find_map(|key| map.get(*key))
    else {
        return Vec::new();
    };
    let items: Vec<&Value> = match list {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    items
        .into_iter()
        .filter_map(Value::as_object)
        .map(|entry| IncomingSource {
            href: text(entry, "href").unwrap_or_default(),
            name: text(entry, "name").unwrap_or_default(),
            source_type: ["sourceType", "hearth:sourceType"]
                .iter()
                .find_map(|key| text(entry, key))
                .unwrap_or_default(),
        })
        .collect()
}

/// Hearth's `label`: absent, `null`, or an object.
fn incoming_label(map: &Map<String, Value>) -> Option<Option<IncomingLabelObject>> {
    let value = ["label", "hearth:label"]
        .iter()
        .find_map(|key| map.get(*key))?;
    Some(value.as_object().map(|entry| {
        IncomingLabelObject {
            label_type: ["labelType", "hearth:labelType"]
                .iter()
                .find_map(|key| text(entry, key))
                .unwrap_or_default(),
            note: text(entry, "content").unwrap_or_default(),
            href: text(entry, "href"),
            attributed_to: entry.get("attributedTo").and_then(id_of),
            published: entry.get("published").and_then(timestamp),
        }
    }))
}

impl IncomingObject {
    /// The `href`s of the `Mention` tags.
    pub fn mentions(&self) -> impl Iterator<Item = &Url> {
        self.tags
            .iter()
            .filter(|tag| tag.kind == TagKind::Mention)
            .filter_map(|tag| tag.href.as_ref())
    }

    /// The names of the `Hashtag` tags without the leading `#`, lower-cased.
    pub fn hashtags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .filter(|tag| tag.kind == TagKind::Hashtag)
            .filter_map(|tag| tag.name.as_deref())
    }

    /// The group this object is for: `audience` if present, else the first
    /// of `to`, `cc` and the mentions that `is_group` says is a group.
    pub fn group(&self, is_group: impl Fn(&Url) -> bool) -> Option<Url> {
        if let Some(audience) = &self.audience {
            return Some(audience.clone());
        }
        self.to
            .iter()
            .chain(&self.cc)
            .chain(self.mentions())
            .find(|url| is_group(url))
            .cloned()
    }
}

/// Reads a post or reply (`Page`, `Note`, `Article`, `Question`).
pub fn parse_object(value: &Value) -> Result<IncomingObject, ObjectError> {
    let map = as_map(value)?;
    let kind = post_kind(value)?;
    let id = map
        .get("id")
        .and_then(id_of)
        .ok_or(ObjectError::Missing("id"))?;
    let attributed_to = map
        .get("attributedTo")
        .and_then(author)
        .ok_or(ObjectError::Missing("attributedTo"))?;
    let (to, to_public) = addressing(map.get("to"));
    let (cc, cc_public) = addressing(map.get("cc"));

    Ok(IncomingObject {
        id,
        kind,
        attributed_to,
        audience: map.get("audience").and_then(first_url),
        to,
        cc,
        public: to_public || cc_public,
        in_reply_to: map.get("inReplyTo").and_then(id_of),
        name: text_or_map(map, "name", "nameMap"),
        content_html: text_or_map(map, "content", "contentMap"),
        source_markdown: map.get("source").and_then(markdown_source),
        summary: text_or_map(map, "summary", "summaryMap"),
        content_warning: text(map, "contentWarning"),
        sensitive: map
            .get("sensitive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        url: map.get("url").and_then(page_url),
        link: map.get("attachment").and_then(link_attachment),
        published: map.get("published").and_then(timestamp),
        updated: map.get("updated").and_then(timestamp),
        tags: map.get("tag").map(tags).unwrap_or_default(),
        support_kind: ["supportKind", "hearth:supportKind"]
            .iter()
            .find_map(|key| text(map, key)),
        sources: incoming_sources(map),
        label: incoming_label(map),
        speaking_as: ["speakingAs", "hearth:speakingAs"]
            .iter()
            .find_map(|key| text(map, key)),
        disclaimer: ["disclaimer", "hearth:disclaimer"]
            .iter()
            .find_map(|key| text(map, key)),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactionKind {
    Like,
    Dislike,
    EmojiReact,
}

/// A vote or reaction on a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingReaction {
    pub id: Url,
    pub kind: ReactionKind,
    pub actor: Url,
    /// The post reacted to.
    pub object: Url,
    /// The emoji, for `EmojiReact` and for `Like`s that carry one
    /// (Misskey, PieFed).
    pub content: Option<String>,
    pub audience: Option<Url>,
}

/// Reads a `Like`, `Dislike` or `EmojiReact` (Misskey/Pleroma style: the
/// emoji is `content`; Misskey's `_misskey_reaction` is read too).
pub fn parse_reaction(value: &Value) -> Result<IncomingReaction, ObjectError> {
    let map = as_map(value)?;
    let kind = reaction_kind(value)?;
    Ok(IncomingReaction {
        id: map
            .get("id")
            .and_then(id_of)
            .ok_or(ObjectError::Missing("id"))?,
        kind,
        actor: map
            .get("actor")
            .and_then(id_of)
            .ok_or(ObjectError::Missing("actor"))?,
        object: map
            .get("object")
            .and_then(id_of)
            .ok_or(ObjectError::Missing("object"))?,
        content: text(map, "content").or_else(|| text(map, "_misskey_reaction")),
        audience: map.get("audience").and_then(first_url),
    })
}

/// The outside of an activity: who did what, to whom, and what it wraps.
/// `Create`/`Update` wrap the full object; `Delete` a URL, a `Tombstone`
/// (`{id, formerType}`) or the object; `Undo` the activity undone (a
/// `Like`, `Dislike`, `EmojiReact`, `Follow`…) or its URL; `Announce` see
/// [`announced`].
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: Url,
    /// The activity type, with any `as:` prefix removed.
    pub kind: String,
    pub actor: Url,
    /// `object` as sent.
    pub object: Value,
    /// The id of `object`, whether it was sent as a URL or embedded.
    pub object_id: Option<Url>,
    /// The `type` of an embedded `object`.
    pub object_kind: Option<String>,
    /// The activity's `audience`, else that of its embedded object.
    pub audience: Option<Url>,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
    pub public: bool,
}

/// Reads the outside of any activity. Which types are acted on is the
/// caller's business; this only needs an `id`, a `type`, an `actor` and an
/// `object`.
pub fn parse_envelope(value: &Value) -> Result<Envelope, ObjectError> {
    let map = as_map(value)?;
    let kind = types(value)
        .next()
        .map(|kind| canonical_type(kind).to_owned())
        .ok_or(ObjectError::MissingType)?;
    let id = map
        .get("id")
        .and_then(id_of)
        .ok_or(ObjectError::Missing("id"))?;
    let actor = map
        .get("actor")
        .and_then(id_of)
        .ok_or(ObjectError::Missing("actor"))?;
    let object = match map.get("object") {
        None | Some(Value::Null) => return Err(ObjectError::Missing("object")),
        Some(object) => object.clone(),
    };
    let (to, to_public) = addressing(map.get("to"));
    let (cc, cc_public) = addressing(map.get("cc"));
    let audience = map
        .get("audience")
        .and_then(first_url)
        .or_else(|| object.get("audience").and_then(first_url));

    Ok(Envelope {
        id,
        kind,
        actor,
        object_id: id_of(&object),
        object_kind: embedded(&object)
            .and_then(type_of)
            .map(|kind| canonical_type(kind).to_owned()),
        object,
        audience,
        to,
        cc,
        public: to_public || cc_public,
    })
}

/// What an `Announce` wraps.
#[derive(Debug, Clone, PartialEq)]
pub enum Announced {
    /// A whole activity (`Create`, `Like`, `Delete`…), as Lemmy and other
    /// FEP-1b12 groups send.
    Activity(Value),
    /// A bare object (`Note`, `Page`…), as some boosts embed.
    Object(Value),
    /// Only the id, as Mastodon boosts (and many others) send.
    Reference(Url),
}

/// For an `Announce`: the thing it wraps.
pub fn announced(envelope: &Envelope) -> Result<Announced, ObjectError> {
    if envelope.kind != "Announce" {
        return Err(ObjectError::Malformed(format!(
            "expected an `Announce`, found a `{}`",
            envelope.kind
        )));
    }
    announced_value(&envelope.object)
}

fn announced_value(object: &Value) -> Result<Announced, ObjectError> {
    match object {
        Value::String(_) => id_of(object)
            .map(Announced::Reference)
            .ok_or(ObjectError::Missing("object")),
        Value::Object(_) => {
            if types(object).any(|kind| ACTIVITY_TYPES.contains(&canonical_type(kind))) {
                Ok(Announced::Activity(object.clone()))
            } else if types(object).next().is_some() {
                Ok(Announced::Object(object.clone()))
            } else {
                id_of(object)
                    .map(Announced::Reference)
                    .ok_or(ObjectError::Missing("object"))
            }
        }
        Value::Array(items) if items.len() == 1 => announced_value(&items[0]),
        _ => Err(ObjectError::Missing("object")),
    }
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectError {
    /// A field that must be a URL (or an object with one as `id`) is not.
    #[error("`{0}` is missing or not a URL")]
    Missing(&'static str),
    #[error("`type` is missing or not a string")]
    MissingType,
    /// A type this reader does not take (e.g. `Video` where a post is read).
    #[error("unsupported type `{0}`")]
    UnsupportedType(String),
    #[error("{0}")]
    Malformed(String),
}

// ---------------------------------------------------------------------------
// Helpers

fn as_map(value: &Value) -> Result<&Map<String, Value>, ObjectError> {
    value.as_object().ok_or_else(|| {
        ObjectError::Malformed(format!(
            "expected a JSON object, found {}",
            json_kind(value)
        ))
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `Note`, `as:Note` and the full IRI all read as `Note`.
fn canonical_type(kind: &str) -> &str {
    kind.strip_prefix("as:")
        .or_else(|| kind.strip_prefix(AS_NAMESPACE))
        .unwrap_or(kind)
}

/// Every string in `type` (one string, or a list of them).
fn types(value: &Value) -> impl Iterator<Item = &str> {
    let items: &[Value] = match value.get("type") {
        Some(Value::Array(items)) => items,
        Some(single @ Value::String(_)) => std::slice::from_ref(single),
        _ => &[],
    };
    items.iter().filter_map(Value::as_str)
}

fn post_kind(value: &Value) -> Result<ObjectKind, ObjectError> {
    if let Some(kind) = types(value).find_map(ObjectKind::from_type) {
        return Ok(kind);
    }
    match types(value).next() {
        Some(other) => Err(ObjectError::UnsupportedType(other.to_owned())),
        None => Err(ObjectError::MissingType),
    }
}

fn reaction_kind(value: &Value) -> Result<ReactionKind, ObjectError> {
    let known = types(value).find_map(|kind| match canonical_type(kind) {
        "Like" => Some(ReactionKind::Like),
        "Dislike" => Some(ReactionKind::Dislike),
        "EmojiReact" => Some(ReactionKind::EmojiReact),
        _ => None,
    });
    if let Some(kind) = known {
        return Ok(kind);
    }
    match types(value).next() {
        Some(other) => Err(ObjectError::UnsupportedType(other.to_owned())),
        None => Err(ObjectError::MissingType),
    }
}

/// The value itself if it is an embedded object (or a one-element list of one).
fn embedded(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(_) => Some(value),
        Value::Array(items) => items.first().filter(|item| item.is_object()),
        _ => None,
    }
}

/// Reads `to`/`cc`: one entry or a list; each a URL string or an object
/// with `id`. The public audience is taken out and reported separately;
/// entries that are not URLs are dropped; duplicates are kept once.
fn addressing(value: Option<&Value>) -> (Vec<Url>, bool) {
    let mut urls: Vec<Url> = Vec::new();
    let mut public = false;
    let items: &[Value] = match value {
        Some(Value::Array(items)) => items,
        Some(single) => std::slice::from_ref(single),
        None => &[],
    };
    for item in items {
        let raw = match item {
            Value::String(s) => Some(s.as_str()),
            Value::Object(map) => map.get("id").and_then(Value::as_str),
            _ => None,
        };
        let Some(raw) = raw.map(str::trim) else {
            continue;
        };
        if is_public(raw) {
            public = true;
        } else if let Ok(url) = Url::parse(raw)
            && !urls.contains(&url)
        {
            urls.push(url);
        }
    }
    (urls, public)
}

/// The first URL of a field that may be one value or a list, skipping the
/// public audience (some servers put it in `audience`).
fn first_url(value: &Value) -> Option<Url> {
    let (urls, _) = addressing(Some(value));
    urls.into_iter().next()
}

fn is_person_like(kind: &str) -> bool {
    matches!(
        canonical_type(kind),
        "Person" | "Service" | "Application" | "Organization"
    )
}

/// `attributedTo`: a URL, an object, or a list of either (PeerTube lists
/// the channel Group and the account Person).
fn author(value: &Value) -> Option<Url> {
    match value {
        Value::Array(items) => items
            .iter()
            .find(|item| type_of(item).is_some_and(is_person_like))
            .and_then(id_of)
            .or_else(|| items.iter().filter(|item| item.is_string()).find_map(id_of))
            .or_else(|| items.iter().find_map(id_of)),
        other => id_of(other),
    }
}

/// A string field, if present and not blank.
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// A natural-language field: `key`, else the first non-blank value of its
/// language map (`contentMap`, `nameMap`, `summaryMap`).
fn text_or_map(map: &Map<String, Value>, key: &str, map_key: &str) -> Option<String> {
    text(map, key).or_else(|| {
        map.get(map_key)?
            .as_object()?
            .values()
            .filter_map(Value::as_str)
            .find(|s| !s.trim().is_empty())
            .map(str::to_owned)
    })
}

/// `mediaType` names `wanted`, ignoring case and parameters.
fn media_type_is(media_type: &str, wanted: &str) -> bool {
    media_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(wanted))
}

/// `source.content` when it is Markdown (Lemmy, Mbin, PieFed). Friendica's
/// BBCode source and Mbin's URL-as-source are ignored.
fn markdown_source(source: &Value) -> Option<String> {
    let source = source.as_object()?;
    let media_type = source.get("mediaType")?.as_str()?;
    if !media_type_is(media_type, "text/markdown") {
        return None;
    }
    text(source, "content")
}

/// `url`: a string, a Link (`href`), an object with `url`, or a list of any
/// of them — the first `text/html` entry, else the first that reads.
fn page_url(value: &Value) -> Option<Url> {
    match value {
        Value::String(s) => Url::parse(s.trim()).ok(),
        Value::Object(map) => map
            .get("href")
            .and_then(Value::as_str)
            .and_then(|href| Url::parse(href.trim()).ok())
            .or_else(|| map.get("url").and_then(page_url)),
        Value::Array(items) => items
            .iter()
            .filter(|item| {
                item.get("mediaType")
                    .and_then(Value::as_str)
                    .is_some_and(|media_type| media_type_is(media_type, "text/html"))
            })
            .find_map(page_url)
            .or_else(|| items.iter().find_map(page_url)),
        _ => None,
    }
}

/// The `href` of the first `Link` in `attachment` (one object or a list).
fn link_attachment(value: &Value) -> Option<Url> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        single => std::slice::from_ref(single),
    };
    items
        .iter()
        .filter(|item| types(item).any(|kind| canonical_type(kind) == "Link"))
        .find_map(|item| {
            item.get("href")
                .and_then(Value::as_str)
                .and_then(|href| Url::parse(href.trim()).ok())
        })
}

/// An RFC 3339 time with any offset (servers send `Z`, `+00:00`, local
/// offsets, and up to microseconds); anything else reads as absent.
fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    let raw = value.as_str()?;
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// `tag`: one object or a list. Entries without a `type` are skipped.
fn tags(value: &Value) -> Vec<Tag> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        single => std::slice::from_ref(single),
    };
    items.iter().filter_map(tag).collect()
}

fn tag(value: &Value) -> Option<Tag> {
    let map = value.as_object()?;
    let kind = match canonical_type(types(value).next()?) {
        "Hashtag" => TagKind::Hashtag,
        "Mention" => TagKind::Mention,
        "Emoji" | "toot:Emoji" => TagKind::Emoji,
        other => TagKind::Other(other.to_owned()),
    };
    let href = map
        .get("href")
        .and_then(Value::as_str)
        .and_then(|href| Url::parse(href.trim()).ok())
        .or_else(|| map.get("id").and_then(id_of));
    let name = match kind {
        TagKind::Hashtag => text(map, "name")
            .map(|name| name.trim().trim_start_matches('#').to_lowercase())
            .filter(|name| !name.is_empty()),
        _ => text(map, "name"),
    };
    Some(Tag { kind, name, href })
}

/// The reporter's words and what a `Flag` names: Lemmy's (one post in
/// `object`, the reason in `summary`), Mastodon's (the account and posts
/// as a list in `object`, the comment in `content`) and Hearth's (either,
/// plus `reportCategory`).
pub fn parse_flag(raw: &Value) -> hearth_app::moderation::IncomingFlag {
    let objects = match raw.get("object") {
        Some(Value::Array(items)) => items.iter().filter_map(id_of).collect(),
        Some(one) => id_of(one).into_iter().collect(),
        None => Vec::new(),
    };
    let text = |key: &str| {
        raw.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    hearth_app::moderation::IncomingFlag {
        objects: objects.iter().map(Url::to_string).collect(),
        comment: text("content").or_else(|| text("summary")),
        category: text("reportCategory"),
    }
}

/// The terms of a `Block` of a person by a group's moderator: its reason
/// (`summary`), its end (`endTime`, or Lemmy's older `expires`), and
/// whether the person's content goes too (`removeData`). A malformed end
/// is refused rather than read as "forever".
pub fn parse_ban_terms(raw: &Value) -> Result<hearth_domain::moderation::BanTerms, ObjectError> {
    let end = raw
        .get("endTime")
        .filter(|v| !v.is_null())
        .or_else(|| raw.get("expires").filter(|v| !v.is_null()));
    let expires_at = match end {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| ObjectError::Malformed("endTime is not a date".into()))?,
        ),
    };
    Ok(hearth_domain::moderation::BanTerms {
        reason: raw
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        expires_at,
        remove_data: raw
            .get("removeData")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GROUP: &str = "https://hearth.example/g/longcovid";
    const THREAD: &str = "https://hearth.example/p/1742";

    fn fixture(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn urls(list: &[&str]) -> Vec<Url> {
        list.iter().map(|s| url(s)).collect()
    }

    /// How Hearth would answer "is this a group?" for these fixtures.
    fn is_hearth_group(url: &Url) -> bool {
        url.host_str() == Some("hearth.example") && url.path().starts_with("/g/")
    }

    fn time(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The object of a `Create`/`Update`, read as a post.
    fn created(value: &Value) -> (Envelope, IncomingObject) {
        let envelope = parse_envelope(value).unwrap();
        let object = parse_object(&envelope.object).unwrap();
        (envelope, object)
    }

    // --- Mastodon --------------------------------------------------------

    #[test]
    fn mastodon_public_note_mentioning_the_group_is_public_and_addressed_to_it() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mastodon/create-note-public.json"
        ));
        let (envelope, note) = created(&value);
        assert_eq!(envelope.kind, "Create");
        assert_eq!(envelope.actor, url("https://mastodon.example/users/rosa"));
        assert!(envelope.public);
        assert!(envelope.to.is_empty(), "the public audience is taken out");
        assert_eq!(envelope.object_kind.as_deref(), Some("Note"));
        assert_eq!(envelope.object_id, Some(note.id.clone()));

        assert_eq!(note.kind, ObjectKind::Note);
        assert!(note.public);
        assert!(note.to.is_empty());
        assert_eq!(
            note.cc,
            urls(&["https://mastodon.example/users/rosa/followers", GROUP])
        );
        assert_eq!(note.audience, None, "Mastodon has no `audience`");
        assert_eq!(note.group(is_hearth_group), Some(url(GROUP)));
        assert_eq!(note.in_reply_to, None);
        assert_eq!(note.name, None);
        assert_eq!(note.summary, None, "a null summary is no content warning");
        assert!(!note.sensitive);
        assert_eq!(note.source_markdown, None);
        assert!(note.content_html.as_deref().unwrap().contains("pacing app"));
        assert_eq!(
            note.url,
            Some(url("https://mastodon.example/@rosa/113400000000000001"))
        );
        assert_eq!(note.mentions().collect::<Vec<_>>(), vec![&url(GROUP)]);
        assert_eq!(
            note.hashtags().collect::<Vec<_>>(),
            vec!["pacing", "longcovid"]
        );
        assert_eq!(note.published, Some(time("2025-03-04T09:15:00Z")));
        assert_eq!(note.updated, None, "a null `updated` reads as absent");
        assert_eq!(note.link, None);
    }

    #[test]
    fn mastodon_public_reply_note_is_public_and_replies_to_the_thread() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mastodon/create-note-reply-to-page.json"
        ));
        let (_, note) = created(&value);
        assert!(note.public);
        assert_eq!(note.in_reply_to, Some(url(THREAD)));
        assert_eq!(note.summary.as_deref(), Some("medication, side effects"));
        assert!(note.sensitive);
        assert_eq!(
            note.mentions().collect::<Vec<_>>(),
            vec![&url("https://hearth.example/u/mira")]
        );
        assert_eq!(
            note.group(is_hearth_group),
            None,
            "a reply names no group; the thread it replies to does"
        );
    }

    #[test]
    fn mastodon_like_reads_actor_and_object_urls() {
        let value = fixture(include_str!("../../../tests/fixtures/mastodon/like.json"));
        let like = parse_reaction(&value).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(
            like.id,
            url("https://mastodon.example/users/rosa#likes/52077")
        );
        assert_eq!(like.actor, url("https://mastodon.example/users/rosa"));
        assert_eq!(like.object, url(THREAD));
        assert_eq!(like.content, None);
        assert_eq!(like.audience, None);
    }

    #[test]
    fn mastodon_undo_like_wraps_the_embedded_like() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mastodon/undo-like.json"
        ));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.kind, "Undo");
        assert_eq!(envelope.object_kind.as_deref(), Some("Like"));
        assert_eq!(
            envelope.object_id,
            Some(url("https://mastodon.example/users/rosa#likes/52077"))
        );
        assert!(!envelope.public, "Mastodon does not address likes");
        let like = parse_reaction(&envelope.object).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(like.actor, envelope.actor);
        assert_eq!(like.object, url(THREAD));
    }

    #[test]
    fn mastodon_delete_note_carries_a_tombstone_with_the_note_id() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mastodon/delete-note.json"
        ));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.kind, "Delete");
        assert_eq!(envelope.object_kind.as_deref(), Some("Tombstone"));
        assert_eq!(
            envelope.object_id,
            Some(url(
                "https://mastodon.example/users/rosa/statuses/113400000000000207"
            ))
        );
        assert!(envelope.public);
        assert_eq!(
            parse_object(&envelope.object),
            Err(ObjectError::UnsupportedType("Tombstone".into())),
            "a Tombstone is no post"
        );
    }

    #[test]
    fn mastodon_update_note_has_updated_time_and_new_content() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mastodon/update-note.json"
        ));
        let (envelope, note) = created(&value);
        assert_eq!(envelope.kind, "Update");
        assert_eq!(
            note.id,
            url("https://mastodon.example/users/rosa/statuses/113400000000000001")
        );
        assert_eq!(note.published, Some(time("2025-03-04T09:15:00Z")));
        assert_eq!(note.updated, Some(time("2025-03-04T12:15:00Z")));
        assert!(note.content_html.as_deref().unwrap().contains("Android"));
        assert_eq!(note.hashtags().collect::<Vec<_>>(), vec!["pacing"]);
    }

    #[test]
    fn mastodon_boost_of_a_hearth_post_is_a_reference() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mastodon/announce-note.json"
        ));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.kind, "Announce");
        assert_eq!(envelope.object_kind, None);
        assert_eq!(envelope.object_id, Some(url(THREAD)));
        assert_eq!(announced(&envelope), Ok(Announced::Reference(url(THREAD))));
    }

    // --- Lemmy -----------------------------------------------------------

    #[test]
    fn lemmy_page_has_title_markdown_source_link_and_audience() {
        let value = fixture(include_str!("../../../tests/fixtures/lemmy/page.json"));
        let page = parse_object(&value).unwrap();
        assert_eq!(page.kind, ObjectKind::Page);
        assert_eq!(page.attributed_to, url("https://lemmy.example/u/tomas"));
        assert_eq!(page.audience, Some(url(GROUP)));
        assert_eq!(page.group(|_| false), Some(url(GROUP)), "audience wins");
        assert!(page.public);
        assert_eq!(page.to, urls(&[GROUP]));
        assert!(page.cc.is_empty());
        assert_eq!(
            page.name.as_deref(),
            Some("New review: exercise intolerance and post-exertional malaise")
        );
        assert!(
            page.source_markdown
                .as_deref()
                .unwrap()
                .contains("**2024 review**")
        );
        assert!(
            page.content_html
                .as_deref()
                .unwrap()
                .contains("<strong>2024 review</strong>")
        );
        assert_eq!(
            page.link,
            Some(url("https://journal.example/articles/pem-review-2024"))
        );
        assert_eq!(page.url, None);
        assert_eq!(
            page.published,
            Some(time("2025-02-20T08:41:07.512093Z")),
            "microseconds are kept"
        );
        assert_eq!(page.updated, Some(time("2025-02-20T09:02:55.003114Z")));
        assert_eq!(
            page.hashtags().collect::<Vec<_>>(),
            vec!["longcovid"],
            "Lemmy tags posts with their community"
        );
    }

    #[test]
    fn lemmy_create_page_unwraps_to_a_page_for_the_group() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/lemmy/create-page.json"
        ));
        let (envelope, page) = created(&value);
        assert_eq!(envelope.kind, "Create");
        assert_eq!(envelope.audience, Some(url(GROUP)));
        assert_eq!(envelope.cc, urls(&[GROUP]));
        assert!(envelope.public);
        assert_eq!(envelope.object_kind.as_deref(), Some("Page"));
        assert_eq!(page.kind, ObjectKind::Page);
        assert_eq!(
            page.name.as_deref(),
            Some("Crash after a wedding: how long did your recovery take?")
        );
        assert_eq!(page.audience, Some(url(GROUP)));
        assert_eq!(page.link, None, "a text post has no Link attachment");
        assert!(page.source_markdown.as_deref().unwrap().contains("*rough*"));
    }

    #[test]
    fn lemmy_announce_of_create_page_unwraps_to_the_page_with_audience() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/lemmy/announce-create-page.json"
        ));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.kind, "Announce");
        assert_eq!(envelope.actor, url("https://lemmy.example/c/longcovid"));
        assert_eq!(
            envelope.audience,
            Some(url("https://lemmy.example/c/longcovid")),
            "taken from the announced activity"
        );
        assert_eq!(envelope.object_kind.as_deref(), Some("Create"));

        let Ok(Announced::Activity(inner)) = announced(&envelope) else {
            panic!("a Lemmy announce wraps an activity");
        };
        let (create, page) = created(&inner);
        assert_eq!(create.kind, "Create");
        assert_eq!(create.actor, url("https://lemmy.example/u/tomas"));
        assert_eq!(page.id, url("https://lemmy.example/post/90244"));
        assert_eq!(page.name.as_deref(), Some("Weekly check-in thread"));
        assert_eq!(
            page.audience,
            Some(url("https://lemmy.example/c/longcovid"))
        );
        assert!(page.public);
    }

    #[test]
    fn lemmy_announce_of_like_unwraps_to_a_vote() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/lemmy/announce-like.json"
        ));
        let envelope = parse_envelope(&value).unwrap();
        let Ok(Announced::Activity(inner)) = announced(&envelope) else {
            panic!("a Lemmy announce wraps an activity");
        };
        let like = parse_reaction(&inner).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(like.actor, url("https://lemmy.example/u/tomas"));
        assert_eq!(like.object, url("https://lemmy.example/post/90244"));
        assert_eq!(
            like.audience,
            Some(url("https://lemmy.example/c/longcovid"))
        );
    }

    #[test]
    fn lemmy_comment_note_replies_to_the_hearth_post_with_markdown_and_mention() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/lemmy/note-comment.json"
        ));
        let note = parse_object(&value).unwrap();
        assert_eq!(note.kind, ObjectKind::Note);
        assert_eq!(note.in_reply_to, Some(url(THREAD)));
        assert_eq!(note.audience, Some(url(GROUP)));
        assert_eq!(note.name, None);
        assert!(
            note.source_markdown
                .as_deref()
                .unwrap()
                .starts_with("[@mira@hearth.example]")
        );
        assert_eq!(
            note.mentions().collect::<Vec<_>>(),
            vec![&url("https://hearth.example/u/mira")]
        );
        assert_eq!(note.tags[0].name.as_deref(), Some("@mira@hearth.example"));
    }

    #[test]
    fn lemmy_like_is_an_upvote_with_audience() {
        let value = fixture(include_str!("../../../tests/fixtures/lemmy/like.json"));
        let like = parse_reaction(&value).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(like.object, url(THREAD));
        assert_eq!(like.audience, Some(url(GROUP)));
    }

    #[test]
    fn lemmy_dislike_is_a_downvote() {
        let value = fixture(include_str!("../../../tests/fixtures/lemmy/dislike.json"));
        let vote = parse_reaction(&value).unwrap();
        assert_eq!(vote.kind, ReactionKind::Dislike);
        assert_eq!(vote.actor, url("https://lemmy.example/u/tomas"));
        assert_eq!(vote.object, url("https://hearth.example/p/1750"));
        assert_eq!(vote.audience, Some(url(GROUP)));
    }

    #[test]
    fn lemmy_undo_like_wraps_the_like_activity() {
        let value = fixture(include_str!("../../../tests/fixtures/lemmy/undo-like.json"));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.kind, "Undo");
        assert_eq!(envelope.object_kind.as_deref(), Some("Like"));
        assert_eq!(envelope.audience, Some(url(GROUP)));
        assert!(!envelope.public, "Lemmy votes carry no addressing");
        let like = parse_reaction(&envelope.object).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(
            envelope.object_id,
            Some(like.id),
            "the Undo names the Like it undoes"
        );
    }

    #[test]
    fn lemmy_delete_page_refers_to_the_post_by_url() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/lemmy/delete-page.json"
        ));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.kind, "Delete");
        assert_eq!(
            envelope.object_id,
            Some(url("https://lemmy.example/post/90230"))
        );
        assert_eq!(envelope.object_kind, None, "only a URL was sent");
        assert_eq!(envelope.audience, Some(url(GROUP)));
        assert_eq!(envelope.cc, urls(&[GROUP]));
        assert!(envelope.public);
    }

    // --- Mbin ------------------------------------------------------------

    #[test]
    fn mbin_create_entry_page_is_a_link_post_whose_source_is_not_markdown() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mbin/create-page.json"
        ));
        let (envelope, page) = created(&value);
        assert_eq!(envelope.actor, url("https://mbin.example/u/ines"));
        assert_eq!(
            envelope.audience,
            Some(url(GROUP)),
            "the Create has none; its page does"
        );
        assert_eq!(page.kind, ObjectKind::Page);
        assert_eq!(page.audience, Some(url(GROUP)));
        assert_eq!(page.to, urls(&[GROUP]));
        assert!(page.public);
        assert_eq!(
            page.source_markdown, None,
            "Mbin puts the link URL in `source` for link posts"
        );
        assert_eq!(
            page.link,
            Some(url("https://registry.example/post-viral-clinics"))
        );
        assert_eq!(
            page.url,
            Some(url("https://registry.example/post-viral-clinics"))
        );
        assert_eq!(
            page.name.as_deref(),
            Some("Clinic list: who actually runs a post-viral service near you?")
        );
        assert!(page.summary.as_deref().unwrap().ends_with("#clinics"));
        assert_eq!(page.hashtags().collect::<Vec<_>>(), vec!["clinics"]);
        assert_eq!(page.published, Some(time("2025-02-27T14:03:51Z")));
    }

    #[test]
    fn mbin_entry_comment_note_finds_the_group_in_cc() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/mbin/create-note.json"
        ));
        let (envelope, note) = created(&value);
        assert_eq!(envelope.audience, None);
        assert_eq!(note.audience, None, "Mbin comments carry no `audience`");
        assert_eq!(note.in_reply_to, Some(url(THREAD)));
        assert_eq!(note.to, urls(&["https://hearth.example/u/mira"]));
        assert_eq!(note.group(is_hearth_group), Some(url(GROUP)));
        assert!(note.source_markdown.as_deref().unwrap().contains("NICE"));
        assert_eq!(note.url, Some(note.id.clone()));
        assert!(note.tags.is_empty());
    }

    #[test]
    fn mbin_like_is_addressed_publicly_without_audience() {
        let value = fixture(include_str!("../../../tests/fixtures/mbin/like.json"));
        let envelope = parse_envelope(&value).unwrap();
        assert!(envelope.public);
        assert_eq!(
            envelope.cc,
            urls(&["https://mbin.example/u/ines/followers"])
        );
        let like = parse_reaction(&value).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(like.object, url(THREAD));
        assert_eq!(like.audience, None);
    }

    // --- PieFed ----------------------------------------------------------

    #[test]
    fn piefed_create_page_skips_flair_tags_and_keeps_the_link() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/piefed/create-page.json"
        ));
        let (envelope, page) = created(&value);
        assert_eq!(envelope.audience, Some(url(GROUP)));
        assert_eq!(envelope.to, urls(&[GROUP]));
        assert!(envelope.public);
        assert_eq!(page.audience, Some(url(GROUP)));
        assert_eq!(
            page.link,
            Some(url("https://shop.example/electrolyte-comparison"))
        );
        assert!(page.source_markdown.as_deref().unwrap().contains("POTS"));
        assert_eq!(
            page.tags[0].kind,
            TagKind::Other("lemmy:CommunityTag".into()),
            "flair is kept as an other tag"
        );
        assert_eq!(
            page.tags[0].href,
            Some(url(
                "https://piefed.example/c/longcovid@hearth.example/tag/12"
            ))
        );
        assert_eq!(page.hashtags().collect::<Vec<_>>(), vec!["pots"]);
        assert_eq!(page.published, Some(time("2025-03-01T11:20:33.481920Z")));
    }

    #[test]
    fn piefed_comment_note_with_flair_reads_as_a_reply() {
        let value = fixture(include_str!("../../../tests/fixtures/piefed/note.json"));
        let note = parse_object(&value).unwrap();
        assert_eq!(note.kind, ObjectKind::Note);
        assert_eq!(note.in_reply_to, Some(url(THREAD)));
        assert_eq!(note.audience, Some(url(GROUP)));
        assert_eq!(note.to, urls(&["https://hearth.example/u/mira"]));
        assert_eq!(
            note.cc,
            urls(&[GROUP, "https://piefed.example/u/oona/followers"])
        );
        assert!(note.public);
        assert_eq!(note.updated, Some(time("2025-03-05T22:09:02.554871Z")));
        assert!(note.source_markdown.as_deref().unwrap().contains("diary"));
    }

    #[test]
    fn piefed_like_with_emoji_content_keeps_the_emoji() {
        let value = fixture(include_str!("../../../tests/fixtures/piefed/like.json"));
        let like = parse_reaction(&value).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(like.content.as_deref(), Some("🫂"));
        assert_eq!(like.audience, Some(url(GROUP)));
        assert_eq!(like.object, url(THREAD));
    }

    // --- Friendica -------------------------------------------------------

    #[test]
    fn friendica_reply_reads_html_not_bbcode_source_and_group_audience() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/friendica/create-note.json"
        ));
        let (envelope, note) = created(&value);
        assert_eq!(
            envelope.actor,
            url("https://friendica.example/profile/lena")
        );
        assert_eq!(envelope.audience, Some(url(GROUP)));
        assert!(envelope.public);
        assert_eq!(note.in_reply_to, Some(url(THREAD)));
        assert_eq!(note.audience, Some(url(GROUP)));
        assert_eq!(
            note.source_markdown, None,
            "Friendica's source is BBCode, not Markdown"
        );
        assert!(
            note.content_html
                .as_deref()
                .unwrap()
                .contains("langsame Steigerung"),
            "`content` is preferred over `contentMap`"
        );
        assert!(!note.content_html.as_deref().unwrap().contains("<strong>"));
        assert_eq!(
            note.url,
            Some(url(
                "https://friendica.example/display/9d41c7a2-1967-c8e3-51b0-7e2a44f81d06"
            ))
        );
        assert_eq!(note.to, urls(&["https://hearth.example/u/mira"]));
        assert_eq!(
            note.published,
            Some(time("2025-03-06T08:12:30Z")),
            "`+00:00` offsets read"
        );
    }

    // --- GoToSocial ------------------------------------------------------

    #[test]
    fn gotosocial_note_with_single_string_addressing_and_single_tag() {
        let value = fixture(include_str!(
            "../../../tests/fixtures/gotosocial/create-note.json"
        ));
        let (envelope, note) = created(&value);
        assert!(envelope.public, "`to` is one string, not a list");
        assert!(envelope.to.is_empty());
        assert!(note.public);
        assert_eq!(
            note.cc,
            urls(&["https://gts.example/users/kit/followers", GROUP])
        );
        assert_eq!(
            note.mentions().collect::<Vec<_>>(),
            vec![&url(GROUP)],
            "`tag` is one object, not a list"
        );
        assert_eq!(note.group(is_hearth_group), Some(url(GROUP)));
        assert_eq!(note.summary, None, "an empty summary is no content warning");
        assert_eq!(
            note.published,
            Some(time("2025-03-07T15:45:09Z")),
            "a local offset is converted to UTC"
        );
        assert_eq!(
            note.url,
            Some(url(
                "https://gts.example/@kit/statuses/01JNK7Q2V9R4XH3M8BZ6TCEW5D"
            ))
        );
    }

    #[test]
    fn gotosocial_like_addressed_to_a_single_string() {
        let value = fixture(include_str!("../../../tests/fixtures/gotosocial/like.json"));
        let envelope = parse_envelope(&value).unwrap();
        assert_eq!(envelope.to, urls(&["https://hearth.example/u/mira"]));
        assert!(!envelope.public);
        let like = parse_reaction(&value).unwrap();
        assert_eq!(like.kind, ReactionKind::Like);
        assert_eq!(like.actor, url("https://gts.example/users/kit"));
        assert_eq!(like.object, url(THREAD));
    }

    // --- Unit tests ------------------------------------------------------

    fn note(extra: Value) -> Value {
        let mut base = json!({
            "id": "https://a.example/notes/1",
            "type": "Note",
            "attributedTo": "https://a.example/users/ann",
            "content": "<p>hi</p>"
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            for (key, value) in extra {
                base.insert(key.clone(), value.clone());
            }
        }
        base
    }

    #[test]
    fn public_audience_is_recognised_in_every_spelling() {
        let spellings = [
            "https://www.w3.org/ns/activitystreams#Public",
            "as:Public",
            "Public",
        ];
        for spelling in spellings {
            for field in ["to", "cc"] {
                for shape in [
                    json!(spelling),
                    json!([spelling]),
                    json!([{"id": spelling}]),
                ] {
                    let object = parse_object(&note(json!({ field: shape.clone() }))).unwrap();
                    assert!(object.public, "{spelling} in {field} as {shape}");
                    assert!(object.to.is_empty() && object.cc.is_empty());
                }
            }
            let activity = json!({
                "id": "https://a.example/a/1", "type": "Create",
                "actor": "https://a.example/users/ann",
                "object": "https://a.example/notes/1",
                "cc": [spelling, "https://a.example/users/ann/followers"]
            });
            let envelope = parse_envelope(&activity).unwrap();
            assert!(envelope.public, "{spelling} in an activity");
            assert_eq!(
                envelope.cc,
                urls(&["https://a.example/users/ann/followers"])
            );
        }
        let private = parse_object(&note(json!({"to": ["https://a.example/users/bo"]}))).unwrap();
        assert!(!private.public);
        assert_eq!(private.to, urls(&["https://a.example/users/bo"]));
    }

    #[test]
    fn object_without_an_id_is_refused() {
        for id in [json!(null), json!("not a url"), json!(7)] {
            let err = parse_object(&note(json!({ "id": id }))).unwrap_err();
            assert_eq!(err, ObjectError::Missing("id"));
            assert_eq!(err.to_string(), "`id` is missing or not a URL");
        }
        let mut value = note(json!({}));
        value.as_object_mut().unwrap().remove("id");
        assert_eq!(parse_object(&value), Err(ObjectError::Missing("id")));
    }

    #[test]
    fn object_of_an_unsupported_type_is_refused() {
        for kind in ["Video", "Event", "Person", "Tombstone"] {
            let err = parse_object(&note(json!({ "type": kind }))).unwrap_err();
            assert_eq!(err, ObjectError::UnsupportedType(kind.into()));
            assert_eq!(err.to_string(), format!("unsupported type `{kind}`"));
        }
        let err = parse_object(&note(json!({ "type": null }))).unwrap_err();
        assert_eq!(err, ObjectError::MissingType);
    }

    #[test]
    fn post_types_are_read_in_every_form() {
        let cases = [
            (json!("Page"), ObjectKind::Page),
            (json!("Note"), ObjectKind::Note),
            (json!("Article"), ObjectKind::Article),
            (json!("Question"), ObjectKind::Question),
            (json!("as:Article"), ObjectKind::Article),
            (
                json!("https://www.w3.org/ns/activitystreams#Page"),
                ObjectKind::Page,
            ),
            (json!(["schema:Thing", "Note"]), ObjectKind::Note),
        ];
        for (kind, expected) in cases {
            let object = parse_object(&note(json!({ "type": kind.clone() }))).unwrap();
            assert_eq!(object.kind, expected, "{kind}");
        }
    }

    #[test]
    fn non_object_documents_are_malformed() {
        for value in [json!("https://a.example/notes/1"), json!([1]), json!(null)] {
            assert!(matches!(
                parse_object(&value),
                Err(ObjectError::Malformed(_))
            ));
            assert!(matches!(
                parse_envelope(&value),
                Err(ObjectError::Malformed(_))
            ));
            assert!(matches!(
                parse_reaction(&value),
                Err(ObjectError::Malformed(_))
            ));
        }
    }

    #[test]
    fn attributed_to_may_be_a_list_of_objects_or_urls() {
        let cases = [
            // PeerTube: the channel and the account; the account is the author.
            (
                json!([
                    {"type": "Group", "id": "https://v.example/video-channels/c"},
                    {"type": "Person", "id": "https://v.example/accounts/ann"}
                ]),
                "https://v.example/accounts/ann",
            ),
            (
                json!([
                    {"type": "Group", "id": "https://v.example/video-channels/c"},
                    "https://v.example/accounts/bo"
                ]),
                "https://v.example/accounts/bo",
            ),
            (
                json!([{"type": "Group", "id": "https://v.example/video-channels/c"}]),
                "https://v.example/video-channels/c",
            ),
            (
                json!({"type": "Person", "id": "https://a.example/users/cy"}),
                "https://a.example/users/cy",
            ),
            (
                json!(["https://a.example/users/di"]),
                "https://a.example/users/di",
            ),
        ];
        for (attributed_to, expected) in cases {
            let object =
                parse_object(&note(json!({ "attributedTo": attributed_to.clone() }))).unwrap();
            assert_eq!(object.attributed_to, url(expected), "{attributed_to}");
        }
        let err = parse_object(&note(json!({ "attributedTo": [] }))).unwrap_err();
        assert_eq!(err, ObjectError::Missing("attributedTo"));
    }

    #[test]
    fn url_may_be_a_list_of_links() {
        let cases = [
            (
                json!([
                    {"type": "Link", "mediaType": "application/x-mpegURL", "href": "https://v.example/stream.m3u8"},
                    {"type": "Link", "mediaType": "text/html", "href": "https://v.example/w/abc"}
                ]),
                Some("https://v.example/w/abc"),
            ),
            (
                json!([{"type": "Link", "href": "https://b.example/1"}, "https://b.example/2"]),
                Some("https://b.example/1"),
            ),
            (
                json!({"type": "Link", "href": "https://b.example/3"}),
                Some("https://b.example/3"),
            ),
            (json!("https://b.example/4"), Some("https://b.example/4")),
            (json!("not a url"), None),
        ];
        for (value, expected) in cases {
            let object = parse_object(&note(json!({ "url": value.clone() }))).unwrap();
            assert_eq!(object.url, expected.map(url), "{value}");
        }
    }

    #[test]
    fn content_map_is_used_when_content_is_missing() {
        let mut value = note(json!({"contentMap": {"fr": "<p>bonjour</p>"}}));
        value.as_object_mut().unwrap().remove("content");
        let object = parse_object(&value).unwrap();
        assert_eq!(object.content_html.as_deref(), Some("<p>bonjour</p>"));

        let object = parse_object(&note(
            json!({"content": "", "contentMap": {"en": "<p>hello</p>"}}),
        ))
        .unwrap();
        assert_eq!(object.content_html.as_deref(), Some("<p>hello</p>"));

        let object = parse_object(&note(json!({"contentMap": {"en": "<p>other</p>"}}))).unwrap();
        assert_eq!(
            object.content_html.as_deref(),
            Some("<p>hi</p>"),
            "content wins"
        );

        let object =
            parse_object(&note(json!({"name": null, "nameMap": {"de": "Titel"}}))).unwrap();
        assert_eq!(object.name.as_deref(), Some("Titel"));
    }

    #[test]
    fn markdown_source_needs_a_markdown_media_type() {
        let cases = [
            (
                json!({"content": "**a**", "mediaType": "text/markdown"}),
                Some("**a**"),
            ),
            (
                json!({"content": "**b**", "mediaType": "Text/Markdown; charset=utf-8"}),
                Some("**b**"),
            ),
            (
                json!({"content": "[b]c[/b]", "mediaType": "text/bbcode"}),
                None,
            ),
            (json!({"content": "d"}), None),
            (json!("https://link.example/"), None),
        ];
        for (source, expected) in cases {
            let object = parse_object(&note(json!({ "source": source.clone() }))).unwrap();
            assert_eq!(object.source_markdown.as_deref(), expected, "{source}");
        }
    }

    #[test]
    fn support_kind_is_read_in_both_spellings() {
        let object = parse_object(&note(json!({"supportKind": "vent"}))).unwrap();
        assert_eq!(object.support_kind.as_deref(), Some("vent"));
        let object = parse_object(&note(json!({"hearth:supportKind": "advice"}))).unwrap();
        assert_eq!(object.support_kind.as_deref(), Some("advice"));
        let object = parse_object(&note(json!({}))).unwrap();
        assert_eq!(object.support_kind, None);
    }

    #[test]
    fn group_prefers_audience_then_addressing_then_mentions() {
        let g1 = "https://hearth.example/g/one";
        let g2 = "https://hearth.example/g/two";
        let g3 = "https://hearth.example/g/three";
        let mention = |href: &str| json!({"type": "Mention", "href": href});
        let cases = [
            (
                json!({"audience": g1, "to": [g2], "tag": [mention(g3)]}),
                Some(g1),
            ),
            (
                json!({"to": ["https://hearth.example/u/x", g2], "cc": [g1]}),
                Some(g2),
            ),
            (json!({"cc": [g1], "tag": [mention(g3)]}), Some(g1)),
            (
                json!({"tag": [mention("https://hearth.example/u/x"), mention(g3)]}),
                Some(g3),
            ),
            (json!({"to": ["https://hearth.example/u/x"]}), None),
            (
                json!({"audience": "https://www.w3.org/ns/activitystreams#Public", "cc": [g2]}),
                Some(g2),
            ),
        ];
        for (extra, expected) in cases {
            let object = parse_object(&note(extra.clone())).unwrap();
            assert_eq!(object.group(is_hearth_group), expected.map(url), "{extra}");
        }
    }

    #[test]
    fn embedded_actor_and_object_are_read_by_id() {
        let activity = json!({
            "id": "https://a.example/activities/9",
            "type": ["Create"],
            "actor": {"type": "Person", "id": "https://a.example/users/ann", "name": "Ann"},
            "object": [note(json!({
                "attributedTo": {"type": "Person", "id": "https://a.example/users/ann"}
            }))]
        });
        let envelope = parse_envelope(&activity).unwrap();
        assert_eq!(envelope.kind, "Create");
        assert_eq!(envelope.actor, url("https://a.example/users/ann"));
        assert_eq!(envelope.object_id, Some(url("https://a.example/notes/1")));
        assert_eq!(envelope.object_kind.as_deref(), Some("Note"));

        let like = parse_reaction(&json!({
            "id": "https://a.example/likes/1",
            "type": "Like",
            "actor": {"type": "Person", "id": "https://a.example/users/ann"},
            "object": {"type": "Page", "id": THREAD}
        }))
        .unwrap();
        assert_eq!(like.actor, url("https://a.example/users/ann"));
        assert_eq!(like.object, url(THREAD));
    }

    #[test]
    fn envelope_needs_id_type_actor_and_object() {
        let full = json!({
            "id": "https://a.example/activities/1",
            "type": "Delete",
            "actor": "https://a.example/users/ann",
            "object": "https://a.example/notes/1"
        });
        assert!(parse_envelope(&full).is_ok());
        let cases = [
            ("id", ObjectError::Missing("id")),
            ("type", ObjectError::MissingType),
            ("actor", ObjectError::Missing("actor")),
            ("object", ObjectError::Missing("object")),
        ];
        for (field, expected) in cases {
            let mut value = full.clone();
            value.as_object_mut().unwrap().remove(field);
            assert_eq!(parse_envelope(&value), Err(expected), "without {field}");
        }
    }

    #[test]
    fn emoji_reactions_read_content_or_misskey_reaction() {
        let base = json!({
            "id": "https://m.example/reactions/1",
            "actor": "https://m.example/users/ann",
            "object": THREAD
        });
        let with = |extra: Value| {
            let mut value = base.clone();
            if let (Some(value), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
                value.extend(extra.clone());
            }
            value
        };
        let cases = [
            // Pleroma/Akkoma
            (
                json!({"type": "EmojiReact", "content": "🙏"}),
                ReactionKind::EmojiReact,
                Some("🙏"),
            ),
            // Misskey: a Like with the reaction in both fields
            (
                json!({"type": "Like", "content": ":blobhug:", "_misskey_reaction": ":blobhug:"}),
                ReactionKind::Like,
                Some(":blobhug:"),
            ),
            // older Misskey: only `_misskey_reaction`
            (
                json!({"type": "Like", "_misskey_reaction": "👍"}),
                ReactionKind::Like,
                Some("👍"),
            ),
            (json!({"type": "Dislike"}), ReactionKind::Dislike, None),
        ];
        for (extra, kind, content) in cases {
            let reaction = parse_reaction(&with(extra.clone())).unwrap();
            assert_eq!(reaction.kind, kind, "{extra}");
            assert_eq!(reaction.content.as_deref(), content, "{extra}");
        }
        assert_eq!(
            parse_reaction(&with(json!({"type": "Announce"}))),
            Err(ObjectError::UnsupportedType("Announce".into()))
        );
        assert_eq!(
            parse_reaction(&with(json!({"type": "Like", "object": "nope"}))),
            Err(ObjectError::Missing("object"))
        );
    }

    #[test]
    fn announced_tells_activities_objects_and_references_apart() {
        let announce = |object: Value| {
            parse_envelope(&json!({
                "id": "https://a.example/activities/boost/1",
                "type": "Announce",
                "actor": "https://a.example/users/ann",
                "object": object
            }))
            .unwrap()
        };
        let bare = note(json!({}));
        assert_eq!(
            announced(&announce(bare.clone())),
            Ok(Announced::Object(bare))
        );
        let nested = json!({"type": "Announce", "id": "https://m.example/a/2", "actor": "https://m.example/u/x", "object": THREAD});
        assert_eq!(
            announced(&announce(nested.clone())),
            Ok(Announced::Activity(nested))
        );
        assert_eq!(
            announced(&announce(json!({"id": THREAD}))),
            Ok(Announced::Reference(url(THREAD)))
        );
        assert_eq!(
            announced(&announce(json!([THREAD]))),
            Ok(Announced::Reference(url(THREAD)))
        );
        assert_eq!(
            announced(&announce(json!("not a url"))),
            Err(ObjectError::Missing("object"))
        );

        let create = parse_envelope(&json!({
            "id": "https://a.example/activities/1",
            "type": "Create",
            "actor": "https://a.example/users/ann",
            "object": note(json!({}))
        }))
        .unwrap();
        let err = announced(&create).unwrap_err();
        assert_eq!(err.to_string(), "expected an `Announce`, found a `Create`");
    }

    #[test]
    fn tags_keep_kind_name_and_href() {
        let object = parse_object(&note(json!({"tag": [
            {"type": "Hashtag", "href": "https://a.example/tags/mecfs", "name": "#MECFS"},
            {"type": "Emoji", "id": "https://a.example/emoji/1", "name": ":spoon:",
             "icon": {"type": "Image", "url": "https://a.example/spoon.png"}},
            {"type": "Mention", "name": "@nohref@a.example"},
            {"href": "https://a.example/untyped"},
            "just a string"
        ]})))
        .unwrap();
        assert_eq!(
            object.tags,
            vec![
                Tag {
                    kind: TagKind::Hashtag,
                    name: Some("mecfs".into()),
                    href: Some(url("https://a.example/tags/mecfs")),
                },
                Tag {
                    kind: TagKind::Emoji,
                    name: Some(":spoon:".into()),
                    href: Some(url("https://a.example/emoji/1")),
                },
                Tag {
                    kind: TagKind::Mention,
                    name: Some("@nohref@a.example".into()),
                    href: None,
                },
            ]
        );
        assert_eq!(object.hashtags().collect::<Vec<_>>(), vec!["mecfs"]);
        assert_eq!(
            object.mentions().count(),
            0,
            "a mention without href names no one"
        );
    }

    #[test]
    fn unreadable_times_and_flags_read_as_absent() {
        let object = parse_object(&note(json!({
            "published": "yesterday",
            "updated": 1700000000,
            "sensitive": "yes"
        })))
        .unwrap();
        assert_eq!(object.published, None);
        assert_eq!(object.updated, None);
        assert!(!object.sensitive);
    }

    #[test]
    fn flags_from_lemmy_mastodon_and_hearth_name_what_they_report() {
        let lemmy = serde_json::json!({"type": "Flag", "object": "https://l.example/post/1", "summary": "spam"});
        let f = parse_flag(&lemmy);
        assert_eq!(f.objects, ["https://l.example/post/1"]);
        assert_eq!(f.comment.as_deref(), Some("spam"));
        let mastodon = serde_json::json!({"type": "Flag", "object": ["https://m.example/users/a", "https://m.example/statuses/2"], "content": "rude"});
        let f = parse_flag(&mastodon);
        assert_eq!(f.objects.len(), 2);
        assert_eq!(f.comment.as_deref(), Some("rude"));
        let hearth = serde_json::json!({"type": "Flag", "object": ["https://h.example/u/a"], "content": "", "summary": "Spam or advertising", "reportCategory": "spam"});
        let f = parse_flag(&hearth);
        assert_eq!(f.category.as_deref(), Some("spam"));
        assert_eq!(f.comment.as_deref(), Some("Spam or advertising"));
    }

    #[test]
    fn a_blocks_end_is_read_from_end_time_or_lemmys_expires_and_never_guessed() {
        let b = serde_json::json!({"summary": "spam", "endTime": "2030-01-01T00:00:00Z", "removeData": true});
        let terms = parse_ban_terms(&b).unwrap();
        assert!(terms.remove_data);
        assert_eq!(
            terms.expires_at.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00+00:00"
        );
        let old = serde_json::json!({"expires": "2030-01-01T00:00:00Z"});
        assert!(parse_ban_terms(&old).unwrap().expires_at.is_some());
        let forever = serde_json::json!({"summary": "x"});
        assert!(parse_ban_terms(&forever).unwrap().expires_at.is_none());
        let bad = serde_json::json!({"endTime": "soon"});
        assert!(parse_ban_terms(&bad).is_err());
    }
}

//! The ActivityPub wire format of actors and discovery: actor documents
//! (served and read), WebFinger and NodeInfo, and the helpers every reader
//! uses. One Rust type per wire shape (STYLE §5); handlers never build JSON
//! by hand. Activities and posts are in [`crate::wire`].
//!
//! Accepting is liberal, as the fediverse is: an actor, object or target may
//! be a URL or an embedded object, the public audience may be spelled three
//! ways, `@context` may be anything.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

pub const ACTIVITY_JSON: &str = "application/activity+json";
pub const LD_JSON: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
pub const JRD_JSON: &str = "application/jrd+json";
pub use crate::wire::AS_PUBLIC;
pub use hearth_app::ids::authority;

/// The `@context` of every actor Hearth serves ([`crate::wire::Context::Actors`]).
pub fn actor_context() -> Value {
    serde_json::to_value(crate::wire::Context::Actors).unwrap_or(Value::Null)
}

/// The public audience in any of its spellings (`as:Public`, `Public`, full IRI).
pub fn is_public(value: &str) -> bool {
    matches!(value, AS_PUBLIC | "as:Public" | "Public")
}

/// An actor document, as served and as read. Reading is liberal: only `id`,
/// `type` and `inbox` are required by the parser; what Hearth needs beyond
/// that (a public key owned by the actor) is checked after parsing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    #[serde(rename = "@context", default, skip_serializing_if = "Value::is_null")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub inbox: Url,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub outbox: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub followers: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub following: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_endpoints"
    )]
    pub endpoints: Option<Endpoints>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "first_key"
    )]
    pub public_key: Option<PublicKeyJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manually_approves_followers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub url: Value,
    /// On groups: the moderators collection (FEP-1b12, as Lemmy does).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub attributed_to: Value,
    /// On groups: the pinned threads (Lemmy's `featured`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured: Option<Url>,
    /// On Hearth groups: `public` or `members` (Hearth's own term,
    /// `hearth:visibility`). Other software leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// On Hearth people: a professional role and the server that verified
    /// it (`hearth:professional`, a [`crate::wire::Verification`]). Read
    /// as it comes; believed only once that server confirms it
    /// (`crate::verification`).
    #[serde(
        default,
        skip_serializing_if = "Value::is_null",
        alias = "hearth:professional",
        alias = "urn:hearth:ns#professional"
    )]
    pub professional: Value,
    /// On Hearth groups: peer mentors, helpful replies and guidance.
    #[serde(flatten)]
    pub care: GroupCareJson,
}

/// What a Hearth group says about care, in Hearth's namespace: its peer
/// mentors collection (`hearth:mentors`), the name of its helpful replies
/// collection (`hearth:helpful`), its rules (`hearth:rules`) and its "how
/// to give support here" guide (`hearth:supportGuide`), both HTML. Read
/// leniently: a value of the wrong shape reads as absent.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GroupCareJson {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub mentors: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub helpful: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub rules: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub support_guide: Option<String>,
}

/// A text field some servers may send as something else: a string, or
/// nothing.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(value.as_str().map(str::to_owned))
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub shared_inbox: Option<Url>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyJson {
    pub id: String,
    pub owner: Url,
    pub public_key_pem: String,
}

/// A URL field that some servers send as an object with `id`, or garbage:
/// read what can be read, drop the rest.
fn lenient_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(id_of(&value))
}

fn lenient_endpoints<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Endpoints>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// `publicKey` may be one object or a list of them; take the first usable.
fn first_key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PublicKeyJson>, D::Error> {
    let value = Value::deserialize(d)?;
    let candidates = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    Ok(candidates
        .into_iter()
        .find_map(|v| serde_json::from_value(v).ok()))
}

/// The id of a value that is either a URL string or an object with `id`
/// (or a one-element list of either).
pub fn id_of(value: &Value) -> Option<Url> {
    match value {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(map) => map.get("id").and_then(id_of),
        Value::Array(items) => items.first().and_then(id_of),
        _ => None,
    }
}

/// The `type` of an embedded object, or of a one-element list of types.
pub fn type_of(value: &Value) -> Option<&str> {
    match value.get("type")? {
        Value::String(s) => Some(s.as_str()),
        Value::Array(items) => items.first().and_then(Value::as_str),
        _ => None,
    }
}

/// A WebFinger answer (RFC 7033 JRD).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Jrd {
    pub subject: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub links: Vec<JrdLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JrdLink {
    pub rel: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, Value>>,
}

impl JrdLink {
    /// The `self` link to an actor, with its ActivityStreams type as a
    /// property (as Lemmy does) so clients can pick the group.
    pub fn actor(href: &Url, as_type: &str) -> Self {
        let mut properties = serde_json::Map::new();
        properties.insert(
            "https://www.w3.org/ns/activitystreams#type".into(),
            Value::String(as_type.into()),
        );
        JrdLink {
            rel: "self".into(),
            kind: Some(ACTIVITY_JSON.into()),
            href: Some(href.to_string()),
            properties: Some(properties),
        }
    }

    pub fn is_actor_link(&self) -> bool {
        self.rel == "self"
            && self.kind.as_deref().is_some_and(|k| {
                k.starts_with(ACTIVITY_JSON) || k.starts_with("application/ld+json")
            })
    }

    pub fn as_type(&self) -> Option<&str> {
        self.properties
            .as_ref()?
            .get("https://www.w3.org/ns/activitystreams#type")?
            .as_str()
    }
}

/// `/.well-known/nodeinfo`: where the NodeInfo documents are, and the
/// instance actor (FEP-2677).
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfoLinks {
    pub links: Vec<JrdLink>,
}

/// A NodeInfo 2.0 / 2.1 document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub version: &'static str,
    pub software: NodeInfoSoftware,
    pub protocols: Vec<&'static str>,
    pub services: NodeInfoServices,
    pub open_registrations: bool,
    pub usage: NodeInfoUsage,
    pub metadata: NodeInfoMetadata,
}

/// What Hearth adds to NodeInfo's free-form `metadata`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfoMetadata {
    pub node_name: String,
    pub node_description: String,
    pub groups: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeInfoSoftware {
    pub name: &'static str,
    pub version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeInfoServices {
    pub inbound: Vec<&'static str>,
    pub outbound: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfoUsage {
    pub users: NodeInfoUsers,
    pub local_posts: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfoUsers {
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_strings_objects_and_lists() {
        let url = "https://a.example/u/ann";
        for v in [
            serde_json::json!(url),
            serde_json::json!({"id": url, "type": "Person"}),
            serde_json::json!([url]),
        ] {
            assert_eq!(id_of(&v).unwrap().as_str(), url);
        }
        assert!(id_of(&serde_json::json!(5)).is_none());
    }

    #[test]
    fn public_audience_in_every_spelling() {
        assert!(is_public(AS_PUBLIC) && is_public("as:Public") && is_public("Public"));
        assert!(!is_public("https://a.example/followers"));
    }

    #[test]
    fn actor_parsing_is_liberal() {
        let json = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": "https://b.example/users/bo",
            "type": "Person",
            "inbox": "https://b.example/users/bo/inbox",
            "followers": {"id": "https://b.example/users/bo/followers"},
            "endpoints": "not an object",
            "publicKey": [{"id": "https://b.example/users/bo#main-key", "owner": "https://b.example/users/bo", "publicKeyPem": "PEM"}],
            "url": [{"type": "Link", "href": "https://b.example/@bo"}],
            "unknownField": {"deep": [1, 2]}
        });
        let actor: ActorJson = serde_json::from_value(json).unwrap();
        assert_eq!(
            actor.followers.unwrap().as_str(),
            "https://b.example/users/bo/followers"
        );
        assert!(actor.endpoints.is_none());
        assert_eq!(
            actor.public_key.unwrap().id,
            "https://b.example/users/bo#main-key"
        );
    }
}

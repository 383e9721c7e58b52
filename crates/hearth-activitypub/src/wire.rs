//! The wire model of what Hearth sends: one Rust type per activity and
//! object, serialised with serde. Nothing Hearth sends is assembled from
//! loose JSON; [`crate::render`] fills these types from domain values, in
//! one place. What Hearth accepts is read by the liberal readers in
//! [`crate::objects`] (and actors by [`crate::protocol::ActorJson`]).

use serde::Serialize;
use serde::ser::SerializeSeq;

/// The ActivityStreams namespace.
pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
/// Hearth's JSON-LD namespace for its own properties (`supportKind`, a
/// group's `visibility`).
pub const HEARTH_NS: &str = "urn:hearth:ns#";
/// The public audience.
pub const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// An `@context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// ActivityStreams alone (follows and their answers).
    Activities,
    /// ActivityStreams plus the terms posts use: Hearth's `supportKind`,
    /// `sensitive` and `Hashtag`.
    Posts,
    /// Actor documents: ActivityStreams, the security vocabulary (some
    /// servers ignore `publicKey` without it) and the terms actors use.
    Actors,
    /// Moderation (bans, reports): ActivityStreams plus Lemmy's
    /// `removeData` and Hearth's `reportCategory` and `Resolve`.
    Moderation,
}

#[derive(Serialize)]
struct ModerationTerms {
    hearth: &'static str,
    lemmy: &'static str,
    #[serde(rename = "removeData")]
    remove_data: &'static str,
    #[serde(rename = "reportCategory")]
    report_category: &'static str,
    #[serde(rename = "Resolve")]
    resolve: &'static str,
}

#[derive(Serialize)]
struct ActorTerms {
    #[serde(rename = "manuallyApprovesFollowers")]
    manually_approves_followers: &'static str,
    toot: &'static str,
    discoverable: &'static str,
    indexable: &'static str,
    hearth: &'static str,
    /// A group's visibility (`public` or `members`).
    visibility: &'static str,
    /// A group's peer mentors collection.
    mentors: &'static str,
    /// The name of a group's helpful replies collection.
    helpful: &'static str,
    /// A group's rules (HTML).
    rules: &'static str,
    /// A group's "how to give support here" guide (HTML).
    #[serde(rename = "supportGuide")]
    support_guide: &'static str,
    /// A person's verified professional role ([`Verification`]).
    professional: &'static str,
    #[serde(rename = "Verification")]
    verification: &'static str,
    role: &'static str,
    #[serde(rename = "verifiedBy")]
    verified_by: IdTerm,
}

/// A term whose value is an IRI (`{"@id": ..., "@type": "@id"}`).
#[derive(Serialize)]
struct IdTerm {
    #[serde(rename = "@id")]
    id: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct PostTerms {
    hearth: &'static str,
    #[serde(rename = "supportKind")]
    support_kind: &'static str,
    #[serde(rename = "contentWarning")]
    content_warning: &'static str,
    sensitive: &'static str,
    #[serde(rename = "Hashtag")]
    hashtag: &'static str,
    sources: &'static str,
    #[serde(rename = "sourceType")]
    source_type: &'static str,
    label: &'static str,
    #[serde(rename = "labelType")]
    label_type: &'static str,
    /// `peer` or `professional`.
    #[serde(rename = "speakingAs")]
    speaking_as: &'static str,
    /// A professional's post: its disclaimer, as plain text.
    disclaimer: &'static str,
}

impl Serialize for Context {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Context::Activities => s.serialize_str(AS_CONTEXT),
            Context::Posts => {
                let mut seq = s.serialize_seq(Some(2))?;
                seq.serialize_element(AS_CONTEXT)?;
                seq.serialize_element(&PostTerms {
                    hearth: HEARTH_NS,
                    support_kind: "hearth:supportKind",
                    content_warning: "hearth:contentWarning",
                    sensitive: "as:sensitive",
                    hashtag: "as:Hashtag",
                    sources: "hearth:sources",
                    source_type: "hearth:sourceType",
                    label: "hearth:label",
                    label_type: "hearth:labelType",
                    speaking_as: "hearth:speakingAs",
                    disclaimer: "hearth:disclaimer",
                })?;
                seq.end()
            }
            Context::Moderation => {
                let mut seq = s.serialize_seq(Some(2))?;
                seq.serialize_element(AS_CONTEXT)?;
                seq.serialize_element(&ModerationTerms {
                    hearth: HEARTH_NS,
                    lemmy: "https://join-lemmy.org/ns#",
                    remove_data: "lemmy:removeData",
                    report_category: "hearth:reportCategory",
                    resolve: "hearth:Resolve",
                })?;
                seq.end()
            }
            Context::Actors => {
                let mut seq = s.serialize_seq(Some(3))?;
                seq.serialize_element(AS_CONTEXT)?;
                seq.serialize_element("https://w3id.org/security/v1")?;
                seq.serialize_element(&ActorTerms {
                    manually_approves_followers: "as:manuallyApprovesFollowers",
                    toot: "http://joinmastodon.org/ns#",
                    discoverable: "toot:discoverable",
                    indexable: "toot:indexable",
                    hearth: HEARTH_NS,
                    visibility: "hearth:visibility",
                    mentors: "hearth:mentors",
                    helpful: "hearth:helpful",
                    rules: "hearth:rules",
                    support_guide: "hearth:supportGuide",
                    professional: "hearth:professional",
                    verification: "hearth:Verification",
                    role: "hearth:role",
                    verified_by: IdTerm {
                        id: "hearth:verifiedBy",
                        kind: "@id",
                    },
                })?;
                seq.end()
            }
        }
    }
}

/// The types of the activities Hearth sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ActivityType {
    Create,
    Update,
    Delete,
    Like,
    Undo,
    Follow,
    Accept,
    Reject,
    Announce,
    Lock,
    Block,
    Add,
    Remove,
    Flag,
    /// Hearth's answer to a `Flag`: the report was dealt with.
    Resolve,
}

impl ActivityType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityType::Create => "Create",
            ActivityType::Update => "Update",
            ActivityType::Delete => "Delete",
            ActivityType::Like => "Like",
            ActivityType::Undo => "Undo",
            ActivityType::Follow => "Follow",
            ActivityType::Accept => "Accept",
            ActivityType::Reject => "Reject",
            ActivityType::Announce => "Announce",
            ActivityType::Lock => "Lock",
            ActivityType::Block => "Block",
            ActivityType::Add => "Add",
            ActivityType::Remove => "Remove",
            ActivityType::Flag => "Flag",
            ActivityType::Resolve => "Resolve",
        }
    }
}

/// An activity with its object of type `O`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity<O> {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub actor: String,
    pub object: O,
    /// FEP-1b12: the group the activity belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub to: Vec<String>,
    /// Always present, even empty: Lemmy 0.19 refuses an `Announce` (and a
    /// `Create`/`Update`) without `cc`.
    pub cc: Vec<String>,
    /// A removal's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A reaction's emoji; a report's comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A ban's group; the collection an `Add`/`Remove` changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// When a ban ends.
    #[serde(rename = "endTime", skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// A ban that also removes what the person wrote in the group.
    #[serde(rename = "removeData", skip_serializing_if = "Option::is_none")]
    pub remove_data: Option<bool>,
    /// A report's category (Hearth's words).
    #[serde(rename = "reportCategory", skip_serializing_if = "Option::is_none")]
    pub report_category: Option<String>,
}

impl<O> Activity<O> {
    /// A bare activity; set the optional fields on the result.
    pub fn new(kind: ActivityType, id: String, actor: String, object: O, to: Vec<String>) -> Self {
        Activity {
            context: None,
            id,
            kind,
            actor,
            object,
            audience: None,
            to,
            cc: Vec::new(),
            summary: None,
            content: None,
            target: None,
            end_time: None,
            remove_data: None,
            report_category: None,
        }
    }

    pub fn with_context(mut self, context: Context) -> Self {
        self.context = Some(context);
        self
    }
}

/// A `Follow` of a group, embedded in its `Undo`, `Accept` or `Reject` as
/// `{id, type, actor, object}` so the follower can match it without a
/// fetch.
pub type Follow = Activity<String>;

/// What a group's `Announce` or an `Undo` wraps.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Wrapped {
    /// A whole activity about a post, as FEP-1b12 groups relay them.
    Post(Box<Activity<PostObject>>),
    Delete(Box<Activity<TombstoneRef>>),
    /// A `Like` (its object is the post's id).
    Reference(Box<Activity<String>>),
    /// An `Undo` of a `Like`, a `Lock` or a `Block`, or of a group's
    /// `Announce` of a thread.
    Undo(Box<Activity<Box<Activity<String>>>>),
    /// An `Undo` of a moderator's removal (`Delete`).
    UndoDelete(Box<Activity<Box<Activity<TombstoneRef>>>>),
    /// Only an id (the bare `Announce` of a thread, for Mastodon).
    Id(String),
}

/// The type of a post document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PostType {
    /// A thread (it has a title), as Lemmy's posts.
    Page,
    /// A reply.
    Note,
}

/// `{"id", "type": "Tombstone"}`, the object of a `Delete`.
#[derive(Debug, Clone, Serialize)]
pub struct TombstoneRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TombstoneType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TombstoneType {
    Tombstone,
}

/// The `Tombstone` a deleted post's id answers with (HTTP 410).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    #[serde(rename = "@context")]
    pub context: Context,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TombstoneType,
    pub former_type: PostType,
    pub deleted: Option<String>,
}

/// The `Tombstone` a deleted account's actor answers with (HTTP 410),
/// once every server that held any of it has been told.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorTombstone {
    #[serde(rename = "@context")]
    pub context: Context,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TombstoneType,
    /// `Person` (or `Verification`, a revoked professional's).
    pub former_type: &'static str,
}

/// A thread (`Page`) or reply (`Note`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostObject {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PostType,
    pub attributed_to: String,
    pub audience: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Sanitised HTML.
    pub content: String,
    pub media_type: &'static str,
    /// The Markdown as written, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Always false: a content warning is not adult content (Lemmy, Mbin
    /// and PieFed hide `sensitive` posts as NSFW).
    pub sensitive: bool,
    /// Hearth's own property: the content warning, so another Hearth
    /// server tells it from a `Page`'s excerpt in `summary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_warning: Option<String>,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub url: String,
    pub tag: Vec<Tag>,
    /// The replies collection (posts written here only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Lemmy's link posts carry the link as a `Link` attachment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<LinkAttachment>,
    /// The title (threads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A thread's excerpt or content warning; a reply's content warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Hearth's support kind (threads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_kind: Option<&'static str>,
    /// Hearth's `speakingAs`: only on a professional's post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaking_as: Option<&'static str>,
    /// Hearth's `disclaimer` of a professional's post (plain text; also
    /// the content's last paragraph, for software that reads no Hearth
    /// terms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclaimer: Option<String>,
    /// Hearth's sources (general-knowledge and resource threads).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRef>,
    /// Hearth's label: left out when there is none, `null` in the
    /// `Update` that takes it off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Option<LabelNote>>,
}

/// One of a post's sources, in Hearth's namespace.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    pub href: String,
    pub name: String,
    /// `peer-reviewed`, `guideline`, `patient-organisation`, `news` or
    /// `personal-experience`.
    pub source_type: &'static str,
}

/// A moderators' label on a post, in Hearth's namespace.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelNote {
    /// `needs-sources` or `disputed`.
    pub label_type: &'static str,
    /// The moderator's note, plain text.
    pub content: String,
    /// A link to better information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// The moderator (or group) who set it.
    pub attributed_to: String,
    pub published: String,
}

/// A member's verified professional role, as their actor carries it
/// (`professional`) and as the verifying server serves it at its `id`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: VerificationType,
    pub role: String,
    /// The verifying server's root.
    pub verified_by: String,
    /// The actor verified.
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VerificationType {
    Verification,
}

/// The `Update` of a member's actor, which embeds their whole document.
pub type PersonUpdate = Activity<crate::protocol::ActorJson>;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TagType {
    Mention,
    Hashtag,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    #[serde(rename = "type")]
    pub kind: TagType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkAttachment {
    #[serde(rename = "type")]
    pub kind: LinkType,
    pub href: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinkType {
    Link,
}

/// An `OrderedCollection`: a count only (followers), ids (moderators),
/// objects (replies) or activities (an outbox).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection<T> {
    #[serde(rename = "@context")]
    pub context: Context,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub total_items: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered_items: Option<Vec<T>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CollectionType {
    OrderedCollection,
}

impl<T> Collection<T> {
    pub fn count_only(id: String, total: u64) -> Self {
        Collection {
            context: Context::Activities,
            id,
            kind: CollectionType::OrderedCollection,
            total_items: total,
            ordered_items: None,
        }
    }

    pub fn with_items(context: Context, id: String, items: Vec<T>) -> Self {
        Collection {
            context,
            id,
            kind: CollectionType::OrderedCollection,
            total_items: items.len() as u64,
            ordered_items: Some(items),
        }
    }
}

/// A JSON body of any wire type.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn contexts_serialise_as_peers_expect() {
        assert_eq!(
            serde_json::to_value(Context::Activities).unwrap(),
            json!(AS_CONTEXT)
        );
        let posts = serde_json::to_value(Context::Posts).unwrap();
        assert_eq!(posts[0], AS_CONTEXT);
        assert_eq!(posts[1]["supportKind"], "hearth:supportKind");
    }

    #[test]
    fn an_accept_embeds_the_follow_without_context() {
        let follow: Follow = Activity::new(
            ActivityType::Follow,
            "https://b.example/f/1".into(),
            "https://b.example/u/bo".into(),
            "https://a.example/g/peers".into(),
            vec![],
        );
        let accept = Activity::new(
            ActivityType::Accept,
            "https://a.example/activities/1".into(),
            "https://a.example/g/peers".into(),
            follow,
            vec!["https://b.example/u/bo".into()],
        )
        .with_context(Context::Activities);
        let v: Value = serde_json::to_value(&accept).unwrap();
        assert_eq!(v["type"], "Accept");
        assert_eq!(v["object"]["id"], "https://b.example/f/1");
        assert_eq!(v["object"]["type"], "Follow");
        assert!(v["object"].get("@context").is_none());
        assert_eq!(v["cc"], json!([]), "Lemmy requires cc");
        assert!(v.get("summary").is_none());
    }
}

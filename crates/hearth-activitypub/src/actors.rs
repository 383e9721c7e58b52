//! Actors: the documents Hearth serves for its own members, groups and
//! instance actor, and the cache of actors on other servers.
//!
//! Local actors implement activitypub_federation's `Object` and `Actor` so
//! the library can sign as them; remote actors implement them so the
//! library can fetch, verify and cache them.

use activitypub_federation::kinds::actor::{ApplicationType, GroupType, PersonType};
use activitypub_federation::traits::{Actor, Object};
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_app::records::{Account, FetchedActor, Group, RemoteActor, SiteKeys};
use hearth_app::{LocalRef, Urls};
use hearth_domain::{GroupVisibility, JoinPolicy};
use url::Url;

use crate::FederationError;
use crate::context::{Data, Federation};
use crate::protocol::{self, ActorJson, Endpoints, GroupCareJson, PublicKeyJson};

/// The preferredUsername of the instance actor. Reserved as a username.
pub const SITE_ACTOR_NAME: &str = "instance";

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Plain text to a safe HTML paragraph list for `summary`.
pub fn text_to_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    escaped
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", p.trim().replace('\n', "<br>")))
        .collect()
}

fn public_key(id: &Url, pem: &str) -> PublicKeyJson {
    PublicKeyJson {
        id: format!("{id}#main-key"),
        owner: id.clone(),
        public_key_pem: pem.to_owned(),
    }
}

/// The Person document of a local member. Pseudonymous: the username,
/// display name and bio, nothing else; never the email address.
pub fn person_json(urls: &Urls, account: &Account) -> ActorJson {
    let id = urls.user(&account.username);
    ActorJson {
        context: protocol::actor_context(),
        kind: PersonType::Person.to_string(),
        preferred_username: Some(account.username.clone()),
        name: Some(if account.display_name.is_empty() {
            account.username.clone()
        } else {
            account.display_name.clone()
        }),
        summary: Some(text_to_html(&account.bio)),
        inbox: urls.user_inbox(&account.username),
        outbox: Some(urls.user_outbox(&account.username)),
        followers: Some(urls.user_followers(&account.username)),
        following: None,
        endpoints: Some(Endpoints {
            shared_inbox: Some(urls.shared_inbox()),
        }),
        public_key: Some(public_key(&id, &account.public_key_pem)),
        // Members cannot be followed as people; Hearth is about groups.
        manually_approves_followers: Some(true),
        discoverable: Some(false),
        indexable: Some(false),
        published: Some(timestamp(account.created_at)),
        url: serde_json::Value::String(id.to_string()),
        attributed_to: serde_json::Value::Null,
        featured: None,
        visibility: None,
        care: GroupCareJson::default(),
        // A verified professional's role, naming this server as the one
        // that verified it (checked by other servers against it).
        professional: crate::verification::claim(urls, account)
            .and_then(|claim| serde_json::to_value(claim).ok())
            .unwrap_or_default(),
        id,
    }
}

/// The Group document of a local group (FEP-1b12). A members-only group
/// says so twice: as Hearth's `visibility` (other Hearth servers then offer
/// their people no public posts in it) and, for people on other software,
/// in plain words after its description.
pub fn group_json(urls: &Urls, group: &Group) -> ActorJson {
    let id = urls.group(&group.name);
    let mut summary = text_to_html(&group.description);
    if let Some(notice) = group.visibility.notice() {
        summary.push_str(&text_to_html(notice));
    }
    ActorJson {
        context: protocol::actor_context(),
        kind: GroupType::Group.to_string(),
        preferred_username: Some(group.name.clone()),
        name: Some(group.display_name.clone()),
        summary: Some(summary),
        inbox: urls.group_inbox(&group.name),
        outbox: Some(urls.group_outbox(&group.name)),
        followers: Some(urls.group_followers(&group.name)),
        following: None,
        endpoints: Some(Endpoints {
            shared_inbox: Some(urls.shared_inbox()),
        }),
        public_key: Some(public_key(&id, &group.public_key_pem)),
        manually_approves_followers: Some(group.join_policy == JoinPolicy::Approval),
        discoverable: Some(group.listed),
        indexable: Some(false),
        published: Some(timestamp(group.created_at)),
        url: serde_json::Value::String(id.to_string()),
        attributed_to: serde_json::Value::String(urls.group_moderators(&group.name).to_string()),
        featured: Some(urls.group_featured(&group.name)),
        visibility: Some(group.visibility.as_str().to_owned()),
        care: GroupCareJson {
            mentors: Some(urls.group_mentors(&group.name)),
            helpful: Some(urls.group_helpful(&group.name)),
            rules: None,
            support_guide: None,
        },
        professional: serde_json::Value::Null,
        id,
    }
}

/// A group's document with its guidance: the rules and support guide in
/// Hearth's namespace (HTML), and the rules also after its description
/// (`summary`), under a heading, where Lemmy and others show a community's
/// sidebar.
pub fn group_json_with_guidance(
    urls: &Urls,
    group: &Group,
    guidance: &hearth_app::care::GroupGuidance,
) -> ActorJson {
    let mut json = group_json(urls, group);
    if !guidance.rules_html.is_empty() {
        if let Some(summary) = json.summary.as_mut() {
            summary.push_str("<h3>Group rules</h3>");
            summary.push_str(&guidance.rules_html);
        }
        json.care.rules = Some(guidance.rules_html.clone());
    }
    if !guidance.guide_html.is_empty() {
        json.care.support_guide = Some(guidance.guide_html.clone());
    }
    json
}

/// The instance actor (FEP-2677, FEP-d556): signs outbound fetches.
pub fn site_json(fed: &Federation, public_key_pem: &str) -> ActorJson {
    let urls = &fed.urls;
    let id = urls.site();
    ActorJson {
        context: protocol::actor_context(),
        kind: ApplicationType::Application.to_string(),
        preferred_username: Some(SITE_ACTOR_NAME.to_owned()),
        name: Some(fed.settings.instance_name.clone()),
        summary: Some(text_to_html(&fed.settings.instance_description)),
        inbox: urls.site_inbox(),
        outbox: Some(urls.site_outbox()),
        followers: None,
        following: None,
        endpoints: Some(Endpoints {
            shared_inbox: Some(urls.shared_inbox()),
        }),
        public_key: Some(public_key(&id, public_key_pem)),
        manually_approves_followers: Some(true),
        discoverable: Some(false),
        indexable: Some(false),
        published: None,
        url: serde_json::Value::String(id.to_string()),
        attributed_to: serde_json::Value::Null,
        featured: None,
        visibility: None,
        care: GroupCareJson::default(),
        professional: serde_json::Value::Null,
        id,
    }
}

/// A local actor that can sign: a member, a group or the instance actor.
#[derive(Debug, Clone)]
pub struct LocalActor {
    pub id: Url,
    pub inbox: Url,
    pub shared_inbox: Url,
    pub public_key_pem: String,
    private_key_pem: String,
}

impl LocalActor {
    pub fn site(urls: &Urls, keys: &SiteKeys) -> Self {
        LocalActor {
            id: urls.site(),
            inbox: urls.site_inbox(),
            shared_inbox: urls.shared_inbox(),
            public_key_pem: keys.public_key_pem.clone(),
            private_key_pem: keys.private_key_pem.clone(),
        }
    }

    /// Load the local actor with id `url`, with its private key.
    pub async fn load(fed: &Federation, url: &Url) -> Result<Option<Self>, FederationError> {
        let Some(keys) = fed.app.signing_keys(url.as_str()).await? else {
            return Ok(None);
        };
        let parse = |s: &str| {
            Url::parse(s).map_err(|e| FederationError::Internal(format!("local id {s}: {e}")))
        };
        Ok(Some(LocalActor {
            id: parse(&keys.id)?,
            inbox: parse(&keys.inbox)?,
            shared_inbox: fed.urls.shared_inbox(),
            public_key_pem: keys.public_pem,
            private_key_pem: keys.private_pem,
        }))
    }
}

#[async_trait::async_trait]
impl Object for LocalActor {
    type DataType = Federation;
    type Kind = ActorJson;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(id: Url, data: &Data) -> Result<Option<Self>, FederationError> {
        LocalActor::load(data.app_data(), &id).await
    }

    async fn into_json(self, data: &Data) -> Result<ActorJson, FederationError> {
        let fed = data.app_data();
        match fed.urls.parse_local(&self.id) {
            Some(LocalRef::User(name)) => Ok(person_json(
                &fed.urls,
                &fed.app.active_account(&name).await?,
            )),
            Some(LocalRef::Group(name)) => {
                let group = fed.app.group(&name).await?.group;
                let guidance = fed
                    .app
                    .guidance(&hearth_app::posts::PostGroup::Local(group.clone()))
                    .await?;
                Ok(group_json_with_guidance(&fed.urls, &group, &guidance))
            }
            Some(LocalRef::Site) => Ok(site_json(fed, &self.public_key_pem)),
            _ => Err(FederationError::NotFound("actor")),
        }
    }

    /// Local actors are never received from another server.
    async fn verify(_: &ActorJson, _: &Url, _: &Data) -> Result<(), FederationError> {
        Err(FederationError::Refused(
            "a local actor cannot be received from another server".into(),
        ))
    }

    async fn from_json(_: ActorJson, _: &Data) -> Result<Self, FederationError> {
        Err(FederationError::Refused(
            "a local actor cannot be received from another server".into(),
        ))
    }
}

impl Actor for LocalActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key_pem.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }

    fn shared_inbox(&self) -> Option<Url> {
        Some(self.shared_inbox.clone())
    }
}

/// An actor on another server, as cached in `remote_actors`, with its id
/// parsed (the trait hands out `&Url`).
#[derive(Debug, Clone)]
pub struct RemoteActorObject {
    pub actor: RemoteActor,
    url: Url,
}

/// Actor types Hearth will talk to.
const ACTOR_TYPES: &[&str] = &["Person", "Group", "Application", "Service", "Organization"];

impl RemoteActorObject {
    pub fn new(actor: RemoteActor) -> Result<Self, FederationError> {
        let url = Url::parse(&actor.ap_id).map_err(|e| {
            FederationError::Internal(format!("stored actor id {}: {e}", actor.ap_id))
        })?;
        Ok(RemoteActorObject { actor, url })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }
}

#[async_trait::async_trait]
impl Object for RemoteActorObject {
    type DataType = Federation;
    type Kind = ActorJson;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.url
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.actor.fetched_at)
    }

    async fn read_from_id(id: Url, data: &Data) -> Result<Option<Self>, FederationError> {
        data.app_data()
            .app
            .remote_actor(id.as_str())
            .await?
            .map(RemoteActorObject::new)
            .transpose()
    }

    async fn into_json(self, _data: &Data) -> Result<ActorJson, FederationError> {
        let id = self.url;
        let a = self.actor;
        let parse = |s: &Option<String>| s.as_deref().and_then(|u| Url::parse(u).ok());
        Ok(ActorJson {
            context: protocol::actor_context(),
            kind: a.kind.clone(),
            preferred_username: Some(a.preferred_username.clone()),
            name: Some(a.name.clone()),
            summary: Some(a.summary.clone()),
            inbox: Url::parse(&a.inbox).map_err(|e| FederationError::Internal(e.to_string()))?,
            outbox: parse(&a.outbox),
            followers: parse(&a.followers),
            following: None,
            endpoints: Some(Endpoints {
                shared_inbox: parse(&a.shared_inbox),
            }),
            public_key: Some(PublicKeyJson {
                id: a.public_key_id.clone(),
                owner: id.clone(),
                public_key_pem: a.public_key_pem.clone(),
            }),
            manually_approves_followers: Some(a.manually_approves_followers),
            discoverable: None,
            indexable: None,
            published: None,
            url: a
                .url
                .clone()
                .map(serde_json::Value::String)
                .unwrap_or_default(),
            attributed_to: serde_json::Value::Null,
            featured: None,
            visibility: a.group_visibility.map(|v| v.as_str().to_owned()),
            care: GroupCareJson::default(),
            professional: serde_json::Value::Null,
            id,
        })
    }

    /// An actor document is acceptable when it was served from its own
    /// server (same host *and port*: the library compares hosts only), is an
    /// actor type, and carries a public key that it owns.
    async fn verify(json: &ActorJson, expected: &Url, data: &Data) -> Result<(), FederationError> {
        verify_actor_document(json, expected, &data.app_data().urls)
    }

    async fn from_json(json: ActorJson, data: &Data) -> Result<Self, FederationError> {
        let care = (json.kind == "Group").then(|| (json.id.to_string(), json.care.clone()));
        let fetched = read_actor(json, data).await?;
        let app = &data.app_data().app;
        let actor = RemoteActorObject::new(app.remember_actor(fetched).await?)?;
        // A group's guidance, from its own document.
        if let Some((id, care)) = care {
            app.remember_guidance(&id, care.rules.as_deref(), care.support_guide.as_deref())
                .await?;
        }
        Ok(actor)
    }
}

/// The checks of [`RemoteActorObject::verify`], callable on their own.
pub fn verify_actor_document(
    json: &ActorJson,
    expected: &Url,
    urls: &Urls,
) -> Result<(), FederationError> {
    let origin = protocol::authority(&json.id);
    if origin.is_none() || origin != protocol::authority(expected) {
        return Err(FederationError::Refused(format!(
            "actor {} was served from {expected}, another origin",
            json.id
        )));
    }
    if urls.is_local(&json.id) {
        return Err(FederationError::Refused(format!(
            "actor {} is local",
            json.id
        )));
    }
    if json.id.domain().is_none() {
        return Err(FederationError::Refused(format!(
            "actor {} must use a host name, not an IP address",
            json.id
        )));
    }
    if !ACTOR_TYPES.contains(&json.kind.as_str()) {
        return Err(FederationError::Refused(format!(
            "{} is a {}, not an actor",
            json.id, json.kind
        )));
    }
    let key = json
        .public_key
        .as_ref()
        .ok_or_else(|| FederationError::Refused(format!("actor {} has no public key", json.id)))?;
    if key.owner != json.id {
        return Err(FederationError::Refused(format!(
            "key {} of {} is owned by {}",
            key.id, json.id, key.owner
        )));
    }
    for inbox in [
        Some(&json.inbox),
        json.endpoints
            .as_ref()
            .and_then(|e| e.shared_inbox.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        if inbox.domain().is_none() || !matches!(inbox.scheme(), "http" | "https") {
            return Err(FederationError::Refused(format!(
                "inbox {inbox} of {} is not a web address with a host name",
                json.id
            )));
        }
    }
    Ok(())
}

/// An actor document, verified, as stored: a person's professional claim
/// is checked against the server it names first (network work, done
/// before anything is stored).
pub(crate) async fn read_actor(
    json: ActorJson,
    data: &Data,
) -> Result<FetchedActor, FederationError> {
    let claim = match json.kind.as_str() {
        "Person" => json.professional.clone(),
        _ => serde_json::Value::Null,
    };
    let id = json.id.clone();
    let mut fetched = fetched_actor(json)?;
    fetched.professional = crate::verification::check(data, &id, &claim).await;
    Ok(fetched)
}

fn fetched_actor(json: ActorJson) -> Result<FetchedActor, FederationError> {
    let key = json
        .public_key
        .ok_or_else(|| FederationError::Refused(format!("actor {} has no public key", json.id)))?;
    let authority = protocol::authority(&json.id)
        .ok_or_else(|| FederationError::Refused(format!("actor {} has no host", json.id)))?;
    let clip = |s: Option<String>, max: usize| -> String {
        s.unwrap_or_default().chars().take(max).collect()
    };
    Ok(FetchedActor {
        ap_id: json.id.to_string(),
        kind: json.kind.chars().take(32).collect(),
        authority,
        preferred_username: clip(json.preferred_username, 255),
        name: clip(json.name, 1000),
        summary: clip(json.summary, 10_000),
        inbox: json.inbox.to_string(),
        shared_inbox: json
            .endpoints
            .and_then(|e| e.shared_inbox)
            .map(|u| u.to_string()),
        outbox: json.outbox.map(|u| u.to_string()),
        followers: json.followers.map(|u| u.to_string()),
        url: protocol::id_of(&json.url)
            .or_else(|| json.url.get("href").and_then(protocol::id_of))
            .map(|u| u.to_string()),
        public_key_id: key.id,
        public_key_pem: key.public_key_pem,
        manually_approves_followers: json.manually_approves_followers.unwrap_or(false),
        // Only a group's own word counts, and a word this version does not
        // know reads as members-only (the careful side). None said: public,
        // as for a Lemmy community.
        group_visibility: match (json.kind.as_str(), json.visibility.as_deref()) {
            ("Group", Some(v)) => Some(v.parse().unwrap_or(GroupVisibility::Members)),
            _ => None,
        },
        professional: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(fixture: &str) -> ActorJson {
        serde_json::from_str(fixture).unwrap()
    }

    #[test]
    fn mastodon_person_fixture_is_accepted_and_cached_whole() {
        let urls = Urls::new("hearth.example", false).unwrap();
        let json = parse(include_str!("../../../tests/fixtures/mastodon/person.json"));
        let served_from = Url::parse("https://mastodon.example/users/rosa").unwrap();
        verify_actor_document(&json, &served_from, &urls).unwrap();
        let fetched = fetched_actor(json).unwrap();
        assert_eq!(fetched.authority, "mastodon.example");
        assert_eq!(
            fetched.shared_inbox.as_deref(),
            Some("https://mastodon.example/inbox")
        );
        assert_eq!(
            fetched.url.as_deref(),
            Some("https://mastodon.example/@rosa")
        );
        assert_eq!(
            fetched.public_key_id,
            "https://mastodon.example/users/rosa#main-key"
        );
    }

    #[test]
    fn lemmy_group_fixture_is_accepted_as_a_group() {
        let urls = Urls::new("hearth.example", false).unwrap();
        let json = parse(include_str!("../../../tests/fixtures/lemmy/group.json"));
        let served_from = Url::parse("https://lemmy.example/c/longcovid").unwrap();
        verify_actor_document(&json, &served_from, &urls).unwrap();
        let fetched = fetched_actor(json).unwrap();
        assert_eq!(fetched.kind, "Group");
        assert_eq!(fetched.preferred_username, "longcovid");
    }

    #[test]
    fn actor_documents_that_cannot_be_trusted_are_refused() {
        let urls = Urls::new("hearth.example", false).unwrap();
        let good = include_str!("../../../tests/fixtures/mastodon/person.json");
        let from = Url::parse("https://mastodon.example/users/rosa").unwrap();
        let mut other_owner: serde_json::Value = serde_json::from_str(good).unwrap();
        other_owner["publicKey"]["owner"] = "https://mastodon.example/users/eve".into();
        let mut ip_inbox: serde_json::Value = serde_json::from_str(good).unwrap();
        ip_inbox["inbox"] = "https://10.0.0.5/inbox".into();
        let mut not_actor: serde_json::Value = serde_json::from_str(good).unwrap();
        not_actor["type"] = "Note".into();
        let mut no_key: serde_json::Value = serde_json::from_str(good).unwrap();
        no_key.as_object_mut().unwrap().remove("publicKey");
        for bad in [other_owner, ip_inbox, not_actor, no_key] {
            let json: ActorJson = serde_json::from_value(bad).unwrap();
            assert!(verify_actor_document(&json, &from, &urls).is_err());
        }
        // Served from another origin (same host, other port).
        let json = parse(good);
        let elsewhere = Url::parse("https://mastodon.example:8443/users/rosa").unwrap();
        assert!(verify_actor_document(&json, &elsewhere, &urls).is_err());
        // Claiming to be one of ours.
        let ours = Urls::new("mastodon.example", false).unwrap();
        assert!(verify_actor_document(&json, &from, &ours).is_err());
    }

    #[test]
    fn summaries_are_escaped_paragraphs() {
        assert_eq!(
            text_to_html("a <b>\n\nc & d"),
            "<p>a &lt;b&gt;</p><p>c &amp; d</p>"
        );
    }
}

//! The ids this server mints for its members, groups, posts and activities,
//! and reading them back. An id is a URL on this server's domain, in lower
//! case, and never changes: other servers store it.

use url::Url;

use crate::AppError;

/// Every URL this server mints. Actor ids use the configured domain (a host
/// name, never an IP literal), lower-case names, and never change.
#[derive(Debug, Clone)]
pub struct Urls {
    base: Url,
    authority: String,
}

/// What a local URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalRef {
    User(String),
    Group(String),
    Site,
    Activity(String),
    Post(String),
}

impl Urls {
    pub fn new(domain: &str, test_mode: bool) -> Result<Self, AppError> {
        let scheme = if test_mode { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{domain}/"))
            .map_err(|e| AppError::Internal(format!("domain '{domain}': {e}")))?;
        Ok(Urls {
            base,
            authority: domain.to_ascii_lowercase(),
        })
    }

    /// `host` or `host:port` of this server.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    fn at(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// The page of an erasure's receipt, by the secret of its link.
    pub fn receipt(&self, secret: &str) -> Url {
        self.at(&format!("/erasures/{secret}"))
    }

    /// A web page of this server (`path` starts with `/`).
    pub fn page(&self, path: &str) -> Url {
        self.at(path)
    }

    pub fn user(&self, name: &str) -> Url {
        self.at(&format!("/u/{}", name.to_ascii_lowercase()))
    }

    pub fn user_inbox(&self, name: &str) -> Url {
        self.at(&format!("/u/{}/inbox", name.to_ascii_lowercase()))
    }

    pub fn user_outbox(&self, name: &str) -> Url {
        self.at(&format!("/u/{}/outbox", name.to_ascii_lowercase()))
    }

    pub fn user_followers(&self, name: &str) -> Url {
        self.at(&format!("/u/{}/followers", name.to_ascii_lowercase()))
    }

    pub fn group(&self, name: &str) -> Url {
        self.at(&format!("/g/{}", name.to_ascii_lowercase()))
    }

    pub fn group_inbox(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/inbox", name.to_ascii_lowercase()))
    }

    pub fn group_outbox(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/outbox", name.to_ascii_lowercase()))
    }

    pub fn group_followers(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/followers", name.to_ascii_lowercase()))
    }

    pub fn group_moderators(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/moderators", name.to_ascii_lowercase()))
    }

    /// A group's peer mentors (`hearth:mentors`).
    pub fn group_mentors(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/mentors", name.to_ascii_lowercase()))
    }

    /// The name of the replies a group's moderators marked helpful
    /// (`hearth:helpful`): the target of `Add`/`Remove`, not served.
    pub fn group_helpful(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/helpful", name.to_ascii_lowercase()))
    }

    /// A group's pinned threads (Lemmy's `featured`).
    pub fn group_featured(&self, name: &str) -> Url {
        self.at(&format!("/g/{}/featured", name.to_ascii_lowercase()))
    }

    pub fn site(&self) -> Url {
        self.at("/actor")
    }

    pub fn site_inbox(&self) -> Url {
        self.at("/actor/inbox")
    }

    pub fn site_outbox(&self) -> Url {
        self.at("/actor/outbox")
    }

    pub fn shared_inbox(&self) -> Url {
        self.at("/inbox")
    }

    pub fn activity(&self, id: &str) -> Url {
        self.at(&format!("/activities/{id}"))
    }

    /// A new activity's id.
    pub fn new_activity(&self) -> Url {
        self.at(&format!("/activities/{}", uuid::Uuid::new_v4()))
    }

    /// This server's root, as it names itself when it verifies.
    pub fn root(&self) -> Url {
        self.at("/")
    }

    /// A professional's verification here, served to the servers that
    /// check it (`hearth_domain::professional`).
    pub fn verification(&self, id: i64) -> Url {
        self.at(&format!("/verifications/{id}"))
    }

    pub fn post(&self, id: &str) -> Url {
        self.at(&format!("/p/{id}"))
    }

    /// A new post's id.
    pub fn new_post(&self) -> Url {
        self.at(&format!("/p/{}", uuid::Uuid::new_v4()))
    }

    pub fn nodeinfo(&self, version: &str) -> Url {
        self.at(&format!("/nodeinfo/{version}"))
    }

    /// Whether `url` is on this server.
    pub fn is_local(&self, url: &Url) -> bool {
        authority(url).is_some_and(|a| a.eq_ignore_ascii_case(&self.authority))
    }

    /// Whether the string `id` is a URL on this server.
    pub fn is_local_id(&self, id: &str) -> bool {
        Url::parse(id).is_ok_and(|u| self.is_local(&u))
    }

    /// What a local URL names, if anything.
    pub fn parse_local(&self, url: &Url) -> Option<LocalRef> {
        if !self.is_local(url) {
            return None;
        }
        let segments: Vec<&str> = url.path_segments()?.collect();
        match segments.as_slice() {
            ["u", name] => Some(LocalRef::User((*name).to_owned())),
            ["g", name] => Some(LocalRef::Group((*name).to_owned())),
            ["actor"] => Some(LocalRef::Site),
            ["activities", id] => Some(LocalRef::Activity((*id).to_owned())),
            ["p", id] => Some(LocalRef::Post((*id).to_owned())),
            _ => None,
        }
    }

    /// The id of a thread written here, when `id` is the id of its note
    /// (`/p/{id}/note`: the thread as a `Note`, which microblogs are told
    /// about and their people reply to).
    pub fn thread_of_note(&self, id: &str) -> Option<String> {
        let url = Url::parse(id).ok()?;
        if !self.is_local(&url) {
            return None;
        }
        match url.path_segments()?.collect::<Vec<_>>().as_slice() {
            ["p", post, "note"] => Some(self.post(post).to_string()),
            _ => None,
        }
    }

    /// [`Urls::parse_local`] of a string.
    pub fn parse_local_id(&self, id: &str) -> Option<LocalRef> {
        Url::parse(id).ok().and_then(|u| self.parse_local(&u))
    }
}

/// A parsed `name@authority` handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub name: String,
    pub authority: String,
}

impl Handle {
    /// Parse `@name@host[:port]`, `name@host`, `acct:name@host` or
    /// `!name@host` (how Lemmy, Mbin and PieFed people write a group).
    pub fn parse(raw: &str) -> Option<Handle> {
        let trimmed = raw.trim();
        let trimmed = trimmed.strip_prefix("acct:").unwrap_or(trimmed);
        let trimmed = trimmed
            .strip_prefix('@')
            .or_else(|| trimmed.strip_prefix('!'))
            .unwrap_or(trimmed);
        let (name, authority) = trimmed.split_once('@')?;
        let valid_name = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let valid_authority = !authority.is_empty()
            && authority.len() <= 260
            && authority
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        (valid_name && valid_authority).then(|| Handle {
            name: name.to_owned(),
            authority: authority.to_ascii_lowercase(),
        })
    }
}

/// `host` or `host:port`: how Hearth names another server.
pub fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// [`authority`] of a string, lower-cased; `None` when it is not a URL.
pub fn authority_of(id: &str) -> Option<String> {
    Url::parse(id)
        .ok()
        .as_ref()
        .and_then(authority)
        .map(|a| a.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_round_trip_to_local_refs() {
        let urls = Urls::new("localhost:8081", true).unwrap();
        let g = urls.group("Type1_Peers");
        assert_eq!(g.as_str(), "http://localhost:8081/g/type1_peers");
        assert_eq!(
            urls.parse_local(&g),
            Some(LocalRef::Group("type1_peers".into()))
        );
        assert_eq!(urls.parse_local(&urls.site()), Some(LocalRef::Site));
        let other = Url::parse("http://localhost:8082/g/type1_peers").unwrap();
        assert_eq!(urls.parse_local(&other), None);
        let prod = Urls::new("a.example", false).unwrap();
        assert_eq!(prod.user("Ann").as_str(), "https://a.example/u/ann");
        assert_eq!(
            authority_of("http://LocalHost:8081/x").as_deref(),
            Some("localhost:8081")
        );
    }
}

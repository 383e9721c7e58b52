//! The federation context: what every federation handler can reach (the
//! database, this server's authority and URLs, the guarded HTTP client), and
//! how it is set up.

use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::config::FederationConfig;
use activitypub_federation::resolver::ValidatingDnsResolver;
use hearth_db::DatabaseConnection;
use hearth_db::federation::{self, SiteKeys};
use reqwest_middleware::ClientWithMiddleware;
use tokio::sync::Notify;
use url::Url;

use crate::FederationError;
use crate::actors::LocalActor;
use crate::outbound::StatusRecorder;

/// Settings the rest of Hearth passes in.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `host` or `host:port`.
    pub domain: String,
    /// Plain http and local addresses allowed (tests and development only).
    pub test_mode: bool,
    pub instance_name: String,
    pub instance_description: String,
    pub open_registrations: bool,
    /// Timeout for every outbound request.
    pub request_timeout: Duration,
}

/// The app data handed to activitypub_federation, cheap to clone.
#[derive(Clone)]
pub struct Federation {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub urls: Urls,
    /// The same guarded client activitypub_federation uses, for our own
    /// requests (WebFinger).
    pub client: ClientWithMiddleware,
    /// Wakes the delivery workers when new deliveries are stored.
    pub outbox_ready: Arc<Notify>,
    /// Delivery attempts by outcome in this process.
    pub counters: Arc<crate::outbound::DeliveryCounters>,
}

/// A request-scoped handle: activitypub_federation's `Data`.
pub type Data = activitypub_federation::config::Data<Federation>;

/// Build the federation configuration: make sure the instance actor has its
/// keys, build the HTTP client with the SSRF guard, and hand both to
/// activitypub_federation.
///
/// activitypub_federation's `signed_fetch_actor` panics when the actor has
/// no usable key; the keys are read (or created) and parsed here first, so a
/// bad key is an error, not a panic.
pub async fn configure(
    db: DatabaseConnection,
    settings: Settings,
) -> Result<FederationConfig<Federation>, FederationError> {
    let keys = match federation::site_keys(&db).await? {
        Some(keys) => keys,
        None => {
            let fresh = tokio::task::spawn_blocking(crate::keys::generate)
                .await
                .map_err(|e| FederationError::Internal(e.to_string()))?
                .map_err(|e| FederationError::Internal(e.to_string()))?;
            federation::ensure_site_keys(
                &db,
                SiteKeys {
                    public_key_pem: fresh.public_pem,
                    private_key_pem: fresh.private_pem,
                },
            )
            .await?
        }
    };
    crate::keys::check_private_pem(&keys.private_key_pem)
        .map_err(|e| FederationError::Internal(format!("instance actor key: {e}")))?;

    let urls = Urls::new(&settings.domain, settings.test_mode)?;
    let client = build_client(&settings)?;
    let site = LocalActor::site(&urls, &keys);
    let fed = Federation {
        db,
        urls,
        client: client.clone(),
        outbox_ready: Arc::new(Notify::new()),
        counters: Arc::default(),
        settings: Arc::new(settings.clone()),
    };
    FederationConfig::builder()
        .domain(settings.domain.clone())
        .app_data(fed)
        .client(client)
        // In test mode peers run on loopback ports over http; the library's
        // "debug" relaxes exactly those checks (explicit ports, private
        // addresses, http). We never use its in-memory queue, so its other
        // effect (sending synchronously) does not apply.
        .debug(settings.test_mode)
        .allow_http_urls(settings.test_mode)
        .request_timeout(settings.request_timeout)
        // Mastodon-style signatures: Host and Date are set and signed along
        // with (request-target) (and Digest on POST). Mastodon, and Hearth's
        // own verifier, refuse signatures that leave Host out.
        .http_signature_compat(true)
        .http_fetch_limit(50)
        .signed_fetch_actor(&site)
        .build()
        .await
        .map_err(|e| FederationError::Internal(format!("federation config: {e}")))
}

/// The outbound HTTP client: no automatic redirects (the library follows
/// one itself), timeouts, and a DNS resolver that refuses loopback, private
/// and link-local addresses unless in test mode. It also records response
/// statuses for the delivery ledger.
fn build_client(settings: &Settings) -> Result<ClientWithMiddleware, FederationError> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout)
        .user_agent(format!(
            "hearth/{} (+{}://{})",
            env!("CARGO_PKG_VERSION"),
            if settings.test_mode { "http" } else { "https" },
            settings.domain
        ))
        .dns_resolver(Arc::new(ValidatingDnsResolver::new(
            Vec::new(),
            !settings.test_mode,
        )))
        .build()
        .map_err(|e| FederationError::Internal(format!("http client: {e}")))?;
    Ok(reqwest_middleware::ClientBuilder::new(client)
        .with(StatusRecorder)
        .build())
}

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
    pub fn new(domain: &str, test_mode: bool) -> Result<Self, FederationError> {
        let scheme = if test_mode { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{domain}/"))
            .map_err(|e| FederationError::Internal(format!("domain '{domain}': {e}")))?;
        Ok(Urls {
            base,
            authority: domain.to_ascii_lowercase(),
        })
    }

    pub fn authority(&self) -> &str {
        &self.authority
    }

    fn at(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
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

    pub fn new_activity(&self) -> Url {
        self.at(&format!("/activities/{}", uuid::Uuid::new_v4()))
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
        crate::protocol::authority(url).is_some_and(|a| a.eq_ignore_ascii_case(&self.authority))
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
    }
}

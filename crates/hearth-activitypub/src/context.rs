//! The federation context: what every federation handler can reach (the
//! use-cases, this server's URLs, the guarded HTTP client), and how it is
//! set up.

use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::config::FederationConfig;
use hearth_app::{App, Urls};
use reqwest_middleware::ClientWithMiddleware;

use crate::FederationError;
use crate::actors::LocalActor;
use crate::guard::{Guard, GuardLayer, Resolver};
use crate::sign::KeyCache;

/// Settings taken from the configuration.
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
    /// `host:port` names the SSRF guard lets resolve to private addresses
    /// (`federation.allow_private_hosts`).
    pub allow_private_hosts: Vec<String>,
}

impl Settings {
    pub fn from_config(config: &hearth_app::Config) -> Self {
        Settings {
            domain: config.domain.clone(),
            test_mode: config.test_mode,
            instance_name: config.instance.name.clone(),
            instance_description: config.instance.description.clone(),
            open_registrations: config.registration.mode == hearth_domain::RegistrationMode::Open,
            request_timeout: Duration::from_secs(config.federation.request_timeout_secs),
            allow_private_hosts: config.federation.allow_private_hosts.clone(),
        }
    }
}

/// The app data handed to activitypub_federation, cheap to clone.
#[derive(Clone)]
pub struct Federation {
    /// The use-cases: every change and every read goes through them.
    pub app: App,
    pub settings: Arc<Settings>,
    pub urls: Urls,
    /// The same guarded client activitypub_federation uses, for our own
    /// requests (WebFinger, deliveries).
    pub client: ClientWithMiddleware,
    /// The SSRF guard inside `client`, for callers that check an address
    /// before queueing work for it.
    pub guard: Arc<Guard>,
    /// The local actors' private keys, parsed once for the deliveries they
    /// sign (`crate::sign`).
    pub(crate) signing_keys: Arc<KeyCache>,
}

/// A request-scoped handle: activitypub_federation's `Data`.
pub type Data = activitypub_federation::config::Data<Federation>;

/// Build the federation configuration for `app`: the HTTP client with the
/// SSRF guard, and activitypub_federation set up to sign as this server's
/// actors.
///
/// activitypub_federation's `signed_fetch_actor` panics when the actor has
/// no usable key; the key is read and parsed here first, so a bad key is an
/// error, not a panic.
pub async fn configure(app: &App) -> Result<FederationConfig<Federation>, FederationError> {
    let settings = Settings::from_config(&app.config);
    let keys = app
        .site_keys()
        .await
        .map_err(|e| FederationError::Internal(format!("instance actor: {e}")))?;
    hearth_app::keys::check_private_pem(&keys.private_key_pem)
        .map_err(|e| FederationError::Internal(format!("instance actor key: {e}")))?;
    let urls = app.urls().clone();
    let guard = Arc::new(
        Guard::new(!settings.test_mode, &settings.allow_private_hosts).map_err(|e| {
            FederationError::Internal(format!("federation.allow_private_hosts: {e}"))
        })?,
    );
    let client = build_client(&settings, &guard)?;
    let site = LocalActor::site(&urls, &keys);
    let fed = Federation {
        app: app.clone(),
        urls,
        client: client.clone(),
        guard,
        settings: Arc::new(settings.clone()),
        signing_keys: Arc::new(KeyCache::default()),
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
        // Mastodon-style signatures on signed fetches: Host and Date are set
        // and signed along with (request-target). Mastodon, and Hearth's own
        // verifier, refuse signatures that leave Host out. Deliveries are
        // signed by `crate::sign`, in the shape this gives POSTs.
        .http_signature_compat(true)
        .http_fetch_limit(50)
        .signed_fetch_actor(&site)
        .url_verifier(Box::new(PolicyVerifier(app.clone())))
        .build()
        .await
        .map_err(|e| FederationError::Internal(format!("federation config: {e}")))
}

/// Asks the federation policy before every fetch the library makes
/// (actors, objects, collections): a server cut off is not fetched from.
#[derive(Clone)]
struct PolicyVerifier(App);

#[async_trait::async_trait]
impl activitypub_federation::config::UrlVerifier for PolicyVerifier {
    async fn verify(&self, url: &url::Url) -> Result<(), activitypub_federation::error::Error> {
        use activitypub_federation::error::Error;
        let Some(authority) = hearth_app::ids::authority(url) else {
            return Err(Error::UrlVerificationError("Url must have a host"));
        };
        match self.0.check_server(&authority).await {
            Ok(()) => Ok(()),
            Err(hearth_app::AppError::Refused(why)) => {
                tracing::info!(%url, why, "fetch refused by the federation policy");
                Err(Error::UrlVerificationError(
                    "the server is cut off by this server's federation policy",
                ))
            }
            // Fail closed: a policy that cannot be read lets nothing in.
            Err(err) => {
                tracing::warn!(%url, %err, "cannot read the federation policy");
                Err(Error::UrlVerificationError(
                    "this server's federation policy could not be read",
                ))
            }
        }
    }
}

/// The outbound HTTP client, the only one: no automatic redirects (the
/// library follows one itself, `lists` a few, each a new request the guard
/// judges), timeouts, and the SSRF guard (`crate::guard`) as its DNS
/// resolver and as a middleware every request passes.
fn build_client(
    settings: &Settings,
    guard: &Arc<Guard>,
) -> Result<ClientWithMiddleware, FederationError> {
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
        .dns_resolver(Arc::new(Resolver(guard.clone())))
        .build()
        .map_err(|e| FederationError::Internal(format!("http client: {e}")))?;
    Ok(reqwest_middleware::ClientBuilder::new(client)
        .with(GuardLayer(guard.clone()))
        .build())
}

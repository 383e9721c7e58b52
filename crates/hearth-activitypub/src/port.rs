//! The federation port `hearth-app` calls: render events into activities,
//! resolve actors on other servers, start a backfill, read another
//! server's software and fetch a published domain list.

use activitypub_federation::config::FederationConfig;
use hearth_app::events::Event;
use hearth_app::port::NodeSoftware;
use hearth_app::records::RemoteActor;
use hearth_app::{Outgoing, PortError};

use crate::context::Federation;

/// `hearth_app::Federation`, implemented with activitypub_federation.
pub struct FederationPort {
    config: FederationConfig<Federation>,
}

impl FederationPort {
    pub fn new(config: FederationConfig<Federation>) -> Self {
        FederationPort { config }
    }
}

#[async_trait::async_trait]
impl hearth_app::Federation for FederationPort {
    fn render(&self, event: &Event) -> Result<Vec<Outgoing>, PortError> {
        crate::render::event(&self.config.urls, event)
    }

    async fn resolve(&self, target: &str) -> Result<RemoteActor, PortError> {
        let data = self.config.to_request_data();
        Ok(crate::resolve::resolve(&data, target).await?.actor)
    }

    fn joined_elsewhere(&self, group: &RemoteActor) {
        let data = self.config.to_request_data();
        let group = group.ap_id.clone();
        tokio::spawn(async move {
            if let Err(err) = crate::backfill::backfill(&data, &group).await {
                tracing::info!(group, error = %err, "backfill failed");
            }
        });
    }

    async fn software(&self, authority: &str) -> Result<Option<NodeSoftware>, PortError> {
        let data = self.config.to_request_data();
        Ok(crate::nodeinfo::software(data.app_data(), authority).await?)
    }

    async fn fetch_list(&self, url: &str) -> Result<String, PortError> {
        let data = self.config.to_request_data();
        Ok(crate::lists::fetch(&data, url).await?)
    }

    async fn post_webhook(&self, url: &str, body: String) -> Result<(), PortError> {
        let data = self.config.to_request_data();
        Ok(crate::lists::post_webhook(&data, url, body).await?)
    }
}

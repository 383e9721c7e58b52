//! Filling in a group on another server that a member here just joined:
//! read its outbox (signed, so members-only threads are included) and feed
//! each `Announce` it lists to the same translation, and so the same
//! commands, as an `Announce` arriving in the inbox.

use activitypub_federation::fetch::fetch_object_http;
use serde_json::Value;
use url::Url;

use crate::FederationError;
use crate::context::{Data, Federation};
use crate::inbox::Received;
use crate::objects;
use crate::translate;

/// How many of the outbox's items are read.
const ITEMS: usize = 20;

/// Backfill the group `group_ap_id`; returns how many items were applied.
pub async fn backfill(data: &Data, group_ap_id: &str) -> Result<usize, FederationError> {
    let fed = data.app_data();
    let Some(group) = fed.app.remote_actor(group_ap_id).await? else {
        return Ok(0);
    };
    let Some(outbox) = group.outbox.as_deref().and_then(|o| Url::parse(o).ok()) else {
        return Ok(0);
    };
    let collection = fetch_object_http::<Federation, Value>(&outbox, data)
        .await?
        .object;
    let items = collection["orderedItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut stored = 0;
    for item in items.iter().take(ITEMS) {
        let Ok(envelope) = objects::parse_envelope(item) else {
            continue;
        };
        // Only what the group itself announced.
        if envelope.actor.as_str() != group.ap_id || envelope.kind != "Announce" {
            continue;
        }
        match translate::relayed(data, &group, item).await {
            Ok(Received::Applied) => stored += 1,
            Ok(_) => {}
            Err(err) => {
                tracing::info!(item = %envelope.id, error = %err, "skipping an outbox item");
            }
        }
    }
    tracing::info!(group = %group.ap_id, stored, "backfilled from the group's outbox");
    Ok(stored)
}

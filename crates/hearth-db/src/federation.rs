//! The federation ledger: the instance actor's keys, which activities were
//! received (so each is processed once), and the activities sent (the
//! delivery queue itself is [`crate::queue`]).

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::DbError;
use crate::entity::{deliveries, inbound_activities, outbound_activities, site_actor};

/// The instance actor's key pair, created once.
#[derive(Debug, Clone)]
pub struct SiteKeys {
    pub public_key_pem: String,
    pub private_key_pem: String,
}

pub async fn site_keys(db: &impl ConnectionTrait) -> Result<Option<SiteKeys>, DbError> {
    Ok(site_actor::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|r| SiteKeys {
            public_key_pem: r.public_key_pem,
            private_key_pem: r.private_key_pem,
        }))
}

/// Store the instance actor's keys unless another process got there first;
/// returns the keys that are stored.
pub async fn ensure_site_keys(
    db: &impl ConnectionTrait,
    keys: SiteKeys,
) -> Result<SiteKeys, DbError> {
    site_actor::Entity::insert(site_actor::ActiveModel {
        id: Set(1),
        public_key_pem: Set(keys.public_key_pem),
        private_key_pem: Set(keys.private_key_pem),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing_on([site_actor::Column::Id])
    .exec(db)
    .await?;
    site_keys(db)
        .await?
        .ok_or(DbError::NotFound { what: "site actor" })
}

/// Record a received activity id. `false` when it was already recorded
/// (a duplicate delivery): the caller then changes nothing.
pub async fn record_inbound(
    db: &impl ConnectionTrait,
    ap_id: &str,
    kind: &str,
    actor_ap_id: &str,
) -> Result<bool, DbError> {
    let result = inbound_activities::Entity::insert(inbound_activities::ActiveModel {
        ap_id: Set(ap_id.to_owned()),
        kind: Set(kind.chars().take(64).collect()),
        actor_ap_id: Set(actor_ap_id.to_owned()),
        received_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([inbound_activities::Column::ApId])
    .exec(db)
    .await?;
    Ok(matches!(result, sea_orm::TryInsertResult::Inserted(_)))
}

pub async fn inbound_seen(db: &impl ConnectionTrait, ap_id: &str) -> Result<bool, DbError> {
    Ok(inbound_activities::Entity::find()
        .filter(inbound_activities::Column::ApId.eq(ap_id))
        .count(db)
        .await?
        > 0)
}

/// A stored outbound activity, as its id fetches it.
#[derive(Debug, Clone)]
pub struct StoredActivity {
    pub body: String,
    /// The post it is about, if any.
    pub about: Option<String>,
    /// The servers it was delivered to (or is waiting for).
    pub authorities: Vec<String>,
}

/// A stored outbound activity, by id, with the servers it was sent to.
pub async fn outbound_by_ap_id(
    db: &impl ConnectionTrait,
    ap_id: &str,
) -> Result<Option<StoredActivity>, DbError> {
    let Some(activity) = outbound_activities::Entity::find()
        .filter(outbound_activities::Column::ApId.eq(ap_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let authorities = deliveries::Entity::find()
        .filter(deliveries::Column::ActivityId.eq(activity.id))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.authority)
        .collect();
    Ok(Some(StoredActivity {
        body: activity.body,
        about: activity.about_ap_id,
        authorities,
    }))
}

//! The federation ledger: the instance actor's keys, which activities were
//! received (so each is processed once), and every activity sent with one
//! delivery row per target inbox.
//!
//! ```text
//! use-case ──(same transaction as the change)──▶ outbound_activities + deliveries(pending)
//!                                                        │
//!        sender: claim_due() ── pending → sending (lease) ┘
//!                   │ sign + POST
//!                   ▼
//!              finish(): delivered | pending again (retry later) | failed
//! ```

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

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

/// One target of an outbound activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub inbox: String,
    pub authority: String,
}

/// Store an activity to send and one pending delivery per distinct inbox.
/// Call it inside the transaction that makes the change the activity
/// announces, so the two never disagree.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    ap_id: &str,
    kind: &str,
    actor_ap_id: &str,
    body: &str,
    targets: &[Target],
) -> Result<i64, DbError> {
    let now = Utc::now();
    let activity = outbound_activities::ActiveModel {
        ap_id: Set(ap_id.to_owned()),
        kind: Set(kind.to_owned()),
        actor_ap_id: Set(actor_ap_id.to_owned()),
        body: Set(body.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut seen = std::collections::HashSet::new();
    for target in targets.iter().filter(|t| seen.insert(t.inbox.clone())) {
        deliveries::ActiveModel {
            activity_id: Set(activity.id),
            inbox: Set(target.inbox.clone()),
            authority: Set(target.authority.clone()),
            state: Set(DeliveryState::Pending.as_str().to_owned()),
            attempts: Set(0),
            last_status: Set(None),
            last_error: Set(None),
            next_attempt_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(activity.id)
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a sender until `next_attempt_at` (its lease).
    Sending,
    /// The receiving server answered 2xx.
    Delivered,
    /// Given up: refused for good, or out of attempts.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// A claimed delivery with what to send.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub inbox: String,
    pub authority: String,
    pub attempts: i32,
    pub activity_ap_id: String,
    pub actor_ap_id: String,
    pub body: String,
}

/// Claim up to `limit` deliveries that are due: pending ones whose time has
/// come, and ones whose sender's lease ran out (it crashed). A claim is a
/// conditional update, so two senders never claim the same row.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<DueDelivery>, DbError> {
    let candidates = deliveries::Entity::find()
        .filter(
            Condition::any()
                .add(deliveries::Column::State.eq(DeliveryState::Pending.as_str()))
                .add(deliveries::Column::State.eq(DeliveryState::Sending.as_str())),
        )
        .filter(deliveries::Column::NextAttemptAt.lte(now))
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .order_by_asc(deliveries::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut claimed = Vec::new();
    for row in candidates {
        let updated = deliveries::Entity::update_many()
            .col_expr(
                deliveries::Column::State,
                Expr::value(DeliveryState::Sending.as_str()),
            )
            .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now + lease))
            .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
            .filter(deliveries::Column::Id.eq(row.id))
            .filter(deliveries::Column::State.eq(row.state.clone()))
            .filter(deliveries::Column::NextAttemptAt.eq(row.next_attempt_at))
            .exec(db)
            .await?;
        if updated.rows_affected != 1 {
            continue;
        }
        let Some(activity) = outbound_activities::Entity::find_by_id(row.activity_id)
            .one(db)
            .await?
        else {
            continue;
        };
        claimed.push(DueDelivery {
            id: row.id,
            inbox: row.inbox,
            authority: row.authority,
            attempts: row.attempts,
            activity_ap_id: activity.ap_id,
            actor_ap_id: activity.actor_ap_id,
            body: activity.body,
        });
    }
    Ok(claimed)
}

/// What happened to one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    Retry {
        status: Option<u16>,
        error: String,
        at: DateTime<Utc>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

pub async fn finish(db: &impl ConnectionTrait, id: i64, outcome: Outcome) -> Result<(), DbError> {
    let now = Utc::now();
    let (state, status, error, next) = match outcome {
        Outcome::Delivered { status } => (DeliveryState::Delivered, Some(status), None, now),
        Outcome::Retry { status, error, at } => (DeliveryState::Pending, status, Some(error), at),
        Outcome::Failed { status, error } => (DeliveryState::Failed, status, Some(error), now),
    };
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::State, Expr::value(state.as_str()))
        .col_expr(
            deliveries::Column::Attempts,
            Expr::col(deliveries::Column::Attempts).add(1),
        )
        .col_expr(
            deliveries::Column::LastStatus,
            Expr::value(status.map(i32::from)),
        )
        .col_expr(deliveries::Column::LastError, Expr::value(error))
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(next))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The earliest time a pending delivery is due, if any.
pub async fn next_due(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(deliveries::Entity::find()
        .filter(
            Condition::any()
                .add(deliveries::Column::State.eq(DeliveryState::Pending.as_str()))
                .add(deliveries::Column::State.eq(DeliveryState::Sending.as_str())),
        )
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .one(db)
        .await?
        .map(|d| d.next_attempt_at))
}

/// A stored outbound activity, by id, with the servers it was sent to.
pub async fn outbound_by_ap_id(
    db: &impl ConnectionTrait,
    ap_id: &str,
) -> Result<Option<(String, Vec<String>)>, DbError> {
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
    Ok(Some((activity.body, authorities)))
}

//! The delivery queue seen from outside: how many deliveries wait, how old
//! the oldest is, and how each receiving server is doing. Read-only, for
//! the admin API, `hearth admin federation-status` and the Prometheus
//! metrics.
//!
//! Every figure comes from a `GROUP BY` or a bounded query, so asking stays
//! cheap however long the queue grows:
//!
//! ```text
//! deliveries ── GROUP BY state ──────────────▶ pending / sending / delivered / failed
//!            ── oldest pending|sending ──────▶ oldest_pending_at
//!            ── GROUP BY authority (top N) ─┐
//! instances  ── unreachable (top N) ────────┴▶ servers: unreachable first, then most waiting
//!            ── GROUP BY state ──────────────▶ servers by state (metrics)
//! ```

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, IntoCondition};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::DbError;
use crate::entity::{deliveries, instances};
use crate::queue::DeliveryState;

/// How many servers [`queue_status`] lists at most.
pub const MAX_SERVERS: u64 = 200;

/// How a receiving server is doing, as the `instances` table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Answering, or not yet failed often enough in a row to count as down.
    Ok,
    /// Failed too often in a row: its deliveries wait, and it is only
    /// probed now and then.
    Unreachable,
}

impl ServerState {
    pub const ALL: [ServerState; 2] = [ServerState::Ok, ServerState::Unreachable];

    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Ok => "ok",
            ServerState::Unreachable => "unreachable",
        }
    }

    fn parse(raw: &str) -> Result<Self, DbError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| DbError::Corrupt {
                table: "instances",
                detail: format!("unknown state {raw:?}"),
            })
    }
}

impl std::fmt::Display for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Deliveries by state, over the whole queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Waiting for their next attempt.
    pub pending: u64,
    /// Being sent right now (claimed by a worker).
    pub sending: u64,
    pub delivered: u64,
    /// Given up.
    pub failed: u64,
}

/// The queue as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatus {
    pub pending: u64,
    pub sending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// When the oldest delivery that has not gone out yet (pending or
    /// sending) was stored; `None` when nothing waits.
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// At most [`MAX_SERVERS`]: unreachable servers first, then the ones
    /// with the most deliveries waiting.
    pub servers: Vec<ServerStatus>,
}

/// One receiving server: its deliveries and how it has been answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// `host` or `host:port`.
    pub authority: String,
    /// `Ok` when the server has no row in `instances` yet.
    pub state: ServerState,
    /// Deliveries not yet gone out (pending or sending).
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Failed attempts in a row, across all its deliveries.
    pub consecutive_failures: u32,
    /// HTTP status of the last answer, if it answered at all.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Until when it is left alone (unreachable, or it answered 429 with
    /// Retry-After).
    pub blocked_until: Option<DateTime<Utc>>,
}

/// The few numbers Prometheus scrapes: cheap enough for every scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueGauges {
    pub deliveries: StateCounts,
    /// See [`QueueStatus::oldest_pending_at`].
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// Servers with a row in `instances`, by state.
    pub servers_ok: u64,
    pub servers_unreachable: u64,
}

/// Deliveries by state: one `GROUP BY`.
pub async fn state_counts(db: &impl ConnectionTrait) -> Result<StateCounts, DbError> {
    let rows: Vec<(String, i64)> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::State)
        .expr(Func::count(Expr::col(deliveries::Column::Id)))
        .group_by(deliveries::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts = StateCounts::default();
    for (state, n) in rows {
        let slot = match delivery_state(&state)? {
            DeliveryState::Pending => &mut counts.pending,
            DeliveryState::Sending => &mut counts.sending,
            DeliveryState::Delivered => &mut counts.delivered,
            DeliveryState::Failed => &mut counts.failed,
        };
        *slot = count(n);
    }
    Ok(counts)
}

fn delivery_state(raw: &str) -> Result<DeliveryState, DbError> {
    [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Delivered,
        DeliveryState::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| DbError::Corrupt {
        table: "deliveries",
        detail: format!("unknown state {raw:?}"),
    })
}

/// When the oldest delivery still to go out was stored.
pub async fn oldest_pending_at(
    db: &impl ConnectionTrait,
) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::CreatedAt)
        .filter(waiting())
        .order_by_asc(deliveries::Column::CreatedAt)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await?)
}

/// The numbers for the metrics endpoint.
pub async fn queue_gauges(db: &impl ConnectionTrait) -> Result<QueueGauges, DbError> {
    let deliveries = state_counts(db).await?;
    let oldest_pending_at = oldest_pending_at(db).await?;
    let rows: Vec<(String, i64)> = instances::Entity::find()
        .select_only()
        .column(instances::Column::State)
        .expr(Func::count(Expr::col(instances::Column::Id)))
        .group_by(instances::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let mut gauges = QueueGauges {
        deliveries,
        oldest_pending_at,
        ..Default::default()
    };
    for (state, n) in rows {
        match ServerState::parse(&state)? {
            ServerState::Ok => gauges.servers_ok = count(n),
            ServerState::Unreachable => gauges.servers_unreachable = count(n),
        }
    }
    Ok(gauges)
}

/// The whole picture for admins, with at most `max_servers` servers:
/// unreachable ones first (whatever their queue), then those with the most
/// deliveries waiting.
pub async fn queue_status(
    db: &impl ConnectionTrait,
    max_servers: u64,
) -> Result<QueueStatus, DbError> {
    let counts = state_counts(db).await?;
    let oldest_pending_at = oldest_pending_at(db).await?;

    let unreachable = instances::Entity::find()
        .filter(instances::Column::State.eq(ServerState::Unreachable.as_str()))
        .order_by_desc(instances::Column::ConsecutiveFailures)
        .order_by_asc(instances::Column::Authority)
        .limit(max_servers)
        .all(db)
        .await?;
    let busiest: Vec<ServerCounts> = per_server()
        .order_by(count_where(waiting()), Order::Desc)
        .order_by(count_where(state_is(DeliveryState::Failed)), Order::Desc)
        .order_by_asc(deliveries::Column::Authority)
        .limit(max_servers)
        .into_tuple()
        .all(db)
        .await?;

    // Fill in what each list lacks: the queue of the unreachable servers
    // that are not among the busiest, and the state of the busiest.
    let listed: HashSet<&str> = busiest.iter().map(|(a, ..)| a.as_str()).collect();
    let missing: Vec<&str> = unreachable
        .iter()
        .map(|i| i.authority.as_str())
        .filter(|a| !listed.contains(a))
        .collect();
    let more: Vec<ServerCounts> = if missing.is_empty() {
        Vec::new()
    } else {
        per_server()
            .filter(deliveries::Column::Authority.is_in(missing))
            .into_tuple()
            .all(db)
            .await?
    };
    let known: HashSet<&str> = unreachable.iter().map(|i| i.authority.as_str()).collect();
    let unknown: Vec<&str> = busiest
        .iter()
        .map(|(a, ..)| a.as_str())
        .filter(|a| !known.contains(a))
        .collect();
    let others = if unknown.is_empty() {
        Vec::new()
    } else {
        instances::Entity::find()
            .filter(instances::Column::Authority.is_in(unknown))
            .all(db)
            .await?
    };

    let mut queues: HashMap<String, ServerCounts> = busiest
        .into_iter()
        .chain(more)
        .map(|row| (row.0.clone(), row))
        .collect();
    let mut servers = Vec::with_capacity(queues.len() + unreachable.len());
    for instance in unreachable.into_iter().chain(others) {
        let row = queues.remove(&instance.authority);
        servers.push(server_status(
            instance.authority.clone(),
            row,
            Some(instance),
        )?);
    }
    for (authority, row) in queues {
        servers.push(server_status(authority, Some(row), None)?);
    }
    servers.sort_by(|a, b| {
        let key = |s: &ServerStatus| {
            (
                s.state != ServerState::Unreachable,
                Reverse(s.pending),
                Reverse(s.consecutive_failures),
                Reverse(s.failed),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.authority.cmp(&b.authority))
    });
    servers.truncate(usize::try_from(max_servers).unwrap_or(usize::MAX));

    Ok(QueueStatus {
        pending: counts.pending,
        sending: counts.sending,
        delivered: counts.delivered,
        failed: counts.failed,
        oldest_pending_at,
        servers,
    })
}

/// `(authority, waiting, delivered, failed)` of one server.
type ServerCounts = (String, i64, i64, i64);

/// Per-server delivery counts: one `GROUP BY authority` with conditional
/// counts, so every server's numbers come from a single pass.
fn per_server() -> Select<deliveries::Entity> {
    deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Authority)
        .expr(count_where(waiting()))
        .expr(count_where(state_is(DeliveryState::Delivered)))
        .expr(count_where(state_is(DeliveryState::Failed)))
        .group_by(deliveries::Column::Authority)
}

/// `COUNT(CASE WHEN cond THEN 1 END)`: portable to SQLite and PostgreSQL,
/// and always a 64-bit integer (a `SUM` would be `numeric` on PostgreSQL).
fn count_where(cond: impl IntoCondition) -> Expr {
    Func::count(Expr::case(cond, 1)).into()
}

fn state_is(state: DeliveryState) -> Condition {
    Condition::all().add(deliveries::Column::State.eq(state.as_str()))
}

/// Deliveries that have not gone out yet.
fn waiting() -> Condition {
    Condition::any()
        .add(deliveries::Column::State.eq(DeliveryState::Pending.as_str()))
        .add(deliveries::Column::State.eq(DeliveryState::Sending.as_str()))
}

fn server_status(
    authority: String,
    counts: Option<ServerCounts>,
    instance: Option<instances::Model>,
) -> Result<ServerStatus, DbError> {
    let (_, pending, delivered, failed) = counts.unwrap_or_default();
    let mut status = ServerStatus {
        authority,
        state: ServerState::Ok,
        pending: count(pending),
        delivered: count(delivered),
        failed: count(failed),
        consecutive_failures: 0,
        last_status: None,
        last_error: None,
        last_success_at: None,
        last_failure_at: None,
        blocked_until: None,
    };
    if let Some(i) = instance {
        status.state = ServerState::parse(&i.state)?;
        status.consecutive_failures = u32::try_from(i.consecutive_failures).unwrap_or(0);
        status.last_status = i.last_status.and_then(|s| u16::try_from(s).ok());
        status.last_error = i.last_error;
        status.last_success_at = i.last_success_at;
        status.last_failure_at = i.last_failure_at;
        status.blocked_until = i.blocked_until;
    }
    Ok(status)
}

/// A `COUNT` as the unsigned number it is.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::Duration;
    use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

    use super::*;
    use crate::entity::outbound_activities;

    use crate::test_database as database;

    async fn delivery(
        db: &DatabaseConnection,
        authority: &str,
        state: DeliveryState,
        created_at: DateTime<Utc>,
    ) {
        let activity = outbound_activities::ActiveModel {
            ap_id: Set(format!("https://here.example/a/{}", next_number())),
            kind: Set("Create".into()),
            actor_ap_id: Set("https://here.example/g/peers".into()),
            body: Set("{}".into()),
            created_at: Set(created_at),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        deliveries::ActiveModel {
            activity_id: Set(activity.id),
            inbox: Set(format!("https://{authority}/inbox")),
            authority: Set(authority.into()),
            state: Set(state.as_str().into()),
            attempts: Set(0),
            last_status: Set(None),
            last_error: Set(None),
            next_attempt_at: Set(created_at),
            created_at: Set(created_at),
            updated_at: Set(created_at),
            order_key: Set(String::new()),
            worker: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }

    fn next_number() -> u64 {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    async fn instance(db: &DatabaseConnection, authority: &str, state: &str, failures: i32) {
        let now = Utc::now();
        instances::ActiveModel {
            authority: Set(authority.into()),
            state: Set(state.into()),
            consecutive_failures: Set(failures),
            last_status: Set(Some(503)),
            last_error: Set(Some("service unavailable".into())),
            last_success_at: Set(None),
            last_failure_at: Set(Some(now)),
            blocked_until: Set(Some(now + Duration::minutes(5))),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn an_empty_queue_is_all_zeros() {
        let (_dir, db) = database().await;
        let status = queue_status(&db, MAX_SERVERS).await.unwrap();
        assert_eq!(
            status,
            QueueStatus {
                pending: 0,
                sending: 0,
                delivered: 0,
                failed: 0,
                oldest_pending_at: None,
                servers: Vec::new(),
            }
        );
        assert_eq!(queue_gauges(&db).await.unwrap(), QueueGauges::default());
    }

    #[tokio::test]
    async fn servers_are_counted_per_state_with_unreachable_ones_first() {
        let (_dir, db) = database().await;
        let now = Utc::now();
        let old = now - Duration::hours(3);
        // busy.example: the most waiting, but answering.
        for _ in 0..3 {
            delivery(&db, "busy.example", DeliveryState::Pending, now).await;
        }
        delivery(&db, "busy.example", DeliveryState::Sending, now).await;
        delivery(&db, "busy.example", DeliveryState::Delivered, now).await;
        // down.example:8443: one waiting since long ago, one given up.
        delivery(&db, "down.example:8443", DeliveryState::Pending, old).await;
        delivery(&db, "down.example:8443", DeliveryState::Failed, old).await;
        instance(&db, "down.example:8443", "unreachable", 7).await;
        // fine.example: all delivered, and known to answer.
        delivery(&db, "fine.example", DeliveryState::Delivered, now).await;
        instance(&db, "fine.example", "ok", 0).await;
        // gone.example: unreachable, with no deliveries left.
        instance(&db, "gone.example", "unreachable", 9).await;

        let status = queue_status(&db, MAX_SERVERS).await.unwrap();
        assert_eq!(
            (
                status.pending,
                status.sending,
                status.delivered,
                status.failed
            ),
            (4, 1, 2, 1)
        );
        // SQLite keeps microseconds; compare at that precision.
        assert_eq!(
            status.oldest_pending_at.map(|t| t.timestamp_micros()),
            Some(old.timestamp_micros())
        );
        let order: Vec<(&str, ServerState, u64, u64, u64, u32)> = status
            .servers
            .iter()
            .map(|s| {
                (
                    s.authority.as_str(),
                    s.state,
                    s.pending,
                    s.delivered,
                    s.failed,
                    s.consecutive_failures,
                )
            })
            .collect();
        assert_eq!(
            order,
            vec![
                ("down.example:8443", ServerState::Unreachable, 1, 0, 1, 7),
                ("gone.example", ServerState::Unreachable, 0, 0, 0, 9),
                ("busy.example", ServerState::Ok, 4, 1, 0, 0),
                ("fine.example", ServerState::Ok, 0, 1, 0, 0),
            ]
        );
        let down = &status.servers[0];
        assert_eq!(down.last_status, Some(503));
        assert_eq!(down.last_error.as_deref(), Some("service unavailable"));
        assert!(down.blocked_until.is_some());
        assert!(status.servers[2].last_error.is_none());

        // The list is bounded; unreachable servers stay in it.
        let top = queue_status(&db, 2).await.unwrap();
        let names: Vec<&str> = top.servers.iter().map(|s| s.authority.as_str()).collect();
        assert_eq!(names, ["down.example:8443", "gone.example"]);

        let gauges = queue_gauges(&db).await.unwrap();
        assert_eq!(
            gauges.deliveries,
            StateCounts {
                pending: 4,
                sending: 1,
                delivered: 2,
                failed: 1
            }
        );
        assert_eq!((gauges.servers_ok, gauges.servers_unreachable), (1, 2));
        assert_eq!(gauges.oldest_pending_at, status.oldest_pending_at);
    }
}

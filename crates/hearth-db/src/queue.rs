//! The delivery queue: every outbound activity stored once, with one
//! delivery row per target inbox, in the transaction of the change it
//! announces; workers in any number of processes claim due rows, send them
//! and record what happened.
//!
//! ```text
//! use-case txn ──▶ enqueue(): outbound_activities + deliveries (pending)
//!                                        │
//!  worker: claim() ─ pending → sending (lease, worker id) ┘
//!             │ sign + POST (hearth-activitypub)
//!             ▼
//!  finish(): delivered │ pending again at T (backoff) │ failed
//!            + the receiving server's row in `instances`
//! ```
//!
//! Rules the claim enforces, in one SQL statement per batch:
//! - **At most one sender per row.** On PostgreSQL candidate rows are locked
//!   with `FOR UPDATE SKIP LOCKED`, so workers in other processes pass them
//!   by instead of waiting; SQLite has one writer at a time anyway
//!   (`BEGIN IMMEDIATE`). A claimed row belongs to its worker until its
//!   lease runs out, or until its process stops renewing its row in
//!   `delivery_workers` ([`heartbeat`]) or is known to be gone
//!   ([`give_back`]): a restart after SIGKILL does not pause delivery for
//!   a whole lease.
//! - **Order per object.** Deliveries to one inbox with the same
//!   `order_key` (the post an activity is about, or else its actor) go out
//!   one at a time in the order they were made: a post's create before its
//!   edit before its deletion, a reaction after the post. A later one waits
//!   while an earlier one is pending or in flight. Activities about
//!   different objects go to the same server in parallel, up to
//!   `per_server` at once, so a server far away still receives a busy
//!   group's stream at the rate it arrives.
//! - **Sick servers wait.** A server marked unreachable (or that asked us
//!   to wait with 429 Retry-After) is left alone until `blocked_until`;
//!   then its first waiting deliveries are the probe.
//! - **Bounded per server.** No more than `per_server` chains in flight to
//!   one server (so that many requests at once), counted across all
//!   workers.
//!
//! A claim takes *chains*: a chain's first waiting delivery and the ones
//! queued behind it (up to `chain_len`), which one task sends in order,
//! stopping at the first that must be retried (the rest are released to
//! wait behind it). One claim thus feeds many deliveries without breaking
//! the order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, Set, Statement, Value,
};

use crate::DbError;
use crate::delivery_status::ServerState;
use crate::entity::{deliveries, instances, outbound_activities};

/// One target of an outbound activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub inbox: String,
    pub authority: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker until `next_attempt_at` (its lease).
    Sending,
    /// The receiving server answered 2xx.
    Delivered,
    /// Given up: refused for good, or out of time.
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

/// An activity to store and send.
#[derive(Debug, Clone, Copy)]
pub struct NewActivity<'a> {
    pub ap_id: &'a str,
    pub kind: &'a str,
    pub actor_ap_id: &'a str,
    pub body: &'a str,
    /// The post it concerns, if any (see
    /// [`crate::federation::outbound_by_ap_id`]).
    pub about: Option<&'a str>,
    /// The group here whose members only may read it (see
    /// [`drop_private_to`]).
    pub private_to_group: Option<i64>,
    /// The member here whose data it carries: each server that
    /// acknowledges it is recorded in `copies` (see [`crate::erasures`]).
    pub owner: Option<&'a str>,
    /// The erasure it carries out: its deliveries keep trying while the
    /// receiving server exists, one after the other per inbox, in the
    /// order they were made (a post's `Delete` before its author's).
    pub erasure: Option<i64>,
}

/// Store an activity to send and one pending delivery per distinct inbox.
/// Call it inside the transaction that makes the change the activity
/// announces, so the two never disagree. Deliveries are ordered by the
/// object they are about, else by the activity's actor (see the module
/// docs).
pub async fn enqueue(
    db: &impl ConnectionTrait,
    new: NewActivity<'_>,
    targets: &[Target],
) -> Result<i64, DbError> {
    let NewActivity {
        ap_id,
        kind,
        actor_ap_id,
        body,
        about,
        private_to_group,
        owner,
        erasure,
    } = new;
    let now = Utc::now();
    let activity = outbound_activities::ActiveModel {
        ap_id: Set(ap_id.to_owned()),
        kind: Set(kind.to_owned()),
        actor_ap_id: Set(actor_ap_id.to_owned()),
        body: Set(body.to_owned()),
        about_ap_id: Set(about.map(str::to_owned)),
        private_to_group: Set(private_to_group),
        erasure_id: Set(erasure),
        owner_ap_id: Set(owner.map(str::to_owned)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let order_key = match erasure {
        Some(erasure) => format!("erasure:{erasure}"),
        None => about.unwrap_or(actor_ap_id).to_owned(),
    };
    let mut seen = HashSet::new();
    let rows: Vec<deliveries::ActiveModel> = targets
        .iter()
        .filter(|t| seen.insert(t.inbox.clone()))
        .map(|target| deliveries::ActiveModel {
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
            order_key: Set(order_key.clone()),
            worker: Set(None),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        deliveries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(activity.id)
}

/// Drop what waits to go to `authority` of the activities only the
/// members of the group `group_id` may read (marked failed with
/// `reason`): that server has no member in the group any more. How many.
pub async fn drop_private_to(
    db: &impl ConnectionTrait,
    group_id: i64,
    authority: &str,
    reason: &str,
) -> Result<u64, DbError> {
    let private = Query::select()
        .column(outbound_activities::Column::Id)
        .from(outbound_activities::Entity)
        .and_where(outbound_activities::Column::PrivateToGroup.eq(group_id))
        // An erasure's deletes still go: that server holds the words.
        .and_where(outbound_activities::Column::ErasureId.is_null())
        .to_owned();
    Ok(deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::State,
            Expr::value(DeliveryState::Failed.as_str()),
        )
        .col_expr(deliveries::Column::LastError, Expr::value(reason))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(deliveries::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(deliveries::Column::Authority.eq(authority.to_ascii_lowercase()))
        .filter(deliveries::Column::ActivityId.in_subquery(private))
        .exec(db)
        .await?
        .rows_affected)
}

/// A claimed delivery with what to send.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub inbox: String,
    pub authority: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub activity_ap_id: String,
    pub actor_ap_id: String,
    pub body: String,
    /// It carries an erasure: it keeps trying while the server exists.
    pub keep_trying: bool,
}

/// How much one claim may take.
#[derive(Debug, Clone)]
pub struct ClaimLimits {
    /// Chains to claim at most (each is sent by one task).
    pub max_chains: u64,
    /// Deliveries of one chain to take at once, sent one after the other.
    pub chain_len: u64,
    /// Chains in flight to one server at most, across all workers: the
    /// number of requests it sees from us at once.
    pub per_server: u64,
    /// How long a claimed row is this worker's.
    pub lease: Duration,
    /// Who is claiming (recorded on the row).
    pub worker: String,
}

/// Claim due deliveries for `limits.worker`, as chains: the first waiting
/// delivery of an (inbox, order key) and up to `chain_len - 1` that follow
/// it, to be sent in order by one task. See the module docs for the rules.
/// Runs in its own transaction.
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    limits: &ClaimLimits,
) -> Result<Vec<Vec<DueDelivery>>, DbError> {
    if limits.max_chains == 0 {
        return Ok(Vec::new());
    }
    let txn = crate::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let postgres = backend == DatabaseBackend::Postgres;
    let p = |n: usize| crate::placeholder(backend, n);
    let lock = if postgres {
        " FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    // The head of each chain is its lowest id still pending or in flight:
    // one grouped scan, linear in the queue, whatever the planner knows of
    // a table that just filled (a NOT EXISTS self-join turned quadratic on
    // PostgreSQL with fresh rows and stale statistics).
    let heads_sql = format!(
        "SELECT d.id, d.authority, d.inbox, d.order_key FROM deliveries d \
         JOIN (SELECT MIN(id) AS head FROM deliveries \
               WHERE state IN ('pending', 'sending') GROUP BY inbox, order_key) h \
           ON h.head = d.id \
         WHERE d.next_attempt_at <= {now1} \
         AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.authority = d.authority \
             AND i.blocked_until IS NOT NULL AND i.blocked_until > {now2}) \
         ORDER BY d.next_attempt_at, d.id LIMIT {limit}{lock}",
        now1 = p(1),
        now2 = p(2),
        limit = p(3),
    );
    // Over-fetch so that servers at their limit do not starve the batch.
    let fetch = Ord::min(limits.max_chains.saturating_mul(4), 2_000);
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            heads_sql,
            [
                Value::from(now),
                Value::from(now),
                Value::from(i64::try_from(fetch).unwrap_or(i64::MAX)),
            ],
        ))
        .await?;
    let mut heads = Vec::with_capacity(rows.len());
    for row in rows {
        heads.push((
            row.try_get::<i64>("", "id")?,
            row.try_get::<String>("", "authority")?,
            row.try_get::<String>("", "inbox")?,
            row.try_get::<String>("", "order_key")?,
        ));
    }
    if heads.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    // Chains already in flight per server (any worker's live lease).
    let busy_sql = format!(
        "SELECT d.authority, COUNT(DISTINCT d.order_key) AS n FROM deliveries d \
         WHERE d.state = 'sending' AND d.next_attempt_at > {now1} \
         AND EXISTS (SELECT 1 FROM delivery_workers w WHERE w.worker = d.worker \
             AND w.alive_until > {now2}) \
         GROUP BY d.authority",
        now1 = p(1),
        now2 = p(2),
    );
    let mut busy: HashMap<String, u64> = HashMap::new();
    for row in txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            busy_sql,
            [Value::from(now), Value::from(now)],
        ))
        .await?
    {
        let n: i64 = row.try_get("", "n")?;
        busy.insert(row.try_get("", "authority")?, u64::try_from(n).unwrap_or(0));
    }
    let mut chains: Vec<(i64, String, String)> = Vec::new();
    for (id, authority, inbox, order_key) in heads {
        if chains.len() as u64 >= limits.max_chains {
            break;
        }
        let count = busy.entry(authority).or_insert(0);
        if *count >= limits.per_server {
            continue;
        }
        *count += 1;
        chains.push((id, inbox, order_key));
    }
    // The deliveries queued behind each chosen head, in one query. They
    // need no lock: no other worker can take them while their head is
    // pending or in flight (only a chain's lowest id is a head).
    let mut behind: HashMap<(String, String), Vec<i64>> = HashMap::new();
    if limits.chain_len > 1 && !chains.is_empty() {
        let tuples: Vec<String> = (0..chains.len())
            .map(|n| format!("({}, {})", p(3 + 2 * n), p(4 + 2 * n)))
            .collect();
        let follow_sql = format!(
            "SELECT id, inbox, order_key FROM (SELECT d.id, d.inbox, d.order_key, \
             ROW_NUMBER() OVER (PARTITION BY d.inbox, d.order_key ORDER BY d.id) AS n \
             FROM deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= {now} \
             AND (d.inbox, d.order_key) IN (VALUES {tuples})) t WHERE t.n <= {len} ORDER BY id",
            now = p(1),
            len = p(2),
            tuples = tuples.join(", "),
        );
        let mut values = vec![
            Value::from(now),
            Value::from(i64::try_from(limits.chain_len).unwrap_or(i64::MAX)),
        ];
        for (_, inbox, order_key) in &chains {
            values.push(Value::from(inbox.clone()));
            values.push(Value::from(order_key.clone()));
        }
        for row in txn
            .query_all_raw(Statement::from_sql_and_values(backend, follow_sql, values))
            .await?
        {
            let key: (String, String) = (row.try_get("", "inbox")?, row.try_get("", "order_key")?);
            behind.entry(key).or_default().push(row.try_get("", "id")?);
        }
    }
    let chains: Vec<Vec<i64>> = chains
        .into_iter()
        .map(|(head, inbox, order_key)| {
            let mut chain = vec![head];
            if let Some(ids) = behind.remove(&(inbox, order_key)) {
                chain.extend(ids.into_iter().filter(|&id| id > head));
            }
            chain.truncate(usize::try_from(limits.chain_len.max(1)).unwrap_or(1));
            chain
        })
        .collect();
    let picked: Vec<i64> = chains.iter().flatten().copied().collect();
    if picked.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let mut rows: HashMap<i64, deliveries::Model> = HashMap::new();
    for ids in picked.chunks(500) {
        deliveries::Entity::update_many()
            .col_expr(
                deliveries::Column::State,
                Expr::value(DeliveryState::Sending.as_str()),
            )
            .col_expr(
                deliveries::Column::NextAttemptAt,
                Expr::value(now + limits.lease),
            )
            .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                deliveries::Column::Worker,
                Expr::value(limits.worker.clone()),
            )
            .filter(deliveries::Column::Id.is_in(ids.to_vec()))
            .exec(&txn)
            .await?;
        rows.extend(
            deliveries::Entity::find()
                .filter(deliveries::Column::Id.is_in(ids.to_vec()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|r| (r.id, r)),
        );
    }
    let activity_ids: Vec<i64> = rows
        .values()
        .map(|r| r.activity_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut activities: HashMap<i64, outbound_activities::Model> = HashMap::new();
    for ids in activity_ids.chunks(500) {
        activities.extend(
            outbound_activities::Entity::find()
                .filter(outbound_activities::Column::Id.is_in(ids.to_vec()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|a| (a.id, a)),
        );
    }
    txn.commit().await?;
    Ok(chains
        .into_iter()
        .map(|chain| {
            chain
                .into_iter()
                .filter_map(|id| {
                    let row = rows.remove(&id)?;
                    let activity = activities.get(&row.activity_id)?;
                    Some(DueDelivery {
                        id: row.id,
                        inbox: row.inbox,
                        authority: row.authority,
                        attempts: row.attempts,
                        created_at: row.created_at,
                        activity_ap_id: activity.ap_id.clone(),
                        actor_ap_id: activity.actor_ap_id.clone(),
                        body: activity.body.clone(),
                        keep_trying: activity.erasure_id.is_some(),
                    })
                })
                .collect()
        })
        .collect())
}

/// The federation policy changed: the erasures held for a server it lets
/// in again (any server but `refused`) are due at once, instead of at
/// their next spaced retry. How many.
pub async fn wake_held(db: &impl ConnectionTrait, refused: &[String]) -> Result<u64, DbError> {
    Ok(deliveries::Entity::update_many()
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(deliveries::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(deliveries::Column::LastError.starts_with(HELD))
        .filter(deliveries::Column::Authority.is_not_in(refused.iter().cloned()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Give claimed deliveries back untried (the chain stopped at an earlier
/// one that must be retried first): they wait, unowned, behind it.
pub async fn release(db: &DatabaseConnection, ids: &[i64], worker: &str) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::State,
            Expr::value(DeliveryState::Pending.as_str()),
        )
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::Id.is_in(ids.to_vec()))
        .filter(deliveries::Column::State.eq(DeliveryState::Sending.as_str()))
        .filter(deliveries::Column::Worker.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Extend this worker's lease on deliveries it still holds (a long chain
/// to a slow server).
pub async fn renew(
    db: &DatabaseConnection,
    ids: &[i64],
    worker: &str,
    lease: Duration,
) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now + lease))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::Id.is_in(ids.to_vec()))
        .filter(deliveries::Column::State.eq(DeliveryState::Sending.as_str()))
        .filter(deliveries::Column::Worker.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// What one attempt came to, as the sender classified the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered { status: u16 },
    /// No answer, a timeout, 408 or 5xx: the server has trouble; try again
    /// later. Counts towards marking the server unreachable.
    Retry { status: Option<u16>, error: String },
    /// 429: the server is fine but asks us to slow down, for
    /// `retry_after_secs` when it said so.
    RateLimited {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// Another 4xx (401, 403 blocked, 404, 410 Gone…): it will never take
    /// this one. The server did answer, so it is reachable.
    Refused { status: u16, error: String },
    /// It cannot be sent from here (no such signer, a bad inbox address).
    Unsendable { error: String },
    /// This server's federation policy refuses the receiving server for
    /// now (suspended, or not on the allowlist): nothing goes there. An
    /// erasure waits until the policy lets the server in again ([`HELD`]);
    /// anything else fails.
    CutOff { error: String },
}

/// How a waiting erasure's `last_error` begins while this server's policy
/// refuses the server it is for; [`wake_held`] finds them by it.
pub const HELD: &str = "held until this server's federation policy lets the server in again";

/// How retries are spaced and when to give up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The first retry waits this long; each further one twice as long.
    pub first_retry: Duration,
    pub retry_max: Duration,
    /// A delivery still not through this long after it was stored fails.
    pub give_up_after: Duration,
    /// Failed attempts in a row that make a server unreachable.
    pub unreachable_after: u32,
    /// First wait before probing an unreachable server (doubles, capped at
    /// `retry_max`).
    pub probe_interval: Duration,
}

/// The wait before attempt `attempts + 1`: exponential, capped, with a
/// jitter of up to ±20% derived from `seed` so that many deliveries failing
/// together do not come back together.
pub fn backoff(policy: &RetryPolicy, attempts: i32, seed: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(0);
    let base = policy
        .first_retry
        .num_milliseconds()
        .saturating_mul(1_i64 << exp.min(30))
        .min(policy.retry_max.num_milliseconds())
        .max(1);
    let spread = (seed.wrapping_mul(2_654_435_761).rem_euclid(41)) - 20; // -20..=20
    Duration::milliseconds(base + base * spread / 100)
}

/// The wait before probing a server that failed `failures` times in a row.
pub fn probe_wait(policy: &RetryPolicy, failures: i32) -> Duration {
    let over = failures - i32::try_from(policy.unreachable_after).unwrap_or(i32::MAX);
    let exp = u32::try_from(over.clamp(0, 30)).unwrap_or(0);
    Duration::milliseconds(
        policy
            .probe_interval
            .num_milliseconds()
            .saturating_mul(1_i64 << exp.min(30))
            .min(policy.retry_max.num_milliseconds().max(1)),
    )
}

/// Record the outcome of one attempt at delivery `id`, by `worker`, and
/// what it says about the receiving server. Returns the delivery's new
/// state. An attempt whose lease was taken over by another worker (it ran
/// far too long) changes nothing.
pub async fn finish(
    db: &DatabaseConnection,
    delivery: &DueDelivery,
    worker: &str,
    outcome: &Outcome,
    policy: &RetryPolicy,
) -> Result<DeliveryState, DbError> {
    let states = finish_many(db, worker, &[(delivery, outcome)], policy).await?;
    Ok(states.into_iter().next().unwrap_or(DeliveryState::Sending))
}

/// [`finish`] for many attempts of one worker, in one transaction: the
/// delivery workers record their answers in batches, so that a busy queue
/// costs one write transaction per batch rather than one per delivery
/// (on SQLite, every transaction waits for the one writer). Returns each
/// delivery's new state, in the order given.
pub async fn finish_many(
    db: &DatabaseConnection,
    worker: &str,
    done: &[(&DueDelivery, &Outcome)],
    policy: &RetryPolicy,
) -> Result<Vec<DeliveryState>, DbError> {
    if done.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let decided: Vec<Decision> = done
        .iter()
        .map(|(delivery, outcome)| decide(delivery, outcome, policy, now))
        .collect();
    // Attempts that end alike (most often: delivered, with the same
    // status) are recorded by one statement each, in order of their
    // decisions' first delivery.
    let mut alike: Vec<(&Decision, Vec<usize>)> = Vec::new();
    for (n, decision) in decided.iter().enumerate() {
        match alike.iter_mut().find(|(d, _)| *d == decision) {
            Some((_, members)) => members.push(n),
            None => alike.push((decision, vec![n])),
        }
    }
    let txn = crate::begin_write(db).await?;
    let mut states = vec![DeliveryState::Sending; done.len()];
    let mut recorded: Vec<usize> = Vec::with_capacity(done.len());
    let mut delivered: Vec<i64> = Vec::new();
    for (decision, members) in alike {
        let mut ids: Vec<i64> = members.iter().map(|&n| done[n].0.id).collect();
        // One lock order (by id) in every process: two batches on
        // PostgreSQL never deadlock.
        ids.sort_unstable();
        let updated = record_attempts(&txn, worker, &ids, decision, now).await?;
        if decision.0 == DeliveryState::Delivered {
            delivered.extend(updated.iter().copied());
        }
        for n in members {
            if updated.contains(&done[n].0.id) {
                if let Some(slot) = states.get_mut(n) {
                    *slot = decision.0;
                }
                recorded.push(n);
            }
        }
    }
    // Per server, what the attempts said, in the order they were made.
    recorded.sort_by_key(|&n| done[n].0.id);
    let mut servers: Vec<(&str, Vec<&Outcome>)> = Vec::new();
    for n in recorded {
        let (delivery, outcome) = done[n];
        match servers
            .iter_mut()
            .find(|(a, _)| *a == delivery.authority.as_str())
        {
            Some((_, outcomes)) => outcomes.push(outcome),
            None => servers.push((delivery.authority.as_str(), vec![outcome])),
        }
    }
    servers.sort_by(|a, b| a.0.cmp(b.0));
    for (authority, outcomes) in servers {
        record_server(&txn, authority, &outcomes, policy, now).await?;
    }
    delivered.sort_unstable();
    crate::erasures::record_delivered(&txn, &delivered, now).await?;
    txn.commit().await?;
    Ok(states)
}

/// What an attempt makes of its delivery: the new state, the status and
/// error to keep, and when it may be tried next.
type Decision = (DeliveryState, Option<u16>, Option<String>, DateTime<Utc>);

/// Record one decision for the deliveries `ids` (sorted), those still
/// being sent by `worker`; returns the ids it changed.
async fn record_attempts(
    txn: &impl ConnectionTrait,
    worker: &str,
    ids: &[i64],
    (state, status, error, next): &Decision,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbError> {
    let backend = txn.get_database_backend();
    let p = |n: usize| crate::placeholder(backend, n);
    let listed: Vec<String> = (0..ids.len()).map(|i| p(i + 8)).collect();
    let sql = format!(
        "UPDATE deliveries SET state = {state}, attempts = attempts + 1, \
         last_status = {status}, last_error = {error}, next_attempt_at = {next}, \
         updated_at = {now} \
         WHERE state = {sending} AND worker = {worker} AND id IN ({listed}) RETURNING id",
        state = p(1),
        status = p(2),
        error = p(3),
        next = p(4),
        now = p(5),
        sending = p(6),
        worker = p(7),
        listed = listed.join(", "),
    );
    let mut values = vec![
        Value::from(state.as_str()),
        Value::from(status.map(i32::from)),
        Value::from(error.clone()),
        Value::from(*next),
        Value::from(now),
        Value::from(DeliveryState::Sending.as_str()),
        Value::from(worker),
    ];
    values.extend(ids.iter().map(|&id| Value::from(id)));
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<i64>("", "id").map_err(DbError::from))
        .collect()
}

/// What one attempt makes of its delivery.
fn decide(
    delivery: &DueDelivery,
    outcome: &Outcome,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Decision {
    let retry_at = now + backoff(policy, delivery.attempts, delivery.id);
    let too_old = now - delivery.created_at > policy.give_up_after;
    let give_up = |error: &str| {
        format!(
            "gave up after {} attempts over {} hours: {error}",
            delivery.attempts + 1,
            (now - delivery.created_at).num_hours()
        )
    };
    if delivery.keep_trying {
        return decide_erasure(delivery, outcome, policy, retry_at, too_old, now);
    }
    match outcome {
        Outcome::Delivered { status } => (DeliveryState::Delivered, Some(*status), None, now),
        Outcome::Retry { status, error } if too_old => {
            (DeliveryState::Failed, *status, Some(give_up(error)), now)
        }
        Outcome::Retry { status, error } => (
            DeliveryState::Pending,
            *status,
            Some(error.clone()),
            retry_at,
        ),
        Outcome::RateLimited { status, .. } if too_old => (
            DeliveryState::Failed,
            Some(*status),
            Some(give_up("rate limited")),
            now,
        ),
        Outcome::RateLimited {
            status,
            retry_after_secs,
        } => {
            let wait = retry_after_secs
                .map(|s| asked_wait(s, policy))
                .unwrap_or_else(|| backoff(policy, delivery.attempts, delivery.id));
            (
                DeliveryState::Pending,
                Some(*status),
                Some(format!("HTTP {status}: asked to wait")),
                now + wait,
            )
        }
        Outcome::Refused { status, error } => (
            DeliveryState::Failed,
            Some(*status),
            Some(error.clone()),
            now,
        ),
        Outcome::Unsendable { error } | Outcome::CutOff { error } => {
            (DeliveryState::Failed, None, Some(error.clone()), now)
        }
    }
}

/// What an attempt makes of a delivery that carries an erasure: it is not
/// given up while the server exists. Only a server that says the inbox is
/// gone for good (410), or whose name has not resolved for longer than
/// `give_up_after`, ends it as failed (the receipt says "gone"); a refusal
/// is retried as the server's trouble, spaced like any retry.
fn decide_erasure(
    delivery: &DueDelivery,
    outcome: &Outcome,
    policy: &RetryPolicy,
    retry_at: DateTime<Utc>,
    too_old: bool,
    now: DateTime<Utc>,
) -> Decision {
    match outcome {
        Outcome::Delivered { status } => (DeliveryState::Delivered, Some(*status), None, now),
        Outcome::Refused { status: 410, error } => (
            DeliveryState::Failed,
            Some(410),
            Some(format!("{GONE}: {error}")),
            now,
        ),
        Outcome::Retry { status, error } if too_old && names_no_host(error) => (
            DeliveryState::Failed,
            *status,
            Some(format!(
                "{GONE}: its name has not resolved for {} hours: {error}",
                (now - delivery.created_at).num_hours()
            )),
            now,
        ),
        Outcome::Retry { status, error } => (
            DeliveryState::Pending,
            *status,
            Some(error.clone()),
            retry_at,
        ),
        Outcome::Refused { status, error } => (
            DeliveryState::Pending,
            Some(*status),
            Some(error.clone()),
            retry_at,
        ),
        Outcome::RateLimited {
            status,
            retry_after_secs,
        } => {
            let wait = retry_after_secs
                .map(|s| asked_wait(s, policy))
                .unwrap_or_else(|| retry_at - now);
            (
                DeliveryState::Pending,
                Some(*status),
                Some(format!("HTTP {status}: asked to wait")),
                now + wait,
            )
        }
        Outcome::Unsendable { error } => (DeliveryState::Failed, None, Some(error.clone()), now),
        // Suspended here: the erasure waits (and is woken when the rule is
        // lifted, see `wake_held`), so the server is told once it may be.
        Outcome::CutOff { error } => (
            DeliveryState::Pending,
            None,
            Some(format!("{HELD}: {error}")),
            retry_at,
        ),
    }
}

/// The wait a 429's `Retry-After` asked for, honoured up to the longest
/// wait between two attempts (`retry_max`): a server asking for a day
/// (or a year) is tried again no later than any other retry would be, and
/// answers 429 again if it still means it.
fn asked_wait(secs: u64, policy: &RetryPolicy) -> Duration {
    let asked = Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX).min(86_400 * 365));
    asked.min(policy.retry_max)
}

/// How a delivery that ended because its server is gone begins its
/// `last_error`.
pub const GONE: &str = "server gone";

/// Whether a sending error says the server's name does not resolve.
fn names_no_host(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    error.contains("cannot resolve")
        || error.contains("dns error")
        || error.contains("failed to lookup")
}

/// Update what we know of a receiving server after some attempts, applied
/// in order (one read and at most one write per server and batch).
async fn record_server(
    db: &impl ConnectionTrait,
    authority: &str,
    outcomes: &[&Outcome],
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let found = instances::Entity::find()
        .filter(instances::Column::Authority.eq(authority))
        .one(db)
        .await?;
    let server = match found {
        Some(server) => server,
        None => {
            instances::Entity::insert(instances::ActiveModel {
                authority: Set(authority.to_owned()),
                state: Set(ServerState::Ok.as_str().to_owned()),
                consecutive_failures: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .on_conflict_do_nothing_on([instances::Column::Authority])
            .exec_without_returning(db)
            .await?;
            let Some(server) = instances::Entity::find()
                .filter(instances::Column::Authority.eq(authority))
                .one(db)
                .await?
            else {
                return Ok(());
            };
            server
        }
    };
    let mut next = server.clone();
    for outcome in outcomes {
        apply(&mut next, authority, outcome, policy, now);
    }
    if next == server {
        return Ok(());
    }
    next.updated_at = now;
    let mut row: instances::ActiveModel = server.into();
    row.state = Set(next.state);
    row.consecutive_failures = Set(next.consecutive_failures);
    row.last_status = Set(next.last_status);
    row.last_error = Set(next.last_error);
    row.last_success_at = Set(next.last_success_at);
    row.last_failure_at = Set(next.last_failure_at);
    row.blocked_until = Set(next.blocked_until);
    row.updated_at = Set(next.updated_at);
    row.update(db).await?;
    Ok(())
}

/// What one attempt says about its server.
fn apply(
    server: &mut instances::Model,
    authority: &str,
    outcome: &Outcome,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) {
    match outcome {
        Outcome::Delivered { status } | Outcome::Refused { status, .. } => {
            if server.state != ServerState::Ok.as_str() {
                tracing::info!(server = authority, "server answers again");
            }
            server.state = ServerState::Ok.as_str().to_owned();
            server.consecutive_failures = 0;
            server.blocked_until = None;
            server.last_status = Some(i32::from(*status));
            if matches!(outcome, Outcome::Delivered { .. }) {
                // Kept to the second: a busy server is not rewritten for
                // every delivery within the same second.
                let seen = server.last_success_at.map(|t| t.timestamp());
                if seen != Some(now.timestamp()) {
                    server.last_success_at = Some(now);
                }
            }
        }
        Outcome::RateLimited {
            status,
            retry_after_secs,
        } => {
            let wait = asked_wait(retry_after_secs.unwrap_or(60), policy);
            server.blocked_until = Some(now + wait);
            server.last_status = Some(i32::from(*status));
            server.last_error = Some(format!("HTTP {status}: asked to wait"));
        }
        Outcome::Retry { status, error } => {
            let failures = server.consecutive_failures.saturating_add(1);
            server.consecutive_failures = failures;
            server.last_status = status.map(i32::from);
            server.last_error = Some(error.clone());
            server.last_failure_at = Some(now);
            if failures >= i32::try_from(policy.unreachable_after).unwrap_or(i32::MAX) {
                if server.state != ServerState::Unreachable.as_str() {
                    tracing::warn!(
                        server = authority,
                        failures,
                        "server marked unreachable; its deliveries wait"
                    );
                }
                server.state = ServerState::Unreachable.as_str().to_owned();
                server.blocked_until = Some(now + probe_wait(policy, failures));
            }
        }
        Outcome::Unsendable { .. } | Outcome::CutOff { .. } => {}
    }
}

/// How often a sending process renews its row in `delivery_workers`.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a worker counts as alive after its last heartbeat: ten beats,
/// so that a process starved of CPU for a few seconds keeps its
/// deliveries. A process on the same host sees sooner that a worker died
/// (its process is gone; see `hearth_activitypub::outbound`) and gives its
/// deliveries back at once with [`give_back`]. Compared with this
/// process's clock, so the clocks of processes sharing one PostgreSQL must
/// agree to well within this (NTP does).
pub const ALIVE_FOR: Duration = Duration::seconds(10);

/// Say that `worker` is alive, and give back the deliveries of workers that
/// are not (no heartbeat for [`ALIVE_FOR`]) so that any live worker may take
/// them now. Returns how many were given back, and the other workers that
/// hold deliveries now (the caller may know some of them to be dead). Every
/// sending process calls it every [`HEARTBEAT`].
pub async fn heartbeat(
    db: &DatabaseConnection,
    worker: &str,
) -> Result<(u64, Vec<String>), DbError> {
    let now = Utc::now();
    let txn = crate::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let (upsert, reap, forget) = if backend == DatabaseBackend::Postgres {
        (
            "INSERT INTO delivery_workers (worker, alive_until) VALUES ($1, $2) \
             ON CONFLICT (worker) DO UPDATE SET alive_until = EXCLUDED.alive_until",
            "UPDATE deliveries SET state = 'pending', worker = NULL, next_attempt_at = $1, \
             updated_at = $2 WHERE state = 'sending' AND NOT EXISTS (SELECT 1 FROM \
             delivery_workers w WHERE w.worker = deliveries.worker AND w.alive_until > $3)",
            "DELETE FROM delivery_workers WHERE alive_until < $1",
        )
    } else {
        (
            "INSERT INTO delivery_workers (worker, alive_until) VALUES (?, ?) \
             ON CONFLICT (worker) DO UPDATE SET alive_until = excluded.alive_until",
            "UPDATE deliveries SET state = 'pending', worker = NULL, next_attempt_at = ?, \
             updated_at = ? WHERE state = 'sending' AND NOT EXISTS (SELECT 1 FROM \
             delivery_workers w WHERE w.worker = deliveries.worker AND w.alive_until > ?)",
            "DELETE FROM delivery_workers WHERE alive_until < ?",
        )
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        upsert,
        [Value::from(worker.to_owned()), Value::from(now + ALIVE_FOR)],
    ))
    .await?;
    let reaped = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            reap,
            [Value::from(now), Value::from(now), Value::from(now)],
        ))
        .await?
        .rows_affected();
    if reaped > 0 {
        // Workers long gone are forgotten once their rows are back.
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            forget,
            [Value::from(now - Duration::hours(1))],
        ))
        .await?;
    }
    let holders = txn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT DISTINCT worker FROM deliveries WHERE state = 'sending' \
             AND worker IS NOT NULL",
        ))
        .await?
        .into_iter()
        .filter_map(|row| row.try_get::<String>("", "worker").ok())
        .filter(|w| w != worker)
        .collect();
    txn.commit().await?;
    Ok((reaped, holders))
}

/// Give back, due now, the deliveries held by `workers`, which the caller
/// knows to be dead (their process is gone). Returns how many.
pub async fn give_back(db: &DatabaseConnection, workers: &[String]) -> Result<u64, DbError> {
    if workers.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let txn = crate::begin_write(db).await?;
    let updated = deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::State,
            Expr::value(DeliveryState::Pending.as_str()),
        )
        .col_expr(
            deliveries::Column::Worker,
            Expr::value(Option::<String>::None),
        )
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::State.eq(DeliveryState::Sending.as_str()))
        .filter(deliveries::Column::Worker.is_in(workers.to_vec()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(updated.rows_affected)
}

/// `worker` stops sending (its process shuts down cleanly, with nothing in
/// flight): forget it.
pub async fn retire(db: &DatabaseConnection, worker: &str) -> Result<(), DbError> {
    let backend = db.get_database_backend();
    let sql = if backend == DatabaseBackend::Postgres {
        "DELETE FROM delivery_workers WHERE worker = $1"
    } else {
        "DELETE FROM delivery_workers WHERE worker = ?"
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [Value::from(worker.to_owned())],
    ))
    .await?;
    Ok(())
}

/// The earliest time a delivery may be due, if any is waiting.
pub async fn next_due(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(deliveries::Entity::find()
        .filter(deliveries::Column::State.is_in([
            DeliveryState::Pending.as_str(),
            DeliveryState::Sending.as_str(),
        ]))
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .one(db)
        .await?
        .map(|d| d.next_attempt_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            first_retry: Duration::seconds(10),
            retry_max: Duration::seconds(3600),
            give_up_after: Duration::hours(168),
            unreachable_after: 5,
            probe_interval: Duration::seconds(60),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = policy();
        for (attempts, base) in [(0, 10_000), (1, 20_000), (2, 40_000), (3, 80_000)] {
            for seed in 0..50 {
                let ms = backoff(&p, attempts, seed).num_milliseconds();
                assert!(
                    (base * 80 / 100..=base * 120 / 100).contains(&ms),
                    "attempt {attempts}: {ms} ms"
                );
            }
        }
        let capped = backoff(&p, 40, 7).num_milliseconds();
        assert!((3_600_000 * 80 / 100..=3_600_000 * 120 / 100).contains(&capped));
        let spread: HashSet<i64> = (0..50)
            .map(|seed| backoff(&p, 2, seed).num_milliseconds())
            .collect();
        assert!(spread.len() > 10, "retries are spread out");
    }

    #[test]
    fn probes_of_unreachable_servers_slow_down_to_the_cap() {
        let p = policy();
        assert_eq!(probe_wait(&p, 5), Duration::seconds(60));
        assert_eq!(probe_wait(&p, 6), Duration::seconds(120));
        assert_eq!(probe_wait(&p, 100), Duration::seconds(3600));
    }

    fn delivery(keep_trying: bool, age: Duration) -> DueDelivery {
        DueDelivery {
            id: 7,
            inbox: "https://b.example/inbox".into(),
            authority: "b.example".into(),
            attempts: 3,
            created_at: Utc::now() - age,
            activity_ap_id: "https://a.example/activities/1".into(),
            actor_ap_id: "https://a.example/u/ann".into(),
            body: "{}".into(),
            keep_trying,
        }
    }

    #[test]
    fn an_erasure_is_not_given_up_while_its_server_exists() {
        let p = policy();
        let now = Utc::now();
        let refused = Outcome::Refused {
            status: 403,
            error: "refused with HTTP 403".into(),
        };
        let down = Outcome::Retry {
            status: None,
            error: "connection refused".into(),
        };
        let no_name = Outcome::Retry {
            status: None,
            error: "cannot resolve b.example: no such host".into(),
        };
        let gone = Outcome::Refused {
            status: 410,
            error: "refused with HTTP 410".into(),
        };
        let week = Duration::hours(169);
        // Any other delivery fails on a refusal, or once too old.
        let plain = delivery(false, Duration::minutes(1));
        assert_eq!(decide(&plain, &refused, &p, now).0, DeliveryState::Failed);
        assert_eq!(
            decide(&delivery(false, week), &down, &p, now).0,
            DeliveryState::Failed
        );
        // An erasure's is tried again, whatever the answer and however old.
        let young = delivery(true, Duration::minutes(1));
        let old = delivery(true, week);
        for (d, outcome) in [
            (&young, &refused),
            (&old, &refused),
            (&old, &down),
            (&young, &no_name),
        ] {
            let (state, _, error, next) = decide(d, outcome, &p, now);
            assert_eq!(state, DeliveryState::Pending, "{outcome:?}");
            assert!(next > now && error.is_some());
        }
        // Until the server is gone: 410, or no name for too long.
        for (d, outcome) in [(&young, &gone), (&old, &no_name)] {
            let (state, _, error, _) = decide(d, outcome, &p, now);
            assert_eq!(state, DeliveryState::Failed, "{outcome:?}");
            assert!(error.unwrap().starts_with(GONE));
        }
        assert_eq!(
            decide(&young, &Outcome::Delivered { status: 202 }, &p, now).0,
            DeliveryState::Delivered
        );
    }

    #[test]
    fn a_429_waits_as_asked_up_to_the_longest_retry() {
        let p = policy();
        let now = Utc::now();
        let asked = |secs: Option<u64>, keep_trying: bool| {
            let outcome = Outcome::RateLimited {
                status: 429,
                retry_after_secs: secs,
            };
            let (state, status, _, next) = decide(
                &delivery(keep_trying, Duration::minutes(1)),
                &outcome,
                &p,
                now,
            );
            assert_eq!((state, status), (DeliveryState::Pending, Some(429)));
            next - now
        };
        for keep_trying in [false, true] {
            assert_eq!(asked(Some(2), keep_trying), Duration::seconds(2));
            assert_eq!(asked(Some(0), keep_trying), Duration::zero());
            // A day, or a year, is cut to `retry_max`.
            assert_eq!(asked(Some(86_400), keep_trying), Duration::seconds(3600));
            assert_eq!(asked(Some(u64::MAX), keep_trying), Duration::seconds(3600));
            // No Retry-After: the usual backoff.
            assert!(asked(None, keep_trying) > Duration::zero());
        }
        // Too old: given up like any other retry.
        let outcome = Outcome::RateLimited {
            status: 429,
            retry_after_secs: Some(2),
        };
        assert_eq!(
            decide(&delivery(false, Duration::hours(169)), &outcome, &p, now).0,
            DeliveryState::Failed
        );
    }
}

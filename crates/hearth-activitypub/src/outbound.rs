//! Sending: the delivery workers that sign and post what the use-cases
//! stored (each activity with one delivery per inbox, in the transaction of
//! the change it announces; see `hearth_app::App::emit`).
//!
//! ```text
//!  command txn ──▶ port renders the event ──▶ queue: activity + deliveries (pending)
//!                      │ commit, then outbox_ready.notify()
//!                      ▼
//!  worker loop ──▶ claim ──▶ sign (activitypub_federation) ──▶ POST inbox
//!                      ▲                                          │
//!                      └─ finish: delivered / retry at T / failed ◀┘
//! ```
//!
//! activitypub_federation's own queue lives in memory and counts 4xx answers
//! as delivered; Hearth uses only its signing primitives
//! (`SendActivityTask::prepare` / `sign_and_send`) and records each response
//! status itself, through the [`StatusRecorder`] middleware on the client.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::activity_sending::SendActivityTask;
use activitypub_federation::config::FederationConfig;
use activitypub_federation::traits::Activity;
use chrono::Utc;
use hearth_app::records::{
    ClaimLimits, DeliveryOutcome as Outcome, DeliveryState, DueDelivery, RetryPolicy,
};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Semaphore, watch};
use url::Url;

use crate::FederationError;
use crate::actors::LocalActor;
use crate::context::{Data, Federation};

/// What the receiving server answered, as the sender needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    status: u16,
    retry_after_secs: Option<u64>,
}

tokio::task_local! {
    /// The last response seen on this task.
    static LAST_ANSWER: Cell<Option<Answer>>;
}

/// Client middleware that notes each response's status for the sender.
pub struct StatusRecorder;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for StatusRecorder {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let response = next.run(req, extensions).await;
        if let Ok(r) = &response {
            let retry_after_secs = r
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
            let answer = Answer {
                status: r.status().as_u16(),
                retry_after_secs,
            };
            let _ = LAST_ANSWER.try_with(|cell| cell.set(Some(answer)));
        }
        response
    }
}

/// An activity as stored, ready for the library to sign. It is only ever
/// sent: receiving goes through `crate::inbox`.
#[derive(Debug, Clone)]
struct StoredActivity {
    id: Url,
    actor: Url,
    json: Value,
}

impl Serialize for StoredActivity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

#[async_trait::async_trait]
impl Activity for StoredActivity {
    type DataType = Federation;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _: &Data) -> Result<(), FederationError> {
        Err(FederationError::Refused(
            "stored outbound activities are not received".into(),
        ))
    }

    async fn receive(self, _: &Data) -> Result<(), FederationError> {
        Err(FederationError::Refused(
            "stored outbound activities are not received".into(),
        ))
    }
}

/// How this process's workers send.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Recorded on each delivery a worker takes: `host:pid:random`.
    pub id: String,
    /// Deliveries in flight at once in this process.
    pub concurrency: usize,
    /// Deliveries in flight at once to one server, across all processes.
    pub per_server: u64,
    /// How long a claimed delivery is this process's; longer than any one
    /// attempt can take, so only a dead process's rows are ever taken over.
    pub lease: chrono::Duration,
    pub policy: RetryPolicy,
}

impl WorkerSettings {
    /// How this process's workers behave, from the configuration.
    pub fn from_config(config: &hearth_app::Config) -> Self {
        let f = &config.federation;
        let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        WorkerSettings {
            id: Self::worker_id(),
            concurrency: f.delivery_concurrency as usize,
            per_server: u64::from(f.delivery_per_server),
            // One attempt takes at most the request timeout (plus signing);
            // a lease of twice that and some is only ever outlived by a
            // process that died.
            lease: secs(f.request_timeout_secs.saturating_mul(2).saturating_add(10)),
            policy: RetryPolicy {
                first_retry: secs(Ord::min(10, f.retry_max_secs)),
                retry_max: secs(f.retry_max_secs),
                give_up_after: secs(f.give_up_after_hours.saturating_mul(3600)),
                unreachable_after: f.unreachable_after_failures,
                probe_interval: secs(f.probe_interval_secs),
            },
        }
    }

    /// A worker identity for this process.
    pub fn worker_id() -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        let nonce: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(6)
            .collect();
        format!("{host}:{}:{nonce}", std::process::id())
    }
}

/// Run delivery workers until `shutdown` turns true, then let the attempts
/// in flight finish. Any number of processes may run this on one
/// PostgreSQL database: they share the work through [`queue::claim`].
pub async fn run_worker(
    config: FederationConfig<Federation>,
    settings: WorkerSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let fed: Federation = (*config).clone();
    let settings = Arc::new(settings);
    let permits = Arc::new(Semaphore::new(settings.concurrency));
    let mut running = tokio::task::JoinSet::new();
    tracing::info!(worker = %settings.id, concurrency = settings.concurrency, per_server = settings.per_server, "delivery worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = permits.available_permits() as u64;
        // Claim in batches: a claim costs a query over the due deliveries,
        // so while chains are in flight and fewer than half the workers are
        // free, first let more finish (for 20 ms at most).
        let batch = (settings.concurrency as u64 / 2).max(1);
        if free < batch && !running.is_empty() {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(20);
            while (permits.available_permits() as u64) < batch && !running.is_empty() {
                tokio::select! {
                    Some(_) = running.join_next() => {},
                    () = tokio::time::sleep_until(deadline) => break,
                    _ = shutdown.changed() => break,
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
        let free = permits.available_permits() as u64;
        let due = if free == 0 {
            Vec::new()
        } else {
            let limits = ClaimLimits {
                max_chains: free,
                chain_len: CHAIN_LEN,
                per_server: settings.per_server,
                lease: settings.lease,
                worker: settings.id.clone(),
            };
            match fed.app.claim_deliveries(&limits).await {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(error = %err, "cannot claim deliveries");
                    Vec::new()
                }
            }
        };
        let claimed = due.len();
        for chain in due {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let data = config.to_request_data();
            let settings = settings.clone();
            running.spawn(async move {
                deliver_chain(&data, &settings, chain).await;
                drop(permit);
            });
        }
        while running.try_join_next().is_some() {}
        if claimed > 0 {
            continue;
        }
        let wait = match fed.app.next_delivery_due().await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_secs(5)),
            _ => Duration::from_secs(5),
        };
        tokio::select! {
            () = fed.app.outbox_ready().notified() => {},
            () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {},
            _ = shutdown.changed() => {},
            Some(_) = running.join_next(), if !running.is_empty() => {},
        }
    }
    while running.join_next().await.is_some() {}
    tracing::info!(worker = %settings.id, "delivery worker stopped");
}

/// Deliveries of one chain taken at once (sent in order by one task).
const CHAIN_LEN: u64 = 32;

/// Send a chain in order. At the first delivery that must be retried, the
/// rest go back to wait behind it, so the receiver never gets them out of
/// order.
async fn deliver_chain(data: &Data, settings: &WorkerSettings, chain: Vec<DueDelivery>) {
    let claimed_at = std::time::Instant::now();
    let half_lease = settings.lease.to_std().unwrap_or(Duration::from_secs(30)) / 2;
    let mut renewed_at = claimed_at;
    let ids: Vec<i64> = chain.iter().map(|d| d.id).collect();
    for (n, delivery) in chain.iter().enumerate() {
        if renewed_at.elapsed() > half_lease {
            if let Err(err) = data
                .app_data()
                .app
                .renew_deliveries(&ids[n..], &settings.id, settings.lease)
                .await
            {
                tracing::error!(error = %err, "cannot renew the lease of a chain");
            }
            renewed_at = std::time::Instant::now();
        }
        match deliver(data, settings, delivery).await {
            Some(DeliveryState::Delivered | DeliveryState::Failed) => {}
            // Lost the lease: another worker owns the chain now.
            Some(DeliveryState::Sending) => return,
            Some(DeliveryState::Pending) | None => {
                if let Err(err) = data
                    .app_data()
                    .app
                    .release_deliveries(&ids[n + 1..], &settings.id)
                    .await
                {
                    tracing::error!(error = %err, "cannot release the rest of a chain; its lease will");
                }
                return;
            }
        }
    }
}

/// One attempt at one delivery, recorded whatever happens. Returns the
/// delivery's new state (`None` if it could not be recorded).
async fn deliver(
    data: &Data,
    settings: &WorkerSettings,
    delivery: &DueDelivery,
) -> Option<DeliveryState> {
    let outcome = attempt(data, delivery).await;
    let activity_id = delivery.activity_ap_id.as_str();
    let inbox = delivery.inbox.as_str();
    let state = match data
        .app_data()
        .app
        .finish_delivery(delivery, &settings.id, &outcome, &settings.policy)
        .await
    {
        Ok(state) => state,
        Err(err) => {
            tracing::error!(activity_id, inbox, error = %err, "cannot record delivery outcome");
            return None;
        }
    };
    match (&outcome, state) {
        (Outcome::Delivered { status }, _) => {
            tracing::info!(activity_id, inbox, status, "delivered")
        }
        (_, DeliveryState::Failed) => {
            tracing::warn!(activity_id, inbox, ?outcome, "delivery failed for good")
        }
        (_, DeliveryState::Pending) => {
            tracing::warn!(activity_id, inbox, ?outcome, "delivery failed; will retry")
        }
        _ => tracing::warn!(
            activity_id,
            inbox,
            "the lease ran out before this attempt finished; another worker has it"
        ),
    }
    Some(state)
}

async fn attempt(data: &Data, delivery: &DueDelivery) -> Outcome {
    let unsendable = |error: String| Outcome::Unsendable { error };
    let inbox = match Url::parse(&delivery.inbox) {
        Ok(url) if url.domain().is_some() => url,
        _ => {
            return unsendable(format!(
                "inbox {} is not a web address with a host name",
                delivery.inbox
            ));
        }
    };
    let Ok(actor) = Url::parse(&delivery.actor_ap_id) else {
        return unsendable(format!("actor {} is not a URL", delivery.actor_ap_id));
    };
    let signer = match LocalActor::load(data.app_data(), &actor).await {
        Ok(Some(signer)) => signer,
        Ok(None) => return unsendable(format!("signing actor {actor} no longer exists")),
        Err(err) => {
            return Outcome::Retry {
                status: None,
                error: format!("cannot load the signing key: {err}"),
            };
        }
    };
    let (Ok(json), Ok(id)) = (
        serde_json::from_str::<Value>(&delivery.body),
        Url::parse(&delivery.activity_ap_id),
    ) else {
        return unsendable("stored activity is not valid JSON with a URL id".into());
    };
    let activity = StoredActivity { id, actor, json };
    let tasks = match SendActivityTask::prepare(&activity, &signer, vec![inbox.clone()], data).await
    {
        Ok(tasks) => tasks,
        Err(err) => return unsendable(format!("cannot prepare: {err}")),
    };
    let Some(task) = tasks.into_iter().next() else {
        return unsendable(format!("inbox {inbox} refused by the address checks"));
    };
    let (result, answer) = LAST_ANSWER
        .scope(Cell::new(None), async {
            let result = task.sign_and_send(data).await;
            (result, LAST_ANSWER.with(Cell::get))
        })
        .await;
    classify(result.map_err(|e| e.to_string()), answer)
}

/// Decide what an answer means. 2xx is delivered; 429 asks us to wait;
/// 408 and 5xx (and no answer at all) are the server's trouble, worth
/// retrying; other 4xx (401, 403, 404, 410…) mean it will never take it.
fn classify(result: Result<(), String>, answer: Option<Answer>) -> Outcome {
    let Some(answer) = answer else {
        return Outcome::Retry {
            status: None,
            error: result.err().unwrap_or_else(|| "no response".into()),
        };
    };
    match answer.status {
        s if (200..300).contains(&s) => Outcome::Delivered { status: s },
        429 => Outcome::RateLimited {
            status: 429,
            retry_after_secs: answer.retry_after_secs,
        },
        s @ 408 => Outcome::Retry {
            status: Some(s),
            error: format!("HTTP {s}"),
        },
        s if (400..500).contains(&s) => Outcome::Refused {
            status: s,
            error: format!("refused with HTTP {s}"),
        },
        s => Outcome::Retry {
            status: Some(s),
            error: result.err().unwrap_or_else(|| format!("HTTP {s}")),
        },
    }
}

/// A `Retry-After` value: seconds, or an HTTP date.
fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).map(|d| d.as_secs()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> Option<Answer> {
        Some(Answer {
            status,
            retry_after_secs: None,
        })
    }

    #[test]
    fn responses_are_classified_by_status() {
        assert_eq!(
            classify(Ok(()), answer(202)),
            Outcome::Delivered { status: 202 }
        );
        // activitypub_federation reports a 401 as success; the status says otherwise.
        assert!(matches!(
            classify(Ok(()), answer(401)),
            Outcome::Refused { status: 401, .. }
        ));
        assert!(matches!(
            classify(Ok(()), answer(410)),
            Outcome::Refused { status: 410, .. }
        ));
        assert!(matches!(
            classify(Ok(()), answer(408)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(Err("x".into()), answer(503)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(Err("refused".into()), None),
            Outcome::Retry { status: None, .. }
        ));
        assert_eq!(
            classify(
                Ok(()),
                Some(Answer {
                    status: 429,
                    retry_after_secs: Some(30)
                })
            ),
            Outcome::RateLimited {
                status: 429,
                retry_after_secs: Some(30)
            }
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("120", now), Some(120));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(parse_retry_after(&later, now), Some(90));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&past, now), Some(0));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}

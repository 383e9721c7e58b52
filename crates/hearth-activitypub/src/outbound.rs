//! Sending: the delivery workers that sign and post what the use-cases
//! stored (each activity with one delivery per inbox, in the transaction of
//! the change it announces; see `hearth_app::App::emit`).
//!
//! ```text
//!  command txn ──▶ port renders the event ──▶ queue: activity + deliveries (pending)
//!                      │ commit, then outbox_ready.notify()
//!                      ▼
//!  worker loop ──▶ claim ──▶ sign (crate::sign, aws-lc-rs) ──▶ POST inbox
//!                      ▲                                          │
//!                      └─ finish: delivered / retry at T / failed ◀┘
//! ```
//!
//! activitypub_federation's own queue lives in memory and counts 4xx answers
//! as delivered, and its signer uses the `rsa` crate (slow, and not
//! constant-time). Hearth signs each delivery itself (`crate::sign`, in
//! the shape the library produced), makes the library's address checks
//! before sending, posts with the federation's guarded client and records
//! each response status.

use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::config::FederationConfig;
use chrono::Utc;
use hearth_app::records::{
    ClaimLimits, DELIVERY_HEARTBEAT, DeliveryOutcome as Outcome, DeliveryState, DueDelivery,
    RetryPolicy,
};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use url::Url;

use crate::context::{Data, Federation};

/// What the receiving server answered, as the sender needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    status: u16,
    retry_after_secs: Option<u64>,
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
            per_server: u64::from(Ord::min(f.delivery_per_server, f.delivery_concurrency)),
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

    /// Whether `worker` (another worker's id, `host:pid:nonce`) ran on
    /// this host in a process that is gone: then its deliveries can be
    /// taken back at once (a restart after a crash resumes delivery within
    /// a heartbeat) instead of after its liveness lapses. A live process
    /// with a reused pid only makes us wait for the lapse.
    fn is_gone(&self, worker: &str) -> bool {
        let (Some((host, _)), Some((mine, _))) = (worker.split_once(':'), self.id.split_once(':'))
        else {
            return false;
        };
        let Some(pid) = worker.split(':').nth(1).and_then(|p| p.parse::<u32>().ok()) else {
            return false;
        };
        host == mine
            && pid != std::process::id()
            && std::path::Path::new("/proc/self").exists()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
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
/// PostgreSQL database: they share the work through [`queue::claim`], and
/// each says it is alive every [`DELIVERY_HEARTBEAT`] so that the others
/// take over its deliveries soon after it dies.
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
    // Alive before the first claim, so no other process reaps what we take.
    if let Err(err) = fed
        .app
        .delivery_heartbeat(&settings.id, |w| settings.is_gone(w))
        .await
    {
        tracing::error!(error = %err, "cannot record this delivery worker as alive");
    }
    let heartbeat = tokio::spawn(beat(fed.app.clone(), settings.clone(), shutdown.clone()));
    let (finisher, finishing) = Finisher::start(fed.app.clone(), settings.clone());
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
            let finisher = finisher.clone();
            running.spawn(async move {
                deliver_chain(&data, &settings, &finisher, chain).await;
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
    drop(finisher);
    let _ = finishing.await;
    heartbeat.abort();
    if let Err(err) = fed.app.retire_delivery_worker(&settings.id).await {
        tracing::warn!(error = %err, "cannot retire this delivery worker; it lapses by itself");
    }
    tracing::info!(worker = %settings.id, "delivery worker stopped");
}

/// Renew this worker's liveness every [`DELIVERY_HEARTBEAT`] and give back
/// the deliveries of workers that died, until shutdown.
async fn beat(
    app: hearth_app::App,
    settings: Arc<WorkerSettings>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(DELIVERY_HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match app.delivery_heartbeat(&settings.id, |w| settings.is_gone(w)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(deliveries = n, "took back deliveries of a delivery worker that stopped"),
                    Err(err) => tracing::error!(error = %err, "cannot renew this delivery worker's liveness"),
                }
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// One attempt's outcome on its way to the database, with where to say
/// what became of the delivery.
type Finished = (DueDelivery, Outcome, oneshot::Sender<Option<DeliveryState>>);

/// Records attempts' outcomes in batches: whatever has arrived while the
/// previous batch was being written goes in the next one transaction.
#[derive(Clone)]
struct Finisher {
    tx: mpsc::Sender<Finished>,
}

/// Outcomes recorded in one transaction at most.
const FINISH_BATCH: usize = 256;

impl Finisher {
    fn start(
        app: hearth_app::App,
        settings: Arc<WorkerSettings>,
    ) -> (Finisher, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Finished>(FINISH_BATCH * 4);
        let task = tokio::spawn(async move {
            let mut batch: Vec<Finished> = Vec::with_capacity(FINISH_BATCH);
            while rx.recv_many(&mut batch, FINISH_BATCH).await > 0 {
                let done: Vec<(&DueDelivery, &Outcome)> =
                    batch.iter().map(|(d, o, _)| (d, o)).collect();
                // Once more on failure (a lost connection, a deadlock
                // PostgreSQL broke): an outcome not recorded means the
                // delivery is sent again when its lease runs out.
                let mut result = app
                    .finish_deliveries(&settings.id, &done, &settings.policy)
                    .await;
                if let Err(err) = &result {
                    tracing::warn!(error = %err, count = done.len(), "cannot record delivery outcomes; trying again");
                    result = app
                        .finish_deliveries(&settings.id, &done, &settings.policy)
                        .await;
                }
                let states = match result {
                    Ok(states) => states.into_iter().map(Some).collect(),
                    Err(err) => {
                        tracing::error!(error = %err, count = done.len(), "cannot record delivery outcomes");
                        vec![None; done.len()]
                    }
                };
                drop(done);
                for ((_, _, reply), state) in batch.drain(..).zip(states) {
                    let _ = reply.send(state);
                }
            }
        });
        (Finisher { tx }, task)
    }

    /// Record one outcome; returns the delivery's new state (`None` if it
    /// could not be recorded).
    async fn finish(&self, delivery: DueDelivery, outcome: Outcome) -> Option<DeliveryState> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((delivery, outcome, reply)).await.ok()?;
        answer.await.ok().flatten()
    }
}

/// Deliveries of one chain taken at once (sent in order by one task).
const CHAIN_LEN: u64 = 32;

/// Send a chain in order. At the first delivery that must be retried, the
/// rest go back to wait behind it, so the receiver never gets them out of
/// order.
async fn deliver_chain(
    data: &Data,
    settings: &WorkerSettings,
    finisher: &Finisher,
    chain: Vec<DueDelivery>,
) {
    let claimed_at = std::time::Instant::now();
    let half_lease = settings.lease.to_std().unwrap_or(Duration::from_secs(30)) / 2;
    let mut renewed_at = claimed_at;
    let ids: Vec<i64> = chain.iter().map(|d| d.id).collect();
    for (n, delivery) in chain.into_iter().enumerate() {
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
        match deliver(data, finisher, delivery).await {
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
async fn deliver(data: &Data, finisher: &Finisher, delivery: DueDelivery) -> Option<DeliveryState> {
    let outcome = attempt(data, &delivery).await;
    let activity_id = delivery.activity_ap_id.clone();
    let inbox = delivery.inbox.clone();
    let Some(state) = finisher.finish(delivery, outcome.clone()).await else {
        tracing::error!(activity_id, inbox, "cannot record delivery outcome");
        return None;
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
    let fed = data.app_data();
    if serde_json::from_str::<serde::de::IgnoredAny>(&delivery.body).is_err()
        || Url::parse(&delivery.activity_ap_id).is_err()
    {
        return unsendable("stored activity is not valid JSON with a URL id".into());
    }
    let key = match fed
        .signing_keys
        .recent(actor.as_str(), crate::sign::KEY_FRESH_FOR)
    {
        Some(key) => key,
        None => {
            let keys = match fed.app.signing_keys(actor.as_str()).await {
                Ok(Some(keys)) => keys,
                Ok(None) => return unsendable(format!("signing actor {actor} no longer exists")),
                Err(err) => {
                    return Outcome::Retry {
                        status: None,
                        error: format!("cannot load the signing key: {err}"),
                    };
                }
            };
            match fed.signing_keys.get(actor.as_str(), &keys.private_pem) {
                Ok(key) => key,
                Err(err) => return unsendable(format!("cannot sign as {actor}: {err}")),
            }
        }
    };
    if let Err(refused) = check_inbox(data, &inbox).await {
        return refused;
    }
    // The stored JSON is sent as it is: the digest covers these bytes.
    let body = delivery.body.as_bytes();
    let headers =
        match crate::sign::sign_post(&key, &actor, &inbox, body, std::time::SystemTime::now()) {
            Ok(headers) => headers,
            Err(err) => return unsendable(format!("cannot sign: {err}")),
        };
    let sent = fed
        .client
        .post(inbox.clone())
        .timeout(fed.settings.request_timeout)
        .headers(headers)
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let (answer, result) = read_answer(response).await;
            classify(result, Some(answer))
        }
        // Refused by the SSRF guard when connecting (the name resolved
        // to a public address when checked, and to another now): for good.
        Err(err) => match crate::guard::refusal(&err) {
            Some(refused) => unsendable(format!("inbox {inbox}: {refused}")),
            None => classify(Err(err.to_string()), None),
        },
    }
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

/// The address checks activitypub_federation made before it would send
/// to an inbox (`FederationConfig::verify_url_valid`, and its filter of this
/// server's own URLs): https only (http too in test mode), a host name of
/// plain letters, digits, dots and dashes, not this server; outside test
/// mode no explicit port, and a host that resolves to public addresses
/// only. The client's DNS resolver checks the addresses again when it
/// connects (against DNS rebinding); checking here first makes a refused
/// address a delivery that fails for good rather than one retried.
///
/// `Err` holds the outcome to record: refused addresses are unsendable; a
/// host that cannot be resolved just now is retried.
async fn check_inbox(data: &Data, inbox: &Url) -> Result<(), Outcome> {
    let test_mode = data.app_data().settings.test_mode;
    let refused = |why: String| Outcome::Unsendable {
        error: format!("inbox {inbox} refused by the address checks: {why}"),
    };
    match inbox.scheme() {
        "https" => {}
        "http" if test_mode => {}
        other => return Err(refused(format!("{other} is not https"))),
    }
    let Some(domain) = inbox.domain() else {
        return Err(refused("it has no host name".into()));
    };
    let authority = match inbox.port() {
        Some(port) => format!("{domain}:{port}"),
        None => domain.to_owned(),
    };
    if authority.eq_ignore_ascii_case(data.domain()) {
        return Err(refused("it is this server's own".into()));
    }
    // The federation policy may have cut the server off since the delivery
    // was queued.
    match data.app_data().app.check_server(&authority).await {
        Ok(()) => {}
        Err(hearth_app::AppError::Refused(why)) => return Err(Outcome::CutOff { error: why }),
        Err(err) => {
            return Err(Outcome::Retry {
                status: None,
                error: format!("cannot read the federation policy: {err}"),
            });
        }
    }
    if !domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(refused("its host name has invalid characters".into()));
    }
    if test_mode {
        return Ok(());
    }
    if inbox.port().is_some() {
        return Err(refused("it names a port".into()));
    }
    match data.app_data().guard.check_resolved(inbox).await {
        Ok(Ok(())) => Ok(()),
        Err(why) => Err(refused(why.0)),
        Ok(Err(err)) => Err(Outcome::Retry {
            status: None,
            error: format!("cannot resolve {domain}: {err}"),
        }),
    }
}

/// Bytes of an answer's body read so the connection can be used again;
/// past this the connection is dropped instead.
const ANSWER_READ_LIMIT: usize = 64 * 1024;
/// Characters of a refusal's body kept for the log.
const ANSWER_KEPT_CHARS: usize = 200;

/// What the receiving server answered: its status and `Retry-After`; and
/// `Err` with the start of the body when the status is not 2xx, for the
/// log. The body is read (within the request's timeout) so the connection
/// goes back to the pool.
async fn read_answer(mut response: reqwest::Response) -> (Answer, Result<(), String>) {
    let status = response.status().as_u16();
    let retry_after_secs = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    let mut body = Vec::new();
    while body.len() < ANSWER_READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let answer = Answer {
        status,
        retry_after_secs,
    };
    if (200..300).contains(&status) {
        return (answer, Ok(()));
    }
    let text: String = String::from_utf8_lossy(&body)
        .chars()
        .take(ANSWER_KEPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    let error = if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    };
    (answer, Err(error))
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

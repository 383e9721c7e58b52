//! Sending: building the activities Hearth sends, storing them with one
//! delivery per inbox in the same transaction as the change they announce,
//! and the sender that signs and posts them.
//!
//! ```text
//!  use-case txn ──▶ enqueue(): outbound_activities + deliveries (pending)
//!                      │ commit, then outbox_ready.notify()
//!                      ▼
//!  sender loop ──▶ claim_due() ──▶ sign (activitypub_federation) ──▶ POST inbox
//!                      ▲                                                │
//!                      └──── finish(): delivered / retry at T / failed ◀┘
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
use hearth_db::ConnectionTrait;
use hearth_db::federation::{self, DueDelivery, Outcome, Target};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use url::Url;

use crate::FederationError;
use crate::actors::LocalActor;
use crate::context::{Data, Federation, Urls};
use crate::protocol::{self, activity_context};

tokio::task_local! {
    /// The HTTP status of the last response seen on this task.
    static LAST_STATUS: Cell<Option<u16>>;
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
            let _ = LAST_STATUS.try_with(|cell| cell.set(Some(r.status().as_u16())));
        }
        response
    }
}

/// `Follow` of a group by a member (asking to join).
pub fn follow(urls: &Urls, follower: &Url, group: &Url) -> Value {
    json!({
        "@context": activity_context(),
        "id": urls.new_activity(),
        "type": "Follow",
        "actor": follower,
        "object": group,
        "to": [group],
    })
}

/// `Accept` or `Reject` of a Follow, embedding the Follow as received so
/// the follower can match it without a fetch.
pub fn answer_follow(
    urls: &Urls,
    kind: &str,
    group: &Url,
    follow: &Value,
    follower: &Url,
) -> Value {
    json!({
        "@context": activity_context(),
        "id": urls.new_activity(),
        "type": kind,
        "actor": group,
        "object": strip_context(follow),
        "to": [follower],
    })
}

/// `Undo` of one of our own activities.
pub fn undo(urls: &Urls, actor: &Url, object: &Value, to: &Url) -> Value {
    json!({
        "@context": activity_context(),
        "id": urls.new_activity(),
        "type": "Undo",
        "actor": actor,
        "object": strip_context(object),
        "to": [to],
    })
}

fn strip_context(value: &Value) -> Value {
    let mut v = value.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("@context");
    }
    v
}

/// Store `activity` for delivery to `inboxes`, inside the caller's
/// transaction. Inboxes on this server are skipped.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    urls: &Urls,
    activity: &Value,
    inboxes: &[String],
) -> Result<(), FederationError> {
    let id = activity["id"].as_str().unwrap_or_default();
    let kind = protocol::type_of(activity).unwrap_or("Activity");
    let actor = activity["actor"].as_str().unwrap_or_default();
    let targets: Vec<Target> = inboxes
        .iter()
        .filter_map(|inbox| {
            let url = Url::parse(inbox).ok()?;
            if urls.is_local(&url) {
                return None;
            }
            Some(Target {
                inbox: inbox.clone(),
                authority: protocol::authority(&url)?,
            })
        })
        .collect();
    let body =
        serde_json::to_string(activity).map_err(|e| FederationError::Internal(e.to_string()))?;
    federation::enqueue(db, id, kind, actor, &body, &targets).await?;
    tracing::info!(
        activity_id = id,
        kind,
        targets = targets.len(),
        "activity queued"
    );
    Ok(())
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

/// Seconds to wait before attempt `n + 1` after `n` failed attempts.
const BACKOFF: &[i64] = &[10, 60, 300, 1800, 7200, 21_600, 43_200, 86_400];
/// How long a claimed delivery is ours before another sender may take it.
const LEASE_SECS: i64 = 120;
/// Deliveries in flight at once, per process.
const CONCURRENCY: usize = 16;

/// Run the sender until `shutdown` turns true. Deliveries claimed but not
/// finished when the process dies are picked up again after their lease.
pub async fn run_sender(config: FederationConfig<Federation>, mut shutdown: watch::Receiver<bool>) {
    let fed: Federation = (*config).clone();
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimable = permits.available_permits() as u64;
        let due = if claimable == 0 {
            Vec::new()
        } else {
            match federation::claim_due(
                &fed.db,
                Utc::now(),
                chrono::Duration::seconds(LEASE_SECS),
                claimable,
            )
            .await
            {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(error = %err, "cannot claim deliveries");
                    Vec::new()
                }
            }
        };
        let claimed = due.len();
        for delivery in due {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let data = config.to_request_data();
            running.spawn(async move {
                deliver(&data, delivery).await;
                drop(permit);
            });
        }
        while running.try_join_next().is_some() {}
        if claimed > 0 {
            continue;
        }
        let wait = match federation::next_due(&fed.db).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_secs(5)),
            _ => Duration::from_secs(5),
        };
        tokio::select! {
            () = fed.outbox_ready.notified() => {},
            () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {},
            _ = shutdown.changed() => {},
            Some(_) = running.join_next(), if !running.is_empty() => {},
        }
    }
    while running.join_next().await.is_some() {}
}

/// One attempt at one delivery, recorded whatever happens.
async fn deliver(data: &Data, delivery: DueDelivery) {
    let id = delivery.id;
    let attempts = delivery.attempts;
    let inbox = delivery.inbox.clone();
    let activity_id = delivery.activity_ap_id.clone();
    let outcome = attempt(data, delivery).await;
    let outcome = match outcome {
        Outcome::Retry { status, error, .. } if attempts as usize + 1 >= BACKOFF.len() => {
            Outcome::Failed {
                status,
                error: format!("gave up after {} attempts: {error}", attempts + 1),
            }
        }
        Outcome::Retry { status, error, .. } => Outcome::Retry {
            status,
            error,
            at: Utc::now() + chrono::Duration::seconds(BACKOFF[attempts.max(0) as usize]),
        },
        other => other,
    };
    match &outcome {
        Outcome::Delivered { status } => {
            tracing::info!(activity_id, inbox, status, "delivered")
        }
        Outcome::Retry { status, error, at } => {
            tracing::warn!(activity_id, inbox, ?status, error, retry_at = %at, "delivery failed; will retry")
        }
        Outcome::Failed { status, error } => {
            tracing::warn!(
                activity_id,
                inbox,
                ?status,
                error,
                "delivery failed for good"
            )
        }
    }
    if let Err(err) = federation::finish(&data.app_data().db, id, outcome).await {
        tracing::error!(activity_id, inbox, error = %err, "cannot record delivery outcome");
    }
}

async fn attempt(data: &Data, delivery: DueDelivery) -> Outcome {
    let failed = |error: String| Outcome::Failed {
        status: None,
        error,
    };
    let inbox = match Url::parse(&delivery.inbox) {
        Ok(url) if url.domain().is_some() => url,
        _ => {
            return failed(format!(
                "inbox {} is not a web address with a host name",
                delivery.inbox
            ));
        }
    };
    let Ok(actor) = Url::parse(&delivery.actor_ap_id) else {
        return failed(format!("actor {} is not a URL", delivery.actor_ap_id));
    };
    let signer = match LocalActor::load(data.app_data(), &actor).await {
        Ok(Some(signer)) => signer,
        Ok(None) => return failed(format!("signing actor {actor} no longer exists")),
        Err(err) => {
            return Outcome::Retry {
                status: None,
                error: err.to_string(),
                at: Utc::now(),
            };
        }
    };
    let (Ok(json), Ok(id)) = (
        serde_json::from_str::<Value>(&delivery.body),
        Url::parse(&delivery.activity_ap_id),
    ) else {
        return failed("stored activity is not valid JSON with a URL id".into());
    };
    let activity = StoredActivity { id, actor, json };
    let tasks = match SendActivityTask::prepare(&activity, &signer, vec![inbox.clone()], data).await
    {
        Ok(tasks) => tasks,
        Err(err) => return failed(format!("cannot prepare: {err}")),
    };
    let Some(task) = tasks.into_iter().next() else {
        return failed(format!("inbox {inbox} refused by the address checks"));
    };
    let (result, status) = LAST_STATUS
        .scope(Cell::new(None), async {
            let result = task.sign_and_send(data).await;
            (result, LAST_STATUS.with(Cell::get))
        })
        .await;
    classify(result.map_err(|e| e.to_string()), status)
}

/// Decide what a response means. 2xx is delivered; 408, 429 and 5xx are
/// worth retrying; other 4xx mean the receiver will never take it.
fn classify(result: Result<(), String>, status: Option<u16>) -> Outcome {
    let retry = |error: String| Outcome::Retry {
        status,
        error,
        at: Utc::now(),
    };
    match status {
        Some(s) if (200..300).contains(&s) => Outcome::Delivered { status: s },
        Some(s @ (408 | 429)) => retry(format!("HTTP {s}")),
        Some(s) if (400..500).contains(&s) => Outcome::Failed {
            status,
            error: format!("refused with HTTP {s}"),
        },
        Some(s) => retry(result.err().unwrap_or_else(|| format!("HTTP {s}"))),
        None => retry(result.err().unwrap_or_else(|| "no response".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_classified_by_status() {
        assert!(matches!(
            classify(Ok(()), Some(202)),
            Outcome::Delivered { status: 202 }
        ));
        // activitypub_federation reports a 401 as success; the status says otherwise.
        assert!(matches!(
            classify(Ok(()), Some(401)),
            Outcome::Failed { .. }
        ));
        assert!(matches!(
            classify(Ok(()), Some(410)),
            Outcome::Failed { .. }
        ));
        assert!(matches!(classify(Ok(()), Some(429)), Outcome::Retry { .. }));
        assert!(matches!(
            classify(Err("x".into()), Some(503)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(Err("refused".into()), None),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn accept_embeds_the_follow_without_its_context() {
        let urls = Urls::new("a.example", false).unwrap();
        let follower = Url::parse("https://b.example/u/bo").unwrap();
        let group = urls.group("peers");
        let follow = json!({"@context": "x", "id": "https://b.example/f/1", "type": "Follow", "actor": follower, "object": group});
        let accept = answer_follow(&urls, "Accept", &group, &follow, &follower);
        assert_eq!(accept["object"]["id"], "https://b.example/f/1");
        assert!(accept["object"].get("@context").is_none());
        assert_eq!(accept["to"][0], "https://b.example/u/bo");
        assert!(
            accept["id"]
                .as_str()
                .unwrap()
                .starts_with("https://a.example/activities/")
        );
    }
}

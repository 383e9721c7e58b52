//! The federation ledger, for the network side of Hearth: the keys local
//! actors sign with, the cache of actors on other servers, which activities
//! were already received, who may fetch an activity this server sent, and
//! the delivery queue the workers drain.
//!
//! These are the only things `hearth-activitypub` reads or writes besides
//! the commands and queries; each is a narrow call, so the database handle
//! stays here.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use hearth_db::federation::{self, SiteKeys};
use hearth_db::queue::{self, ClaimLimits, DeliveryState, DueDelivery, Outcome, RetryPolicy};
use hearth_db::remote::{self, FetchedActor, RemoteActor};
use hearth_db::{accounts, groups, posts};
use hearth_domain::AccountStatus;

use crate::access::{self, Reader};
use crate::ids::LocalRef;
use crate::posts::group_of;
use crate::{App, AppError, blocking};

/// A local actor's keys, to sign with.
#[derive(Clone)]
pub struct SigningKeys {
    /// The actor's id.
    pub id: String,
    pub inbox: String,
    pub public_pem: String,
    pub private_pem: String,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Delivery attempts by outcome in this process (for metrics).
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub rate_limited: AtomicU64,
    pub refused: AtomicU64,
    pub unsendable: AtomicU64,
}

impl DeliveryCounters {
    /// Count one attempt.
    pub fn count(&self, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::Delivered { .. } => &self.delivered,
            Outcome::Retry { .. } => &self.retried,
            Outcome::RateLimited { .. } => &self.rate_limited,
            Outcome::Refused { .. } => &self.refused,
            Outcome::Unsendable { .. } | Outcome::CutOff { .. } => &self.unsendable,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn load(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

impl App {
    /// Create the instance actor's keys the first time a server starts
    /// (several processes may race: the first stored wins).
    pub(crate) async fn ensure_site_keys(&self) -> Result<SiteKeys, AppError> {
        if let Some(keys) = federation::site_keys(&self.db).await? {
            return Ok(keys);
        }
        let fresh =
            blocking(|| crate::keys::generate().map_err(|e| AppError::Internal(e.to_string())))
                .await?;
        Ok(federation::ensure_site_keys(
            &self.db,
            SiteKeys {
                public_key_pem: fresh.public_pem,
                private_key_pem: fresh.private_pem,
            },
        )
        .await?)
    }

    /// The instance actor's keys.
    pub async fn site_keys(&self) -> Result<SiteKeys, AppError> {
        federation::site_keys(&self.db)
            .await?
            .ok_or(AppError::NotFound {
                what: "instance actor",
            })
    }

    /// The keys of the local actor `actor_id` (a member, a group or the
    /// instance actor), to sign with.
    pub async fn signing_keys(&self, actor_id: &str) -> Result<Option<SigningKeys>, AppError> {
        let urls = self.urls();
        Ok(match urls.parse_local_id(actor_id) {
            Some(LocalRef::User(name)) => {
                let Some(account) = accounts::find_by_username(&self.db, &name).await? else {
                    return Ok(None);
                };
                accounts::private_key_pem(&self.db, account.id)
                    .await?
                    .map(|private| SigningKeys {
                        id: urls.user(&account.username).to_string(),
                        inbox: urls.user_inbox(&account.username).to_string(),
                        public_pem: account.public_key_pem,
                        private_pem: private,
                    })
            }
            Some(LocalRef::Group(name)) => {
                let Some(group) = groups::find_by_name(&self.db, &name).await? else {
                    return Ok(None);
                };
                groups::private_key_pem(&self.db, group.id)
                    .await?
                    .map(|private| SigningKeys {
                        id: urls.group(&group.name).to_string(),
                        inbox: urls.group_inbox(&group.name).to_string(),
                        public_pem: group.public_key_pem,
                        private_pem: private,
                    })
            }
            Some(LocalRef::Site) => {
                federation::site_keys(&self.db)
                    .await?
                    .map(|keys| SigningKeys {
                        id: urls.site().to_string(),
                        inbox: urls.site_inbox().to_string(),
                        public_pem: keys.public_key_pem,
                        private_pem: keys.private_key_pem,
                    })
            }
            _ => None,
        })
    }

    /// An active member of this server, by username (for their actor
    /// document and WebFinger).
    pub async fn active_account(&self, username: &str) -> Result<crate::Account, AppError> {
        accounts::find_by_username(&self.db, username)
            .await?
            .filter(|a| a.status == AccountStatus::Active)
            .ok_or(AppError::NotFound { what: "member" })
    }

    /// How many groups this server hosts.
    pub async fn group_count(&self) -> Result<u64, AppError> {
        Ok(groups::count(&self.db).await?)
    }

    /// An actor on another server, as stored here. A copy read less than a
    /// minute ago is served from memory (see `recent.rs`).
    pub async fn remote_actor(&self, ap_id: &str) -> Result<Option<RemoteActor>, AppError> {
        if let Some(actor) = self.actors.get(ap_id) {
            return Ok(Some(actor));
        }
        let found = remote::find_actor(&self.db, ap_id).await?;
        if let Some(actor) = &found {
            self.actors.put(ap_id, actor.clone());
        }
        Ok(found)
    }

    /// Remember (or refresh) an actor fetched from its own server. The
    /// caller has checked the document came from the actor's origin and
    /// carries a key it owns.
    pub async fn remember_actor(&self, fetched: FetchedActor) -> Result<RemoteActor, AppError> {
        if self.urls().is_local_id(&fetched.ap_id) {
            return Err(AppError::Refused(format!(
                "{} is an actor of this server",
                fetched.ap_id
            )));
        }
        let actor = remote::upsert_actor(&self.db, fetched).await?;
        self.actors.put(&actor.ap_id, actor.clone());
        Ok(actor)
    }

    /// Whether a post with this id is stored here (so an announced id need
    /// not be fetched).
    pub async fn knows_post(&self, ap_id: &str) -> Result<bool, AppError> {
        Ok(posts::find_by_ap_id(&self.db, ap_id).await?.is_some())
    }

    /// Whether the activity `id` was already received and applied.
    pub async fn seen(&self, id: &str) -> Result<bool, AppError> {
        Ok(federation::inbound_seen(&self.db, id).await?)
    }

    /// Whether members here joined (or asked to join) the group `group`
    /// elsewhere: only then is what it relays of interest.
    pub async fn followed_here(&self, group: &RemoteActor) -> Result<bool, AppError> {
        Ok(group.kind == "Group" && remote::has_local_members(&self.db, group.id).await?)
    }

    /// The body of an activity this server sent, when `reader` may fetch
    /// it: an activity about a post is readable by those who may read the
    /// post (the one read rule); any other (a Follow, an Accept) by the
    /// servers it was sent to.
    pub async fn activity_for(&self, reader: &Reader, ap_id: &str) -> Result<String, AppError> {
        let stored = federation::outbound_by_ap_id(&self.db, ap_id)
            .await?
            .ok_or(AppError::NotFound { what: "activity" })?;
        let allowed = match &stored.about {
            Some(post_id) => match posts::find_by_ap_id(&self.db, post_id).await? {
                Some(post) => {
                    let group = group_of(&self.db, &post).await?;
                    access::can_read(&self.db, reader, &post, group.as_ref(), self.vouched())
                        .await?
                }
                None => false,
            },
            None => matches!(reader, Reader::Server(server)
                if stored.authorities.iter().any(|a| a.eq_ignore_ascii_case(server))),
        };
        if allowed {
            Ok(stored.body)
        } else {
            Err(AppError::NotFound { what: "activity" })
        }
    }

    // ---- the delivery queue, for the workers --------------------------

    /// Claim due deliveries (see `hearth_db::queue::claim`).
    pub async fn claim_deliveries(
        &self,
        limits: &ClaimLimits,
    ) -> Result<Vec<Vec<DueDelivery>>, AppError> {
        Ok(queue::claim(&self.db, Utc::now(), limits).await?)
    }

    /// Record the outcome of one attempt; returns the delivery's new state.
    pub async fn finish_delivery(
        &self,
        delivery: &DueDelivery,
        worker: &str,
        outcome: &Outcome,
        policy: &RetryPolicy,
    ) -> Result<DeliveryState, AppError> {
        self.counters.count(outcome);
        Ok(queue::finish(&self.db, delivery, worker, outcome, policy).await?)
    }

    /// Record the outcomes of many attempts by one worker in one
    /// transaction; returns each delivery's new state, in order.
    pub async fn finish_deliveries(
        &self,
        worker: &str,
        done: &[(&DueDelivery, &Outcome)],
        policy: &RetryPolicy,
    ) -> Result<Vec<DeliveryState>, AppError> {
        for (_, outcome) in done {
            self.counters.count(outcome);
        }
        Ok(queue::finish_many(&self.db, worker, done, policy).await?)
    }

    /// Say this worker is alive and give back the deliveries of workers
    /// that are not, and of those in `dead` that `is_dead` (called with
    /// each other worker holding deliveries) says died. Returns how many
    /// deliveries were given back (they are due now).
    pub async fn delivery_heartbeat(
        &self,
        worker: &str,
        is_dead: impl Fn(&str) -> bool,
    ) -> Result<u64, AppError> {
        let (mut reaped, holders) = queue::heartbeat(&self.db, worker).await?;
        let dead: Vec<String> = holders.into_iter().filter(|w| is_dead(w)).collect();
        if !dead.is_empty() {
            tracing::warn!(workers = ?dead, "delivery workers whose process is gone held deliveries");
            reaped += queue::give_back(&self.db, &dead).await?;
        }
        if reaped > 0 {
            self.outbox_ready.notify_one();
        }
        Ok(reaped)
    }

    /// This worker stops: forget it.
    pub async fn retire_delivery_worker(&self, worker: &str) -> Result<(), AppError> {
        Ok(queue::retire(&self.db, worker).await?)
    }

    /// Give claimed deliveries back unsent.
    pub async fn release_deliveries(&self, ids: &[i64], worker: &str) -> Result<(), AppError> {
        Ok(queue::release(&self.db, ids, worker).await?)
    }

    /// Extend the lease on claimed deliveries.
    pub async fn renew_deliveries(
        &self,
        ids: &[i64],
        worker: &str,
        lease: chrono::Duration,
    ) -> Result<(), AppError> {
        Ok(queue::renew(&self.db, ids, worker, lease).await?)
    }

    /// When the next delivery is due, if any is waiting.
    pub async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, AppError> {
        Ok(queue::next_due(&self.db).await?)
    }

    pub(crate) fn counters(&self) -> &DeliveryCounters {
        &self.counters
    }
}

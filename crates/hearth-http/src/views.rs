//! The JSON shapes the API returns. Snake_case keys, ids as strings,
//! RFC 3339 timestamps in UTC (see docs/API.md).

use chrono::{DateTime, SecondsFormat, Utc};
use hearth_app::Account;
use hearth_app::federation_status::{QueueStatus, ServerStatus};
use hearth_domain::federation_policy::DomainRule;
use serde::Serialize;

/// RFC 3339 with millisecond precision and a `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An account as anyone logged in to this server may see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub role: &'static str,
    pub status: &'static str,
    pub created_at: String,
    /// Their professional role, while a verification here holds (this
    /// server verified it).
    pub professional_role: Option<String>,
    /// A moderator an admin trusts to verify professionals.
    pub may_verify: bool,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id.to_string(),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            bio: a.bio.clone(),
            role: a.role.as_str(),
            status: a.status.as_str(),
            created_at: timestamp(a.created_at),
            professional_role: a.professional_role().map(str::to_owned),
            may_verify: a.may_verify,
        }
    }
}

/// One's own account: adds the private email address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnAccountView {
    #[serde(flatten)]
    pub account: AccountView,
    pub email: Option<String>,
    pub updated_at: String,
}

impl From<&Account> for OwnAccountView {
    fn from(a: &Account) -> Self {
        OwnAccountView {
            account: a.into(),
            email: a.email.clone(),
            updated_at: timestamp(a.updated_at),
        }
    }
}

/// An account as an admin reviewing sign-ups sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminAccountView {
    #[serde(flatten)]
    pub account: OwnAccountView,
    pub registration_reason: String,
}

impl From<&Account> for AdminAccountView {
    fn from(a: &Account) -> Self {
        AdminAccountView {
            account: a.into(),
            registration_reason: a.registration_reason.clone(),
        }
    }
}

/// A domain rule of the federation policy, as admins see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DomainRuleView {
    pub domain: String,
    /// `suspend`, `limit` or `allow`.
    pub action: &'static str,
    pub public_reason: String,
    pub private_reason: String,
    pub expires_at: Option<String>,
    /// The list the rule came from; `null` for the admin's own.
    pub subscription: Option<String>,
    pub created_at: String,
}

impl DomainRuleView {
    /// `rule`, set at `created_at`.
    pub fn new(rule: &DomainRule, created_at: DateTime<Utc>) -> Self {
        DomainRuleView {
            domain: rule.domain.clone(),
            action: rule.action.as_str(),
            public_reason: rule.public_reason.clone(),
            private_reason: rule.private_reason.clone(),
            expires_at: rule
                .expires_at
                .map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true)),
            subscription: rule.subscription.clone(),
            created_at: created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

/// What setting or removing a rule cut off at once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CutOffView {
    pub deliveries_given_up: u64,
    pub their_memberships_ended: u64,
    pub memberships_there_ended: u64,
}

impl From<hearth_app::policy::CutOff> for CutOffView {
    fn from(c: hearth_app::policy::CutOff) -> Self {
        CutOffView {
            deliveries_given_up: c.deliveries,
            their_memberships_ended: c.members,
            memberships_there_ended: c.memberships,
        }
    }
}

/// The delivery queue and the servers it sends to, as admins see it (the
/// API and `hearth admin federation-status --json` share this shape).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FederationStatusView {
    pub queue: QueueView,
    pub servers: Vec<ServerView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    pub pending: u64,
    pub sending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// When the oldest delivery not yet gone out was stored.
    pub oldest_pending_at: Option<String>,
    pub oldest_pending_age_secs: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerView {
    pub authority: String,
    pub state: &'static str,
    /// Deliveries not yet gone out (pending or being sent).
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    pub consecutive_failures: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    pub blocked_until: Option<String>,
}

impl FederationStatusView {
    /// The status as of `now` (ages are counted from it).
    pub fn new(status: &QueueStatus, now: DateTime<Utc>) -> Self {
        FederationStatusView {
            queue: QueueView {
                pending: status.pending,
                sending: status.sending,
                delivered: status.delivered,
                failed: status.failed,
                oldest_pending_at: status.oldest_pending_at.map(timestamp),
                oldest_pending_age_secs: status.oldest_pending_at.map(|at| age_secs(at, now)),
            },
            servers: status.servers.iter().map(ServerView::from).collect(),
        }
    }
}

impl From<&ServerStatus> for ServerView {
    fn from(s: &ServerStatus) -> Self {
        ServerView {
            authority: s.authority.clone(),
            state: s.state.as_str(),
            pending: s.pending,
            delivered: s.delivered,
            failed: s.failed,
            consecutive_failures: s.consecutive_failures,
            last_status: s.last_status,
            last_error: s.last_error.clone(),
            last_success_at: s.last_success_at.map(timestamp),
            last_failure_at: s.last_failure_at.map(timestamp),
            blocked_until: s.blocked_until.map(timestamp),
        }
    }
}

/// Whole seconds from `at` to `now`; zero when `at` is in the future (a
/// clock a little ahead on another process).
pub fn age_secs(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((now - at).num_seconds()).unwrap_or(0)
}

/// A helpline or support service an admin configured.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CrisisResourceView {
    /// An ISO 3166 country code; empty for a service open to anyone.
    pub country: String,
    /// The language it answers in (a code such as `da`); may be empty.
    pub language: String,
    pub name: String,
    pub phone: String,
    pub url: String,
    /// When it answers, as the admin wrote it.
    pub hours: String,
}

impl From<&hearth_domain::crisis::CrisisResource> for CrisisResourceView {
    fn from(r: &hearth_domain::crisis::CrisisResource) -> Self {
        CrisisResourceView {
            country: r.country.clone(),
            language: r.language.clone(),
            name: r.name.clone(),
            phone: r.phone.clone(),
            url: r.url.clone(),
            hours: r.hours.clone(),
        }
    }
}

/// Where the author of words that may mean a crisis can find help now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CrisisSupportView {
    /// The language of the words that matched.
    pub language: String,
    /// The helplines, those in that language first.
    pub resources: Vec<CrisisResourceView>,
}

impl From<&hearth_app::crisis::CrisisSupport> for CrisisSupportView {
    fn from(c: &hearth_app::crisis::CrisisSupport) -> Self {
        CrisisSupportView {
            language: c.language.clone(),
            resources: c.resources.iter().map(Into::into).collect(),
        }
    }
}

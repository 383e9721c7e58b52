//! The JSON shapes the API returns. Snake_case keys, ids as strings,
//! RFC 3339 timestamps in UTC (see docs/API.md).

use chrono::{DateTime, SecondsFormat, Utc};
use hearth_app::Account;
use serde::Serialize;

/// RFC 3339 with millisecond precision and a `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An account as anyone logged in to this server may see it.
#[derive(Debug, Serialize)]
pub struct AccountView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub role: &'static str,
    pub status: &'static str,
    pub created_at: String,
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
        }
    }
}

/// One's own account: adds the private email address.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
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

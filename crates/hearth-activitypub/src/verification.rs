//! Verified professionals on the wire: the claim a member's actor carries
//! (`hearth:professional`), the document the verifying server serves at
//! the claim's id, and the check of another server's claim against the
//! server it names.
//!
//! ```text
//! actor document of bob@b ─▶ "professional": {id: https://a/verifications/7, verifiedBy: https://a/, role, subject}
//!        │ check_claim: the id is on the verifying server a
//!        ▼
//! signed GET https://a/verifications/7 (SSRF-guarded client) ─▶ 200 Verification / 404 / 410
//!        │ check_confirmation: same id, type, verifier, subject = bob@b, same role
//!        ▼
//! ClaimCheck::Confirmed { role, verified_by: a } stored on the actor, with when it was checked
//! ```
//!
//! A server can thus vouch only under its own name: a hostile server that
//! says "verified by a" is shown as verified only if `a` confirms it.

use activitypub_federation::fetch::fetch_object_http;
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_app::Urls;
use hearth_app::records::{Account, ClaimCheck, RemoteActor};
use hearth_domain::professional::{self, Claim, Confirmation};
use serde_json::Value;
use url::Url;

use crate::context::{Data, Federation};
use crate::protocol;
use crate::wire::{Context, Verification, VerificationType};

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The claim a member here carries on their actor while their
/// verification holds.
pub fn claim(urls: &Urls, account: &Account) -> Option<Verification> {
    let id = account.verification_id()?;
    let role = account.professional_role()?.to_owned();
    Some(Verification {
        context: None,
        id: urls.verification(id).to_string(),
        kind: VerificationType::Verification,
        role,
        verified_by: urls.root().to_string(),
        subject: urls.user(&account.username).to_string(),
        published: None,
    })
}

/// The document served at a verification's id, while it holds.
pub fn document(
    urls: &Urls,
    account: &Account,
    verification: &hearth_app::records::Verification,
) -> Verification {
    Verification {
        context: Some(Context::Actors),
        id: urls.verification(verification.id).to_string(),
        kind: VerificationType::Verification,
        role: verification.role.clone(),
        verified_by: urls.root().to_string(),
        subject: urls.user(&account.username).to_string(),
        published: Some(timestamp(verification.verified_at)),
    }
}

/// What a revoked verification's id answers (with 410): a `Tombstone`.
pub fn revoked(urls: &Urls, id: i64) -> Result<String, hearth_app::PortError> {
    crate::wire::to_json(&crate::wire::ActorTombstone {
        context: Context::Activities,
        id: urls.verification(id).to_string(),
        kind: crate::wire::TombstoneType::Tombstone,
        former_type: "Verification",
    })
    .map_err(|e| hearth_app::PortError::Internal(e.to_string()))
}

/// Read a claim (or a served verification) off the wire; `None` when it
/// is not one.
fn read(value: &Value) -> Option<(Claim, Option<Confirmation>)> {
    let text = |key: &str| {
        value
            .get(key)
            .or_else(|| value.get(format!("hearth:{key}")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let url_of = |key: &str| {
        value
            .get(key)
            .or_else(|| value.get(format!("hearth:{key}")))
            .and_then(protocol::id_of)
    };
    let id = protocol::id_of(value.get("id")?)?;
    let role = text("role")?;
    let verified_by = url_of("verifiedBy")?;
    let claim = Claim {
        id: id.clone(),
        role: role.clone(),
        verified_by: verified_by.clone(),
    };
    let confirmation = url_of("subject").map(|subject| Confirmation {
        id,
        kind: protocol::type_of(value)
            .map(|t| t.trim_start_matches("hearth:").to_owned())
            .unwrap_or_default(),
        role,
        verified_by,
        subject,
    });
    Some((claim, confirmation))
}

/// Check what an actor document claims against the server it names.
/// Network work; done before anything is stored. A claim the verifying
/// server cannot be asked about just now (unreachable, timing out) keeps
/// what was confirmed before for that same claim, if anything; one it
/// answers about with anything but the verification is refused.
pub async fn check(data: &Data, actor: &Url, value: &Value) -> ClaimCheck {
    if value.is_null() {
        return ClaimCheck::NoClaim;
    }
    let fed: &Federation = data.app_data();
    let Some((claim, _)) = read(value) else {
        tracing::info!(actor = %actor, "a professional claim that cannot be read");
        return ClaimCheck::Refused;
    };
    if let Err(err) = professional::check_claim(&claim) {
        tracing::info!(actor = %actor, error = %err, "professional claim refused");
        return ClaimCheck::Refused;
    }
    // This server verifies only its own members, and never someone
    // elsewhere.
    if fed.urls.is_local(&claim.id) {
        tracing::info!(actor = %actor, claim = %claim.id, "a claim of a verification here by someone elsewhere");
        return ClaimCheck::Refused;
    }
    let fetched = match fetch_object_http::<Federation, Value>(&claim.id, data).await {
        Ok(fetched) => fetched.object,
        Err(err) => {
            use activitypub_federation::error::Error as E;
            let answered = matches!(
                err,
                E::ObjectDeleted(_)
                    | E::NotFound
                    | E::FetchWrongId(_)
                    | E::FetchInvalidContentType(_)
                    | E::ParseFetchedObject(..)
            );
            tracing::info!(actor = %actor, claim = %claim.id, error = %err, "cannot confirm a professional claim");
            if !answered {
                return kept(fed, actor, &claim).await;
            }
            return ClaimCheck::Refused;
        }
    };
    let confirmation = match read(&fetched) {
        Some((_, Some(confirmation))) => confirmation,
        _ => {
            tracing::info!(actor = %actor, claim = %claim.id, "the verifying server served something else");
            return ClaimCheck::Refused;
        }
    };
    match professional::check_confirmation(actor, &claim, &confirmation) {
        Ok(professional) => ClaimCheck::Confirmed {
            professional,
            verification: claim.id.to_string(),
        },
        Err(err) => {
            tracing::info!(actor = %actor, error = %err, "professional claim refused");
            ClaimCheck::Refused
        }
    }
}

/// What was confirmed before for this same claim, when its server cannot
/// be asked now.
async fn kept(fed: &Federation, actor: &Url, claim: &Claim) -> ClaimCheck {
    let stored: Option<RemoteActor> = fed.app.remote_actor(actor.as_str()).await.ok().flatten();
    let Some(checked) = stored.and_then(|actor| actor.claim) else {
        return ClaimCheck::Refused;
    };
    match (checked.professional, checked.verification) {
        (Some(professional), Some(verification))
            if verification == claim.id.as_str()
                && professional.role.as_str() == claim.role.trim() =>
        {
            ClaimCheck::Confirmed {
                professional,
                verification,
            }
        }
        _ => ClaimCheck::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_and_documents_are_read_in_both_spellings() {
        let (claim, confirmation) = read(&json!({
            "id": "https://a.example/verifications/7",
            "type": "Verification",
            "role": "Registered nurse, oncology",
            "verifiedBy": "https://a.example/",
            "subject": "https://a.example/u/nina",
        }))
        .unwrap();
        assert_eq!(claim.role, "Registered nurse, oncology");
        let confirmation = confirmation.unwrap();
        assert_eq!(confirmation.kind, "Verification");
        assert_eq!(confirmation.subject.as_str(), "https://a.example/u/nina");
        let (claim, _) = read(&json!({
            "id": "https://a.example/verifications/7",
            "hearth:role": "Nurse",
            "hearth:verifiedBy": {"id": "https://a.example/"},
        }))
        .unwrap();
        assert_eq!(claim.verified_by.as_str(), "https://a.example/");
        assert!(read(&json!({"id": "https://a.example/verifications/7"})).is_none());
        assert!(read(&json!("https://a.example/verifications/7")).is_none());
    }
}

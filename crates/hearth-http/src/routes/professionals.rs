//! Verified professionals: verify and revoke a member's professional role
//! (admins, and moderators an admin trusts for it), see the history, and
//! choose which moderators are trusted. Every rule is the use-case's
//! (`hearth_app::professionals`); a caller who may not verify gets 403.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_app::records::{Account, Verification};
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::{Admin, Authenticated};
use crate::json::Json;
use crate::problem::{ApiError, Problem};
use crate::views::{AdminAccountView, timestamp};

fn account_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail("No such account.")
            .into()
    })
}

/// A member's professional standing here.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfessionalAccountView {
    id: String,
    username: String,
    /// The role verified here, while it holds.
    professional_role: Option<String>,
    /// This server (`host` or `host:port`), when verified.
    verified_by: Option<String>,
    /// The verification's id, which other servers check.
    verification: Option<String>,
}

impl ProfessionalAccountView {
    fn new(state: &ApiState, a: &Account) -> Self {
        let urls = state.app.urls();
        ProfessionalAccountView {
            id: a.id.to_string(),
            username: a.username.clone(),
            professional_role: a.professional_role().map(str::to_owned),
            verified_by: a.professional_role().map(|_| urls.authority().to_owned()),
            verification: a
                .verification_id()
                .map(|id| urls.verification(id).to_string()),
        }
    }
}

/// One verification, as the history shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VerificationView {
    id: String,
    role: String,
    verified_by: String,
    verified_at: String,
    revoked_by: Option<String>,
    revoked_at: Option<String>,
}

impl From<&Verification> for VerificationView {
    fn from(v: &Verification) -> Self {
        VerificationView {
            id: v.id.to_string(),
            role: v.role.clone(),
            verified_by: v.verified_by.to_string(),
            verified_at: timestamp(v.verified_at),
            revoked_by: v.revoked_by.map(|id| id.to_string()),
            revoked_at: v.revoked_at.map(timestamp),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VerifyBody {
    role: Option<String>,
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/accounts/{id}/verification",
    tag = "professionals",
    operation_id = "professionals_verify",
    params(("id" = String, Path, description = "The account's id")),
    request_body = VerifyBody,
    responses((status = 200, body = ProfessionalAccountView)),
    security(("bearer" = []))
)]
pub async fn verify(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<VerifyBody>,
) -> Result<Json<ProfessionalAccountView>, ApiError> {
    let account = state
        .app
        .verify_professional(
            &session,
            account_id(&id)?,
            body.role.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(ProfessionalAccountView::new(&state, &account)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/accounts/{id}/verification",
    tag = "professionals",
    operation_id = "professionals_revoke",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = ProfessionalAccountView)),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ProfessionalAccountView>, ApiError> {
    let account = state
        .app
        .revoke_professional(&session, account_id(&id)?)
        .await?;
    Ok(Json(ProfessionalAccountView::new(&state, &account)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    verifications: Vec<VerificationView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/accounts/{id}/verification",
    tag = "professionals",
    operation_id = "professionals_history",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = HistoryView)),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<HistoryView>, ApiError> {
    let rows = state
        .app
        .verification_history(&session, account_id(&id)?)
        .await?;
    Ok(Json(HistoryView {
        verifications: rows.iter().map(VerificationView::from).collect(),
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/admin/accounts/{id}/verifier",
    tag = "professionals",
    operation_id = "professionals_trust",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = AdminAccountView)),
    security(("bearer" = []))
)]
pub async fn trust(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .app
        .set_verifier(&session, account_id(&id)?, true)
        .await?;
    Ok(Json((&account).into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/accounts/{id}/verifier",
    tag = "professionals",
    operation_id = "professionals_distrust",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = AdminAccountView)),
    security(("bearer" = []))
)]
pub async fn distrust(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .app
        .set_verifier(&session, account_id(&id)?, false)
        .await?;
    Ok(Json((&account).into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfessionalsView {
    professionals: Vec<ProfessionalAccountView>,
    verifiers: Vec<ProfessionalAccountView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/professionals",
    tag = "professionals",
    operation_id = "professionals_list",
    responses((status = 200, body = ProfessionalsView)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
) -> Result<Json<ProfessionalsView>, ApiError> {
    let (professionals, verifiers) = state.app.professionals(&session).await?;
    Ok(Json(ProfessionalsView {
        professionals: professionals
            .iter()
            .map(|a| ProfessionalAccountView::new(&state, a))
            .collect(),
        verifiers: verifiers
            .iter()
            .map(|a| ProfessionalAccountView::new(&state, a))
            .collect(),
    }))
}

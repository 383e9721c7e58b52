//! Erasure with receipts: deleting an account (the member's own, or an
//! admin's for a data-subject request), and reading how each server that
//! held any of it answered. Each handler calls one use-case of
//! `hearth_app::erasure`, which decides who may.

use axum::extract::{Path, Query, State};
use chrono::SecondsFormat;
use hearth_app::erasure::{AccountErased, Receipt, ServerReceipt};
use hearth_app::export::{Requester, Subject};
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::{Admin, Authenticated};
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;

/// One server's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerReceiptView {
    /// `host[:port]`.
    pub server: String,
    /// `sent`, `acknowledged`, `failing` or `gone`.
    pub state: &'static str,
    /// The state in plain words.
    pub explanation: &'static str,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub updated_at: String,
}

impl From<&ServerReceipt> for ServerReceiptView {
    fn from(s: &ServerReceipt) -> Self {
        ServerReceiptView {
            server: s.authority.clone(),
            state: s.state.as_str(),
            explanation: s.state.explain(),
            attempts: s.attempts,
            last_error: s.last_error.clone(),
            updated_at: s.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// An erasure and its receipt.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub id: String,
    /// `account` or `post`.
    pub kind: &'static str,
    /// The actor or post erased.
    pub subject: String,
    /// `member`, `admin NAME`, or the server's operator.
    pub requested_by: String,
    pub created_at: String,
    /// Every server has answered for good (acknowledged, or gone).
    pub complete: bool,
    pub servers: Vec<ServerReceiptView>,
}

impl From<&Receipt> for ReceiptView {
    fn from(r: &Receipt) -> Self {
        ReceiptView {
            id: r.erasure.id.to_string(),
            kind: r.erasure.kind.as_str(),
            subject: r.erasure.subject_ap_id.clone(),
            requested_by: r.erasure.requested_by.clone(),
            created_at: r
                .erasure
                .created_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            complete: r.is_complete(),
            servers: r.servers.iter().map(ServerReceiptView::from).collect(),
        }
    }
}

/// An account just deleted: where to follow its erasure.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErasedView {
    pub erasure_id: String,
    /// The receipt's page; keep it: it is the only way to read it, and is
    /// shown once.
    pub receipt_url: String,
    /// The receipt as JSON, at the same secret.
    pub receipt_api_url: String,
}

pub(crate) fn erased_view(state: &ApiState, erased: &AccountErased) -> ErasedView {
    let urls = state.app.urls();
    let page = urls.receipt(&erased.receipt_secret);
    let mut api = page.clone();
    api.set_path(&format!("/api/v1/erasures/{}", erased.receipt_secret));
    ErasedView {
        erasure_id: erased.erasure.id.to_string(),
        receipt_url: page.to_string(),
        receipt_api_url: api.to_string(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteBody {
    password: String,
}

/// Delete one's own account, with everything in it, here and on every
/// server that received any of it.
#[utoipa::path(
    delete,
    path = "/api/v1/me",
    tag = "erasure",
    operation_id = "erasure_delete_mine",
    request_body = DeleteBody,
    responses((status = 200, body = ErasedView)),
    security(("bearer" = []))
)]
pub async fn delete_mine(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<DeleteBody>,
) -> Result<Json<ErasedView>, ApiError> {
    state
        .auth_limits
        .account(&session.account.username)
        .map_err(crate::rate_limit::too_many_problem)?;
    let erased = state
        .app
        .delete_my_account(&session, &body.password)
        .await?;
    Ok(Json(erased_view(&state, &erased)))
}

/// Admins: delete a member's account (a data-subject request).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/accounts/{id}",
    tag = "erasure",
    operation_id = "erasure_delete_member",
    params(("id" = String, Path, description = "The account's id")),
    responses((status = 200, body = ErasedView)),
    security(("bearer" = []))
)]
pub async fn delete_member(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Json<ErasedView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::from(hearth_app::AppError::NotFound { what: "account" }))?;
    let erased = state
        .app
        .delete_member_account(Requester::Admin(&session), Subject::Id(id))
        .await?;
    Ok(Json(erased_view(&state, &erased)))
}

/// The receipt of a deleted account, to whoever holds its secret link.
#[utoipa::path(
    get,
    path = "/api/v1/erasures/{secret}",
    tag = "erasure",
    operation_id = "erasure_by_secret",
    params(("secret" = String, Path, description = "The secret part of a receipt's link")),
    responses((status = 200, body = ReceiptView))
)]
pub async fn by_secret(
    State(state): State<ApiState>,
    Path(secret): Path<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    let receipt = state.app.receipt_by_secret(&secret).await?;
    Ok(Json((&receipt).into()))
}

/// The receipt of a post's deletion, for its author.
#[utoipa::path(
    get,
    path = "/api/v1/posts/{id}/erasure",
    tag = "erasure",
    operation_id = "erasure_of_post",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 200, body = ReceiptView)),
    security(("bearer" = []))
)]
pub async fn of_post(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::from(hearth_app::AppError::NotFound { what: "post" }))?;
    let receipt = state.app.post_receipt(&session, id).await?;
    Ok(Json((&receipt).into()))
}

/// Admins: every erasure, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/erasures",
    tag = "erasure",
    operation_id = "erasure_list",
    params(PageQuery),
    responses((status = 200, body = Page<ReceiptView>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<ReceiptView>>, ApiError> {
    let (before, limit) = q.position()?;
    let rows = state.app.erasures(&session, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.erasure.id,
        |r| ReceiptView::from(&r),
    )))
}

/// Admins: one erasure's receipt.
#[utoipa::path(
    get,
    path = "/api/v1/admin/erasures/{id}",
    tag = "erasure",
    operation_id = "erasure_show",
    params(("id" = String, Path, description = "The erasure receipt's id")),
    responses((status = 200, body = ReceiptView)),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::from(hearth_app::AppError::NotFound { what: "erasure" }))?;
    let receipt = state.app.erasure_receipt(&session, id).await?;
    Ok(Json((&receipt).into()))
}

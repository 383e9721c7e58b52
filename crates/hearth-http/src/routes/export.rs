//! A member's data export and the audit log of privileged reads. Each
//! handler calls one use-case of `hearth_app::export`, which decides who
//! may (an admin's export of a member is written in the audit log there).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use hearth_app::export::{AuditEntry, Export, Requester, Subject};
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::{Admin, Authenticated};
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};

/// The archive as a download.
pub(crate) fn download(export: &Export) -> Response {
    match crate::export::archive(export) {
        Ok(bytes) => {
            let disposition = format!(
                "attachment; filename=\"{}\"",
                crate::export::file_name(export)
            );
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::export::CONTENT_TYPE),
            );
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "export failed");
            Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
    }
}

/// The logged-in member's own export.
#[utoipa::path(
    get,
    path = "/api/v1/me/export",
    tag = "export",
    operation_id = "export_mine",
    responses((status = 200, description = "A ZIP archive", content_type = "application/zip")),
    security(("bearer" = []))
)]
pub async fn mine(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
) -> Result<Response, ApiError> {
    Ok(download(&state.app.export_mine(&session).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    reason: Option<String>,
}

/// Admins: a member's export, for a data-subject request.
#[utoipa::path(
    get,
    path = "/api/v1/admin/accounts/{id}/export",
    tag = "export",
    operation_id = "export_member",
    params(("id" = String, Path, description = "The account's id"), ReasonQuery),
    responses((status = 200, description = "A ZIP archive", content_type = "application/zip")),
    security(("bearer" = []))
)]
pub async fn member(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Path(id): Path<String>,
    Query(q): Query<ReasonQuery>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::from(hearth_app::AppError::NotFound { what: "account" }))?;
    let export = state
        .app
        .export_member(
            Requester::Admin(&session),
            Subject::Id(id),
            q.reason.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(download(&export))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub id: String,
    /// Who read: an admin's username, or the server's operator.
    pub by: String,
    pub action: &'static str,
    /// The member whose data was read.
    pub member: String,
    pub reason: String,
    pub created_at: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        AuditEntryView {
            id: e.id.to_string(),
            by: e.actor_name,
            action: e.action.as_str(),
            member: e.subject_name,
            reason: e.reason,
            created_at: e.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// Admins: the whole audit log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit_log",
    tag = "export",
    operation_id = "export_audit_log",
    params(PageQuery),
    responses((status = 200, body = Page<AuditEntryView>)),
    security(("bearer" = []))
)]
pub async fn audit_log(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AuditEntryView>>, ApiError> {
    let (before, limit) = q.position()?;
    let rows = state.app.audit_log(&session, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |e| e.id,
        AuditEntryView::from,
    )))
}

/// The lines of the audit log about the logged-in member.
#[utoipa::path(
    get,
    path = "/api/v1/me/audit_log",
    tag = "export",
    operation_id = "export_my_audit_log",
    params(PageQuery),
    responses((status = 200, body = Page<AuditEntryView>)),
    security(("bearer" = []))
)]
pub async fn my_audit_log(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AuditEntryView>>, ApiError> {
    let (before, limit) = q.position()?;
    let rows = state.app.my_audit_log(&session, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |e| e.id,
        AuditEntryView::from,
    )))
}

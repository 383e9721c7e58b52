//! The caller's notifications: list them, count the unread, mark them read.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use hearth_app::notifications::NotificationView;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::Authenticated;
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationJson {
    id: String,
    /// The notification's kind (`reply`, `mention`, `reaction`,
    /// `member_from_new_server`…; docs/API.md lists them).
    kind: &'static str,
    /// Who did it: `{handle, display_name, url}`.
    actor: Option<serde_json::Value>,
    /// The post it is about (its local id and thread), if still readable.
    post_id: Option<String>,
    thread_id: Option<String>,
    /// The group: its handle, or `null`.
    group: Option<String>,
    /// The reaction (`hug`, `me-too`, `helpful`) or a moderator's reason.
    detail: String,
    created_at: String,
    read: bool,
}

fn json_of(v: NotificationView) -> NotificationJson {
    let n = v.notification;
    NotificationJson {
        id: n.id.to_string(),
        kind: n.kind.as_str(),
        actor: v.actor.map(|a| {
            serde_json::json!({"handle": a.handle, "display_name": a.display_name, "url": a.url})
        }),
        post_id: v.post.as_ref().map(|p| p.id.to_string()),
        thread_id: v.post.as_ref().map(|p| p.thread_id().to_string()),
        group: v.group.map(|(_, slug)| slug),
        detail: n.detail,
        created_at: n.created_at.to_rfc3339(),
        read: n.read_at.is_some(),
    }
}

/// Newest first; `cursor` pages to older ones.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    operation_id = "notifications_list",
    params(PageQuery),
    responses((status = 200, body = Page<NotificationJson>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<NotificationJson>>, ApiError> {
    let (before, limit) = q.position()?;
    let rows = state.app.notifications(&session, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |v| v.notification.id,
        json_of,
    )))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnreadJson {
    unread: u64,
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications/unread",
    tag = "notifications",
    operation_id = "notifications_unread",
    responses((status = 200, body = UnreadJson)),
    security(("bearer" = []))
)]
pub async fn unread(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
) -> Result<Json<UnreadJson>, ApiError> {
    Ok(Json(UnreadJson {
        unread: state.app.unread_notifications(&session).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReadBody {
    /// These notifications…
    ids: Option<Vec<String>>,
    /// …or every one up to this id. Neither: all of them.
    up_to: Option<String>,
}

fn notification_id(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::from(
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-failed",
                "Invalid notification id",
            )
            .field(field.to_owned())
            .detail(format!("\"{raw}\" is not a notification id.")),
        )
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarkedJson {
    marked: u64,
    unread: u64,
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/read",
    tag = "notifications",
    operation_id = "notifications_mark_read",
    request_body = ReadBody,
    responses((status = 200, body = MarkedJson)),
    security(("bearer" = []))
)]
pub async fn mark_read(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<ReadBody>,
) -> Result<Json<MarkedJson>, ApiError> {
    let ids = body
        .ids
        .as_ref()
        .map(|ids| {
            ids.iter()
                .map(|id| notification_id(id, "ids"))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let up_to = body
        .up_to
        .as_deref()
        .map(|id| notification_id(id, "up_to"))
        .transpose()?;
    let marked = state
        .app
        .mark_notifications_read(&session, ids.as_deref(), up_to)
        .await?;
    Ok(Json(MarkedJson {
        marked,
        unread: state.app.unread_notifications(&session).await?,
    }))
}

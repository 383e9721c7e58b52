//! Admin endpoints: review and decide on sign-ups, and see how delivery
//! to other servers is going.

use axum::extract::{Path, Query, State};
use hearth_domain::AccountStatus;
use serde::Deserialize;

use crate::ApiState;
use crate::auth::Admin;
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};
use crate::views::{AdminAccountView, FederationStatusView};

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list_accounts(
    State(state): State<ApiState>,
    Admin(_): Admin,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<AdminAccountView>>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<AccountStatus>)
        .transpose()
        .map_err(|e| {
            Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid-query",
                "Invalid status",
            )
            .field("status")
            .detail(e.to_string())
        })?;
    let (after, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .position()?;
    let rows = state.app.list_accounts(status, after, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |a| a.id,
        |a| (&a).into(),
    )))
}

fn account_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        Problem::new(axum::http::StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail("No such account.")
            .into()
    })
}

pub async fn approve(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .app
        .decide_registration(&admin.account, account_id(&id)?, true)
        .await?;
    Ok(Json((&account).into()))
}

pub async fn reject(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminAccountView>, ApiError> {
    let account = state
        .app
        .decide_registration(&admin.account, account_id(&id)?, false)
        .await?;
    Ok(Json((&account).into()))
}

/// The delivery queue and the servers that need attention most.
pub async fn federation(
    State(state): State<ApiState>,
    Admin(_): Admin,
) -> Result<Json<FederationStatusView>, ApiError> {
    let status = state.app.federation_status().await?;
    Ok(Json(FederationStatusView::new(&status, chrono::Utc::now())))
}

//! Health and instance information: what monitors and clients ask first.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::ApiState;
use crate::json::Json;
use crate::problem::{ApiError, Problem};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: &'static str,
    database: &'static str,
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "system",
    operation_id = "system_health",
    responses((status = 200, body = Health))
)]
pub async fn health(State(state): State<ApiState>) -> Result<Json<Health>, ApiError> {
    match state.app.health().await {
        Ok(()) => Ok(Json(Health {
            status: "ok",
            database: "ok",
        })),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The server cannot reach its database",
            )
            .into())
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Instance {
    domain: String,
    name: String,
    description: String,
    software: &'static str,
    version: &'static str,
    registration_mode: &'static str,
    /// What people asking for an account must answer (their `reason`);
    /// `null` when nothing is asked.
    registration_question: Option<String>,
    stats: Stats,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Stats {
    accounts: u64,
}

#[utoipa::path(
    get,
    path = "/api/v1/instance",
    tag = "system",
    operation_id = "system_instance",
    responses((status = 200, body = Instance))
)]
pub async fn instance(State(state): State<ApiState>) -> Result<Json<Instance>, ApiError> {
    let config = &state.app.config;
    Ok(Json(Instance {
        domain: config.domain.clone(),
        name: config.instance.name.clone(),
        description: config.instance.description.clone(),
        software: "hearth",
        version: env!("CARGO_PKG_VERSION"),
        registration_mode: config.registration.mode.as_str(),
        registration_question: state.app.registration_question().map(str::to_owned),
        stats: Stats {
            accounts: state.app.active_account_count().await?,
        },
    }))
}

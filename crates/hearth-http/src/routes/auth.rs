//! Sign up, log in, log out.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::accounts::Registration;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::Authenticated;
use crate::json::Json;
use crate::problem::ApiError;
use crate::rate_limit::{ClientIp, too_many_problem};
use crate::views::{OwnAccountView, timestamp};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterBody {
    username: String,
    password: String,
    display_name: Option<String>,
    bio: Option<String>,
    email: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Registered {
    account: OwnAccountView,
    /// What happens next, in words for the person.
    message: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "accounts",
    operation_id = "auth_register",
    request_body = RegisterBody,
    responses((status = 201, body = Registered))
)]
pub async fn register(
    State(state): State<ApiState>,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let account = state
        .app
        .register(Registration {
            username: body.username,
            password: body.password,
            display_name: body.display_name,
            bio: body.bio,
            email: body.email,
            reason: body.reason,
        })
        .await?;
    let message = match account.status {
        hearth_domain::AccountStatus::Active => "Your account is ready. You can log in now.",
        _ => "Thank you. An admin will look at your request; you can log in once it is approved.",
    };
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            account: (&account).into(),
            message,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginAnswer {
    token: String,
    token_type: &'static str,
    expires_at: String,
    account: OwnAccountView,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "accounts",
    operation_id = "auth_login",
    request_body = LoginBody,
    responses((status = 200, body = LoginAnswer))
)]
pub async fn login(
    State(state): State<ApiState>,
    ip: Option<Extension<ClientIp>>,
    Json(body): Json<LoginBody>,
) -> Result<Json<LoginAnswer>, ApiError> {
    state
        .auth_limits
        .account(&body.username)
        .map_err(too_many_problem)?;
    let ip = ip.map(|Extension(ClientIp(ip))| ip);
    let logged_in = state
        .app
        .login_from(&body.username, &body.password, ip)
        .await?;
    Ok(Json(LoginAnswer {
        token: logged_in.token,
        token_type: "Bearer",
        expires_at: timestamp(logged_in.expires_at),
        account: (&logged_in.account).into(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "accounts",
    operation_id = "auth_logout",
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn logout(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
) -> Result<StatusCode, ApiError> {
    state.app.logout(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! The logged-in person's own account.

use axum::extract::State;
use axum::http::StatusCode;
use hearth_app::accounts::ProfileUpdate;
use serde::Deserialize;

use crate::ApiState;
use crate::auth::Authenticated;
use crate::json::Json;
use crate::problem::ApiError;
use crate::views::OwnAccountView;

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "accounts",
    operation_id = "me_show",
    responses((status = 200, body = OwnAccountView)),
    security(("bearer" = []))
)]
pub async fn show(Authenticated(session): Authenticated) -> Json<OwnAccountView> {
    Json((&session.account).into())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = AccountChanges)]
pub struct UpdateBody {
    display_name: Option<String>,
    bio: Option<String>,
    email: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/me",
    tag = "accounts",
    operation_id = "me_update",
    request_body = UpdateBody,
    responses((status = 200, body = OwnAccountView)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<UpdateBody>,
) -> Result<Json<OwnAccountView>, ApiError> {
    let account = state
        .app
        .update_profile(
            &session,
            ProfileUpdate {
                display_name: body.display_name,
                bio: body.bio,
                email: body.email,
            },
        )
        .await?;
    Ok(Json((&account).into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// Change the password. All sessions end, this one included: the client
/// logs in again with the new password.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "accounts",
    operation_id = "me_change_password",
    request_body = PasswordBody,
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn change_password(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    state
        .auth_limits
        .account(&session.account.username)
        .map_err(crate::rate_limit::too_many_problem)?;
    state
        .app
        .change_password(&session, &body.current_password, &body.new_password)
        .await
        .map_err(rename_password_field)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The domain calls the new password `password`; this endpoint's body calls
/// it `new_password`, so point the client at the field it sent.
fn rename_password_field(err: hearth_app::AppError) -> ApiError {
    match err {
        hearth_app::AppError::Invalid(mut errors) => {
            for e in &mut errors {
                if e.field == "password" {
                    e.field = "new_password";
                }
            }
            hearth_app::AppError::Invalid(errors).into()
        }
        other => other.into(),
    }
}

/// One sign-in: where from, and when.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SignInView {
    ip: String,
    at: String,
}

/// The caller's recent sign-ins, newest first (kept for
/// `privacy.ip_retention_days`).
#[utoipa::path(
    get,
    path = "/api/v1/me/sign_ins",
    tag = "accounts",
    operation_id = "me_sign_ins",
    responses((status = 200, body = Vec<SignInView>)),
    security(("bearer" = []))
)]
pub async fn sign_ins(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
) -> Result<Json<Vec<SignInView>>, ApiError> {
    Ok(Json(
        state
            .app
            .my_sign_ins(&session)
            .await?
            .into_iter()
            .map(|s| SignInView {
                ip: s.ip,
                at: crate::views::timestamp(s.at),
            })
            .collect(),
    ))
}

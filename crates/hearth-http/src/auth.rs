//! Who is asking: the bearer-token extractors.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hearth_app::{AppError, Session};
use hearth_domain::Role;

use crate::ApiState;
use crate::problem::ApiError;

/// A request carrying a valid bearer token of an active account.
pub struct Authenticated(pub Session);

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or(AppError::Unauthenticated)?;
        let session = state.app.authenticate(token).await?;
        tracing::Span::current().record("account_id", session.account.id);
        Ok(Authenticated(session))
    }
}

/// Like [`Authenticated`], and the account is an admin.
pub struct Admin(pub Session);

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Authenticated(session) = Authenticated::from_request_parts(parts, state).await?;
        if !session.account.role.at_least(Role::Admin) {
            return Err(AppError::Forbidden("Only admins of this server can do this.").into());
        }
        Ok(Admin(session))
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

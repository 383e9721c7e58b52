//! The `/api/v1` routes. Handlers are thin: parse, call a use-case on
//! `hearth_app::App`, shape the answer.

mod admin;
mod auth;
mod federation;
pub(crate) mod groups;
mod me;
mod notifications;
mod posts;
mod system;

pub use federation::router as federation;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::ApiState;
use crate::rate_limit::limit_auth;

pub fn api(state: &ApiState) -> Router<ApiState> {
    let limited = Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route_layer(middleware::from_fn_with_state(state.clone(), limit_auth));
    Router::new()
        .route("/health", get(system::health))
        .route("/instance", get(system::instance))
        .merge(limited)
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(me::show).patch(me::update))
        .route("/me/password", post(me::change_password))
        .route("/admin/accounts", get(admin::list_accounts))
        .route("/admin/accounts/{id}/approve", post(admin::approve))
        .route("/admin/accounts/{id}/reject", post(admin::reject))
        .route("/admin/federation", get(admin::federation))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{name}", get(groups::show))
        .route("/groups/{name}/join", post(groups::join))
        .route("/groups/{name}/leave", post(groups::leave))
        .route("/groups/{name}/requests", get(groups::requests))
        .route(
            "/groups/{name}/requests/{id}/approve",
            post(groups::approve),
        )
        .route(
            "/groups/{name}/requests/{id}/decline",
            post(groups::decline),
        )
        .route(
            "/memberships",
            get(groups::my_memberships).post(groups::join_anywhere),
        )
        .route(
            "/memberships/{id}",
            axum::routing::delete(groups::leave_membership),
        )
        .route("/resolve", get(groups::resolve))
        .route("/posts", get(posts::timeline).post(posts::create))
        .route(
            "/posts/{id}",
            get(posts::show).patch(posts::edit).delete(posts::delete),
        )
        .route("/posts/{id}/replies", post(posts::reply))
        .route(
            "/posts/{id}/reactions/{reaction}",
            post(posts::react).delete(posts::unreact),
        )
        .route("/me/posts", get(posts::mine))
        .route("/notifications", get(notifications::list))
        .route("/notifications/unread", get(notifications::unread))
        .route("/notifications/read", post(notifications::mark_read))
        .route("/posts/{id}/remove", post(posts::remove))
}

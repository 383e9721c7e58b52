//! The web pages people use: server-rendered HTML from the same binary,
//! working without JavaScript. Every form carries a CSRF token; every page
//! is sent with a Content-Security-Policy that allows no script at all.
//!
//! Words follow `UI.md`: plain language, labels above fields, an error
//! summary at the top that links to each field, the message repeated next
//! to the field, and what the person typed kept.

mod assets;
mod forms;
mod groups;
mod layout;
mod manage;
mod notifications;
mod pages;
mod people;

use axum::Router;
use axum::routing::get;

use crate::ApiState;

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/signup", get(pages::signup_form).post(pages::signup))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/groups", get(pages::directory))
        .route(
            "/groups/new",
            get(manage::new_group_form).post(manage::new_group),
        )
        .route(
            "/groups/join",
            get(manage::join_elsewhere_form).post(manage::join_elsewhere),
        )
        .route("/groups/{name}", get(groups::group_page))
        .route("/groups/{name}/requests", get(manage::requests))
        .route(
            "/groups/{name}/requests/{id}/approve",
            axum::routing::post(manage::approve),
        )
        .route(
            "/groups/{name}/requests/{id}/decline",
            axum::routing::post(manage::decline),
        )
        .route("/settings", get(manage::settings))
        .route(
            "/settings/profile",
            axum::routing::post(manage::save_profile),
        )
        .route(
            "/settings/password",
            axum::routing::post(manage::change_password),
        )
        .route("/groups/{name}/join", axum::routing::post(groups::join))
        .route("/groups/{name}/leave", axum::routing::post(groups::leave))
        .route(
            "/groups/{name}/new",
            get(groups::new_post_form).post(groups::new_post),
        )
        .route("/posts/{id}", get(groups::thread_page))
        .route("/posts/{id}/reply", axum::routing::post(groups::reply))
        .route("/posts/{id}/react", axum::routing::post(groups::react))
        .route("/posts/{id}/delete", axum::routing::post(groups::delete))
        .route(
            "/posts/{id}/edit",
            get(groups::edit_post_form).post(groups::edit_post),
        )
        .route("/help", get(groups::help))
        .route("/people/{username}", get(people::profile))
        .route("/notifications", get(notifications::list))
        .route(
            "/notifications/read",
            axum::routing::post(notifications::mark_read),
        )
        .route("/posts/{id}/remove", axum::routing::post(groups::remove))
        .route(assets::STYLESHEET_ROUTE, get(assets::stylesheet))
}

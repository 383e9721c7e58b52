//! The web pages people use: server-rendered HTML from the same binary,
//! working without JavaScript. Every form carries a CSRF token; every page
//! is sent with a Content-Security-Policy that allows no script at all.
//!
//! Words follow `UI.md`: plain language, labels above fields, an error
//! summary at the top that links to each field, the message repeated next
//! to the field, and what the person typed kept.

mod assets;
mod forms;
mod layout;
mod pages;

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
        .route(assets::STYLESHEET_ROUTE, get(assets::stylesheet))
}

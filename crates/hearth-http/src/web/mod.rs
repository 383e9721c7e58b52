//! The web pages people use: server-rendered HTML from the same binary,
//! working without JavaScript. Every form carries a CSRF token; every page
//! is sent with a Content-Security-Policy that allows no script at all.
//! Their routes are in the one route table (`crate::routes`).
//!
//! Words follow `UI.md`: plain language, labels above fields, an error
//! summary at the top that links to each field, the message repeated next
//! to the field, and what the person typed kept.

pub(crate) mod admin;
pub(crate) mod admin_moderation;
pub(crate) mod api_docs;
pub(crate) mod assets;
pub(crate) mod bans;
pub(crate) mod care;
pub(crate) mod erasure;
pub(crate) mod export;
mod forms;
pub(crate) mod groups;
pub(crate) mod held;
mod layout;
pub(crate) mod manage;
pub(crate) mod moderation;
pub(crate) mod notifications;
pub(crate) mod pages;
pub(crate) mod people;
pub(crate) mod professionals;
pub(crate) mod removed;
pub(crate) mod setup;
pub(crate) mod sources;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::html;

use crate::ApiState;

/// The page a browser gets when a rate limit is reached.
pub(crate) fn too_many(state: &ApiState, headers: &HeaderMap, wait: u64) -> Response {
    let mut response = pages::page(
        state,
        headers,
        None,
        "Please wait",
        StatusCode::TOO_MANY_REQUESTS,
        |_| {
            html! {
                h1 { "Please wait a moment" }
                p { (crate::rate_limit::wait_message(wait)) }
            }
        },
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The account a browser is logged in as, if any (for routes outside the
/// pages that still answer browsers).
pub(crate) async fn browser_session(
    app: &hearth_app::App,
    headers: &HeaderMap,
) -> Option<hearth_app::Session> {
    forms::session(app, headers).await.map(|w| w.session)
}

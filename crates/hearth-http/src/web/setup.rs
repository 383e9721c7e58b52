//! The first-run page: `/setup/{token}`, the one-time link `hearth serve`
//! prints while the server has no admin. Whoever opens it creates the
//! first admin account and is logged in. Once any admin exists the page
//! is gone (404), whatever the link.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::AppError;
use hearth_app::accounts::{SETUP_LINK_LIFETIME, SetupLink};
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD};
use super::layout::{FieldError, error_summary, text_field};
use super::pages::{expired_form, field, page, redirect};
use crate::ApiState;

const TITLE: &str = "Set up this server";

fn setup_content(csrf: &str, token: &str, username: &str, errors: &[FieldError]) -> Markup {
    html! {
        (error_summary(errors))
        h1 { (TITLE) }
        p { "This server has no admin yet. Create the first admin account here. Admins look after the server and approve new members." }
        p { "This link works once. Keep your password somewhere safe." }
        form method="post" action=(format!("/setup/{token}")) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("username", "Admin username", "text", username, Some("Letters a to z, numbers and underscores. Others will see it."), errors, "username"))
            (text_field("password", "Password", "password", "", Some("At least 8 characters. A few words together is easy to remember."), errors, "new-password"))
            (text_field("confirm", "Type the password again", "password", "", None, errors, "new-password"))
            button type="submit" { "Create the admin account" }
        }
    }
}

/// The answer for a link that cannot be used: 404 either way, in words
/// that say what to do next.
fn unusable(state: &ApiState, headers: &HeaderMap, link: SetupLink) -> Response {
    let hours = SETUP_LINK_LIFETIME.num_hours();
    page(
        state,
        headers,
        None,
        TITLE,
        StatusCode::NOT_FOUND,
        |_| match link {
            SetupLink::AlreadySetUp => html! {
                h1 { "This server is already set up" }
                p { "It has an admin account. " a href="/login" { "Log in" } ", or ask the people who run this server for help." }
            },
            _ => html! {
                h1 { "This setup link does not work" }
                p { "It may have been used already, or it is more than " (hours) " hours old." }
                p { "To get a new link, restart the server. The link is shown when it starts." }
            },
        },
    )
}

fn form_page(
    state: &ApiState,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    username: &str,
    errors: &[FieldError],
) -> Response {
    page(state, headers, None, TITLE, status, |csrf| {
        setup_content(csrf, token, username, errors)
    })
}

/// Where a link stands; a database fault reads as an unusable link, and
/// is logged.
async fn link_state(state: &ApiState, token: &str) -> SetupLink {
    match state.app.setup_link(token).await {
        Ok(link) => link,
        Err(err) => {
            tracing::error!(error = %err, "setup page failed");
            SetupLink::Invalid
        }
    }
}

pub async fn setup_form(
    State(state): State<ApiState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    match link_state(&state, &token).await {
        SetupLink::Valid => form_page(&state, &headers, StatusCode::OK, &token, "", &[]),
        other => unusable(&state, &headers, other),
    }
}

pub async fn setup(
    State(state): State<ApiState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let link = link_state(&state, &token).await;
    if link != SetupLink::Valid {
        return unusable(&state, &headers, link);
    }
    let username = field(&form, "username").trim().to_owned();
    let fail = |errors: Vec<FieldError>| {
        form_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &username,
            &errors,
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(vec![expired_form()]);
    }
    let password = field(&form, "password");
    // Check every field, so each problem shows at once.
    let mut errors: Vec<FieldError> =
        match hearth_app::accounts::check_only(hearth_app::accounts::Registration {
            username: username.clone(),
            password: password.to_owned(),
            ..Default::default()
        }) {
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .map(|e| FieldError {
                    field: e.field.to_owned(),
                    message: e.message,
                })
                .collect(),
            _ => Vec::new(),
        };
    if field(&form, "confirm") != password {
        errors.push(FieldError {
            field: "confirm".into(),
            message: "The two passwords are not the same. Type them again.".into(),
        });
    }
    if !errors.is_empty() {
        return fail(errors);
    }
    match state.app.first_admin(&token, &username, password).await {
        Ok(logged_in) => {
            let max_age = i64::from(state.app.config.auth.token_lifetime_days) * 86_400;
            let cookie =
                forms::set_cookie(&state.app, forms::SESSION_COOKIE, &logged_in.token, max_age);
            redirect("/", &[cookie])
        }
        Err(err @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            fail(super::pages::account_form_errors(err))
        }
        // Used by another request a moment ago, or the server was set up
        // meanwhile: say which.
        Err(AppError::NotFound { .. }) => {
            let link = link_state(&state, &token).await;
            unusable(&state, &headers, link)
        }
        Err(err) => {
            tracing::error!(error = %err, "setup page failed");
            fail(vec![FieldError {
                field: "main".into(),
                message: "Something went wrong on our side. Please try again in a moment.".into(),
            }])
        }
    }
}

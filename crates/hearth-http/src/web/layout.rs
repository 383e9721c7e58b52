//! The frame every page shares, and the pieces forms are built from.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::assets::stylesheet_path;
use super::forms::CSRF_FIELD;

/// No script at all; styles and images only from this server; forms only
/// post here; the page cannot be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The admins' pages, linked from the header.
const ADMIN_PAGES: [(&str, &str); 6] = [
    ("/admin/federation", "Connected servers"),
    ("/admin/professionals", "Verified professionals"),
    ("/admin/bans", "Server bans"),
    ("/admin/log", "Server moderation log"),
    ("/admin/audit", "Who read members' data"),
    ("/admin/erasures", "Deleted accounts and posts"),
];

/// What the frame needs to know about who is looking.
pub struct Viewer<'a> {
    pub username: Option<&'a str>,
    /// An admin of this server: the header links to the admins' pages.
    pub admin: bool,
    /// Unread notifications.
    pub unread: u64,
    pub csrf: &'a str,
}

pub struct Page<'a> {
    pub instance: &'a str,
    pub title: &'a str,
    pub viewer: Viewer<'a>,
    pub content: Markup,
}

pub fn render(page: Page<'_>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " – " (page.instance) }
                link rel="stylesheet" href=(stylesheet_path());
            }
            body {
                a class="skip-link" href="#main" { "Skip to main content" }
                header class="site" {
                    div class="bar" {
                        a class="site-name" href="/" { (page.instance) }
                        nav aria-label="Main" {
                            ul {
                                li { a href="/groups" { "Groups" } }
                                @if let Some(name) = page.viewer.username {
                                    li {
                                        a href="/notifications" {
                                            "Notifications"
                                            @if page.viewer.unread > 0 {
                                                " " span class="badge" { (page.viewer.unread) span class="visually-hidden" { " unread" } }
                                            }
                                        }
                                    }
                                    li { a href=(format!("/people/{name}")) { "Your profile" } }
                                    li { a href="/me/reports" { "Your reports" } }
                                    @if page.viewer.admin {
                                        li { a href="/moderation/reports" { "Reports" } }
                                        @for (path, label) in ADMIN_PAGES {
                                            li { a href=(path) { (label) } }
                                        }
                                    }
                                    li { a href="/me/export" { "Download your data" } }
                                    li { a href="/settings" { "Settings" } }
                                    li {
                                        form method="post" action="/logout" {
                                            input type="hidden" name=(CSRF_FIELD) value=(page.viewer.csrf);
                                            button class="link" type="submit" { "Log out" }
                                        }
                                    }
                                } @else {
                                    li { a href="/login" { "Log in" } }
                                    li { a href="/signup" { "Sign up" } }
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    (page.content)
                }
                footer class="site" {
                    div class="bar" {
                        p { "Your posts stay on this server unless you share them with a group." }
                    }
                }
            }
        }
    }
}

/// An HTML response with the security headers every page carries.
pub fn respond(markup: Markup, status: axum::http::StatusCode, set_cookies: &[String]) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    for cookie in set_cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// One problem with one field, for the summary and the field itself.
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The GOV.UK-style summary at the top of a form, linking to each field.
pub fn error_summary(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" {
                h2 id="error-summary-title" { "There is a problem" }
                ul {
                    @for e in errors {
                        li { a href=(format!("#{}", e.field)) { (e.message) } }
                    }
                }
            }
        }
    }
}

/// A labelled text input with its hint and error, keeping `value`.
pub fn text_field(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    hint: Option<&str>,
    errors: &[FieldError],
    autocomplete: &str,
) -> Markup {
    let error = error_for(name, errors);
    html! {
        div class=(if error.is_some() { "field has-error" } else { "field" }) {
            label for=(name) { (label) }
            @if let Some(h) = hint { p class="hint" id=(format!("{name}-hint")) { (h) } }
            (error_message(name, error))
            input type=(kind) id=(name) name=(name) value=(value) autocomplete=(autocomplete)
                aria-describedby=[described_by(name, hint.is_some(), error.is_some())]
                aria-invalid=[error.map(|_| "true")];
        }
    }
}

/// The error of field `name`, if any.
fn error_for<'e>(name: &str, errors: &'e [FieldError]) -> Option<&'e FieldError> {
    errors.iter().find(|e| e.field == name)
}

/// The ids a control is described by: its hint and its error.
fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [
        hint.then(|| format!("{name}-hint")),
        error.then(|| format!("{name}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn error_message(name: &str, error: Option<&FieldError>) -> Markup {
    html! {
        @if let Some(e) = error {
            p class="error-message" id=(format!("{name}-error")) {
                span class="visually-hidden" { "Error: " } (e.message)
            }
        }
    }
}

/// A labelled text area with its hint and error, keeping `value`. `id` is
/// the control's id (and the field an error names); `name` is what the
/// form sends.
pub fn text_area(
    id: &str,
    name: &str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    errors: &[FieldError],
    rows: u32,
) -> Markup {
    let error = error_for(id, errors);
    html! {
        div class=(if error.is_some() { "field has-error" } else { "field" }) {
            label for=(id) { (label) }
            @if let Some(h) = hint { p class="hint" id=(format!("{id}-hint")) { (h) } }
            (error_message(id, error))
            textarea id=(id) name=(name) rows=(rows)
                aria-describedby=[described_by(id, hint.is_some(), error.is_some())]
                aria-invalid=[error.map(|_| "true")] { (value) }
        }
    }
}

/// A group of radio buttons under a legend, with its hint and error. Each
/// choice is `(value, label)`; the button of `chosen` is checked. The
/// fieldset's id is `name`, so the error summary can link to it.
pub fn radios(
    name: &str,
    legend: &str,
    choices: &[(&str, &str)],
    chosen: &str,
    hint: Option<&str>,
    errors: &[FieldError],
) -> Markup {
    let error = error_for(name, errors);
    html! {
        fieldset class=(if error.is_some() { "field has-error" } else { "field" }) id=(name)
            aria-describedby=[described_by(name, hint.is_some(), error.is_some())] {
            legend { (legend) }
            @if let Some(h) = hint { p class="hint" id=(format!("{name}-hint")) { (h) } }
            (error_message(name, error))
            @for (value, label) in choices {
                div class="checkbox" {
                    input type="radio" id=(format!("{name}-{value}")) name=(name) value=(value) checked[chosen == *value];
                    label for=(format!("{name}-{value}")) { (label) }
                }
            }
        }
    }
}

/// A date and time as pages show it.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

/// Radio buttons under a legend where each choice carries its own plain
/// sentence beside it (who will read a post, what a setting does), so the
/// consequence of each is read before choosing, without JavaScript. Each
/// choice is `(value, label, sentence)`; control ids are `{prefix}-{value}`
/// and the fieldset's id is `name` (the field an error names).
pub fn explained_radios(
    name: &str,
    prefix: &str,
    legend: &str,
    choices: &[(&str, &str, String)],
    chosen: &str,
    hint: Option<&str>,
    errors: &[FieldError],
) -> Markup {
    let error = error_for(name, errors);
    html! {
        fieldset class=(if error.is_some() { "field has-error" } else { "field" }) id=(name)
            aria-describedby=[described_by(name, hint.is_some(), error.is_some())] {
            legend { (legend) }
            @if let Some(h) = hint { p class="hint" id=(format!("{name}-hint")) { (h) } }
            (error_message(name, error))
            @for (value, label, sentence) in choices {
                div class="checkbox" {
                    input type="radio" id=(format!("{prefix}-{value}")) name=(name) value=(value)
                        checked[chosen == *value] aria-describedby=(format!("{prefix}-{value}-says"));
                    div {
                        label for=(format!("{prefix}-{value}")) { (label) }
                        p class="hint" id=(format!("{prefix}-{value}-says")) { (sentence) }
                    }
                }
            }
        }
    }
}

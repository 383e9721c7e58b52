//! "Download your data": a member's page to take their data away, with
//! the audit log's lines about them, and the admins' page of the whole
//! audit log. `hearth_app::export` decides who may; these pages only show.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::AppError;
use hearth_app::export::AuditEntry;
use maud::{Markup, html};

use super::forms;
use super::layout::when;
use super::moderation::{PAGE_SIZE, PageQuery, older_than, only_for};
use super::pages::{page, redirect_to};
use crate::ApiState;

const MINE: &str = "/me/export";
const TITLE: &str = "Download your data";
const AUDIT: &str = "/admin/audit";
const AUDIT_TITLE: &str = "Who read members' data";

fn entries(lines: &[AuditEntry], about_you: bool) -> Markup {
    html! {
        ul class="cards" {
            @for e in lines {
                li {
                    p {
                        strong { (e.actor_name) }
                        @if about_you { " " (e.action.about_you()) } @else { " " (e.action.about_member()) " " strong { (e.subject_name) } }
                        " on " (when(e.created_at)) "."
                    }
                    @if !e.reason.is_empty() { p { "Reason given: \u{201c}" (e.reason) "\u{201d}" } }
                }
            }
        }
    }
}

/// The member's page: what the download holds, the button, and who else
/// downloaded their data.
pub async fn mine(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let lines = match state
        .app
        .my_audit_log(&session.session, None, PAGE_SIZE)
        .await
    {
        Ok(lines) => lines,
        Err(err) => {
            tracing::error!(error = %err, "own audit log failed");
            Vec::new()
        }
    };
    page(
        &state,
        &headers,
        Some(&session),
        TITLE,
        StatusCode::OK,
        |_| {
            html! {
                h1 { (TITLE) }
                p { "You can download a copy of everything you have put on this server, to keep or to take to another service." }
                p { "It holds:" }
                ul {
                    li { "your profile" }
                    li { "your posts and replies, with the group each one is in, including posts waiting for a moderator and posts a moderator removed, while this server still keeps them" }
                    li { "your reactions" }
                    li { "the groups you belong to, here and on other servers" }
                    li { "your notifications" }
                }
                p { "It does not hold what other people wrote. Where you replied to someone, it gives the address of their post, not their words. Posts you deleted are not in it." }
                p { "The download is a .zip file. Open " code { "index.html" } " in it to read it in your browser. The other files are for apps." }
                form method="get" action=(format!("{MINE}/download")) {
                    button type="submit" { "Download your data" }
                }
                h2 { "Who else read your data" }
                @if lines.is_empty() {
                    p { "Nobody who runs this server has downloaded or read your private data." }
                } @else {
                    p { "The people who run this server can download a member's data, for example when asked to by law, and read account details such as your e-mail address. Moderators can read posts of yours they removed. Each time, it is written here." }
                    (entries(&lines, true))
                }
            }
        },
    )
}

/// The download itself, with the session cookie.
pub async fn download(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    match state.app.export_mine(&session.session).await {
        Ok(export) => crate::routes::export::download(&export),
        Err(err) => {
            tracing::error!(error = %err, "export failed");
            page(
                &state,
                &headers,
                Some(&session),
                TITLE,
                StatusCode::INTERNAL_SERVER_ERROR,
                |_| {
                    html! {
                        h1 { (TITLE) }
                        p { "Sorry, your data could not be put together just now. Please try again later." }
                    }
                },
            )
        }
    }
}

/// Admins: the whole audit log, newest first.
pub async fn audit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    // The use-case refuses anyone but an admin.
    let lines = match state
        .app
        .audit_log(&session.session, q.before(), PAGE_SIZE)
        .await
    {
        Ok(lines) => lines,
        Err(AppError::Forbidden(_)) => {
            return only_for(
                &state,
                &headers,
                &session,
                AUDIT_TITLE,
                "the people who run this server",
            );
        }
        Err(err) => {
            tracing::error!(error = %err, "audit log failed");
            Vec::new()
        }
    };
    let older = older_than(lines.len(), lines.last().map(|e| e.id));
    page(
        &state,
        &headers,
        Some(&session),
        AUDIT_TITLE,
        StatusCode::OK,
        |_| {
            html! {
                h1 { (AUDIT_TITLE) }
                p { "Each time someone who runs this server downloaded a member's data or read their private details, and each time a moderator read a member's removed posts, newest first (once an hour per member). The member sees the lines about them too." }
                @if lines.is_empty() { p { "Nobody has read a member's private data." } }
                @else { (entries(&lines, false)) }
                @if let Some(before) = older { p { a href=(format!("{AUDIT}?before={before}")) { "Older" } } }
            }
        },
    )
}

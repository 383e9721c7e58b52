//! The removed posts of a group, for its moderators: what was removed,
//! why and by whom, while its words are still kept, and a way to bring
//! one back. `hearth_app` decides who may (`App::removed_posts`,
//! `App::restore_post`); this page only shows and asks.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::groups::GroupView;
use hearth_app::posts::Author;
use hearth_app::records::{Post, PostKind, Removed};
use hearth_app::{AppError, Origin};
use maud::{Markup, PreEscaped, html};

use super::bans::moderated_group;
use super::forms::{self, CSRF_FIELD, WebSession};
use super::layout::{FieldError, error_summary, text_area, when};
use super::moderation::{expired, one_error, only_for, person};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

const TITLE: &str = "Removed posts";
const WHO: &str = "the group's moderators";

/// `?done=` after something was done on the page.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn reason_id(post: i64) -> String {
    format!("restore-reason-{post}")
}

fn heading_id(post: i64) -> String {
    format!("removed-{post}")
}

/// The unknown author of a post, by their id.
fn stranger(ap_id: &str) -> Author {
    Author {
        handle: ap_id.to_owned(),
        display_name: ap_id.to_owned(),
        url: ap_id.to_owned(),
        local: false,
        professional: None,
    }
}

/// What a form sent, kept to show again with its problem.
#[derive(Default)]
struct Asked<'a> {
    errors: &'a [FieldError],
    /// The reason typed for bringing back the post with this id.
    typed: Option<(i64, &'a str)>,
}

fn removed_item(
    (post, kept): (&Post, &Removed),
    (author, moderator): (&Author, &Author),
    path: &str,
    csrf: &str,
    asked: &Asked<'_>,
) -> Markup {
    let typed = asked
        .typed
        .filter(|(id, _)| *id == post.id)
        .map(|(_, t)| t)
        .unwrap_or("");
    let errors = asked.errors;
    let body = html! {
        (PreEscaped(kept.content_html.clone()))
        @if let Some(link) = &kept.link { p { a href=(link) rel="nofollow noopener noreferrer ugc" { (link) } } }
    };
    html! {
        li aria-labelledby=(heading_id(post.id)) {
            h2 id=(heading_id(post.id)) {
                @if post.kind == PostKind::Thread { (kept.title) } @else { "A reply" }
            }
            p class="hint" {
                "By " (person(author)) @if !author.local { " · from another server" }
                " · removed " (when(kept.removed_at)) " by " (person(moderator))
            }
            p { "Reason: \u{201c}" (kept.reason) "\u{201d}" }
            @if let Some(cw) = &kept.content_warning {
                details { summary { "Content warning: " (cw) " (open to read)" } (body) }
            } @else {
                details { summary { "Show what was removed" } (body) }
            }
            form method="post" action=(format!("{path}/removed/{}/restore", post.id)) novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                (text_area(&reason_id(post.id), "reason", "Why bring it back? (optional)", typed,
                    Some("It goes in the group's moderation log. The author is told that their post is back."),
                    errors, 2))
                button type="submit" { "Bring it back" }
            }
        }
    }
}

async fn show(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    view: &GroupView,
    status: StatusCode,
    notice: Option<&str>,
    asked: &Asked<'_>,
) -> Response {
    let removed = match state.app.removed_posts(session, &view.slug).await {
        Ok(removed) => removed,
        Err(AppError::Forbidden(_)) => return only_for(state, headers, session, TITLE, WHO),
        Err(err) => {
            tracing::error!(error = %err, "removed posts page failed");
            Vec::new()
        }
    };
    let mut people: Vec<Post> = removed.iter().map(|(p, _)| p.clone()).collect();
    // The moderators, as authors of nothing: looked up the same way.
    for (post, kept) in &removed {
        let mut by = post.clone();
        by.author_ap_id = kept.removed_by.clone();
        people.push(by);
    }
    let authors = state.app.authors(&people).await.unwrap_or_default();
    let who = |id: &str| authors.get(id).cloned().unwrap_or_else(|| stranger(id));
    let days = state.app.config.moderation.removed_kept_days;
    let path = format!("/groups/{}", view.slug);
    page(state, headers, Some(session), TITLE, status, |csrf| {
        html! {
            (error_summary(asked.errors))
            h1 { "Removed posts in " (view.title) }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            p {
                "Nobody but the group's moderators can read these posts. Their words are kept for "
                (days) " days after they were removed, so that a removal made by mistake can be undone; "
                "then they are erased for good. If the author deletes their post, it is erased at once."
            }
            @if removed.is_empty() {
                p { "No removed posts are kept." }
            } @else {
                ul class="cards" {
                    @for (post, kept) in &removed {
                        (removed_item((post, kept), (&who(&post.author_ap_id), &who(&kept.removed_by)), &path, csrf, asked))
                    }
                }
            }
            p { a href=(format!("{path}/log")) { "Moderation log" } }
            p { a href=(path) { "Back to the group" } }
        }
    })
}

pub async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, TITLE).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = match q.done.as_deref() {
        Some("restored") => Some(
            "Done. The post is back in the group, on every server that carries it, and its author is told.",
        ),
        Some("gone") => Some(
            "That post can no longer be brought back: another moderator did it already, its author deleted it, or it was kept long enough.",
        ),
        _ => None,
    };
    show(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::OK,
        notice,
        &Asked::default(),
    )
    .await
}

pub async fn restore(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, TITLE).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = format!("/groups/{}/removed", view.slug);
    let Ok(id) = id.parse::<i64>() else {
        return redirect_to(&format!("{back}?done=gone"));
    };
    let reason = field(&form, "reason");
    let field_id = reason_id(id);
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired(&field_id)
    } else {
        match state
            .app
            .restore_post(&Origin::local(&session), id, reason)
            .await
        {
            Ok(()) => return redirect_to(&format!("{back}?done=restored")),
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .map(|e| FieldError {
                    field: field_id.clone(),
                    message: e.message,
                })
                .collect(),
            Err(AppError::NotFound { .. }) => return redirect_to(&format!("{back}?done=gone")),
            Err(AppError::Forbidden(_)) => {
                return only_for(&state, &headers, &session, TITLE, WHO);
            }
            Err(err) => {
                tracing::error!(error = %err, "bringing a post back from the web failed");
                one_error(
                    &field_id,
                    "Something went wrong on our side. Nothing was changed. Please try again in a moment.",
                )
            }
        }
    };
    show(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        &Asked {
            errors: &errors,
            typed: Some((id, reason)),
        },
    )
    .await
}

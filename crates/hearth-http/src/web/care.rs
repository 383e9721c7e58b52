//! Care pages of a group: its peer mentors (named and un-named by its
//! moderators) and the new members view (for its mentors and moderators),
//! plus the guidance box shown beside the compose form and on the group
//! page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::care::GroupGuidance;
use hearth_app::groups::GroupView;
use hearth_app::{AppError, Origin};
use maud::{Markup, PreEscaped, html};

use super::bans::moderated_group;
use super::forms::{self, CSRF_FIELD, WebSession};
use super::groups::not_found;
use super::layout::{FieldError, error_summary, text_field, when};
use super::moderation::{expired, one_error, only_for};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = axum::Form<std::collections::HashMap<String, String>>;

/// The group's rules and support guide, as a box (nothing when it has
/// none). Both are HTML sanitised on the way in.
pub(super) fn guidance_box(guidance: &GroupGuidance, heading_id: &str, title: &str) -> Markup {
    html! {
        @if !guidance.is_empty() {
            section class="guidance" aria-labelledby=(heading_id) {
                h2 id=(heading_id) { (title) }
                @if !guidance.guide_html.is_empty() {
                    h3 { "How to give support here" }
                    div class="guide" { (PreEscaped(guidance.guide_html.clone())) }
                }
                @if !guidance.rules_html.is_empty() {
                    h3 { "Group rules" }
                    div class="rules" { (PreEscaped(guidance.rules_html.clone())) }
                }
            }
        }
    }
}

// ---- peer mentors -----------------------------------------------------------

async fn show_mentors(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    view: &GroupView,
    status: StatusCode,
    person: &str,
    errors: &[FieldError],
) -> Response {
    let mentors = state.app.mentors(&view.group).await.unwrap_or_else(|err| {
        tracing::error!(error = %err, "mentors page failed");
        Vec::new()
    });
    let path = format!("/groups/{}", view.slug);
    page(
        state,
        headers,
        Some(session),
        "Peer mentors",
        status,
        |csrf| {
            html! {
                (error_summary(errors))
                h1 { "Peer mentors of " (view.title) }
                p { "Peer mentors are experienced members who help newcomers. Their posts in this group show \u{201c}Peer mentor\u{201d} beside their name, on every server. They see the first posts of new members first." }
                @if mentors.is_empty() {
                    p { "This group has no peer mentors yet." }
                } @else {
                    ul class="cards" {
                        @for m in &mentors {
                            li {
                                (m.display_name) " (" (m.handle) ")"
                                form method="post" action=(format!("{path}/mentors/remove")) {
                                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                    input type="hidden" name="person" value=(m.handle);
                                    button class="secondary" type="submit" {
                                        "Remove" span class="visually-hidden" { " " (m.handle) " as peer mentor" }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Name a peer mentor" }
                form method="post" action=(format!("{path}/mentors")) novalidate {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    (text_field("person", "Their username", "text", person,
                        Some("A member of the group: their username here, or name@server for someone on another server."), errors, "off"))
                    button type="submit" { "Make them a peer mentor" }
                }
                p { a href=(path) { "Back to the group" } }
            }
        },
    )
}

pub async fn mentors(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Peer mentors").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show_mentors(&state, &headers, &session, &view, StatusCode::OK, "", &[]).await
}

pub async fn add_mentor(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    axum::Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Peer mentors").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let person = field(&form, "person").trim().trim_start_matches('@');
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("person")
    } else if person.is_empty() {
        one_error("person", "Enter the username of the member to name")
    } else {
        match state
            .app
            .set_mentor(&Origin::local(&session), &view.slug, person, true)
            .await
        {
            Ok(()) => return redirect_to(&format!("/groups/{}/mentors", view.slug)),
            Err(AppError::NotFound { .. }) => one_error(
                "person",
                format!("We could not find \u{201c}{person}\u{201d}. Check the name."),
            ),
            Err(AppError::Invalid(_)) => one_error(
                "person",
                "Only a member of the group can be a peer mentor. Ask them to join the group first.",
            ),
            Err(AppError::Forbidden(_)) => {
                return only_for(
                    &state,
                    &headers,
                    &session,
                    "Peer mentors",
                    "the group's moderators",
                );
            }
            Err(err) => {
                tracing::error!(error = %err, "naming a mentor from the web failed");
                one_error(
                    "person",
                    "Something went wrong on our side. Nothing was changed. Please try again in a moment.",
                )
            }
        }
    };
    show_mentors(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        person,
        &errors,
    )
    .await
}

pub async fn remove_mentor(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    axum::Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Peer mentors").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .set_mentor(
                &Origin::local(&session),
                &view.slug,
                field(&form, "person"),
                false,
            )
            .await
    {
        tracing::info!(error = %err, "un-naming a mentor from the web refused");
    }
    redirect_to(&format!("/groups/{}/mentors", view.slug))
}

// ---- new members --------------------------------------------------------------

/// The first posts of the group's new members, for its mentors and
/// moderators: those nobody answered first.
pub async fn newcomers(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let view = match state.app.group_view(Some(&*session), &name).await {
        Ok(view) if view.elsewhere.is_none() => view,
        _ => return not_found(&state, &headers, Some(&session)),
    };
    let posts = match state.app.newcomers(&session, &view.slug).await {
        Ok(posts) => posts,
        Err(AppError::Forbidden(_)) => {
            return only_for(
                &state,
                &headers,
                &session,
                "New members",
                "the group's peer mentors and moderators",
            );
        }
        Err(err) => {
            tracing::error!(error = %err, "new members page failed");
            Vec::new()
        }
    };
    let authors = state
        .app
        .authors(&posts.iter().map(|n| n.post.clone()).collect::<Vec<_>>())
        .await
        .unwrap_or_default();
    let path = format!("/groups/{}", view.slug);
    page(
        &state,
        &headers,
        Some(&session),
        "New members",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "New members of " (view.title) }
                p { "The first posts of people who joined in the last 30 days. Posts nobody has answered yet come first." }
                @if posts.is_empty() {
                    p { "No new members have posted yet." }
                } @else {
                    ul class="cards" {
                        @for n in &posts {
                            @let who = authors.get(&n.post.author_ap_id);
                            li {
                                a href=(format!("/posts/{}", n.post.root_id.unwrap_or(n.post.id))) {
                                    strong { @if n.post.title.is_empty() { "A reply" } @else { (n.post.title) } }
                                }
                                br;
                                span class="hint" {
                                    "By " (who.map(|a| a.handle.as_str()).unwrap_or(""))
                                    " · joined " (when(n.joined_at))
                                    " · written " (when(n.post.published_at))
                                }
                                @if n.unanswered { p { span class="tag" { "No reply yet" } } }
                            }
                        }
                    }
                }
                p { a href=(path) { "Back to the group" } }
            }
        },
    )
}

// ---- helpful replies ------------------------------------------------------------

async fn set_helpful(
    state: ApiState,
    headers: HeaderMap,
    id: String,
    form: std::collections::HashMap<String, String>,
    helpful: bool,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&state, &headers, Some(&session));
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .mark_helpful(&Origin::local(&session), id, helpful)
            .await
    {
        // The thread page shows how things stand.
        tracing::info!(error = %err, helpful, "marking a reply from the web refused");
    }
    redirect_to(&format!("/posts/{id}"))
}

/// Moderators: mark a reply helpful.
pub async fn mark_helpful(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): FormData,
) -> Response {
    set_helpful(state, headers, id, form, true).await
}

/// Moderators: take a reply's helpful mark back.
pub async fn unmark_helpful(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): FormData,
) -> Response {
    set_helpful(state, headers, id, form, false).await
}

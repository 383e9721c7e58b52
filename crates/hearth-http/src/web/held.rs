//! Pre-moderation pages for a group's moderators: the posts waiting for
//! them (oldest first), letting one through or turning it down with a
//! reason for its author, and which posts wait at all (from new members,
//! from some servers). The use-cases of `hearth_app::moderation` decide who
//! may; each post shown is looked up again through the read rule, as its
//! reader (the moderator) may see it.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::groups::GroupView;
use hearth_app::moderation::Premoderation;
use hearth_app::posts::Author;
use hearth_app::records::{Post, PostKind};
use hearth_app::{AppError, Origin};
use maud::{Markup, PreEscaped, html};

use super::bans::moderated_group;
use super::forms::{self, CSRF_FIELD, WebSession};
use super::layout::{FieldError, error_summary, text_area, when};
use super::moderation::{expired, one_error, only_for, person};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

const TITLE: &str = "Posts waiting for a moderator";
const WHO: &str = "the group's moderators";

/// `?done=` after something was done on the page.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// One waiting post with what the page shows beside it.
struct Waiting {
    post: Post,
    author: Author,
    /// For a reply: its thread's id and title, when the moderator may
    /// read it.
    thread: Option<(i64, String)>,
}

/// What a form sent, kept to show again with its problem.
#[derive(Default)]
struct Kept<'a> {
    errors: Vec<FieldError>,
    /// The reason typed for turning down the post with this id.
    reason: Option<(i64, &'a str)>,
    /// The settings form as sent.
    settings: Option<&'a HashMap<String, String>>,
}

fn reason_id(post: i64) -> String {
    format!("reason-{post}")
}

fn heading_id(post: i64) -> String {
    format!("held-{post}")
}

/// A waiting post's words, folded behind its content warning as the
/// thread page does.
fn words(post: &Post) -> Markup {
    let body = html! {
        (PreEscaped(post.content_html.clone()))
        @if let Some(link) = &post.link { p { a href=(link) rel="nofollow noopener noreferrer ugc" { (link) } } }
    };
    html! {
        @if let Some(cw) = &post.content_warning {
            details {
                summary { "Content warning: " (cw) " (open to read)" }
                (body)
            }
        } @else {
            (body)
        }
    }
}

fn waiting_item(w: &Waiting, path: &str, csrf: &str, kept: &Kept<'_>) -> Markup {
    let post = &w.post;
    let id = reason_id(post.id);
    let typed = kept
        .reason
        .filter(|(p, _)| *p == post.id)
        .map(|(_, text)| text)
        .unwrap_or("");
    html! {
        li aria-labelledby=(heading_id(post.id)) {
            h2 id=(heading_id(post.id)) {
                @if post.kind == PostKind::Thread {
                    (post.title)
                } @else {
                    @match &w.thread {
                        Some((_, title)) => { "A reply in \u{201c}" (title) "\u{201d}" }
                        None => { "A reply" }
                    }
                }
            }
            p class="hint" {
                "By " (person(&w.author))
                @if !w.author.local { " · from another server" }
                " · written " (when(post.published_at))
            }
            @if let Some((thread, title)) = &w.thread {
                p { "It answers " a href=(format!("/posts/{thread}")) { (title) } "." }
            }
            (words(post))
            div class="actions" {
                form method="post" action=(format!("{path}/held/{}/approve", post.id)) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    button type="submit" { "Let it through" }
                }
            }
            form method="post" action=(format!("{path}/held/{}/reject", post.id)) novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                (text_area(&id, "reason", "If you turn it down, say why", typed,
                    Some(if w.author.local {
                        "Its author is told this reason. It also goes in the group's moderation log."
                    } else {
                        "Its author is on another server: their server is told, with this reason. It also goes in the group's moderation log."
                    }),
                    &kept.errors, 2))
                button class="warning" type="submit" { "Turn it down" }
            }
        }
    }
}

fn settings_form(path: &str, csrf: &str, now: &Premoderation, kept: &Kept<'_>) -> Markup {
    let (days, servers) = match kept.settings {
        Some(form) => (
            field(form, "new_member_days").to_owned(),
            field(form, "servers").to_owned(),
        ),
        None => (now.new_member_days.to_string(), now.servers.join("\n")),
    };
    let days_error = kept.errors.iter().find(|e| e.field == "new_member_days");
    let days_described = if days_error.is_some() {
        "new_member_days-hint new_member_days-error"
    } else {
        "new_member_days-hint"
    };
    html! {
        h2 id="which-posts-wait" { "Which posts wait" }
        p {
            "A post that waits is seen by nobody but its author and the group's moderators, until a moderator lets it through. "
            "If a moderator turns it down, its author is told why. Posts by the group's moderators never wait."
        }
        form method="post" action=(format!("{path}/premoderation")) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            div class=(if days_error.is_some() { "field has-error" } else { "field" }) {
                label for="new_member_days" { "Hold posts from members who joined less than this many days ago" }
                p class="hint" id="new_member_days-hint" { "A number of days, such as 7. Enter 0 so that nobody's posts wait for being new." }
                @if let Some(e) = days_error {
                    p class="error-message" id="new_member_days-error" { span class="visually-hidden" { "Error: " } (e.message) }
                }
                input type="text" inputmode="numeric" id="new_member_days" name="new_member_days" value=(days)
                    autocomplete="off" aria-describedby=(days_described) aria-invalid=[days_error.map(|_| "true")];
            }
            (text_area("servers", "servers", "Hold posts from people on these servers", &servers,
                Some("One server on each line, such as example.org. Leave it empty so that nobody's posts wait because of their server."),
                &kept.errors, 3))
            button type="submit" { "Save which posts wait" }
        }
    }
}

fn held_content(
    view: &GroupView,
    waiting: &[Waiting],
    now: &Premoderation,
    csrf: &str,
    notice: Option<&str>,
    kept: &Kept<'_>,
) -> Markup {
    let path = format!("/groups/{}", view.slug);
    html! {
        (error_summary(&kept.errors))
        h1 { "Posts waiting in " (view.title) }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        p { "Nobody but their authors and the group's moderators sees these posts until a moderator lets them through. A post turned down is never shown, and its author is told your reason." }
        @if waiting.is_empty() {
            p { "No posts are waiting. Thank you for looking after your group." }
        } @else {
            ul class="cards" {
                @for w in waiting { (waiting_item(w, &path, csrf, kept)) }
            }
        }
        (settings_form(&path, csrf, now, kept))
        p { a href=(format!("{path}/log")) { "Moderation log" } }
        p { a href=(path) { "Back to the group" } }
    }
}

/// The posts of the group waiting for this moderator, each through the
/// read rule; `Err` with the page to send when they may not see them.
async fn waiting_posts(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    view: &GroupView,
) -> Result<Vec<Waiting>, Response> {
    let held = match state.app.held_posts(session, &view.slug).await {
        Ok(held) => held,
        Err(AppError::Forbidden(_)) => {
            return Err(only_for(state, headers, session, TITLE, WHO));
        }
        Err(err) => {
            tracing::error!(error = %err, "held posts page failed");
            Vec::new()
        }
    };
    let mut readable = Vec::with_capacity(held.len());
    for post in held {
        if let Ok((post, _)) = state.app.readable_post(Some(session), post.id).await {
            readable.push(post);
        }
    }
    let authors = state.app.authors(&readable).await.unwrap_or_default();
    let mut threads: HashMap<i64, Option<String>> = HashMap::new();
    let mut waiting = Vec::with_capacity(readable.len());
    for post in readable {
        let thread = if post.kind == PostKind::Thread {
            None
        } else {
            let root = post.thread_id();
            let title = match threads.get(&root) {
                Some(title) => title.clone(),
                None => {
                    let title = state
                        .app
                        .readable_post(Some(session), root)
                        .await
                        .ok()
                        .filter(|(p, _)| !p.is_deleted())
                        .map(|(p, _)| p.title);
                    threads.insert(root, title.clone());
                    title
                }
            };
            title.map(|title| (root, title))
        };
        let author = authors
            .get(&post.author_ap_id)
            .cloned()
            .unwrap_or_else(|| Author {
                handle: post.author_ap_id.clone(),
                display_name: post.author_ap_id.clone(),
                url: post.author_ap_id.clone(),
                local: false,
                professional: None,
            });
        waiting.push(Waiting {
            post,
            author,
            thread,
        });
    }
    Ok(waiting)
}

async fn show_held(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    view: &GroupView,
    status: StatusCode,
    notice: Option<&str>,
    kept: &Kept<'_>,
) -> Response {
    let waiting = match waiting_posts(state, headers, session, view).await {
        Ok(waiting) => waiting,
        Err(response) => return response,
    };
    let now = match state.app.premoderation(session, &view.slug).await {
        Ok(now) => now,
        Err(err) => {
            tracing::error!(error = %err, "pre-moderation settings failed");
            Premoderation {
                new_member_days: 0,
                servers: Vec::new(),
            }
        }
    };
    page(state, headers, Some(session), TITLE, status, |csrf| {
        held_content(view, &waiting, &now, csrf, notice, kept)
    })
}

pub async fn held(
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
        Some("approved") => {
            Some("Done. The post is now in the group, for everyone who may read it.")
        }
        Some("rejected") => Some(
            "Done. The post was turned down: nobody else will see it, and its author is told your reason.",
        ),
        Some("gone") => Some(
            "That post is no longer waiting: another moderator dealt with it, or its author deleted it.",
        ),
        Some("saved") => Some("Saved. From now on, new posts wait as set below."),
        _ => None,
    };
    show_held(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::OK,
        notice,
        &Kept::default(),
    )
    .await
}

fn went_wrong(field: &str) -> Vec<FieldError> {
    one_error(
        field,
        "Something went wrong on our side. Nothing was changed. Please try again in a moment.",
    )
}

pub async fn approve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, TITLE).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = format!("/groups/{}/held", view.slug);
    let Ok(id) = id.parse::<i64>() else {
        return redirect_to(&format!("{back}?done=gone"));
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired(&heading_id(id))
    } else {
        match state.app.approve_post(&Origin::local(&session), id).await {
            Ok(_) => return redirect_to(&format!("{back}?done=approved")),
            Err(AppError::NotFound { .. }) => return redirect_to(&format!("{back}?done=gone")),
            Err(AppError::Forbidden(_)) => {
                return only_for(&state, &headers, &session, TITLE, WHO);
            }
            Err(err) => {
                tracing::error!(error = %err, "letting a post through from the web failed");
                went_wrong(&heading_id(id))
            }
        }
    };
    let kept = Kept {
        errors,
        ..Kept::default()
    };
    show_held(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        &kept,
    )
    .await
}

pub async fn reject(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, TITLE).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = format!("/groups/{}/held", view.slug);
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
            .reject_post(&Origin::local(&session), id, reason)
            .await
        {
            Ok(()) => return redirect_to(&format!("{back}?done=rejected")),
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .map(|e| FieldError {
                    field: field_id.clone(),
                    message: match e.code {
                        "required" => {
                            "Say why you are turning it down, in a few words: its author is told"
                                .to_owned()
                        }
                        _ => e.message,
                    },
                })
                .collect(),
            Err(AppError::NotFound { .. }) => return redirect_to(&format!("{back}?done=gone")),
            Err(AppError::Forbidden(_)) => {
                return only_for(&state, &headers, &session, TITLE, WHO);
            }
            Err(err) => {
                tracing::error!(error = %err, "turning a post down from the web failed");
                went_wrong(&field_id)
            }
        }
    };
    let kept = Kept {
        errors,
        reason: Some((id, reason)),
        settings: None,
    };
    show_held(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        &kept,
    )
    .await
}

/// The settings as the form sent them, or what is wrong with the number.
fn parse_settings(form: &HashMap<String, String>) -> Result<Premoderation, Vec<FieldError>> {
    let days = field(form, "new_member_days").trim();
    let new_member_days = if days.is_empty() {
        0
    } else {
        days.parse::<u32>().map_err(|_| {
            one_error(
                "new_member_days",
                "Enter a number of days, such as 7, or 0 so that nobody's posts wait for being new",
            )
        })?
    };
    let servers = field(form, "servers")
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Premoderation {
        new_member_days,
        servers,
    })
}

pub async fn save_settings(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, TITLE).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("new_member_days")
    } else {
        match parse_settings(&form) {
            Err(errors) => errors,
            Ok(wanted) => match state
                .app
                .set_premoderation(&Origin::local(&session), &view.slug, wanted)
                .await
            {
                Ok(_) => {
                    return redirect_to(&format!("/groups/{}/held?done=saved", view.slug));
                }
                Err(AppError::Invalid(errs)) => errs
                    .into_iter()
                    .map(|e| match e.field {
                        "servers" => FieldError {
                            field: "servers".into(),
                            message: e.message,
                        },
                        _ => FieldError {
                            field: "new_member_days".into(),
                            message: match e.code {
                                "too_long" => "Enter a number of days from 0 to 365".to_owned(),
                                _ => e.message,
                            },
                        },
                    })
                    .collect(),
                Err(AppError::Forbidden(_)) => {
                    return only_for(&state, &headers, &session, TITLE, WHO);
                }
                Err(err) => {
                    tracing::error!(error = %err, "saving pre-moderation from the web failed");
                    went_wrong("new_member_days")
                }
            },
        }
    };
    let kept = Kept {
        errors,
        reason: None,
        settings: Some(&form),
    };
    show_held(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        &kept,
    )
    .await
}

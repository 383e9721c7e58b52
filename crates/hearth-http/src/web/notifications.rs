//! The notifications page: what happened to my posts and requests, newest
//! first, with the unread ones marked in words (not only by colour), and a
//! button to mark them read.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::notifications::NotificationView;
use hearth_domain::notification::NotificationKind;
use hearth_domain::post::Reaction;
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

const PAGE_SIZE: u64 = 30;

#[derive(serde::Deserialize)]
pub struct ListQuery {
    before: Option<i64>,
}

fn reaction_words(detail: &str) -> &'static str {
    match detail.parse::<Reaction>() {
        Ok(Reaction::Hug) => "sent you a hug 🤗 for",
        Ok(Reaction::MeToo) => "said \u{201c}me too\u{201d} 🙋 to",
        _ => "found helpful 💡",
    }
}

fn describe(v: &NotificationView) -> Markup {
    let n = &v.notification;
    let who = html! {
        @match &v.actor {
            Some(a) if a.local => { a href=(format!("/people/{}", a.handle.split('@').next().unwrap_or(""))) { (a.display_name) } }
            Some(a) => { strong { (a.display_name) } " (" (a.handle) ")" }
            None => { "Someone" }
        }
    };
    let group = html! {
        @match &v.group {
            Some((title, slug)) => { a href=(format!("/groups/{slug}")) { (title) } }
            None => { "a group" }
        }
    };
    let post = html! {
        @match &v.post {
            Some(p) if !p.is_deleted() => {
                a href=(format!("/posts/{}#post-{}", p.thread_id(), p.id)) {
                    @if p.title.is_empty() { "the post" } @else { "\u{201c}" (p.title) "\u{201d}" }
                }
            }
            _ => { span class="hint" { "(a post you can no longer see)" } }
        }
    };
    html! {
        @match n.kind {
            NotificationKind::Reply => { (who) " replied in " (group) ": " (post) }
            NotificationKind::Mention => { (who) " mentioned you in " (group) ": " (post) }
            NotificationKind::Reaction => { (who) " " (reaction_words(&n.detail)) " your post in " (group) }
            NotificationKind::JoinApproved => { "You are now a member of " (group) "." }
            NotificationKind::JoinDeclined => { (group) " did not accept your request to join." }
            // A post that waited and was turned down was never shown.
            NotificationKind::PostRemoved if v.post.as_ref().is_some_and(|p| p.is_held()) => {
                "A moderator of " (group) " turned down a post you wrote, so nobody else saw it."
                @if !n.detail.is_empty() { " They said: \u{201c}" (n.detail) "\u{201d}" }
            }
            NotificationKind::PostRemoved => {
                "A moderator of " (group) " removed one of your posts."
                @if !n.detail.is_empty() { " They said: \u{201c}" (n.detail) "\u{201d}" }
            }
            NotificationKind::PostLabelled => {
                "A moderator of " (group) " put a label on your post: \u{201c}"
                (n.detail.parse::<hearth_domain::sources::LabelKind>().map_or("Label", |k| k.describe()))
                "\u{201d}. It shows above the post, with their note. " (post)
            }
            NotificationKind::PostRestored => {
                "A moderator of " (group) " brought back your post: everyone in the group can read it again. " (post)
            }
            NotificationKind::Banned => {
                "The moderators of " (group) " banned you from the group."
                @if !n.detail.is_empty() { " They said: \u{201c}" (n.detail) "\u{201d}" }
            }
            NotificationKind::Report => {
                "A new report about " (post) " in " (group) " is waiting. "
                a href="/moderation/reports" { "Open the reports" }
            }
            NotificationKind::Held => {
                "A post in " (group) " is waiting for a moderator to let it through. "
                @if let Some((_, slug)) = &v.group {
                    a href=(format!("/groups/{slug}/held")) { "Open the posts waiting" }
                }
            }
            NotificationKind::PossibleCrisis => {
                strong { "Possible crisis: " }
                "a post in " (group) " has words that may mean someone is in danger. "
                a href="/moderation/reports" { "Open the reports" }
            }
            NotificationKind::CrisisSupport => {
                "A moderator of " (group) " wants to make sure you have support. You are not alone: "
                a href=(if n.detail.is_empty() { "/help".to_owned() } else { format!("/help?language={}", n.detail) }) {
                    "places you can talk to someone now"
                }
                "."
            }
            NotificationKind::NewServer => {
                (who) " joined " (group) ". " (hearth_domain::notification::first_from_server(&n.detail))
            }
            NotificationKind::ReportResolved => {
                "Your report was dealt with. Thank you for telling us."
                @if !n.detail.is_empty() { " The moderators said: \u{201c}" (n.detail) "\u{201d}" }
                " " a href=(super::moderation::MY_REPORTS) { "See your reports" }
            }
        }
    }
}

pub async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let items = match state.app.notifications(&session, q.before, PAGE_SIZE).await {
        Ok(items) => items,
        Err(err) => {
            tracing::error!(error = %err, "notifications page failed");
            Vec::new()
        }
    };
    let newest = items.first().map(|v| v.notification.id);
    let older = (items.len() as u64 == PAGE_SIZE)
        .then(|| items.last().map(|v| v.notification.id))
        .flatten();
    let unread = session.unread;
    page(
        &state,
        &headers,
        Some(&session),
        "Notifications",
        StatusCode::OK,
        |csrf| {
            html! {
                h1 { "Notifications" }
                @if unread > 0 {
                    p { (unread) @if unread == 1 { " new notification." } @else { " new notifications." } }
                    @if let Some(newest) = newest {
                        form method="post" action="/notifications/read" {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            input type="hidden" name="up_to" value=(newest);
                            button class="secondary" type="submit" { "Mark all as read" }
                        }
                    }
                }
                @if items.is_empty() {
                    p { "Nothing yet. When someone replies to you, mentions you or reacts to your posts, you will see it here." }
                } @else {
                    ul class="cards notifications" {
                        @for v in &items {
                            @let is_new = v.notification.read_at.is_none();
                            li class=(if is_new { "unread" } else { "" }) {
                                @if is_new { strong class="tag" { "New" } " " }
                                (describe(v))
                                br;
                                span class="hint" { (v.notification.created_at.format("%-d %B %Y, %H:%M UTC")) }
                            }
                        }
                    }
                    @if let Some(before) = older {
                        p { a href=(format!("/notifications?before={before}")) { "Older notifications" } }
                    }
                }
            }
        },
    )
}

pub async fn mark_read(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        let up_to = field(&form, "up_to").parse::<i64>().ok();
        if let Err(err) = state
            .app
            .mark_notifications_read(&session, None, up_to)
            .await
        {
            tracing::error!(error = %err, "marking notifications read failed");
        }
    }
    redirect_to("/notifications")
}

//! A member's profile: their name, what they say about themselves, and the
//! posts of theirs the reader may see.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::records::PostKind;
use hearth_domain::text;
use maud::html;

use super::forms;
use super::pages::page;
use crate::ApiState;

pub async fn profile(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let Ok((account, posts)) = state.app.profile(session.as_deref(), &username, 50).await else {
        return page(
            &state,
            &headers,
            session.as_ref(),
            "Page not found",
            StatusCode::NOT_FOUND,
            |_| {
                html! {
                    h1 { "Page not found" }
                    p { "There is no one here by that name. If you typed the address, check it is right." }
                }
            },
        );
    };
    let own = session.as_ref().is_some_and(|s| s.account.id == account.id);
    let name = if account.display_name.is_empty() {
        account.username.clone()
    } else {
        account.display_name.clone()
    };
    let handle = format!("@{}@{}", account.username, state.app.config.domain);
    page(
        &state,
        &headers,
        session.as_ref(),
        &name,
        StatusCode::OK,
        |_| {
            html! {
                h1 { (name) }
                p class="hint" { (handle) }
                @if !account.bio.is_empty() { p class="prewrap" { (account.bio) } }
                @if own {
                    p { a href="/settings" { "Change your name or what you say about yourself" } }
                    p class="hint" { "You see all your posts here. Other people see only those they are allowed to read." }
                }
                h2 { "Posts" }
                @if posts.is_empty() {
                    p { "No posts you can see." }
                } @else {
                    ul class="cards" {
                        @for (group, post) in &posts {
                            li {
                                a href=(format!("/posts/{}#post-{}", post.thread_id(), post.id)) {
                                    @if post.kind == PostKind::Thread { strong { (post.title) } }
                                    @else if let Some(cw) = &post.content_warning { "Reply with a content warning: " (cw) }
                                    @else { "Reply: " (text::excerpt(&text::html_to_plain(&post.content_html), 80)) }
                                }
                                br;
                                span class="hint" {
                                    "in " (group) " · " (post.published_at.format("%-d %B %Y"))
                                    @if post.content_warning.is_some() && post.kind == PostKind::Thread { " · has a content warning" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

//! Group pages: a group's front page with its threads, joining and
//! leaving, writing a new thread, and reading a thread with its replies.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::posts::{PostGroup, PostInput, TimelineQuery};
use hearth_app::{AppError, Session};
use hearth_db::posts::{Order, Post, PostKind};
use hearth_domain::post::{Reaction, SupportKind, Visibility};
use hearth_domain::{JoinPolicy, MembershipState};
use maud::{Markup, PreEscaped, html};

use super::forms::{self, CSRF_FIELD};
use super::layout::{FieldError, error_summary, text_field};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

fn not_found(state: &ApiState, headers: &HeaderMap, session: Option<&Session>) -> Response {
    page(
        state,
        headers,
        session,
        "Page not found",
        StatusCode::NOT_FOUND,
        |_| {
            html! {
                h1 { "Page not found" }
                p { "There is nothing here, or you do not have access to it. If you typed the address, check it is right." }
                p { a href="/groups" { "Go to the list of groups" } }
            }
        },
    )
}

fn need_help() -> Markup {
    html! {
        p class="notice" {
            strong { "Need help now? " }
            "If you or someone else is in danger, call your local emergency number. "
            a href="/help" { "Where to find support" }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct GroupQuery {
    kind: Option<String>,
}

pub async fn group_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let Ok(summary) = state.app.group(&name).await else {
        return not_found(&state, &headers, session.as_ref());
    };
    let group = summary.group.clone();
    let membership = match &session {
        Some(s) => state.app.membership_in(s, &group).await.ok().flatten(),
        None => None,
    };
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| k.parse::<SupportKind>().ok());
    let post_group = PostGroup::Local(group.clone());
    let threads = state
        .app
        .timeline(
            session.as_ref(),
            &post_group,
            TimelineQuery {
                order: Order::Active,
                support_kind: kind,
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap_or_default();
    let authors = state.app.authors(&threads).await.unwrap_or_default();
    let joined = membership
        .as_ref()
        .is_some_and(|m| m.state == MembershipState::Joined);
    page(
        &state,
        &headers,
        session.as_ref(),
        &group.display_name,
        StatusCode::OK,
        |csrf| {
            html! {
                h1 { (group.display_name) }
                p class="hint" { (summary.members) @if summary.members == 1 { " member" } @else { " members" } }
                @if !group.description.is_empty() { p { (group.description) } }
                (need_help())
                @if !group.rules.is_empty() {
                    h2 { "Group rules" }
                    div class="rules" { (group.rules) }
                }
                @match (&session, membership.as_ref().map(|m| m.state)) {
                    (None, _) => { p { a href="/login" { "Log in" } " to join this group." } }
                    (Some(_), Some(MembershipState::Joined)) => {
                        p { a class="button" href=(format!("/groups/{}/new", group.name)) { "Write a post" } }
                        form method="post" action=(format!("/groups/{}/leave", group.name)) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button class="secondary" type="submit" { "Leave group" }
                        }
                    }
                    (Some(_), Some(MembershipState::Pending)) => { p class="notice" role="status" { "Waiting for a moderator to let you in." } }
                    (Some(_), _) => {
                        form method="post" action=(format!("/groups/{}/join", group.name)) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button type="submit" {
                                @if group.join_policy == JoinPolicy::Open { "Join group" } @else { "Ask to join" }
                            }
                        }
                    }
                }
                h2 { "Posts" }
                nav aria-label="Filter posts by kind" {
                    ul {
                        li { a href=(format!("/groups/{}", group.name)) aria-current=[kind.is_none().then_some("page")] { "All" } }
                        @for k in SupportKind::ALL {
                            li { a href=(format!("/groups/{}?kind={}", group.name, k.as_str())) aria-current=[(kind == Some(*k)).then_some("page")] { (kind_label(*k)) } }
                        }
                    }
                }
                @if threads.is_empty() {
                    p { @if joined { "No posts yet. You could write the first one." } @else { "There are no posts you can see yet." } }
                } @else {
                    ul class="cards" {
                        @for t in &threads {
                            li {
                                a href=(format!("/posts/{}", t.id)) { strong { (t.title) } }
                                br;
                                span class="hint" {
                                    (t.support_kind.map(kind_label).unwrap_or("Post")) " · by "
                                    (authors.get(&t.author_ap_id).map(|a| a.handle.as_str()).unwrap_or(""))
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn kind_label(kind: SupportKind) -> &'static str {
    match kind {
        SupportKind::Emotional => "Support",
        SupportKind::MySituation => "My situation",
        SupportKind::GeneralKnowledge => "General knowledge",
        SupportKind::Experience => "What worked for me",
        SupportKind::Resource => "Resource",
    }
}

async fn membership_action(
    state: ApiState,
    headers: HeaderMap,
    name: String,
    form: HashMap<String, String>,
    join: bool,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return redirect_to(&format!("/groups/{name}"));
    }
    let result = if join {
        state.app.join_local(&session, &name).await.map(|_| ())
    } else {
        state.app.leave_local(&session, &name).await
    };
    if let Err(err) = result {
        tracing::info!(error = %err, "membership change from the web failed");
    }
    redirect_to(&format!("/groups/{name}"))
}

pub async fn join(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    membership_action(state, headers, name, form, true).await
}

pub async fn leave(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    membership_action(state, headers, name, form, false).await
}

fn compose(
    state: &ApiState,
    group: &hearth_db::groups::Group,
    members: u64,
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    let chosen_kind = field(form, "support_kind");
    let chosen_visibility = if field(form, "visibility").is_empty() {
        "members"
    } else {
        field(form, "visibility")
    };
    let kind_error = errors.iter().find(|e| e.field == "support_kind");
    let body_error = errors.iter().find(|e| e.field == "body");
    html! {
        (error_summary(errors))
        h1 { "Write a post in " (group.display_name) }
        p class="notice" {
            "Members of " (group.display_name) " will be able to read this ("
            (members) @if members == 1 { " member" } @else { " members" } "), unless you choose otherwise below."
        }
        form method="post" action=(format!("/groups/{}/new", group.name)) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("title", "Title", "text", field(form, "title"), Some("A few words that say what your post is about."), errors, "off"))
            fieldset class=(if kind_error.is_some() { "field has-error" } else { "field" }) id="support_kind" {
                legend { "What kind of post is this?" }
                @if let Some(e) = kind_error { p class="error-message" { span class="visually-hidden" { "Error: " } (e.message) } }
                @for k in SupportKind::ALL {
                    div class="checkbox" {
                        input type="radio" id=(format!("kind-{}", k.as_str())) name="support_kind" value=(k.as_str()) checked[chosen_kind == k.as_str()];
                        label for=(format!("kind-{}", k.as_str())) { strong { (kind_label(*k)) } ": " (k.explain()) }
                    }
                }
            }
            div class=(if body_error.is_some() { "field has-error" } else { "field" }) {
                label for="body" { "Your post" }
                p class="hint" id="body-hint" { "You can use **bold**, *italic* and lists with - at the start of a line." }
                @if let Some(e) = body_error { p class="error-message" id="body-error" { span class="visually-hidden" { "Error: " } (e.message) } }
                textarea id="body" name="body" rows="8" aria-describedby="body-hint" { (field(form, "body")) }
            }
            (text_field("content_warning", "Content warning (optional)", "text", field(form, "content_warning"), Some("If your post talks about something distressing, say what here. Readers will see this first and choose whether to open the post."), errors, "off"))
            (text_field("link", "Link (optional)", "text", field(form, "link"), Some("A web address for an article, a service or an event."), errors, "url"))
            fieldset class="field" {
                legend { "Who can read it?" }
                @for (value, label) in [("members", "Members of this group"), ("public", "Anyone, including people without an account"), ("local", "Only members on this server")] {
                    div class="checkbox" {
                        input type="radio" id=(format!("vis-{value}")) name="visibility" value=(value) checked[chosen_visibility == value];
                        label for=(format!("vis-{value}")) { (label) }
                    }
                }
            }
            button type="submit" { "Post to the group" }
        }
        p { a href=(format!("/groups/{}", group.name)) { "Back to the group" } }
        @let _ = state;
    }
}

pub async fn new_post_form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(summary) = state.app.group(&name).await else {
        return not_found(&state, &headers, Some(&session));
    };
    let empty = HashMap::new();
    page(
        &state,
        &headers,
        Some(&session),
        "Write a post",
        StatusCode::OK,
        |csrf| compose(&state, &summary.group, summary.members, csrf, &empty, &[]),
    )
}

pub async fn new_post(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(summary) = state.app.group(&name).await else {
        return not_found(&state, &headers, Some(&session));
    };
    let fail = |errors: Vec<FieldError>| {
        page(
            &state,
            &headers,
            Some(&session),
            "Write a post",
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf| {
                compose(
                    &state,
                    &summary.group,
                    summary.members,
                    csrf,
                    &form,
                    &errors,
                )
            },
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(vec![FieldError {
            field: "title".into(),
            message: "This form had expired. Please check your post and send it again.".into(),
        }]);
    }
    let input = PostInput {
        title: Some(field(&form, "title").to_owned()),
        body: Some(field(&form, "body").to_owned()),
        support_kind: Some(field(&form, "support_kind").to_owned()),
        content_warning: Some(field(&form, "content_warning").to_owned()),
        visibility: Some(field(&form, "visibility").to_owned()),
        link: Some(field(&form, "link").to_owned()),
    };
    match state
        .app
        .create_thread(&session, &PostGroup::Local(summary.group.clone()), input)
        .await
    {
        Ok(post) => redirect_to(&format!("/posts/{}", post.id)),
        Err(AppError::Invalid(errs)) => fail(
            errs.into_iter()
                .map(|e| FieldError {
                    field: e.field.to_owned(),
                    message: match (e.field, e.code) {
                        ("title", "required") => "Your post needs a title".to_owned(),
                        ("support_kind", "required") => {
                            "Choose what kind of post this is".to_owned()
                        }
                        _ => e.message,
                    },
                })
                .collect(),
        ),
        Err(AppError::Forbidden(why)) => fail(vec![FieldError {
            field: "title".into(),
            message: why.to_owned(),
        }]),
        Err(err) => {
            tracing::error!(error = %err, "posting from the web failed");
            fail(vec![FieldError {
                field: "title".into(),
                message:
                    "Something went wrong on our side. Your post was not sent. Please try again."
                        .into(),
            }])
        }
    }
}

fn render_post(
    post: &Post,
    authors: &HashMap<String, hearth_app::posts::Author>,
    all: &[Post],
    csrf: &str,
    viewer: Option<&Session>,
    can_write: bool,
) -> Markup {
    let author = authors.get(&post.author_ap_id);
    let own = viewer.is_some_and(|s| post.author_user_id == Some(s.account.id));
    let body = html! {
        @if post.is_deleted() {
            p class="hint" { "This post was deleted." }
        } @else {
            (PreEscaped(post.content_html.clone()))
            @if let Some(link) = &post.link { p { a href=(link) rel="nofollow noopener noreferrer ugc" { (link) } } }
        }
    };
    html! {
        article aria-labelledby=(format!("post-{}", post.id)) {
            @if post.kind == PostKind::Thread {
                h1 id=(format!("post-{}", post.id)) { (post.title) }
            } @else {
                h3 id=(format!("post-{}", post.id)) class="visually-hidden" { "Reply by " (author.map(|a| a.handle.as_str()).unwrap_or("")) }
            }
            p class="hint" {
                "By " (author.map(|a| a.display_name.as_str()).unwrap_or("")) " (" (author.map(|a| a.handle.as_str()).unwrap_or("")) ")"
                @if author.is_some_and(|a| !a.local) { " · from another server" }
                @if let Some(k) = post.support_kind { " · " (kind_label(k)) }
                @if post.visibility == Visibility::Public { " · Anyone can read this" }
            }
            @if let Some(cw) = &post.content_warning {
                details {
                    summary { "Content warning: " (cw) " (open to read)" }
                    (body)
                }
            } @else {
                (body)
            }
            @if !post.is_deleted() && can_write {
                div class="reactions" {
                    @for r in Reaction::ALL {
                        form method="post" action=(format!("/posts/{}/react", post.id)) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            input type="hidden" name="reaction" value=(r.as_str());
                            button class="secondary" type="submit" { (r.emoji()) " " (reaction_label(*r)) }
                        }
                    }
                }
                form method="post" action=(format!("/posts/{}/reply", post.id)) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    label for=(format!("reply-{}", post.id)) { "Reply" }
                    textarea id=(format!("reply-{}", post.id)) name="body" rows="3" {}
                    button type="submit" { "Send reply" }
                }
                @if own {
                    form method="post" action=(format!("/posts/{}/delete", post.id)) {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        button class="secondary" type="submit" { "Delete this post" }
                    }
                }
            }
            @let children: Vec<&Post> = all.iter().filter(|p| p.parent_id == Some(post.id)).collect();
            @if !children.is_empty() {
                ul class="cards replies" {
                    @for child in children {
                        li { (render_post(child, authors, all, csrf, viewer, can_write)) }
                    }
                }
            }
        }
    }
}

fn reaction_label(r: Reaction) -> &'static str {
    match r {
        Reaction::Hug => "Hug",
        Reaction::MeToo => "Me too",
        Reaction::Helpful => "Helpful",
    }
}

pub async fn thread_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&state, &headers, session.as_ref());
    };
    let Ok((group, posts)) = state.app.thread(session.as_ref(), id).await else {
        return not_found(&state, &headers, session.as_ref());
    };
    let Some(root) = posts.iter().find(|p| p.kind == PostKind::Thread).cloned() else {
        return not_found(&state, &headers, session.as_ref());
    };
    let authors = state.app.authors(&posts).await.unwrap_or_default();
    let can_write = match &session {
        Some(s) => state
            .app
            .is_member(s.account.id, &group)
            .await
            .unwrap_or(false),
        None => false,
    };
    let back = match &group {
        PostGroup::Local(g) => format!("/groups/{}", g.name),
        PostGroup::Remote(_) => "/".to_owned(),
    };
    page(
        &state,
        &headers,
        session.as_ref(),
        &root.title,
        StatusCode::OK,
        |csrf| {
            html! {
                p { a href=(back) { "Back to the group" } }
                (render_post(&root, &authors, &posts, csrf, session.as_ref(), can_write))
            }
        },
    )
}

async fn post_action(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
    form: &HashMap<String, String>,
) -> Result<(Session, i64), Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found(state, headers, Some(&session)));
    };
    if !forms::csrf_ok(headers, field(form, CSRF_FIELD)) {
        return Err(redirect_to(&format!("/posts/{id}")));
    }
    Ok((session, id))
}

pub async fn reply(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, id) = match post_action(&state, &headers, &id, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = PostInput {
        body: Some(field(&form, "body").to_owned()),
        ..Default::default()
    };
    if let Err(err) = state.app.create_reply(&session, id, input).await {
        tracing::info!(error = %err, "reply from the web refused");
    }
    redirect_to(&format!("/posts/{id}"))
}

pub async fn react(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, id) = match post_action(&state, &headers, &id, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Ok(reaction) = field(&form, "reaction").parse::<Reaction>()
        && let Err(err) = state.app.react(&session, id, reaction).await
    {
        tracing::info!(error = %err, "reaction from the web refused");
    }
    redirect_to(&format!("/posts/{id}"))
}

pub async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, id) = match post_action(&state, &headers, &id, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(err) = state.app.delete_post(&session, id).await {
        tracing::info!(error = %err, "delete from the web refused");
    }
    redirect_to(&format!("/posts/{id}"))
}

pub async fn help(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = forms::session(&state.app, &headers).await;
    page(
        &state,
        &headers,
        session.as_ref(),
        "Where to find support",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "Where to find support" }
                p { "If you or someone else is in danger right now, call your local emergency number." }
                p { "If you are struggling, talk to someone you trust, your doctor or nurse, or a helpline in your country." }
                p { "The people who run this server will add local crisis services here." }
            }
        },
    )
}

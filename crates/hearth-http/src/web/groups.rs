//! Group pages: a group's front page with its threads, joining and
//! leaving, writing a new thread, and reading a thread with its replies.

use hearth_app::{Origin, Reader};
use std::collections::{HashMap, HashSet};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::AppError;
use hearth_app::groups::GroupView;
use hearth_app::posts::{PostGroup, PostInput, TimelineQuery};
use hearth_app::records::{Order, Post, PostKind};
use hearth_domain::GroupVisibility;
use hearth_domain::post::{Reaction, SupportKind, Visibility};
use hearth_domain::{MembershipState, text};
use maud::{Markup, PreEscaped, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::layout::{FieldError, error_summary, explained_radios, text_field};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

pub(super) fn not_found(
    state: &ApiState,
    headers: &HeaderMap,
    session: Option<&WebSession>,
) -> Response {
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

pub(super) fn need_help() -> Markup {
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
    /// Only threads that list sources (`?with_sources=true`).
    #[serde(default)]
    with_sources: bool,
}

/// The web address of a group's page here.
pub(super) fn group_path(view: &GroupView) -> String {
    format!("/groups/{}", view.slug)
}

pub async fn group_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let Ok(view) = state.app.group_view(session.as_deref(), &slug).await else {
        return not_found(&state, &headers, session.as_ref());
    };
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| k.parse::<SupportKind>().ok());
    let threads = state
        .app
        .timeline(
            session.as_deref(),
            &view.group,
            TimelineQuery {
                order: Order::Active,
                support_kind: kind,
                with_sources: q.with_sources,
                after: None,
                limit: 50,
            },
        )
        .await
        .unwrap_or_default();
    // Pinned threads first (those of the kind asked for), then the rest.
    let mut listed: Vec<Post> = state
        .app
        .pinned(&Reader::viewer(session.as_deref()), &view.group)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|p| kind.is_none() || p.support_kind == kind)
        .filter(|p| !q.with_sources || !p.sources.is_empty())
        .collect();
    let pinned: HashSet<i64> = listed.iter().map(|p| p.id).collect();
    listed.extend(threads.into_iter().filter(|t| !pinned.contains(&t.id)));
    let threads = listed;
    let authors = state.app.authors(&threads).await.unwrap_or_default();
    let replies = state.app.reply_counts(&threads).await.unwrap_or_default();
    let joined = view.membership == Some(MembershipState::Joined);
    let guidance = state.app.guidance(&view.group).await.unwrap_or_default();
    let sees_newcomers = match (&session, &view.group) {
        (Some(s), PostGroup::Local(g)) => state.app.sees_newcomers(s, g).await.unwrap_or(false),
        _ => false,
    };
    let path = group_path(&view);
    // Admins here may moderate every group here.
    let moderates =
        view.moderator || (view.elsewhere.is_none() && session.as_ref().is_some_and(is_admin));
    // How many posts wait for a moderator (a plain count, for moderators).
    let waiting = match &session {
        Some(s) if moderates => state
            .app
            .held_posts(s, &view.slug)
            .await
            .ok()
            .map(|p| p.len()),
        _ => None,
    };
    page(
        &state,
        &headers,
        session.as_ref(),
        &view.title,
        StatusCode::OK,
        |csrf| {
            html! {
                h1 { (view.title) }
                p class="hint" {
                    @if let Some(n) = view.members { (n) @if n == 1 { " member" } @else { " members" } " · " }
                    "@" (view.handle)
                }
                @if let Some(host) = &view.elsewhere {
                    p class="notice" { "This group is on another server, " strong { (host) } ". Its moderators and rules are there. What you post in it is sent to that server." }
                }
                @if !view.description.is_empty() { p class="prewrap" { (view.description) } }
                (need_help())
                (super::care::guidance_box(
                    &guidance,
                    "group-guidance",
                    if joined { "How this group works" } else { "Before you join" },
                ))
                @if sees_newcomers {
                    p { a href=(format!("{path}/newcomers")) { "New members" } ": their first posts, those without a reply first" }
                }
                @match (&session, view.membership) {
                    (None, _) => { p { a href="/login" { "Log in" } " to join this group." } }
                    (Some(_), Some(MembershipState::Joined)) => {
                        p { a class="button" href=(format!("{path}/new")) { "Write a post" } }
                        form method="post" action=(format!("{path}/leave")) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button class="secondary" type="submit" { "Leave group" }
                        }
                    }
                    (Some(_), Some(MembershipState::Pending)) => {
                        p class="notice" role="status" {
                            @if view.elsewhere.is_some() { "You asked to join. Waiting for the group to let you in." }
                            @else { "Waiting for a moderator to let you in." }
                        }
                        form method="post" action=(format!("{path}/leave")) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button class="secondary" type="submit" { "Stop asking to join" }
                        }
                    }
                    (Some(_), state) => {
                        @if state == Some(MembershipState::Declined) {
                            p class="notice" { "A moderator did not accept your last request. You can ask again." }
                        }
                        form method="post" action=(format!("{path}/join")) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button type="submit" {
                                @if view.needs_approval { "Ask to join" } @else { "Join group" }
                            }
                        }
                    }
                }
                @if moderates {
                    section aria-labelledby="moderator-tools" {
                        h2 id="moderator-tools" { "For moderators" }
                        ul {
                            li { a href=(format!("{path}/requests")) { "Requests to join" } }
                            li {
                                a href=(format!("{path}/held")) { "Posts waiting for a moderator" }
                                @if let Some(n) = waiting { " (" (n) ")" }
                            }
                            li { a href="/moderation/reports" { "Reports waiting for a moderator" } }
                            li { a href=(format!("{path}/removed")) { "Removed posts" } ": bring one back" }
                            li { a href=(format!("{path}/bans")) { "Bans" } }
                            li { a href=(format!("{path}/moderators")) { "Moderators" } }
                            @if view.elsewhere.is_none() {
                                li { a href=(format!("{path}/mentors")) { "Peer mentors" } }
                            }
                            @if view.elsewhere.is_none() {
                                li { a href=(format!("{path}/settings")) { "Group settings" } ": who can read posts" }
                            }
                        }
                    }
                }
                @if view.elsewhere.is_none() {
                    p { a href=(format!("{path}/log")) { "Moderation log" } ": what the moderators did, and why" }
                }
                h2 { "Posts" }
                nav aria-label="Filter posts by kind" {
                    ul class="filters" {
                        li { a href=(path) aria-current=[(kind.is_none() && !q.with_sources).then_some("page")] { "All" } }
                        @for k in SupportKind::ALL {
                            li { a href=(format!("{path}?kind={}", k.as_str())) aria-current=[(kind == Some(*k) && !q.with_sources).then_some("page")] { (kind_label(*k)) } }
                        }
                    }
                }
                p {
                    @if q.with_sources {
                        "Showing only posts that list sources. " a href=(path) { "Show all posts" }
                    } @else {
                        a href=(format!("{path}?with_sources=true")) { "Show only posts with sources" }
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
                                    @if t.pinned_at.is_some() { span class="tag" { "Pinned" } " " }
                                    (t.support_kind.map(kind_label).unwrap_or("Post")) " · by "
                                    (authors.get(&t.author_ap_id).map(|a| a.handle.as_str()).unwrap_or(""))
                                    @let n = replies.get(&t.id).copied().unwrap_or(0);
                                    " · " (n) @if n == 1 { " reply" } @else { " replies" }
                                    @if t.content_warning.is_some() { " · has a content warning" }
                                    (super::sources::sources_count(t))
                                    @if t.label.is_some() { " · labelled by the moderators" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Whether the person is an admin of this server (who may moderate every
/// group here).
pub(super) fn is_admin(session: &WebSession) -> bool {
    session.account.role == hearth_domain::Role::Admin
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
    slug: String,
    form: HashMap<String, String>,
    join: bool,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(view) = state.app.group_view(Some(&*session), &slug).await else {
        return not_found(&state, &headers, Some(&session));
    };
    let path = group_path(&view);
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return redirect_to(&path);
    }
    let result = if join {
        state
            .app
            .join_group(&Origin::local(&session), &view.group)
            .await
            .map(|_| ())
    } else {
        state
            .app
            .leave_group(&Origin::local(&session), &view.group)
            .await
    };
    if let Err(err) = result {
        tracing::info!(error = %err, "membership change from the web failed");
    }
    redirect_to(&path)
}

pub async fn join(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): FormData,
) -> Response {
    membership_action(state, headers, slug, form, true).await
}

pub async fn leave(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): FormData,
) -> Response {
    membership_action(state, headers, slug, form, false).await
}

/// What the compose and edit forms show under "Preview".
fn preview(form: &HashMap<String, String>) -> Markup {
    let body = field(form, "body");
    html! {
        section class="preview" aria-labelledby="preview-title" {
            h2 id="preview-title" { "Preview" }
            p class="hint" { "This is how your post will look. It has not been sent yet." }
            div class="card" {
                @if !field(form, "title").trim().is_empty() { p { strong { (field(form, "title").trim()) } } }
                @if !field(form, "content_warning").trim().is_empty() {
                    p class="hint" { "Content warning: " (field(form, "content_warning").trim()) }
                }
                @if body.trim().is_empty() {
                    p class="hint" { "Your post is empty." }
                } @else {
                    (PreEscaped(text::markdown_to_html(body)))
                }
            }
        }
    }
}

fn body_field(
    form: &HashMap<String, String>,
    errors: &[FieldError],
    label: &str,
    rows: u32,
) -> Markup {
    let body_error = errors.iter().find(|e| e.field == "body");
    let described = if body_error.is_some() {
        "body-hint body-error"
    } else {
        "body-hint"
    };
    html! {
        div class=(if body_error.is_some() { "field has-error" } else { "field" }) {
            label for="body" { (label) }
            p class="hint" id="body-hint" { "You can use **bold**, *italic*, and lists with - at the start of a line. Choose Preview to see how it will look." }
            @if let Some(e) = body_error { p class="error-message" id="body-error" { span class="visually-hidden" { "Error: " } (e.message) } }
            textarea id="body" name="body" rows=(rows) aria-describedby=(described) aria-invalid=[body_error.map(|_| "true")] { (field(form, "body")) }
            button class="secondary" type="submit" name="action" value="preview" { "Preview" }
        }
    }
}

fn kind_field(form: &HashMap<String, String>, errors: &[FieldError]) -> Markup {
    let chosen_kind = field(form, "support_kind");
    let kind_error = errors.iter().find(|e| e.field == "support_kind");
    html! {
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
    }
}

/// "Speaking as": a choice only a verified professional (of role `role`)
/// is offered, on the compose and reply forms; `id` makes its controls'
/// ids unique on a page with several forms.
fn speaking_field(role: Option<&str>, chosen: &str, id: &str, disclaimer: &str) -> Markup {
    let professional = chosen == "professional";
    html! {
        @if let Some(role) = role {
            fieldset class="field" id=(format!("{id}-speaking")) {
                legend { "Speaking as" }
                div class="checkbox" {
                    input type="radio" id=(format!("{id}-peer")) name="speaking_as" value="peer" checked[!professional];
                    label for=(format!("{id}-peer")) { "A peer: someone who has been there" }
                }
                div class="checkbox" {
                    input type="radio" id=(format!("{id}-professional")) name="speaking_as" value="professional"
                        checked[professional] aria-describedby=(format!("{id}-professional-says"));
                    div {
                        label for=(format!("{id}-professional")) { "A professional: " (role) }
                        p class="hint" id=(format!("{id}-professional-says")) { "Your verified role is shown, with this note under your words: " (disclaimer) }
                    }
                }
            }
        }
    }
}

fn compose(
    view: &GroupView,
    guidance: &hearth_app::care::GroupGuidance,
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    show_preview: bool,
    // The author's verified role, if any, and the disclaimer a
    // professional's post carries.
    (professional, disclaimer): (Option<&str>, &str),
) -> Markup {
    let members_only = view.visibility == GroupVisibility::Members;
    let chosen_visibility = if field(form, "visibility").is_empty() {
        view.visibility.default_post_visibility().as_str()
    } else {
        field(form, "visibility")
    };
    let path = group_path(view);
    let choices = visibility_choices(view);
    html! {
        (error_summary(errors))
        h1 { "Write a post in " (view.title) }
        p class="notice" {
            "Members of " (view.title)
            @if let Some(n) = view.members { " (" (n) @if n == 1 { " member" } @else { " members" } ")" }
            @if let Some(host) = &view.elsewhere { " (a group on " (host) ")" }
            " will be able to read this, unless you choose otherwise below."
        }
        (super::care::guidance_box(guidance, "compose-guidance", "Before you post"))
        @if show_preview { (preview(form)) }
        form method="post" action=(format!("{path}/new")) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("title", "Title", "text", field(form, "title"), Some("A few words that say what your post is about."), errors, "off"))
            (kind_field(form, errors))
            (body_field(form, errors, "Your post", 8))
            (text_field("content_warning", "Content warning (optional)", "text", field(form, "content_warning"), Some("If your post talks about something distressing, say what here. Readers will see this first and choose whether to open the post."), errors, "off"))
            (text_field("link", "Link (optional)", "text", field(form, "link"), Some("A web address for an article, a service or an event."), errors, "url"))
            (super::sources::source_rows(form, errors))
            (explained_radios(
                "visibility",
                "vis",
                "Who can read it?",
                &choices,
                chosen_visibility,
                members_only.then_some("This group is for members only, so posts in it cannot be public."),
                errors,
            ))
            @if let Some(e) = errors.iter().find(|e| e.field == "speaking_as") { p class="error-message" id="speaking_as-error" { span class="visually-hidden" { "Error: " } (e.message) } }
            (speaking_field(professional, field(form, "speaking_as"), "compose", disclaimer))
            button type="submit" name="action" value="post" { "Post to the group" }
        }
        (need_help())
        p { a href=(path) { "Back to the group" } }
    }
}

/// The visibilities a member may choose in `view`'s group, each with who
/// will read the post, in plain words (shown beside each choice, so it
/// works without JavaScript). A members-only group offers no "public".
fn visibility_choices(view: &GroupView) -> Vec<(&'static str, &'static str, String)> {
    let title = &view.title;
    let mut choices = vec![(
        Visibility::Members.as_str(),
        "Members of this group",
        match &view.elsewhere {
            None => format!(
                "Only members of {title} can read it, on this server and on the other servers where members live."
            ),
            Some(host) => format!(
                "Only members of {title} can read it. It is sent to {host}, where the group is, and to the servers where other members live."
            ),
        },
    )];
    if view.visibility.allows(Visibility::Public) {
        choices.push((
            Visibility::Public.as_str(),
            "Anyone",
            "Anyone on the internet can read it, including people without an account and people on other servers.".to_owned(),
        ));
    }
    if view.elsewhere.is_none() {
        choices.push((
            Visibility::Local.as_str(),
            "Only members on this server",
            format!(
                "Only members of {title} who have an account on this server can read it. It is never sent to other servers."
            ),
        ));
    }
    choices
}

/// The source rows of a compose form.
fn form_sources(form: &HashMap<String, String>) -> Vec<hearth_domain::sources::RawSource> {
    super::sources::from_form(form)
}

/// Field errors from the app, in the words the forms use.
fn field_errors(errs: Vec<hearth_domain::ValidationError>) -> Vec<FieldError> {
    errs.into_iter()
        .map(|e| FieldError {
            field: super::sources::form_field(e.field),
            message: match (e.field, e.code) {
                ("title", "required") => "Your post needs a title".to_owned(),
                ("body", "required") => "Write something before you send it".to_owned(),
                ("support_kind", "required") => "Choose what kind of post this is".to_owned(),
                _ => e.message,
            },
        })
        .collect()
}

/// What a form says when a rate limit is reached.
pub(super) const SLOW_DOWN: &str =
    "You have done this many times in a short while. Please wait a few minutes, then try again.";

fn went_wrong(field: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: "Something went wrong on our side. Nothing was sent. Please try again.".into(),
    }
}

fn expired(field: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: "This form had expired. Please check what you wrote and send it again.".into(),
    }
}

pub async fn new_post_form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(view) = state.app.group_view(Some(&*session), &slug).await else {
        return not_found(&state, &headers, Some(&session));
    };
    let empty = HashMap::new();
    let guidance = state.app.guidance(&view.group).await.unwrap_or_default();
    page(
        &state,
        &headers,
        Some(&session),
        "Write a post",
        StatusCode::OK,
        |csrf| {
            compose(
                &view,
                &guidance,
                csrf,
                &empty,
                &[],
                false,
                (
                    session.account.professional_role(),
                    &state.app.config.trust.professional_disclaimer,
                ),
            )
        },
    )
}

pub async fn new_post(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(view) = state.app.group_view(Some(&*session), &slug).await else {
        return not_found(&state, &headers, Some(&session));
    };
    let guidance = state.app.guidance(&view.group).await.unwrap_or_default();
    let show = |status: StatusCode, errors: Vec<FieldError>, show_preview: bool| {
        page(
            &state,
            &headers,
            Some(&session),
            "Write a post",
            status,
            |csrf| {
                compose(
                    &view,
                    &guidance,
                    csrf,
                    &form,
                    &errors,
                    show_preview,
                    (
                        session.account.professional_role(),
                        &state.app.config.trust.professional_disclaimer,
                    ),
                )
            },
        )
    };
    if field(&form, "action") == "preview" {
        return show(StatusCode::OK, Vec::new(), true);
    }
    let fail = |errors: Vec<FieldError>| show(StatusCode::UNPROCESSABLE_ENTITY, errors, false);
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(vec![expired("title")]);
    }
    let input = PostInput {
        title: Some(field(&form, "title").to_owned()),
        body: Some(field(&form, "body").to_owned()),
        support_kind: Some(field(&form, "support_kind").to_owned()),
        content_warning: Some(field(&form, "content_warning").to_owned()),
        visibility: Some(field(&form, "visibility").to_owned()),
        link: Some(field(&form, "link").to_owned()),
        sources: Some(form_sources(&form)),
        speaking_as: Some(field(&form, "speaking_as").to_owned()),
    };
    match state
        .app
        .create_thread(&Origin::local(&session), &view.group, input)
        .await
    {
        Ok(post) => redirect_to(&format!("/posts/{}", post.id)),
        Err(AppError::Invalid(errs)) => fail(field_errors(errs)),
        Err(AppError::Forbidden(why)) => fail(vec![FieldError {
            field: "title".into(),
            message: why.to_owned(),
        }]),
        Err(err) => {
            tracing::error!(error = %err, "posting from the web failed");
            fail(vec![went_wrong("title")])
        }
    }
}

/// Which form under a post a draft belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DraftForm {
    Reply,
    /// A moderator's removal, whose reason is required.
    Remove,
}

/// What someone sent from a form under a post, kept to show again with
/// its problem.
struct Draft {
    post: i64,
    form: DraftForm,
    text: String,
    error: String,
}

impl Draft {
    /// The id of the control the draft's text goes back into.
    fn field(&self) -> String {
        match self.form {
            DraftForm::Reply => format!("reply-{}", self.post),
            DraftForm::Remove => format!("reason-{}", self.post),
        }
    }
}

/// What every post in a thread page needs.
struct ThreadCtx<'a> {
    authors: &'a HashMap<String, hearth_app::posts::Author>,
    /// Each post's direct replies, in thread order.
    children: &'a HashMap<i64, Vec<&'a Post>>,
    csrf: &'a str,
    viewer: Option<&'a WebSession>,
    can_write: bool,
    /// The group closed the thread to new replies.
    locked: bool,
    moderator: bool,
    draft: Option<&'a Draft>,
    /// Mentor badges and helpful marks.
    care: &'a hearth_app::care::CareMarks,
    /// The group is here (replies are marked helpful on its own server).
    group_here: bool,
    /// The disclaimer a professional's reply here would carry.
    disclaimer: &'a str,
}

impl ThreadCtx<'_> {
    fn draft(&self, post: i64, form: DraftForm) -> Option<&Draft> {
        self.draft.filter(|d| d.post == post && d.form == form)
    }
}

/// The error of a draft, next to its control.
fn draft_error(draft: Option<&Draft>) -> Markup {
    html! {
        @if let Some(d) = draft {
            p class="error-message" id=(format!("{}-error", d.field())) { span class="visually-hidden" { "Error: " } (d.error) }
        }
    }
}

/// A moderator's tools under a post: closing a thread to replies (or
/// opening it again), pinning it to the top of the group (or unpinning
/// it), and removing the post with a reason for its author.
fn moderator_tools(post: &Post, cx: &ThreadCtx<'_>, own: bool) -> Markup {
    let draft = cx.draft(post.id, DraftForm::Remove);
    let reason_id = format!("reason-{}", post.id);
    html! {
        @if post.kind == PostKind::Reply && cx.group_here {
            @let (action, label) = if cx.care.helpful(post) { ("unhelpful", "Take back the helpful mark") } else { ("helpful", "Mark as helpful") };
            div class="actions" {
                form method="post" action=(format!("/posts/{}/{action}", post.id)) {
                    input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                    button class="secondary" type="submit" { (label) }
                }
            }
        }
        @if post.kind == PostKind::Thread {
            @let (action, label) = if post.locked_at.is_some() { ("unlock", "Open to replies") } else { ("lock", "Close to replies") };
            @let (pin, pin_label) = if post.pinned_at.is_some() { ("unpin", "Unpin") } else { ("pin", "Pin to the top") };
            div class="actions" {
                form method="post" action=(format!("/posts/{}/{action}", post.id)) {
                    input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                    button class="secondary" type="submit" { (label) }
                }
                form method="post" action=(format!("/posts/{}/{pin}", post.id)) {
                    input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                    button class="secondary" type="submit" { (pin_label) }
                }
            }
        }
        (super::sources::label_tools(post, cx.csrf))
        @if !own {
            details class="moderation" open[draft.is_some()] {
                summary { "Moderator: remove this post" }
                form method="post" action=(format!("/posts/{}/remove", post.id)) novalidate {
                    input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                    div class=(if draft.is_some() { "field has-error" } else { "field" }) {
                        label for=(reason_id) { "Why are you removing it?" }
                        p class="hint" id=(format!("{reason_id}-hint")) { "The author is told this reason. It is also shown in the group's moderation log." }
                        (draft_error(draft))
                        input type="text" id=(reason_id) name="reason" maxlength=(hearth_domain::moderation::MAX_REASON)
                            value=(draft.map(|d| d.text.as_str()).unwrap_or(""))
                            aria-describedby=(if draft.is_some() { format!("{reason_id}-hint {reason_id}-error") } else { format!("{reason_id}-hint") })
                            aria-invalid=[draft.map(|_| "true")];
                    }
                    button class="warning" type="submit" { "Remove post" }
                }
            }
        }
    }
}

/// A thread's title; a deleted thread keeps none.
fn thread_title(post: &Post) -> &str {
    if post.title.is_empty() && post.is_deleted() {
        "Deleted post"
    } else {
        &post.title
    }
}

fn render_post(post: &Post, cx: &ThreadCtx<'_>) -> Markup {
    let author = cx.authors.get(&post.author_ap_id);
    let own = cx
        .viewer
        .is_some_and(|s| post.author_user_id == Some(s.account.id));
    let handle = author.map(|a| a.handle.as_str()).unwrap_or("");
    let from = author
        .filter(|a| !a.local)
        .and_then(|a| a.handle.rsplit_once('@').map(|(_, host)| host.to_owned()));
    let body = html! {
        @if post.is_deleted() {
            p class="hint" { "This post was deleted." }
        } @else {
            (PreEscaped(post.content_html.clone()))
            @if let Some(link) = &post.link { p { a href=(link) rel="nofollow noopener noreferrer ugc" { (link) } } }
        }
    };
    let draft = cx.draft(post.id, DraftForm::Reply);
    let reply_id = format!("reply-{}", post.id);
    html! {
        article aria-labelledby=(format!("post-{}", post.id)) {
            @if post.kind == PostKind::Thread {
                h1 id=(format!("post-{}", post.id)) { (thread_title(post)) }
            } @else {
                h3 id=(format!("post-{}", post.id)) class="visually-hidden" { "Reply by " (handle) }
            }
            p class="hint" {
                "By "
                @if let Some(a) = author {
                    @if a.local { a href=(format!("/people/{}", a.handle.split('@').next().unwrap_or(""))) { (a.display_name) } }
                    @else { (a.display_name) }
                }
                " (" (handle) ")"
                @if cx.care.mentor(post) { " " span class="tag" { "Peer mentor" } }
                @if let Some(p) = author.and_then(|a| a.professional.as_ref()) {
                    " · " span class="tag professional" { (p.label()) }
                }
                @if let Some(host) = &from { " · from another server, " (host) }
                @if let Some(k) = post.support_kind { " · " (kind_label(k)) }
                @if post.visibility == Visibility::Public { " · Anyone can read this" }
                @if post.updated_at.is_some() && !post.is_deleted() { " · edited" }
            }
            @if post.is_held() && !post.is_deleted() {
                p class="notice" {
                    strong { "Waiting for a moderator. " }
                    @if own {
                        "Nobody else can see your "
                        @if post.kind == PostKind::Thread { "post" } @else { "reply" }
                        " until one of the group's moderators lets it through. If they turn it down, you will get a notification saying why."
                    } @else {
                        "Nobody but its author and the group's moderators can see it until a moderator lets it through."
                    }
                }
            }
            @if post.kind == PostKind::Thread && post.pinned_at.is_some() {
                p class="hint" { span class="tag" { "Pinned" } " to the top of the group by its moderators" }
            }
            @if cx.care.helpful(post) && !post.is_deleted() {
                p class="hint" { span class="tag" { "Helpful" } " Marked helpful by the moderators" }
            }
            @if post.kind == PostKind::Thread && post.locked_at.is_some() {
                p class="notice" { "The group's moderators closed this thread: no new replies." }
            }
            @if !post.is_deleted() { (super::sources::label_notice(post)) }
            @if let Some(cw) = &post.content_warning {
                details {
                    summary { "Content warning: " (cw) " (open to read)" }
                    (body)
                }
            } @else {
                (body)
            }
            @if !post.is_deleted() { (super::sources::sources_list(post)) }
            @if let Some(d) = author.and_then(|a| a.disclaimer_for(post)) {
                p class="notice disclaimer" { strong { "Written as a professional. " } (d) }
            }
            @if !post.is_deleted() && cx.can_write {
                // A waiting post takes no reactions and no replies yet.
                @if !post.is_held() {
                    div class="reactions" {
                        @for r in Reaction::ALL {
                            form method="post" action=(format!("/posts/{}/react", post.id)) {
                                input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                                input type="hidden" name="reaction" value=(r.as_str());
                                button class="secondary" type="submit" { (r.emoji()) " " (reaction_label(*r)) }
                            }
                        }
                    }
                    @if !cx.locked {
                        form method="post" action=(format!("/posts/{}/reply", post.id)) novalidate {
                            input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                            div class=(if draft.is_some() { "field has-error" } else { "field" }) {
                                label for=(reply_id) { "Reply to " (author.map(|a| a.display_name.as_str()).unwrap_or("this post")) }
                                (draft_error(draft))
                                textarea id=(reply_id) name="body" rows="3"
                                    aria-describedby=[draft.map(|_| format!("{reply_id}-error"))]
                                    aria-invalid=[draft.map(|_| "true")] { @if let Some(d) = draft { (d.text) } }
                            }
                            (speaking_field(
                                cx.viewer.and_then(|v| v.account.professional_role()),
                                "peer",
                                &reply_id,
                                cx.disclaimer,
                            ))
                            button type="submit" { "Send reply" }
                        }
                    }
                }
                @if own {
                    div class="actions" {
                        a class="button secondary" href=(format!("/posts/{}/edit", post.id)) { "Edit" }
                        form method="post" action=(format!("/posts/{}/delete", post.id)) {
                            input type="hidden" name=(CSRF_FIELD) value=(cx.csrf);
                            button class="secondary" type="submit" { "Delete this post" }
                        }
                    }
                }
            }
            @if cx.viewer.is_some() && !own && !post.is_deleted() {
                p {
                    a href=(format!("/posts/{}/report", post.id)) {
                        "Report"
                        span class="visually-hidden" { @if post.kind == PostKind::Thread { " this post" } @else { " this reply by " (handle) } }
                    }
                }
            }
            @if cx.moderator && !post.is_deleted() && !post.is_held() {
                (moderator_tools(post, cx, own))
            }
            @let children = cx.children.get(&post.id).map(Vec::as_slice).unwrap_or_default();
            @if !children.is_empty() {
                @if post.kind == PostKind::Thread {
                    @let n = descendants(post.id, cx.children);
                    h2 class="replies-heading" { (n) @if n == 1 { " reply" } @else { " replies" } }
                }
                ul class="cards replies" {
                    @for child in children {
                        li { (render_post(child, cx)) }
                    }
                }
            }
        }
    }
}

/// Each post's direct replies, in thread order, by the id they answer: one
/// pass, so a thread page is linear in the thread's length.
fn children_of(posts: &[Post]) -> HashMap<i64, Vec<&Post>> {
    let mut children: HashMap<i64, Vec<&Post>> = HashMap::new();
    for p in posts {
        if let Some(parent) = p.parent_id {
            children.entry(parent).or_default().push(p);
        }
    }
    children
}

/// How many posts in a thread answer, directly or not, the post `id`.
/// Iterative, so a very deep chain of replies cannot overflow the stack.
fn descendants(id: i64, children: &HashMap<i64, Vec<&Post>>) -> usize {
    let mut count = 0;
    let mut todo = vec![id];
    while let Some(next) = todo.pop() {
        for child in children.get(&next).into_iter().flatten() {
            count += 1;
            todo.push(child.id);
        }
    }
    count
}

fn reaction_label(r: Reaction) -> &'static str {
    match r {
        Reaction::Hug => "Hug",
        Reaction::MeToo => "Me too",
        Reaction::Helpful => "Helpful",
    }
}

/// The page of a group a post is in.
pub(super) fn group_path_of(app: &hearth_app::App, group: &PostGroup) -> String {
    match group {
        PostGroup::Local(g) => format!("/groups/{}", g.name),
        PostGroup::Remote(_) => format!("/groups/{}", group.handle(app)),
    }
}

async fn show_thread(
    state: &ApiState,
    headers: &HeaderMap,
    session: Option<&WebSession>,
    id: i64,
    draft: Option<Draft>,
) -> Response {
    let Ok(thread) = state.app.thread(session.map(|s| &s.session), id).await else {
        return not_found(state, headers, session);
    };
    let group = &thread.group;
    // The viewer's own posts waiting for a moderator are among them.
    let posts = &thread.posts;
    let Some(root) = posts.iter().find(|p| p.kind == PostKind::Thread).cloned() else {
        return not_found(state, headers, session);
    };
    let authors = state.app.authors(posts).await.unwrap_or_default();
    let care = state.app.care_marks(posts).await.unwrap_or_default();
    let children = children_of(posts);
    // The read rule's look-up already says whether the viewer is a member.
    let can_write = session.is_some() && thread.member;
    // Admins here may moderate every group here.
    let moderator = match session {
        Some(s) if is_admin(s) && matches!(group, PostGroup::Local(_)) => true,
        Some(s) => state.app.moderates(s, group).await.unwrap_or(false),
        None => false,
    };
    // The viewer's own words here that may mean a crisis: where to find
    // help, at the top, seen by nobody else.
    let support = posts
        .iter()
        .rev()
        .find_map(|p| state.app.crisis_support(session.map(|s| &s.session), p));
    let locked = root.locked_at.is_some();
    let back = group_path_of(&state.app, group);
    let status = if draft.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let errors: Vec<FieldError> = draft
        .iter()
        .map(|d| FieldError {
            // A form that is not shown (the thread was closed, the person
            // left, or moderates no more): the summary points at the post.
            field: if (d.form == DraftForm::Reply
                && (locked || !can_write || posts.iter().any(|p| p.id == d.post && p.is_held())))
                || (d.form == DraftForm::Remove && !moderator)
            {
                format!("post-{}", d.post)
            } else {
                d.field()
            },
            message: d.error.clone(),
        })
        .collect();
    page(
        state,
        headers,
        session,
        thread_title(&root),
        status,
        |csrf| {
            let cx = ThreadCtx {
                authors: &authors,
                children: &children,
                csrf,
                viewer: session,
                can_write,
                locked,
                moderator,
                draft: draft.as_ref(),
                care: &care,
                group_here: matches!(group, PostGroup::Local(_)),
                disclaimer: &state.app.config.trust.professional_disclaimer,
            };
            html! {
                (error_summary(&errors))
                @if let Some(support) = &support {
                    section class="notice crisis-support" aria-labelledby="crisis-support-title" {
                        h2 id="crisis-support-title" { "You are not alone" }
                        p { "What you wrote sounds very hard. Your post is there for the group to read. If you are thinking of hurting yourself, please talk to someone now:" }
                        (helplines(&support.resources))
                        p { "If you are in danger right now, call your local emergency number. Only you can see this message. " a href=(format!("/help?language={}", support.language)) { "More places to find support" } }
                    }
                }
                p { a href=(back) { "Back to the group" } }
                (render_post(&root, &cx))
                (need_help())
            }
        },
    )
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
    show_thread(&state, &headers, session.as_ref(), id, None).await
}

/// The thread a post belongs to, for redirecting back to it (the post's
/// own id when it cannot be read).
async fn thread_of(state: &ApiState, session: &WebSession, id: i64) -> i64 {
    match state.app.readable_post(Some(&**session), id).await {
        Ok((p, _)) => p.thread_id(),
        Err(_) => id,
    }
}

async fn post_action(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
    form: &HashMap<String, String>,
) -> Result<(WebSession, i64), Response> {
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
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(parent) = id.parse::<i64>() else {
        return not_found(&state, &headers, Some(&session));
    };
    let body = field(&form, "body").to_owned();
    let error = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("").message
    } else {
        let input = PostInput {
            body: Some(body.clone()),
            speaking_as: Some(field(&form, "speaking_as").to_owned()),
            ..Default::default()
        };
        match state
            .app
            .create_reply(&Origin::local(&session), parent, input)
            .await
        {
            Ok(post) => {
                return redirect_to(&format!("/posts/{}#post-{}", post.thread_id(), post.id));
            }
            Err(AppError::Invalid(errs)) => field_errors(errs)
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join(". "),
            Err(AppError::Forbidden(why)) => why.to_owned(),
            // A closed thread says so in its own words.
            Err(AppError::Refused(why)) => why,
            Err(AppError::NotMember) => "Join the group to reply.".to_owned(),
            Err(AppError::TooMany { .. }) => SLOW_DOWN.to_owned(),
            Err(AppError::NotFound { .. }) => {
                return not_found(&state, &headers, Some(&session));
            }
            Err(err) => {
                tracing::error!(error = %err, "reply from the web failed");
                went_wrong("").message
            }
        }
    };
    let thread = thread_of(&state, &session, parent).await;
    let draft = Draft {
        post: parent,
        form: DraftForm::Reply,
        text: body,
        error,
    };
    show_thread(&state, &headers, Some(&session), thread, Some(draft)).await
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
        && let Err(err) = state
            .app
            .react(&Origin::local(&session), id, reaction)
            .await
    {
        tracing::info!(error = %err, "reaction from the web refused");
    }
    let thread = thread_of(&state, &session, id).await;
    redirect_to(&format!("/posts/{thread}#post-{id}"))
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
    let thread = thread_of(&state, &session, id).await;
    match state.app.delete_post(&Origin::local(&session), id).await {
        // Where it went, and what each server said.
        Ok(()) => redirect_to(&format!("/posts/{id}/erasure")),
        Err(err) => {
            tracing::info!(error = %err, "delete from the web refused");
            redirect_to(&format!("/posts/{thread}"))
        }
    }
}

pub async fn remove(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, id) = match post_action(&state, &headers, &id, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let thread = thread_of(&state, &session, id).await;
    let reason = field(&form, "reason");
    let error = match state
        .app
        .remove_post(&Origin::local(&session), id, reason)
        .await
    {
        Ok(()) => return redirect_to(&format!("/posts/{thread}#post-{id}")),
        Err(AppError::Invalid(errs)) => errs
            .into_iter()
            .map(|e| match e.code {
                "required" => {
                    "Say why you are removing it, in a few words: the author is told".to_owned()
                }
                _ => e.message,
            })
            .collect::<Vec<_>>()
            .join(". "),
        Err(AppError::Forbidden(why)) => why.to_owned(),
        Err(AppError::NotFound { .. }) => return not_found(&state, &headers, Some(&session)),
        Err(err) => {
            tracing::error!(error = %err, "removal from the web failed");
            went_wrong("").message
        }
    };
    let draft = Draft {
        post: id,
        form: DraftForm::Remove,
        text: reason.to_owned(),
        error,
    };
    show_thread(&state, &headers, Some(&session), thread, Some(draft)).await
}

fn edit_form(
    post: &Post,
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    show_preview: bool,
) -> Markup {
    let thread = post.kind == PostKind::Thread;
    html! {
        (error_summary(errors))
        h1 { @if thread { "Edit your post" } @else { "Edit your reply" } }
        p class="notice" { "Everyone who can read it will see the new version, marked as edited. Servers that already have it are sent the change." }
        @if show_preview { (preview(form)) }
        form method="post" action=(format!("/posts/{}/edit", post.id)) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            @if thread {
                (text_field("title", "Title", "text", field(form, "title"), None, errors, "off"))
                (kind_field(form, errors))
            }
            (body_field(form, errors, if thread { "Your post" } else { "Your reply" }, 8))
            (text_field("content_warning", "Content warning (optional)", "text", field(form, "content_warning"), Some("If it talks about something distressing, say what here."), errors, "off"))
            @if thread {
                (text_field("link", "Link (optional)", "text", field(form, "link"), None, errors, "url"))
                (super::sources::source_rows(form, errors))
            }
            button type="submit" name="action" value="save" { "Save changes" }
        }
        p { a href=(format!("/posts/{}#post-{}", post.thread_id(), post.id)) { "Cancel and go back" } }
    }
}

async fn own_post_for_edit(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(WebSession, Post), Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    let found = match id.parse::<i64>() {
        Ok(id) => state.app.readable_post(Some(&*session), id).await.ok(),
        Err(_) => None,
    };
    match found {
        Some((post, _))
            if post.author_user_id == Some(session.account.id) && !post.is_deleted() =>
        {
            Ok((session, post))
        }
        _ => Err(not_found(state, headers, Some(&session))),
    }
}

pub async fn edit_post_form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (session, post) = match own_post_for_edit(&state, &headers, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut form: HashMap<String, String> = [
        ("title", post.title.clone()),
        ("body", post.source.clone()),
        (
            "content_warning",
            post.content_warning.clone().unwrap_or_default(),
        ),
        ("link", post.link.clone().unwrap_or_default()),
        (
            "support_kind",
            post.support_kind
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    form.extend(super::sources::to_form(&post.sources));
    page(
        &state,
        &headers,
        Some(&session),
        "Edit your post",
        StatusCode::OK,
        |csrf| edit_form(&post, csrf, &form, &[], false),
    )
}

pub async fn edit_post(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, post) = match own_post_for_edit(&state, &headers, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let show = |status: StatusCode, errors: Vec<FieldError>, show_preview: bool| {
        page(
            &state,
            &headers,
            Some(&session),
            "Edit your post",
            status,
            |csrf| edit_form(&post, csrf, &form, &errors, show_preview),
        )
    };
    if field(&form, "action") == "preview" {
        return show(StatusCode::OK, Vec::new(), true);
    }
    let fail = |errors: Vec<FieldError>| show(StatusCode::UNPROCESSABLE_ENTITY, errors, false);
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(vec![expired("body")]);
    }
    let thread = post.kind == PostKind::Thread;
    let input = PostInput {
        title: thread.then(|| field(&form, "title").to_owned()),
        body: Some(field(&form, "body").to_owned()),
        support_kind: thread.then(|| field(&form, "support_kind").to_owned()),
        content_warning: Some(field(&form, "content_warning").to_owned()),
        link: thread.then(|| field(&form, "link").to_owned()),
        visibility: None,
        sources: thread.then(|| form_sources(&form)),
        speaking_as: Some(field(&form, "speaking_as"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    match state
        .app
        .edit_post(&Origin::local(&session), post.id, input)
        .await
    {
        Ok(p) => redirect_to(&format!("/posts/{}#post-{}", p.thread_id(), p.id)),
        Err(AppError::Invalid(errs)) => fail(field_errors(errs)),
        Err(AppError::Forbidden(why)) => fail(vec![FieldError {
            field: "body".into(),
            message: why.to_owned(),
        }]),
        Err(err) => {
            tracing::error!(error = %err, "edit from the web failed");
            fail(vec![went_wrong("body")])
        }
    }
}

/// The helplines, each with a number to tap and a link, for the help
/// page, the box beside an author's own post, and a moderator's message.
pub(super) fn helplines(resources: &[hearth_domain::crisis::CrisisResource]) -> Markup {
    html! {
        ul class="cards helplines" {
            @for r in resources {
                li {
                    h3 { (r.name) }
                    @if !r.phone.is_empty() {
                        p {
                            "Call "
                            a href=(format!("tel:{}", r.phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect::<String>())) {
                                (r.phone)
                            }
                        }
                    }
                    @if !r.url.is_empty() {
                        p { a href=(r.url) rel="noopener noreferrer" { (r.url) } }
                    }
                    @if !r.hours.is_empty() { p class="hint" { (r.hours) } }
                }
            }
        }
    }
}

/// `?language=` of the help page: the helplines in that language first.
#[derive(serde::Deserialize)]
pub struct HelpQuery {
    language: Option<String>,
}

pub async fn help(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<HelpQuery>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let resources = state.app.crisis_resources(q.language.as_deref());
    page(
        &state,
        &headers,
        session.as_ref(),
        "Where to find support",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "Where to find support" }
                p { strong { "If you or someone else is in danger right now, call your local emergency number." } }
                p { "If you are struggling, you do not have to wait until it gets worse. Talk to someone you trust, your doctor or nurse, or one of these services. They are free and you do not have to give your name." }
                @if resources.is_empty() {
                    p { "The people who run this server have not listed local services yet. Your doctor or a hospital can tell you who to call." }
                } @else {
                    (helplines(&resources))
                }
            }
        },
    )
}

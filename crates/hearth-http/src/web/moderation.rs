//! Moderation pages: reporting a post and following what became of one's
//! reports, closing a thread to replies and pinning it, the reports
//! waiting for a moderator and those already dealt with, and a group's
//! moderation log. Each form calls one use-case of
//! `hearth_app::moderation`, which decides who may; a group's bans and
//! moderators are in `super::bans`, the posts waiting for a moderator in
//! `super::held`, the admins' bans and log for the whole server in
//! `super::admin_moderation`.
//!
//! The reports page shows the words of the posts reported: each one is
//! looked up through the read rule, as its reader (the moderator) may see
//! it; a member's own reports name the post (through the read rule too)
//! without its words; the log shows no post's words at all, only links to
//! them.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::moderation::{LogLine, LogReader, Report, ReportRequest};
use hearth_app::posts::{Author, PostGroup};
use hearth_app::records::{Post, PostKind};
use hearth_app::{AppError, LocalRef, Origin, Reader};
use hearth_domain::moderation::{ModAction, ReportCategory, ReportState};
use hearth_domain::text;
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::groups::{SLOW_DOWN, group_path_of, need_help, not_found};
use super::layout::{FieldError, error_summary, radios, text_area, when};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

/// Reports and log lines shown on one page.
pub(super) const PAGE_SIZE: u64 = 50;

/// `?before=` of a paged list, `?resolved=` (`done`, `already`) after a
/// report was dealt with, and `?state=resolved` for the reports already
/// dealt with.
#[derive(serde::Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    resolved: Option<String>,
    state: Option<String>,
}

impl PageQuery {
    pub(super) fn before(&self) -> Option<i64> {
        self.before.as_deref().and_then(|b| b.parse().ok())
    }

    /// The reports asked for: those dealt with, or (by default) those
    /// waiting.
    fn state(&self) -> ReportState {
        match self.state.as_deref() {
            Some("resolved") => ReportState::Resolved,
            _ => ReportState::Open,
        }
    }
}

/// The `?before=` of the next page of a list of `PAGE_SIZE`, if it may
/// have one.
pub(super) fn older_than(len: usize, last: Option<i64>) -> Option<i64> {
    (len as u64 == PAGE_SIZE).then_some(last).flatten()
}

/// One problem with one field.
pub(super) fn one_error(field: &str, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError {
        field: field.to_owned(),
        message: message.into(),
    }]
}

pub(super) fn expired(field: &str) -> Vec<FieldError> {
    one_error(
        field,
        "This form had expired. Please check your answers and send it again.",
    )
}

fn went_wrong(field: &str) -> Vec<FieldError> {
    one_error(
        field,
        "Something went wrong on our side. Nothing was changed. Please try again in a moment.",
    )
}

/// The page a person gets for a moderators' or admins' page they may not
/// see; `who` says who may ("the group's moderators").
pub(super) fn only_for(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    title: &str,
    who: &str,
) -> Response {
    page(
        state,
        headers,
        Some(session),
        title,
        StatusCode::FORBIDDEN,
        |_| {
            html! {
                h1 { (title) }
                p { "Only " (who) " can see this page." }
                p { a href="/" { "Go to your groups" } }
            }
        },
    )
}

/// How a person is named on a page: their display name and handle, with a
/// link to their profile when they are on this server.
pub(super) fn person(author: &Author) -> Markup {
    html! {
        @if author.local {
            a href=(format!("/people/{}", author.handle.split('@').next().unwrap_or(""))) { (author.display_name) }
            " (" (author.handle) ")"
        } @else if author.display_name == author.handle {
            (author.handle)
        } @else {
            (author.display_name) " (" (author.handle) ")"
        }
    }
}

// ---- reporting a post --------------------------------------------------------

/// A post the logged-in person may read and report, with its group and
/// author.
struct Reportable {
    session: WebSession,
    post: Post,
    group: PostGroup,
    author: Author,
}

async fn reportable(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
) -> Result<Reportable, Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    let found = match id.parse::<i64>() {
        Ok(id) => state.app.readable_post(Some(&*session), id).await.ok(),
        Err(_) => None,
    };
    let Some((post, group)) = found.filter(|(p, _)| !p.is_deleted()) else {
        return Err(not_found(state, headers, Some(&session)));
    };
    let author = state
        .app
        .actor_display(&post.author_ap_id)
        .await
        .unwrap_or_else(|_| Author {
            handle: post.author_ap_id.clone(),
            display_name: post.author_ap_id.clone(),
            url: post.author_ap_id.clone(),
            local: false,
            professional: None,
        });
    Ok(Reportable {
        session,
        post,
        group,
        author,
    })
}

fn back_to(post: &Post) -> String {
    format!("/posts/{}#post-{}", post.thread_id(), post.id)
}

/// "the post “Title”" or "a reply".
fn what(post: &Post) -> Markup {
    html! {
        @if post.kind == PostKind::Thread { "the post \u{201c}" (post.title) "\u{201d}" } @else { "a reply" }
    }
}

/// A short plain-text excerpt of a post, unless a content warning folds it.
fn excerpt(post: &Post) -> Markup {
    html! {
        @if let Some(cw) = &post.content_warning {
            p class="hint" { "It has a content warning: " (cw) ". Its words are not shown here." }
        } @else {
            blockquote class="rules" { (text::excerpt(&text::html_to_plain(&post.content_html), 280)) }
        }
    }
}

fn report_content(
    r: &Reportable,
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    let post = &r.post;
    let elsewhere = matches!(r.group, PostGroup::Remote(_));
    let choices: Vec<(&str, &str)> = ReportCategory::chosen_by_people()
        .map(|c| (c.as_str(), c.describe()))
        .collect();
    html! {
        (error_summary(errors))
        h1 { @if post.kind == PostKind::Thread { "Report a post" } @else { "Report a reply" } }
        p { "You are reporting " (what(post)) " by " (person(&r.author)) " in " (r.group.title()) "." }
        (excerpt(post))
        p class="notice" {
            @if elsewhere {
                "The people who run this server, and the group's own server, will look at your report. "
            } @else {
                "The group's moderators will look at your report. "
            }
            (r.author.display_name) " will not be told who reported it."
        }
        form method="post" action=(format!("/posts/{}/report", post.id)) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (radios("category", "What is wrong with it?", &choices, field(form, "category"), None, errors))
            (text_area("comment", "comment", "Tell the moderators more (optional)", field(form, "comment"),
                Some("Needed if you chose \u{201c}Something else\u{201d}. Only the moderators read this."), errors, 4))
            button type="submit" { "Send report" }
        }
        (need_help())
        p { a href=(back_to(post)) { "Cancel and go back to the thread" } }
    }
}

/// The page for someone trying to report their own post.
fn own_post(state: &ApiState, headers: &HeaderMap, r: &Reportable) -> Response {
    page(
        state,
        headers,
        Some(&r.session),
        "This is your post",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "This is your post" }
                p { "You cannot report " (what(&r.post)) " because you wrote it. If you want it gone, you can delete it from the thread." }
                p { a href=(back_to(&r.post)) { "Go back to the thread" } }
            }
        },
    )
}

fn is_own(r: &Reportable) -> bool {
    r.post.author_user_id == Some(r.session.account.id)
}

pub async fn report_form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let r = match reportable(&state, &headers, &id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    if is_own(&r) {
        return own_post(&state, &headers, &r);
    }
    let empty = HashMap::new();
    page(
        &state,
        &headers,
        Some(&r.session),
        "Report a post",
        StatusCode::OK,
        |csrf| report_content(&r, csrf, &empty, &[]),
    )
}

pub async fn send_report(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let r = match reportable(&state, &headers, &id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    if is_own(&r) {
        return own_post(&state, &headers, &r);
    }
    let fail = |errors: Vec<FieldError>| {
        page(
            &state,
            &headers,
            Some(&r.session),
            "Report a post",
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf| report_content(&r, csrf, &form, &errors),
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(expired("category"));
    }
    let request = ReportRequest {
        post_id: Some(r.post.id),
        account: None,
        category: field(&form, "category").to_owned(),
        comment: field(&form, "comment").to_owned(),
    };
    let category = match state.app.report(&r.session, request).await {
        Ok(report) => report.category,
        Err(AppError::Invalid(errs)) => {
            return fail(
                errs.into_iter()
                    .map(|e| FieldError {
                        message: match (e.field, e.code) {
                            ("category", _) => "Choose what is wrong with it".to_owned(),
                            ("comment", "required") => {
                                "Say in a few words what is wrong, so the moderators understand"
                                    .to_owned()
                            }
                            _ => e.message,
                        },
                        field: if e.field == "comment" {
                            "comment".to_owned()
                        } else {
                            "category".to_owned()
                        },
                    })
                    .collect(),
            );
        }
        Err(AppError::TooMany { .. }) => return fail(one_error("category", SLOW_DOWN)),
        Err(AppError::NotFound { .. }) => return not_found(&state, &headers, Some(&r.session)),
        Err(err) => {
            tracing::error!(error = %err, "report from the web failed");
            return fail(went_wrong("category"));
        }
    };
    page(
        &state,
        &headers,
        Some(&r.session),
        "Thank you",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "Thank you for telling us" }
                p role="status" { "Your report was sent. The moderators will look at it. " (r.author.display_name) " will not be told who reported it." }
                p { "You will get a notification when they have dealt with it. " a href=(MY_REPORTS) { "Your reports" } " shows every report you sent and what became of it." }
                @if category == ReportCategory::SelfHarm { (need_help()) }
                p { a href=(back_to(&r.post)) { "Go back to the thread" } }
            }
        },
    )
}

// ---- closing a thread to replies, pinning it -------------------------------

/// A moderator's mark on a thread, as its buttons set it.
#[derive(Debug, Clone, Copy)]
enum Mark {
    /// Closed to replies (`true`) or open again.
    Locked(bool),
    /// Pinned to the top of its group (`true`) or not.
    Pinned(bool),
}

async fn set_mark(
    state: ApiState,
    headers: HeaderMap,
    id: String,
    form: HashMap<String, String>,
    mark: Mark,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&state, &headers, Some(&session));
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        let origin = Origin::local(&session);
        let done = match mark {
            Mark::Locked(on) => state.app.lock_thread(&origin, id, on).await,
            Mark::Pinned(on) => state.app.pin_thread(&origin, id, on).await,
        };
        // The thread page shows how things stand.
        if let Err(err) = done {
            tracing::info!(error = %err, ?mark, "marking a thread from the web refused");
        }
    }
    redirect_to(&format!("/posts/{id}"))
}

pub async fn lock(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    set_mark(state, headers, id, form, Mark::Locked(true)).await
}

pub async fn unlock(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    set_mark(state, headers, id, form, Mark::Locked(false)).await
}

pub async fn pin(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    set_mark(state, headers, id, form, Mark::Pinned(true)).await
}

pub async fn unpin(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    set_mark(state, headers, id, form, Mark::Pinned(false)).await
}

// ---- the reports a moderator handles ----------------------------------------

/// The post a report is about, as the moderator may see it.
enum Reported {
    /// A post here the moderator may read.
    Here(Box<Post>),
    /// A post stored elsewhere (or here but not readable by this
    /// moderator): its address.
    Elsewhere(String),
}

/// One report with what the page shows beside it.
struct ReportItem {
    report: Report,
    post: Option<Reported>,
    /// The group's title and page here.
    group: Option<(String, String)>,
    account: Author,
    /// Who dealt with it, once someone did.
    resolver: Option<Author>,
}

/// Someone as the pages name them, or their address when this server
/// knows nothing more.
async fn author_of(state: &ApiState, ap_id: &str) -> Author {
    state
        .app
        .actor_display(ap_id)
        .await
        .unwrap_or_else(|_| Author {
            handle: ap_id.to_owned(),
            display_name: ap_id.to_owned(),
            url: ap_id.to_owned(),
            local: false,
            professional: None,
        })
}

/// The title of a report's group and its page here.
async fn group_of_report(state: &ApiState, report: &Report) -> Option<(String, String)> {
    let app = &state.app;
    match &report.group_ap_id {
        Some(id) => app
            .find_group(id)
            .await
            .ok()
            .map(|g| (g.title(), group_path_of(app, &g))),
        None => None,
    }
}

async fn report_item(state: &ApiState, session: &WebSession, report: Report) -> ReportItem {
    let app = &state.app;
    let post = match &report.post_ap_id {
        None => None,
        Some(ap_id) => Some(match app.urls().parse_local_id(ap_id) {
            // Through the read rule, as the moderator may read it.
            Some(LocalRef::Post(_)) => {
                match app
                    .own_post_for(&Reader::viewer(Some(&session.session)), ap_id)
                    .await
                {
                    Ok((post, _)) => Reported::Here(Box::new(post)),
                    Err(_) => Reported::Elsewhere(ap_id.clone()),
                }
            }
            _ => Reported::Elsewhere(ap_id.clone()),
        }),
    };
    let resolver = match &report.resolved_by {
        Some(by) => Some(author_of(state, by).await),
        None => None,
    };
    ReportItem {
        group: group_of_report(state, &report).await,
        account: author_of(state, &report.account_ap_id).await,
        report,
        post,
        resolver,
    }
}

/// A resolution someone sent, kept to show again with its problem.
struct Kept {
    report: i64,
    text: String,
}

const REPORTS: &str = "/moderation/reports";
const RESOLVED_REPORTS: &str = "/moderation/reports?state=resolved";

fn reports_title(shelf: ReportState) -> &'static str {
    match shelf {
        ReportState::Open => "Reports",
        ReportState::Resolved => "Reports dealt with",
    }
}

/// The two lists of reports, the one shown marked as the current page.
fn reports_nav(shelf: ReportState) -> Markup {
    html! {
        nav aria-label="Reports" {
            ul class="filters" {
                li { a href=(REPORTS) aria-current=[(shelf == ReportState::Open).then_some("page")] { "Waiting" } }
                li { a href=(RESOLVED_REPORTS) aria-current=[(shelf == ReportState::Resolved).then_some("page")] { "Dealt with" } }
            }
        }
    }
}

/// What the page shows of one report, above its form or its outcome.
fn report_summary(item: &ReportItem) -> Markup {
    let r = &item.report;
    let crisis = r.category == ReportCategory::PossibleCrisis;
    html! {
        h2 id=(format!("report-{}", r.id)) class=[crisis.then_some("crisis")] {
            @if crisis { "Possible crisis" } @else { (r.category.describe()) }
        }
        @if crisis && r.state == ReportState::Open {
            p class="notice warning" {
                "Hearth noticed words that may mean this person is in danger. It may not be a \
                 crisis: please look first, and reach out kindly. The person who wrote it was \
                 shown where to find help."
            }
        }
        p {
            "About "
            @match &item.post {
                Some(Reported::Here(p)) if p.is_deleted() => { (what(p)) ", already removed," }
                Some(Reported::Here(p)) => { a href=(back_to(p)) { (what(p)) } }
                Some(Reported::Elsewhere(url)) => { a href=(url) rel="nofollow noopener noreferrer" { "a post on another server" } }
                None => { "their account" }
            }
            " by " (person(&item.account))
            @if let Some((title, path)) = &item.group { " in " a href=(path) { (title) } }
            "."
        }
        @match &item.post {
            Some(Reported::Here(p)) if !p.is_deleted() => { (excerpt(p)) }
            _ => {}
        }
        @if !r.comment.is_empty() {
            @if crisis { p { (r.comment) } }
            @else { p { "What they said: \u{201c}" (r.comment) "\u{201d}" } }
        }
        p class="hint" {
            @if crisis { "Noticed " } @else { "Reported " }
            (when(r.created_at))
            @if r.flagged_by.is_some() { " · sent by another server" }
        }
    }
}

/// One page of reports: those waiting, each with the form to deal with
/// it, or those dealt with, each with who did what and when.
struct ReportsView<'a> {
    shelf: ReportState,
    items: &'a [ReportItem],
    errors: &'a [FieldError],
    kept: Option<&'a Kept>,
    notice: Option<&'a str>,
    older: Option<i64>,
}

fn reports_content(v: &ReportsView<'_>, csrf: &str) -> Markup {
    let older = v.older.map(|before| match v.shelf {
        ReportState::Open => format!("{REPORTS}?before={before}"),
        ReportState::Resolved => format!("{RESOLVED_REPORTS}&before={before}"),
    });
    html! {
        (error_summary(v.errors))
        h1 { (reports_title(v.shelf)) }
        (reports_nav(v.shelf))
        @if let Some(n) = v.notice { p class="notice" role="status" { (n) } }
        @match v.shelf {
            ReportState::Open => {
                p { "Reports from members about posts and people in the groups you moderate. The person reported is not told who reported them." }
            }
            ReportState::Resolved => {
                p { "Reports about the groups you moderate that someone has already dealt with, newest report first, with what they did." }
            }
        }
        @if v.items.is_empty() {
            @match v.shelf {
                ReportState::Open => { p { "No reports are waiting. Thank you for looking after your groups." } }
                ReportState::Resolved => { p { "No report has been dealt with yet." } }
            }
        } @else {
            ul class="cards" {
                @for item in v.items {
                    @let r = &item.report;
                    li aria-labelledby=(format!("report-{}", r.id)) {
                        (report_summary(item))
                        @if v.shelf == ReportState::Open && r.category == ReportCategory::PossibleCrisis {
                            @let id = format!("support-{}", r.id);
                            form method="post" action=(format!("/moderation/reports/{}/support", r.id)) novalidate {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                @let error = v.errors.iter().find(|e| e.field == id);
                                @if let Some(e) = error {
                                    p class="error-message" id=(format!("{id}-error")) {
                                        span class="visually-hidden" { "Error: " } (e.message)
                                    }
                                }
                                button type="submit" class="secondary" id=(id)
                                    aria-describedby=[error.map(|_| format!("{id}-error"))] {
                                    "Send them where to find help, privately"
                                }
                            }
                        }
                        @if v.shelf == ReportState::Open {
                            @let id = format!("resolution-{}", r.id);
                            @let draft = v.kept.filter(|k| k.report == r.id);
                            form method="post" action=(format!("/moderation/reports/{}/resolve", r.id)) novalidate {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                (text_area(&id, "resolution", "What did you do?", draft.map(|k| k.text.as_str()).unwrap_or(""),
                                    Some("For example: \u{201c}Removed the post\u{201d} or \u{201c}Talked to them, nothing to remove\u{201d}. The person who reported it is told this, and it goes in the moderation log."),
                                    v.errors, 2))
                                button type="submit" { "Mark as dealt with" }
                            }
                        } @else {
                            p {
                                strong { "Dealt with" }
                                @if let Some(at) = r.resolved_at { " " (when(at)) }
                                @if let Some(by) = &item.resolver { " by " (person(by)) }
                                "."
                            }
                            @if !r.resolution.is_empty() {
                                p { "What was done: \u{201c}" (r.resolution) "\u{201d}" }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = older {
                p { a href=(href) { "Older reports" } }
            }
        }
    }
}

/// The reports in `shelf` this person handles, with what the page shows
/// beside them; `Err` with the page to send when they handle none. Which
/// reports they handle is the use-case's answer.
async fn handled_reports(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    shelf: ReportState,
    before: Option<i64>,
) -> Result<(Vec<ReportItem>, Option<i64>), Response> {
    let reports = match state
        .app
        .reports(session, Some(shelf), before, PAGE_SIZE)
        .await
    {
        Ok(reports) => reports,
        Err(AppError::Forbidden(_)) => {
            return Err(only_for(
                state,
                headers,
                session,
                reports_title(shelf),
                "moderators and the people who run this server",
            ));
        }
        Err(err) => {
            tracing::error!(error = %err, "reports page failed");
            Vec::new()
        }
    };
    let older = older_than(reports.len(), reports.last().map(|r| r.id));
    let mut items = Vec::with_capacity(reports.len());
    for report in reports {
        items.push(report_item(state, session, report).await);
    }
    Ok((items, older))
}

pub async fn reports(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let shelf = q.state();
    let (items, older) = match handled_reports(&state, &headers, &session, shelf, q.before()).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = match q.resolved.as_deref() {
        Some("done") => Some("Done. The person who reported it is told what you did."),
        Some("already") => Some("Someone had already dealt with that report."),
        Some("support-sent") => Some(
            "Sent. They will find where to get help now in their notifications. \
             Only they can see it.",
        ),
        _ => None,
    };
    let view = ReportsView {
        shelf,
        items: &items,
        errors: &[],
        kept: None,
        notice,
        older,
    };
    page(
        &state,
        &headers,
        Some(&session),
        reports_title(shelf),
        StatusCode::OK,
        |csrf| reports_content(&view, csrf),
    )
}

pub async fn resolve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&state, &headers, Some(&session));
    };
    let text = field(&form, "resolution");
    let field_id = format!("resolution-{id}");
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired(&field_id)
    } else {
        match state.app.resolve_report(&session, id, text).await {
            Ok(_) => return redirect_to(&format!("{REPORTS}?resolved=done")),
            // Another moderator was quicker: the list says so.
            Err(AppError::Invalid(errs)) if errs.iter().any(|e| e.code == "resolved") => {
                return redirect_to(&format!("{REPORTS}?resolved=already"));
            }
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .map(|e| FieldError {
                    field: field_id.clone(),
                    message: match (e.field, e.code) {
                        ("resolution", "required") => {
                            "Say what you did, in a few words: the person who reported it is told"
                                .to_owned()
                        }
                        _ => e.message,
                    },
                })
                .collect(),
            Err(AppError::NotFound { .. }) => {
                return not_found(&state, &headers, Some(&session));
            }
            Err(err) => {
                tracing::error!(error = %err, "resolving a report from the web failed");
                went_wrong(&field_id)
            }
        }
    };
    let shelf = ReportState::Open;
    let (items, older) = match handled_reports(&state, &headers, &session, shelf, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let kept = Kept {
        report: id,
        text: text.to_owned(),
    };
    let view = ReportsView {
        shelf,
        items: &items,
        errors: &errors,
        kept: Some(&kept),
        notice: None,
        older,
    };
    page(
        &state,
        &headers,
        Some(&session),
        reports_title(shelf),
        StatusCode::UNPROCESSABLE_ENTITY,
        |csrf| reports_content(&view, csrf),
    )
}

/// A moderator sends the author of a "possible crisis" post the
/// helplines, privately.
pub async fn send_support(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&state, &headers, Some(&session));
    };
    let field_id = format!("support-{id}");
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired(&field_id)
    } else {
        match state.app.send_crisis_support(&session, id).await {
            Ok(()) => return redirect_to(&format!("{REPORTS}?resolved=support-sent")),
            Err(AppError::NotFound { .. }) => {
                return not_found(&state, &headers, Some(&session));
            }
            Err(AppError::Refused(message)) => one_error(&field_id, message),
            Err(err) => {
                tracing::error!(error = %err, "sending crisis support from the web failed");
                went_wrong(&field_id)
            }
        }
    };
    let shelf = ReportState::Open;
    let (items, older) = match handled_reports(&state, &headers, &session, shelf, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let view = ReportsView {
        shelf,
        items: &items,
        errors: &errors,
        kept: None,
        notice: None,
        older,
    };
    page(
        &state,
        &headers,
        Some(&session),
        reports_title(shelf),
        StatusCode::UNPROCESSABLE_ENTITY,
        |csrf| reports_content(&view, csrf),
    )
}

// ---- the reports a member sent ----------------------------------------------

/// The page of a member's own reports (linked from the header).
pub(super) const MY_REPORTS: &str = "/me/reports";

/// What one of my reports was about, as I may see it now.
enum AboutMine {
    /// A post I may still read (perhaps removed since).
    Post(Box<Post>),
    /// A post I can no longer read (I left its group, say).
    Unreadable,
    /// A person's account.
    Account,
}

struct MyReport {
    report: Report,
    about: AboutMine,
    /// Whose post or account it was about.
    account: Author,
    group: Option<(String, String)>,
}

fn my_report_card(item: &MyReport) -> Markup {
    let r = &item.report;
    let heading = format!("my-report-{}", r.id);
    let resolved = r.state == ReportState::Resolved;
    html! {
        li aria-labelledby=(heading) {
            h2 id=(heading) { (r.category.describe()) }
            p { strong class="tag" { @if resolved { "Dealt with" } @else { "Waiting" } } }
            p {
                "About "
                @match &item.about {
                    AboutMine::Post(p) if p.is_deleted() => { (what(p)) ", since removed," }
                    AboutMine::Post(p) => { a href=(back_to(p)) { (what(p)) } }
                    AboutMine::Unreadable => { "a post you can no longer see" }
                    AboutMine::Account => { "the account of" }
                }
                @if matches!(item.about, AboutMine::Account) { " " } @else { " by " }
                (person(&item.account))
                @if let Some((title, path)) = &item.group { " in " a href=(path) { (title) } }
                "."
            }
            @if !r.comment.is_empty() {
                p { "You said: \u{201c}" (r.comment) "\u{201d}" }
            }
            p class="hint" { "Sent " (when(r.created_at)) }
            @if resolved {
                p {
                    "The moderators dealt with it"
                    @if let Some(at) = r.resolved_at { " on " (when(at)) }
                    "."
                    @if !r.resolution.is_empty() { " They said: \u{201c}" (r.resolution) "\u{201d}" }
                }
            } @else {
                p {
                    "The moderators have not dealt with it yet. You will get a notification when they have."
                    @if r.flag_ap_id.is_some() {
                        " It was also sent, without your name, to the other server involved. Not every server says when it has dealt with a report."
                    }
                }
            }
        }
    }
}

/// Any logged-in member: the reports they sent, newest first, and what
/// became of each. The use-case lists only the member's own.
pub async fn my_reports(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let reports = match state.app.my_reports(&session, q.before(), PAGE_SIZE).await {
        Ok(reports) => reports,
        Err(err) => {
            tracing::error!(error = %err, "my reports page failed");
            Vec::new()
        }
    };
    let older = older_than(reports.len(), reports.last().map(|r| r.id));
    let reader = Reader::viewer(Some(&session.session));
    let mut items = Vec::with_capacity(reports.len());
    for report in reports {
        // The post through the read rule, as the member may read it now.
        let about = match &report.post_ap_id {
            None => AboutMine::Account,
            Some(ap_id) => match state.app.stored_post_for(&reader, ap_id).await {
                Ok((post, _)) => AboutMine::Post(Box::new(post)),
                Err(_) => AboutMine::Unreadable,
            },
        };
        items.push(MyReport {
            account: author_of(&state, &report.account_ap_id).await,
            group: group_of_report(&state, &report).await,
            about,
            report,
        });
    }
    page(
        &state,
        &headers,
        Some(&session),
        "Your reports",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "Your reports" }
                p { "The reports you sent, newest first, and what the moderators did about them. The people you reported are not told who reported them." }
                @if items.is_empty() {
                    p { "You have not reported anything. If a post worries you, choose \u{201c}Report this post\u{201d} under it, and the group's moderators will look at it." }
                } @else {
                    ul class="cards" {
                        @for item in &items { (my_report_card(item)) }
                    }
                    @if let Some(before) = older {
                        p { a href=(format!("{MY_REPORTS}?before={before}")) { "Older reports" } }
                    }
                }
                (need_help())
            }
        },
    )
}

// ---- the moderation log ---------------------------------------------------

/// What a line of the log is about: a link to the post (never its words),
/// the person, or the server a rule is for.
async fn log_target(state: &ApiState, line: &LogLine) -> Markup {
    let app = &state.app;
    let target = &line.entry.target_ap_id;
    if matches!(
        line.entry.action,
        ModAction::SetDomainRule | ModAction::RemoveDomainRule
    ) {
        // A server's domain, not an address to follow.
        return html! { (target) };
    }
    let about_thread = matches!(
        line.entry.action,
        ModAction::LockThread
            | ModAction::UnlockThread
            | ModAction::PinThread
            | ModAction::UnpinThread
    );
    let gone = matches!(
        line.entry.action,
        ModAction::RemovePost | ModAction::RejectPost
    );
    let about_post = about_thread || gone || line.entry.action == ModAction::ApprovePost;
    match app.urls().parse_local_id(target) {
        // A removed post, or one turned down, is gone: nothing to link to.
        Some(LocalRef::Post(_)) if gone => {
            html! { "a post" }
        }
        // Its own address takes a browser to the post, through the read
        // rule.
        Some(LocalRef::Post(uuid)) => html! {
            a href=(format!("/p/{uuid}")) {
                @if about_thread { "the thread" } @else { "a post" }
            }
        },
        Some(LocalRef::User(_)) => match app.actor_display(target).await {
            Ok(author) => person(&author),
            Err(_) => html! { "a member here" },
        },
        Some(_) => html! {},
        None if about_post => html! {
            a href=(target) rel="nofollow noopener noreferrer" { "a post on another server" }
        },
        None => match app.actor_display(target).await {
            Ok(author) if author.handle != *target => person(&author),
            _ => {
                html! { a href=(target) rel="nofollow noopener noreferrer" { "someone on another server" } }
            }
        },
    }
}

/// One line of a moderation log as a page shows it.
pub(super) struct ShownLine<'a> {
    line: &'a LogLine,
    /// Who did it; `None` when the log hides moderators' names.
    who: Option<Markup>,
    target: Markup,
    /// Where (the whole server's log only): in a group, or for the whole
    /// server.
    place: Option<Markup>,
}

/// The lines of a log with the names and links a page shows; with
/// `places`, each says where it happened.
pub(super) async fn shown_lines<'a>(
    state: &ApiState,
    lines: &'a [LogLine],
    places: bool,
) -> Vec<ShownLine<'a>> {
    let app = &state.app;
    let mut shown = Vec::with_capacity(lines.len());
    for line in lines {
        let who = match &line.actor {
            // A rule set from the server's shell is the server's own act.
            Some(actor) if matches!(app.urls().parse_local_id(actor), Some(LocalRef::Site)) => {
                Some(html! { "An admin, from the server's command line," })
            }
            Some(actor) => app.actor_display(actor).await.ok().map(|a| person(&a)),
            None => None,
        };
        let place = if places {
            Some(match &line.entry.group_ap_id {
                Some(group) => match app.find_group(group).await {
                    Ok(g) => {
                        html! { "In " a href=(group_path_of(app, &g)) { (g.title()) } }
                    }
                    Err(_) => html! { "In a group" },
                },
                None => html! { "For the whole server" },
            })
        } else {
            None
        };
        shown.push(ShownLine {
            line,
            who,
            target: log_target(state, line).await,
            place,
        });
    }
    shown
}

/// The lines of a log, newest first, and the link to older ones.
pub(super) fn log_cards(shown: &[ShownLine<'_>], older: Option<String>) -> Markup {
    html! {
        @if shown.is_empty() {
            p { "Nothing yet." }
        } @else {
            ul class="cards" {
                @for s in shown {
                    @let e = &s.line.entry;
                    li {
                        p {
                            @match &s.who { Some(who) => { (who) }, None => { "A moderator" } }
                            " " (e.action.describe())
                            @if !s.target.0.is_empty() { ": " (s.target) }
                            "."
                        }
                        @if !e.reason.is_empty() {
                            p {
                                @match e.action {
                                    ModAction::ResolveReport => { "What they did: " }
                                    ModAction::SetPremoderation => { "Now: " }
                                    ModAction::LabelPost => { "Note: " }
                                    ModAction::SetDomainRule => { "Rule: " }
                                    _ => { "Reason: " }
                                }
                                "\u{201c}" (e.reason) "\u{201d}"
                            }
                        }
                        @if let Some(until) = e.expires_at { p { "Until " (when(until)) } }
                        p class="hint" {
                            @if let Some(place) = &s.place { (place) " · " }
                            (when(e.created_at))
                        }
                    }
                }
            }
            @if let Some(href) = older {
                p { a href=(href) { "Older entries" } }
            }
        }
    }
}

pub async fn group_log(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let reader = match &session {
        Some(s) => LogReader::Account(&s.session),
        None => LogReader::Anonymous,
    };
    // The use-case decides who may read the log.
    let lines = match state
        .app
        .group_log(reader, &name, q.before(), PAGE_SIZE)
        .await
    {
        Ok(lines) => lines,
        Err(_) => return not_found(&state, &headers, session.as_ref()),
    };
    let Ok(view) = state.app.group_view(session.as_deref(), &name).await else {
        return not_found(&state, &headers, session.as_ref());
    };
    let path = format!("/groups/{}", view.slug);
    let older = older_than(lines.len(), lines.last().map(|l| l.entry.id))
        .map(|before| format!("{path}/log?before={before}"));
    let shown = shown_lines(&state, &lines, false).await;
    let title = format!("Moderation log of {}", view.title);
    page(
        &state,
        &headers,
        session.as_ref(),
        &title,
        StatusCode::OK,
        |_| {
            html! {
                h1 { (title) }
                p { "What the group's moderators did, newest first, with the reasons they gave. Anyone who can see the group can read this." }
                (log_cards(&shown, older))
                p { a href=(path) { "Back to the group" } }
            }
        },
    )
}

//! Sources and labels on web pages: the source rows of the compose form,
//! the "Sources (N independent)" list under a post, the label shown on a
//! post, and the moderators' page to label a post or take its label off.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::records::Post;
use hearth_app::{AppError, Origin};
use hearth_domain::sources::{
    LABEL_NOTE_MAX, LabelKind, MAX_SOURCES, RawSource, Source, SourceKind, independent_sources,
};
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::groups::not_found;
use super::layout::{FieldError, error_summary, radios, text_field};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

/// How many empty source rows the compose form offers.
const SPARE_ROWS: usize = 3;

/// The form field a domain error names: `sources[2].url` is the control
/// `source-2-url`; other names stay as they are.
pub(super) fn form_field(field: &str) -> String {
    match field.strip_prefix("sources[") {
        Some(rest) => format!("source-{}", rest.replace("].", "-")),
        None => field.to_owned(),
    }
}

/// The source rows a compose form sent (`source-N-title`, `-url`, `-type`).
pub(super) fn from_form(form: &HashMap<String, String>) -> Vec<RawSource> {
    (0..MAX_SOURCES)
        .map(|i| RawSource {
            url: field(form, &format!("source-{i}-url")).to_owned(),
            title: field(form, &format!("source-{i}-title")).to_owned(),
            kind: field(form, &format!("source-{i}-type")).to_owned(),
        })
        .collect()
}

/// A post's sources as the form's fields, to edit them.
pub(super) fn to_form(sources: &[Source]) -> Vec<(String, String)> {
    sources
        .iter()
        .take(MAX_SOURCES)
        .enumerate()
        .flat_map(|(i, s)| {
            [
                (format!("source-{i}-url"), s.url.clone()),
                (format!("source-{i}-title"), s.title.clone()),
                (format!("source-{i}-type"), s.kind.as_str().to_owned()),
            ]
        })
        .collect()
}

/// The source rows of the compose form: those filled in, then a few empty
/// ones (at most ten in all). Only general-knowledge and resource posts
/// list sources; the hint says so.
pub(super) fn source_rows(form: &HashMap<String, String>, errors: &[FieldError]) -> Markup {
    let filled = (0..MAX_SOURCES)
        .rev()
        .find(|i| {
            ["url", "title", "type"]
                .iter()
                .any(|f| !field(form, &format!("source-{i}-{f}")).trim().is_empty())
        })
        .map_or(0, |i| i + 1);
    let rows = (filled + SPARE_ROWS).min(MAX_SOURCES);
    let error = errors.iter().find(|e| e.field == "sources");
    html! {
        fieldset class=(if error.is_some() { "sources has-error" } else { "sources" }) id="sources"
            aria-describedby=(if error.is_some() { "sources-hint sources-error" } else { "sources-hint" }) {
            legend { "Sources (optional)" }
            p class="hint" id="sources-hint" {
                "For posts about the illness in general, and for resources: where the information comes from. "
                "Readers see how many independent sources back your post. Leave the rows you do not need empty."
            }
            @if let Some(e) = error {
                p class="error-message" id="sources-error" { span class="visually-hidden" { "Error: " } (e.message) }
            }
            @for i in 0..rows {
                fieldset class="source-row" {
                    legend { "Source " (i + 1) }
                    (text_field(&format!("source-{i}-title"), "Title", "text", field(form, &format!("source-{i}-title")), None, errors, "off"))
                    (text_field(&format!("source-{i}-url"), "Web address", "text", field(form, &format!("source-{i}-url")), None, errors, "url"))
                    (kind_select(i, field(form, &format!("source-{i}-type")), errors))
                }
            }
        }
    }
}

/// The "type of source" choice of row `i`.
fn kind_select(i: usize, chosen: &str, errors: &[FieldError]) -> Markup {
    let id = format!("source-{i}-type");
    let error = errors.iter().find(|e| e.field == id);
    html! {
        div class=(if error.is_some() { "field has-error" } else { "field" }) {
            label for=(id) { "Type of source" }
            @if let Some(e) = error {
                p class="error-message" id=(format!("{id}-error")) { span class="visually-hidden" { "Error: " } (e.message) }
            }
            select id=(id) name=(id)
                aria-describedby=[error.map(|_| format!("{id}-error"))]
                aria-invalid=[error.map(|_| "true")] {
                option value="" selected[chosen.is_empty()] { "Choose one" }
                @for k in SourceKind::ALL {
                    option value=(k.as_str()) selected[chosen == k.as_str()] { (k.describe()) }
                }
            }
        }
    }
}

/// The sources under a post, with how many independent ones there are.
pub(super) fn sources_list(post: &Post) -> Markup {
    let n = independent_sources(&post.sources);
    html! {
        @if !post.sources.is_empty() {
            section class="sources" aria-labelledby=(format!("sources-{}", post.id)) {
                h2 id=(format!("sources-{}", post.id)) {
                    "Sources (" (n) " independent)"
                }
                ol {
                    @for s in &post.sources {
                        li {
                            a href=(s.url) rel="nofollow noopener noreferrer ugc" { (s.title) }
                            span class="hint" { " · " (s.kind.describe()) }
                        }
                    }
                }
            }
        }
    }
}

/// A short mark for lists of threads: how many independent sources.
pub(super) fn sources_count(post: &Post) -> Markup {
    let n = independent_sources(&post.sources);
    html! {
        @if !post.sources.is_empty() {
            " · " (n) @if n == 1 { " independent source" } @else { " independent sources" }
        }
    }
}

/// The label on a post, in calm words, with the moderators' note.
pub(super) fn label_notice(post: &Post) -> Markup {
    html! {
        @if let Some(l) = &post.label {
            div class="notice label" role="note" {
                p {
                    strong {
                        @match l.label.kind {
                            LabelKind::Disputed => "The group's moderators think this post may not be accurate.",
                            LabelKind::NeedsSources => "The group's moderators have asked for sources for this post.",
                        }
                    }
                }
                p class="prewrap" { (l.label.note) }
                @if let Some(link) = &l.label.link {
                    p { "Better information: " a href=(link) rel="nofollow noopener noreferrer ugc" { (link) } }
                }
            }
        }
    }
}

/// A moderator's tools for the label, under a post.
pub(super) fn label_tools(post: &Post, csrf: &str) -> Markup {
    html! {
        div class="actions" {
            a class="button secondary" href=(format!("/posts/{}/label", post.id)) {
                @if post.label.is_some() { "Change the label" } @else { "Label this post" }
            }
            @if post.label.is_some() {
                form method="post" action=(format!("/posts/{}/unlabel", post.id)) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    button class="secondary" type="submit" { "Take the label off" }
                }
            }
        }
    }
}

fn label_form(
    post: &Post,
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    let chosen = match field(form, "kind") {
        "" => post
            .label
            .as_ref()
            .map(|l| l.label.kind.as_str())
            .unwrap_or(""),
        k => k,
    };
    let note = match form.get("note") {
        Some(n) => n.clone(),
        None => post
            .label
            .as_ref()
            .map(|l| l.label.note.clone())
            .unwrap_or_default(),
    };
    let link = match form.get("link") {
        Some(l) => l.clone(),
        None => post
            .label
            .as_ref()
            .and_then(|l| l.label.link.clone())
            .unwrap_or_default(),
    };
    let choices: Vec<(&str, &str)> = LabelKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.describe()))
        .collect();
    let title = if post.title.is_empty() {
        "a reply"
    } else {
        post.title.as_str()
    };
    html! {
        (error_summary(errors))
        h1 { "Label a post" }
        p { "Post: " a href=(format!("/posts/{}", post.thread_id())) { (title) } }
        p class="hint" { "A label tells readers, calmly, that the moderators have a concern about what a post says. Everyone who can read the post sees the label, on this server and on others. It is recorded in the moderation log." }
        form method="post" action=(format!("/posts/{}/label", post.id)) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (radios("kind", "Which label?", &choices, chosen, None, errors))
            (super::layout::text_area("note", "note", "Note for readers", &note, Some(&format!("Say briefly and kindly what the concern is. At most {LABEL_NOTE_MAX} characters.")), errors, 3))
            (text_field("link", "Better information (optional)", "text", &link, Some("A web address where readers can find reliable information."), errors, "url"))
            button type="submit" { "Save the label" }
        }
        p { a href=(format!("/posts/{}", post.thread_id())) { "Back to the post" } }
    }
}

async fn labelled_post(
    state: &ApiState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(WebSession, Post), Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found(state, headers, Some(&session)));
    };
    // The page is for the group's moderators (and admins here); the
    // command decides again.
    let Ok((post, group)) = state.app.readable_post(Some(&*session), id).await else {
        return Err(not_found(state, headers, Some(&session)));
    };
    let admin_here = super::groups::is_admin(&session)
        && matches!(group, hearth_app::posts::PostGroup::Local(_));
    if !admin_here && !state.app.moderates(&session, &group).await.unwrap_or(false) {
        return Err(not_found(state, headers, Some(&session)));
    }
    Ok((session, post))
}

/// Moderators: the form to label a post.
pub async fn label_page(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (session, post) = match labelled_post(&state, &headers, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let empty = HashMap::new();
    page(
        &state,
        &headers,
        Some(&session),
        "Label a post",
        StatusCode::OK,
        |csrf| label_form(&post, csrf, &empty, &[]),
    )
}

/// Moderators: label a post; errors are shown in the form.
pub async fn label(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, post) = match labelled_post(&state, &headers, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let show = |status: StatusCode, errors: Vec<FieldError>| {
        page(
            &state,
            &headers,
            Some(&session),
            "Label a post",
            status,
            |csrf| label_form(&post, csrf, &form, &errors),
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return show(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FieldError {
                field: "kind".into(),
                message: "This form had expired. Please check your answers and send it again."
                    .into(),
            }],
        );
    }
    let input = hearth_app::labels::LabelInput {
        kind: field(&form, "kind").to_owned(),
        note: field(&form, "note").to_owned(),
        link: field(&form, "link").to_owned(),
    };
    match state
        .app
        .label_post(&Origin::local(&session), post.id, Some(input))
        .await
    {
        Ok(_) => redirect_to(&format!("/posts/{}", post.thread_id())),
        Err(AppError::Invalid(errs)) => show(
            StatusCode::UNPROCESSABLE_ENTITY,
            errs.into_iter()
                .map(|e| FieldError {
                    field: e.field.to_owned(),
                    message: e.message,
                })
                .collect(),
        ),
        Err(AppError::Forbidden(_)) => show(
            StatusCode::FORBIDDEN,
            vec![FieldError {
                field: "kind".into(),
                message: "Only the group's moderators can label its posts.".into(),
            }],
        ),
        Err(err) => {
            tracing::error!(error = %err, "labelling a post from the web failed");
            show(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![FieldError {
                    field: "kind".into(),
                    message:
                        "Something went wrong on our side. Nothing was changed. Please try again."
                            .into(),
                }],
            )
        }
    }
}

/// Moderators: take a post's label off.
pub async fn unlabel(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, post) = match labelled_post(&state, &headers, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .label_post(&Origin::local(&session), post.id, None)
            .await
    {
        tracing::info!(error = %err, "taking a label off from the web refused");
    }
    redirect_to(&format!("/posts/{}", post.thread_id()))
}

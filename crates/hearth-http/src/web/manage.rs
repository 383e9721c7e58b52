//! Pages for starting and finding groups, moderators' requests, and the
//! member's own settings.

use hearth_app::Origin;
use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::AppError;
use hearth_app::accounts::ProfileUpdate;
use hearth_app::groups::{GroupSettingsInput, Joined, NewGroupInput};
use hearth_domain::GroupVisibility;
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD};
use super::layout::{FieldError, error_summary, explained_radios, text_area, text_field};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

fn field_errors(err: AppError, fallback_field: &str) -> Vec<FieldError> {
    match err {
        AppError::Invalid(errs) => errs
            .into_iter()
            .map(|e| FieldError {
                field: e.field.to_owned(),
                message: e.message,
            })
            .collect(),
        AppError::Conflict { field } => vec![FieldError {
            field: field.to_owned(),
            message: "That name is already used by a person or a group on this server. Please choose another.".into(),
        }],
        AppError::NotFound { .. } => vec![FieldError {
            field: fallback_field.to_owned(),
            message: "We could not find that group. Check the address and try again.".into(),
        }],
        AppError::Remote(_) => vec![FieldError {
            field: fallback_field.to_owned(),
            message: "The other server did not answer. Please try again later.".into(),
        }],
        other => {
            tracing::error!(error = %other, "web form failed");
            vec![FieldError {
                field: fallback_field.to_owned(),
                message: "Something went wrong on our side. Please try again in a moment.".into(),
            }]
        }
    }
}

fn expired(field: &str) -> Vec<FieldError> {
    vec![FieldError {
        field: field.to_owned(),
        message: "This form had expired. Please check your answers and send it again.".into(),
    }]
}

/// The choice of a group's visibility, each with what it means.
fn group_visibility_field(chosen: &str, errors: &[FieldError]) -> Markup {
    let choices: Vec<(&str, &str, String)> = [
        (GroupVisibility::Members, "Members only"),
        (GroupVisibility::Public, "Public posts allowed"),
    ]
    .into_iter()
    .map(|(v, label)| (v.as_str(), label, v.explain().to_owned()))
    .collect();
    explained_radios(
        "visibility",
        "group-vis",
        "Who can read the group's posts?",
        &choices,
        chosen,
        None,
        errors,
    )
}

fn new_group_content(csrf: &str, form: &HashMap<String, String>, errors: &[FieldError]) -> Markup {
    let visibility = match field(form, "visibility") {
        "" => GroupVisibility::DEFAULT.as_str(),
        chosen => chosen,
    };
    let policy = if field(form, "join_policy") == "open" {
        "open"
    } else {
        "approval"
    };
    html! {
        (error_summary(errors))
        h1 { "Start a group" }
        form method="post" action="/groups/new" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("title", "Group name", "text", field(form, "title"), Some("For example: Type 1 Diabetes Peer Support"), errors, "off"))
            (text_field("name", "Short address", "text", field(form, "name"), Some("Letters a to z, numbers and underscores. People on other servers find the group as @address@this-server."), errors, "off"))
            div class="field" {
                label for="description" { "Who is this group for? (optional)" }
                textarea id="description" name="description" rows="3" { (field(form, "description")) }
            }
            div class="field" {
                label for="rules" { "Group rules (optional)" }
                textarea id="rules" name="rules" rows="4" { (field(form, "rules")) }
            }
            fieldset class="field" {
                legend { "Who can join?" }
                div class="checkbox" {
                    input type="radio" id="policy-approval" name="join_policy" value="approval" checked[policy == "approval"];
                    label for="policy-approval" { "A moderator approves each new member" }
                }
                div class="checkbox" {
                    input type="radio" id="policy-open" name="join_policy" value="open" checked[policy == "open"];
                    label for="policy-open" { "Anyone can join" }
                }
            }
            (group_visibility_field(visibility, errors))
            button type="submit" { "Start the group" }
        }
    }
}

pub async fn new_group_form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let empty = HashMap::new();
    page(
        &state,
        &headers,
        Some(&session),
        "Start a group",
        StatusCode::OK,
        |csrf| new_group_content(csrf, &empty, &[]),
    )
}

pub async fn new_group(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let fail = |errors: Vec<FieldError>| {
        page(
            &state,
            &headers,
            Some(&session),
            "Start a group",
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf| new_group_content(csrf, &form, &errors),
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(expired("title"));
    }
    let input = NewGroupInput {
        name: field(&form, "name").trim().to_owned(),
        title: field(&form, "title").to_owned(),
        description: Some(field(&form, "description").to_owned()),
        rules: Some(field(&form, "rules").to_owned()),
        join_policy: Some(field(&form, "join_policy").to_owned()),
        listed: Some(true),
        allow_outside_posts: Some(false),
        visibility: Some(field(&form, "visibility").to_owned()),
    };
    match state
        .app
        .create_group(&Origin::local(&session), input)
        .await
    {
        Ok(group) => redirect_to(&format!("/groups/{}", group.name)),
        Err(err) => fail(field_errors(err, "name")),
    }
}

fn join_elsewhere_content(
    csrf: &str,
    target: &str,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    html! {
        (error_summary(errors))
        h1 { "Join a group on another server" }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        form method="post" action="/groups/join" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("target", "The group's address", "text", target, Some("For example: @type1@peers.example, or a link to the group."), errors, "off"))
            button type="submit" { "Join group" }
        }
    }
}

pub async fn join_elsewhere_form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    page(
        &state,
        &headers,
        Some(&session),
        "Join a group on another server",
        StatusCode::OK,
        |csrf| join_elsewhere_content(csrf, "", &[], None),
    )
}

pub async fn join_elsewhere(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let target = field(&form, "target").trim().to_owned();
    let render = |status: StatusCode, errors: Vec<FieldError>, notice: Option<&str>| {
        page(
            &state,
            &headers,
            Some(&session),
            "Join a group on another server",
            status,
            |csrf| join_elsewhere_content(csrf, &target, &errors, notice),
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return render(StatusCode::UNPROCESSABLE_ENTITY, expired("target"), None);
    }
    if target.is_empty() {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FieldError {
                field: "target".into(),
                message: "Enter the group's address".into(),
            }],
            None,
        );
    }
    match state.app.join(&Origin::local(&session), &target).await {
        Ok(Joined::Local(group, _)) => redirect_to(&format!("/groups/{}", group.name)),
        Ok(Joined::Remote(group, _)) => redirect_to(&format!(
            "/groups/{}@{}",
            group.preferred_username, group.authority
        )),
        Err(AppError::Invalid(errs)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            errs.into_iter()
                .map(|e| FieldError {
                    field: "target".into(),
                    message: if e.code == "not_a_group" {
                        e.message
                    } else {
                        "That address could not be used. Check it and try again.".into()
                    },
                })
                .collect(),
            None,
        ),
        Err(err) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            field_errors(err, "target"),
            None,
        ),
    }
}

pub async fn requests(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let pending = match state
        .app
        .pending_requests(&Origin::local(&session), &name, None, 100)
        .await
    {
        Ok(p) => p,
        Err(_) => {
            return page(
                &state,
                &headers,
                Some(&session),
                "Requests to join",
                StatusCode::FORBIDDEN,
                |_| {
                    html! {
                        h1 { "Requests to join" }
                        p { "Only the group's moderators can see this page." }
                    }
                },
            );
        }
    };
    page(
        &state,
        &headers,
        Some(&session),
        "Requests to join",
        StatusCode::OK,
        |csrf| {
            html! {
                h1 { "Requests to join" }
                @if pending.is_empty() {
                    p { "Nobody is waiting." }
                } @else {
                    ul class="cards" {
                        @for r in &pending {
                            li {
                                @let e = &r.entry;
                                strong { (if e.display_name.is_empty() { &e.handle } else { &e.display_name }) }
                                " (" (e.handle) ")"
                                @if e.actor_id.is_some() { " · from another server" }
                                @if let Some(warning) = r.warning() {
                                    p class="notice" { strong { "Before you let them in: " } (warning) }
                                }
                                div {
                                    form method="post" action=(format!("/groups/{name}/requests/{}/approve", e.membership.id)) {
                                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                        button type="submit" { "Let them in" }
                                    }
                                    form method="post" action=(format!("/groups/{name}/requests/{}/decline", e.membership.id)) {
                                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                        button class="secondary" type="submit" { "Say no" }
                                    }
                                }
                            }
                        }
                    }
                }
                p { a href=(format!("/groups/{name}")) { "Back to the group" } }
            }
        },
    )
}

async fn decide(
    state: ApiState,
    headers: HeaderMap,
    name: String,
    id: String,
    form: HashMap<String, String>,
    approve: bool,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Ok(id) = id.parse::<i64>()
        && let Err(err) = state
            .app
            .decide_request(&Origin::local(&session), &name, id, approve)
            .await
    {
        tracing::info!(error = %err, "decision from the web refused");
    }
    redirect_to(&format!("/groups/{name}/requests"))
}

pub async fn approve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
    Form(form): FormData,
) -> Response {
    decide(state, headers, name, id, form, true).await
}

pub async fn decline(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
    Form(form): FormData,
) -> Response {
    decide(state, headers, name, id, form, false).await
}

fn settings_content(
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    html! {
        (error_summary(errors))
        h1 { "Your settings" }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        h2 { "Profile" }
        form method="post" action="/settings/profile" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("display_name", "Display name (optional)", "text", field(form, "display_name"), Some("Shown beside your posts. It does not need to be your real name."), errors, "nickname"))
            div class="field" {
                label for="bio" { "About you (optional)" }
                textarea id="bio" name="bio" rows="3" { (field(form, "bio")) }
            }
            button type="submit" { "Save profile" }
        }
        h2 { "Password" }
        form method="post" action="/settings/password" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("current_password", "Current password", "password", "", None, errors, "current-password"))
            (text_field("new_password", "New password", "password", "", Some("At least 8 characters. You will need to log in again."), errors, "new-password"))
            button type="submit" { "Change password" }
        }
        h2 { "Your data" }
        p { a href="/me/export" { "Download your data" } }
        p { a href="/me/delete" { "Delete your account" } ", here and on every server that received any of it." }
    }
}

pub async fn settings(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let mut current = HashMap::new();
    current.insert(
        "display_name".to_owned(),
        session.account.display_name.clone(),
    );
    current.insert("bio".to_owned(), session.account.bio.clone());
    page(
        &state,
        &headers,
        Some(&session),
        "Your settings",
        StatusCode::OK,
        |csrf| settings_content(csrf, &current, &[], None),
    )
}

pub async fn save_profile(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let (status, errors, notice) = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            expired("display_name"),
            None,
        )
    } else {
        let update = ProfileUpdate {
            display_name: Some(field(&form, "display_name").to_owned()),
            bio: Some(field(&form, "bio").to_owned()),
            email: None,
        };
        match state.app.update_profile(&session, update).await {
            Ok(_) => (StatusCode::OK, Vec::new(), Some("Your profile is saved.")),
            Err(err) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                field_errors(err, "display_name"),
                None,
            ),
        }
    };
    page(
        &state,
        &headers,
        Some(&session),
        "Your settings",
        status,
        |csrf| settings_content(csrf, &form, &errors, notice),
    )
}

pub async fn change_password(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let mut current = HashMap::new();
    current.insert(
        "display_name".to_owned(),
        session.account.display_name.clone(),
    );
    current.insert("bio".to_owned(), session.account.bio.clone());
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return page(
            &state,
            &headers,
            Some(&session),
            "Your settings",
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf| settings_content(csrf, &current, &expired("current_password"), None),
        );
    }
    if let Err(wait) = state.auth_limits.account(&session.account.username) {
        return super::too_many(&state, &headers, wait);
    }
    match state
        .app
        .change_password(
            &session,
            field(&form, "current_password"),
            field(&form, "new_password"),
        )
        .await
    {
        Ok(()) => redirect_to("/login"),
        Err(err) => {
            let errors: Vec<FieldError> = field_errors(err, "current_password")
                .into_iter()
                .map(|mut e| {
                    if e.field == "password" {
                        e.field = "new_password".into();
                    }
                    e
                })
                .collect();
            page(
                &state,
                &headers,
                Some(&session),
                "Your settings",
                StatusCode::UNPROCESSABLE_ENTITY,
                |csrf| settings_content(csrf, &current, &errors, None),
            )
        }
    }
}

/// How long a group may keep threads, as offered on its settings page
/// (the API takes any number of days up to ten years).
const RETENTION_CHOICES: [(&str, &str, &str); 5] = [
    (
        "0",
        "Keep threads",
        "Threads stay until the people who wrote them delete them.",
    ),
    (
        "30",
        "30 days",
        "A thread is deleted 30 days after its last reply, here and on every other server that has it.",
    ),
    (
        "90",
        "3 months",
        "A thread is deleted 90 days after its last reply, here and on every other server that has it.",
    ),
    (
        "180",
        "6 months",
        "A thread is deleted 180 days after its last reply, here and on every other server that has it.",
    ),
    (
        "365",
        "1 year",
        "A thread is deleted a year after its last reply, here and on every other server that has it.",
    ),
];

fn retention_field(chosen: &str, errors: &[FieldError]) -> Markup {
    let mut choices: Vec<(&str, &str, String)> = RETENTION_CHOICES
        .iter()
        .map(|(value, label, explain)| (*value, *label, (*explain).to_owned()))
        .collect();
    // A period set through the API is shown as it is.
    let custom = format!("{chosen} days");
    if !RETENTION_CHOICES
        .iter()
        .any(|(value, _, _)| *value == chosen)
        && !chosen.is_empty()
    {
        choices.push((
            chosen,
            custom.as_str(),
            format!("A thread is deleted {chosen} days after its last reply, here and on every other server that has it."),
        ));
    }
    explained_radios(
        "retention_days",
        "retention",
        "How long does the group keep threads?",
        &choices,
        chosen,
        Some(
            "Pinned threads are always kept. Deleting old threads keeps less about members' health on any server.",
        ),
        errors,
    )
}

fn group_settings_content(
    csrf: &str,
    (name, title): (&str, &str),
    chosen: &str,
    retention: &str,
    guidance: (&str, &str),
    errors: &[FieldError],
    saved: bool,
) -> Markup {
    html! {
        (error_summary(errors))
        h1 { "Settings of " (title) }
        @if saved { p class="notice" role="status" { "Saved." } }
        form method="post" action=(format!("/groups/{name}/settings")) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (group_visibility_field(chosen, errors))
            p class="hint" {
                "Posts already written keep who can read them. Making the group members only stops new public posts; "
                "it does not hide public posts written before. Making it public does not make members-only posts public."
            }
            (retention_field(retention, errors))
            (text_area("rules", "rules", "Group rules (optional)", guidance.0,
                Some("Shown to people before they join and beside the box where members write. You can use Markdown. At most 4000 characters."), errors, 6))
            (text_area("support_guide", "support_guide", "How to give support here (optional)", guidance.1,
                Some("A short guide for members who answer others, for example: ask before giving advice, share your own experience. Shown beside the box where members write. At most 4000 characters."), errors, 6))
            button type="submit" { "Save settings" }
        }
        p { a href=(format!("/groups/{name}")) { "Back to the group" } }
    }
}

async fn moderators_only(
    state: &ApiState,
    headers: &HeaderMap,
    session: &super::forms::WebSession,
) -> Response {
    page(
        state,
        headers,
        Some(session),
        "Group settings",
        StatusCode::FORBIDDEN,
        |_| {
            html! {
                h1 { "Group settings" }
                p { "Only the group's moderators can see this page." }
            }
        },
    )
}

/// The group's settings, for its moderators: today its visibility.
pub async fn group_settings(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(view) = state.app.group_view(Some(&*session), &name).await else {
        return super::groups::not_found(&state, &headers, Some(&session));
    };
    if !view.moderator || view.elsewhere.is_some() {
        return moderators_only(&state, &headers, &session).await;
    }
    let guidance = state.app.guidance(&view.group).await.unwrap_or_default();
    page(
        &state,
        &headers,
        Some(&session),
        "Group settings",
        StatusCode::OK,
        |csrf| {
            group_settings_content(
                csrf,
                (&view.slug, &view.title),
                view.visibility.as_str(),
                &view.retention_days.to_string(),
                (&guidance.rules_source, &guidance.guide_source),
                &[],
                false,
            )
        },
    )
}

pub async fn save_group_settings(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let Ok(view) = state.app.group_view(Some(&*session), &name).await else {
        return super::groups::not_found(&state, &headers, Some(&session));
    };
    let chosen = field(&form, "visibility").to_owned();
    let retention = match field(&form, "retention_days") {
        "" => view.retention_days.to_string(),
        given => given.to_owned(),
    };
    let (rules, guide) = (field(&form, "rules"), field(&form, "support_guide"));
    let show = |status: StatusCode,
                errors: Vec<FieldError>,
                saved: bool,
                chosen: &str,
                retention: &str| {
        page(
            &state,
            &headers,
            Some(&session),
            "Group settings",
            status,
            |csrf| {
                group_settings_content(
                    csrf,
                    (&view.slug, &view.title),
                    chosen,
                    retention,
                    (rules, guide),
                    &errors,
                    saved,
                )
            },
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return show(
            StatusCode::UNPROCESSABLE_ENTITY,
            expired("visibility"),
            false,
            &chosen,
            &retention,
        );
    }
    let retention_days = match retention.parse::<i64>() {
        Ok(days) => days,
        Err(_) => {
            return show(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![FieldError {
                    field: "retention_days".to_owned(),
                    message: "Choose how long the group keeps threads".into(),
                }],
                false,
                &chosen,
                &view.retention_days.to_string(),
            );
        }
    };
    let input = GroupSettingsInput {
        visibility: Some(chosen.clone()),
        retention_days: Some(retention_days),
        // A form without the fields (an older page) keeps them.
        rules: form.get("rules").cloned(),
        support_guide: form.get("support_guide").cloned(),
    };
    match state
        .app
        .update_group(&Origin::local(&session), &view.slug, input)
        .await
    {
        Ok(group) => show(
            StatusCode::OK,
            Vec::new(),
            true,
            group.visibility.as_str(),
            &group.retention_days.to_string(),
        ),
        Err(AppError::Forbidden(_)) => moderators_only(&state, &headers, &session).await,
        Err(err) => show(
            StatusCode::UNPROCESSABLE_ENTITY,
            field_errors(err, "visibility"),
            false,
            &chosen,
            &retention,
        ),
    }
}

//! A group's moderators' pages for people: the bans that hold, banning
//! someone and lifting a ban; who moderates the group, adding a moderator
//! and ending the role. The use-cases of `hearth_app::moderation` decide
//! who may; the pages only show their answers in plain words.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use hearth_app::groups::GroupView;
use hearth_app::moderation::{Ban, BanRequest};
use hearth_app::posts::{Author, PostGroup};
use hearth_app::{AppError, Origin};
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::groups::{is_admin, not_found};
use super::layout::{FieldError, error_summary, radios, text_area, text_field, when};
use super::moderation::{expired, one_error, only_for, person};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

/// How long a ban lasts: the form's value, its words, and its days (none:
/// until lifted).
const DURATIONS: [(&str, &str, Option<i64>); 4] = [
    ("lifted", "Until a moderator lifts it", None),
    ("1", "1 day", Some(1)),
    ("7", "7 days", Some(7)),
    ("30", "30 days", Some(30)),
];

/// A group here, for one of its moderators (or an admin here); `Err` with
/// the page to send otherwise.
pub(super) async fn moderated_group(
    state: &ApiState,
    headers: &HeaderMap,
    name: &str,
    title: &str,
) -> Result<(WebSession, GroupView), Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    let view = match state.app.group_view(Some(&*session), name).await {
        Ok(view) if view.elsewhere.is_none() => view,
        _ => return Err(not_found(state, headers, Some(&session))),
    };
    if !(view.moderator || is_admin(&session)) {
        return Err(only_for(
            state,
            headers,
            &session,
            title,
            "the group's moderators",
        ));
    }
    Ok((session, view))
}

// ---- bans -------------------------------------------------------------------

/// A ban with the person it holds on, as the page names them.
struct Shown {
    ban: Ban,
    person: Author,
}

fn bans_content(
    view: &GroupView,
    bans: &[Shown],
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    let path = format!("/groups/{}", view.slug);
    let duration = match field(form, "duration") {
        "" => "lifted",
        chosen => chosen,
    };
    let choices: Vec<(&str, &str)> = DURATIONS.iter().map(|(v, l, _)| (*v, *l)).collect();
    html! {
        (error_summary(errors))
        h1 { "Bans in " (view.title) }
        p { "Someone banned from the group leaves it at once, and cannot join again, post, reply or react in it until the ban ends. They are told the reason." }
        h2 { "Bans now" }
        @if bans.is_empty() {
            p { "Nobody is banned from this group." }
        } @else {
            ul class="cards" {
                @for b in bans {
                    li {
                        p { strong { (person(&b.person)) } }
                        p { "Reason: \u{201c}" (b.ban.terms.reason) "\u{201d}" }
                        p {
                            @match b.ban.terms.expires_at {
                                Some(until) => { "Until " (when(until)) }
                                None => { "Until a moderator lifts it" }
                            }
                            @if b.ban.terms.remove_data { " · what they wrote here was removed" }
                        }
                        p class="hint" { "Banned " (when(b.ban.created_at)) }
                        form method="post" action=(format!("{path}/bans/lift")) {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            input type="hidden" name="person" value=(b.ban.person_ap_id);
                            button class="secondary" type="submit" {
                                "Lift ban" span class="visually-hidden" { " on " (b.person.handle) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Ban someone" }
        form method="post" action=(format!("{path}/bans")) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("person", "Who?", "text", field(form, "person"),
                Some("Their name on this server, name@server for someone on another server, or the address of their profile."), errors, "off"))
            (text_area("reason", "reason", "Why?", field(form, "reason"),
                Some("They are told this reason. It is also shown in the group's moderation log."), errors, 3))
            (radios("duration", "How long?", &choices, duration, None, errors))
            div class="field" {
                div class="checkbox" {
                    input type="checkbox" id="remove_data" name="remove_data" value="yes" checked[field(form, "remove_data") == "yes"];
                    label for="remove_data" { "Also remove everything they wrote in this group" }
                }
            }
            button class="warning" type="submit" { "Ban from the group" }
        }
        p { a href=(format!("{path}/moderators")) { "Moderators of this group" } }
        p { a href=(path) { "Back to the group" } }
    }
}

async fn show_bans(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    view: &GroupView,
    status: StatusCode,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Response {
    let bans = match state.app.bans(session, Some(&view.slug)).await {
        Ok(bans) => bans,
        Err(AppError::Forbidden(_)) => {
            return only_for(state, headers, session, "Bans", "the group's moderators");
        }
        Err(err) => {
            tracing::error!(error = %err, "bans page failed");
            Vec::new()
        }
    };
    let mut shown = Vec::with_capacity(bans.len());
    for ban in bans {
        let person = state
            .app
            .actor_display(&ban.person_ap_id)
            .await
            .unwrap_or_else(|_| Author {
                handle: ban.person_ap_id.clone(),
                display_name: ban.person_ap_id.clone(),
                url: ban.person_ap_id.clone(),
                local: false,
                professional: None,
            });
        shown.push(Shown { ban, person });
    }
    page(state, headers, Some(session), "Bans", status, |csrf| {
        bans_content(view, &shown, csrf, form, errors)
    })
}

pub async fn bans(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Bans").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show_bans(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::OK,
        &HashMap::new(),
        &[],
    )
    .await
}

/// The problems with a ban as the form's fields name them.
pub(super) fn ban_errors(err: AppError) -> Vec<FieldError> {
    match err {
        AppError::Invalid(errs) => errs
            .into_iter()
            .map(|e| match e.field {
                "expires_at" => FieldError {
                    field: "duration".into(),
                    message: "Choose how long the ban lasts".into(),
                },
                "reason" => FieldError {
                    field: "reason".into(),
                    message: e.message,
                },
                _ => FieldError {
                    field: "person".into(),
                    message: e.message,
                },
            })
            .collect(),
        AppError::NotFound { .. } => one_error(
            "person",
            "We could not find that person. Use their name for someone on this server, or name@server for someone elsewhere.",
        ),
        AppError::Remote(_) => one_error(
            "person",
            "Their server did not answer, so we could not find them. Please try again later.",
        ),
        other => {
            tracing::error!(error = %other, "ban from the web failed");
            one_error(
                "person",
                "Something went wrong on our side. Nobody was banned. Please try again in a moment.",
            )
        }
    }
}

pub async fn ban(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Bans").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("person")
    } else {
        let days = match field(&form, "duration") {
            "" | "lifted" => Ok(None),
            chosen => DURATIONS
                .iter()
                .find(|(value, _, _)| *value == chosen)
                .map(|(_, _, days)| *days)
                .ok_or(()),
        };
        match days {
            Err(()) => one_error("duration", "Choose how long the ban lasts"),
            Ok(days) => {
                let request = BanRequest {
                    person: field(&form, "person").to_owned(),
                    reason: field(&form, "reason").to_owned(),
                    expires_at: days.map(|d| Utc::now() + Duration::days(d)),
                    remove_data: field(&form, "remove_data") == "yes",
                };
                match state
                    .app
                    .ban(&Origin::local(&session), &view.slug, request)
                    .await
                {
                    Ok(_) => return redirect_to(&format!("/groups/{}/bans", view.slug)),
                    Err(AppError::Forbidden(_)) => {
                        return only_for(
                            &state,
                            &headers,
                            &session,
                            "Bans",
                            "the group's moderators",
                        );
                    }
                    Err(err) => ban_errors(err),
                }
            }
        }
    };
    show_bans(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        &form,
        &errors,
    )
    .await
}

pub async fn lift(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Bans").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .lift_ban(&Origin::local(&session), &view.slug, field(&form, "person"))
            .await
    {
        // Lifted meanwhile, or ran out: the list shows how things stand.
        tracing::info!(error = %err, "lifting a ban from the web refused");
    }
    redirect_to(&format!("/groups/{}/bans", view.slug))
}

// ---- moderators -----------------------------------------------------------

async fn show_moderators(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    view: &GroupView,
    status: StatusCode,
    username: &str,
    errors: &[FieldError],
) -> Response {
    let names = match &view.group {
        PostGroup::Local(g) => state.app.group_moderators(g).await.unwrap_or_else(|err| {
            tracing::error!(error = %err, "moderators page failed");
            Vec::new()
        }),
        PostGroup::Remote(_) => Vec::new(),
    };
    let path = format!("/groups/{}", view.slug);
    let me = session.account.username.as_str();
    page(
        state,
        headers,
        Some(session),
        "Moderators",
        status,
        |csrf| {
            html! {
                (error_summary(errors))
                h1 { "Moderators of " (view.title) }
                p { "Moderators let people in, deal with reports, remove posts, close threads and ban people. Anyone can see who moderates a group." }
                @if names.is_empty() {
                    p { "This group has no moderators. The people who run this server look after it." }
                } @else {
                    ul class="cards" {
                        @for name in &names {
                            li {
                                a href=(format!("/people/{name}")) { (name) }
                                @if name == me { " (you)" }
                                form method="post" action=(format!("{path}/moderators/remove")) {
                                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                    input type="hidden" name="username" value=(name);
                                    button class="secondary" type="submit" {
                                        @if name == me { "Stop being a moderator" }
                                        @else { "Remove" span class="visually-hidden" { " " (name) " as moderator" } }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Add a moderator" }
                form method="post" action=(format!("{path}/moderators")) novalidate {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    (text_field("username", "Their username", "text", username,
                        Some("They must have an account on this server and be a member of the group."), errors, "off"))
                    button type="submit" { "Make them a moderator" }
                }
                p { a href=(format!("{path}/bans")) { "Bans in this group" } }
                p { a href=(path) { "Back to the group" } }
            }
        },
    )
}

pub async fn moderators(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Moderators").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show_moderators(&state, &headers, &session, &view, StatusCode::OK, "", &[]).await
}

pub async fn add_moderator(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Moderators").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let username = field(&form, "username").trim().trim_start_matches('@');
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("username")
    } else if username.is_empty() {
        one_error("username", "Enter the username of the member to add")
    } else {
        match state
            .app
            .set_moderator(&Origin::local(&session), &view.slug, username, true)
            .await
        {
            Ok(()) => return redirect_to(&format!("/groups/{}/moderators", view.slug)),
            Err(AppError::NotFound { .. }) => one_error(
                "username",
                format!(
                    "There is nobody called \u{201c}{username}\u{201d} on this server. Check the name."
                ),
            ),
            Err(AppError::Invalid(_)) => one_error(
                "username",
                "Only a member of the group can be a moderator. Ask them to join the group first.",
            ),
            Err(AppError::Forbidden(_)) => {
                return only_for(
                    &state,
                    &headers,
                    &session,
                    "Moderators",
                    "the group's moderators",
                );
            }
            Err(err) => {
                tracing::error!(error = %err, "adding a moderator from the web failed");
                one_error(
                    "username",
                    "Something went wrong on our side. Nothing was changed. Please try again in a moment.",
                )
            }
        }
    };
    show_moderators(
        &state,
        &headers,
        &session,
        &view,
        StatusCode::UNPROCESSABLE_ENTITY,
        username,
        &errors,
    )
    .await
}

pub async fn remove_moderator(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): FormData,
) -> Response {
    let (session, view) = match moderated_group(&state, &headers, &name, "Moderators").await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let username = field(&form, "username");
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .set_moderator(&Origin::local(&session), &view.slug, username, false)
            .await
    {
        tracing::info!(error = %err, "ending a moderator's role from the web refused");
    }
    // Someone who just stepped down can no longer see the page.
    if username == session.account.username && !is_admin(&session) {
        return redirect_to(&format!("/groups/{}", view.slug));
    }
    redirect_to(&format!("/groups/{}/moderators", view.slug))
}

//! The admins' moderation pages for the whole server: the bans from the
//! server (listing them, banning someone, lifting a ban) and the server's
//! moderation log, every group's and the server's own actions. The
//! use-cases of `hearth_app::moderation` decide that only admins may; the
//! pages show their answers in plain words, and a refusal as a page that
//! says who may see it.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use hearth_app::moderation::{Ban, BanRequest};
use hearth_app::posts::Author;
use hearth_app::{AppError, Origin};
use maud::{Markup, html};

use super::bans::ban_errors;
use super::forms::{self, CSRF_FIELD, WebSession};
use super::layout::{FieldError, error_summary, radios, text_area, text_field, when};
use super::moderation::{
    PAGE_SIZE, PageQuery, expired, log_cards, older_than, one_error, only_for, person, shown_lines,
};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

const BANS: &str = "/admin/bans";
const BANS_TITLE: &str = "Server bans";
const LOG: &str = "/admin/log";
const LOG_TITLE: &str = "Server moderation log";
/// Who may see these pages, as the refusal says it.
const WHO: &str = "the people who run this server";

/// How long a ban lasts: the form's value, its words, and its days (none:
/// until lifted).
const DURATIONS: [(&str, &str, Option<i64>); 4] = [
    ("lifted", "Until an admin lifts it", None),
    ("1", "1 day", Some(1)),
    ("7", "7 days", Some(7)),
    ("30", "30 days", Some(30)),
];

/// What the reason field says when it was left empty: unlike a group's
/// ban, the person is not told the reason of a ban from the server.
const REASON_NEEDED: &str =
    "Say why, in a few words. It goes in the server's moderation log for the other admins.";

/// `?done=` after a ban was made or lifted.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// A ban with the people the page names.
struct Shown {
    ban: Ban,
    person: Author,
    by: Author,
}

/// Someone as the pages name them, or their address.
async fn named(state: &ApiState, ap_id: &str) -> Author {
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

fn refused(state: &ApiState, headers: &HeaderMap, session: &WebSession, title: &str) -> Response {
    only_for(state, headers, session, title, WHO)
}

fn bans_content(
    bans: &[Shown],
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    let duration = match field(form, "duration") {
        "" => "lifted",
        chosen => chosen,
    };
    let choices: Vec<(&str, &str)> = DURATIONS.iter().map(|(v, l, _)| (*v, *l)).collect();
    html! {
        (error_summary(errors))
        h1 { (BANS_TITLE) }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        p { "Someone banned from this server cannot post, reply, react or join a group here until the ban ends. Someone from another server also leaves every group here, and nothing more they send is taken. Other servers are not told: they decide for themselves." }
        h2 { "Bans now" }
        @if bans.is_empty() {
            p { "Nobody is banned from this server." }
        } @else {
            ul class="cards" {
                @for b in bans {
                    li {
                        p { strong { (person(&b.person)) } }
                        p { "Reason: \u{201c}" (b.ban.terms.reason) "\u{201d}" }
                        p {
                            @match b.ban.terms.expires_at {
                                Some(until) => { "Until " (when(until)) }
                                None => { "Until an admin lifts it" }
                            }
                            @if b.ban.terms.remove_data { " · what they wrote here was removed" }
                        }
                        p class="hint" { "Banned " (when(b.ban.created_at)) " by " (person(&b.by)) }
                        form method="post" action=(format!("{BANS}/lift")) {
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
        h2 { "Ban someone from this server" }
        form method="post" action=(BANS) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("person", "Who?", "text", field(form, "person"),
                Some("Their name on this server, name@server for someone on another server, or the address of their profile."), errors, "off"))
            (text_area("reason", "reason", "Why?", field(form, "reason"),
                Some("It goes in the server's moderation log, which only the people who run this server can read."), errors, 3))
            (radios("duration", "How long?", &choices, duration, None, errors))
            div class="field" {
                div class="checkbox" {
                    input type="checkbox" id="remove_data" name="remove_data" value="yes" checked[field(form, "remove_data") == "yes"];
                    label for="remove_data" { "Also remove everything they wrote in the groups on this server" }
                }
            }
            button class="warning" type="submit" { "Ban from this server" }
        }
        p { a href=(LOG) { (LOG_TITLE) } ": what moderators and admins did, and why" }
    }
}

async fn show_bans(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    status: StatusCode,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    // The use-case refuses anyone but an admin.
    let bans = match state.app.bans(session, None).await {
        Ok(bans) => bans,
        Err(AppError::Forbidden(_)) => return refused(state, headers, session, BANS_TITLE),
        Err(err) => {
            tracing::error!(error = %err, "server bans page failed");
            Vec::new()
        }
    };
    let mut shown = Vec::with_capacity(bans.len());
    for ban in bans {
        shown.push(Shown {
            person: named(state, &ban.person_ap_id).await,
            by: named(state, &ban.by_ap_id).await,
            ban,
        });
    }
    page(state, headers, Some(session), BANS_TITLE, status, |csrf| {
        bans_content(&shown, csrf, form, errors, notice)
    })
}

/// Admins: the bans from the whole server, and the form to ban someone.
pub async fn bans(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let notice = match q.done.as_deref() {
        Some("banned") => Some("The ban is in place."),
        Some("lifted") => Some("The ban is lifted. They can take part on this server again."),
        _ => None,
    };
    show_bans(
        &state,
        &headers,
        &session,
        StatusCode::OK,
        &HashMap::new(),
        &[],
        notice,
    )
    .await
}

/// The problems with a ban from the server, as the form's fields name
/// them.
fn server_ban_errors(err: AppError) -> Vec<FieldError> {
    let reason_missing = matches!(
        &err,
        AppError::Invalid(errs) if errs.iter().any(|e| e.field == "reason" && e.code == "required")
    );
    let mut errors = ban_errors(err);
    if reason_missing {
        for e in errors.iter_mut().filter(|e| e.field == "reason") {
            e.message = REASON_NEEDED.to_owned();
        }
    }
    errors
}

pub async fn ban(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
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
                    .ban_from_instance(&Origin::local(&session), request)
                    .await
                {
                    Ok(_) => return redirect_to(&format!("{BANS}?done=banned")),
                    Err(AppError::Forbidden(_)) => {
                        return refused(&state, &headers, &session, BANS_TITLE);
                    }
                    Err(err) => server_ban_errors(err),
                }
            }
        }
    };
    show_bans(
        &state,
        &headers,
        &session,
        StatusCode::UNPROCESSABLE_ENTITY,
        &form,
        &errors,
        None,
    )
    .await
}

pub async fn lift(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        match state
            .app
            .lift_instance_ban(&Origin::local(&session), field(&form, "person"))
            .await
        {
            Ok(()) => return redirect_to(&format!("{BANS}?done=lifted")),
            Err(AppError::Forbidden(_)) => {
                return refused(&state, &headers, &session, BANS_TITLE);
            }
            // Lifted meanwhile, or ran out: the list shows how things stand.
            Err(err) => tracing::info!(error = %err, "lifting a server ban from the web refused"),
        }
    }
    redirect_to(BANS)
}

// ---- the server's moderation log --------------------------------------------

/// Admins: everything moderators and admins did, in every group here and
/// for the whole server, newest first.
pub async fn log(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    // The use-case refuses anyone but an admin.
    let lines = match state
        .app
        .instance_log(&session, q.before(), PAGE_SIZE)
        .await
    {
        Ok(lines) => lines,
        Err(AppError::Forbidden(_)) => return refused(&state, &headers, &session, LOG_TITLE),
        Err(err) => {
            tracing::error!(error = %err, "server moderation log failed");
            Vec::new()
        }
    };
    let older = older_than(lines.len(), lines.last().map(|l| l.entry.id))
        .map(|before| format!("{LOG}?before={before}"));
    let shown = shown_lines(&state, &lines, true).await;
    page(
        &state,
        &headers,
        Some(&session),
        LOG_TITLE,
        StatusCode::OK,
        |_| {
            html! {
                h1 { (LOG_TITLE) }
                p { "What the moderators and admins did, in every group on this server and for the whole server, newest first, with the reasons they gave. Only the people who run this server can see this page." }
                (log_cards(&shown, older))
                p { a href=(BANS) { (BANS_TITLE) } }
            }
        },
    )
}

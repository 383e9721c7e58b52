//! The admins' page of which servers this one talks to ("connected
//! servers"): the rules for single servers, set and removed by hand, and
//! the published lists the server follows, whose entries become rules.
//! `hearth_app::policy` and `hearth_app::subscriptions` decide; this page
//! shows their answers in plain words.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use hearth_app::AppError;
use hearth_app::policy::{CutOff, RuleRequest, StoredRule};
use hearth_app::subscriptions::Subscription;
use hearth_domain::federation_policy::{FederationMode, ListKind, RuleAction};
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::groups::is_admin;
use super::layout::{FieldError, error_summary, radios, text_field, when};
use super::moderation::{expired, one_error, only_for};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

const TITLE: &str = "Connected servers";

/// How long a rule lasts: the form's value, its words, and its days (none:
/// until removed).
const DURATIONS: [(&str, &str, Option<i64>); 4] = [
    ("removed", "Until you remove it", None),
    ("7", "7 days", Some(7)),
    ("30", "30 days", Some(30)),
    ("365", "1 year", Some(365)),
];

/// The rule actions an admin can choose here.
const ACTIONS: [(&str, &str); 3] = [
    (
        "suspend",
        "Suspend: no posts, replies or members from that server, and nothing sent to it",
    ),
    (
        "limit",
        "Limit: its people need a moderator's yes to join, and what they write is shown to group members only",
    ),
    (
        "allow",
        "Allow: let it connect (what a server that allows only chosen servers needs)",
    ),
];

const KINDS: [(&str, &str); 2] = [
    ("block", "Servers to suspend (a blocklist)"),
    ("allow", "Servers to allow (an allowlist)"),
];

/// An admin's session, or the page to send instead.
async fn admin_session(state: &ApiState, headers: &HeaderMap) -> Result<WebSession, Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    if !is_admin(&session) {
        return Err(only_for(
            state,
            headers,
            &session,
            TITLE,
            "the people who run this server",
        ));
    }
    Ok(session)
}

/// A message from the policy use-cases (lower-case fragments) as a
/// sentence.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn errors_of(err: AppError, fallback: &str, rename: &[(&str, &str)]) -> Vec<FieldError> {
    match err {
        AppError::Invalid(errs) => errs
            .into_iter()
            .map(|e| FieldError {
                field: rename
                    .iter()
                    .find(|(from, _)| *from == e.field)
                    .map(|(_, to)| (*to).to_owned())
                    .unwrap_or_else(|| e.field.to_owned()),
                message: match (e.field, e.code) {
                    ("domain", _) => "Enter the server's domain, such as example.org".to_owned(),
                    ("url", "invalid_url") => {
                        "Enter the list's web address, starting with https://".to_owned()
                    }
                    _ => sentence(&e.message),
                },
            })
            .collect(),
        AppError::NotFound { .. } => one_error(fallback, "That is not there any more."),
        other => {
            tracing::error!(error = %other, "connected servers page failed");
            one_error(
                fallback,
                "Something went wrong on our side. Nothing was changed. Please try again in a moment.",
            )
        }
    }
}

fn mode_words(mode: FederationMode) -> &'static str {
    match mode {
        FederationMode::Open => {
            "This server talks to every other server. The rules below are kept, but they apply only once the server is set to use a blocklist or an allowlist."
        }
        FederationMode::Blocklist => {
            "This server talks to every other server except those a rule suspends."
        }
        FederationMode::Allowlist => {
            "This server talks only to the servers a rule allows, and never to one a rule suspends."
        }
    }
}

fn action_words(action: RuleAction) -> &'static str {
    match action {
        RuleAction::Suspend => "Suspended",
        RuleAction::Limit => "Limited",
        RuleAction::Allow => "Allowed",
    }
}

fn kind_words(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Block => "Blocklist: its servers are suspended",
        ListKind::Allow => "Allowlist: its servers are allowed",
    }
}

fn cut_off_words(cut: &CutOff) -> Option<String> {
    (cut.deliveries + cut.members + cut.memberships > 0).then(|| {
        format!(
            "Cut off at once: {} members from there left groups here, {} memberships of people here in groups there ended, {} posts waiting to be sent there were dropped.",
            cut.members, cut.memberships, cut.deliveries
        )
    })
}

/// What the page shows, and what a form sent back.
struct View<'a> {
    mode: FederationMode,
    rules: &'a [StoredRule],
    lists: &'a [Subscription],
    form: &'a HashMap<String, String>,
    errors: &'a [FieldError],
    notice: Option<&'a str>,
}

fn content(v: &View<'_>, csrf: &str) -> Markup {
    let form = v.form;
    let chosen = |name: &str, default: &'static str| -> String {
        match field(form, name) {
            "" => default.to_owned(),
            value => value.to_owned(),
        }
    };
    let durations: Vec<(&str, &str)> = DURATIONS.iter().map(|(v, l, _)| (*v, *l)).collect();
    html! {
        (error_summary(v.errors))
        h1 { (TITLE) }
        @if let Some(n) = v.notice { p class="notice" role="status" { (n) } }
        p { (mode_words(v.mode)) }
        h2 { "Rules for servers" }
        @if v.rules.is_empty() {
            p { "There are no rules yet." }
        } @else {
            ul class="cards" {
                @for stored in v.rules {
                    @let r = &stored.rule;
                    li {
                        p { strong { (r.domain) } ": " (action_words(r.action)) }
                        @if !r.public_reason.is_empty() { p { "Reason everyone can see: \u{201c}" (r.public_reason) "\u{201d}" } }
                        @if !r.private_reason.is_empty() { p { "Note for admins: \u{201c}" (r.private_reason) "\u{201d}" } }
                        p class="hint" {
                            @match r.expires_at { Some(until) => { "Until " (when(until)) }, None => { "Until removed" } }
                            " · "
                            @match &r.subscription {
                                Some(list) => { "from the list " (list) }
                                None => { "set by an admin " (when(stored.created_at)) }
                            }
                        }
                        @if r.subscription.is_none() {
                            form method="post" action="/admin/federation/rules/remove" {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                input type="hidden" name="domain" value=(r.domain);
                                button class="secondary" type="submit" { "Remove" span class="visually-hidden" { " the rule for " (r.domain) } }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add or change a rule" }
        form method="post" action="/admin/federation/rules" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("domain", "Server", "text", field(form, "domain"),
                Some("Its domain, such as example.org. A rule for a domain covers the servers under it too."), v.errors, "off"))
            (radios("action", "What should happen?", &ACTIONS, &chosen("action", "suspend"), None, v.errors))
            (text_field("public_reason", "Reason everyone can see (optional)", "text", field(form, "public_reason"), None, v.errors, "off"))
            (text_field("private_reason", "Note for admins (optional)", "text", field(form, "private_reason"),
                Some("Only the people who run this server see it."), v.errors, "off"))
            (radios("duration", "How long?", &durations, &chosen("duration", "removed"), None, v.errors))
            button type="submit" { "Save rule" }
        }
        h2 { "Lists this server follows" }
        p { "Published lists of servers, fetched again from time to time. Their entries become rules; you cannot remove those one by one." }
        @if v.lists.is_empty() {
            p { "This server follows no lists." }
        } @else {
            ul class="cards" {
                @for list in v.lists {
                    li {
                        p { strong { (list.url) } }
                        p { (kind_words(list.kind)) " · " (list.entries) @if list.entries == 1 { " server" } @else { " servers" } }
                        p class="hint" {
                            @match list.last_fetched_at {
                                Some(at) => { "Last fetched " (when(at)) }
                                None => { "Not fetched yet" }
                            }
                        }
                        @if !list.last_error.is_empty() {
                            p class="error-message" { "The last fetch failed: " (list.last_error) ". Its rules stay as they were." }
                        }
                        form method="post" action="/admin/federation/lists/remove" {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            input type="hidden" name="url" value=(list.url);
                            button class="secondary" type="submit" { "Stop following" span class="visually-hidden" { " " (list.url) } }
                        }
                    }
                }
            }
        }
        h2 { "Follow a list" }
        form method="post" action="/admin/federation/lists" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("url", "Web address of the list", "text", field(form, "url"),
                Some("A CSV file in Mastodon's export format, a plain list of domains, or a JSON list."), v.errors, "url"))
            (radios("kind", "What kind of list is it?", &KINDS, &chosen("kind", "block"), None, v.errors))
            button type="submit" { "Follow this list" }
        }
    }
}

async fn show(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    status: StatusCode,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    let rules = state.app.domain_rules().await.unwrap_or_else(|err| {
        tracing::error!(error = %err, "reading the domain rules failed");
        Vec::new()
    });
    let lists = state
        .app
        .domain_subscriptions()
        .await
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "reading the domain lists failed");
            Vec::new()
        });
    let view = View {
        mode: state.app.federation_mode(),
        rules: &rules,
        lists: &lists,
        form,
        errors,
        notice,
    };
    page(state, headers, Some(session), TITLE, status, |csrf| {
        content(&view, csrf)
    })
}

pub async fn federation(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = match admin_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    show(
        &state,
        &headers,
        &session,
        StatusCode::OK,
        &HashMap::new(),
        &[],
        None,
    )
    .await
}

pub async fn set_rule(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let session = match admin_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let days = match field(&form, "duration") {
        "" | "removed" => Ok(None),
        chosen => DURATIONS
            .iter()
            .find(|(value, _, _)| *value == chosen)
            .map(|(_, _, days)| *days)
            .ok_or(()),
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("domain")
    } else if let Ok(days) = days {
        let request = RuleRequest {
            domain: field(&form, "domain").to_owned(),
            action: field(&form, "action").to_owned(),
            public_reason: field(&form, "public_reason").to_owned(),
            private_reason: field(&form, "private_reason").to_owned(),
            expires_at: days.map(|d| Utc::now() + Duration::days(d)),
        };
        match state
            .app
            .set_domain_rule(Some(&session.account), request)
            .await
        {
            Ok(set) => {
                let notice = match cut_off_words(&set.cut_off) {
                    Some(cut) => format!("The rule for {} is saved. {cut}", set.rule.domain),
                    None => format!("The rule for {} is saved.", set.rule.domain),
                };
                return show(
                    &state,
                    &headers,
                    &session,
                    StatusCode::OK,
                    &HashMap::new(),
                    &[],
                    Some(&notice),
                )
                .await;
            }
            Err(err) => errors_of(err, "domain", &[("expires_at", "duration")]),
        }
    } else {
        one_error("duration", "Choose how long the rule lasts")
    };
    show(
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

pub async fn remove_rule(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let session = match admin_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .remove_domain_rule(Some(&session.account), field(&form, "domain"))
            .await
    {
        tracing::info!(error = %err, "removing a domain rule from the web refused");
    }
    redirect_to("/admin/federation")
}

pub async fn follow_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let session = match admin_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("url")
    } else {
        match state
            .app
            .subscribe_domain_list(
                Some(&session.account),
                field(&form, "url"),
                field(&form, "kind"),
            )
            .await
        {
            Ok(done) => {
                let notice = match done.fetched.outcome {
                    Ok(update) => {
                        let mut words = format!(
                            "This server now follows the list. It names {} {}.",
                            update.entries,
                            if update.entries == 1 {
                                "server"
                            } else {
                                "servers"
                            }
                        );
                        if !update.skipped.is_empty() {
                            words.push_str(&format!(
                                " {} entries could not be used and were left out.",
                                update.skipped.len()
                            ));
                        }
                        if let Some(cut) = cut_off_words(&update.cut_off) {
                            words.push(' ');
                            words.push_str(&cut);
                        }
                        words
                    }
                    Err(why) => format!(
                        "This server now follows the list, but fetching it failed: {why}. It will try again later."
                    ),
                };
                return show(
                    &state,
                    &headers,
                    &session,
                    StatusCode::OK,
                    &HashMap::new(),
                    &[],
                    Some(&notice),
                )
                .await;
            }
            Err(err) => errors_of(err, "url", &[]),
        }
    };
    show(
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

pub async fn unfollow_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let session = match admin_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD))
        && let Err(err) = state
            .app
            .unsubscribe_domain_list(Some(&session.account), field(&form, "url"))
            .await
    {
        tracing::info!(error = %err, "unfollowing a domain list from the web refused");
    }
    redirect_to("/admin/federation")
}

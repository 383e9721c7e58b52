//! "Verified professionals": the page where an admin (or a moderator an
//! admin trusts for it) verifies a member's professional role after
//! checking their credentials outside Hearth, and revokes it; admins also
//! choose which moderators they trust to verify. The use-cases
//! (`hearth_app::professionals`) decide who may.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::AppError;
use hearth_app::records::Account;
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::groups::is_admin;
use super::layout::{FieldError, error_summary, text_field};
use super::moderation::{expired, one_error, only_for};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

type FormData = Form<HashMap<String, String>>;

const TITLE: &str = "Verified professionals";

async fn verifier_session(state: &ApiState, headers: &HeaderMap) -> Result<WebSession, Response> {
    let Some(session) = forms::session(&state.app, headers).await else {
        return Err(redirect_to("/login"));
    };
    if !state.app.may_verify(&session) {
        return Err(only_for(
            state,
            headers,
            &session,
            TITLE,
            "admins, and moderators an admin trusts to verify professionals",
        ));
    }
    Ok(session)
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
    let (professionals, verifiers) = state.app.professionals(session).await.unwrap_or_default();
    let admin = is_admin(session);
    let host = state.app.urls().authority().to_owned();
    page(state, headers, Some(session), TITLE, status, |csrf| {
        content(
            csrf,
            form,
            errors,
            notice,
            &professionals,
            &verifiers,
            admin,
            &host,
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn content(
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
    notice: Option<&str>,
    professionals: &[Account],
    verifiers: &[Account],
    admin: bool,
    host: &str,
) -> Markup {
    html! {
        (error_summary(errors))
        h1 { (TITLE) }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        p { "Check a member's professional credentials yourself first, outside Hearth. Hearth keeps only the role you type, who verified it and when: never any documents." }
        p { "Their role is then shown beside their name on every post, here and on other servers, as “verified by " (host) "”. They can choose to write as a professional; those posts carry a short disclaimer." }
        h2 { "Verify a member" }
        form method="post" action="/admin/professionals" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("username", "Username", "text", field(form, "username"), Some("The member's username on this server."), errors, "off"))
            (text_field("role", "Professional role", "text", field(form, "role"), Some("Plain words, 3 to 80 characters, for example: Registered nurse, oncology."), errors, "off"))
            button type="submit" { "Verify this role" }
        }
        h2 { "Verified now" }
        @if professionals.is_empty() {
            p { "Nobody is verified yet." }
        } @else {
            ul class="cards" {
                @for a in professionals {
                    li {
                        p { strong { (a.username) } " · " (a.professional_role().unwrap_or("")) }
                        form method="post" action="/admin/professionals/revoke" {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            input type="hidden" name="username" value=(a.username);
                            button class="warning" type="submit" { "Revoke " span class="visually-hidden" { (a.username) "'s " } "verification" }
                        }
                    }
                }
            }
        }
        @if admin {
            h2 { "Moderators you trust to verify" }
            @if verifiers.is_empty() {
                p { "Only admins verify now." }
            } @else {
                ul class="cards" {
                    @for a in verifiers {
                        li {
                            p { strong { (a.username) } }
                            form method="post" action="/admin/professionals/verifiers/remove" {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                input type="hidden" name="username" value=(a.username);
                                button class="secondary" type="submit" { "Stop trusting " (a.username) }
                            }
                        }
                    }
                }
            }
            form method="post" action="/admin/professionals/verifiers" novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                (text_field("moderator", "Moderator's username", "text", field(form, "moderator"), Some("Only a moderator can be trusted to verify. Admins always can."), errors, "off"))
                button class="secondary" type="submit" { "Trust to verify" }
            }
        }
    }
}

/// Field errors of a use-case's answer; `field` takes what names no field.
fn errors_of(err: AppError, field: &str, rename: &[(&str, &str)]) -> Vec<FieldError> {
    match err {
        AppError::Invalid(errs) => errs
            .into_iter()
            .map(|e| FieldError {
                field: rename
                    .iter()
                    .find(|(from, _)| *from == e.field)
                    .map_or(e.field, |(_, to)| to)
                    .to_owned(),
                message: e.message,
            })
            .collect(),
        AppError::NotFound { .. } => {
            one_error(field, "There is no active member with that username here")
        }
        AppError::Forbidden(why) => one_error(field, why),
        other => {
            tracing::error!(error = %other, "a verification from the web failed");
            one_error(field, "Something went wrong. Please try again")
        }
    }
}

pub async fn list(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match verifier_session(&state, &headers).await {
        Ok(session) => {
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
        Err(response) => response,
    }
}

async fn account_named(state: &ApiState, name: &str) -> Result<Account, AppError> {
    state.app.account_by_username(name.trim()).await
}

pub async fn verify(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let session = match verifier_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("username")
    } else {
        let done = match account_named(&state, field(&form, "username")).await {
            Ok(account) => {
                state
                    .app
                    .verify_professional(&session, account.id, field(&form, "role"))
                    .await
            }
            Err(err) => Err(err),
        };
        match done {
            Ok(account) => {
                let notice = format!(
                    "{} is verified as {}.",
                    account.username,
                    account.professional_role().unwrap_or("")
                );
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
            Err(err) => errors_of(err, "username", &[]),
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

pub async fn revoke(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    let session = match verifier_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        let done = match account_named(&state, field(&form, "username")).await {
            Ok(account) => state.app.revoke_professional(&session, account.id).await,
            Err(err) => Err(err),
        };
        if let Err(err) = done {
            tracing::info!(error = %err, "revoking a verification from the web refused");
        }
    }
    redirect_to("/admin/professionals")
}

async fn set_trust(
    state: ApiState,
    headers: HeaderMap,
    form: HashMap<String, String>,
    trusted: bool,
) -> Response {
    let session = match verifier_session(&state, &headers).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let name_field = if trusted { "moderator" } else { "username" };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired(name_field)
    } else {
        let done = match account_named(&state, field(&form, name_field)).await {
            Ok(account) => state.app.set_verifier(&session, account.id, trusted).await,
            Err(err) => Err(err),
        };
        match done {
            Ok(_) => return redirect_to("/admin/professionals"),
            Err(err) => errors_of(err, "moderator", &[("role", "moderator")]),
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

pub async fn trust(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    set_trust(state, headers, form, true).await
}

pub async fn distrust(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    set_trust(state, headers, form, false).await
}

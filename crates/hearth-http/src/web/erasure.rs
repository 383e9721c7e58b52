//! Deleting an account, and the receipts that say how each server that
//! held any of it answered: the member's "Delete your account" page, the
//! receipt behind the secret link it gives, a post's receipt for its
//! author, and the admins' list of erasures. `hearth_app::erasure` decides
//! who may; these pages only show.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hearth_app::AppError;
use hearth_app::erasure::{BY_MEMBER, Erasure, Receipt, ReceiptState};
use hearth_domain::erasure::ErasureKind;
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::layout::{FieldError, error_summary, text_field, when};
use super::moderation::{PAGE_SIZE, PageQuery, expired, older_than, one_error, only_for};
use super::pages::{field, page, redirect_to};
use crate::ApiState;

const DELETE: &str = "/me/delete";
const DELETE_TITLE: &str = "Delete your account";
const RECEIPT_TITLE: &str = "Your deleted account";
const POST_TITLE: &str = "Your deleted post";
const ADMIN: &str = "/admin/erasures";
const ADMIN_TITLE: &str = "Deleted accounts and posts";

/// Each server's answer, in plain words.
fn servers(receipt: &Receipt) -> Markup {
    html! {
        @if receipt.servers.is_empty() {
            p { "Nothing of it had gone to any other server, so there was nobody else to tell." }
        } @else {
            @if receipt.is_complete() {
                p { "Every server has answered. There is nothing more to do." }
            } @else {
                p { "Some servers have not confirmed yet. We keep asking them, for as long as they exist. This page shows how things stand now." }
            }
            table class="receipt" {
                caption class="visually-hidden" { "What each server said" }
                // Two columns, the time under the status: a third column
                // did not fit a phone's width.
                thead { tr { th scope="col" { "Server" } th scope="col" { "Status" } } }
                tbody {
                    @for s in &receipt.servers {
                        tr data-server=(s.authority) data-state=(s.state.as_str()) {
                            th scope="row" { (s.authority) }
                            td {
                                strong { (label(s.state)) }
                                br;
                                (s.state.explain())
                                @if s.state == ReceiptState::Failing || s.state == ReceiptState::Gone {
                                    @if let Some(error) = &s.last_error { br; span class="hint" { "Last answer: " (error) } }
                                }
                                br;
                                span class="hint" { "Since " (when(s.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn label(state: ReceiptState) -> &'static str {
    match state {
        ReceiptState::Sent => "Asked",
        ReceiptState::Acknowledged => "Deleted",
        ReceiptState::Failing => "Not confirmed yet",
        ReceiptState::Held => "Waiting",
        ReceiptState::Gone => "Server gone",
    }
}

fn delete_form(csrf: &str, errors: &[FieldError]) -> Markup {
    html! {
        form method="post" action=(DELETE) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("password", "Your password", "password", "", Some("To be sure it is you."), errors, "current-password"))
            // Styled as the one button that destroys, not as a go-ahead.
            button type="submit" class="warning" { "Delete my account" }
        }
    }
}

/// Who asked for an erasure, in words: the member, an admin by name, or
/// the operator at the shell.
fn asked_by(erasure: &Erasure) -> String {
    if erasure.requested_by == BY_MEMBER {
        match erasure.kind {
            ErasureKind::Account => "the member themselves".to_owned(),
            ErasureKind::Post => "its author".to_owned(),
        }
    } else if let Some(days) = hearth_app::erasure::retention_days_of(&erasure.requested_by) {
        format!("the group's rule to keep threads for {days} days after their last reply")
    } else {
        erasure.requested_by.clone()
    }
}

async fn show_delete(
    state: &ApiState,
    headers: &HeaderMap,
    session: &WebSession,
    status: StatusCode,
    errors: &[FieldError],
) -> Response {
    page(
        state,
        headers,
        Some(session),
        DELETE_TITLE,
        status,
        |csrf| {
            html! {
                // At the top, where it is seen first on a small screen: the
                // explanation above the form is long.
                (error_summary(errors))
                h1 { (DELETE_TITLE) }
                p { "If you delete your account:" }
                ul {
                    li { "everything you wrote, your reactions and the groups you belong to are deleted from this server" }
                    li { "every other server that received any of it is asked to delete it too, and we keep asking until each one has" }
                    li { "you can no longer log in, and nobody else can take your name" }
                }
                p { strong { "This cannot be undone." } " If you want a copy first, " a href="/me/export" { "download your data" } "." }
                p { "After you delete it, you get a link to a page that shows, server by server, that your data was deleted. Keep that link." }
                (delete_form(csrf, errors))
            }
        },
    )
}

/// The member's "Delete your account" page.
pub async fn form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    show_delete(&state, &headers, &session, StatusCode::OK, &[]).await
}

/// Delete the account, end the browser's session, and go to the receipt.
pub async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let errors = if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        expired("password")
    } else if let Err(wait) = state.auth_limits.account(&session.account.username) {
        return super::too_many(&state, &headers, wait);
    } else {
        match state
            .app
            .delete_my_account(&session.session, field(&form, "password"))
            .await
        {
            Ok(erased) => {
                let to = format!("/erasures/{}", erased.receipt_secret);
                let mut response = redirect_to(&to);
                if let Ok(value) = axum::http::HeaderValue::from_str(&forms::set_cookie(
                    &state.app,
                    forms::SESSION_COOKIE,
                    "",
                    0,
                )) {
                    response
                        .headers_mut()
                        .append(axum::http::header::SET_COOKIE, value);
                }
                return response;
            }
            Err(AppError::Invalid(_)) => {
                one_error("password", "That is not your password. Try again.")
            }
            Err(err) => {
                tracing::error!(error = %err, "account deletion failed");
                one_error(
                    "password",
                    "Your account could not be deleted just now. Nothing was deleted. Please try again later.",
                )
            }
        }
    };
    show_delete(
        &state,
        &headers,
        &session,
        StatusCode::UNPROCESSABLE_ENTITY,
        &errors,
    )
    .await
}

/// The receipt behind the secret link: anyone holding it may read it
/// (it names servers, nothing the member wrote).
pub async fn receipt(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Response {
    let session = forms::session(&state.app, &headers).await;
    match state.app.receipt_by_secret(&secret).await {
        Ok(receipt) => page(
            &state,
            &headers,
            session.as_ref(),
            RECEIPT_TITLE,
            StatusCode::OK,
            |_| {
                html! {
                    h1 { (RECEIPT_TITLE) }
                    p { "Your account was deleted from this server on " (when(receipt.erasure.created_at)) "." }
                    p { "Keep the address of this page: it is the only way to see it. It shows nothing you wrote, only which servers were asked to delete it and what they said." }
                    (servers(&receipt))
                }
            },
        ),
        Err(_) => page(
            &state,
            &headers,
            session.as_ref(),
            RECEIPT_TITLE,
            StatusCode::NOT_FOUND,
            |_| {
                html! {
                    h1 { (RECEIPT_TITLE) }
                    p { "This link is not right. Check that you copied all of it." }
                }
            },
        ),
    }
}

/// A deleted post's receipt, for its author.
pub async fn post(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let found = match id.parse::<i64>() {
        Ok(id) => state.app.post_receipt(&session.session, id).await,
        Err(_) => Err(AppError::NotFound { what: "post" }),
    };
    match found {
        Ok(receipt) => page(
            &state,
            &headers,
            Some(&session),
            POST_TITLE,
            StatusCode::OK,
            |_| {
                html! {
                    h1 { (POST_TITLE) }
                    p { "You deleted this post on " (when(receipt.erasure.created_at)) ". It is gone from this server." }
                    (servers(&receipt))
                    p { a href="/" { "Back to your groups" } }
                }
            },
        ),
        Err(_) => page(
            &state,
            &headers,
            Some(&session),
            POST_TITLE,
            StatusCode::NOT_FOUND,
            |_| {
                html! {
                    h1 { (POST_TITLE) }
                    p { "There is no deleted post of yours here." }
                }
            },
        ),
    }
}

/// Admins: every erasure, newest first, with each server's answer.
pub async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(session) = forms::session(&state.app, &headers).await else {
        return redirect_to("/login");
    };
    let receipts = match state
        .app
        .erasures(&session.session, q.before(), PAGE_SIZE)
        .await
    {
        Ok(receipts) => receipts,
        Err(AppError::Forbidden(_)) => {
            return only_for(
                &state,
                &headers,
                &session,
                ADMIN_TITLE,
                "the people who run this server",
            );
        }
        Err(err) => {
            tracing::error!(error = %err, "erasures failed");
            Vec::new()
        }
    };
    let older = older_than(receipts.len(), receipts.last().map(|r| r.erasure.id));
    let keeping = state
        .app
        .groups_with_retention(&session.session)
        .await
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "groups with retention failed");
            Vec::new()
        });
    page(
        &state,
        &headers,
        Some(&session),
        ADMIN_TITLE,
        StatusCode::OK,
        |_| {
            html! {
                h1 { (ADMIN_TITLE) }
                h2 { "Groups that delete old threads" }
                @if keeping.is_empty() {
                    p { "No group deletes old threads: threads stay until the people who wrote them delete them. A group's moderators can change this in the group's settings." }
                } @else {
                    ul {
                        @for g in &keeping {
                            li { a href=(format!("/groups/{}", g.name)) { (g.display_name) } ": threads are deleted " (g.retention_days) " days after their last reply." }
                        }
                    }
                }
                h2 { "What was deleted" }
                p { "Each account or post deleted by its owner (or by an admin, or by its group's rule), newest first, and what each server that held any of it said when asked to delete it." }
                @if receipts.is_empty() { p { "Nothing has been deleted yet." } }
                @for r in &receipts {
                    section class="card" {
                        h3 {
                            @match r.erasure.kind {
                                ErasureKind::Account => "An account",
                                ErasureKind::Post => "A post",
                            }
                            ", deleted " (when(r.erasure.created_at))
                        }
                        p { code { (r.erasure.subject_ap_id) } }
                        p { "Asked for by " (asked_by(&r.erasure)) "." }
                        (servers(r))
                    }
                }
                @if let Some(before) = older { p { a href=(format!("{ADMIN}?before={before}")) { "Older" } } }
            }
        },
    )
}

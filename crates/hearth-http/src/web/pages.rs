//! The pages: home, log in, sign up, log out, and the group directory.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_app::groups::MyMembership;
use hearth_app::{AppError, accounts::Registration};
use hearth_domain::{AccountStatus, MembershipState, RegistrationMode};
use maud::{Markup, html};

use super::forms::{self, CSRF_FIELD, WebSession};
use super::layout::{FieldError, Page, Viewer, error_summary, render, respond, text_field};
use crate::ApiState;
use crate::rate_limit::ClientIp;

type FormData = Form<HashMap<String, String>>;

pub(super) fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

/// Render a page for this browser, setting the CSRF cookie if it has none.
pub(crate) fn page(
    state: &ApiState,
    headers: &HeaderMap,
    session: Option<&WebSession>,
    title: &str,
    status: StatusCode,
    content: impl FnOnce(&str) -> Markup,
) -> Response {
    let csrf = forms::csrf(&state.app, headers);
    let markup = render(Page {
        instance: &state.app.config.instance.name,
        title,
        viewer: Viewer {
            username: session.map(|s| s.account.username.as_str()),
            admin: session.is_some_and(|s| s.account.role == hearth_domain::Role::Admin),
            unread: session.map(|s| s.unread).unwrap_or(0),
            csrf: &csrf.token,
        },
        content: content(&csrf.token),
    });
    respond(markup, status, csrf.set_cookie.as_slice())
}

/// A plain "see other" redirect.
pub(super) fn redirect_to(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub(super) fn redirect(to: &'static str, set_cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    for cookie in set_cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// What an account form (sign-up, first-run set-up) says when the
/// account cannot be made: each invalid field, or the name taken.
pub(super) fn account_form_errors(err: AppError) -> Vec<FieldError> {
    match err {
        AppError::Invalid(errs) => errs
            .into_iter()
            .map(|e| FieldError {
                field: e.field.to_owned(),
                message: e.message,
            })
            .collect(),
        _ => vec![FieldError {
            field: "username".into(),
            message: "That name is already used by a person or a group on this server. Please choose another.".into(),
        }],
    }
}

pub(super) fn expired_form() -> FieldError {
    FieldError {
        field: "main".into(),
        message: "This form had expired. Please check your answers and send it again.".into(),
    }
}

fn membership_words(state: MembershipState) -> &'static str {
    match state {
        MembershipState::Joined => "Member",
        MembershipState::Pending => "Waiting for a moderator",
        MembershipState::Declined => "Not accepted",
    }
}

pub async fn home(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let memberships = match &session {
        Some(s) => state.app.my_memberships(s).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let latest = match &session {
        Some(s) => state
            .app
            .latest_in_my_groups(s, 10)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let description = state.app.config.instance.description.clone();
    let title = if session.is_some() {
        "Your groups"
    } else {
        "Welcome"
    };
    page(
        &state,
        &headers,
        session.as_ref(),
        title,
        StatusCode::OK,
        |_| {
            html! {
                @if let Some(s) = &session {
                    h1 { "Your groups" }
                    @if memberships.is_empty() {
                        p { "You have not joined a group yet." }
                    } @else {
                        ul class="cards" {
                            @for m in &memberships {
                                li {
                                    @match m {
                                        MyMembership::Local { group, membership } => {
                                            a href=(format!("/groups/{}", group.name)) { strong { (group.display_name) } }
                                            br;
                                            span { (membership_words(membership.state)) }
                                        }
                                        MyMembership::Remote { group, membership } => {
                                            a href=(format!("/groups/{}@{}", group.preferred_username, group.authority)) {
                                                strong { (if group.name.is_empty() { &group.preferred_username } else { &group.name }) }
                                            }
                                            " (on " (group.authority) ")"
                                            br;
                                            span { (membership_words(membership.state)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !latest.is_empty() {
                        h2 { "Latest in your groups" }
                        ul class="cards" {
                            @for (group_title, post) in &latest {
                                li {
                                    a href=(format!("/posts/{}", post.id)) { strong { (post.title) } }
                                    br;
                                    span class="hint" { "in " (group_title) }
                                }
                            }
                        }
                    }
                    p { a href="/groups" { "Find a group to join" } }
                    p { a href="/groups/join" { "Join a group on another server" } }
                    p { a href="/groups/new" { "Start a group" } }
                    p class="hint" { "Logged in as " (s.account.username) "." }
                } @else {
                    h1 { "Welcome" }
                    p { (description) }
                    p { "A place to find support from people who understand. Your posts stay with the groups you share them with." }
                    p { a href="/signup" { "Sign up" } " or " a href="/login" { "log in" } "." }
                    p { a href="/groups" { "See the groups on this server" } }
                }
            }
        },
    )
}

fn login_content(
    csrf: &str,
    username: &str,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    html! {
        (error_summary(errors))
        h1 { "Log in" }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        form method="post" action="/login" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("username", "Username", "text", username, None, errors, "username"))
            (text_field("password", "Password", "password", "", None, errors, "current-password"))
            button type="submit" { "Log in" }
        }
        p { "New here? " a href="/signup" { "Sign up" } }
    }
}

pub async fn login_form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    page(&state, &headers, None, "Log in", StatusCode::OK, |csrf| {
        login_content(csrf, "", &[], None)
    })
}

pub async fn login(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ip: Option<axum::Extension<ClientIp>>,
    Form(form): FormData,
) -> Response {
    let ip = ip.map(|axum::Extension(ClientIp(ip))| ip);
    let username = field(&form, "username").trim().to_owned();
    let fail = |errors: Vec<FieldError>, notice: Option<&'static str>| {
        page(
            &state,
            &headers,
            None,
            "Log in",
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf| login_content(csrf, &username, &errors, notice),
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(vec![expired_form()], None);
    }
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push(FieldError {
            field: "username".into(),
            message: "Enter your username".into(),
        });
    }
    if field(&form, "password").is_empty() {
        errors.push(FieldError {
            field: "password".into(),
            message: "Enter your password".into(),
        });
    }
    if !errors.is_empty() {
        return fail(errors, None);
    }
    if let Err(wait) = state.auth_limits.account(&username) {
        return super::too_many(&state, &headers, wait);
    }
    match state
        .app
        .login_from(&username, field(&form, "password"), ip)
        .await
    {
        Ok(logged_in) => {
            let max_age = i64::from(state.app.config.auth.token_lifetime_days) * 86_400;
            let cookie =
                forms::set_cookie(&state.app, forms::SESSION_COOKIE, &logged_in.token, max_age);
            redirect("/", &[cookie])
        }
        Err(AppError::BadCredentials) => fail(
            vec![FieldError {
                field: "password".into(),
                message: "The username or password is not right. Check them and try again.".into(),
            }],
            None,
        ),
        Err(AppError::AccountNotActive(AccountStatus::Pending)) => fail(
            Vec::new(),
            Some(
                "Your account is waiting for approval. You can log in once an admin has approved it.",
            ),
        ),
        Err(AppError::AccountNotActive(_)) => fail(
            Vec::new(),
            Some("This account cannot log in. Ask the people who run this server for help."),
        ),
        Err(err) => {
            tracing::error!(error = %err, "log-in page failed");
            fail(
                Vec::new(),
                Some("Something went wrong on our side. Please try again in a moment."),
            )
        }
    }
}

const PRIVACY: &str = "We keep your username, your password (scrambled so nobody can read it), and what you write. \
Your email address is optional, only the people who run this server can see it, and it is never sent anywhere else. \
Posts you share with a group go to its members, who may be on other servers. You can delete your posts at any time.";

fn signup_content(
    state: &ApiState,
    csrf: &str,
    form: &HashMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    let config = &state.app.config;
    let approval = config.registration.mode == RegistrationMode::Approval;
    let consent_error = errors.iter().find(|e| e.field == "consent");
    let reason_label = match state.app.registration_question() {
        Some(question) => question.to_owned(),
        None => "Why would you like to join? (optional)".to_owned(),
    };
    html! {
        (error_summary(errors))
        h1 { "Sign up" }
        @if approval {
            p class="notice" { "An admin looks at each new account before it can be used." }
        }
        h2 { "This server's rules" }
        div class="rules" { (config.instance.rules) }
        h2 { "How we use your information" }
        p { (PRIVACY) }
        form method="post" action="/signup" novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            (text_field("username", "Username", "text", field(form, "username"), Some("Letters a to z, numbers and underscores. Others will see it. It does not need to be your real name."), errors, "username"))
            (text_field("password", "Password", "password", "", Some("At least 8 characters. A few words together is easy to remember."), errors, "new-password"))
            (text_field("email", "Email address (optional)", "email", field(form, "email"), Some("Only the people who run this server can see it."), errors, "email"))
            @if approval {
                (text_field("reason", &reason_label, "text", field(form, "reason"), None, errors, "off"))
            }
            div class=(if consent_error.is_some() { "field has-error" } else { "field" }) {
                @if let Some(e) = consent_error {
                    p class="error-message" id="consent-error" { span class="visually-hidden" { "Error: " } (e.message) }
                }
                div class="checkbox" {
                    input type="checkbox" id="consent" name="consent" value="yes"
                        checked[field(form, "consent") == "yes"]
                        aria-describedby=[consent_error.map(|_| "consent-error")];
                    label for="consent" { "I agree to the rules and understand how my information is used" }
                }
            }
            button type="submit" { "Create my account" }
        }
    }
}

pub async fn signup_form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if state.app.config.registration.mode == RegistrationMode::Closed {
        return closed(&state, &headers);
    }
    let empty = HashMap::new();
    page(&state, &headers, None, "Sign up", StatusCode::OK, |csrf| {
        signup_content(&state, csrf, &empty, &[])
    })
}

fn closed(state: &ApiState, headers: &HeaderMap) -> Response {
    page(
        state,
        headers,
        None,
        "Sign up",
        StatusCode::FORBIDDEN,
        |_| {
            html! {
                h1 { "This server is not taking new accounts" }
                p { "Ask the people who run this server for an account." }
            }
        },
    )
}

pub async fn signup(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ip: Option<axum::Extension<ClientIp>>,
    Form(form): FormData,
) -> Response {
    let ip = ip.map(|axum::Extension(ClientIp(ip))| ip);
    if state.app.config.registration.mode == RegistrationMode::Closed {
        return closed(&state, &headers);
    }
    let fail = |errors: Vec<FieldError>| {
        page(
            &state,
            &headers,
            None,
            "Sign up",
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf| signup_content(&state, csrf, &form, &errors),
        )
    };
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return fail(vec![expired_form()]);
    }
    let consent = field(&form, "consent") == "yes";
    let registration = Registration {
        username: field(&form, "username").trim().to_owned(),
        password: field(&form, "password").to_owned(),
        email: Some(field(&form, "email").to_owned()),
        reason: Some(field(&form, "reason").to_owned()),
        ..Default::default()
    };
    if !consent {
        // Check the other fields too, so every problem shows at once.
        let mut errors = match hearth_app::accounts::check_only(registration) {
            Err(AppError::Invalid(errs)) => errs
                .into_iter()
                .map(|e| FieldError {
                    field: e.field.to_owned(),
                    message: e.message,
                })
                .collect(),
            _ => Vec::new(),
        };
        errors.push(FieldError {
            field: "consent".into(),
            message: "Tick the box to agree to the rules before creating an account".into(),
        });
        return fail(errors);
    }
    let password = registration.password.clone();
    let username = registration.username.clone();
    match state.app.register(registration).await {
        Ok(account) if account.status == AccountStatus::Active => {
            match state.app.login_from(&username, &password, ip).await {
                Ok(logged_in) => {
                    let max_age = i64::from(state.app.config.auth.token_lifetime_days) * 86_400;
                    redirect(
                        "/",
                        &[forms::set_cookie(
                            &state.app,
                            forms::SESSION_COOKIE,
                            &logged_in.token,
                            max_age,
                        )],
                    )
                }
                Err(_) => redirect("/login", &[]),
            }
        }
        Ok(_) => page(&state, &headers, None, "Thank you", StatusCode::OK, |_| {
            html! {
                h1 { "Thank you" }
                p { "An admin will look at your request. You can log in once it is approved." }
            }
        }),
        Err(err @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            fail(account_form_errors(err))
        }
        Err(err) => {
            tracing::error!(error = %err, "sign-up page failed");
            fail(vec![FieldError {
                field: "main".into(),
                message: "Something went wrong on our side. Please try again in a moment.".into(),
            }])
        }
    }
}

pub async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): FormData,
) -> Response {
    if !forms::csrf_ok(&headers, field(&form, CSRF_FIELD)) {
        return redirect("/", &[]);
    }
    if let Some(session) = forms::session(&state.app, &headers).await {
        let _ = state.app.logout(&session).await;
    }
    redirect(
        "/",
        &[forms::set_cookie(&state.app, forms::SESSION_COOKIE, "", 0)],
    )
}

pub async fn directory(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let groups = state.app.list_groups(None, 100).await.unwrap_or_default();
    let domain = state.app.config.domain.clone();
    page(
        &state,
        &headers,
        session.as_ref(),
        "Groups",
        StatusCode::OK,
        |_| {
            html! {
                h1 { "Groups on this server" }
                @if groups.is_empty() {
                    p { "There are no groups here yet." }
                } @else {
                    ul class="cards" {
                        @for g in &groups {
                            li {
                                h2 { a href=(format!("/groups/{}", g.group.name)) { (g.group.display_name) } }
                                p class="hint" { "@" (g.group.name) "@" (domain) }
                                @if !g.group.description.is_empty() { p { (g.group.description) } }
                                p {
                                    (g.members) @if g.members == 1 { " member" } @else { " members" }
                                    " · "
                                    @if g.group.join_policy == hearth_domain::JoinPolicy::Open { "Anyone can join" } @else { "A moderator approves new members" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

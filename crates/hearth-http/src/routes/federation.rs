//! The ActivityPub endpoints: actor documents and their collections,
//! inboxes, WebFinger and NodeInfo. The wire format comes from
//! `hearth_activitypub`; this module only routes, negotiates and maps
//! errors to status codes.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_activitypub::actors::{group_json_with_guidance, person_json, site_json};
use hearth_activitypub::inbox::{self, InboundRequest, InboxError, InboxTarget, Received};
use hearth_activitypub::serve::{self, Served};
use hearth_activitypub::{FederationError, discovery, protocol};
use hearth_app::{AppError, Reader};
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::problem::Problem;

/// A JSON body with an explicit content type.
fn typed_json<T: Serialize>(content_type: &'static str, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise response");
            Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
    }
}

fn activity_json<T: Serialize>(value: &T) -> Response {
    typed_json(protocol::ACTIVITY_JSON, value)
}

fn federation_problem(err: FederationError) -> Response {
    match err {
        FederationError::NotFound(what) => {
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                .detail(format!("No such {what}."))
                .into_response()
        }
        FederationError::Refused(why) => Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request could not be used",
        )
        .detail(why)
        .into_response(),
        other => {
            tracing::error!(error = %other, "federation endpoint failed");
            Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
    }
}

/// A document `serve` made, or its error.
fn served(result: Result<String, FederationError>) -> Response {
    match result {
        Ok(doc) => activity_body(doc, StatusCode::OK),
        Err(err) => federation_problem(err),
    }
}

fn app_problem(err: AppError) -> Response {
    federation_problem(err.into())
}

/// A JSON document already serialised.
fn activity_body(body: String, status: StatusCode) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(protocol::ACTIVITY_JSON),
    );
    response
}

/// The headers a signature is checked against: as received, plus `host`
/// from the request's authority under HTTP/2 (which has no Host header).
fn signed_headers<'a>(uri: &OriginalUri, headers: &'a HeaderMap) -> Cow<'a, HeaderMap> {
    if headers.contains_key(header::HOST) {
        return Cow::Borrowed(headers);
    }
    let mut with_host = headers.clone();
    if let Some(authority) = uri.0.authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        with_host.insert(header::HOST, value);
    }
    Cow::Owned(with_host)
}

fn path_of(uri: &OriginalUri) -> &str {
    uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/")
}

/// Who reads: the server whose signature verified (over this server's host
/// and this path), or nobody in particular.
async fn reader(
    state: &ApiState,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> Result<Reader, Response> {
    let headers = signed_headers(uri, headers);
    inbox::verify_fetch(&state.data(), path_of(uri), &headers)
        .await
        .map_err(|err| inbox_problem(&err))
}

fn inbox_problem(err: &InboxError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        tracing::error!(error = %err, "inbox failed");
        return Problem::for_status(status).into_response();
    }
    tracing::info!(error = %err, status = status.as_u16(), "inbound request refused");
    let title = match status {
        StatusCode::UNAUTHORIZED => "The request's signature could not be verified",
        StatusCode::FORBIDDEN => "This activity is not accepted",
        StatusCode::NOT_FOUND => "Not found",
        _ => "The activity could not be used",
    };
    let mut problem = Problem::new(status, err.code(), title).detail(err.to_string());
    if let InboxError::TooMany(seconds) = err {
        problem = problem.retry_after(*seconds);
    }
    problem.into_response()
}

/// Actor and collection fetches may be signed (authorized fetch). A
/// signature that is present must verify, over this host and this path,
/// and come from a server the admin has not cut off; an unsigned fetch is
/// allowed for public documents. Every ActivityPub document but the
/// instance actor asks this (or [`reader`]), so a suspended server or a
/// replayed signature reads nothing, not even what is public.
async fn check_signed_fetch(
    state: &ApiState,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> Result<(), Response> {
    if let Reader::Server(signer) = reader(state, uri, headers).await? {
        tracing::debug!(%signer, "signed fetch");
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

pub(crate) async fn webfinger(
    State(state): State<ApiState>,
    Query(q): Query<WebfingerQuery>,
) -> Response {
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Missing resource")
            .field("resource")
            .detail("Ask for `?resource=acct:name@domain`.")
            .into_response();
    };
    match discovery::webfinger(&state.data(), &resource).await {
        Ok(jrd) => typed_json(protocol::JRD_JSON, &jrd),
        Err(err) => federation_problem(err),
    }
}

pub(crate) async fn nodeinfo_links(State(state): State<ApiState>) -> Response {
    typed_json(
        "application/json",
        &discovery::nodeinfo_links(&state.data()),
    )
}

pub(crate) async fn nodeinfo(
    State(state): State<ApiState>,
    Path(version): Path<String>,
) -> Response {
    let content_type = match version.as_str() {
        "2.0" => "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
        _ => "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
    };
    match discovery::nodeinfo(&state.data(), &version).await {
        Ok(doc) => typed_json(content_type, &doc),
        Err(err) => federation_problem(err),
    }
}

/// The instance actor is served without checking signatures (FEP-d556,
/// as Mastodon does): verifying a signed fetch means fetching the signer's
/// key, which the signer's server fetches signed by its instance actor; if
/// this document needed a verified signature too, two servers would wait on
/// each other forever.
pub(crate) async fn site_actor(State(state): State<ApiState>) -> Response {
    match state.app.site_keys().await {
        Ok(keys) => activity_json(&site_json(&state.data(), &keys.public_key_pem)),
        Err(err) => app_problem(err),
    }
}

async fn active_account(state: &ApiState, name: &str) -> Result<hearth_app::Account, Response> {
    state.app.active_account(name).await.map_err(app_problem)
}

async fn local_group(state: &ApiState, name: &str) -> Result<hearth_app::records::Group, Response> {
    state.app.group_named(name).await.map_err(app_problem)
}

/// Whether a request for an actor or object comes from a browser rather
/// than a server: it asks for HTML and not for ActivityPub JSON. Browsers
/// are sent to the page that shows the same thing (as Mastodon does).
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("text/html")
        && !accept.contains("application/activity+json")
        && !accept.contains("application/ld+json")
}

fn see_page(path: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(path) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    response
}

pub(crate) async fn person(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        return see_page(&format!("/people/{name}"));
    }
    let reader = match reader(&state, &uri, &headers).await {
        Ok(reader) => reader,
        Err(r) => return r,
    };
    match active_account(&state, &name).await {
        Ok(account) => {
            // A server that fetched the member's profile holds it: it is
            // told when the account is deleted.
            let id = state.app.urls().user(&account.username).to_string();
            if let Err(err) = state.app.served_to(&reader, &id, &id).await {
                tracing::warn!(actor = %id, error = %err, "cannot record which server fetched an actor");
            }
            activity_json(&person_json(state.app.urls(), &account))
        }
        Err(r) => match erased_person(&state, &name).await {
            Some(answer) => answer,
            None => r,
        },
    }
}

/// A deleted account's actor: while the `Delete`s that tell other servers
/// are still going out, the emptied actor (name and key only), so that a
/// server that fetches it to check their signature finds the key; after
/// that, `410 Gone` with a `Tombstone`.
async fn erased_person(state: &ApiState, name: &str) -> Option<Response> {
    match state.app.erased_actor_under_way(name).await {
        Ok(Some(account)) => {
            return Some(activity_json(&person_json(state.app.urls(), &account)));
        }
        Ok(None) => {}
        Err(err) => return Some(app_problem(err)),
    }
    match state.app.is_erased(name).await {
        Ok(true) => Some(
            match hearth_activitypub::render::person_tombstone(state.app.urls(), name) {
                Ok(body) => activity_body(body, StatusCode::GONE),
                Err(err) => app_problem(err.into()),
            },
        ),
        Ok(false) => None,
        Err(err) => Some(app_problem(err)),
    }
}

/// A professional's verification here, as the servers that show their
/// role check it: the role, the member and this server while it holds;
/// `410 Gone` once revoked; 404 for an id that never was one.
pub(crate) async fn verification(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return app_problem(AppError::NotFound {
            what: "verification",
        });
    };
    match state.app.verification_document(id).await {
        Ok(hearth_app::professionals::VerificationDocument::Live {
            account,
            verification,
        }) => activity_json(&hearth_activitypub::verification::document(
            state.app.urls(),
            &account,
            &verification,
        )),
        Ok(hearth_app::professionals::VerificationDocument::Revoked) => {
            match hearth_activitypub::verification::revoked(state.app.urls(), id) {
                Ok(body) => activity_body(body, StatusCode::GONE),
                Err(err) => app_problem(err.into()),
            }
        }
        Err(err) => app_problem(err),
    }
}

pub(crate) async fn group(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        return see_page(&format!("/groups/{name}"));
    }
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    match local_group(&state, &name).await {
        Ok(g) => {
            let here = hearth_app::posts::PostGroup::Local(g.clone());
            match state.app.guidance(&here).await {
                Ok(guidance) => {
                    activity_json(&group_json_with_guidance(state.app.urls(), &g, &guidance))
                }
                Err(e) => app_problem(e),
            }
        }
        Err(r) => r,
    }
}

/// Followers of a group: its member count only, never who they are.
pub(crate) async fn group_followers(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    served(serve::group_followers(&state.data(), &name).await)
}

/// Moderators of a group (FEP-1b12 `attributedTo`).
pub(crate) async fn group_moderators(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    served(serve::group_moderators(&state.data(), &name).await)
}

/// Peer mentors of a group (`hearth:mentors`).
pub(crate) async fn group_mentors(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    served(serve::group_mentors(&state.data(), &name).await)
}

/// The group's pinned threads (Lemmy's `featured`), as the signed reader
/// may see them.
pub(crate) async fn group_featured(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let reader = match reader(&state, &uri, &headers).await {
        Ok(reader) => reader,
        Err(r) => return r,
    };
    served(serve::featured(&state.data(), &reader, &name).await)
}

/// The group's recent threads, as the signed reader may see them.
pub(crate) async fn group_outbox(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let reader = match reader(&state, &uri, &headers).await {
        Ok(reader) => reader,
        Err(r) => return r,
    };
    served(serve::outbox(&state.data(), &reader, &name).await)
}

pub(crate) async fn person_outbox(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    served(serve::person_outbox(&state.data(), &name).await)
}

pub(crate) async fn person_followers(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    served(serve::person_followers(&state.data(), &name).await)
}

pub(crate) async fn site_outbox(
    State(state): State<ApiState>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    served(serve::site_outbox(&state.data()))
}

async fn receive(
    state: &ApiState,
    target: InboxTarget,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let headers = signed_headers(uri, headers);
    let request = InboundRequest {
        path_and_query: path_of(uri),
        headers: &headers,
        body,
        target,
    };
    match inbox::receive(&state.data(), request).await {
        Ok(Received::Applied | Received::Duplicate | Received::Ignored(_)) => {
            StatusCode::ACCEPTED.into_response()
        }
        Err(err) => inbox_problem(&err),
    }
}

pub(crate) async fn shared_inbox(
    State(state): State<ApiState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, InboxTarget::Shared, &uri, &headers, &body).await
}

pub(crate) async fn user_inbox(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match active_account(&state, &name).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let target = InboxTarget::Actor(state.app.urls().user(&account.username));
    receive(&state, target, &uri, &headers, &body).await
}

pub(crate) async fn group_inbox(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let group = match state.app.group_inbox(&name).await {
        Ok(group) => group,
        Err(e) => return app_problem(e),
    };
    let target = InboxTarget::Actor(state.app.urls().group(&group));
    receive(&state, target, &uri, &headers, &body).await
}

pub(crate) async fn site_inbox(
    State(state): State<ApiState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = InboxTarget::Actor(state.app.urls().site());
    receive(&state, target, &uri, &headers, &body).await
}

/// Which document of a post is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PostDocument {
    /// The `Page` or `Note`.
    Object,
    /// Its `replies` collection.
    Replies,
    /// A thread as a `Note`, for microblogs.
    Note,
}

async fn serve_post(
    state: &ApiState,
    id: &str,
    uri: &OriginalUri,
    headers: &HeaderMap,
    document: PostDocument,
) -> Response {
    let reader = match reader(state, uri, headers).await {
        Ok(reader) => reader,
        Err(r) => return r,
    };
    let ap_id = state.app.urls().post(id).to_string();
    let data = state.data();
    let served = match document {
        PostDocument::Replies => return served(serve::replies(&data, &reader, &ap_id).await),
        PostDocument::Object => serve::post(&data, &reader, &ap_id).await,
        PostDocument::Note => serve::thread_note(&data, &reader, &ap_id).await,
    };
    match served {
        Ok(Served::Object(doc)) => activity_body(doc, StatusCode::OK),
        Ok(Served::Gone(doc)) => {
            // Mastodon deletes a status it refetches on 404 only, never on
            // 410; everyone else reads 410 as gone. The note exists only
            // for microblogs.
            let mastodon = headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ua| ua.contains("Mastodon"));
            let status = if mastodon || document == PostDocument::Note {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::GONE
            };
            activity_body(doc, status)
        }
        Err(err) => federation_problem(err),
    }
}

/// A post's `Page`/`Note` (or `Tombstone` with 410), as the reader may
/// see it. A browser is sent to the post's page, if it may read it there;
/// what it may not read answers as what does not exist.
pub(crate) async fn post_object(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        let ap_id = state.app.urls().post(&id).to_string();
        let session = crate::web::browser_session(&state.app, &headers).await;
        return match state
            .app
            .own_post_for(&Reader::viewer(session.as_ref()), &ap_id)
            .await
        {
            Ok((post, _)) => see_page(&format!("/posts/{}#post-{}", post.thread_id(), post.id)),
            Err(err) => app_problem(err),
        };
    }
    serve_post(&state, &id, &uri, &headers, PostDocument::Object).await
}

pub(crate) async fn post_replies(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    serve_post(&state, &id, &uri, &headers, PostDocument::Replies).await
}

/// A thread as a `Note` (for Mastodon and other microblogs), as the
/// reader may see it.
pub(crate) async fn post_note(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    serve_post(&state, &id, &uri, &headers, PostDocument::Note).await
}

/// An activity this server sent, for servers that fetch it by id.
pub(crate) async fn activity_object(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let reader = match reader(&state, &uri, &headers).await {
        Ok(reader) => reader,
        Err(r) => return r,
    };
    let ap_id = state.app.urls().activity(&id).to_string();
    served(serve::activity(&state.data(), &reader, &ap_id).await)
}

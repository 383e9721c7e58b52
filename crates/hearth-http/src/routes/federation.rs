//! The ActivityPub endpoints: actor documents and their collections,
//! inboxes, WebFinger and NodeInfo. The wire format comes from
//! `hearth_activitypub`; this module only routes, negotiates and maps
//! errors to status codes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hearth_activitypub::actors::{group_json, person_json, site_json};
use hearth_activitypub::inbox::{self, InboundRequest, InboxError, InboxTarget, Received};
use hearth_activitypub::protocol::{self, CollectionJson};
use hearth_activitypub::{FederationError, discovery};
use hearth_db::{accounts, groups};
use hearth_domain::AccountStatus;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::problem::Problem;
use crate::rate_limit::limit_inbox;

pub fn router(state: &ApiState) -> Router<ApiState> {
    let inboxes = Router::new()
        .route("/inbox", post(shared_inbox))
        .route("/u/{name}/inbox", post(user_inbox))
        .route("/g/{name}/inbox", post(group_inbox))
        .route("/actor/inbox", post(site_inbox))
        .route_layer(middleware::from_fn_with_state(state.clone(), limit_inbox));
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/{version}", get(nodeinfo))
        .route("/actor", get(site_actor))
        .route("/actor/outbox", get(site_outbox))
        .route("/u/{name}", get(person))
        .route("/u/{name}/outbox", get(person_outbox))
        .route("/u/{name}/followers", get(person_followers))
        .route("/g/{name}", get(group))
        .route("/g/{name}/outbox", get(group_outbox))
        .route("/g/{name}/followers", get(group_followers))
        .route("/g/{name}/moderators", get(group_moderators))
        .route("/p/{id}", get(post_object))
        .route("/activities/{id}", get(activity_object))
        .route("/p/{id}/replies", get(post_replies))
        .merge(inboxes)
}

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
    Problem::new(status, err.code(), title)
        .detail(err.to_string())
        .into_response()
}

/// Actor and collection fetches may be signed (authorized fetch). A
/// signature that is present must verify; an unsigned fetch is allowed for
/// public documents.
async fn check_signed_fetch(
    state: &ApiState,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let path = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match inbox::verify_fetch(&state.app.data(), path, headers).await {
        Ok(Some(signer)) => {
            tracing::debug!(%signer, "signed fetch");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(err) => Err(inbox_problem(&err)),
    }
}

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

async fn webfinger(State(state): State<ApiState>, Query(q): Query<WebfingerQuery>) -> Response {
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Missing resource")
            .field("resource")
            .detail("Ask for `?resource=acct:name@domain`.")
            .into_response();
    };
    match discovery::webfinger(state.app.fed(), &resource).await {
        Ok(jrd) => typed_json(protocol::JRD_JSON, &jrd),
        Err(err) => federation_problem(err),
    }
}

async fn nodeinfo_links(State(state): State<ApiState>) -> Response {
    typed_json(
        "application/json",
        &discovery::nodeinfo_links(state.app.fed()),
    )
}

async fn nodeinfo(State(state): State<ApiState>, Path(version): Path<String>) -> Response {
    let content_type = match version.as_str() {
        "2.0" => "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"",
        _ => "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
    };
    match discovery::nodeinfo(state.app.fed(), &version).await {
        Ok(doc) => typed_json(content_type, &doc),
        Err(err) => federation_problem(err),
    }
}

/// The instance actor is served without checking signatures (FEP-d556,
/// as Mastodon does): verifying a signed fetch means fetching the signer's
/// key, which the signer's server fetches signed by its instance actor; if
/// this document needed a verified signature too, two servers would wait on
/// each other forever.
async fn site_actor(State(state): State<ApiState>) -> Response {
    match hearth_db::federation::site_keys(&state.app.db).await {
        Ok(Some(keys)) => activity_json(&site_json(state.app.fed(), &keys.public_key_pem)),
        Ok(None) => federation_problem(FederationError::NotFound("instance actor")),
        Err(err) => federation_problem(err.into()),
    }
}

async fn active_account(
    state: &ApiState,
    name: &str,
) -> Result<hearth_db::accounts::Account, Response> {
    match accounts::find_by_username(&state.app.db, name).await {
        Ok(Some(a)) if a.status == AccountStatus::Active => Ok(a),
        Ok(_) => Err(federation_problem(FederationError::NotFound("member"))),
        Err(err) => Err(federation_problem(err.into())),
    }
}

async fn local_group(state: &ApiState, name: &str) -> Result<hearth_db::groups::Group, Response> {
    match groups::find_by_name(&state.app.db, name).await {
        Ok(Some(g)) => Ok(g),
        Ok(None) => Err(federation_problem(FederationError::NotFound("group"))),
        Err(err) => Err(federation_problem(err.into())),
    }
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

async fn person(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        return see_page(&format!("/people/{name}"));
    }
    if let Err(r) = check_signed_fetch(&state, &uri, &headers).await {
        return r;
    }
    match active_account(&state, &name).await {
        Ok(account) => activity_json(&person_json(&state.app.fed().urls, &account)),
        Err(r) => r,
    }
}

async fn group(
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
        Ok(g) => activity_json(&group_json(&state.app.fed().urls, &g)),
        Err(r) => r,
    }
}

/// Followers of a group: its member count only, never who they are.
async fn group_followers(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    let g = match local_group(&state, &name).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    match groups::joined_count(&state.app.db, g.id).await {
        Ok(n) => activity_json(&CollectionJson::count_only(
            state.app.fed().urls.group_followers(&g.name),
            n,
        )),
        Err(err) => federation_problem(err.into()),
    }
}

/// Moderators of a group (FEP-1b12 `attributedTo`).
async fn group_moderators(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    let g = match local_group(&state, &name).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let urls = &state.app.fed().urls;
    match groups::moderator_usernames(&state.app.db, g.id).await {
        Ok(names) => activity_json(&CollectionJson::with_items(
            urls.group_moderators(&g.name),
            names.iter().map(|n| urls.user(n)).collect(),
        )),
        Err(err) => federation_problem(err.into()),
    }
}

/// The group's recent threads; members-only ones only for signed fetches
/// from servers where a member lives.
async fn group_outbox(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signer = match inbox::verify_fetch(&state.app.data(), path, &headers).await {
        Ok(signer) => signer,
        Err(err) => return inbox_problem(&err),
    };
    let g = match local_group(&state, &name).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    match hearth_activitypub::posts::group_outbox(state.app.fed(), &g, signer.as_ref()).await {
        Ok(doc) => activity_json(&doc),
        Err(err) => federation_problem(err),
    }
}

async fn person_outbox(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    match active_account(&state, &name).await {
        Ok(a) => activity_json(&CollectionJson::with_items(
            state.app.fed().urls.user_outbox(&a.username),
            Vec::new(),
        )),
        Err(r) => r,
    }
}

async fn person_followers(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    match active_account(&state, &name).await {
        Ok(a) => activity_json(&CollectionJson::count_only(
            state.app.fed().urls.user_followers(&a.username),
            0,
        )),
        Err(r) => r,
    }
}

async fn site_outbox(State(state): State<ApiState>) -> Response {
    activity_json(&CollectionJson::with_items(
        state.app.fed().urls.site_outbox(),
        Vec::new(),
    ))
}

async fn receive(
    state: &ApiState,
    target: InboxTarget,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = InboundRequest {
        path_and_query: path,
        headers,
        body,
        target,
    };
    match inbox::receive(&state.app.data(), request).await {
        Ok(Received::Applied | Received::Duplicate | Received::Ignored(_)) => {
            StatusCode::ACCEPTED.into_response()
        }
        Err(err) => inbox_problem(&err),
    }
}

async fn shared_inbox(
    State(state): State<ApiState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, InboxTarget::Shared, &uri, &headers, &body).await
}

async fn user_inbox(
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
    let target = InboxTarget::Actor(state.app.fed().urls.user(&account.username));
    receive(&state, target, &uri, &headers, &body).await
}

async fn group_inbox(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let g = match local_group(&state, &name).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let target = InboxTarget::Actor(state.app.fed().urls.group(&g.name));
    receive(&state, target, &uri, &headers, &body).await
}

async fn site_inbox(
    State(state): State<ApiState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = InboxTarget::Actor(state.app.fed().urls.site());
    receive(&state, target, &uri, &headers, &body).await
}

async fn serve_post(
    state: &ApiState,
    id: &str,
    uri: &OriginalUri,
    headers: &HeaderMap,
    replies: bool,
) -> Response {
    let path = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signer = match inbox::verify_fetch(&state.app.data(), path, headers).await {
        Ok(signer) => signer,
        Err(err) => return inbox_problem(&err),
    };
    let ap_id = state.app.fed().urls.post(id).to_string();
    match hearth_activitypub::posts::serve(state.app.fed(), &ap_id, signer.as_ref(), replies).await
    {
        Ok(hearth_activitypub::posts::Served::Object(doc)) => activity_json(&doc),
        Ok(hearth_activitypub::posts::Served::Gone(doc)) => {
            let mut response = activity_json(&doc);
            *response.status_mut() = StatusCode::GONE;
            response
        }
        Err(err) => federation_problem(err),
    }
}

/// A post's `Page`/`Note` (or `Tombstone` with 410). Members-only posts
/// need a fetch signed by a server where a member of the group lives.
async fn post_object(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        let ap_id = state.app.fed().urls.post(&id).to_string();
        if let Ok(Some(post)) = hearth_db::posts::find_by_ap_id(&state.app.db, &ap_id).await {
            return see_page(&format!("/posts/{}#post-{}", post.thread_id(), post.id));
        }
    }
    serve_post(&state, &id, &uri, &headers, false).await
}

async fn post_replies(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    serve_post(&state, &id, &uri, &headers, true).await
}

/// An activity this server sent, for servers that fetch it by id.
async fn activity_object(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signer = match inbox::verify_fetch(&state.app.data(), path, &headers).await {
        Ok(signer) => signer,
        Err(err) => return inbox_problem(&err),
    };
    let ap_id = state.app.fed().urls.activity(&id).to_string();
    match hearth_activitypub::posts::serve_activity(state.app.fed(), &ap_id, signer.as_ref()).await
    {
        Ok(doc) => activity_json(&doc),
        Err(err) => federation_problem(err),
    }
}

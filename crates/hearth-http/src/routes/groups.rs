//! Groups over the API: the directory, creating groups, joining and leaving
//! here or on other servers, and moderators' decisions on requests.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use hearth_app::Origin;
use hearth_app::groups::{
    GroupSettingsInput, GroupSummary, JoinRequest, Joined, MembershipId, MyMembership,
    NewGroupInput,
};
use hearth_app::records::{Group, Membership, RemoteActor, RemoteMembership};
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::Authenticated;
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};
use crate::views::timestamp;

/// A group as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupView {
    id: String,
    name: String,
    handle: String,
    url: String,
    title: String,
    description: String,
    rules: String,
    join_policy: &'static str,
    /// `members` (no post in it is public) or `public`.
    visibility: &'static str,
    /// Days a thread with no new reply is kept before it is deleted
    /// everywhere; 0: until its authors delete it.
    retention_days: u32,
    listed: bool,
    allow_outside_posts: bool,
    members: u64,
    moderators: Vec<String>,
    created_at: String,
    /// The caller's membership, when logged in and any.
    membership: Option<MembershipView>,
}

/// A membership: of a group here (`id` "local:N") or elsewhere ("remote:N").
#[derive(Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    id: String,
    state: &'static str,
    group: GroupRef,
    created_at: String,
    updated_at: String,
}

/// Enough to name and link a group wherever it is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupRef {
    handle: String,
    title: String,
    url: String,
    local: bool,
}

fn group_ref(state: &ApiState, group: &Group) -> GroupRef {
    GroupRef {
        handle: format!("{}@{}", group.name, state.app.config.domain),
        title: group.display_name.clone(),
        url: state.app.urls().group(&group.name).to_string(),
        local: true,
    }
}

fn remote_ref(actor: &RemoteActor) -> GroupRef {
    GroupRef {
        handle: format!("{}@{}", actor.preferred_username, actor.authority),
        title: if actor.name.is_empty() {
            actor.preferred_username.clone()
        } else {
            actor.name.clone()
        },
        url: actor.ap_id.clone(),
        local: false,
    }
}

fn local_membership(state: &ApiState, group: &Group, m: &Membership) -> MembershipView {
    MembershipView {
        id: format!("local:{}", m.id),
        state: m.state.as_str(),
        group: group_ref(state, group),
        created_at: timestamp(m.created_at),
        updated_at: timestamp(m.updated_at),
    }
}

fn remote_membership(actor: &RemoteActor, m: &RemoteMembership) -> MembershipView {
    MembershipView {
        id: format!("remote:{}", m.id),
        state: m.state.as_str(),
        group: remote_ref(actor),
        created_at: timestamp(m.created_at),
        updated_at: timestamp(m.updated_at),
    }
}

async fn group_view(
    state: &ApiState,
    summary: GroupSummary,
    session: Option<&hearth_app::Session>,
) -> Result<GroupView, ApiError> {
    let g = &summary.group;
    let moderators = state.app.group_moderators(g).await?;
    let membership = match session {
        Some(s) => state
            .app
            .membership_in(s, g)
            .await?
            .map(|m| local_membership(state, g, &m)),
        None => None,
    };
    Ok(GroupView {
        id: g.id.to_string(),
        name: g.name.clone(),
        handle: format!("{}@{}", g.name, state.app.config.domain),
        url: state.app.urls().group(&g.name).to_string(),
        title: g.display_name.clone(),
        description: g.description.clone(),
        rules: g.rules.clone(),
        join_policy: g.join_policy.as_str(),
        visibility: g.visibility.as_str(),
        retention_days: g.retention_days,
        listed: g.listed,
        allow_outside_posts: g.allow_outside_posts,
        members: summary.members,
        moderators,
        created_at: timestamp(g.created_at),
        membership,
    })
}

/// A session when a valid token is sent, none when no token is sent; a bad
/// token is still an error.
pub struct MaybeAuthenticated(pub Option<hearth_app::Session>);

impl FromRequestParts<ApiState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Ok(MaybeAuthenticated(None));
        }
        let Authenticated(session) = Authenticated::from_request_parts(parts, state).await?;
        Ok(MaybeAuthenticated(Some(session)))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewGroup)]
pub struct CreateBody {
    name: String,
    title: String,
    description: Option<String>,
    rules: Option<String>,
    #[schema(schema_with = crate::routes::openapi::spelling::join_policy)]
    join_policy: Option<String>,
    listed: Option<bool>,
    allow_outside_posts: Option<bool>,
    #[schema(schema_with = crate::routes::openapi::spelling::group_visibility)]
    visibility: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/groups",
    tag = "groups",
    operation_id = "groups_create",
    request_body = CreateBody,
    responses((status = 201, body = GroupView)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let group = state
        .app
        .create_group(
            &Origin::local(&session),
            NewGroupInput {
                name: body.name,
                title: body.title,
                description: body.description,
                rules: body.rules,
                join_policy: body.join_policy,
                listed: body.listed,
                allow_outside_posts: body.allow_outside_posts,
                visibility: body.visibility,
            },
        )
        .await?;
    let summary = state.app.group(&group.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(group_view(&state, summary, Some(&session)).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = GroupChanges)]
pub struct UpdateBody {
    #[schema(schema_with = crate::routes::openapi::spelling::group_visibility)]
    visibility: Option<String>,
    retention_days: Option<i64>,
    rules: Option<String>,
    support_guide: Option<String>,
}

/// The moderators change the group's settings.
#[utoipa::path(
    patch,
    path = "/api/v1/groups/{name}",
    tag = "groups",
    operation_id = "groups_update",
    params(("name" = String, Path, description = "The group's name (here)")),
    request_body = UpdateBody,
    responses((status = 200, body = GroupView)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
    Json(body): Json<UpdateBody>,
) -> Result<Json<GroupView>, ApiError> {
    let group = state
        .app
        .update_group(
            &Origin::local(&session),
            &name,
            GroupSettingsInput {
                visibility: body.visibility,
                retention_days: body.retention_days,
                rules: body.rules,
                support_guide: body.support_guide,
            },
        )
        .await?;
    let summary = state.app.group(&group.name).await?;
    Ok(Json(group_view(&state, summary, Some(&session)).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/groups",
    tag = "groups",
    operation_id = "groups_list",
    params(PageQuery),
    responses((status = 200, body = Page<GroupView>)),
    security((), ("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    MaybeAuthenticated(session): MaybeAuthenticated,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<GroupView>>, ApiError> {
    let (after, limit) = query.position()?;
    let rows = state.app.list_groups(after, limit).await?;
    let next_cursor = if rows.len() as u64 == limit {
        rows.last().map(|r| r.group.id)
    } else {
        None
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(group_view(&state, row, session.as_ref()).await?);
    }
    Ok(Json(Page::from_parts(items, next_cursor)))
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}",
    tag = "groups",
    operation_id = "groups_show",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = GroupView)),
    security((), ("bearer" = []))
)]
pub async fn show(
    State(state): State<ApiState>,
    MaybeAuthenticated(session): MaybeAuthenticated,
    Path(name): Path<String>,
) -> Result<Json<GroupView>, ApiError> {
    let summary = state.app.group(&name).await?;
    Ok(Json(group_view(&state, summary, session.as_ref()).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{name}/join",
    tag = "groups",
    operation_id = "groups_join",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = MembershipView)),
    security(("bearer" = []))
)]
pub async fn join(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<MembershipView>, ApiError> {
    let (group, membership) = state
        .app
        .join_local(&Origin::local(&session), &name)
        .await?;
    Ok(Json(local_membership(&state, &group, &membership)))
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{name}/leave",
    tag = "groups",
    operation_id = "groups_leave",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn leave(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .leave_local(&Origin::local(&session), &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestView {
    id: String,
    handle: String,
    display_name: String,
    remote: bool,
    actor_url: Option<String>,
    state: &'static str,
    /// No member of the group lives on the requester's server yet: once
    /// let in, that server's people will read what the group writes.
    first_from_server: bool,
    created_at: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/requests",
    tag = "groups",
    operation_id = "groups_requests",
    params(("name" = String, Path, description = "The group's name (here)"), PageQuery),
    responses((status = 200, body = Page<RequestView>)),
    security(("bearer" = []))
)]
pub async fn requests(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<RequestView>>, ApiError> {
    let (after, limit) = query.position()?;
    let rows = state
        .app
        .pending_requests(&Origin::local(&session), &name, after, limit)
        .await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.entry.membership.id,
        |JoinRequest {
             entry: e,
             first_from_server,
         }| RequestView {
            id: e.membership.id.to_string(),
            remote: e.actor_id.is_some(),
            handle: e.handle,
            display_name: e.display_name,
            actor_url: e.actor_id,
            state: e.membership.state.as_str(),
            first_from_server,
            created_at: timestamp(e.membership.created_at),
        },
    )))
}

fn request_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail("No such request.")
            .into()
    })
}

async fn decide(
    state: ApiState,
    session: hearth_app::Session,
    name: String,
    id: String,
    approve: bool,
) -> Result<Json<MembershipView>, ApiError> {
    let membership = state
        .app
        .decide_request(&Origin::local(&session), &name, request_id(&id)?, approve)
        .await?;
    let group = state.app.group(&name).await?.group;
    Ok(Json(local_membership(&state, &group, &membership)))
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{name}/requests/{id}/approve",
    tag = "groups",
    operation_id = "groups_approve",
    params(("name" = String, Path, description = "The group's name (here)"), ("id" = String, Path, description = "The membership request's id")),
    responses((status = 200, body = MembershipView)),
    security(("bearer" = []))
)]
pub async fn approve(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<MembershipView>, ApiError> {
    decide(state, session, name, id, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{name}/requests/{id}/decline",
    tag = "groups",
    operation_id = "groups_decline",
    params(("name" = String, Path, description = "The group's name (here)"), ("id" = String, Path, description = "The membership request's id")),
    responses((status = 200, body = MembershipView)),
    security(("bearer" = []))
)]
pub async fn decline(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<MembershipView>, ApiError> {
    decide(state, session, name, id, false).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct JoinBody {
    /// `@name@server`, a link to the group, or a local group's name.
    target: String,
}

/// Join any group: here, or on another server by handle or link.
#[utoipa::path(
    post,
    path = "/api/v1/memberships",
    tag = "groups",
    operation_id = "groups_join_anywhere",
    request_body = JoinBody,
    responses((status = 200, body = MembershipView)),
    security(("bearer" = []))
)]
pub async fn join_anywhere(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<JoinBody>,
) -> Result<Json<MembershipView>, ApiError> {
    let joined = state
        .app
        .join(&Origin::local(&session), &body.target)
        .await
        .map_err(target_field)?;
    Ok(Json(match joined {
        Joined::Local(group, membership) => local_membership(&state, &group, &membership),
        Joined::Remote(group, membership) => remote_membership(&group, &membership),
    }))
}

/// Errors about the handle point at the field the client sent: `target`.
fn target_field(err: hearth_app::AppError) -> ApiError {
    match err {
        hearth_app::AppError::Invalid(mut errors) => {
            for e in &mut errors {
                if e.field == "handle" {
                    e.field = "target";
                }
            }
            hearth_app::AppError::Invalid(errors).into()
        }
        other => other.into(),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/memberships",
    tag = "groups",
    operation_id = "groups_my_memberships",
    responses((status = 200, body = Page<MembershipView>)),
    security(("bearer" = []))
)]
pub async fn my_memberships(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
) -> Result<Json<Page<MembershipView>>, ApiError> {
    let items = state
        .app
        .my_memberships(&session)
        .await?
        .into_iter()
        .map(|m| match m {
            MyMembership::Local { group, membership } => {
                local_membership(&state, &group, &membership)
            }
            MyMembership::Remote { group, membership } => remote_membership(&group, &membership),
        })
        .collect();
    Ok(Json(Page::from_parts(items, None)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/memberships/{id}",
    tag = "groups",
    operation_id = "groups_leave_membership",
    params(("id" = String, Path, description = "The membership's id: `local:N` for a group here, `remote:N` for one elsewhere")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn leave_membership(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let parsed = match id.split_once(':') {
        Some(("local", n)) => n.parse().ok().map(MembershipId::Local),
        Some(("remote", n)) => n.parse().ok().map(MembershipId::Remote),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::from(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                .detail("No such membership."),
        )
    })?;
    state
        .app
        .leave_membership(&Origin::local(&session), parsed)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveQuery {
    handle: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ActorView {
    url: String,
    kind: String,
    handle: String,
    name: String,
    summary: String,
    server: String,
    /// For a group: `members` when it said it is members-only, else
    /// `public`.
    visibility: Option<&'static str>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resolve",
    tag = "groups",
    operation_id = "groups_resolve",
    params(ResolveQuery),
    responses((status = 200, body = ActorView)),
    security(("bearer" = []))
)]
pub async fn resolve(
    State(state): State<ApiState>,
    Authenticated(_): Authenticated,
    Query(q): Query<ResolveQuery>,
) -> Result<Json<ActorView>, ApiError> {
    let handle = q.handle.filter(|h| !h.trim().is_empty()).ok_or_else(|| {
        ApiError::from(
            Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Missing handle")
                .field("handle")
                .detail("Ask for `?handle=@name@server` or a link."),
        )
    })?;
    let actor = state.app.resolve(&handle).await?;
    Ok(Json(ActorView {
        visibility: (actor.kind == "Group").then(|| actor.visibility().as_str()),
        handle: format!("{}@{}", actor.preferred_username, actor.authority),
        url: actor.ap_id,
        kind: actor.kind,
        name: actor.name,
        summary: actor.summary,
        server: actor.authority,
    }))
}

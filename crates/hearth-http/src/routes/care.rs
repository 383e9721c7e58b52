//! Care in a group over the API: its peer mentors, the new members view,
//! helpful replies and its guidance. Each handler calls one use-case of
//! `hearth_app::care`, which decides who may.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_app::Origin;
use hearth_app::posts::Author;
use serde::Serialize;

use crate::ApiState;
use crate::auth::Authenticated;
use crate::json::Json;
use crate::problem::{ApiError, Problem};
use crate::views::timestamp;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonView {
    handle: String,
    display_name: String,
    url: String,
    local: bool,
}

impl From<Author> for PersonView {
    fn from(a: Author) -> Self {
        PersonView {
            handle: a.handle,
            display_name: a.display_name,
            url: a.url,
            local: a.local,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MentorsView {
    mentors: Vec<PersonView>,
}

/// A group's peer mentors (here, or as a group elsewhere announced them).
#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/mentors",
    tag = "care",
    operation_id = "care_mentors",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = MentorsView))
)]
pub async fn mentors(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<MentorsView>, ApiError> {
    let group = state.app.find_group(&name).await?;
    let mentors = state.app.mentors(&group).await?;
    Ok(Json(MentorsView {
        mentors: mentors.into_iter().map(PersonView::from).collect(),
    }))
}

/// Moderators: name someone (`name` here, `name@server` elsewhere) a peer
/// mentor of the group.
#[utoipa::path(
    put,
    path = "/api/v1/groups/{name}/mentors/{username}",
    tag = "care",
    operation_id = "care_add_mentor",
    params(("name" = String, Path, description = "The group's name (here)"), ("username" = String, Path, description = "A member's username here")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn add_mentor(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((name, person)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_mentor(&Origin::local(&session), &name, &person, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moderators: un-name a peer mentor.
#[utoipa::path(
    delete,
    path = "/api/v1/groups/{name}/mentors/{username}",
    tag = "care",
    operation_id = "care_remove_mentor",
    params(("name" = String, Path, description = "The group's name (here)"), ("username" = String, Path, description = "A member's username here")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn remove_mentor(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((name, person)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_mentor(&Origin::local(&session), &name, &person, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewcomerView {
    id: String,
    url: String,
    kind: &'static str,
    title: String,
    body_html: String,
    author: String,
    /// Nobody has replied yet.
    unanswered: bool,
    joined_at: String,
    published_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewcomersView {
    posts: Vec<NewcomerView>,
}

/// Mentors and moderators: the first posts of the group's new members.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/newcomers",
    tag = "care",
    operation_id = "care_newcomers",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = NewcomersView)),
    security(("bearer" = []))
)]
pub async fn newcomers(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<NewcomersView>, ApiError> {
    let posts = state.app.newcomers(&session, &name).await?;
    Ok(Json(NewcomersView {
        posts: posts
            .into_iter()
            .map(|n| NewcomerView {
                id: n.post.id.to_string(),
                url: n.post.ap_id.clone(),
                kind: n.post.kind.as_str(),
                title: n.post.title.clone(),
                body_html: n.post.content_html.clone(),
                author: n.post.author_ap_id.clone(),
                unanswered: n.unanswered,
                joined_at: timestamp(n.joined_at),
                published_at: timestamp(n.post.published_at),
            })
            .collect(),
    }))
}

fn post_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::from(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail("No such post."),
        )
    })
}

/// Moderators: mark a reply helpful.
#[utoipa::path(
    put,
    path = "/api/v1/posts/{id}/helpful",
    tag = "care",
    operation_id = "care_mark_helpful",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn mark_helpful(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .mark_helpful(&Origin::local(&session), post_id(&id)?, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moderators: take a reply's helpful mark back.
#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}/helpful",
    tag = "care",
    operation_id = "care_unmark_helpful",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn unmark_helpful(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .mark_helpful(&Origin::local(&session), post_id(&id)?, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GuidanceView {
    /// The group's rules, sanitised HTML ('' when none).
    rules_html: String,
    /// How to give support here, sanitised HTML ('' when none).
    support_guide_html: String,
    /// As written (Markdown), for a group here.
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    support_guide: Option<String>,
}

/// A group's rules and support guide (here or elsewhere), as shown beside
/// its compose box.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/guidance",
    tag = "care",
    operation_id = "care_guidance",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = GuidanceView))
)]
pub async fn guidance(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<GuidanceView>, ApiError> {
    let group = state.app.find_group(&name).await?;
    let local = matches!(group, hearth_app::posts::PostGroup::Local(_));
    let g = state.app.guidance(&group).await?;
    Ok(Json(GuidanceView {
        rules_html: g.rules_html,
        support_guide_html: g.guide_html,
        rules: local.then_some(g.rules_source),
        support_guide: local.then_some(g.guide_source),
    }))
}

//! Posts over the API: write, edit, delete, react, and read timelines and
//! threads.

use hearth_app::Origin;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hearth_app::posts::{Author, PostInput, TimelineQuery};
use hearth_app::records::{Order, Post, PostKind};
use hearth_domain::post::{Reaction, SupportKind};
use hearth_domain::sources::{RawSource, independent_sources};
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::Authenticated;
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};
use crate::routes::groups::MaybeAuthenticated;
use crate::views::timestamp;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthorView {
    handle: String,
    display_name: String,
    url: String,
    local: bool,
    /// Their professional role and the server that verified it, while
    /// the verification holds (confirmed by that server for people
    /// elsewhere).
    professional: Option<ProfessionalView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProfessionalView {
    role: String,
    /// The verifying server, `host` or `host:port`.
    verified_by: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReactionCount {
    reaction: &'static str,
    count: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PostView {
    id: String,
    url: String,
    kind: &'static str,
    group: String,
    author: AuthorView,
    /// `professional` when written as a professional by someone whose
    /// verification holds now; `peer` otherwise.
    speaking_as: &'static str,
    /// The disclaimer under a professional's post.
    disclaimer: Option<String>,
    title: String,
    body_html: String,
    /// The Markdown as written (own posts, for editing).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    content_warning: Option<String>,
    support_kind: Option<&'static str>,
    link: Option<String>,
    visibility: &'static str,
    reactions: Vec<ReactionCount>,
    my_reactions: Vec<&'static str>,
    in_reply_to: Option<String>,
    /// The server the post was written on.
    server: String,
    deleted: bool,
    /// Closed to new replies by the group's moderators.
    locked: bool,
    /// Waiting for a moderator (pre-moderation): only its author and the
    /// group's moderators see it.
    held: bool,
    /// Pinned to the top of its group by the group's moderators.
    pinned: bool,
    /// Its author is a peer mentor of its group.
    mentor: bool,
    /// A reply the group's moderators marked helpful.
    helpful: bool,
    published_at: String,
    updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    replies: Option<Vec<PostView>>,
    /// Timelines: how many replies the thread has (deleted ones included,
    /// as the thread shows them).
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_count: Option<u64>,
    /// Timelines: when the thread was written or last replied to (what
    /// `order=active` sorts by).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_activity_at: Option<String>,
    /// Only to its author, when the post's words may mean a crisis: where
    /// to find help now (the language of the words, and the helplines).
    #[serde(skip_serializing_if = "Option::is_none")]
    crisis_support: Option<crate::views::CrisisSupportView>,
    /// What backs the post, in its author's order.
    sources: Vec<SourceView>,
    /// How many distinct sites its sources are on.
    independent_sources: usize,
    /// The label its group's moderators put on it.
    label: Option<LabelView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SourceView {
    url: String,
    title: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LabelView {
    kind: &'static str,
    note: String,
    link: Option<String>,
    set_at: String,
}

/// A source as the API takes it (strings; the rules are the domain's).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SourceBody {
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default, rename = "type")]
    #[schema(schema_with = crate::routes::openapi::spelling::source_kind)]
    kind: String,
}

fn raw_sources(sources: Option<Vec<SourceBody>>) -> Option<Vec<RawSource>> {
    sources.map(|list| {
        list.into_iter()
            .map(|s| RawSource {
                url: s.url,
                title: s.title,
                kind: s.kind,
            })
            .collect()
    })
}

/// What a list of posts shows beside each one, read once for the whole
/// list (a fixed number of queries, whatever its length).
struct Context<'a> {
    authors: HashMap<String, Author>,
    reactions: HashMap<i64, hearth_app::records::ReactionSummary>,
    care: hearth_app::care::CareMarks,
    viewer: Option<&'a hearth_app::Session>,
    /// The helplines shown beside the viewer's own posts whose words may
    /// mean a crisis.
    crisis: HashMap<i64, hearth_app::crisis::CrisisSupport>,
}

/// The helplines for each of `posts` the viewer wrote whose words may mean
/// a crisis (`App::crisis_support`).
fn crisis_support(
    state: &ApiState,
    viewer: Option<&hearth_app::Session>,
    posts: &[Post],
) -> HashMap<i64, hearth_app::crisis::CrisisSupport> {
    posts
        .iter()
        .filter_map(|p| state.app.crisis_support(viewer, p).map(|c| (p.id, c)))
        .collect()
}

fn view(post: &Post, group: &str, ctx: &Context<'_>) -> PostView {
    let author = ctx.authors.get(&post.author_ap_id);
    let summary = ctx.reactions.get(&post.id).cloned().unwrap_or_default();
    let (counts, mine) = (summary.counts, summary.mine);
    let own = ctx
        .viewer
        .is_some_and(|s| post.author_user_id == Some(s.account.id));
    let disclaimer = author.and_then(|a| a.disclaimer_for(post));
    PostView {
        id: post.id.to_string(),
        url: post.ap_id.clone(),
        kind: post.kind.as_str(),
        group: group.to_owned(),
        author: AuthorView {
            handle: author.map(|a| a.handle.clone()).unwrap_or_default(),
            display_name: author.map(|a| a.display_name.clone()).unwrap_or_default(),
            url: post.author_ap_id.clone(),
            local: author.is_some_and(|a| a.local),
            professional: author
                .and_then(|a| a.professional.as_ref())
                .map(|p| ProfessionalView {
                    role: p.role.to_string(),
                    verified_by: p.verified_by.clone(),
                }),
        },
        speaking_as: if disclaimer.is_some() {
            "professional"
        } else {
            "peer"
        },
        disclaimer: disclaimer.map(str::to_owned),
        title: post.title.clone(),
        body_html: post.content_html.clone(),
        source: own.then(|| post.source.clone()),
        content_warning: post.content_warning.clone(),
        support_kind: post.support_kind.map(SupportKind::as_str),
        link: post.link.clone(),
        visibility: post.visibility.as_str(),
        reactions: counts
            .into_iter()
            .map(|(r, n)| ReactionCount {
                reaction: r.as_str(),
                count: n,
            })
            .collect(),
        my_reactions: mine.into_iter().map(Reaction::as_str).collect(),
        in_reply_to: post.in_reply_to_ap_id.clone(),
        server: url::Url::parse(&post.ap_id)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
            })
            .unwrap_or_default(),
        deleted: post.is_deleted(),
        locked: post.locked_at.is_some(),
        held: post.is_held(),
        pinned: post.pinned_at.is_some(),
        mentor: ctx.care.mentor(post),
        helpful: ctx.care.helpful(post),
        published_at: timestamp(post.published_at),
        updated_at: post.updated_at.map(timestamp),
        replies: None,
        reply_count: None,
        last_activity_at: None,
        crisis_support: ctx.crisis.get(&post.id).map(Into::into),
        sources: post
            .sources
            .iter()
            .map(|s| SourceView {
                url: s.url.clone(),
                title: s.title.clone(),
                kind: s.kind.as_str(),
            })
            .collect(),
        independent_sources: independent_sources(&post.sources),
        label: post.label.as_ref().map(|l| LabelView {
            kind: l.label.kind.as_str(),
            note: l.label.note.clone(),
            link: l.label.link.clone(),
            set_at: timestamp(l.at),
        }),
    }
}

/// Authors and reactions for `posts`: two or three queries.
async fn context<'a>(
    state: &ApiState,
    viewer: Option<&'a hearth_app::Session>,
    posts: &[Post],
) -> Result<Context<'a>, ApiError> {
    Ok(Context {
        authors: state.app.authors(posts).await?,
        reactions: state.app.reactions(viewer, posts).await?,
        care: state.app.care_marks(posts).await?,
        viewer,
        crisis: crisis_support(state, viewer, posts),
    })
}

/// One post just written or edited, as the API shows it.
async fn single(
    state: &ApiState,
    session: &hearth_app::Session,
    post: &Post,
) -> Result<PostView, ApiError> {
    let group = state.app.find_group(&post.group_ap_id).await?;
    let ctx = context(state, Some(session), std::slice::from_ref(post)).await?;
    Ok(view(post, &group.handle(&state.app), &ctx))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewPost)]
pub struct CreateBody {
    group: String,
    title: Option<String>,
    body: Option<String>,
    #[schema(schema_with = crate::routes::openapi::spelling::support_kind)]
    support_kind: Option<String>,
    content_warning: Option<String>,
    #[schema(schema_with = crate::routes::openapi::spelling::visibility)]
    visibility: Option<String>,
    link: Option<String>,
    sources: Option<Vec<SourceBody>>,
    #[schema(schema_with = crate::routes::openapi::spelling::speaking_as)]
    speaking_as: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/posts",
    tag = "posts",
    operation_id = "posts_create",
    request_body = CreateBody,
    responses((status = 201, body = PostView)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<PostView>), ApiError> {
    let group = state.app.find_group(&body.group).await?;
    let post = state
        .app
        .create_thread(
            &Origin::local(&session),
            &group,
            PostInput {
                title: body.title,
                body: body.body,
                support_kind: body.support_kind,
                content_warning: body.content_warning,
                visibility: body.visibility,
                link: body.link,
                sources: raw_sources(body.sources),
                speaking_as: body.speaking_as,
            },
        )
        .await?;
    let ctx = context(&state, Some(&session), std::slice::from_ref(&post)).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&post, &group.handle(&state.app), &ctx)),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReplyBody {
    body: Option<String>,
    content_warning: Option<String>,
    #[schema(schema_with = crate::routes::openapi::spelling::speaking_as)]
    speaking_as: Option<String>,
}

fn post_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::from(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail("No such post."),
        )
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/replies",
    tag = "posts",
    operation_id = "posts_reply",
    params(("id" = String, Path, description = "The post's id")),
    request_body = ReplyBody,
    responses((status = 201, body = PostView)),
    security(("bearer" = []))
)]
pub async fn reply(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<ReplyBody>,
) -> Result<(StatusCode, Json<PostView>), ApiError> {
    let post = state
        .app
        .create_reply(
            &Origin::local(&session),
            post_id(&id)?,
            PostInput {
                body: body.body,
                content_warning: body.content_warning,
                speaking_as: body.speaking_as,
                ..Default::default()
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(single(&state, &session, &post).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EditBody {
    title: Option<String>,
    body: Option<String>,
    #[schema(schema_with = crate::routes::openapi::spelling::support_kind)]
    support_kind: Option<String>,
    content_warning: Option<String>,
    link: Option<String>,
    /// Left out: kept; `[]`: removed.
    sources: Option<Vec<SourceBody>>,
    #[schema(schema_with = crate::routes::openapi::spelling::speaking_as)]
    speaking_as: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/posts/{id}",
    tag = "posts",
    operation_id = "posts_edit",
    params(("id" = String, Path, description = "The post's id")),
    request_body = EditBody,
    responses((status = 200, body = PostView)),
    security(("bearer" = []))
)]
pub async fn edit(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<EditBody>,
) -> Result<Json<PostView>, ApiError> {
    let post = state
        .app
        .edit_post(
            &Origin::local(&session),
            post_id(&id)?,
            PostInput {
                title: body.title,
                body: body.body,
                support_kind: body.support_kind,
                content_warning: body.content_warning,
                visibility: None,
                link: body.link,
                sources: raw_sources(body.sources),
                speaking_as: body.speaking_as,
            },
        )
        .await?;
    Ok(Json(single(&state, &session, &post).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}",
    tag = "posts",
    operation_id = "posts_delete",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_post(&Origin::local(&session), post_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct RemoveBody {
    #[serde(default)]
    reason: String,
}

/// Moderators: remove a post from their group, with a reason the author
/// is shown.
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/remove",
    tag = "posts",
    operation_id = "posts_remove",
    params(("id" = String, Path, description = "The post's id")),
    request_body = RemoveBody,
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn remove(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<RemoveBody>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_post(&Origin::local(&session), post_id(&id)?, &body.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn reaction(raw: &str) -> Result<Reaction, ApiError> {
    raw.parse::<Reaction>().map_err(|e| {
        ApiError::from(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "No such reaction")
                .field("reaction")
                .detail(e.to_string()),
        )
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/reactions/{reaction}",
    tag = "posts",
    operation_id = "posts_react",
    params(("id" = String, Path, description = "The post's id"), ("reaction" = String, Path, description = "The reaction: `hug`, `me-too` or `helpful`")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn react(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((id, kind)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .react(&Origin::local(&session), post_id(&id)?, reaction(&kind)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}/reactions/{reaction}",
    tag = "posts",
    operation_id = "posts_unreact",
    params(("id" = String, Path, description = "The post's id"), ("reaction" = String, Path, description = "The reaction: `hug`, `me-too` or `helpful`")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn unreact(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((id, kind)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .unreact(&Origin::local(&session), post_id(&id)?, reaction(&kind)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A thread with its replies nested under the posts they answer, read in
/// a fixed number of queries however long the thread is.
#[utoipa::path(
    get,
    path = "/api/v1/posts/{id}",
    tag = "posts",
    operation_id = "posts_show",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 200, body = PostView)),
    security((), ("bearer" = []))
)]
pub async fn show(
    State(state): State<ApiState>,
    MaybeAuthenticated(session): MaybeAuthenticated,
    Path(id): Path<String>,
) -> Result<Json<PostView>, ApiError> {
    let thread = state.app.thread(session.as_ref(), post_id(&id)?).await?;
    let posts = &thread.posts;
    let root = posts
        .iter()
        .find(|p| p.kind == PostKind::Thread || p.root_id.is_none())
        .ok_or_else(|| {
            ApiError::from(
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .detail("No such post."),
            )
        })?;
    let ctx = Context {
        authors: state.app.authors(posts).await?,
        reactions: state
            .app
            .thread_reactions(session.as_ref(), root.thread_id())
            .await?,
        care: state.app.care_marks(posts).await?,
        viewer: session.as_ref(),
        crisis: crisis_support(&state, session.as_ref(), posts),
    };
    let group = thread.group.handle(&state.app);
    let children = children_of(posts);
    Ok(Json(nest(root, &group, &children, &ctx)))
}

/// Each post's direct replies, in thread order, by the id they answer: one
/// pass over the thread, so nesting it is linear in its length.
fn children_of(posts: &[Post]) -> HashMap<i64, Vec<&Post>> {
    let mut children: HashMap<i64, Vec<&Post>> = HashMap::new();
    for p in posts {
        if let Some(parent) = p.parent_id {
            children.entry(parent).or_default().push(p);
        }
    }
    children
}

fn nest(
    post: &Post,
    group: &str,
    children: &HashMap<i64, Vec<&Post>>,
    ctx: &Context<'_>,
) -> PostView {
    let mut v = view(post, group, ctx);
    v.replies = Some(
        children
            .get(&post.id)
            .into_iter()
            .flatten()
            .map(|child| nest(child, group, children, ctx))
            .collect(),
    );
    v
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    group: String,
    order: Option<String>,
    #[param(schema_with = crate::routes::openapi::spelling::support_kind)]
    support_kind: Option<String>,
    /// Only threads that list sources.
    #[serde(default)]
    with_sources: bool,
    cursor: Option<String>,
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/posts",
    tag = "posts",
    operation_id = "posts_timeline",
    params(TimelineParams),
    responses((status = 200, body = Page<PostView>)),
    security((), ("bearer" = []))
)]
pub async fn timeline(
    State(state): State<ApiState>,
    MaybeAuthenticated(session): MaybeAuthenticated,
    Query(q): Query<TimelineParams>,
) -> Result<Json<Page<PostView>>, ApiError> {
    let bad = |field: &'static str, detail: String| {
        ApiError::from(
            Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid query")
                .field(field)
                .detail(detail),
        )
    };
    let order = match q.order.as_deref() {
        None | Some("newest") => Order::Newest,
        Some("active") => Order::Active,
        Some(other) => {
            return Err(bad(
                "order",
                format!("unknown order '{other}', expected newest or active"),
            ));
        }
    };
    let support_kind = q
        .support_kind
        .as_deref()
        .map(str::parse::<SupportKind>)
        .transpose()
        .map_err(|e| bad("support_kind", e.to_string()))?;
    let (after, limit) = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .pair_position()?;
    let group = state.app.find_group(&q.group).await?;
    let page = state
        .app
        .timeline_page(
            session.as_ref(),
            &group,
            TimelineQuery {
                order,
                support_kind,
                with_sources: q.with_sources,
                after,
                limit,
            },
        )
        .await?;
    let posts = &page.threads;
    let next = (posts.len() as u64 == limit)
        .then(|| posts.last())
        .flatten()
        .map(|p| {
            let at = match order {
                Order::Newest => p.published_at,
                Order::Active => p.last_activity_at,
            };
            (at.timestamp_micros(), p.id)
        });
    let handle = group.handle(&state.app);
    let ctx = Context {
        authors: page.authors,
        reactions: page.reactions,
        care: state.app.care_marks(posts).await?,
        viewer: session.as_ref(),
        crisis: crisis_support(&state, session.as_ref(), posts),
    };
    Ok(Json(Page::from_pair(
        posts
            .iter()
            .map(|p| PostView {
                reply_count: Some(page.replies.get(&p.id).copied().unwrap_or(0)),
                last_activity_at: Some(timestamp(p.last_activity_at)),
                ..view(p, &handle, &ctx)
            })
            .collect(),
        next,
    )))
}

/// The caller's own posts: the groups they are in are each looked up once,
/// authors and reactions once for the page.
#[utoipa::path(
    get,
    path = "/api/v1/me/posts",
    tag = "posts",
    operation_id = "posts_mine",
    params(PageQuery),
    responses((status = 200, body = Page<PostView>)),
    security(("bearer" = []))
)]
pub async fn mine(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<PostView>>, ApiError> {
    let (before, limit) = q.position()?;
    let found = state.app.my_posts(&session, before, limit).await?;
    let posts: Vec<Post> = found.iter().map(|(_, p)| p.clone()).collect();
    let ctx = context(&state, Some(&session), &posts).await?;
    let mut handles: HashMap<&str, String> = HashMap::new();
    let mut items = Vec::with_capacity(found.len());
    for (group, post) in &found {
        let handle = handles
            .entry(post.group_ap_id.as_str())
            .or_insert_with(|| group.handle(&state.app));
        items.push(view(post, handle, &ctx));
    }
    let next = (found.len() as u64 == limit)
        .then(|| found.last().map(|(_, p)| p.id))
        .flatten();
    Ok(Json(Page::from_parts(items, next)))
}

/// Moderators: the posts of a group here waiting for them.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/held",
    tag = "posts",
    operation_id = "posts_held",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = Vec<PostView>)),
    security(("bearer" = []))
)]
pub async fn held(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<Vec<PostView>>, ApiError> {
    let posts = state.app.held_posts(&session, &name).await?;
    let ctx = context(&state, Some(&session), &posts).await?;
    let handle = format!("{}@{}", name.to_ascii_lowercase(), state.app.config.domain);
    Ok(Json(posts.iter().map(|p| view(p, &handle, &ctx)).collect()))
}

/// A post a moderator removed, with its words as kept for the group's
/// moderators.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RemovedView {
    id: String,
    url: String,
    kind: &'static str,
    author: String,
    title: String,
    body: String,
    body_html: String,
    content_warning: Option<String>,
    link: Option<String>,
    reason: String,
    removed_by: String,
    removed_at: String,
}

/// Moderators: the posts removed from their group that can still be
/// brought back.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/removed",
    tag = "posts",
    operation_id = "posts_removed",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = Vec<RemovedView>)),
    security(("bearer" = []))
)]
pub async fn removed(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<Vec<RemovedView>>, ApiError> {
    let removed = state.app.removed_posts(&session, &name).await?;
    Ok(Json(
        removed
            .into_iter()
            .map(|(post, kept)| RemovedView {
                id: post.id.to_string(),
                url: post.ap_id,
                kind: match post.kind {
                    PostKind::Thread => "thread",
                    PostKind::Reply => "reply",
                },
                author: post.author_ap_id,
                title: kept.title,
                body: kept.source,
                body_html: kept.content_html,
                content_warning: kept.content_warning,
                link: kept.link,
                reason: kept.reason,
                removed_by: kept.removed_by,
                removed_at: timestamp(kept.removed_at),
            })
            .collect(),
    ))
}

/// Moderators: bring back a post they removed, with an optional reason
/// for the log.
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/restore",
    tag = "posts",
    operation_id = "posts_restore",
    params(("id" = String, Path, description = "The post's id")),
    request_body(content = Option<RemoveBody>, description = "optional"),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn restore(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    body: Option<Json<RemoveBody>>,
) -> Result<StatusCode, ApiError> {
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    state
        .app
        .restore_post(&Origin::local(&session), post_id(&id)?, &reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moderators: let a held post through.
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/approve",
    tag = "posts",
    operation_id = "posts_approve",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 200, body = PostView)),
    security(("bearer" = []))
)]
pub async fn approve(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<PostView>, ApiError> {
    let post = state
        .app
        .approve_post(&Origin::local(&session), post_id(&id)?)
        .await?;
    Ok(Json(single(&state, &session, &post).await?))
}

/// Moderators: turn a held post down, with a reason for its author.
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/reject",
    tag = "posts",
    operation_id = "posts_reject",
    params(("id" = String, Path, description = "The post's id")),
    request_body = RemoveBody,
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn reject(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<RemoveBody>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .reject_post(&Origin::local(&session), post_id(&id)?, &body.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LabelBody {
    #[serde(default)]
    #[schema(schema_with = crate::routes::openapi::spelling::label_kind)]
    kind: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    link: Option<String>,
}

/// Moderators: label a post "needs sources" or "disputed", with a note and
/// an optional link to better information.
#[utoipa::path(
    put,
    path = "/api/v1/posts/{id}/label",
    tag = "posts",
    operation_id = "posts_label",
    params(("id" = String, Path, description = "The post's id")),
    request_body = LabelBody,
    responses((status = 200, body = PostView)),
    security(("bearer" = []))
)]
pub async fn label(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<LabelBody>,
) -> Result<Json<PostView>, ApiError> {
    let post = state
        .app
        .label_post(
            &Origin::local(&session),
            post_id(&id)?,
            Some(hearth_app::labels::LabelInput {
                kind: body.kind,
                note: body.note,
                link: body.link.unwrap_or_default(),
            }),
        )
        .await?;
    Ok(Json(single(&state, &session, &post).await?))
}

/// Moderators: take a post's label off.
#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}/label",
    tag = "posts",
    operation_id = "posts_unlabel",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 200, body = PostView)),
    security(("bearer" = []))
)]
pub async fn unlabel(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<PostView>, ApiError> {
    let post = state
        .app
        .label_post(&Origin::local(&session), post_id(&id)?, None)
        .await?;
    Ok(Json(single(&state, &session, &post).await?))
}

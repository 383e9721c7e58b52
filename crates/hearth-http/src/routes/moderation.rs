//! Moderation endpoints: locking threads, bans (from a group, from the
//! instance), the moderator role, reports and the moderation log. Each
//! calls one use-case of `hearth_app::moderation`, which decides who may.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_app::Origin;
use hearth_app::moderation::{Ban, BanRequest, LogLine, LogReader, Report, ReportRequest};
use hearth_domain::moderation::ReportState;
use serde::{Deserialize, Serialize};

use crate::ApiState;
use crate::auth::{Admin, Authenticated};
use crate::json::Json;
use crate::pagination::{Page, PageQuery};
use crate::problem::{ApiError, Problem};
use crate::routes::groups::MaybeAuthenticated;

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn number(raw: &str, what: &'static str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::from(
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                .detail(format!("No such {what}.")),
        )
    })
}

// ---- locks ------------------------------------------------------------------

/// Moderators: close a thread to new replies.
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/lock",
    tag = "moderation",
    operation_id = "moderation_lock",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn lock(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .lock_thread(&Origin::local(&session), number(&id, "post")?, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moderators: open a thread to replies again.
#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}/lock",
    tag = "moderation",
    operation_id = "moderation_unlock",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn unlock(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .lock_thread(&Origin::local(&session), number(&id, "post")?, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moderators: pin a thread to the top of its group.
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/pin",
    tag = "moderation",
    operation_id = "moderation_pin",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn pin(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .pin_thread(&Origin::local(&session), number(&id, "post")?, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moderators: unpin a thread.
#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}/pin",
    tag = "moderation",
    operation_id = "moderation_unpin",
    params(("id" = String, Path, description = "The post's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn unpin(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .pin_thread(&Origin::local(&session), number(&id, "post")?, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- bans -------------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanBody {
    person: String,
    #[serde(default)]
    reason: String,
    /// When the ban ends; none: until lifted.
    expires_at: Option<DateTime<Utc>>,
    /// Or: how many days it lasts (1 to 36500).
    #[schema(minimum = 1, maximum = 36500)]
    days: Option<u32>,
    #[serde(default)]
    remove_data: bool,
}

impl BanBody {
    fn request(self) -> Result<BanRequest, ApiError> {
        let expires_at = match (self.expires_at, self.days) {
            (Some(_), Some(_)) => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-input",
                    "Give either expires_at or days, not both",
                )
                .field("days")
                .into());
            }
            (at, None) => at,
            (None, Some(days)) => Some(
                hearth_domain::moderation::ends_after(Utc::now(), days, "days")
                    .map_err(|e| Problem::validation(&[e]))?,
            ),
        };
        Ok(BanRequest {
            person: self.person,
            reason: self.reason,
            expires_at,
            remove_data: self.remove_data,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BanView {
    pub person: String,
    /// The group's id; `null` for a ban from the whole instance.
    pub group: Option<String>,
    pub reason: String,
    pub expires_at: Option<String>,
    pub remove_data: bool,
    pub banned_by: String,
    pub created_at: String,
}

impl From<Ban> for BanView {
    fn from(b: Ban) -> Self {
        BanView {
            person: b.person_ap_id,
            group: b.group_ap_id,
            reason: b.terms.reason,
            expires_at: b.terms.expires_at.map(at),
            remove_data: b.terms.remove_data,
            banned_by: b.by_ap_id,
            created_at: at(b.created_at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/groups/{name}/bans",
    tag = "moderation",
    operation_id = "moderation_ban_in_group",
    params(("name" = String, Path, description = "The group's name (here)")),
    request_body = BanBody,
    responses((status = 201, body = BanView)),
    security(("bearer" = []))
)]
pub async fn ban_in_group(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
    Json(body): Json<BanBody>,
) -> Result<(StatusCode, Json<BanView>), ApiError> {
    let ban = state
        .app
        .ban(&Origin::local(&session), &name, body.request()?)
        .await?;
    Ok((StatusCode::CREATED, Json(ban.into())))
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/bans",
    tag = "moderation",
    operation_id = "moderation_group_bans",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = Vec<BanView>)),
    security(("bearer" = []))
)]
pub async fn group_bans(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<Vec<BanView>>, ApiError> {
    let bans = state.app.bans(&session, Some(&name)).await?;
    Ok(Json(bans.into_iter().map(BanView::from).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonQuery {
    person: String,
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{name}/bans",
    tag = "moderation",
    operation_id = "moderation_unban_in_group",
    params(("name" = String, Path, description = "The group's name (here)"), PersonQuery),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn unban_in_group(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
    Query(q): Query<PersonQuery>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .lift_ban(&Origin::local(&session), &name, &q.person)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/bans",
    tag = "moderation",
    operation_id = "moderation_ban_from_instance",
    request_body = BanBody,
    responses((status = 201, body = BanView)),
    security(("bearer" = []))
)]
pub async fn ban_from_instance(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Json(body): Json<BanBody>,
) -> Result<(StatusCode, Json<BanView>), ApiError> {
    let ban = state
        .app
        .ban_from_instance(&Origin::local(&session), body.request()?)
        .await?;
    Ok((StatusCode::CREATED, Json(ban.into())))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/bans",
    tag = "moderation",
    operation_id = "moderation_instance_bans",
    responses((status = 200, body = Vec<BanView>)),
    security(("bearer" = []))
)]
pub async fn instance_bans(
    State(state): State<ApiState>,
    Admin(session): Admin,
) -> Result<Json<Vec<BanView>>, ApiError> {
    let bans = state.app.bans(&session, None).await?;
    Ok(Json(bans.into_iter().map(BanView::from).collect()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/bans",
    tag = "moderation",
    operation_id = "moderation_unban_from_instance",
    params(PersonQuery),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn unban_from_instance(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Query(q): Query<PersonQuery>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .lift_instance_ban(&Origin::local(&session), &q.person)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- moderators -------------------------------------------------------------

#[utoipa::path(
    put,
    path = "/api/v1/groups/{name}/moderators/{username}",
    tag = "moderation",
    operation_id = "moderation_add_moderator",
    params(("name" = String, Path, description = "The group's name (here)"), ("username" = String, Path, description = "A member's username here")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn add_moderator(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((name, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_moderator(&Origin::local(&session), &name, &username, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/groups/{name}/moderators/{username}",
    tag = "moderation",
    operation_id = "moderation_remove_moderator",
    params(("name" = String, Path, description = "The group's name (here)"), ("username" = String, Path, description = "A member's username here")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn remove_moderator(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path((name, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_moderator(&Origin::local(&session), &name, &username, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- reports ----------------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    post_id: Option<String>,
    account: Option<String>,
    #[schema(schema_with = crate::routes::openapi::spelling::report_category)]
    category: String,
    #[serde(default)]
    comment: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: String,
    pub post: Option<String>,
    pub account: String,
    pub group: Option<String>,
    pub category: &'static str,
    pub comment: String,
    /// `open` or `resolved`.
    pub state: &'static str,
    pub resolution: String,
    /// Who sent it from another server (often that server's own actor);
    /// `null` for a report made here.
    pub from: Option<String>,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> Self {
        ReportView {
            id: r.id.to_string(),
            post: r.post_ap_id,
            account: r.account_ap_id,
            group: r.group_ap_id,
            category: r.category.as_str(),
            comment: r.comment,
            state: r.state.as_str(),
            resolution: r.resolution,
            from: r.flagged_by,
            created_at: at(r.created_at),
            resolved_at: r.resolved_at.map(at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "moderation",
    operation_id = "moderation_report",
    request_body = ReportBody,
    responses((status = 201, body = ReportView)),
    security(("bearer" = []))
)]
pub async fn report(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Json(body): Json<ReportBody>,
) -> Result<(StatusCode, Json<ReportView>), ApiError> {
    let post_id = body
        .post_id
        .as_deref()
        .map(|raw| number(raw, "post"))
        .transpose()?;
    let report = state
        .app
        .report(
            &session,
            ReportRequest {
                post_id,
                account: body.account,
                category: body.category,
                comment: body.comment,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(report.into())))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    #[param(schema_with = crate::routes::openapi::spelling::report_state)]
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "moderation",
    operation_id = "moderation_reports",
    params(ReportsQuery),
    responses((status = 200, body = Page<ReportView>)),
    security(("bearer" = []))
)]
pub async fn reports(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Query(q): Query<ReportsQuery>,
) -> Result<Json<Page<ReportView>>, ApiError> {
    let wanted = match q.state.as_deref() {
        None | Some("all") => None,
        Some(raw) => Some(raw.parse::<ReportState>().map_err(|e| {
            ApiError::from(
                Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid state")
                    .field("state")
                    .detail(e.to_string()),
            )
        })?),
    };
    let (before, limit) = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .position()?;
    let rows = state.app.reports(&session, wanted, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        ReportView::from,
    )))
}

#[utoipa::path(
    get,
    path = "/api/v1/me/reports",
    tag = "moderation",
    operation_id = "moderation_my_reports",
    params(PageQuery),
    responses((status = 200, body = Page<ReportView>)),
    security(("bearer" = []))
)]
pub async fn my_reports(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<ReportView>>, ApiError> {
    let (before, limit) = q.position()?;
    let rows = state.app.my_reports(&session, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        ReportView::from,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[serde(default)]
    resolution: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/resolve",
    tag = "moderation",
    operation_id = "moderation_resolve",
    params(("id" = String, Path, description = "The report's id")),
    request_body = ResolveBody,
    responses((status = 200, body = ReportView)),
    security(("bearer" = []))
)]
pub async fn resolve(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Json(body): Json<ResolveBody>,
) -> Result<Json<ReportView>, ApiError> {
    let report = state
        .app
        .resolve_report(&session, number(&id, "report")?, &body.resolution)
        .await?;
    Ok(Json(report.into()))
}

/// Send the author of a reported post the helplines, privately (members
/// of this server only).
#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/support",
    tag = "moderation",
    operation_id = "moderation_send_support",
    params(("id" = String, Path, description = "The report's id")),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn send_support(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .send_crisis_support(&session, number(&id, "report")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResourcesQuery {
    /// The language to show first (a phrase list's code, such as `da`).
    language: Option<String>,
}

/// The helplines this server's admins configured, those in `language`
/// first. Public: someone in crisis may not be logged in.
#[utoipa::path(
    get,
    path = "/api/v1/crisis-resources",
    tag = "moderation",
    operation_id = "moderation_crisis_resources",
    params(ResourcesQuery),
    responses((status = 200, body = Vec<crate::views::CrisisResourceView>))
)]
pub async fn crisis_resources(
    State(state): State<ApiState>,
    Query(q): Query<ResourcesQuery>,
) -> Json<Vec<crate::views::CrisisResourceView>> {
    Json(
        state
            .app
            .crisis_resources(q.language.as_deref())
            .iter()
            .map(Into::into)
            .collect(),
    )
}

// ---- the log ----------------------------------------------------------------

#[derive(Serialize, utoipa::ToSchema)]
pub struct LogLineView {
    pub id: String,
    pub group: Option<String>,
    /// Who acted; `null` where the instance hides moderators' names.
    pub moderator: Option<String>,
    pub action: &'static str,
    /// The action in plain words.
    pub description: &'static str,
    pub target: String,
    pub reason: String,
    pub expires_at: Option<String>,
    pub created_at: String,
}

impl From<LogLine> for LogLineView {
    fn from(l: LogLine) -> Self {
        LogLineView {
            id: l.entry.id.to_string(),
            group: l.entry.group_ap_id,
            moderator: l.actor,
            action: l.entry.action.as_str(),
            description: l.entry.action.describe(),
            target: l.entry.target_ap_id,
            reason: l.entry.reason,
            expires_at: l.entry.expires_at.map(at),
            created_at: at(l.entry.created_at),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/moderation_log",
    tag = "moderation",
    operation_id = "moderation_group_log",
    params(("name" = String, Path, description = "The group's name (here)"), PageQuery),
    responses((status = 200, body = Page<LogLineView>)),
    security((), ("bearer" = []))
)]
pub async fn group_log(
    State(state): State<ApiState>,
    MaybeAuthenticated(session): MaybeAuthenticated,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<LogLineView>>, ApiError> {
    let (before, limit) = q.position()?;
    let reader = match &session {
        Some(s) => LogReader::Account(s),
        None => LogReader::Anonymous,
    };
    let rows = state.app.group_log(reader, &name, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |l| l.entry.id,
        LogLineView::from,
    )))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/moderation_log",
    tag = "moderation",
    operation_id = "moderation_instance_log",
    params(PageQuery),
    responses((status = 200, body = Page<LogLineView>)),
    security(("bearer" = []))
)]
pub async fn instance_log(
    State(state): State<ApiState>,
    Admin(session): Admin,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<LogLineView>>, ApiError> {
    let (before, limit) = q.position()?;
    let rows = state.app.instance_log(&session, before, limit).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |l| l.entry.id,
        LogLineView::from,
    )))
}

// ---- pre-moderation ---------------------------------------------------------

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PremoderationView {
    /// Posts from members who joined less than this many days ago wait.
    #[serde(default)]
    new_member_days: u32,
    /// Posts from people on these servers wait.
    #[serde(default)]
    servers: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/groups/{name}/premoderation",
    tag = "moderation",
    operation_id = "moderation_premoderation",
    params(("name" = String, Path, description = "The group's name (here)")),
    responses((status = 200, body = PremoderationView)),
    security(("bearer" = []))
)]
pub async fn premoderation(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<PremoderationView>, ApiError> {
    let p = state.app.premoderation(&session, &name).await?;
    Ok(Json(PremoderationView {
        new_member_days: p.new_member_days,
        servers: p.servers,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/groups/{name}/premoderation",
    tag = "moderation",
    operation_id = "moderation_set_premoderation",
    params(("name" = String, Path, description = "The group's name (here)")),
    request_body = PremoderationView,
    responses((status = 200, body = PremoderationView)),
    security(("bearer" = []))
)]
pub async fn set_premoderation(
    State(state): State<ApiState>,
    Authenticated(session): Authenticated,
    Path(name): Path<String>,
    Json(body): Json<PremoderationView>,
) -> Result<Json<PremoderationView>, ApiError> {
    let set = state
        .app
        .set_premoderation(
            &Origin::local(&session),
            &name,
            hearth_app::moderation::Premoderation {
                new_member_days: body.new_member_days,
                servers: body.servers,
            },
        )
        .await?;
    Ok(Json(PremoderationView {
        new_member_days: set.new_member_days,
        servers: set.servers,
    }))
}

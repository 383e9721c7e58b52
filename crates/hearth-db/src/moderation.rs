//! Moderation's storage: the log of moderators' and admins' actions, bans,
//! reports, and the moderators of groups elsewhere as their groups
//! announced them. Who may do what is decided in `hearth-app`; what the
//! words mean in `hearth_domain::moderation`.

use chrono::{DateTime, Utc};
use hearth_domain::moderation::{BanTerms, ModAction, ReportCategory, ReportState};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::DbError;
use crate::entity::{bans, group_mentors, moderation_log, posts, remote_moderators, reports};

// ---- the log ------------------------------------------------------------

/// One line of the moderation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: i64,
    /// The group (here or elsewhere); `None` for the instance.
    pub group_ap_id: Option<String>,
    pub actor_ap_id: String,
    pub action: ModAction,
    pub target_ap_id: String,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What a new line says.
#[derive(Debug, Clone)]
pub struct NewLogEntry<'a> {
    pub group_ap_id: Option<&'a str>,
    pub actor_ap_id: &'a str,
    pub action: ModAction,
    pub target_ap_id: &'a str,
    pub reason: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<moderation_log::Model> for LogEntry {
    type Error = DbError;

    fn try_from(r: moderation_log::Model) -> Result<Self, DbError> {
        Ok(LogEntry {
            action: r.action.parse().map_err(|e| DbError::Corrupt {
                table: "moderation_log",
                detail: format!("entry {}: action: {e}", r.id),
            })?,
            id: r.id,
            group_ap_id: (!r.group_ap_id.is_empty()).then_some(r.group_ap_id),
            actor_ap_id: r.actor_ap_id,
            target_ap_id: r.target_ap_id,
            reason: r.reason,
            expires_at: r.expires_at,
            created_at: r.created_at,
        })
    }
}

/// Add a line to the log (in the transaction of the action it records).
pub async fn log(db: &impl ConnectionTrait, entry: NewLogEntry<'_>) -> Result<(), DbError> {
    moderation_log::ActiveModel {
        group_ap_id: Set(entry.group_ap_id.unwrap_or_default().to_owned()),
        actor_ap_id: Set(entry.actor_ap_id.to_owned()),
        action: Set(entry.action.as_str().to_owned()),
        target_ap_id: Set(entry.target_ap_id.to_owned()),
        reason: Set(entry.reason.to_owned()),
        expires_at: Set(entry.expires_at),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Which lines to list.
#[derive(Debug, Clone, Copy)]
pub enum LogScope<'a> {
    /// One group's.
    Group(&'a str),
    /// Everything (admins).
    All,
}

/// One page of the log, newest first; `before` is the last id seen.
pub async fn log_page(
    db: &impl ConnectionTrait,
    scope: LogScope<'_>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<LogEntry>, DbError> {
    let mut query = moderation_log::Entity::find().order_by_desc(moderation_log::Column::Id);
    if let LogScope::Group(group) = scope {
        query = query.filter(moderation_log::Column::GroupApId.eq(group));
    }
    if let Some(before) = before {
        query = query.filter(moderation_log::Column::Id.lt(before));
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(LogEntry::try_from)
        .collect()
}

// ---- bans ---------------------------------------------------------------

/// A ban, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub id: i64,
    /// The group; `None` for the whole instance.
    pub group_ap_id: Option<String>,
    pub person_ap_id: String,
    pub terms: BanTerms,
    /// The `Block` that said it.
    pub activity_ap_id: Option<String>,
    pub by_ap_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<bans::Model> for Ban {
    fn from(r: bans::Model) -> Self {
        Ban {
            id: r.id,
            group_ap_id: (!r.group_ap_id.is_empty()).then_some(r.group_ap_id),
            person_ap_id: r.person_ap_id,
            terms: BanTerms {
                reason: r.reason,
                expires_at: r.expires_at,
                remove_data: r.remove_data,
            },
            activity_ap_id: r.activity_ap_id,
            by_ap_id: r.by_ap_id,
            created_at: r.created_at,
        }
    }
}

/// A new ban (or new terms for one already there).
#[derive(Debug, Clone)]
pub struct NewBan<'a> {
    pub group_ap_id: Option<&'a str>,
    pub person_ap_id: &'a str,
    pub terms: &'a BanTerms,
    pub activity_ap_id: Option<&'a str>,
    pub by_ap_id: &'a str,
}

/// Ban someone; a ban already there takes the new terms.
pub async fn ban(db: &impl ConnectionTrait, new: NewBan<'_>) -> Result<(), DbError> {
    bans::Entity::insert(bans::ActiveModel {
        group_ap_id: Set(new.group_ap_id.unwrap_or_default().to_owned()),
        person_ap_id: Set(new.person_ap_id.to_owned()),
        reason: Set(new.terms.reason.clone()),
        expires_at: Set(new.terms.expires_at),
        remove_data: Set(new.terms.remove_data),
        activity_ap_id: Set(new.activity_ap_id.map(str::to_owned)),
        by_ap_id: Set(new.by_ap_id.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([bans::Column::GroupApId, bans::Column::PersonApId])
            .update_columns([
                bans::Column::Reason,
                bans::Column::ExpiresAt,
                bans::Column::RemoveData,
                bans::Column::ActivityApId,
                bans::Column::ByApId,
                bans::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Lift a ban; the ban that was there, if any (even one that ran out).
pub async fn lift(
    db: &impl ConnectionTrait,
    group_ap_id: Option<&str>,
    person_ap_id: &str,
) -> Result<Option<Ban>, DbError> {
    let found = bans::Entity::find()
        .filter(bans::Column::GroupApId.eq(group_ap_id.unwrap_or_default()))
        .filter(bans::Column::PersonApId.eq(person_ap_id))
        .one(db)
        .await?;
    if let Some(row) = &found {
        bans::Entity::delete_by_id(row.id).exec(db).await?;
    }
    Ok(found.map(Ban::from))
}

/// The ban that holds at `now` on `person` in `group` or on the whole
/// instance (the group's first), if any. A ban past its end is no ban.
///
/// The end is compared here, not in SQL: SQLite keeps times as text, and
/// text compares as time only when both sides are written alike.
pub async fn holding(
    db: &impl ConnectionTrait,
    group_ap_id: Option<&str>,
    person_ap_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Ban>, DbError> {
    let mut groups = Condition::any().add(bans::Column::GroupApId.eq(""));
    if let Some(group) = group_ap_id {
        groups = groups.add(bans::Column::GroupApId.eq(group));
    }
    let found = bans::Entity::find()
        .filter(bans::Column::PersonApId.eq(person_ap_id))
        .filter(groups)
        .order_by_desc(bans::Column::GroupApId)
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(Ban::from)
        .find(|ban| ban.terms.holds_at(now)))
}

/// The bans of a group (or of the instance) that still hold, newest first.
pub async fn holding_in(
    db: &impl ConnectionTrait,
    group_ap_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Ban>, DbError> {
    Ok(bans::Entity::find()
        .filter(bans::Column::GroupApId.eq(group_ap_id.unwrap_or_default()))
        .order_by_desc(bans::Column::Id)
        .limit(crate::MAX_PAGE * 4)
        .all(db)
        .await?
        .into_iter()
        .map(Ban::from)
        .filter(|ban| ban.terms.holds_at(now))
        .take(usize::try_from(crate::MAX_PAGE).unwrap_or(usize::MAX))
        .collect())
}

/// The ids of the posts `author` wrote in `group` that are not deleted (a
/// ban that removes the person's content).
pub async fn live_posts_by_in(
    db: &impl ConnectionTrait,
    author_ap_id: &str,
    group_ap_id: &str,
) -> Result<Vec<i64>, DbError> {
    Ok(posts::Entity::find()
        .select_only()
        .column(posts::Column::Id)
        .filter(posts::Column::AuthorApId.eq(author_ap_id))
        .filter(posts::Column::GroupApId.eq(group_ap_id))
        .filter(posts::Column::DeletedAt.is_null())
        .order_by_asc(posts::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

// ---- reports ------------------------------------------------------------

/// A report, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    /// The member here who made it; none for a report from elsewhere.
    pub reporter_user_id: Option<i64>,
    /// The actor whose `Flag` brought it; `None` for one made here.
    pub flagged_by: Option<String>,
    pub flag_ap_id: Option<String>,
    pub post_ap_id: Option<String>,
    pub account_ap_id: String,
    pub group_ap_id: Option<String>,
    pub category: ReportCategory,
    pub comment: String,
    pub state: ReportState,
    pub resolution: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<reports::Model> for Report {
    type Error = DbError;

    fn try_from(r: reports::Model) -> Result<Self, DbError> {
        let corrupt = |field: &str, e: hearth_domain::account::UnknownValue| DbError::Corrupt {
            table: "reports",
            detail: format!("report {}: {field}: {e}", r.id),
        };
        Ok(Report {
            category: r.category.parse().map_err(|e| corrupt("category", e))?,
            state: r.state.parse().map_err(|e| corrupt("state", e))?,
            id: r.id,
            reporter_user_id: r.reporter_user_id,
            flagged_by: (!r.flagged_by.is_empty()).then_some(r.flagged_by),
            flag_ap_id: r.flag_ap_id,
            post_ap_id: r.post_ap_id,
            account_ap_id: r.account_ap_id,
            group_ap_id: (!r.group_ap_id.is_empty()).then_some(r.group_ap_id),
            comment: r.comment,
            resolution: r.resolution,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
            created_at: r.created_at,
        })
    }
}

/// What a new report says.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub reporter_user_id: Option<i64>,
    pub flagged_by: Option<&'a str>,
    pub flag_ap_id: Option<&'a str>,
    pub post_ap_id: Option<&'a str>,
    pub account_ap_id: &'a str,
    pub group_ap_id: Option<&'a str>,
    pub category: ReportCategory,
    pub comment: &'a str,
}

/// Store a report. `None` when a report with the same `Flag` is already
/// here (a second delivery).
pub async fn insert_report(
    db: &impl ConnectionTrait,
    new: NewReport<'_>,
) -> Result<Option<Report>, DbError> {
    if let Some(flag) = new.flag_ap_id
        && find_report_by_flag(db, flag).await?.is_some()
    {
        return Ok(None);
    }
    let row = reports::ActiveModel {
        reporter_user_id: Set(new.reporter_user_id),
        flagged_by: Set(new.flagged_by.unwrap_or_default().to_owned()),
        flag_ap_id: Set(new.flag_ap_id.map(str::to_owned)),
        post_ap_id: Set(new.post_ap_id.map(str::to_owned)),
        account_ap_id: Set(new.account_ap_id.to_owned()),
        group_ap_id: Set(new.group_ap_id.unwrap_or_default().to_owned()),
        category: Set(new.category.as_str().to_owned()),
        comment: Set(new.comment.to_owned()),
        state: Set(ReportState::Open.as_str().to_owned()),
        resolution: Set(String::new()),
        resolved_by: Set(None),
        resolved_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Report::try_from(row).map(Some)
}

pub async fn find_report(db: &impl ConnectionTrait, id: i64) -> Result<Option<Report>, DbError> {
    reports::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Report::try_from)
        .transpose()
}

pub async fn find_report_by_flag(
    db: &impl ConnectionTrait,
    flag_ap_id: &str,
) -> Result<Option<Report>, DbError> {
    reports::Entity::find()
        .filter(reports::Column::FlagApId.eq(flag_ap_id))
        .one(db)
        .await?
        .map(Report::try_from)
        .transpose()
}

/// Which reports to list.
#[derive(Debug, Clone)]
pub enum ReportScope {
    /// Every report (admins).
    All,
    /// Reports about posts in these groups (moderators).
    Groups(Vec<String>),
    /// Reports this member made.
    By(i64),
}

/// One page of reports in `state` (every state for `None`), newest first.
pub async fn reports_page(
    db: &impl ConnectionTrait,
    scope: &ReportScope,
    state: Option<ReportState>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Report>, DbError> {
    let limit = limit.min(crate::MAX_PAGE);
    // Open "possible crisis" reports come first, on the first page; the
    // pages after it hold the rest, newest first.
    let crisis_first = !matches!(state, Some(ReportState::Resolved));
    let mut first: Vec<reports::Model> = Vec::new();
    if crisis_first
        && before.is_none()
        && let Some(query) = scoped(
            reports::Entity::find()
                .filter(reports::Column::State.eq(ReportState::Open.as_str()))
                .filter(reports::Column::Category.eq(ReportCategory::PossibleCrisis.as_str()))
                .order_by_desc(reports::Column::Id),
            scope,
        )
    {
        first = query.limit(limit).all(db).await?;
    }
    let Some(mut query) = scoped(
        reports::Entity::find().order_by_desc(reports::Column::Id),
        scope,
    ) else {
        return Ok(Vec::new());
    };
    if crisis_first {
        query = query.filter(
            Condition::any()
                .add(reports::Column::Category.ne(ReportCategory::PossibleCrisis.as_str()))
                .add(reports::Column::State.ne(ReportState::Open.as_str())),
        );
    }
    if let Some(state) = state {
        query = query.filter(reports::Column::State.eq(state.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(reports::Column::Id.lt(before));
    }
    let rest = query
        .limit(limit.saturating_sub(first.len() as u64))
        .all(db)
        .await?;
    first
        .into_iter()
        .chain(rest)
        .map(Report::try_from)
        .collect()
}

/// `query` narrowed to `scope`; `None` when the scope holds nothing.
fn scoped(
    mut query: sea_orm::Select<reports::Entity>,
    scope: &ReportScope,
) -> Option<sea_orm::Select<reports::Entity>> {
    match scope {
        ReportScope::All => {}
        ReportScope::Groups(groups) => {
            if groups.is_empty() {
                return None;
            }
            query = query.filter(reports::Column::GroupApId.is_in(groups.iter().cloned()));
        }
        ReportScope::By(user) => query = query.filter(reports::Column::ReporterUserId.eq(*user)),
    }
    Some(query)
}

/// Open reports, to show a count.
pub async fn open_reports(db: &impl ConnectionTrait) -> Result<u64, DbError> {
    Ok(reports::Entity::find()
        .filter(reports::Column::State.eq(ReportState::Open.as_str()))
        .count(db)
        .await?)
}

/// Mark a report resolved. `None` when it already was.
pub async fn resolve_report(
    db: &impl ConnectionTrait,
    id: i64,
    resolution: &str,
    by_ap_id: &str,
) -> Result<Option<Report>, DbError> {
    let Some(row) = reports::Entity::find_by_id(id).one(db).await? else {
        return Err(DbError::NotFound { what: "report" });
    };
    if row.state == ReportState::Resolved.as_str() {
        return Ok(None);
    }
    let mut row: reports::ActiveModel = row.into();
    row.state = Set(ReportState::Resolved.as_str().to_owned());
    row.resolution = Set(resolution.to_owned());
    row.resolved_by = Set(Some(by_ap_id.to_owned()));
    row.resolved_at = Set(Some(Utc::now()));
    Report::try_from(row.update(db).await?).map(Some)
}

// ---- moderators of groups elsewhere ------------------------------------

/// Remember (`true`) or forget that `person` moderates the group elsewhere.
pub async fn set_remote_moderator(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    person_ap_id: &str,
    moderates: bool,
) -> Result<(), DbError> {
    if moderates {
        remote_moderators::Entity::insert(remote_moderators::ActiveModel {
            group_ap_id: Set(group_ap_id.to_owned()),
            person_ap_id: Set(person_ap_id.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                remote_moderators::Column::GroupApId,
                remote_moderators::Column::PersonApId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    } else {
        remote_moderators::Entity::delete_many()
            .filter(remote_moderators::Column::GroupApId.eq(group_ap_id))
            .filter(remote_moderators::Column::PersonApId.eq(person_ap_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The roles a person held in a group and lost with their membership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolesEnded {
    /// They moderated it as someone of another server (or, for a group
    /// elsewhere, as that group announced).
    pub moderator: bool,
    /// They were one of its peer mentors.
    pub mentor: bool,
}

/// `person`'s membership of the group `group_ap_id` ended (they left,
/// were banned, or were erased): forget the roles kept by actor id, their
/// moderator role as someone of another server and their place among the
/// peer mentors. A moderator here keeps the role in the membership itself
/// (`groups::remove_membership` ends it). Which roles there were.
pub async fn forget_roles(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    person_ap_id: &str,
) -> Result<RolesEnded, DbError> {
    let moderator = remote_moderators::Entity::delete_many()
        .filter(remote_moderators::Column::GroupApId.eq(group_ap_id))
        .filter(remote_moderators::Column::PersonApId.eq(person_ap_id))
        .exec(db)
        .await?
        .rows_affected
        > 0;
    let mentor = group_mentors::Entity::delete_many()
        .filter(group_mentors::Column::GroupApId.eq(group_ap_id))
        .filter(group_mentors::Column::PersonApId.eq(person_ap_id))
        .exec(db)
        .await?
        .rows_affected
        > 0;
    Ok(RolesEnded { moderator, mentor })
}

/// `person` is erased: forget every role kept by their actor id, in every
/// group.
pub async fn forget_all_roles(
    db: &impl ConnectionTrait,
    person_ap_id: &str,
) -> Result<(), DbError> {
    remote_moderators::Entity::delete_many()
        .filter(remote_moderators::Column::PersonApId.eq(person_ap_id))
        .exec(db)
        .await?;
    group_mentors::Entity::delete_many()
        .filter(group_mentors::Column::PersonApId.eq(person_ap_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether the group elsewhere announced `person` as a moderator.
pub async fn is_remote_moderator(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    person_ap_id: &str,
) -> Result<bool, DbError> {
    Ok(remote_moderators::Entity::find()
        .filter(remote_moderators::Column::GroupApId.eq(group_ap_id))
        .filter(remote_moderators::Column::PersonApId.eq(person_ap_id))
        .count(db)
        .await?
        > 0)
}

/// The moderators the group elsewhere announced, oldest first.
pub async fn remote_moderators_of(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
) -> Result<Vec<String>, DbError> {
    Ok(remote_moderators::Entity::find()
        .select_only()
        .column(remote_moderators::Column::PersonApId)
        .filter(remote_moderators::Column::GroupApId.eq(group_ap_id))
        .order_by_asc(remote_moderators::Column::Id)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

//! Notifications: what a local member is told about, stored in the same
//! transaction as the change they report. Who is told is decided by the
//! use-cases (`hearth-app`'s `notifications`), which ask the one read rule;
//! this module only stores, lists and marks them, and never repeats the
//! same unread news (a reaction given, taken back and given again is one
//! notification).

use chrono::{DateTime, Utc};
use hearth_domain::notification::NotificationKind;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::DbError;
use crate::entity::notifications;

/// One notification, as the pages show it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub kind: NotificationKind,
    /// Who did it, when it was someone.
    pub actor_ap_id: Option<String>,
    pub post_id: Option<i64>,
    pub group_ap_id: Option<String>,
    /// The reaction, for reactions.
    pub detail: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl TryFrom<notifications::Model> for Notification {
    type Error = DbError;

    fn try_from(r: notifications::Model) -> Result<Self, DbError> {
        Ok(Notification {
            kind: r.kind.parse().map_err(|e| DbError::Corrupt {
                table: "notifications",
                detail: format!("notification {}: kind: {e}", r.id),
            })?,
            id: r.id,
            user_id: r.user_id,
            actor_ap_id: r.actor_ap_id,
            post_id: r.post_id,
            group_ap_id: r.group_ap_id,
            detail: r.detail,
            created_at: r.created_at,
            read_at: r.read_at,
        })
    }
}

/// Record one notification unless the same one is waiting unread.
pub async fn record(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: NotificationKind,
    actor_ap_id: Option<&str>,
    post_id: Option<i64>,
    group_ap_id: Option<&str>,
    detail: &str,
) -> Result<(), DbError> {
    let mut same = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::Kind.eq(kind.as_str()))
        .filter(notifications::Column::Detail.eq(detail))
        .filter(notifications::Column::ReadAt.is_null());
    same = match actor_ap_id {
        Some(a) => same.filter(notifications::Column::ActorApId.eq(a)),
        None => same.filter(notifications::Column::ActorApId.is_null()),
    };
    same = match post_id {
        Some(p) => same.filter(notifications::Column::PostId.eq(p)),
        None => same.filter(notifications::Column::PostId.is_null()),
    };
    same = match group_ap_id {
        Some(g) => same.filter(notifications::Column::GroupApId.eq(g)),
        None => same.filter(notifications::Column::GroupApId.is_null()),
    };
    if same.count(db).await? > 0 {
        return Ok(());
    }
    notifications::ActiveModel {
        user_id: Set(user_id),
        kind: Set(kind.as_str().to_owned()),
        actor_ap_id: Set(actor_ap_id.map(str::to_owned)),
        post_id: Set(post_id),
        group_ap_id: Set(group_ap_id.map(str::to_owned)),
        detail: Set(detail.to_owned()),
        created_at: Set(Utc::now()),
        read_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One page of an account's notifications, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Notification>, DbError> {
    let mut query = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .order_by_desc(notifications::Column::Id);
    if let Some(before) = before {
        query = query.filter(notifications::Column::Id.lt(before));
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}

/// How many of an account's notifications are unread.
pub async fn unread_count(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, DbError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Mark an account's notifications read: those listed in `ids`, or all of
/// them up to and including `up_to` when `ids` is `None`. Returns how many
/// changed. Other accounts' notifications are never touched.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    user_id: i64,
    ids: Option<&[i64]>,
    up_to: Option<i64>,
) -> Result<u64, DbError> {
    let mut update = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(notifications::Column::Id.is_in(ids.to_vec()));
    }
    if let Some(up_to) = up_to {
        update = update.filter(notifications::Column::Id.lte(up_to));
    }
    Ok(update.exec(db).await?.rows_affected)
}

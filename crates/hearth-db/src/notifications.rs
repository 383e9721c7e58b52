//! Notifications: what a local member is told about. They are written in
//! the same transaction as the change they report, whether that change
//! was made here (a reply from this server) or arrived from another server
//! (a reply, a reaction, an `Accept`), so one place decides who hears about
//! what:
//!
//! - nobody is told about their own actions;
//! - nobody is told about a post they may not read (a members-only post in
//!   a group they are not, or no longer, a member of);
//! - the same unread news is not repeated (a reaction given, taken back and
//!   given again is one notification).

use chrono::{DateTime, Utc};
use hearth_domain::MembershipState;
use hearth_domain::notification::NotificationKind;
use hearth_domain::post::{Reaction, Visibility};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::entity::notifications;
use crate::groups::{self, Member};
use crate::posts::Post;
use crate::{DbError, remote};

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
async fn notify(
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

/// Whether local account `user_id` may read `post` (it is public, or they
/// are a member of its group).
pub async fn can_read(
    db: &impl ConnectionTrait,
    user_id: i64,
    post: &Post,
) -> Result<bool, DbError> {
    if post.visibility == Visibility::Public {
        return Ok(true);
    }
    let joined = match post.group_id {
        Some(group_id) => groups::find_membership(db, group_id, Member::Local(user_id))
            .await?
            .is_some_and(|m| m.state == MembershipState::Joined),
        None => match remote::find_actor(db, &post.group_ap_id).await? {
            Some(group) => remote::find_membership(db, user_id, group.id)
                .await?
                .is_some_and(|m| m.state == MembershipState::Joined),
            None => false,
        },
    };
    // `local` posts are for members on the group's own server only: a
    // member of a group elsewhere never has them.
    Ok(joined && (post.visibility != Visibility::Local || post.group_id.is_some()))
}

/// A post was stored: tell the author of the post it answers, and the local
/// accounts it mentions (`mentioned`), if they may read it.
pub async fn post_stored(
    db: &impl ConnectionTrait,
    post: &Post,
    mentioned: &[i64],
) -> Result<(), DbError> {
    if post.is_deleted() {
        return Ok(());
    }
    let mut told = Vec::new();
    if let Some(parent_id) = post.parent_id
        && let Some(parent) = crate::posts::find_by_id(db, parent_id).await?
        && let Some(author) = parent.author_user_id
        && parent.author_ap_id != post.author_ap_id
        && can_read(db, author, post).await?
    {
        notify(
            db,
            author,
            NotificationKind::Reply,
            Some(&post.author_ap_id),
            Some(post.id),
            Some(&post.group_ap_id),
            "",
        )
        .await?;
        told.push(author);
    }
    for &user in mentioned {
        if told.contains(&user) || post.author_user_id == Some(user) {
            continue;
        }
        if can_read(db, user, post).await? {
            notify(
                db,
                user,
                NotificationKind::Mention,
                Some(&post.author_ap_id),
                Some(post.id),
                Some(&post.group_ap_id),
                "",
            )
            .await?;
            told.push(user);
        }
    }
    Ok(())
}

/// `actor` gave `post` a reaction: tell its author, if it was written here.
pub async fn reacted(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
    reaction: Reaction,
) -> Result<(), DbError> {
    if let Some(author) = post.author_user_id
        && post.author_ap_id != actor_ap_id
        && !post.is_deleted()
    {
        notify(
            db,
            author,
            NotificationKind::Reaction,
            Some(actor_ap_id),
            Some(post.id),
            Some(&post.group_ap_id),
            reaction.as_str(),
        )
        .await?;
    }
    Ok(())
}

/// A group decided on `user_id`'s request to join.
pub async fn join_decided(
    db: &impl ConnectionTrait,
    user_id: i64,
    group_ap_id: &str,
    approved: bool,
) -> Result<(), DbError> {
    let kind = if approved {
        NotificationKind::JoinApproved
    } else {
        NotificationKind::JoinDeclined
    };
    notify(db, user_id, kind, None, None, Some(group_ap_id), "").await
}

/// A moderator (`actor`) removed `post`: tell its author, if written here
/// and not by themselves.
pub async fn post_removed(
    db: &impl ConnectionTrait,
    post: &Post,
    actor_ap_id: &str,
    reason: &str,
) -> Result<(), DbError> {
    if let Some(author) = post.author_user_id
        && post.author_ap_id != actor_ap_id
    {
        notify(
            db,
            author,
            NotificationKind::PostRemoved,
            Some(actor_ap_id),
            Some(post.id),
            Some(&post.group_ap_id),
            reason,
        )
        .await?;
    }
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

//! What moderators removed, kept aside so a removal can be undone.
//!
//! A removal turns the post into a tombstone at once ([`remove`]): every
//! read path sees a deleted post, and the words live only here, read by
//! the moderators' own pages. [`restore`] puts them back; [`forget`]
//! erases them for good (the author deleted the post), as does
//! [`forget_older_than`] once they have been kept long enough.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::DbError;
use crate::entity::{posts, removed_words};
use crate::posts::Post;

/// A removed post's words, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub post_id: i64,
    pub title: String,
    pub source: String,
    pub content_html: String,
    pub content_warning: Option<String>,
    pub link: Option<String>,
    /// The moderator's reason.
    pub reason: String,
    /// The moderator's actor id.
    pub removed_by: String,
    pub removed_at: DateTime<Utc>,
}

impl From<removed_words::Model> for Removed {
    fn from(r: removed_words::Model) -> Self {
        Removed {
            post_id: r.post_id,
            title: r.title,
            source: r.source,
            content_html: r.content_html,
            content_warning: r.content_warning,
            link: r.link,
            reason: r.reason,
            removed_by: r.removed_by,
            removed_at: r.removed_at,
        }
    }
}

/// Remove `post`: keep its words aside, then leave a tombstone as
/// [`crate::posts::mark_deleted`] does. Removing it again keeps the first
/// words and reason.
pub async fn remove(
    db: &impl ConnectionTrait,
    post: &Post,
    by: &str,
    reason: &str,
) -> Result<Post, DbError> {
    if !post.is_deleted() && find(db, post.id).await?.is_none() {
        removed_words::ActiveModel {
            post_id: Set(post.id),
            title: Set(post.title.clone()),
            source: Set(post.source.clone()),
            content_html: Set(post.content_html.clone()),
            content_warning: Set(post.content_warning.clone()),
            link: Set(post.link.clone()),
            reason: Set(reason.to_owned()),
            removed_by: Set(by.to_owned()),
            removed_at: Set(Utc::now()),
        }
        .insert(db)
        .await?;
    }
    crate::posts::mark_deleted(db, post.id).await
}

/// The kept words of the removed post `post_id`, if any.
pub async fn find(db: &impl ConnectionTrait, post_id: i64) -> Result<Option<Removed>, DbError> {
    Ok(removed_words::Entity::find_by_id(post_id)
        .one(db)
        .await?
        .map(Removed::from))
}

/// Put a removed post's words back: it is read, listed and answered
/// again. `None` when nothing was kept (deleted by its author, or kept
/// too long).
pub async fn restore(db: &impl ConnectionTrait, post_id: i64) -> Result<Option<Post>, DbError> {
    let Some(kept) = removed_words::Entity::find_by_id(post_id).one(db).await? else {
        return Ok(None);
    };
    let mut row: posts::ActiveModel = posts::Entity::find_by_id(post_id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?
        .into();
    row.title = Set(kept.title.clone());
    row.source = Set(kept.source.clone());
    row.content_html = Set(kept.content_html.clone());
    row.content_warning = Set(kept.content_warning.clone());
    row.link = Set(kept.link.clone());
    row.deleted_at = Set(None);
    let post = Post::try_from(row.update(db).await?)?;
    removed_words::Entity::delete_by_id(post_id)
        .exec(db)
        .await?;
    Ok(Some(post))
}

/// Erase a removed post's kept words for good. Whether there were any.
pub async fn forget(db: &impl ConnectionTrait, post_id: i64) -> Result<bool, DbError> {
    Ok(removed_words::Entity::delete_by_id(post_id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Erase the words kept since before `cutoff`. How many.
pub async fn forget_older_than(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbError> {
    Ok(removed_words::Entity::delete_many()
        .filter(removed_words::Column::RemovedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

/// The removed posts of the group `group_ap_id` whose words are still
/// kept, most recently removed first, at most `limit`.
pub async fn in_group(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    limit: u64,
) -> Result<Vec<(Post, Removed)>, DbError> {
    let in_group = Query::select()
        .column(posts::Column::Id)
        .from(posts::Entity)
        .and_where(posts::Column::GroupApId.eq(group_ap_id))
        .to_owned();
    let kept = removed_words::Entity::find()
        .filter(removed_words::Column::PostId.in_subquery(in_group))
        .order_by_desc(removed_words::Column::RemovedAt)
        .limit(limit)
        .all(db)
        .await?;
    with_posts(db, kept).await
}

/// For the author's export: the removed posts of `author_ap_id` whose
/// words are still kept, oldest first (a member has few of them).
pub async fn by_author(
    db: &impl ConnectionTrait,
    author_ap_id: &str,
) -> Result<Vec<(Post, Removed)>, DbError> {
    let by_author = Query::select()
        .column(posts::Column::Id)
        .from(posts::Entity)
        .and_where(posts::Column::AuthorApId.eq(author_ap_id))
        .to_owned();
    let kept = removed_words::Entity::find()
        .filter(removed_words::Column::PostId.in_subquery(by_author))
        .order_by_asc(removed_words::Column::PostId)
        .all(db)
        .await?;
    with_posts(db, kept).await
}

/// Each kept row with its post, in the rows' order.
async fn with_posts(
    db: &impl ConnectionTrait,
    kept: Vec<removed_words::Model>,
) -> Result<Vec<(Post, Removed)>, DbError> {
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let rows = posts::Entity::find()
        .filter(posts::Column::Id.is_in(kept.iter().map(|k| k.post_id)))
        .all(db)
        .await?;
    let mut by_id = std::collections::HashMap::new();
    for row in rows {
        by_id.insert(row.id, Post::try_from(row)?);
    }
    Ok(kept
        .into_iter()
        .filter_map(|k| by_id.remove(&k.post_id).map(|p| (p, Removed::from(k))))
        .collect())
}

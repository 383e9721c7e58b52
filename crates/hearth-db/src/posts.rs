//! Posts and reactions: store what members write (here or received), read
//! timelines and threads, and count support reactions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hearth_domain::post::{Reaction, SupportKind, Visibility};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::DbError;
use crate::entity::{posts, reactions};

/// A thread opens a conversation (it has a title); a reply answers a
/// thread or another reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    Thread,
    Reply,
}

impl PostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Thread => "thread",
            PostKind::Reply => "reply",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub id: i64,
    pub ap_id: String,
    pub group_ap_id: String,
    pub group_id: Option<i64>,
    pub author_ap_id: String,
    pub author_user_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub in_reply_to_ap_id: Option<String>,
    pub kind: PostKind,
    pub title: String,
    pub source: String,
    pub content_html: String,
    pub content_warning: Option<String>,
    pub support_kind: Option<SupportKind>,
    pub visibility: Visibility,
    pub url: Option<String>,
    /// The one link a thread may carry.
    pub link: Option<String>,
    pub local: bool,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Closed to new replies by its group's moderators (threads).
    pub locked_at: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
}

impl Post {
    /// The thread this post belongs to (itself for a thread).
    pub fn thread_id(&self) -> i64 {
        self.root_id.unwrap_or(self.id)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

impl TryFrom<posts::Model> for Post {
    type Error = DbError;

    fn try_from(r: posts::Model) -> Result<Self, DbError> {
        let corrupt = |detail: String| DbError::Corrupt {
            table: "posts",
            detail,
        };
        let kind = match r.kind.as_str() {
            "thread" => PostKind::Thread,
            "reply" => PostKind::Reply,
            other => return Err(corrupt(format!("post {}: kind '{other}'", r.id))),
        };
        Ok(Post {
            kind,
            support_kind: r
                .support_kind
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| corrupt(format!("post {}: support_kind: {e}", r.id)))?,
            visibility: r
                .visibility
                .parse()
                .map_err(|e| corrupt(format!("post {}: visibility: {e}", r.id)))?,
            id: r.id,
            ap_id: r.ap_id,
            group_ap_id: r.group_ap_id,
            group_id: r.group_id,
            author_ap_id: r.author_ap_id,
            author_user_id: r.author_user_id,
            parent_id: r.parent_id,
            root_id: r.root_id,
            in_reply_to_ap_id: r.in_reply_to_ap_id,
            title: r.title,
            source: r.source,
            content_html: r.content_html,
            content_warning: r.content_warning,
            url: r.url,
            link: r.link,
            local: r.local,
            published_at: r.published_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            locked_at: r.locked_at,
            last_activity_at: r.last_activity_at,
        })
    }
}

/// A post to store. Content is already sanitised HTML.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub ap_id: String,
    pub group_ap_id: String,
    pub group_id: Option<i64>,
    pub author_ap_id: String,
    pub author_user_id: Option<i64>,
    /// The post replied to, when it is known here.
    pub parent: Option<Post>,
    pub in_reply_to_ap_id: Option<String>,
    pub kind: PostKind,
    pub title: String,
    pub source: String,
    pub content_html: String,
    pub content_warning: Option<String>,
    pub support_kind: Option<SupportKind>,
    pub visibility: Visibility,
    pub url: Option<String>,
    pub link: Option<String>,
    pub local: bool,
    pub published_at: DateTime<Utc>,
}

/// Store a post. A post whose id is already stored is a `Conflict` on
/// `ap_id` (a duplicate delivery): nothing is written.
pub async fn insert(db: &impl ConnectionTrait, new: NewPost) -> Result<Post, DbError> {
    let now = Utc::now();
    let (parent_id, root_id) = match &new.parent {
        Some(p) => (Some(p.id), Some(p.thread_id())),
        None => (None, None),
    };
    let row = posts::ActiveModel {
        ap_id: Set(new.ap_id),
        group_ap_id: Set(new.group_ap_id),
        group_id: Set(new.group_id),
        author_ap_id: Set(new.author_ap_id),
        author_user_id: Set(new.author_user_id),
        parent_id: Set(parent_id),
        root_id: Set(root_id),
        in_reply_to_ap_id: Set(new.in_reply_to_ap_id),
        kind: Set(new.kind.as_str().to_owned()),
        title: Set(new.title),
        source: Set(new.source),
        content_html: Set(new.content_html),
        content_warning: Set(new.content_warning),
        support_kind: Set(new.support_kind.map(|k| k.as_str().to_owned())),
        visibility: Set(new.visibility.as_str().to_owned()),
        url: Set(new.url),
        link: Set(new.link),
        local: Set(new.local),
        published_at: Set(new.published_at),
        updated_at: Set(None),
        deleted_at: Set(None),
        locked_at: Set(None),
        last_activity_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "ap_id"))?;
    if let Some(root) = root_id {
        posts::Entity::update_many()
            .col_expr(posts::Column::LastActivityAt, Expr::value(now))
            .filter(posts::Column::Id.eq(root))
            .exec(db)
            .await?;
    }
    Post::try_from(row)
}

pub async fn find_by_ap_id(
    db: &impl ConnectionTrait,
    ap_id: &str,
) -> Result<Option<Post>, DbError> {
    posts::Entity::find()
        .filter(posts::Column::ApId.eq(ap_id))
        .one(db)
        .await?
        .map(Post::try_from)
        .transpose()
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Post>, DbError> {
    posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Post::try_from)
        .transpose()
}

/// What an edit may change.
#[derive(Debug, Clone)]
pub struct PostEdit {
    pub title: String,
    pub source: String,
    pub content_html: String,
    pub content_warning: Option<String>,
    pub support_kind: Option<SupportKind>,
    pub link: Option<String>,
    pub updated_at: DateTime<Utc>,
}

pub async fn update(db: &impl ConnectionTrait, id: i64, edit: PostEdit) -> Result<Post, DbError> {
    let mut row: posts::ActiveModel = posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?
        .into();
    row.title = Set(edit.title);
    row.source = Set(edit.source);
    row.content_html = Set(edit.content_html);
    row.content_warning = Set(edit.content_warning);
    row.support_kind = Set(edit.support_kind.map(|k| k.as_str().to_owned()));
    row.link = Set(edit.link);
    row.updated_at = Set(Some(edit.updated_at));
    Post::try_from(row.update(db).await?)
}

/// Delete a post: its words are erased at once; a tombstone (id, thread
/// position, time) stays so replies keep their place and fetches get 410.
pub async fn mark_deleted(db: &impl ConnectionTrait, id: i64) -> Result<Post, DbError> {
    let mut row: posts::ActiveModel = posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?
        .into();
    row.title = Set(String::new());
    row.source = Set(String::new());
    row.content_html = Set(String::new());
    row.content_warning = Set(None);
    row.link = Set(None);
    row.deleted_at = Set(Some(Utc::now()));
    reactions::Entity::delete_many()
        .filter(reactions::Column::PostId.eq(id))
        .exec(db)
        .await?;
    Post::try_from(row.update(db).await?)
}

/// Lock (`true`) or unlock a thread.
pub async fn set_locked(db: &impl ConnectionTrait, id: i64, locked: bool) -> Result<Post, DbError> {
    let mut row: posts::ActiveModel = posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?
        .into();
    row.locked_at = Set(locked.then(Utc::now));
    Post::try_from(row.update(db).await?)
}

/// Timeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest threads first.
    Newest,
    /// Threads with the latest reply first.
    Active,
}

/// One page of a group's threads, newest (or most recently active) first.
/// `visible` lists the visibilities the reader may see. `after` is the last
/// row of the previous page: (its sort time in microseconds, its id).
pub async fn threads(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    visible: &[Visibility],
    support_kind: Option<SupportKind>,
    order: Order,
    after: Option<(i64, i64)>,
    limit: u64,
) -> Result<Vec<Post>, DbError> {
    let time_col = match order {
        Order::Newest => posts::Column::PublishedAt,
        Order::Active => posts::Column::LastActivityAt,
    };
    let mut query = posts::Entity::find()
        .filter(posts::Column::GroupApId.eq(group_ap_id))
        .filter(posts::Column::Kind.eq(PostKind::Thread.as_str()))
        .filter(posts::Column::DeletedAt.is_null())
        .filter(posts::Column::Visibility.is_in(visible.iter().map(|v| v.as_str())))
        .order_by_desc(time_col)
        .order_by_desc(posts::Column::Id);
    if let Some(kind) = support_kind {
        query = query.filter(posts::Column::SupportKind.eq(kind.as_str()));
    }
    if let Some((micros, id)) = after {
        let at = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
        query = query.filter(
            Condition::any().add(time_col.lt(at)).add(
                Condition::all()
                    .add(time_col.eq(at))
                    .add(posts::Column::Id.lt(id)),
            ),
        );
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// A thread and all its replies, in the order they were written.
pub async fn thread(db: &impl ConnectionTrait, root_id: i64) -> Result<Vec<Post>, DbError> {
    posts::Entity::find()
        .filter(
            Condition::any()
                .add(posts::Column::Id.eq(root_id))
                .add(posts::Column::RootId.eq(root_id)),
        )
        .order_by_asc(posts::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// One page of an author's posts, newest first.
pub async fn by_author(
    db: &impl ConnectionTrait,
    author_ap_id: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Post>, DbError> {
    let mut query = posts::Entity::find()
        .filter(posts::Column::AuthorApId.eq(author_ap_id))
        .filter(posts::Column::DeletedAt.is_null())
        .order_by_desc(posts::Column::Id);
    if let Some(before) = before {
        query = query.filter(posts::Column::Id.lt(before));
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// Record a reaction. `false` when this actor already gave it.
pub async fn add_reaction(
    db: &impl ConnectionTrait,
    post_id: i64,
    reaction: Reaction,
    actor_ap_id: &str,
    user_id: Option<i64>,
    ap_id: &str,
) -> Result<bool, DbError> {
    let existing = reactions::Entity::find()
        .filter(reactions::Column::PostId.eq(post_id))
        .filter(reactions::Column::ActorApId.eq(actor_ap_id))
        .filter(reactions::Column::Reaction.eq(reaction.as_str()))
        .one(db)
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    let result = reactions::ActiveModel {
        post_id: Set(post_id),
        reaction: Set(reaction.as_str().to_owned()),
        actor_ap_id: Set(actor_ap_id.to_owned()),
        user_id: Set(user_id),
        ap_id: Set(ap_id.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) => match DbError::unique_as(e, "reaction") {
            DbError::Conflict { .. } => Ok(false),
            other => Err(other),
        },
    }
}

/// Remove an actor's reaction; returns the id of the activity that gave it.
pub async fn remove_reaction(
    db: &impl ConnectionTrait,
    post_id: i64,
    reaction: Reaction,
    actor_ap_id: &str,
) -> Result<Option<String>, DbError> {
    let Some(row) = reactions::Entity::find()
        .filter(reactions::Column::PostId.eq(post_id))
        .filter(reactions::Column::ActorApId.eq(actor_ap_id))
        .filter(reactions::Column::Reaction.eq(reaction.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    reactions::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(Some(row.ap_id))
}

/// A reaction recorded by the activity `ap_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRecord {
    pub post_id: i64,
    pub reaction: Reaction,
    pub actor_ap_id: String,
}

/// The reaction the activity `ap_id` gave, if it is recorded.
pub async fn find_reaction_by_ap_id(
    db: &impl ConnectionTrait,
    ap_id: &str,
) -> Result<Option<ReactionRecord>, DbError> {
    let Some(row) = reactions::Entity::find()
        .filter(reactions::Column::ApId.eq(ap_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let reaction = row.reaction.parse().map_err(|e| DbError::Corrupt {
        table: "reactions",
        detail: format!("reaction {}: {e}", row.id),
    })?;
    Ok(Some(ReactionRecord {
        post_id: row.post_id,
        reaction,
        actor_ap_id: row.actor_ap_id,
    }))
}

/// Remove the reaction given by the activity `ap_id` (an incoming Undo).
pub async fn remove_reaction_by_ap_id(
    db: &impl ConnectionTrait,
    ap_id: &str,
    actor_ap_id: &str,
) -> Result<Option<i64>, DbError> {
    let Some(row) = reactions::Entity::find()
        .filter(reactions::Column::ApId.eq(ap_id))
        .filter(reactions::Column::ActorApId.eq(actor_ap_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    reactions::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(Some(row.post_id))
}

/// How a post was received: each reaction's count, in the fixed order,
/// and the ones the viewer gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReactionSummary {
    pub counts: Vec<(Reaction, u64)>,
    pub mine: Vec<Reaction>,
}

/// Reaction counts per post, and which reactions `viewer` gave.
pub async fn reaction_summary(
    db: &impl ConnectionTrait,
    post_ids: &[i64],
    viewer: Option<&str>,
) -> Result<HashMap<i64, ReactionSummary>, DbError> {
    let mut out: HashMap<i64, ReactionSummary> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(out);
    }
    let rows = reactions::Entity::find()
        .filter(reactions::Column::PostId.is_in(post_ids.iter().copied()))
        .all(db)
        .await?;
    for row in rows {
        let Ok(reaction) = row.reaction.parse::<Reaction>() else {
            continue;
        };
        let entry = out.entry(row.post_id).or_default();
        match entry.counts.iter_mut().find(|(r, _)| *r == reaction) {
            Some((_, n)) => *n += 1,
            None => entry.counts.push((reaction, 1)),
        }
        if viewer == Some(row.actor_ap_id.as_str()) {
            entry.mine.push(reaction);
        }
    }
    for summary in out.values_mut() {
        summary
            .counts
            .sort_by_key(|(r, _)| Reaction::ALL.iter().position(|x| x == r));
    }
    Ok(out)
}

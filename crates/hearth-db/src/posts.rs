//! Posts and reactions: store what members write (here or received), read
//! timelines and threads, and count support reactions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hearth_domain::post::{Reaction, SpeakingAs, SupportKind, Visibility};
use hearth_domain::sources::{Label, LabelKind, Source};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::DbError;
use crate::entity::{posts, reactions, remote_actors, users};

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
    /// Waiting for a moderator (pre-moderation): the id of the activity
    /// that announces the post once approved. Nobody but its author and
    /// the group's moderators reads a held post.
    pub held_activity: Option<String>,
    /// Pinned to the top of its group by a moderator (threads).
    pub pinned_at: Option<DateTime<Utc>>,
    /// Hidden because its author's server is suspended (shown again when
    /// the suspension is lifted).
    pub hidden_at: Option<DateTime<Utc>>,
    /// Written on a server the admin limits: read only by members of its
    /// group, whatever its own addressing.
    pub limited_at: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    /// Written as a peer or as a professional (shown as one only while
    /// its author's verification holds).
    pub speaking_as: SpeakingAs,
    /// A professional's post: the disclaimer it carries.
    pub disclaimer: Option<String>,
    /// What backs the post, in its author's order (general-knowledge and
    /// resource threads).
    pub sources: Vec<Source>,
    /// The label its group's moderators put on it, if any (boxed: most
    /// posts have none).
    pub label: Option<Box<PostLabel>>,
    /// When the label was last set or removed.
    pub label_at: Option<DateTime<Utc>>,
}

/// A post's current label: what it says, who set it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostLabel {
    pub label: Label,
    /// The actor id of the moderator (or group) who set it.
    pub by: String,
    pub at: DateTime<Utc>,
}

impl Post {
    /// The thread this post belongs to (itself for a thread).
    pub fn thread_id(&self) -> i64 {
        self.root_id.unwrap_or(self.id)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Waiting for a moderator's approval.
    pub fn is_held(&self) -> bool {
        self.held_activity.is_some()
    }

    /// Who may read it: its visibility, narrowed to members of its group
    /// when its author's server is limited.
    pub fn effective_visibility(&self) -> Visibility {
        match (self.visibility, self.limited_at) {
            (Visibility::Public, Some(_)) => Visibility::Members,
            (visibility, _) => visibility,
        }
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
        let sources = match r.sources.as_deref() {
            None | Some("") => Vec::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|e| corrupt(format!("post {}: sources: {e}", r.id)))?,
        };
        let label = match (&r.label_kind, r.label_at) {
            (Some(kind), Some(at)) => Some(Box::new(PostLabel {
                label: Label {
                    kind: kind
                        .parse::<LabelKind>()
                        .map_err(|e| corrupt(format!("post {}: label_kind: {e}", r.id)))?,
                    note: r.label_note.clone().unwrap_or_default(),
                    link: r.label_link.clone(),
                },
                by: r.label_by.clone().unwrap_or_default(),
                at,
            })),
            _ => None,
        };
        Ok(Post {
            sources,
            label,
            label_at: r.label_at,
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
            held_activity: r.held_activity,
            pinned_at: r.pinned_at,
            hidden_at: r.hidden_at,
            limited_at: r.limited_at,
            last_activity_at: r.last_activity_at,
            // A word this version does not know reads as a peer's: no
            // professional's standing is shown that was not chosen.
            speaking_as: r.speaking_as.parse().unwrap_or_default(),
            disclaimer: r.disclaimer,
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
    /// Hold it for the moderators: the activity that announces it later.
    pub held_activity: Option<String>,
    /// Its author's server is limited.
    pub limited: bool,
    pub speaking_as: SpeakingAs,
    pub disclaimer: Option<String>,
    pub sources: Vec<Source>,
}

/// The sources as stored: JSON, or NULL for none.
fn sources_column(sources: &[Source]) -> Result<Option<String>, DbError> {
    if sources.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(sources)
        .map(Some)
        .map_err(|e| DbError::Corrupt {
            table: "posts",
            detail: format!("sources: {e}"),
        })
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
        held_activity: Set(new.held_activity),
        limited_at: Set(new.limited.then(Utc::now)),
        sources: Set(sources_column(&new.sources)?),
        speaking_as: Set(new.speaking_as.as_str().to_owned()),
        disclaimer: Set(new.disclaimer),
        last_activity_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "ap_id"))?;
    // A held reply does not move its thread up until it is approved.
    if let Some(root) = root_id.filter(|_| row.held_activity.is_none()) {
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
    pub sources: Vec<Source>,
    pub updated_at: DateTime<Utc>,
    pub speaking_as: SpeakingAs,
    pub disclaimer: Option<String>,
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
    row.sources = Set(sources_column(&edit.sources)?);
    row.speaking_as = Set(edit.speaking_as.as_str().to_owned());
    row.disclaimer = Set(edit.disclaimer);
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
    row.sources = Set(None);
    row.label_kind = Set(None);
    row.label_note = Set(None);
    row.label_link = Set(None);
    row.label_by = Set(None);
    row.disclaimer = Set(None);
    row.deleted_at = Set(Some(Utc::now()));
    reactions::Entity::delete_many()
        .filter(reactions::Column::PostId.eq(id))
        .exec(db)
        .await?;
    Post::try_from(row.update(db).await?)
}

/// Publish a held post (a moderator approved it): it is read, listed and
/// moves its thread up from now on. The activity it waited with.
pub async fn release(db: &impl ConnectionTrait, id: i64) -> Result<(Post, String), DbError> {
    let row = posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?;
    let Some(activity) = row.held_activity.clone() else {
        return Err(DbError::NotFound { what: "held post" });
    };
    let root = row.root_id;
    let mut row: posts::ActiveModel = row.into();
    row.held_activity = Set(None);
    let post = Post::try_from(row.update(db).await?)?;
    if let Some(root) = root {
        posts::Entity::update_many()
            .col_expr(posts::Column::LastActivityAt, Expr::value(Utc::now()))
            .filter(posts::Column::Id.eq(root))
            .exec(db)
            .await?;
    }
    Ok((post, activity))
}

/// The posts of a group waiting for its moderators, oldest first.
pub async fn held_in(db: &impl ConnectionTrait, group_ap_id: &str) -> Result<Vec<Post>, DbError> {
    posts::Entity::find()
        .filter(posts::Column::GroupApId.eq(group_ap_id))
        .filter(posts::Column::HeldActivity.is_not_null())
        .filter(posts::Column::DeletedAt.is_null())
        .filter(posts::Column::HiddenAt.is_null())
        .order_by_asc(posts::Column::Id)
        .limit(crate::MAX_PAGE)
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// Pin (`true`) or unpin a thread.
pub async fn set_pinned(db: &impl ConnectionTrait, id: i64, pinned: bool) -> Result<Post, DbError> {
    let mut row: posts::ActiveModel = posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?
        .into();
    row.pinned_at = Set(pinned.then(Utc::now));
    Post::try_from(row.update(db).await?)
}

/// A group's pinned threads (not deleted, not held), most recently pinned
/// first.
pub async fn pinned_in(db: &impl ConnectionTrait, group_ap_id: &str) -> Result<Vec<Post>, DbError> {
    posts::Entity::find()
        .filter(posts::Column::GroupApId.eq(group_ap_id))
        .filter(posts::Column::PinnedAt.is_not_null())
        .filter(Expr::cust(LIVE_THREADS))
        .order_by_desc(posts::Column::PinnedAt)
        .limit(crate::MAX_PAGE)
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// Lock (`true`) or unlock a thread.
/// Put a label on a post (or, with `None`, take it off), by `by`, at
/// `at`. A label older than the post's last label change is not applied
/// (`None` back): a late delivery does not undo a newer word.
pub async fn set_label(
    db: &impl ConnectionTrait,
    id: i64,
    label: Option<&Label>,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Option<Post>, DbError> {
    let current = posts::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "post" })?;
    if current.label_at.is_some_and(|last| last > at) {
        return Ok(None);
    }
    let mut row: posts::ActiveModel = current.into();
    row.label_kind = Set(label.map(|l| l.kind.as_str().to_owned()));
    row.label_note = Set(label.map(|l| l.note.clone()));
    row.label_link = Set(label.and_then(|l| l.link.clone()));
    row.label_by = Set(label.map(|_| by.to_owned()));
    row.label_at = Set(Some(at));
    Post::try_from(row.update(db).await?).map(Some)
}

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

/// The rows a timeline lists: threads not deleted. Written with literal
/// values rather than bound parameters so that both SQLite and PostgreSQL
/// can prove a query implies the `WHERE` of the partial timeline indexes
/// (migration `m20261129_000012_timeline_indexes`); a planner cannot match a
/// `?` against `'thread'`.
const LIVE_THREADS: &str = r#""posts"."kind" = 'thread' AND "posts"."deleted_at" IS NULL AND "posts"."held_activity" IS NULL AND "posts"."hidden_at" IS NULL"#;

/// The condition a reader's visibilities put on a timeline. Every
/// visibility: none (so the index on group and time is walked without a
/// filter); public only: the literal the public-threads indexes are made
/// for; otherwise a literal `IN` list, checked row by row.
fn visibility_filter(visible: &[Visibility]) -> Option<Expr> {
    if Visibility::ALL.iter().all(|v| visible.contains(v)) {
        return None;
    }
    // The values are the enum's own constants (lower-case words), never
    // user input, so inlining them cannot inject anything.
    let quoted: Vec<String> = visible
        .iter()
        .map(|v| format!("'{}'", v.as_str()))
        .collect();
    // A reader who may not read members-only posts may not read those of
    // a limited server either (they are members-only for everyone).
    let limited = if visible.contains(&Visibility::Members) {
        ""
    } else {
        r#" AND "posts"."limited_at" IS NULL"#
    };
    Some(Expr::cust(match quoted.as_slice() {
        [] => "1 = 0".to_owned(),
        [one] => format!(r#""posts"."visibility" = {one}{limited}"#),
        many => format!(r#""posts"."visibility" IN ({}){limited}"#, many.join(", ")),
    }))
}

/// Which threads a page lists: of one support kind, with sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadFilter {
    pub support_kind: Option<SupportKind>,
    /// Only threads that list sources.
    pub with_sources: bool,
}

/// One page of a group's threads, newest (or most recently active) first.
/// `visible` lists the visibilities the reader may see. `after` is the last
/// row of the previous page: (its sort time in microseconds, its id).
///
/// Keyset pagination: the cursor becomes a row-value bound, `(time, id) <
/// (t, i)`, which both databases turn into a range on the timeline index,
/// so a deep page costs what the first one does (an `OR` of the two halves
/// would not be used as a range, and SQLite would walk every newer row).
pub async fn threads(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    visible: &[Visibility],
    filter: ThreadFilter,
    order: Order,
    after: Option<(i64, i64)>,
    limit: u64,
) -> Result<Vec<Post>, DbError> {
    threads_query(group_ap_id, visible, filter, order, after, limit)
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// The query [`threads`] runs (apart, so a test can ask each database
/// how it plans it).
fn threads_query(
    group_ap_id: &str,
    visible: &[Visibility],
    filter: ThreadFilter,
    order: Order,
    after: Option<(i64, i64)>,
    limit: u64,
) -> sea_orm::Select<posts::Entity> {
    let time_col = match order {
        Order::Newest => posts::Column::PublishedAt,
        Order::Active => posts::Column::LastActivityAt,
    };
    let mut query = posts::Entity::find()
        .filter(posts::Column::GroupApId.eq(group_ap_id))
        .filter(Expr::cust(LIVE_THREADS))
        .order_by_desc(time_col)
        .order_by_desc(posts::Column::Id);
    if let Some(visibility) = visibility_filter(visible) {
        query = query.filter(visibility);
    }
    if let Some(kind) = filter.support_kind {
        query = query.filter(posts::Column::SupportKind.eq(kind.as_str()));
    }
    if filter.with_sources {
        query = query.filter(posts::Column::Sources.is_not_null());
    }
    if let Some((micros, id)) = after {
        let at = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
        query = query.filter(sea_orm::sea_query::ExprTrait::lt(
            Expr::tuple([
                Expr::col((posts::Entity, time_col)),
                Expr::col((posts::Entity, posts::Column::Id)),
            ]),
            Expr::tuple([Expr::val(at), Expr::val(id)]),
        ));
    }
    query.limit(Ord::min(limit, crate::MAX_PAGE))
}

/// How many replies each thread has, deleted ones included (they keep
/// their place in the thread, as tombstones), for threads with any. One
/// grouped query on the `(root_id, id)` index, whatever the page size.
pub async fn reply_counts(
    db: &impl ConnectionTrait,
    thread_ids: &[i64],
) -> Result<HashMap<i64, u64>, DbError> {
    let mut out = HashMap::new();
    for chunk in thread_ids.chunks(IN_LIST_MAX) {
        let rows: Vec<(i64, i64)> = posts::Entity::find()
            .select_only()
            .column(posts::Column::RootId)
            .column_as(Expr::cust("COUNT(*)"), "replies")
            .filter(posts::Column::RootId.is_in(chunk.iter().copied()))
            .filter(posts::Column::HeldActivity.is_null())
            .filter(posts::Column::HiddenAt.is_null())
            .group_by(posts::Column::RootId)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))),
        );
    }
    Ok(out)
}

/// The most ids one `IN (...)` list carries. Pages hold at most
/// [`crate::MAX_PAGE`] posts, so they always take one query; the bound
/// keeps far larger lists under SQLite's limit on bound parameters.
const IN_LIST_MAX: usize = 4096;

/// A thread and all its replies, in the order they were written. Posts
/// waiting for a moderator are left out, except those the account `own`
/// wrote (their author reads them where they will appear).
pub async fn thread(
    db: &impl ConnectionTrait,
    root_id: i64,
    own: Option<i64>,
) -> Result<Vec<Post>, DbError> {
    let mut shown = Condition::any().add(posts::Column::HeldActivity.is_null());
    if let Some(account) = own {
        shown = shown.add(posts::Column::AuthorUserId.eq(account));
    }
    posts::Entity::find()
        .filter(
            Condition::any()
                .add(posts::Column::Id.eq(root_id))
                .add(posts::Column::RootId.eq(root_id)),
        )
        .filter(shown)
        .filter(posts::Column::HiddenAt.is_null())
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
        .filter(posts::Column::HeldActivity.is_null())
        .filter(posts::Column::HiddenAt.is_null())
        .order_by_desc(posts::Column::Id);
    if let Some(before) = before {
        query = query.filter(posts::Column::Id.lt(before));
    }
    query
        .limit(Ord::min(limit, crate::MAX_PAGE))
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

/// Which posts [`reaction_summary`] counts for.
#[derive(Debug, Clone, Copy)]
pub enum ReactionScope<'a> {
    /// These posts (a page).
    Posts(&'a [i64]),
    /// A thread and all its replies, however many: the ids are looked up
    /// in the same query, so a thread of any size costs one query.
    Thread(i64),
}

/// Reaction counts per post, and which reactions `viewer` gave: one query
/// grouped by post and reaction, answered from the `(post_id, actor_ap_id,
/// reaction)` index without reading the rows.
pub async fn reaction_summary(
    db: &impl ConnectionTrait,
    scope: ReactionScope<'_>,
    viewer: Option<&str>,
) -> Result<HashMap<i64, ReactionSummary>, DbError> {
    let mut out: HashMap<i64, ReactionSummary> = HashMap::new();
    let selections: Vec<Condition> = match scope {
        ReactionScope::Posts(ids) => ids
            .chunks(IN_LIST_MAX)
            .map(|chunk| {
                Condition::all().add(reactions::Column::PostId.is_in(chunk.iter().copied()))
            })
            .collect(),
        ReactionScope::Thread(root) => vec![
            Condition::all().add(
                reactions::Column::PostId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(posts::Column::Id)
                        .from(posts::Entity)
                        .cond_where(
                            Condition::any()
                                .add(posts::Column::Id.eq(root))
                                .add(posts::Column::RootId.eq(root)),
                        )
                        .to_owned(),
                ),
            ),
        ],
    };
    // Whether the viewer gave it: a count of their rows in the group (0 or
    // 1, one reaction of a kind per actor).
    let mine = match viewer {
        Some(actor) => Expr::case(reactions::Column::ActorApId.eq(actor), 1i64)
            .finally(0i64)
            .into(),
        None => Expr::val(0i64),
    };
    for selection in selections {
        let rows: Vec<(i64, String, i64, i64)> = reactions::Entity::find()
            .select_only()
            .column(reactions::Column::PostId)
            .column(reactions::Column::Reaction)
            .column_as(Expr::cust("COUNT(*)"), "given")
            .column_as(Expr::from(Func::max(mine.clone())), "mine")
            .filter(selection)
            .group_by(reactions::Column::PostId)
            .group_by(reactions::Column::Reaction)
            .into_tuple()
            .all(db)
            .await?;
        for (post_id, reaction, given, mine) in rows {
            let Ok(reaction) = reaction.parse::<Reaction>() else {
                continue;
            };
            let entry = out.entry(post_id).or_default();
            entry
                .counts
                .push((reaction, u64::try_from(given).unwrap_or(0)));
            if mine > 0 {
                entry.mine.push(reaction);
            }
        }
    }
    let rank = |r: &Reaction| Reaction::ALL.iter().position(|x| x == r);
    for summary in out.values_mut() {
        summary.counts.sort_by_key(|(r, _)| rank(r));
        summary.mine.sort_by_key(rank);
    }
    Ok(out)
}

/// A local author as pages name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuthor {
    pub username: String,
    pub display_name: String,
    /// Their professional role, while its verification here holds.
    pub professional_role: Option<String>,
}

/// The local accounts among `usernames` (any letter case), in one query
/// that reads only the two columns a page shows.
pub async fn local_authors(
    db: &impl ConnectionTrait,
    usernames: &[String],
) -> Result<Vec<LocalAuthor>, DbError> {
    let mut out = Vec::new();
    for chunk in usernames.chunks(IN_LIST_MAX) {
        let rows: Vec<(String, String, Option<String>)> = users::Entity::find()
            .select_only()
            .column(users::Column::Username)
            .column(users::Column::DisplayName)
            .column(users::Column::ProfessionalRole)
            .filter(
                users::Column::UsernameCanonical
                    .is_in(chunk.iter().map(|u| u.to_ascii_lowercase())),
            )
            .into_tuple()
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .map(|(username, display_name, professional_role)| LocalAuthor {
                    username,
                    display_name,
                    professional_role,
                }),
        );
    }
    Ok(out)
}

/// An author on another server as pages name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAuthor {
    pub ap_id: String,
    pub preferred_username: String,
    pub authority: String,
    pub name: String,
    /// Their professional role, as its verifying server confirmed it.
    pub professional: Option<hearth_domain::professional::Professional>,
}

/// The known actors among `ap_ids`, in one query that leaves out their
/// keys and the rest of what federation needs.
pub async fn remote_authors(
    db: &impl ConnectionTrait,
    ap_ids: &[String],
) -> Result<Vec<RemoteAuthor>, DbError> {
    let mut out = Vec::new();
    for chunk in ap_ids.chunks(IN_LIST_MAX) {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        )> = remote_actors::Entity::find()
            .select_only()
            .column(remote_actors::Column::ApId)
            .column(remote_actors::Column::PreferredUsername)
            .column(remote_actors::Column::Authority)
            .column(remote_actors::Column::Name)
            .column(remote_actors::Column::ProfessionalRole)
            .column(remote_actors::Column::ProfessionalVerifiedBy)
            .filter(remote_actors::Column::ApId.is_in(chunk.iter().map(String::as_str)))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(
            |(ap_id, preferred_username, authority, name, role, by)| RemoteAuthor {
                ap_id,
                preferred_username,
                authority,
                name,
                professional: crate::remote::professional_of(role.as_deref(), by.as_deref()),
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sea_orm::{DatabaseConnection, QueryTrait as _};

    use super::*;

    const GROUP: &str = "https://localhost:8080/g/circle";

    /// A migrated SQLite file with a few hundred threads (half of them
    /// with replies) in two groups. Not analysed, as hearth never runs
    /// ANALYZE (the plan test checks both).
    async fn database() -> (tempfile::TempDir, DatabaseConnection) {
        let (dir, db) = crate::test_database().await;
        let start = Utc::now() - chrono::Duration::days(30);
        for i in 0..400i64 {
            let group = if i % 4 == 0 {
                "https://elsewhere.example/c/other".to_owned()
            } else {
                GROUP.to_owned()
            };
            let new = |parent: Option<Post>, n: i64| NewPost {
                ap_id: format!("https://localhost:8080/p/{i}-{n}"),
                group_ap_id: group.clone(),
                group_id: None,
                author_ap_id: "https://remote.example/u/someone".into(),
                author_user_id: None,
                in_reply_to_ap_id: None,
                kind: if parent.is_some() {
                    PostKind::Reply
                } else {
                    PostKind::Thread
                },
                parent,
                title: format!("thread {i}"),
                source: String::new(),
                content_html: String::new(),
                content_warning: None,
                support_kind: Some(SupportKind::ALL[(i % 5) as usize]),
                visibility: Visibility::ALL[(i % 3) as usize],
                url: None,
                link: None,
                local: false,
                published_at: start + chrono::Duration::minutes(i * 7 + n),
                held_activity: None,
                limited: false,
                sources: Vec::new(),
                speaking_as: SpeakingAs::Peer,
                disclaimer: None,
            };
            let thread = insert(&db, new(None, 0)).await.unwrap();
            for n in 0..(i % 2) * 3 {
                insert(&db, new(Some(thread.clone()), n + 1)).await.unwrap();
            }
        }
        (dir, db)
    }

    async fn plan(db: &DatabaseConnection, query: sea_orm::Select<posts::Entity>) -> String {
        let stmt = query.build(sea_orm::DbBackend::Sqlite);
        let explain = sea_orm::Statement {
            sql: format!("EXPLAIN QUERY PLAN {}", stmt.sql),
            ..stmt
        };
        db.query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Each reader's timeline, first page or any page after, in either
    /// order, is a walk down one timeline index: no scan of the group's
    /// posts, no sort.
    #[tokio::test]
    async fn every_timeline_page_walks_a_timeline_index() {
        let (_dir, db) = database().await;
        let member = Visibility::ALL.to_vec();
        let elsewhere = vec![Visibility::Members, Visibility::Public];
        let outsider = vec![Visibility::Public];
        let cursor = Some((
            (Utc::now() - chrono::Duration::days(29)).timestamp_micros(),
            50,
        ));
        // Without statistics (how hearth runs), then with them (after an
        // operator's ANALYZE).
        for analysed in [false, true] {
            if analysed {
                db.execute_unprepared("ANALYZE").await.unwrap();
            }
            for (visible, index) in [
                (&member, "idx_posts_threads_"),
                (&elsewhere, "idx_posts_threads_"),
                (&outsider, "idx_posts_public_threads_"),
            ] {
                for (order, name) in [(Order::Newest, "newest"), (Order::Active, "active")] {
                    for after in [None, cursor] {
                        for kind in [None, Some(SupportKind::Resource)] {
                            let filter = ThreadFilter {
                                support_kind: kind,
                                with_sources: false,
                            };
                            let q = threads_query(GROUP, visible, filter, order, after, 50);
                            let plan = plan(&db, q).await;
                            assert!(
                                plan.contains(&format!("{index}{name}")),
                                "{visible:?} {name} {after:?} analysed {analysed}: {plan}"
                            );
                            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
                            if after.is_some() {
                                // The cursor bounds the walk (a range), it is
                                // not a filter on every newer row.
                                assert!(plan.contains("<"), "{plan}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Keyset paging gives every live thread the reader may see, once,
    /// in order, however the pages fall.
    #[tokio::test]
    async fn paging_by_cursor_lists_every_thread_once() {
        let (_dir, db) = database().await;
        for visible in [Visibility::ALL.to_vec(), vec![Visibility::Public]] {
            // What the reader may see, worked out without the database.
            let mut all: Vec<Post> = posts::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|m| Post::try_from(m).unwrap())
                .filter(|p| {
                    p.group_ap_id == GROUP
                        && p.kind == PostKind::Thread
                        && !p.is_deleted()
                        && visible.contains(&p.visibility)
                })
                .collect();
            all.sort_by_key(|p| std::cmp::Reverse((p.published_at, p.id)));
            assert!(all.len() > 50);
            let mut paged = Vec::new();
            let mut after = None;
            loop {
                let page = threads(
                    &db,
                    GROUP,
                    &visible,
                    ThreadFilter::default(),
                    Order::Newest,
                    after,
                    7,
                )
                .await
                .unwrap();
                let Some(last) = page.last() else { break };
                after = Some((last.published_at.timestamp_micros(), last.id));
                paged.extend(page.iter().map(|p| p.id));
            }
            assert_eq!(paged, all.iter().map(|p| p.id).collect::<Vec<_>>());
        }
    }

    /// Counts grouped in the database match counting the rows.
    #[tokio::test]
    async fn grouped_counts_match_the_rows() {
        let (_dir, db) = database().await;
        let page = threads(
            &db,
            GROUP,
            Visibility::ALL,
            ThreadFilter::default(),
            Order::Newest,
            None,
            50,
        )
        .await
        .unwrap();
        let ids: Vec<i64> = page.iter().map(|p| p.id).collect();
        let counts = reply_counts(&db, &ids).await.unwrap();
        for p in &page {
            let replies = thread(&db, p.id, None).await.unwrap().len() as u64 - 1;
            assert_eq!(counts.get(&p.id).copied().unwrap_or(0), replies);
        }
        let (a, b) = (ids[0], ids[1]);
        let me = "https://localhost:8080/u/ann";
        let other = "https://remote.example/u/bob";
        for (post, reaction, actor) in [
            (a, Reaction::Helpful, me),
            (a, Reaction::Hug, other),
            (a, Reaction::Helpful, other),
            (b, Reaction::MeToo, other),
        ] {
            let like = format!("{actor}#{post}-{}", reaction.as_str());
            assert!(
                add_reaction(&db, post, reaction, actor, None, &like)
                    .await
                    .unwrap()
            );
        }
        let by_page = reaction_summary(&db, ReactionScope::Posts(&ids), Some(me))
            .await
            .unwrap();
        assert_eq!(
            by_page[&a],
            ReactionSummary {
                counts: vec![(Reaction::Hug, 1), (Reaction::Helpful, 2)],
                mine: vec![Reaction::Helpful],
            }
        );
        assert_eq!(by_page[&b].mine, vec![]);
        let by_thread = reaction_summary(&db, ReactionScope::Thread(a), Some(me))
            .await
            .unwrap();
        assert_eq!(by_thread.get(&a), by_page.get(&a));
        assert!(!by_thread.contains_key(&b));
        let anonymous = reaction_summary(&db, ReactionScope::Posts(&ids), None)
            .await
            .unwrap();
        assert!(anonymous[&a].mine.is_empty());
        assert_eq!(anonymous[&a].counts, by_page[&a].counts);
    }
}

/// For a member's export: one page of the posts `author_ap_id` wrote that
/// are not deleted (held ones included: their words are the author's),
/// oldest first; `after` is the last id seen.
pub async fn for_export(
    db: &impl ConnectionTrait,
    author_ap_id: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Post>, DbError> {
    let mut query = posts::Entity::find()
        .filter(posts::Column::AuthorApId.eq(author_ap_id))
        .filter(posts::Column::DeletedAt.is_null())
        .filter(posts::Column::HiddenAt.is_null())
        .order_by_asc(posts::Column::Id);
    if let Some(after) = after {
        query = query.filter(posts::Column::Id.gt(after));
    }
    query
        .limit(Ord::min(limit, crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// A reaction a member gave, naming the post only by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenReaction {
    pub id: i64,
    pub ap_id: String,
    pub reaction: Reaction,
    pub post_ap_id: String,
    pub created_at: DateTime<Utc>,
}

/// For a member's export: one page of the reactions account `user_id`
/// gave, oldest first; `after` is the last id seen.
pub async fn reactions_given(
    db: &impl ConnectionTrait,
    user_id: i64,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<GivenReaction>, DbError> {
    let mut query = reactions::Entity::find()
        .filter(reactions::Column::UserId.eq(user_id))
        .order_by_asc(reactions::Column::Id);
    if let Some(after) = after {
        query = query.filter(reactions::Column::Id.gt(after));
    }
    let rows = query
        .limit(Ord::min(limit, crate::MAX_PAGE))
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.post_id).collect();
    let posts: HashMap<i64, String> = posts::Entity::find()
        .filter(posts::Column::Id.is_in(ids))
        .select_only()
        .column(posts::Column::Id)
        .column(posts::Column::ApId)
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    rows.into_iter()
        .filter_map(|r| {
            let post_ap_id = posts.get(&r.post_id)?.clone();
            Some(
                r.reaction
                    .parse()
                    .map_err(|e| DbError::Corrupt {
                        table: "reactions",
                        detail: format!("reaction {}: {e}", r.id),
                    })
                    .map(|reaction| GivenReaction {
                        id: r.id,
                        ap_id: r.ap_id,
                        reaction,
                        post_ap_id,
                        created_at: r.created_at,
                    }),
            )
        })
        .collect()
}

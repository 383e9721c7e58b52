//! Erasure with receipts: which server holds what of a member here, and,
//! once the member deletes it, how each of those servers answered the
//! `Delete`.
//!
//! ```text
//! delivery acknowledged (2xx) ─▶ record_delivered ─┐
//! signed fetch served ─────────▶ record_fetch ─────┴▶ copies (owner, object, server, inbox)
//!
//! delete a post / an account ─▶ create (erasures) + Delete activities
//!                               (outbound_activities.erasure_id) to every server in copies
//!                                        │ deliveries keep trying while the server exists
//!                                        ▼
//!                               receipts: per server sent / acknowledged / failing / gone
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement, Value,
};

pub use hearth_domain::erasure::{ErasureKind, ReceiptState};

use crate::DbError;
use hearth_domain::AccountStatus;

use crate::entity::{
    access_tokens, copies, deliveries, erasures, group_members, group_moderators, notifications,
    outbound_activities, posts, reactions, remote_memberships, sign_ins, users,
};
use crate::queue::DeliveryState;

/// Record, for the deliveries `delivery_ids` just acknowledged, that their
/// servers now hold what they carried of its owner (only activities with
/// an owner; not the erasures themselves). One statement per 500.
pub async fn record_delivered(
    db: &impl ConnectionTrait,
    delivery_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let backend = db.get_database_backend();
    for ids in delivery_ids.chunks(500) {
        let listed: Vec<String> = (0..ids.len())
            .map(|i| crate::placeholder(backend, i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO copies (owner_ap_id, object_ap_id, authority, inbox, first_at) \
             SELECT DISTINCT a.owner_ap_id, COALESCE(a.about_ap_id, a.ap_id), d.authority, \
             d.inbox, {now} FROM deliveries d \
             JOIN outbound_activities a ON a.id = d.activity_id \
             WHERE d.id IN ({listed}) AND a.owner_ap_id IS NOT NULL AND a.erasure_id IS NULL \
             ON CONFLICT DO NOTHING",
            now = crate::placeholder(backend, 1),
            listed = listed.join(", "),
        );
        let mut values = vec![Value::from(now)];
        values.extend(ids.iter().map(|&id| Value::from(id)));
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// Record that the server `authority` (answering at `inbox`) fetched
/// `object` of `owner`, signed: it holds a copy too.
pub async fn record_fetch(
    db: &impl ConnectionTrait,
    owner: &str,
    object: &str,
    authority: &str,
    inbox: &str,
) -> Result<(), DbError> {
    copies::Entity::insert(copies::ActiveModel {
        owner_ap_id: Set(owner.to_owned()),
        object_ap_id: Set(object.to_owned()),
        authority: Set(authority.to_ascii_lowercase()),
        inbox: Set(inbox.to_owned()),
        first_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        copies::Column::OwnerApId,
        copies::Column::ObjectApId,
        copies::Column::Authority,
    ])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A server holding something, and an inbox there to tell it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Holder {
    pub authority: String,
    pub inbox: String,
}

/// The servers holding anything of `owner` (`object` = `None`) or the one
/// object `object`, one inbox each, by authority.
pub async fn holders(
    db: &impl ConnectionTrait,
    owner: &str,
    object: Option<&str>,
) -> Result<Vec<Holder>, DbError> {
    let mut find = copies::Entity::find().filter(copies::Column::OwnerApId.eq(owner));
    if let Some(object) = object {
        find = find.filter(copies::Column::ObjectApId.eq(object));
    }
    let rows = find.order_by_asc(copies::Column::Id).all(db).await?;
    let mut by_server: BTreeMap<String, String> = BTreeMap::new();
    for row in rows {
        by_server.entry(row.authority).or_insert(row.inbox);
    }
    Ok(by_server
        .into_iter()
        .map(|(authority, inbox)| Holder { authority, inbox })
        .collect())
}

/// Forget what `owner` (or only its `object`) left behind: once the
/// erasure's deliveries are queued, they carry the list.
pub async fn forget_copies(
    db: &impl ConnectionTrait,
    owner: &str,
    object: Option<&str>,
) -> Result<u64, DbError> {
    let mut delete = copies::Entity::delete_many().filter(copies::Column::OwnerApId.eq(owner));
    if let Some(object) = object {
        delete = delete.filter(copies::Column::ObjectApId.eq(object));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// One erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub id: i64,
    pub kind: ErasureKind,
    /// The actor or post erased.
    pub subject_ap_id: String,
    /// The member it was, here.
    pub user_id: Option<i64>,
    /// Who asked: `member`, or `admin NAME`, or `operator`.
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<erasures::Model> for Erasure {
    type Error = DbError;

    fn try_from(r: erasures::Model) -> Result<Self, DbError> {
        Ok(Erasure {
            kind: r.kind.parse().map_err(|e| DbError::Corrupt {
                table: "erasures",
                detail: format!("erasure {}: kind: {e}", r.id),
            })?,
            id: r.id,
            subject_ap_id: r.subject_ap_id,
            user_id: r.user_id,
            requested_by: r.requested_by,
            created_at: r.created_at,
        })
    }
}

/// A new erasure of `subject`, with the digest of its receipt's secret
/// link if it has one.
pub async fn create(
    db: &impl ConnectionTrait,
    kind: ErasureKind,
    subject: &str,
    user_id: Option<i64>,
    requested_by: &str,
    receipt_digest: Option<&str>,
) -> Result<Erasure, DbError> {
    erasures::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        subject_ap_id: Set(subject.to_owned()),
        user_id: Set(user_id),
        requested_by: Set(requested_by.to_owned()),
        receipt_hash: Set(receipt_digest.map(str::to_owned)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Erasure>, DbError> {
    erasures::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Erasure::try_from)
        .transpose()
}

/// The erasure whose receipt link has the secret of digest `digest`.
pub async fn find_by_receipt(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<Erasure>, DbError> {
    let found = erasures::Entity::find()
        .filter(erasures::Column::ReceiptHash.eq(digest))
        .one(db)
        .await?;
    // The index look-up matched; compare again in constant time.
    found
        .filter(|r| {
            r.receipt_hash
                .as_deref()
                .is_some_and(|h| hearth_domain::token::digests_match(h, digest))
        })
        .map(Erasure::try_from)
        .transpose()
}

/// The newest erasure of `subject` (a post or an actor), if any.
pub async fn latest_of(
    db: &impl ConnectionTrait,
    subject: &str,
) -> Result<Option<Erasure>, DbError> {
    erasures::Entity::find()
        .filter(erasures::Column::SubjectApId.eq(subject))
        .order_by_desc(erasures::Column::Id)
        .one(db)
        .await?
        .map(Erasure::try_from)
        .transpose()
}

/// Erasures, newest first: of one kind or all, `limit` at most, older
/// than the id `before` if given.
pub async fn list(
    db: &impl ConnectionTrait,
    kind: Option<ErasureKind>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Erasure>, DbError> {
    let mut find = erasures::Entity::find();
    if let Some(kind) = kind {
        find = find.filter(erasures::Column::Kind.eq(kind.as_str()));
    }
    if let Some(before) = before {
        find = find.filter(erasures::Column::Id.lt(before));
    }
    find.order_by_desc(erasures::Column::Id)
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Erasure::try_from)
        .collect()
}

/// One server's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReceipt {
    /// `host[:port]`.
    pub authority: String,
    pub state: ReceiptState,
    /// Attempts made so far, over all its deliveries.
    pub attempts: i32,
    /// What went wrong last, while failing or when gone.
    pub last_error: Option<String>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
}

/// Each server's receipt for the erasure `erasure_id`, by authority.
pub async fn receipts(
    db: &impl ConnectionTrait,
    erasure_id: i64,
) -> Result<Vec<ServerReceipt>, DbError> {
    let carried = Query::select()
        .column(outbound_activities::Column::Id)
        .from(outbound_activities::Entity)
        .and_where(outbound_activities::Column::ErasureId.eq(erasure_id))
        .to_owned();
    let rows = deliveries::Entity::find()
        .filter(deliveries::Column::ActivityId.in_subquery(carried))
        .order_by_asc(deliveries::Column::Id)
        .all(db)
        .await?;
    let mut by_server: BTreeMap<String, Vec<deliveries::Model>> = BTreeMap::new();
    for row in rows {
        by_server
            .entry(row.authority.clone())
            .or_default()
            .push(row);
    }
    Ok(by_server
        .into_iter()
        .map(|(authority, rows)| receipt_of(authority, &rows))
        .collect())
}

/// What a server's deliveries of one erasure come to.
fn receipt_of(authority: String, rows: &[deliveries::Model]) -> ServerReceipt {
    let is = |row: &deliveries::Model, state: DeliveryState| row.state == state.as_str();
    let attempts = rows.iter().map(|r| r.attempts).sum();
    let updated_at = rows
        .iter()
        .map(|r| r.updated_at)
        .max()
        .unwrap_or_else(Utc::now);
    let failed = rows.iter().find(|r| is(r, DeliveryState::Failed));
    let (state, last_error) = if let Some(failed) = failed {
        (ReceiptState::Gone, failed.last_error.clone())
    } else if rows.iter().all(|r| is(r, DeliveryState::Delivered)) {
        (ReceiptState::Acknowledged, None)
    } else if let Some(held) = rows.iter().find(|r| {
        !is(r, DeliveryState::Delivered)
            && r.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with(crate::queue::HELD))
    }) {
        (ReceiptState::Held, held.last_error.clone())
    } else if let Some(trouble) = rows
        .iter()
        .filter(|r| !is(r, DeliveryState::Delivered))
        .find(|r| r.attempts > 0 && r.last_error.is_some())
    {
        (ReceiptState::Failing, trouble.last_error.clone())
    } else {
        (ReceiptState::Sent, None)
    };
    ServerReceipt {
        authority,
        state,
        attempts,
        last_error,
        updated_at,
    }
}

/// Whether any delivery of the erasures of `subject` still waits or is on
/// its way (an erased account's actor is still served, keyless of
/// anything personal, until then: receivers that refetch it to check the
/// `Delete`'s signature must find its key).
pub async fn under_way(db: &impl ConnectionTrait, subject: &str) -> Result<bool, DbError> {
    let ids = Query::select()
        .column(erasures::Column::Id)
        .from(erasures::Entity)
        .and_where(erasures::Column::SubjectApId.eq(subject))
        .to_owned();
    let carried = Query::select()
        .column(outbound_activities::Column::Id)
        .from(outbound_activities::Entity)
        .and_where(outbound_activities::Column::ErasureId.in_subquery(ids))
        .to_owned();
    Ok(deliveries::Entity::find()
        .filter(deliveries::Column::ActivityId.in_subquery(carried))
        .filter(deliveries::Column::State.is_in([
            DeliveryState::Pending.as_str(),
            DeliveryState::Sending.as_str(),
        ]))
        .one(db)
        .await?
        .is_some())
}

/// Every post `author_ap_id` wrote that is not deleted yet: published,
/// waiting for a moderator or hidden alike, oldest first.
pub async fn posts_of(
    db: &impl ConnectionTrait,
    author_ap_id: &str,
) -> Result<Vec<crate::posts::Post>, DbError> {
    posts::Entity::find()
        .filter(posts::Column::AuthorApId.eq(author_ap_id))
        .filter(posts::Column::DeletedAt.is_null())
        .order_by_asc(posts::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(crate::posts::Post::try_from)
        .collect()
}

/// The ids of the reactions `actor_ap_id` gave (the `Like`s to undo).
pub async fn reactions_of(
    db: &impl ConnectionTrait,
    actor_ap_id: &str,
) -> Result<Vec<String>, DbError> {
    Ok(reactions::Entity::find()
        .filter(reactions::Column::ActorApId.eq(actor_ap_id))
        .order_by_asc(reactions::Column::Id)
        .select_only()
        .column(reactions::Column::ApId)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// Erase what is left of the account `user_id` once its posts are gone:
/// its reactions, memberships here and elsewhere, moderator roles,
/// notifications, sessions and sign-ins; its profile, e-mail and password.
/// The row stays, holding only its name (never given to anyone else) and
/// its keys (the `Delete`s still to go out are signed with them), with
/// status `deleted`.
pub async fn erase_account_rows(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbError> {
    reactions::Entity::delete_many()
        .filter(reactions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    group_moderators::Entity::delete_many()
        .filter(group_moderators::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    group_members::Entity::delete_many()
        .filter(group_members::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    remote_memberships::Entity::delete_many()
        .filter(remote_memberships::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    notifications::Entity::delete_many()
        .filter(notifications::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    access_tokens::Entity::delete_many()
        .filter(access_tokens::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    sign_ins::Entity::delete_many()
        .filter(sign_ins::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let updated = users::Entity::update_many()
        .col_expr(
            users::Column::Status,
            AccountStatus::Deleted.as_str().into(),
        )
        .col_expr(users::Column::DisplayName, "".into())
        .col_expr(users::Column::Bio, "".into())
        .col_expr(users::Column::Email, Option::<String>::None.into())
        // No argon2 hash: nothing verifies against it.
        .col_expr(users::Column::PasswordHash, "!".into())
        .col_expr(users::Column::RegistrationReason, "".into())
        .col_expr(users::Column::UpdatedAt, Utc::now().into())
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DbError::NotFound { what: "account" });
    }
    Ok(())
}

/// For a group's retention: its threads (not pinned, not deleted) with no
/// new reply since `before`, oldest first, `limit` at most.
pub async fn stale_threads(
    db: &impl ConnectionTrait,
    group_id: i64,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<crate::posts::Post>, DbError> {
    posts::Entity::find()
        .filter(posts::Column::GroupId.eq(group_id))
        .filter(posts::Column::ParentId.is_null())
        .filter(posts::Column::DeletedAt.is_null())
        .filter(posts::Column::PinnedAt.is_null())
        .filter(posts::Column::LastActivityAt.lt(before))
        .order_by_asc(posts::Column::LastActivityAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(crate::posts::Post::try_from)
        .collect()
}

/// Every post of the thread `root_id` not deleted yet (the thread first,
/// waiting ones included).
pub async fn thread_posts(
    db: &impl ConnectionTrait,
    root_id: i64,
) -> Result<Vec<crate::posts::Post>, DbError> {
    posts::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(posts::Column::Id.eq(root_id))
                .add(posts::Column::RootId.eq(root_id)),
        )
        .filter(posts::Column::DeletedAt.is_null())
        .order_by_asc(posts::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(crate::posts::Post::try_from)
        .collect()
}

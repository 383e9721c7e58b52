//! The audit log: each privileged read of a member's private data (by an
//! admin or moderator, or the operator at the server's shell), with who,
//! what, about whom, when and why.

use chrono::{DateTime, Utc};
use hearth_domain::audit::AuditAction;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::DbError;
use crate::entity::audit_log;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    /// The account that read; `None` for the operator at the shell.
    pub actor_user_id: Option<i64>,
    /// Its username then (or the operator's label).
    pub actor_name: String,
    pub action: AuditAction,
    pub subject_user_id: i64,
    /// The member's username then.
    pub subject_name: String,
    /// Why, as given (may be empty).
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<audit_log::Model> for AuditEntry {
    type Error = DbError;

    fn try_from(r: audit_log::Model) -> Result<Self, DbError> {
        Ok(AuditEntry {
            action: r.action.parse().map_err(|e| DbError::Corrupt {
                table: "audit_log",
                detail: format!("entry {}: action: {e}", r.id),
            })?,
            id: r.id,
            actor_user_id: r.actor_user_id,
            actor_name: r.actor_name,
            subject_user_id: r.subject_user_id,
            subject_name: r.subject_name,
            reason: r.reason,
            created_at: r.created_at,
        })
    }
}

/// A line to add.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub actor_user_id: Option<i64>,
    pub actor_name: &'a str,
    pub action: AuditAction,
    pub subject_user_id: i64,
    pub subject_name: &'a str,
    pub reason: &'a str,
}

pub async fn record(db: &impl ConnectionTrait, entry: NewEntry<'_>) -> Result<AuditEntry, DbError> {
    audit_log::ActiveModel {
        actor_user_id: Set(entry.actor_user_id),
        actor_name: Set(entry.actor_name.to_owned()),
        action: Set(entry.action.as_str().to_owned()),
        subject_user_id: Set(entry.subject_user_id),
        subject_name: Set(entry.subject_name.to_owned()),
        reason: Set(entry.reason.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

/// Record that `actor_user_id` (`actor_name`) read `action` of each of
/// `subjects` (id, username), leaving out those already recorded for the
/// same reader and action since `since`: a page opened again and again
/// within that time is one line per member, not one per view. How many
/// lines were written.
pub async fn record_reads(
    db: &impl ConnectionTrait,
    actor_user_id: i64,
    actor_name: &str,
    action: AuditAction,
    subjects: &[(i64, String)],
    since: DateTime<Utc>,
) -> Result<u64, DbError> {
    if subjects.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = subjects.iter().map(|(id, _)| *id).collect();
    let seen: std::collections::HashSet<i64> = audit_log::Entity::find()
        .filter(audit_log::Column::ActorUserId.eq(actor_user_id))
        .filter(audit_log::Column::Action.eq(action.as_str()))
        .filter(audit_log::Column::CreatedAt.gt(since))
        .filter(audit_log::Column::SubjectUserId.is_in(ids))
        .select_only()
        .column(audit_log::Column::SubjectUserId)
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    let mut written = std::collections::HashSet::new();
    let rows: Vec<audit_log::ActiveModel> = subjects
        .iter()
        .filter(|(id, _)| !seen.contains(id) && written.insert(*id))
        .map(|(id, name)| audit_log::ActiveModel {
            actor_user_id: Set(Some(actor_user_id)),
            actor_name: Set(actor_name.to_owned()),
            action: Set(action.as_str().to_owned()),
            subject_user_id: Set(*id),
            subject_name: Set(name.clone()),
            reason: Set(String::new()),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    let count = rows.len() as u64;
    for chunk in rows.chunks(200) {
        audit_log::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(count)
}

/// One page of the log, newest first; `before` is the last id seen. With
/// `subject`, only the lines about that account.
pub async fn page(
    db: &impl ConnectionTrait,
    subject: Option<i64>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<AuditEntry>, DbError> {
    let mut query = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let Some(subject) = subject {
        query = query.filter(audit_log::Column::SubjectUserId.eq(subject));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::Column::Id.lt(before));
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(AuditEntry::try_from)
        .collect()
}

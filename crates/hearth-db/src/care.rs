//! Care in a group, stored: its peer mentors, the replies its moderators
//! marked helpful, its guidance (rules and support guide), and the first
//! posts of its newest members. Groups here and elsewhere are both kept by
//! their ActivityPub id. Who may change any of it is decided in
//! `hearth-app`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use hearth_domain::MembershipState;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::DbError;
use crate::entity::{group_guidance, group_members, group_mentors, groups, helpful_marks, posts};
use crate::groups::Membership;
use crate::posts::Post;

// ---- peer mentors -----------------------------------------------------

/// Name (`true`) or un-name `person` a mentor of the group; whether
/// anything changed.
pub async fn set_mentor(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    person_ap_id: &str,
    mentor: bool,
) -> Result<bool, DbError> {
    if mentor {
        let before = is_mentor(db, group_ap_id, person_ap_id).await?;
        if before {
            return Ok(false);
        }
        group_mentors::Entity::insert(group_mentors::ActiveModel {
            group_ap_id: Set(group_ap_id.to_owned()),
            person_ap_id: Set(person_ap_id.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                group_mentors::Column::GroupApId,
                group_mentors::Column::PersonApId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        Ok(true)
    } else {
        let gone = group_mentors::Entity::delete_many()
            .filter(group_mentors::Column::GroupApId.eq(group_ap_id))
            .filter(group_mentors::Column::PersonApId.eq(person_ap_id))
            .exec(db)
            .await?;
        Ok(gone.rows_affected > 0)
    }
}

/// Whether `person` is a mentor of the group.
pub async fn is_mentor(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    person_ap_id: &str,
) -> Result<bool, DbError> {
    Ok(group_mentors::Entity::find()
        .filter(group_mentors::Column::GroupApId.eq(group_ap_id))
        .filter(group_mentors::Column::PersonApId.eq(person_ap_id))
        .count(db)
        .await?
        > 0)
}

/// The group's mentors, longest-serving first.
pub async fn mentors_of(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
) -> Result<Vec<String>, DbError> {
    Ok(group_mentors::Entity::find()
        .select_only()
        .column(group_mentors::Column::PersonApId)
        .filter(group_mentors::Column::GroupApId.eq(group_ap_id))
        .order_by_asc(group_mentors::Column::Id)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// Which of `pairs` (group id, person id) are a mentor of that group: one
/// query for a whole page of posts.
pub async fn mentors_among(
    db: &impl ConnectionTrait,
    pairs: &[(&str, &str)],
) -> Result<HashSet<(String, String)>, DbError> {
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let mut people: Vec<&str> = pairs.iter().map(|(_, p)| *p).collect();
    people.sort_unstable();
    people.dedup();
    let mut out = HashSet::new();
    for chunk in people.chunks(1000) {
        let rows: Vec<(String, String)> = group_mentors::Entity::find()
            .select_only()
            .column(group_mentors::Column::GroupApId)
            .column(group_mentors::Column::PersonApId)
            .filter(group_mentors::Column::PersonApId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

// ---- helpful replies ----------------------------------------------------

/// Mark (`true`) or unmark a reply helpful; whether anything changed.
pub async fn set_helpful(
    db: &impl ConnectionTrait,
    post_ap_id: &str,
    group_ap_id: &str,
    by_ap_id: &str,
    helpful: bool,
) -> Result<bool, DbError> {
    if helpful {
        if is_helpful(db, post_ap_id).await? {
            return Ok(false);
        }
        helpful_marks::Entity::insert(helpful_marks::ActiveModel {
            post_ap_id: Set(post_ap_id.to_owned()),
            group_ap_id: Set(group_ap_id.to_owned()),
            marked_by_ap_id: Set(by_ap_id.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(helpful_marks::Column::PostApId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        Ok(true)
    } else {
        let gone = helpful_marks::Entity::delete_many()
            .filter(helpful_marks::Column::PostApId.eq(post_ap_id))
            .exec(db)
            .await?;
        Ok(gone.rows_affected > 0)
    }
}

/// Whether the reply is marked helpful.
pub async fn is_helpful(db: &impl ConnectionTrait, post_ap_id: &str) -> Result<bool, DbError> {
    Ok(helpful_marks::Entity::find()
        .filter(helpful_marks::Column::PostApId.eq(post_ap_id))
        .count(db)
        .await?
        > 0)
}

/// Which of `post_ap_ids` are marked helpful.
pub async fn helpful_among(
    db: &impl ConnectionTrait,
    post_ap_ids: &[&str],
) -> Result<HashSet<String>, DbError> {
    let mut out = HashSet::new();
    for chunk in post_ap_ids.chunks(1000) {
        let rows: Vec<String> = helpful_marks::Entity::find()
            .select_only()
            .column(helpful_marks::Column::PostApId)
            .filter(helpful_marks::Column::PostApId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

// ---- guidance -----------------------------------------------------------

/// A group's rules and support guide: Markdown as written (groups here)
/// and the sanitised HTML shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guidance {
    pub rules_source: String,
    pub rules_html: String,
    pub guide_source: String,
    pub guide_html: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Guidance {
    pub fn is_empty(&self) -> bool {
        self.rules_html.is_empty() && self.guide_html.is_empty()
    }
}

/// The group's guidance, if any was set or received.
pub async fn guidance(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
) -> Result<Option<Guidance>, DbError> {
    Ok(group_guidance::Entity::find()
        .filter(group_guidance::Column::GroupApId.eq(group_ap_id))
        .one(db)
        .await?
        .map(|r| Guidance {
            rules_source: r.rules_source,
            rules_html: r.rules_html,
            guide_source: r.guide_source,
            guide_html: r.guide_html,
            updated_at: Some(r.updated_at),
        }))
}

/// Replace the group's guidance.
pub async fn set_guidance(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    new: &Guidance,
) -> Result<(), DbError> {
    group_guidance::Entity::insert(group_guidance::ActiveModel {
        group_ap_id: Set(group_ap_id.to_owned()),
        rules_source: Set(new.rules_source.clone()),
        rules_html: Set(new.rules_html.clone()),
        guide_source: Set(new.guide_source.clone()),
        guide_html: Set(new.guide_html.clone()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(group_guidance::Column::GroupApId)
            .update_columns([
                group_guidance::Column::RulesSource,
                group_guidance::Column::RulesHtml,
                group_guidance::Column::GuideSource,
                group_guidance::Column::GuideHtml,
                group_guidance::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Keep a group here's rules (as written) on the group too, where the
/// group's other readers (its API shape, its creation form) find them.
pub async fn set_local_rules(
    db: &impl ConnectionTrait,
    group_id: i64,
    rules: &str,
) -> Result<(), DbError> {
    groups::Entity::update_many()
        .col_expr(
            groups::Column::Rules,
            sea_orm::sea_query::Expr::value(rules.to_owned()),
        )
        .filter(groups::Column::Id.eq(group_id))
        .exec(db)
        .await?;
    Ok(())
}

// ---- newcomers ------------------------------------------------------------

/// The memberships of a group here that became joined at or after `since`,
/// newest first, at most `limit`.
pub async fn joined_since(
    db: &impl ConnectionTrait,
    group_id: i64,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Membership>, DbError> {
    group_members::Entity::find()
        .filter(group_members::Column::GroupId.eq(group_id))
        .filter(group_members::Column::State.eq(MembershipState::Joined.as_str()))
        .filter(group_members::Column::UpdatedAt.gte(since))
        .order_by_desc(group_members::Column::UpdatedAt)
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Membership::try_from)
        .collect()
}

/// An author's first `n` posts in a group (not deleted, not waiting for a
/// moderator, not hidden), oldest first.
pub async fn first_posts_by(
    db: &impl ConnectionTrait,
    group_ap_id: &str,
    author_ap_id: &str,
    n: u64,
) -> Result<Vec<Post>, DbError> {
    posts::Entity::find()
        .filter(posts::Column::GroupApId.eq(group_ap_id))
        .filter(posts::Column::AuthorApId.eq(author_ap_id))
        .filter(posts::Column::DeletedAt.is_null())
        .filter(posts::Column::HeldActivity.is_null())
        .filter(posts::Column::HiddenAt.is_null())
        .order_by_asc(posts::Column::Id)
        .limit(n)
        .all(db)
        .await?
        .into_iter()
        .map(Post::try_from)
        .collect()
}

/// Which of the posts `ids` have at least one reply.
pub async fn answered(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashSet<i64>, DbError> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<Option<i64>> = posts::Entity::find()
            .select_only()
            .column(posts::Column::ParentId)
            .filter(posts::Column::ParentId.is_in(chunk.iter().copied()))
            .filter(posts::Column::DeletedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().flatten());
    }
    Ok(out)
}

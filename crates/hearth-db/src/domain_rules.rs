//! The admin's domain rules and the published lists the admin subscribes
//! to, as stored. What they mean is decided in
//! `hearth_domain::federation_policy`.
//!
//! A rule's `source` is `''` for the admin's own and the list's URL for
//! one taken from a subscribed list; the two never touch each other's rows
//! (one rule per domain and source).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use hearth_domain::federation_policy::{DomainRule, ListKind, RuleAction};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::DbError;
use crate::entity::{
    deliveries, domain_rules, domain_subscriptions, group_members, group_mentors,
    outbound_activities, posts, remote_actors, remote_memberships, remote_moderators,
};

/// A stored rule, with who set it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub id: i64,
    pub rule: DomainRule,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<domain_rules::Model> for StoredRule {
    type Error = DbError;

    fn try_from(row: domain_rules::Model) -> Result<Self, DbError> {
        let action = RuleAction::parse(&row.action).map_err(|e| DbError::Corrupt {
            table: "domain_rules",
            detail: format!("rule {}: {e}", row.id),
        })?;
        Ok(StoredRule {
            id: row.id,
            rule: DomainRule {
                domain: row.domain,
                action,
                public_reason: row.public_reason,
                private_reason: row.private_reason,
                expires_at: row.expires_at,
                subscription: (!row.source.is_empty()).then_some(row.source),
            },
            created_by: row.created_by,
            created_at: row.created_at,
        })
    }
}

/// Every rule, by domain.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<StoredRule>, DbError> {
    domain_rules::Entity::find()
        .order_by_asc(domain_rules::Column::Domain)
        .order_by_asc(domain_rules::Column::Source)
        .all(db)
        .await?
        .into_iter()
        .map(StoredRule::try_from)
        .collect()
}

/// Set the rule for `rule.domain` from its source: a rule already there
/// from the same source is replaced.
pub async fn set(
    db: &impl ConnectionTrait,
    rule: &DomainRule,
    created_by: Option<i64>,
) -> Result<(), DbError> {
    domain_rules::Entity::insert(domain_rules::ActiveModel {
        domain: Set(rule.domain.clone()),
        action: Set(rule.action.as_str().to_owned()),
        public_reason: Set(rule.public_reason.clone()),
        private_reason: Set(rule.private_reason.clone()),
        expires_at: Set(rule.expires_at),
        source: Set(rule.subscription.clone().unwrap_or_default()),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([domain_rules::Column::Domain, domain_rules::Column::Source])
            .update_columns([
                domain_rules::Column::Action,
                domain_rules::Column::PublicReason,
                domain_rules::Column::PrivateReason,
                domain_rules::Column::ExpiresAt,
                domain_rules::Column::CreatedBy,
                domain_rules::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Remove the admin's own rule for `domain`; whether there was one.
pub async fn remove_own(db: &impl ConnectionTrait, domain: &str) -> Result<bool, DbError> {
    let done = domain_rules::Entity::delete_many()
        .filter(domain_rules::Column::Domain.eq(domain))
        .filter(domain_rules::Column::Source.eq(""))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Rows written by one statement, well under SQLite's and PostgreSQL's
/// limits on bound parameters (9 per rule).
const CHUNK: usize = 500;

/// What replacing a list's rules changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replaced {
    /// Domains the list names now and did not before.
    pub added: u64,
    /// Domains whose rule from the list changed (action or reason).
    pub changed: u64,
    /// Domains the list no longer names: their rule from it is gone.
    pub lifted: u64,
}

/// Make the rules from `source` (a list's URL, never `''`) exactly
/// `rules`: add the new, update the changed, remove those no longer
/// listed. A domain named twice keeps its first entry. The admin's own
/// rules and other lists' are not touched. Unchanged rows keep their
/// `created_at` (when the list first named the domain). Run it in a
/// transaction: doing it twice with the same `rules` changes nothing.
pub async fn replace_listed(
    db: &impl ConnectionTrait,
    source: &str,
    rules: &[DomainRule],
) -> Result<Replaced, DbError> {
    if source.is_empty() {
        return Err(DbError::Corrupt {
            table: "domain_rules",
            detail: "a list's rules need the list's URL as source".into(),
        });
    }
    let existing = domain_rules::Entity::find()
        .filter(domain_rules::Column::Source.eq(source))
        .all(db)
        .await?;
    let mut wanted: Vec<&DomainRule> = Vec::with_capacity(rules.len());
    let mut seen = HashSet::new();
    for rule in rules {
        if seen.insert(rule.domain.as_str()) {
            wanted.push(rule);
        }
    }
    let stored: HashMap<&str, &domain_rules::Model> =
        existing.iter().map(|r| (r.domain.as_str(), r)).collect();
    let lifted: Vec<i64> = existing
        .iter()
        .filter(|r| !seen.contains(r.domain.as_str()))
        .map(|r| r.id)
        .collect();
    let mut done = Replaced {
        lifted: lifted.len() as u64,
        ..Replaced::default()
    };
    for ids in lifted.chunks(CHUNK) {
        domain_rules::Entity::delete_many()
            .filter(domain_rules::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await?;
    }
    let now = Utc::now();
    let mut writes = Vec::new();
    for rule in wanted {
        match stored.get(rule.domain.as_str()) {
            Some(row)
                if row.action == rule.action.as_str()
                    && row.public_reason == rule.public_reason
                    && row.private_reason == rule.private_reason
                    && row.expires_at == rule.expires_at =>
            {
                continue;
            }
            Some(_) => done.changed += 1,
            None => done.added += 1,
        }
        writes.push(domain_rules::ActiveModel {
            domain: Set(rule.domain.clone()),
            action: Set(rule.action.as_str().to_owned()),
            public_reason: Set(rule.public_reason.clone()),
            private_reason: Set(rule.private_reason.clone()),
            expires_at: Set(rule.expires_at),
            source: Set(source.to_owned()),
            created_by: Set(None),
            created_at: Set(now),
            ..Default::default()
        });
    }
    while !writes.is_empty() {
        let rest = writes.split_off(writes.len().min(CHUNK));
        domain_rules::Entity::insert_many(std::mem::replace(&mut writes, rest))
            .on_conflict(
                OnConflict::columns([domain_rules::Column::Domain, domain_rules::Column::Source])
                    .update_columns([
                        domain_rules::Column::Action,
                        domain_rules::Column::PublicReason,
                        domain_rules::Column::PrivateReason,
                        domain_rules::Column::ExpiresAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(done)
}

/// A published list the admin subscribes to, and how its last fetch went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    /// Where the list is published: the `source` of its rules.
    pub url: String,
    pub kind: ListKind,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// The last attempt to fetch it, whether it worked or not.
    pub last_fetched_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed; empty when it worked.
    pub last_error: String,
    /// Rules taken from it at its last successful fetch.
    pub entries: u64,
}

impl TryFrom<domain_subscriptions::Model> for Subscription {
    type Error = DbError;

    fn try_from(row: domain_subscriptions::Model) -> Result<Self, DbError> {
        let kind = ListKind::parse(&row.kind).map_err(|e| DbError::Corrupt {
            table: "domain_subscriptions",
            detail: format!("subscription {}: {e}", row.id),
        })?;
        Ok(Subscription {
            id: row.id,
            url: row.url,
            kind,
            created_by: row.created_by,
            created_at: row.created_at,
            last_fetched_at: row.last_fetched_at,
            last_error: row.last_error,
            entries: u64::try_from(row.entries).unwrap_or_default(),
        })
    }
}

/// Every subscribed list, by URL.
pub async fn subscriptions(db: &impl ConnectionTrait) -> Result<Vec<Subscription>, DbError> {
    domain_subscriptions::Entity::find()
        .order_by_asc(domain_subscriptions::Column::Url)
        .all(db)
        .await?
        .into_iter()
        .map(Subscription::try_from)
        .collect()
}

/// The subscription to the list at `url`, if there is one.
pub async fn subscription(
    db: &impl ConnectionTrait,
    url: &str,
) -> Result<Option<Subscription>, DbError> {
    domain_subscriptions::Entity::find()
        .filter(domain_subscriptions::Column::Url.eq(url))
        .one(db)
        .await?
        .map(Subscription::try_from)
        .transpose()
}

/// Subscribe to the list at `url`, not fetched yet. `Conflict { field:
/// "url" }` when it is subscribed already.
pub async fn subscribe(
    db: &impl ConnectionTrait,
    url: &str,
    kind: ListKind,
    created_by: Option<i64>,
) -> Result<Subscription, DbError> {
    let row = domain_subscriptions::ActiveModel {
        url: Set(url.to_owned()),
        kind: Set(kind.as_str().to_owned()),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        last_fetched_at: Set(None),
        last_error: Set(String::new()),
        entries: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "url"))?;
    Subscription::try_from(row)
}

/// Forget the list at `url` and remove the rules taken from it; whether
/// there was such a subscription.
pub async fn unsubscribe(db: &impl ConnectionTrait, url: &str) -> Result<bool, DbError> {
    domain_rules::Entity::delete_many()
        .filter(domain_rules::Column::Source.eq(url))
        .exec(db)
        .await?;
    let done = domain_subscriptions::Entity::delete_many()
        .filter(domain_subscriptions::Column::Url.eq(url))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Record an attempt to fetch the list at `url`: `Ok(entries)` when it
/// worked (its rules were replaced), `Err(why)` when it did not (its rules
/// stay as they were).
pub async fn record_fetch(
    db: &impl ConnectionTrait,
    url: &str,
    outcome: Result<u64, &str>,
) -> Result<(), DbError> {
    let mut update = domain_subscriptions::Entity::update_many()
        .col_expr(
            domain_subscriptions::Column::LastFetchedAt,
            Expr::value(Utc::now()),
        )
        .filter(domain_subscriptions::Column::Url.eq(url));
    update = match outcome {
        Ok(entries) => update
            .col_expr(domain_subscriptions::Column::LastError, Expr::value(""))
            .col_expr(
                domain_subscriptions::Column::Entries,
                Expr::value(i64::try_from(entries).unwrap_or(i64::MAX)),
            ),
        Err(why) => update.col_expr(domain_subscriptions::Column::LastError, Expr::value(why)),
    };
    update.exec(db).await?;
    Ok(())
}

/// Every server this one knows of: those of the actors it stores and
/// those it has deliveries waiting for (lower case `host[:port]`).
pub async fn known_authorities(db: &impl ConnectionTrait) -> Result<Vec<String>, DbError> {
    let mut authorities: Vec<String> = remote_actors::Entity::find()
        .select_only()
        .column(remote_actors::Column::Authority)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let waiting: Vec<String> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Authority)
        .distinct()
        .filter(deliveries::Column::State.is_in(["pending", "sending"]))
        .into_tuple()
        .all(db)
        .await?;
    authorities.extend(waiting);
    for a in &mut authorities {
        a.make_ascii_lowercase();
    }
    authorities.sort();
    authorities.dedup();
    Ok(authorities)
}

/// What cutting servers off removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutOff {
    /// Waiting deliveries given up.
    pub deliveries: u64,
    /// Their people's memberships of groups here.
    pub members: u64,
    /// Memberships of people here in their groups.
    pub memberships: u64,
}

/// How the federation policy marks stored posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Hidden from everyone (a suspended server).
    Hidden,
    /// For the members of its group only (a limited server).
    Limited,
}

impl Mark {
    fn column(self) -> posts::Column {
        match self {
            Mark::Hidden => posts::Column::HiddenAt,
            Mark::Limited => posts::Column::LimitedAt,
        }
    }
}

/// Mark what people on the servers at `authorities` wrote (and the posts
/// of groups there), and take the mark off what was marked for a server no
/// longer among them. A limit also marks every reply in a thread it marks,
/// whoever wrote the reply and when: a reply is never read more widely
/// than its thread. `(marked, unmarked)`: how many posts changed each way.
pub async fn mark_content_of(
    db: &impl ConnectionTrait,
    mark: Mark,
    authorities: &[String],
) -> Result<(u64, u64), DbError> {
    let column = mark.column();
    let there: Vec<String> = if authorities.is_empty() {
        Vec::new()
    } else {
        remote_actors::Entity::find()
            .select_only()
            .column(remote_actors::Column::ApId)
            .filter(remote_actors::Column::Authority.is_in(authorities.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?
    };
    let mut marked = 0;
    for chunk in there.chunks(1000) {
        marked += posts::Entity::update_many()
            .col_expr(column, Expr::value(Utc::now()))
            .filter(column.is_null())
            .filter(
                sea_orm::Condition::any()
                    .add(posts::Column::AuthorApId.is_in(chunk.iter().cloned()))
                    .add(posts::Column::GroupApId.is_in(chunk.iter().cloned())),
            )
            .exec(db)
            .await?
            .rows_affected;
    }
    if mark == Mark::Limited {
        let limited_threads = Query::select()
            .column(posts::Column::Id)
            .from(posts::Entity)
            .and_where(column.is_not_null())
            .and_where(posts::Column::Kind.eq("thread"))
            .to_owned();
        marked += posts::Entity::update_many()
            .col_expr(column, Expr::value(Utc::now()))
            .filter(column.is_null())
            .filter(posts::Column::RootId.in_subquery(limited_threads))
            .exec(db)
            .await?
            .rows_affected;
    }
    // Unmarked: marked posts none of whose actors is still among them (nor,
    // for a limit, the actors of their thread).
    let still: std::collections::HashSet<&str> = there.iter().map(String::as_str).collect();
    let was_marked: Vec<(i64, String, String, Option<i64>)> = posts::Entity::find()
        .select_only()
        .column(posts::Column::Id)
        .column(posts::Column::AuthorApId)
        .column(posts::Column::GroupApId)
        .column(posts::Column::RootId)
        .filter(column.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let marked_for_itself: HashSet<i64> = was_marked
        .iter()
        .filter(|(_, author, group, _)| {
            still.contains(author.as_str()) || still.contains(group.as_str())
        })
        .map(|(id, ..)| *id)
        .collect();
    let back: Vec<i64> = was_marked
        .into_iter()
        .filter(|(id, _, _, root)| {
            let by_its_thread =
                mark == Mark::Limited && root.is_some_and(|root| marked_for_itself.contains(&root));
            !marked_for_itself.contains(id) && !by_its_thread
        })
        .map(|(id, ..)| id)
        .collect();
    let mut unmarked = 0;
    for chunk in back.chunks(1000) {
        unmarked += posts::Entity::update_many()
            .col_expr(column, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .filter(posts::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok((marked, unmarked))
}

/// Give up the deliveries waiting for `authorities` (marked failed with
/// `reason`), except erasures, which wait for the server to be let in
/// again (`queue::HELD`), and end the memberships between them and this
/// server, with the roles their people held in groups here. The
/// deliveries being sent at this moment are refused by the sender itself.
pub async fn cut_off(
    db: &impl ConnectionTrait,
    authorities: &[String],
    reason: &str,
) -> Result<CutOff, DbError> {
    if authorities.is_empty() {
        return Ok(CutOff::default());
    }
    let given_up = deliveries::Entity::update_many()
        .col_expr(deliveries::Column::State, Expr::value("failed"))
        .col_expr(deliveries::Column::LastError, Expr::value(reason))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(deliveries::Column::State.eq("pending"))
        .filter(deliveries::Column::Authority.is_in(authorities.iter().cloned()))
        .filter(
            deliveries::Column::ActivityId.not_in_subquery(
                Query::select()
                    .column(outbound_activities::Column::Id)
                    .from(outbound_activities::Entity)
                    .and_where(outbound_activities::Column::ErasureId.is_not_null())
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    let people: Vec<(i64, String)> = remote_actors::Entity::find()
        .select_only()
        .column(remote_actors::Column::Id)
        .column(remote_actors::Column::ApId)
        .filter(remote_actors::Column::Authority.is_in(authorities.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    let actors: Vec<i64> = people.iter().map(|(id, _)| *id).collect();
    let ids: Vec<String> = people.into_iter().map(|(_, ap_id)| ap_id).collect();
    let mut cut = CutOff {
        deliveries: given_up.rows_affected,
        ..CutOff::default()
    };
    if actors.is_empty() {
        return Ok(cut);
    }
    cut.members = group_members::Entity::delete_many()
        .filter(group_members::Column::RemoteActorId.is_in(actors.iter().copied()))
        .exec(db)
        .await?
        .rows_affected;
    cut.memberships = remote_memberships::Entity::delete_many()
        .filter(remote_memberships::Column::GroupActorId.is_in(actors.iter().copied()))
        .exec(db)
        .await?
        .rows_affected;
    // Roles end with the memberships: as moderators or mentors of groups
    // here, and those that groups of that server announced.
    for chunk in ids.chunks(500) {
        remote_moderators::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(remote_moderators::Column::PersonApId.is_in(chunk.iter().cloned()))
                    .add(remote_moderators::Column::GroupApId.is_in(chunk.iter().cloned())),
            )
            .exec(db)
            .await?;
        group_mentors::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(group_mentors::Column::PersonApId.is_in(chunk.iter().cloned()))
                    .add(group_mentors::Column::GroupApId.is_in(chunk.iter().cloned())),
            )
            .exec(db)
            .await?;
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_database;

    fn rule(domain: &str, action: RuleAction, source: Option<&str>) -> DomainRule {
        DomainRule {
            domain: domain.into(),
            action,
            public_reason: "spam".into(),
            private_reason: "reports 12 and 14".into(),
            expires_at: None,
            subscription: source.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn rules_are_kept_once_per_domain_and_source() {
        let (_dir, db) = test_database().await;
        let own = rule("bad.example", RuleAction::Limit, None);
        let listed = rule(
            "bad.example",
            RuleAction::Suspend,
            Some("https://l.example/b.csv"),
        );
        set(&db, &own, Some(1)).await.unwrap();
        set(&db, &listed, None).await.unwrap();
        let mut stricter = own.clone();
        stricter.action = RuleAction::Suspend;
        set(&db, &stricter, Some(1)).await.unwrap();
        let stored: Vec<DomainRule> = all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.rule)
            .collect();
        assert_eq!(stored, vec![stricter, listed.clone()]);
        assert!(remove_own(&db, "bad.example").await.unwrap());
        assert!(!remove_own(&db, "bad.example").await.unwrap());
        let stored: Vec<DomainRule> = all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.rule)
            .collect();
        assert_eq!(stored, vec![listed]);
    }

    #[tokio::test]
    async fn a_lists_rules_are_replaced_and_the_admins_own_left_alone() {
        let (_dir, db) = test_database().await;
        let list = "https://l.example/b.csv";
        let other = "https://m.example/b.csv";
        let own = rule("a.example", RuleAction::Allow, None);
        set(&db, &own, Some(1)).await.unwrap();
        let from_other = rule("c.example", RuleAction::Suspend, Some(other));
        set(&db, &from_other, None).await.unwrap();
        subscribe(&db, list, ListKind::Block, Some(1))
            .await
            .unwrap();
        assert!(matches!(
            subscribe(&db, list, ListKind::Allow, None).await,
            Err(DbError::Conflict { field: "url" })
        ));

        let first = [
            rule("a.example", RuleAction::Suspend, Some(list)),
            rule("b.example", RuleAction::Suspend, Some(list)),
            // Named twice: the first entry counts.
            rule("b.example", RuleAction::Allow, Some(list)),
        ];
        let done = replace_listed(&db, list, &first).await.unwrap();
        assert_eq!(
            done,
            Replaced {
                added: 2,
                changed: 0,
                lifted: 0
            }
        );
        // Again: nothing to do.
        let again = replace_listed(&db, list, &first).await.unwrap();
        assert_eq!(again, Replaced::default());

        let mut changed = rule("b.example", RuleAction::Suspend, Some(list));
        changed.public_reason = "worse".into();
        let done = replace_listed(&db, list, std::slice::from_ref(&changed))
            .await
            .unwrap();
        assert_eq!(
            done,
            Replaced {
                added: 0,
                changed: 1,
                lifted: 1
            }
        );
        let stored: Vec<DomainRule> = all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.rule)
            .collect();
        assert_eq!(stored, vec![own.clone(), changed, from_other.clone()]);

        record_fetch(&db, list, Ok(1)).await.unwrap();
        record_fetch(&db, list, Err("unreachable: connection refused"))
            .await
            .unwrap();
        let sub = subscription(&db, list).await.unwrap().unwrap();
        assert_eq!(sub.entries, 1);
        assert_eq!(sub.last_error, "unreachable: connection refused");
        assert!(sub.last_fetched_at.is_some());
        assert_eq!(subscriptions(&db).await.unwrap(), vec![sub]);

        assert!(unsubscribe(&db, list).await.unwrap());
        assert!(!unsubscribe(&db, list).await.unwrap());
        let stored: Vec<DomainRule> = all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.rule)
            .collect();
        assert_eq!(stored, vec![own, from_other]);
        assert!(replace_listed(&db, "", &[]).await.is_err());
    }
}

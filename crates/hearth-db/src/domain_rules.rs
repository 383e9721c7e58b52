//! The admin's domain rules, as stored. What they mean is decided in
//! `hearth_domain::federation_policy`.

use chrono::{DateTime, Utc};
use hearth_domain::federation_policy::{DomainRule, RuleAction};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::DbError;
use crate::entity::{deliveries, domain_rules, group_members, remote_actors, remote_memberships};

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

/// Give up the deliveries waiting for `authorities` (marked failed with
/// `reason`) and end the memberships between them and this server. The
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
        .exec(db)
        .await?;
    let actors: Vec<i64> = remote_actors::Entity::find()
        .select_only()
        .column(remote_actors::Column::Id)
        .filter(remote_actors::Column::Authority.is_in(authorities.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
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
}

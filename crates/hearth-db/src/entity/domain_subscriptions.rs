//! The `domain_subscriptions` table: published domain lists the admin
//! subscribes to. Their entries are rows of `domain_rules` whose `source`
//! is the list's URL.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "domain_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub url: String,
    /// `block` or `allow`.
    pub kind: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    /// The last attempt to fetch the list, whether it worked or not.
    pub last_fetched_at: Option<DateTimeUtc>,
    /// Why the last attempt failed; empty when it worked.
    pub last_error: String,
    /// Rules taken from the list at its last successful fetch.
    pub entries: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

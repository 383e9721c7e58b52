//! The `groups` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub name_canonical: String,
    pub display_name: String,
    pub description: String,
    pub rules: String,
    pub join_policy: String,
    pub listed: bool,
    pub allow_outside_posts: bool,
    pub hold_new_members_days: i32,
    pub retention_days: i32,
    pub visibility: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

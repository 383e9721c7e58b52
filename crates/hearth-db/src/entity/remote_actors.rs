//! The `remote_actors` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remote_actors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub kind: String,
    pub authority: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub url: Option<String>,
    pub public_key_id: String,
    pub public_key_pem: String,
    pub manually_approves_followers: bool,
    pub group_visibility: Option<String>,
    pub fetched_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub professional_role: Option<String>,
    pub professional_verified_by: Option<String>,
    pub professional_verification: Option<String>,
    pub professional_checked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

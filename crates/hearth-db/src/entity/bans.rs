//! The `bans` table: people banned from a group or from the instance.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_ap_id: String,
    pub person_ap_id: String,
    pub reason: String,
    pub expires_at: Option<DateTimeUtc>,
    pub remove_data: bool,
    pub activity_ap_id: Option<String>,
    pub by_ap_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

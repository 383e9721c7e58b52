//! The `helpful_marks` table: replies a group's moderators marked helpful.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "helpful_marks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_ap_id: String,
    pub group_ap_id: String,
    pub marked_by_ap_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

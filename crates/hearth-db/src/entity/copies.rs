//! The `copies` table: which server received what of a member here.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "copies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub owner_ap_id: String,
    pub object_ap_id: String,
    pub authority: String,
    pub inbox: String,
    pub first_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

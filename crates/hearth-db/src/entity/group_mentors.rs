//! The `group_mentors` table: peer mentors of groups here and, as their
//! groups announced them, of groups elsewhere.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_mentors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_ap_id: String,
    pub person_ap_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

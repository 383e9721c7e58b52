//! The `group_guidance` table: a group's rules and support guide (groups
//! here and elsewhere).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "group_guidance")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_ap_id: String,
    pub rules_source: String,
    pub rules_html: String,
    pub guide_source: String,
    pub guide_html: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

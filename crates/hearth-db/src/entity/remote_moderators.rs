//! The `remote_moderators` table: moderators of groups on other servers,
//! as their groups announced them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remote_moderators")]
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

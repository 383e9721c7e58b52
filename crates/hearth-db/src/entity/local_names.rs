//! The `local_names` table: every local person's and group's name, in
//! lower case, owned by exactly one of them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "local_names")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name_canonical: String,
    pub kind: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The `server_software` table: what each other server runs (NodeInfo).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_software")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub authority: String,
    pub software: Option<String>,
    pub version: Option<String>,
    pub checked_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

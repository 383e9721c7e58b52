//! The `reports` table: reports made here and received from elsewhere.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reporter_user_id: Option<i64>,
    pub flagged_by: String,
    pub flag_ap_id: Option<String>,
    pub post_ap_id: Option<String>,
    pub account_ap_id: String,
    pub group_ap_id: String,
    pub category: String,
    pub comment: String,
    pub state: String,
    pub resolution: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

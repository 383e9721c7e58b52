//! The `removed_words` table: what a moderator removed, kept aside so the
//! removal can be undone.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "removed_words")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: i64,
    pub title: String,
    pub source: String,
    pub content_html: String,
    pub content_warning: Option<String>,
    pub link: Option<String>,
    pub reason: String,
    pub removed_by: String,
    pub removed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

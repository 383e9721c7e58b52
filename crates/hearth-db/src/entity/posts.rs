//! The `posts` table: threads and replies, here and from other servers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub ap_id: String,
    pub group_ap_id: String,
    pub group_id: Option<i64>,
    pub author_ap_id: String,
    pub author_user_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub in_reply_to_ap_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub source: String,
    pub content_html: String,
    pub content_warning: Option<String>,
    pub support_kind: Option<String>,
    pub visibility: String,
    pub url: Option<String>,
    pub link: Option<String>,
    pub local: bool,
    pub published_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    pub deleted_at: Option<DateTimeUtc>,
    pub locked_at: Option<DateTimeUtc>,
    pub held_activity: Option<String>,
    pub pinned_at: Option<DateTimeUtc>,
    pub hidden_at: Option<DateTimeUtc>,
    pub limited_at: Option<DateTimeUtc>,
    pub last_activity_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub sources: Option<String>,
    pub label_kind: Option<String>,
    pub label_note: Option<String>,
    pub label_link: Option<String>,
    pub label_by: Option<String>,
    pub label_at: Option<DateTimeUtc>,
    pub speaking_as: String,
    pub disclaimer: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

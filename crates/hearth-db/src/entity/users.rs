//! The `users` table: local accounts, which are also ActivityPub actors.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    #[sea_orm(unique)]
    pub username_canonical: String,
    pub display_name: String,
    pub bio: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub role: String,
    pub status: String,
    pub registration_reason: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub may_verify: bool,
    pub professional_role: Option<String>,
    pub verification_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::access_tokens::Entity")]
    AccessTokens,
}

impl Related<super::access_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AccessTokens.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

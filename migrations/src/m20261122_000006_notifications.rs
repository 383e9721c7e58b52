//! In-app notifications: what happened to a member's posts and requests
//! (replies, mentions, reactions, join decisions, moderators' actions).
//! Each row belongs to one local account and goes with it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    ActorApId,
    PostId,
    GroupApId,
    Detail,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(big_integer(Notifications::UserId))
                    .col(string_len(Notifications::Kind, 24))
                    .col(string_len_null(Notifications::ActorApId, 2048))
                    .col(big_integer_null(Notifications::PostId))
                    .col(string_len_null(Notifications::GroupApId, 2048))
                    .col(text(Notifications::Detail).default(""))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_user")
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_post")
                            .from(Notifications::Table, Notifications::PostId)
                            .to(Posts::Table, Posts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_unread")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::ReadAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}

//! Pre-moderation: a group can hold posts from members who joined less
//! than so many days ago, or from servers it names, until a moderator
//! approves them. A held post is stored with the activity that will
//! announce it (`held_activity`); nothing reads it but its author and the
//! group's moderators.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Posts {
    Table,
    HeldActivity,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    HoldNewMembersDays,
}

#[derive(DeriveIden)]
enum GroupHeldServers {
    Table,
    Id,
    GroupId,
    Authority,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Posts::Table)
                    .add_column(string_len_null(Posts::HeldActivity, 2048))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .add_column(integer(Groups::HoldNewMembersDays).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupHeldServers::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupHeldServers::Id))
                    .col(big_integer(GroupHeldServers::GroupId))
                    .col(string_len(GroupHeldServers::Authority, 253))
                    .col(timestamp_with_time_zone(GroupHeldServers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_group_held_servers_once")
                    .table(GroupHeldServers::Table)
                    .col(GroupHeldServers::GroupId)
                    .col(GroupHeldServers::Authority)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GroupHeldServers::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .drop_column(Groups::HoldNewMembersDays)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Posts::Table)
                    .drop_column(Posts::HeldActivity)
                    .to_owned(),
            )
            .await
    }
}

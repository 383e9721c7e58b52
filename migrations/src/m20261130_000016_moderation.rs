//! Moderation that federates: the moderation log, bans (from a group or
//! from the whole instance, with an optional expiry), reports, and the
//! moderators of groups on other servers as this server knows them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModerationLog {
    Table,
    Id,
    /// The group's id (here or elsewhere); '' for the instance.
    GroupApId,
    /// Who did it.
    ActorApId,
    Action,
    /// What it was done to: a post, a person, a domain.
    TargetApId,
    Reason,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Bans {
    Table,
    Id,
    /// The group's id (here or elsewhere); '' for the whole instance.
    GroupApId,
    PersonApId,
    Reason,
    ExpiresAt,
    RemoveData,
    /// The `Block` that said it, to match its `Undo`.
    ActivityApId,
    ByApId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    /// The member here who reported; none for a report from elsewhere.
    ReporterUserId,
    /// The actor that sent the `Flag` (often a server's own actor); ''
    /// for a report made here.
    FlaggedBy,
    /// The `Flag`: received, or sent for a report made here.
    FlagApId,
    /// The post reported, if a post.
    PostApId,
    /// The account reported (the post's author for a post).
    AccountApId,
    /// The group the post is in, '' when none.
    GroupApId,
    Category,
    Comment,
    State,
    Resolution,
    ResolvedBy,
    ResolvedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RemoteModerators {
    Table,
    Id,
    GroupApId,
    PersonApId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModerationLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ModerationLog::Id))
                    .col(string_len(ModerationLog::GroupApId, 2048).default(""))
                    .col(string_len(ModerationLog::ActorApId, 2048))
                    .col(string_len(ModerationLog::Action, 32))
                    .col(string_len(ModerationLog::TargetApId, 2048))
                    .col(text(ModerationLog::Reason))
                    .col(timestamp_with_time_zone_null(ModerationLog::ExpiresAt))
                    .col(timestamp_with_time_zone(ModerationLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_moderation_log_group")
                    .table(ModerationLog::Table)
                    .col(ModerationLog::GroupApId)
                    .col(ModerationLog::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Bans::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Bans::Id))
                    .col(string_len(Bans::GroupApId, 2048).default(""))
                    .col(string_len(Bans::PersonApId, 2048))
                    .col(text(Bans::Reason))
                    .col(timestamp_with_time_zone_null(Bans::ExpiresAt))
                    .col(boolean(Bans::RemoveData).default(false))
                    .col(string_len_null(Bans::ActivityApId, 2048))
                    .col(string_len(Bans::ByApId, 2048))
                    .col(timestamp_with_time_zone(Bans::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_bans_once")
                    .table(Bans::Table)
                    .col(Bans::GroupApId)
                    .col(Bans::PersonApId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Reports::Id))
                    .col(big_integer_null(Reports::ReporterUserId))
                    .col(string_len(Reports::FlaggedBy, 2048).default(""))
                    .col(string_len_null(Reports::FlagApId, 2048))
                    .col(string_len_null(Reports::PostApId, 2048))
                    .col(string_len(Reports::AccountApId, 2048))
                    .col(string_len(Reports::GroupApId, 2048).default(""))
                    .col(string_len(Reports::Category, 32))
                    .col(text(Reports::Comment))
                    .col(string_len(Reports::State, 16))
                    .col(text(Reports::Resolution))
                    .col(string_len_null(Reports::ResolvedBy, 2048))
                    .col(timestamp_with_time_zone_null(Reports::ResolvedAt))
                    .col(timestamp_with_time_zone(Reports::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reports_flag")
                    .table(Reports::Table)
                    .col(Reports::FlagApId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reports_state")
                    .table(Reports::Table)
                    .col(Reports::State)
                    .col(Reports::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RemoteModerators::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RemoteModerators::Id))
                    .col(string_len(RemoteModerators::GroupApId, 2048))
                    .col(string_len(RemoteModerators::PersonApId, 2048))
                    .col(timestamp_with_time_zone(RemoteModerators::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_remote_moderators_once")
                    .table(RemoteModerators::Table)
                    .col(RemoteModerators::GroupApId)
                    .col(RemoteModerators::PersonApId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ModerationLog::Table.into_iden(),
            Bans::Table.into_iden(),
            Reports::Table.into_iden(),
            RemoteModerators::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

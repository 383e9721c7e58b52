//! Care in a group: its peer mentors (for groups here and, as their groups
//! announced them, groups elsewhere), the replies its moderators marked
//! helpful, and its guidance (rules and a short "how to give support
//! here" guide), kept per group id for groups here and elsewhere alike.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GroupMentors {
    Table,
    Id,
    /// The group's id (here or elsewhere).
    GroupApId,
    PersonApId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum HelpfulMarks {
    Table,
    Id,
    PostApId,
    /// The group the reply is in (here or elsewhere).
    GroupApId,
    /// The moderator who marked it (the group, for a mark received).
    MarkedByApId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum GroupGuidance {
    Table,
    Id,
    GroupApId,
    /// Markdown as written (groups here only; '' for groups elsewhere).
    RulesSource,
    /// Sanitised HTML, as shown.
    RulesHtml,
    GuideSource,
    GuideHtml,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GroupMentors::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupMentors::Id))
                    .col(string_len(GroupMentors::GroupApId, 2048))
                    .col(string_len(GroupMentors::PersonApId, 2048))
                    .col(timestamp_with_time_zone(GroupMentors::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_group_mentors_once")
                    .table(GroupMentors::Table)
                    .col(GroupMentors::GroupApId)
                    .col(GroupMentors::PersonApId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HelpfulMarks::Table)
                    .if_not_exists()
                    .col(big_pk_auto(HelpfulMarks::Id))
                    .col(string_len(HelpfulMarks::PostApId, 2048))
                    .col(string_len(HelpfulMarks::GroupApId, 2048))
                    .col(string_len(HelpfulMarks::MarkedByApId, 2048))
                    .col(timestamp_with_time_zone(HelpfulMarks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_helpful_marks_once")
                    .table(HelpfulMarks::Table)
                    .col(HelpfulMarks::PostApId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupGuidance::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupGuidance::Id))
                    .col(string_len(GroupGuidance::GroupApId, 2048))
                    .col(text(GroupGuidance::RulesSource))
                    .col(text(GroupGuidance::RulesHtml))
                    .col(text(GroupGuidance::GuideSource))
                    .col(text(GroupGuidance::GuideHtml))
                    .col(timestamp_with_time_zone(GroupGuidance::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_group_guidance_once")
                    .table(GroupGuidance::Table)
                    .col(GroupGuidance::GroupApId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GroupMentors::Table.into_iden(),
            HelpfulMarks::Table.into_iden(),
            GroupGuidance::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

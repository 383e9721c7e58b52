//! What a moderator removed is kept aside for a while (`removed_words`),
//! so the removal can be undone (`Undo{Delete}`): the post itself becomes
//! a tombstone at once, and only the group's moderators can read the kept
//! words. They are erased for good when the author deletes the post, and
//! after `moderation.removed_kept_days`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RemovedWords {
    Table,
    PostId,
    Title,
    Source,
    ContentHtml,
    ContentWarning,
    Link,
    Reason,
    RemovedBy,
    RemovedAt,
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
                    .table(RemovedWords::Table)
                    .col(big_integer(RemovedWords::PostId).primary_key())
                    .col(text(RemovedWords::Title))
                    .col(text(RemovedWords::Source))
                    .col(text(RemovedWords::ContentHtml))
                    .col(text_null(RemovedWords::ContentWarning))
                    .col(text_null(RemovedWords::Link))
                    .col(text(RemovedWords::Reason))
                    .col(text(RemovedWords::RemovedBy))
                    .col(timestamp_with_time_zone(RemovedWords::RemovedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_removed_words_post")
                            .from(RemovedWords::Table, RemovedWords::PostId)
                            .to(Posts::Table, Posts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_removed_words_removed_at")
                    .table(RemovedWords::Table)
                    .col(RemovedWords::RemovedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RemovedWords::Table).to_owned())
            .await
    }
}

//! What other software needs and tells:
//! - what software each server Hearth talks to runs, read from its
//!   NodeInfo: it decides which relay shape the server gets and whether
//!   members-only posts may go there (see `hearth_domain::peer`);
//! - a thread locked by its group's moderators (Lemmy's `Lock`): when.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServerSoftware {
    Table,
    Authority,
    Software,
    Version,
    CheckedAt,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    LockedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServerSoftware::Table)
                    .if_not_exists()
                    .col(string_len(ServerSoftware::Authority, 255).primary_key())
                    .col(string_len_null(ServerSoftware::Software, 64))
                    .col(string_len_null(ServerSoftware::Version, 64))
                    .col(timestamp_with_time_zone(ServerSoftware::CheckedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Posts::Table)
                    .add_column(timestamp_with_time_zone_null(Posts::LockedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Posts::Table)
                    .drop_column(Posts::LockedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ServerSoftware::Table).to_owned())
            .await
    }
}

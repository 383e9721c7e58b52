//! The first-run setup link: while a server has no admin, `hearth serve`
//! prints a one-time link with which the first visitor creates the admin
//! account in the browser.
//!
//! At most one link is valid at a time (the row with id 1; each start
//! while there is no admin replaces it). Only the SHA-256 digest of the
//! link's secret is stored, with when it was issued so it can expire. The
//! row lives in the database, not in the process, so the link works
//! whichever of several processes sharing PostgreSQL answers it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SetupTokens {
    Table,
    Id,
    TokenDigest,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SetupTokens::Table)
                    .col(big_integer(SetupTokens::Id).primary_key())
                    .col(string_len(SetupTokens::TokenDigest, 64))
                    .col(timestamp_with_time_zone(SetupTokens::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SetupTokens::Table).to_owned())
            .await
    }
}

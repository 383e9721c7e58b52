//! Published domain lists the admin subscribes to (a blocklist or an
//! allowlist at a URL), fetched now and then. Their entries live in
//! `domain_rules`, with the list's URL as `source`. See
//! `hearth_app::subscriptions`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DomainSubscriptions {
    Table,
    Id,
    /// Where the list is published; `domain_rules.source` of its entries.
    Url,
    /// 'block' or 'allow'.
    Kind,
    CreatedBy,
    CreatedAt,
    /// The last attempt to fetch it, whether it worked or not.
    LastFetchedAt,
    /// Why the last attempt failed; '' when it worked.
    LastError,
    /// Rules taken from the list at its last successful fetch.
    Entries,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DomainSubscriptions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DomainSubscriptions::Id))
                    // As long as `domain_rules.source`, which holds it.
                    .col(string_len_uniq(DomainSubscriptions::Url, 2048))
                    .col(string_len(DomainSubscriptions::Kind, 16))
                    .col(big_integer_null(DomainSubscriptions::CreatedBy))
                    .col(timestamp_with_time_zone(DomainSubscriptions::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        DomainSubscriptions::LastFetchedAt,
                    ))
                    .col(text(DomainSubscriptions::LastError).default(""))
                    .col(big_integer(DomainSubscriptions::Entries).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DomainSubscriptions::Table).to_owned())
            .await
    }
}

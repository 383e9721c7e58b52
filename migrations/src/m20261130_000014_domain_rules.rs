//! The admin's federation policy: domain rules (suspend, limit, allow),
//! each with a public and a private reason and an optional expiry, and
//! where it came from (the admin, or a subscribed list). See
//! `hearth_domain::federation_policy`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DomainRules {
    Table,
    Id,
    Domain,
    Action,
    PublicReason,
    PrivateReason,
    ExpiresAt,
    /// The list the rule came from; '' for the admin's own.
    Source,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DomainRules::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DomainRules::Id))
                    .col(string_len(DomainRules::Domain, 253))
                    .col(string_len(DomainRules::Action, 16))
                    .col(text(DomainRules::PublicReason))
                    .col(text(DomainRules::PrivateReason))
                    .col(timestamp_with_time_zone_null(DomainRules::ExpiresAt))
                    .col(string_len(DomainRules::Source, 2048).default(""))
                    .col(big_integer_null(DomainRules::CreatedBy))
                    .col(timestamp_with_time_zone(DomainRules::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_domain_rules_once")
                    .table(DomainRules::Table)
                    .col(DomainRules::Domain)
                    .col(DomainRules::Source)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DomainRules::Table).to_owned())
            .await
    }
}

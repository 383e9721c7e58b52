//! Erasure with receipts.
//!
//! - `copies`: which server received what of a member here, recorded when
//!   a delivery is acknowledged (or a signed fetch is served): the owner
//!   (the member whose data it is), the object (a post, a reaction, the
//!   actor itself), the server and an inbox there. When the member deletes
//!   a post or their account, every server listed is sent the `Delete`.
//! - `erasures`: one row per deletion whose delivery is followed (an
//!   account, or one post), with the hash of the receipt's secret link.
//! - `outbound_activities.erasure_id`: the activities that carry an
//!   erasure; their deliveries keep retrying while the server exists, and
//!   their states are the erasure's per-server receipt.
//! - `outbound_activities.owner_ap_id`: whose data an activity carries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Copies {
    Table,
    Id,
    OwnerApId,
    ObjectApId,
    Authority,
    Inbox,
    FirstAt,
}

#[derive(DeriveIden)]
enum Erasures {
    Table,
    Id,
    Kind,
    SubjectApId,
    UserId,
    RequestedBy,
    ReceiptHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboundActivities {
    Table,
    ErasureId,
    OwnerApId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Copies::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Copies::Id))
                    .col(string_len(Copies::OwnerApId, 2048))
                    .col(string_len(Copies::ObjectApId, 2048))
                    .col(string_len(Copies::Authority, 255))
                    .col(string_len(Copies::Inbox, 2048))
                    .col(timestamp_with_time_zone(Copies::FirstAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_copies_owner_object_server")
                    .table(Copies::Table)
                    .col(Copies::OwnerApId)
                    .col(Copies::ObjectApId)
                    .col(Copies::Authority)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_copies_object")
                    .table(Copies::Table)
                    .col(Copies::ObjectApId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Erasures::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Erasures::Id))
                    .col(string_len(Erasures::Kind, 16))
                    .col(string_len(Erasures::SubjectApId, 2048))
                    // Kept without a foreign key: the account row is
                    // scrubbed, and the receipt outlives it.
                    .col(big_integer_null(Erasures::UserId))
                    .col(string_len(Erasures::RequestedBy, 64))
                    .col(string_len_null(Erasures::ReceiptHash, 64))
                    .col(timestamp_with_time_zone(Erasures::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_erasures_subject")
                    .table(Erasures::Table)
                    .col(Erasures::SubjectApId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboundActivities::Table)
                    .add_column(big_integer_null(OutboundActivities::ErasureId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboundActivities::Table)
                    .add_column(string_len_null(OutboundActivities::OwnerApId, 2048))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbound_activities_erasure")
                    .table(OutboundActivities::Table)
                    .col(OutboundActivities::ErasureId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbound_activities_erasure")
                    .table(OutboundActivities::Table)
                    .to_owned(),
            )
            .await?;
        for column in [OutboundActivities::OwnerApId, OutboundActivities::ErasureId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OutboundActivities::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Erasures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Copies::Table).to_owned())
            .await
    }
}

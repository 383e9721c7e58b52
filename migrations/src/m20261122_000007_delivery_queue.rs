//! The delivery queue grows up: each delivery keeps the key it is ordered
//! by (the sending actor: deliveries to one inbox from one actor go out in
//! the order they were made) and the worker that last took it; and each
//! receiving server has a row saying whether it answers, how often it
//! failed in a row, and until when it is left alone (unreachable, or a 429
//! with Retry-After).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    OrderKey,
    Worker,
    Inbox,
    Id,
    Authority,
    State,
}

#[derive(DeriveIden)]
enum Instances {
    Table,
    Id,
    Authority,
    State,
    ConsecutiveFailures,
    LastStatus,
    LastError,
    LastSuccessAt,
    LastFailureAt,
    BlockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(string_len(Deliveries::OrderKey, 2048).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(string_len_null(Deliveries::Worker, 128))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE deliveries SET order_key = (SELECT actor_ap_id FROM outbound_activities \
                 WHERE outbound_activities.id = deliveries.activity_id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_order")
                    .table(Deliveries::Table)
                    .col(Deliveries::Inbox)
                    .col(Deliveries::OrderKey)
                    .col(Deliveries::Id)
                    .to_owned(),
            )
            .await?;
        // Per-server counts (admin status, metrics, the per-server limit).
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_server")
                    .table(Deliveries::Table)
                    .col(Deliveries::Authority)
                    .col(Deliveries::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Instances::Table)
                    .col(big_pk_auto(Instances::Id))
                    .col(string_len_uniq(Instances::Authority, 255))
                    .col(string_len(Instances::State, 16).default("ok"))
                    .col(integer(Instances::ConsecutiveFailures).default(0))
                    .col(integer_null(Instances::LastStatus))
                    .col(text_null(Instances::LastError))
                    .col(timestamp_with_time_zone_null(Instances::LastSuccessAt))
                    .col(timestamp_with_time_zone_null(Instances::LastFailureAt))
                    .col(timestamp_with_time_zone_null(Instances::BlockedUntil))
                    .col(timestamp_with_time_zone(Instances::CreatedAt))
                    .col(timestamp_with_time_zone(Instances::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Instances::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_deliveries_server")
                    .table(Deliveries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_deliveries_order")
                    .table(Deliveries::Table)
                    .to_owned(),
            )
            .await?;
        for col in [Deliveries::Worker, Deliveries::OrderKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Deliveries::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

//! The delivery workers that are alive. Each process sending deliveries
//! renews its row about twice a second; a delivery claimed by a worker
//! whose row has lapsed (the process was killed) may be taken over at once
//! instead of when its lease runs out, so a restart does not pause
//! federation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeliveryWorkers {
    Table,
    Worker,
    AliveUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeliveryWorkers::Table)
                    .if_not_exists()
                    .col(string_len(DeliveryWorkers::Worker, 128).primary_key())
                    .col(timestamp_with_time_zone(DeliveryWorkers::AliveUntil))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryWorkers::Table).to_owned())
            .await
    }
}

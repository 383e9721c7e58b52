//! Where members signed in from (`sign_ins`), kept for
//! `privacy.ip_retention_days` so they can spot a sign-in that was not
//! them, then erased by the housekeeping.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignIns {
    Table,
    Id,
    UserId,
    Ip,
    At,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignIns::Table)
                    .col(big_pk_auto(SignIns::Id))
                    .col(big_integer(SignIns::UserId))
                    .col(string_len(SignIns::Ip, 45))
                    .col(timestamp_with_time_zone(SignIns::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sign_ins_user")
                            .from(SignIns::Table, SignIns::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sign_ins_user_at")
                    .table(SignIns::Table)
                    .col(SignIns::UserId)
                    .col(SignIns::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sign_ins_at")
                    .table(SignIns::Table)
                    .col(SignIns::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignIns::Table).to_owned())
            .await
    }
}

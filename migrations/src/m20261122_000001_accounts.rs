//! Local accounts and their bearer tokens.
//!
//! Each account carries its RSA key pair from the start, because every
//! account is also an ActivityPub actor and a key created later would leave
//! a window where the actor cannot sign.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    UsernameCanonical,
    DisplayName,
    Bio,
    Email,
    PasswordHash,
    Role,
    Status,
    RegistrationReason,
    PublicKeyPem,
    PrivateKeyPem,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    Id,
    UserId,
    TokenDigest,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Username, 30))
                    .col(string_len_uniq(Users::UsernameCanonical, 30))
                    .col(string_len(Users::DisplayName, 100).default(""))
                    .col(text(Users::Bio).default(""))
                    .col(string_len_null(Users::Email, 254))
                    .col(text(Users::PasswordHash))
                    .col(string_len(Users::Role, 16))
                    .col(string_len(Users::Status, 16))
                    .col(text(Users::RegistrationReason).default(""))
                    .col(text(Users::PublicKeyPem))
                    .col(text(Users::PrivateKeyPem))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_status_id")
                    .table(Users::Table)
                    .col(Users::Status)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccessTokens::Table)
                    .col(big_pk_auto(AccessTokens::Id))
                    .col(big_integer(AccessTokens::UserId))
                    .col(string_len_uniq(AccessTokens::TokenDigest, 64))
                    .col(timestamp_with_time_zone(AccessTokens::CreatedAt))
                    .col(timestamp_with_time_zone(AccessTokens::ExpiresAt))
                    .col(timestamp_with_time_zone(AccessTokens::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_tokens_user")
                            .from(AccessTokens::Table, AccessTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_access_tokens_user")
                    .table(AccessTokens::Table)
                    .col(AccessTokens::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccessTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

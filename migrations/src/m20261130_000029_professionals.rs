//! Verified professionals and speaking as one.
//!
//! - `verifications`: every verification of a member's professional role,
//!   kept after it is revoked (who verified it and when, who revoked it
//!   and when). The role only; never a document.
//! - `users.professional_role`, `users.verification_id`: the live one, if
//!   any (kept beside the account so pages name authors in one query);
//!   `users.may_verify`: a moderator the admin trusts to verify.
//! - `remote_actors.professional_*`: another server's person whose claim
//!   was checked against the verifying server: the role, that server, the
//!   verification's id, and when it was checked (also when it failed).
//! - `posts.speaking_as`, `posts.disclaimer`: a post written as a
//!   professional, and the disclaimer it carries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Verifications {
    Table,
    Id,
    UserId,
    Role,
    VerifiedBy,
    VerifiedAt,
    RevokedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    MayVerify,
    ProfessionalRole,
    VerificationId,
}

#[derive(DeriveIden)]
enum RemoteActors {
    Table,
    ProfessionalRole,
    ProfessionalVerifiedBy,
    ProfessionalVerification,
    ProfessionalCheckedAt,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    SpeakingAs,
    Disclaimer,
}

/// One column added per statement: SQLite alters one at a time.
async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    col: ColumnDef,
) -> Result<(), DbErr> {
    let mut col = col;
    manager
        .alter_table(Table::alter().table(table).add_column(&mut col).to_owned())
        .await
}

async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    col: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(col).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Verifications::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Verifications::Id))
                    .col(big_integer(Verifications::UserId))
                    .col(string_len(Verifications::Role, 400))
                    .col(big_integer(Verifications::VerifiedBy))
                    .col(timestamp_with_time_zone(Verifications::VerifiedAt))
                    .col(big_integer_null(Verifications::RevokedBy))
                    .col(timestamp_with_time_zone_null(Verifications::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Verifications::Table, Verifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_verifications_user")
                    .table(Verifications::Table)
                    .col(Verifications::UserId)
                    .to_owned(),
            )
            .await?;
        add(
            manager,
            Users::Table,
            boolean(Users::MayVerify).default(false).to_owned(),
        )
        .await?;
        add(
            manager,
            Users::Table,
            string_len_null(Users::ProfessionalRole, 400),
        )
        .await?;
        add(
            manager,
            Users::Table,
            big_integer_null(Users::VerificationId),
        )
        .await?;
        add(
            manager,
            RemoteActors::Table,
            string_len_null(RemoteActors::ProfessionalRole, 400),
        )
        .await?;
        add(
            manager,
            RemoteActors::Table,
            string_len_null(RemoteActors::ProfessionalVerifiedBy, 255),
        )
        .await?;
        add(
            manager,
            RemoteActors::Table,
            string_len_null(RemoteActors::ProfessionalVerification, 2048),
        )
        .await?;
        add(
            manager,
            RemoteActors::Table,
            timestamp_with_time_zone_null(RemoteActors::ProfessionalCheckedAt),
        )
        .await?;
        add(
            manager,
            Posts::Table,
            string_len(Posts::SpeakingAs, 16).default("peer").to_owned(),
        )
        .await?;
        add(manager, Posts::Table, text_null(Posts::Disclaimer)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, Posts::Table, Posts::Disclaimer).await?;
        drop(manager, Posts::Table, Posts::SpeakingAs).await?;
        drop(
            manager,
            RemoteActors::Table,
            RemoteActors::ProfessionalCheckedAt,
        )
        .await?;
        drop(
            manager,
            RemoteActors::Table,
            RemoteActors::ProfessionalVerification,
        )
        .await?;
        drop(
            manager,
            RemoteActors::Table,
            RemoteActors::ProfessionalVerifiedBy,
        )
        .await?;
        drop(manager, RemoteActors::Table, RemoteActors::ProfessionalRole).await?;
        drop(manager, Users::Table, Users::VerificationId).await?;
        drop(manager, Users::Table, Users::ProfessionalRole).await?;
        drop(manager, Users::Table, Users::MayVerify).await?;
        manager
            .drop_table(Table::drop().table(Verifications::Table).to_owned())
            .await
    }
}

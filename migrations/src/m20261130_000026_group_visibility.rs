//! Group visibility: a group is `public` (each post's author may make it
//! public) or `members` (no post in it is ever public). New groups are
//! `members` unless their creator says otherwise; that default is set by
//! the code that creates them, not here.
//!
//! Every group that exists already becomes `public`: it was created when
//! any post could be public, and its public posts stay public (each post
//! keeps its own visibility), so calling it members-only would be untrue.
//! Its moderators can make it members-only from the group's settings.
//!
//! A group on another server that says its visibility (a Hearth group,
//! in Hearth's namespace) has it stored with the actor
//! (`remote_actors.group_visibility`); none stored means public, as for
//! a Lemmy community.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
    Visibility,
}

#[derive(DeriveIden)]
enum RemoteActors {
    Table,
    GroupVisibility,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .add_column(string_len(Groups::Visibility, 16).default("public"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RemoteActors::Table)
                    .add_column(string_len_null(RemoteActors::GroupVisibility, 16))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RemoteActors::Table)
                    .drop_column(RemoteActors::GroupVisibility)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .drop_column(Groups::Visibility)
                    .to_owned(),
            )
            .await
    }
}

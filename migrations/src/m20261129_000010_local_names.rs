//! One name, one owner: a person and a group on this server never share a
//! name, in any letter case, because WebFinger (`acct:NAME@DOMAIN`) must
//! have one answer per name.
//!
//! `local_names` holds every local person's and group's name in lower
//! case as its primary key. Creating an account or a group claims its
//! name here in the same transaction as the insert, so the database
//! itself refuses a clash, on SQLite and PostgreSQL alike, even when two
//! sign-ups race (a trigger checking the other table could not: two
//! transactions on PostgreSQL would each miss the other's uncommitted
//! row). Names are never released: other servers keep the actor a name
//! pointed to, so a name is not reused for someone else.
//!
//! Databases from before may already hold a person and a group with one
//! name. The name goes to whichever was created first (the person on a
//! tie); the other keeps working under its own URL, and WebFinger answers
//! only for the first (see docs/FEDERATION.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LocalNames {
    Table,
    NameCanonical,
    Kind,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LocalNames::Table)
                    .col(string_len(LocalNames::NameCanonical, 30).primary_key())
                    .col(string_len(LocalNames::Kind, 8))
                    .col(timestamp_with_time_zone(LocalNames::CreatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // People first, unless a group with the name is strictly older;
        // then every group whose name is still free.
        db.execute_unprepared(
            "INSERT INTO local_names (name_canonical, kind, created_at) \
             SELECT u.username_canonical, 'person', u.created_at FROM users u \
             WHERE NOT EXISTS (SELECT 1 FROM groups g \
              WHERE g.name_canonical = u.username_canonical AND g.created_at < u.created_at)",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO local_names (name_canonical, kind, created_at) \
             SELECT g.name_canonical, 'group', g.created_at FROM groups g \
             WHERE NOT EXISTS (SELECT 1 FROM local_names n \
              WHERE n.name_canonical = g.name_canonical)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LocalNames::Table).to_owned())
            .await
    }
}

//! Indexes that let a group's timeline be read a page at a time, at any
//! depth, without sorting or scanning the group's posts.
//!
//! A timeline lists a group's threads that are not deleted, newest first
//! (`published_at`) or most recently active first (`last_activity_at`),
//! and pages with a `(time, id)` cursor. Each index below holds exactly
//! those rows in exactly that order, so a page is a short backwards walk
//! from the cursor. They are partial (threads only, live only), so the
//! replies that make up most of the table cost nothing here; the
//! `public` pair serves readers who may see only public threads, who would
//! otherwise skip over every members-only thread to fill a page.
//!
//! The statements are plain SQL because the schema builder has no portable
//! partial index; this form is the same on SQLite and PostgreSQL. The
//! queries repeat the `WHERE` terms literally (see `hearth_db::posts`), as
//! both planners need to use a partial index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Live threads, and live public threads.
const THREADS: &str = "kind = 'thread' AND deleted_at IS NULL";
const PUBLIC_THREADS: &str = "kind = 'thread' AND deleted_at IS NULL AND visibility = 'public'";

/// (name, time column, rows).
const INDEXES: [(&str, &str, &str); 4] = [
    ("idx_posts_threads_newest", "published_at", THREADS),
    ("idx_posts_threads_active", "last_activity_at", THREADS),
    (
        "idx_posts_public_threads_newest",
        "published_at",
        PUBLIC_THREADS,
    ),
    (
        "idx_posts_public_threads_active",
        "last_activity_at",
        PUBLIC_THREADS,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, time, rows) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON posts (group_ap_id, {time}, id) WHERE {rows}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Posts::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Posts {
    Table,
}

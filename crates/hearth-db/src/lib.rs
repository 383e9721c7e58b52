//! Hearth's storage: connecting to SQLite or PostgreSQL, running migrations,
//! and the queries the rest of Hearth calls.
//!
//! Architecture invariant: sea-orm entities never leave this crate. Callers
//! get plain records (`Account`) and domain types, so the schema can change
//! without touching HTTP handlers or the ActivityPub wire format.
//!
//! SQLite caveat: a transaction that reads before it writes can fail at once
//! with "database is locked" when another writer got in first (the busy
//! timeout does not cover that upgrade). Every write transaction here is
//! therefore started with [`begin_write`], which issues `BEGIN IMMEDIATE` on
//! SQLite and a plain `BEGIN` on PostgreSQL.

pub mod accounts;
pub mod audit;
pub mod care;
mod connect;
pub mod delivery_status;
pub mod domain_rules;
mod entity;
pub mod erasures;
mod error;
pub mod federation;
pub mod groups;
pub mod moderation;
pub mod names;
pub mod notifications;
pub mod posts;
pub mod queue;
pub mod remote;
pub mod removed;
pub mod servers;
pub mod setup;
pub mod sign_ins;
pub mod tokens;
pub mod verifications;

pub use connect::{
    Backend, ConnectSettings, WriteTxn, applied_migrations, begin_write, connect, migrate, ping,
};
pub use error::DbError;
pub use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait,
};

/// The `n`th (from 1) bound parameter of a hand-written statement, as
/// `backend` writes it: `$n` on PostgreSQL, `?` on SQLite.
pub(crate) fn placeholder(backend: sea_orm::DbBackend, n: usize) -> String {
    if backend == sea_orm::DbBackend::Postgres {
        format!("${n}")
    } else {
        "?".to_owned()
    }
}

/// How many rows one page of a list may hold, at most.
pub const MAX_PAGE: u64 = 200;

#[cfg(test)]
pub(crate) use testing::test_database;

#[cfg(test)]
mod testing {
    use super::*;

    /// A migrated SQLite file in a folder of its own, for this crate's tests.
    /// Migrated as `App::open` does it, on a pool closed before the one
    /// returned is opened (see there).
    pub(crate) async fn test_database() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite3").display());
        let db = connect(&url, &ConnectSettings::default()).await.unwrap();
        migrate(&db).await.unwrap();
        db.close().await.unwrap();
        let db = connect(&url, &ConnectSettings::default()).await.unwrap();
        (dir, db)
    }
}

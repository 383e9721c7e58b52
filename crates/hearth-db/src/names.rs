//! The names people and groups share on this server: one name, one owner,
//! whatever its letter case, so that `acct:NAME@DOMAIN` has one answer.
//!
//! Creating an account or a group claims its name in `local_names` in the
//! same transaction as the insert; the table's primary key refuses a
//! second owner, also when two requests race. Names are never released.

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::DbError;
use crate::entity::local_names;

/// Who holds a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Person,
    Group,
}

impl NameKind {
    fn as_str(self) -> &'static str {
        match self {
            NameKind::Person => "person",
            NameKind::Group => "group",
        }
    }
}

/// Whether a person or a group here already has `name` (any case).
pub async fn is_taken(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbError> {
    Ok(local_names::Entity::find_by_id(name.to_ascii_lowercase())
        .one(db)
        .await?
        .is_some())
}

/// Claim `canonical` for a new person or group, inside the transaction
/// that creates it. A name already held is `Conflict { field }`: the
/// caller's transaction must then be dropped, as nothing else may be
/// written in it on PostgreSQL.
pub(crate) async fn claim(
    txn: &impl ConnectionTrait,
    canonical: &str,
    kind: NameKind,
    field: &'static str,
) -> Result<(), DbError> {
    local_names::Entity::insert(local_names::ActiveModel {
        name_canonical: Set(canonical.to_owned()),
        kind: Set(kind.as_str().to_owned()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(txn)
    .await
    .map_err(|e| DbError::unique_as(e, field))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hearth_migration::{Migrator, MigratorTrait};
    use sea_orm::{DatabaseConnection, QueryOrder};

    use super::*;

    /// A SQLite database with the migrations from before `local_names`.
    async fn database_before_names() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.sqlite3").display());
        let db = crate::connect(&url, &crate::ConnectSettings::default())
            .await
            .unwrap();
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261129_000010_local_names")
            .unwrap();
        Migrator::up(&db, Some(u32::try_from(before).unwrap()))
            .await
            .unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn the_migration_gives_a_shared_name_to_whichever_came_first() {
        let (_dir, db) = database_before_names().await;
        for (name, at) in [
            ("Ann", "10:00"),
            ("bob", "12:00"),
            ("carl", "10:00"),
            ("dora", "09:00"),
        ] {
            db.execute_unprepared(&format!(
                "INSERT INTO users (username, username_canonical, password_hash, role, status, \
                 public_key_pem, private_key_pem, created_at, updated_at) VALUES ('{name}', \
                 '{}', 'x', 'member', 'active', 'k', 'k', '2026-01-01 {at}:00', '2026-01-01 {at}:00')",
                name.to_ascii_lowercase()
            ))
            .await
            .unwrap();
        }
        // `ann` after the person, `bob` before, `carl` at the same time,
        // `circle` alone.
        for (name, at) in [
            ("ANN", "11:00"),
            ("bob", "11:00"),
            ("carl", "10:00"),
            ("circle", "08:00"),
        ] {
            db.execute_unprepared(&format!(
                "INSERT INTO groups (name, name_canonical, display_name, join_policy, listed, \
                 public_key_pem, private_key_pem, created_by, created_at, updated_at) VALUES \
                 ('{name}', '{}', 'G', 'open', true, 'k', 'k', 1, '2026-01-01 {at}:00', \
                 '2026-01-01 {at}:00')",
                name.to_ascii_lowercase()
            ))
            .await
            .unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let owners: Vec<(String, String)> = local_names::Entity::find()
            .order_by_asc(local_names::Column::NameCanonical)
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.name_canonical, row.kind))
            .collect();
        let expected = [
            ("ann", "person"),
            ("bob", "group"),
            ("carl", "person"),
            ("circle", "group"),
            ("dora", "person"),
        ];
        assert_eq!(
            owners,
            expected.map(|(n, k)| (n.to_owned(), k.to_owned())).to_vec()
        );

        assert!(is_taken(&db, "CIRCLE").await.unwrap());
        assert!(!is_taken(&db, "erin").await.unwrap());
        let txn = crate::begin_write(&db).await.unwrap();
        let clash = claim(&txn, "circle", NameKind::Person, "username").await;
        assert!(
            matches!(clash, Err(DbError::Conflict { field: "username" })),
            "{clash:?}"
        );
        drop(txn);
        let txn = crate::begin_write(&db).await.unwrap();
        claim(&txn, "erin", NameKind::Group, "name").await.unwrap();
        txn.commit().await.unwrap();
        assert!(is_taken(&db, "Erin").await.unwrap());
    }
}

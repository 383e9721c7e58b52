//! Opening the database and applying migrations.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::time::Duration;

use hearth_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgSslMode;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;

use crate::DbError;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend named by a URL's scheme, if Hearth supports it.
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

/// What [`connect`] needs beyond the URL.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub max_connections: u32,
    /// How long a SQLite writer waits for another to finish before failing.
    pub busy_timeout: Duration,
    /// How long to wait for a connection from the pool (and to connect).
    pub acquire_timeout: Duration,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// How long a pooled connection may stay unused before it is closed.
const IDLE_CONNECTION: Duration = Duration::from_secs(30);

/// Open a pool for `url` (`sqlite://path` or `postgres://…`).
///
/// For SQLite the file and its folder are created when missing, and every
/// connection runs in WAL mode with a busy timeout and foreign keys on, so
/// concurrent requests wait for each other instead of failing.
pub async fn connect(url: &str, settings: &ConnectSettings) -> Result<DatabaseConnection, DbError> {
    let backend = Backend::from_url(url).ok_or_else(|| {
        DbError::Database(DbErr::Custom(
            "unsupported database url: expected sqlite:// or postgres://".into(),
        ))
    })?;
    let folder = sqlite_path(url).and_then(|p| p.parent().map(PathBuf::from));
    if let Some(parent) = folder.filter(|p| backend == Backend::Sqlite && !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(&parent).map_err(|e| {
            DbError::Database(DbErr::Custom(format!(
                "cannot create database folder {}: {e}",
                parent.display()
            )))
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_timeout(settings.acquire_timeout)
        // A burst opens every connection, and each keeps its page cache
        // and prepared statements (SQLite: up to 2 MiB of pages each):
        // closing those left idle gives the memory back a minute after the
        // burst. Opening one again costs a millisecond or two.
        .idle_timeout(IDLE_CONNECTION)
        .sqlx_logging(false);
    let busy = settings.busy_timeout;
    options.map_sqlx_sqlite_opts(move |opts| {
        opts.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy)
            .foreign_keys(true)
    });
    if !names_ssl_mode(url) {
        options.map_sqlx_postgres_opts(|opts| {
            if is_loopback(opts.get_host()) {
                opts.ssl_mode(PgSslMode::Disable)
            } else {
                opts
            }
        });
    }
    Ok(Database::connect(options).await?)
}

/// Whether the URL (or `PGSSLMODE`) says how to use TLS. When nothing
/// does, a PostgreSQL on this machine is reached without TLS: the bytes
/// never leave the host, and the TLS handshake the driver would otherwise
/// try first costs about 100 ms per new connection here (most of a cold
/// start). A server elsewhere keeps the driver's default (`prefer`).
fn names_ssl_mode(url: &str) -> bool {
    std::env::var_os("PGSSLMODE").is_some()
        || url.split_once('?').is_some_and(|(_, query)| {
            query.split('&').any(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                key.eq_ignore_ascii_case("sslmode") || key.eq_ignore_ascii_case("ssl-mode")
            })
        })
}

/// A host name or address that is this machine (or a Unix socket folder).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The file path inside a `sqlite://` URL, without query parameters.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Apply every migration the database has not seen yet; returns their names.
pub async fn migrate(db: &DatabaseConnection) -> Result<Vec<String>, DbError> {
    let pending: Vec<String> = Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Migrator::up(db, None).await?;
    Ok(pending)
}

/// Names of the migrations already applied, oldest first.
pub async fn applied_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbError> {
    Ok(Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// A write transaction. On SQLite it also holds this process's turn to
/// write (see [`begin_write`]) until it is committed, rolled back or
/// dropped. It reads and writes like the transaction it wraps.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    /// Commit, then give the next writer its turn.
    pub async fn commit(self) -> Result<(), DbErr> {
        let WriteTxn { txn, _turn } = self;
        txn.commit().await
    }

    /// Roll back, then give the next writer its turn.
    pub async fn rollback(self) -> Result<(), DbErr> {
        let WriteTxn { txn, _turn } = self;
        txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// One turn to write per SQLite file in this process, handed out in the
/// order asked (tokio's mutex is fair).
///
/// SQLite lets one connection write at a time. Without this, concurrent
/// writers of the pool would all issue `BEGIN IMMEDIATE` and all but one
/// would wait in SQLite's busy handler, which sleeps and polls (1, 2, 5,
/// 10 … 100 ms): under load the waits grew to over a second and the
/// polling cost CPU. Waiting here instead costs nothing and wakes the next
/// writer the moment the lock is free. Other processes on the same file
/// (the CLI) still meet the busy timeout.
fn write_turns(db: &DatabaseConnection) -> Option<Arc<tokio::sync::Mutex<()>>> {
    static TURNS: OnceLock<StdMutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        OnceLock::new();
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut turns = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Some(turns.entry(file).or_default().clone())
}

/// Start a transaction that will write. On SQLite this first waits for
/// this process's turn to write (see [`write_turns`]), then takes the
/// database's write lock up front (`BEGIN IMMEDIATE`), so a read never has
/// to turn into a write later and fail.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    match write_turns(db) {
        Some(turns) => {
            let turn = turns.lock_owned().await;
            let txn = db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?;
            Ok(WriteTxn {
                txn,
                _turn: Some(turn),
            })
        }
        None => Ok(WriteTxn {
            txn: db.begin().await?,
            _turn: None,
        }),
    }
}

/// Ensure `db` answers a trivial query (used by the health check).
pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbError> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/h.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://u@h/db"), None);
        assert_eq!(Backend::from_url("nonsense"), None);
    }

    #[test]
    fn tls_is_left_to_the_url_and_skipped_only_on_this_machine() {
        assert!(names_ssl_mode("postgres://u@h/db?sslmode=require"));
        assert!(names_ssl_mode("postgres://u@h/db?a=1&SSLMODE=disable"));
        assert!(names_ssl_mode("postgres://u@h/db?ssl-mode=verify-full"));
        assert!(
            !names_ssl_mode("postgres://u@h/db?application_name=x")
                || std::env::var_os("PGSSLMODE").is_some()
        );
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.8.0.1"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("/var/run/postgresql"));
        assert!(!is_loopback("db.example.org"));
        assert!(!is_loopback("10.0.0.5"));
    }

    #[test]
    fn sqlite_path_ignores_query() {
        assert_eq!(
            sqlite_path("sqlite://./data/h.sqlite3?mode=rwc"),
            Some(PathBuf::from("./data/h.sqlite3"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}

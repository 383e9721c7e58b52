//! The storage error type.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// A unique value is already taken; `field` names it as the API does.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// The row asked for does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A stored value could not be read back (for example an unknown role
    /// string); a bug or a hand-edited database.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    /// The database could not be reached or refused the statement.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl DbError {
    /// Turn a unique-constraint violation into `Conflict { field }`, keep
    /// every other error as it is.
    pub(crate) fn unique_as(err: DbErr, field: &'static str) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => DbError::Conflict { field },
            _ => DbError::Database(err),
        }
    }
}

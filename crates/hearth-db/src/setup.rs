//! The first-run setup link: while no account is an admin, one link (the
//! row with id 1) lets its holder create the first admin account.
//!
//! Only the SHA-256 digest of the link's secret is stored. The link is
//! used up in the same transaction that creates the admin: its row is
//! deleted there, and only the request whose delete removed it goes on,
//! so of two submissions of one link exactly one creates an account.

use chrono::{DateTime, Utc};
use hearth_domain::token;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::accounts::{self, Account, NewAccount};
use crate::entity::setup_tokens;
use crate::{DbError, begin_write};

/// The only row the table ever holds.
const ROW: i64 = 1;

/// Store the digest of a new link, replacing any earlier one, unless an
/// admin exists. `false` when the server is already set up (nothing is
/// stored then).
pub async fn issue(db: &DatabaseConnection, digest: &str) -> Result<bool, DbError> {
    let txn = begin_write(db).await?;
    if accounts::admin_exists(&txn).await? {
        clear(&txn).await?;
        txn.commit().await?;
        return Ok(false);
    }
    clear(&txn).await?;
    setup_tokens::Entity::insert(setup_tokens::ActiveModel {
        id: Set(ROW),
        token_digest: Set(digest.to_owned()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Forget any link.
pub(crate) async fn clear(db: &impl ConnectionTrait) -> Result<(), DbError> {
    setup_tokens::Entity::delete_many().exec(db).await?;
    Ok(())
}

/// What a link someone holds is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// It is the current link and was issued after the cut-off.
    Valid,
    /// An admin exists: there is nothing left to set up.
    AlreadySetUp,
    /// Wrong, replaced, used or expired.
    Invalid,
}

/// Whether the link whose secret has `digest` may be used now; links
/// issued at or before `issued_after` have expired.
pub async fn check(
    db: &impl ConnectionTrait,
    digest: &str,
    issued_after: DateTime<Utc>,
) -> Result<LinkState, DbError> {
    if accounts::admin_exists(db).await? {
        return Ok(LinkState::AlreadySetUp);
    }
    // Read the one row by its id and compare digests in constant time:
    // no look-up or comparison depends on the secret's bytes.
    let valid = setup_tokens::Entity::find_by_id(ROW)
        .one(db)
        .await?
        .is_some_and(|row| {
            token::digests_match(&row.token_digest, digest) && row.created_at > issued_after
        });
    Ok(if valid {
        LinkState::Valid
    } else {
        LinkState::Invalid
    })
}

/// Use up the link and create `admin` in one transaction. Anything but
/// [`LinkState::Valid`] creates nothing; a taken username is
/// `Conflict { field: "username" }` and leaves the link as it was.
pub async fn create_first_admin(
    db: &DatabaseConnection,
    digest: &str,
    issued_after: DateTime<Utc>,
    admin: NewAccount,
) -> Result<Result<Account, LinkState>, DbError> {
    let txn = begin_write(db).await?;
    let state = check(&txn, digest, issued_after).await?;
    if state != LinkState::Valid {
        return Ok(Err(state));
    }
    // Of two requests holding the link, only the one whose delete removes
    // the row goes on: on PostgreSQL the second waits for the first's
    // commit, then finds nothing to delete; SQLite runs them one by one.
    let used = setup_tokens::Entity::delete_many()
        .filter(setup_tokens::Column::Id.eq(ROW))
        .filter(setup_tokens::Column::TokenDigest.eq(digest))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Ok(Err(LinkState::Invalid));
    }
    let account = accounts::insert_in(&txn, admin).await?;
    txn.commit().await?;
    Ok(Ok(account))
}

//! Bearer tokens: issue, resolve to an account, revoke.
//!
//! Only digests are stored (see `hearth_domain::token`). A token is valid
//! until it expires, is revoked by log-out, or its account's password or
//! status changes.

use chrono::{DateTime, Duration, Utc};
use hearth_domain::{AccountStatus, token};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::DbError;
use crate::accounts::Account;
use crate::entity::{access_tokens, users};

/// How stale `last_used_at` may get before a request refreshes it; keeps
/// reads from turning into writes on every request.
const TOUCH_AFTER: Duration = Duration::minutes(10);

/// Store the digest of a newly issued token for `user_id`.
pub async fn insert(
    db: &DatabaseConnection,
    user_id: i64,
    digest: &str,
    expires_at: DateTime<Utc>,
) -> Result<i64, DbError> {
    let now = Utc::now();
    let row = access_tokens::ActiveModel {
        user_id: Set(user_id),
        token_digest: Set(digest.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        last_used_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| DbError::unique_as(e, "token"))?;
    Ok(row.id)
}

/// A token that resolved to an active account.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_id: i64,
    pub account: Account,
}

/// The active account a token belongs to, if the token is known, unexpired
/// and the account may log in.
pub async fn resolve(db: &DatabaseConnection, secret: &str) -> Result<Option<Session>, DbError> {
    let digest = token::digest(secret);
    let found = access_tokens::Entity::find()
        .filter(access_tokens::Column::TokenDigest.eq(digest.as_str()))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    let Some((token_row, Some(user_row))) = found else {
        return Ok(None);
    };
    // The index look-up already matched; compare again in constant time so
    // that no code path depends on a variable-time string comparison.
    let now = Utc::now();
    if !token::digests_match(&token_row.token_digest, &digest) || token_row.expires_at <= now {
        return Ok(None);
    }
    let account = Account::try_from(user_row)?;
    if account.status != AccountStatus::Active {
        return Ok(None);
    }
    if now - token_row.last_used_at > TOUCH_AFTER {
        access_tokens::Entity::update_many()
            .col_expr(access_tokens::Column::LastUsedAt, now.into())
            .filter(access_tokens::Column::Id.eq(token_row.id))
            .exec(db)
            .await?;
    }
    Ok(Some(Session {
        token_id: token_row.id,
        account,
    }))
}

/// Revoke one token. Revoking a token that is already gone is not an error.
pub async fn revoke(db: &DatabaseConnection, token_id: i64) -> Result<(), DbError> {
    access_tokens::Entity::delete_by_id(token_id)
        .exec(db)
        .await?;
    Ok(())
}

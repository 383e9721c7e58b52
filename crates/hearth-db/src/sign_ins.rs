//! Where members signed in from: recorded at each sign-in, read by the
//! member, erased after the configured number of days.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::DbError;
use crate::entity::sign_ins;

/// One sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub ip: String,
    pub at: DateTime<Utc>,
}

/// Record that `user_id` signed in from `ip` now.
pub async fn record(db: &impl ConnectionTrait, user_id: i64, ip: &str) -> Result<(), DbError> {
    sign_ins::ActiveModel {
        user_id: Set(user_id),
        ip: Set(ip.to_owned()),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The newest sign-ins of `user_id`, at most `limit`.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
    limit: u64,
) -> Result<Vec<SignIn>, DbError> {
    Ok(sign_ins::Entity::find()
        .filter(sign_ins::Column::UserId.eq(user_id))
        .order_by_desc(sign_ins::Column::At)
        .order_by_desc(sign_ins::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|r| SignIn { ip: r.ip, at: r.at })
        .collect())
}

/// Erase the sign-ins from before `cutoff`. How many.
pub async fn forget_older_than(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbError> {
    Ok(sign_ins::Entity::delete_many()
        .filter(sign_ins::Column::At.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use hearth_domain::{AccountStatus, Bio, DisplayName, Role, Username};

    use super::*;
    use crate::accounts::{self, NewAccount};

    /// What is older than the cutoff is erased; what is newer stays.
    #[tokio::test]
    async fn sign_ins_older_than_the_cutoff_are_erased() {
        let (_dir, db) = crate::test_database().await;
        let account = accounts::insert(
            &db,
            NewAccount {
                username: Username::parse("mira").unwrap(),
                display_name: DisplayName::parse("Mira").unwrap(),
                bio: Bio::parse("").unwrap(),
                email: None,
                password_hash: String::new(),
                role: Role::Member,
                status: AccountStatus::Active,
                registration_reason: String::new(),
                public_key_pem: String::new(),
                private_key_pem: String::new(),
            },
        )
        .await
        .unwrap();
        record(&db, account.id, "192.0.2.1").await.unwrap();
        let before = Utc::now() - chrono::Duration::seconds(1);
        assert_eq!(forget_older_than(&db, before).await.unwrap(), 0);
        assert_eq!(of_user(&db, account.id, 10).await.unwrap().len(), 1);
        let after = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(forget_older_than(&db, after).await.unwrap(), 1);
        assert!(of_user(&db, account.id, 10).await.unwrap().is_empty());
    }
}

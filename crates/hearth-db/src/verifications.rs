//! Verified professionals: every verification of a member's role, kept
//! after it is revoked (who verified it and when, who revoked it and
//! when), the live one beside the account, and the moderators an admin
//! trusts to verify. Who may do which is decided by `hearth-app`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::DbError;
use crate::accounts::Account;
use crate::entity::{users, verifications};

/// One verification of a member's professional role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub id: i64,
    pub user_id: i64,
    pub role: String,
    /// The account that verified it.
    pub verified_by: i64,
    pub verified_at: DateTime<Utc>,
    pub revoked_by: Option<i64>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Verification {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }
}

impl From<verifications::Model> for Verification {
    fn from(r: verifications::Model) -> Self {
        Verification {
            id: r.id,
            user_id: r.user_id,
            role: r.role,
            verified_by: r.verified_by,
            verified_at: r.verified_at,
            revoked_by: r.revoked_by,
            revoked_at: r.revoked_at,
        }
    }
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Verification>, DbError> {
    Ok(verifications::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Verification::from))
}

/// Every verification of `user_id`, newest first.
pub async fn history(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<Verification>, DbError> {
    Ok(verifications::Entity::find()
        .filter(verifications::Column::UserId.eq(user_id))
        .order_by_desc(verifications::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Verification::from)
        .collect())
}

/// End the live verification of `user_id`, if any, as revoked by `by`.
pub async fn revoke(
    db: &impl ConnectionTrait,
    user_id: i64,
    by: i64,
) -> Result<Option<Verification>, DbError> {
    let now = Utc::now();
    let live = verifications::Entity::find()
        .filter(verifications::Column::UserId.eq(user_id))
        .filter(verifications::Column::RevokedAt.is_null())
        .all(db)
        .await?;
    let mut ended = None;
    for row in live {
        let mut row: verifications::ActiveModel = row.into();
        row.revoked_by = Set(Some(by));
        row.revoked_at = Set(Some(now));
        ended = Some(Verification::from(row.update(db).await?));
    }
    users::Entity::update_many()
        .col_expr(
            users::Column::ProfessionalRole,
            Option::<String>::None.into(),
        )
        .col_expr(users::Column::VerificationId, Option::<i64>::None.into())
        .col_expr(users::Column::UpdatedAt, now.into())
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(ended)
}

/// Verify `user_id` as `role`, by `by`: a new verification (a live one
/// before it is revoked, as replaced), kept beside the account.
pub async fn verify(
    db: &impl ConnectionTrait,
    user_id: i64,
    role: &str,
    by: i64,
) -> Result<Verification, DbError> {
    revoke(db, user_id, by).await?;
    let now = Utc::now();
    let row = verifications::ActiveModel {
        user_id: Set(user_id),
        role: Set(role.to_owned()),
        verified_by: Set(by),
        verified_at: Set(now),
        revoked_by: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    users::Entity::update_many()
        .col_expr(
            users::Column::ProfessionalRole,
            Some(role.to_owned()).into(),
        )
        .col_expr(users::Column::VerificationId, Some(row.id).into())
        .col_expr(users::Column::UpdatedAt, now.into())
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(row.into())
}

/// Trust (or stop trusting) the account `user_id` to verify.
pub async fn set_may_verify(
    db: &impl ConnectionTrait,
    user_id: i64,
    may: bool,
) -> Result<Account, DbError> {
    users::Entity::update_many()
        .col_expr(users::Column::MayVerify, may.into())
        .col_expr(users::Column::UpdatedAt, Utc::now().into())
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(DbError::NotFound { what: "account" })?
        .try_into()
}

/// The accounts verified now, by username.
pub async fn professionals(db: &impl ConnectionTrait) -> Result<Vec<Account>, DbError> {
    users::Entity::find()
        .filter(users::Column::ProfessionalRole.is_not_null())
        .order_by_asc(users::Column::UsernameCanonical)
        .all(db)
        .await?
        .into_iter()
        .map(Account::try_from)
        .collect()
}

/// The moderators trusted to verify, by username.
pub async fn verifiers(db: &impl ConnectionTrait) -> Result<Vec<Account>, DbError> {
    users::Entity::find()
        .filter(users::Column::MayVerify.eq(true))
        .order_by_asc(users::Column::UsernameCanonical)
        .all(db)
        .await?
        .into_iter()
        .map(Account::try_from)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::accounts::{self, NewAccount};
    use hearth_domain::{AccountStatus, Bio, DisplayName, Role, Username};

    async fn account(db: &sea_orm::DatabaseConnection, name: &str) -> Account {
        accounts::insert(
            db,
            NewAccount {
                username: Username::parse(name).unwrap(),
                display_name: DisplayName::parse("").unwrap(),
                bio: Bio::parse("").unwrap(),
                email: None,
                password_hash: "x".into(),
                role: Role::Member,
                status: AccountStatus::Active,
                registration_reason: String::new(),
                public_key_pem: String::new(),
                private_key_pem: String::new(),
            },
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn verifying_again_and_revoking_keep_the_history() {
        let (_dir, db) = crate::test_database().await;
        let nina = account(&db, "nina").await;
        let admin = account(&db, "root_admin").await;
        let first = verify(&db, nina.id, "Registered nurse", admin.id)
            .await
            .unwrap();
        let second = verify(&db, nina.id, "Registered nurse, oncology", admin.id)
            .await
            .unwrap();
        let now = accounts::find_by_id(&db, nina.id).await.unwrap().unwrap();
        assert_eq!(now.professional_role(), Some("Registered nurse, oncology"));
        assert_eq!(now.verification_id(), Some(second.id));
        assert!(!find(&db, first.id).await.unwrap().unwrap().is_live());
        let ended = revoke(&db, nina.id, admin.id).await.unwrap().unwrap();
        assert_eq!((ended.id, ended.revoked_by), (second.id, Some(admin.id)));
        let now = accounts::find_by_id(&db, nina.id).await.unwrap().unwrap();
        assert_eq!(now.professional, None);
        assert_eq!(history(&db, nina.id).await.unwrap().len(), 2);
        assert!(professionals(&db).await.unwrap().is_empty());
        assert!(
            set_may_verify(&db, admin.id, true)
                .await
                .unwrap()
                .may_verify
        );
        assert_eq!(verifiers(&db).await.unwrap().len(), 1);
    }
}

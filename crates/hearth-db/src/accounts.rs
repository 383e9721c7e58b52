//! Local accounts: create, find, list, and change them.

use chrono::{DateTime, Utc};
use hearth_domain::{AccountStatus, Bio, DisplayName, Email, Role, Username};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::entity::{access_tokens, users};
use crate::names::{self, NameKind};
use crate::{DbError, begin_write};
use sea_orm::DatabaseConnection;

/// A local account as the rest of Hearth sees it. Secrets (password hash,
/// private key) are not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub email: Option<String>,
    pub role: Role,
    pub status: AccountStatus,
    pub registration_reason: String,
    pub public_key_pem: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A moderator the admin trusts to verify professionals (admins always
    /// may).
    pub may_verify: bool,
    /// The professional role verified here, while the verification holds
    /// (boxed: most accounts have none, and accounts travel in enums).
    pub professional: Option<Box<LocalProfessional>>,
}

/// A member's professional role, verified here and not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalProfessional {
    pub role: String,
    /// The verification's id (`crate::verifications`).
    pub verification_id: i64,
}

impl Account {
    /// The professional role verified here, while it holds.
    pub fn professional_role(&self) -> Option<&str> {
        self.professional.as_ref().map(|p| p.role.as_str())
    }

    /// The live verification's id.
    pub fn verification_id(&self) -> Option<i64> {
        self.professional.as_ref().map(|p| p.verification_id)
    }
}

impl TryFrom<users::Model> for Account {
    type Error = DbError;

    fn try_from(row: users::Model) -> Result<Self, DbError> {
        let corrupt = |detail: String| DbError::Corrupt {
            table: "users",
            detail,
        };
        Ok(Account {
            role: row
                .role
                .parse()
                .map_err(|e| corrupt(format!("user {}: role: {e}", row.id)))?,
            status: row
                .status
                .parse()
                .map_err(|e| corrupt(format!("user {}: status: {e}", row.id)))?,
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            bio: row.bio,
            email: row.email,
            registration_reason: row.registration_reason,
            public_key_pem: row.public_key_pem,
            created_at: row.created_at,
            updated_at: row.updated_at,
            may_verify: row.may_verify,
            professional: match (row.professional_role, row.verification_id) {
                (Some(role), Some(verification_id)) => Some(Box::new(LocalProfessional {
                    role,
                    verification_id,
                })),
                _ => None,
            },
        })
    }
}

/// Everything needed to store a new account. The caller has validated the
/// fields (the domain types guarantee it) and hashed the password.
#[derive(Debug)]
pub struct NewAccount {
    pub username: Username,
    pub display_name: DisplayName,
    pub bio: Bio,
    pub email: Option<Email>,
    pub password_hash: String,
    pub role: Role,
    pub status: AccountStatus,
    pub registration_reason: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
}

/// Store a new account. A username that differs only in case from an
/// existing person's or group's name is a `Conflict { field: "username" }`,
/// and nothing is written.
pub async fn insert(db: &DatabaseConnection, new: NewAccount) -> Result<Account, DbError> {
    let txn = begin_write(db).await?;
    let account = insert_in(&txn, new).await?;
    txn.commit().await?;
    Ok(account)
}

/// [`insert`] inside the caller's transaction: claims the name (shared
/// with groups, see [`crate::names`]) and stores the account. A new admin
/// also ends any first-run setup link: the server is set up.
pub(crate) async fn insert_in(
    txn: &impl ConnectionTrait,
    new: NewAccount,
) -> Result<Account, DbError> {
    let canonical = new.username.canonical();
    names::claim(txn, &canonical, NameKind::Person, "username").await?;
    let now = Utc::now();
    let row = users::ActiveModel {
        username_canonical: Set(canonical),
        username: Set(new.username.as_str().to_owned()),
        display_name: Set(new.display_name.as_str().to_owned()),
        bio: Set(new.bio.as_str().to_owned()),
        email: Set(new.email.map(|e| e.as_str().to_owned())),
        password_hash: Set(new.password_hash),
        role: Set(new.role.as_str().to_owned()),
        status: Set(new.status.as_str().to_owned()),
        registration_reason: Set(new.registration_reason),
        public_key_pem: Set(new.public_key_pem),
        private_key_pem: Set(new.private_key_pem),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let model = row
        .insert(txn)
        .await
        .map_err(|e| DbError::unique_as(e, "username"))?;
    if new.role == Role::Admin {
        crate::setup::clear(txn).await?;
    }
    Account::try_from(model)
}

/// Whether any account has the admin role, whatever its status.
pub async fn admin_exists(db: &impl ConnectionTrait) -> Result<bool, DbError> {
    Ok(users::Entity::find()
        .filter(users::Column::Role.eq(Role::Admin.as_str()))
        .one(db)
        .await?
        .is_some())
}

/// An account and its password hash, for checking a log-in.
#[derive(Debug)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: String,
}

/// The ids of the active admins.
pub async fn admin_ids(db: &impl ConnectionTrait) -> Result<Vec<i64>, DbError> {
    Ok(users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Role.eq(Role::Admin.as_str()))
        .filter(users::Column::Status.eq(AccountStatus::Active.as_str()))
        .order_by_asc(users::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// Look up an account by username, ignoring case.
pub async fn find_credentials(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<Credentials>, DbError> {
    let row = users::Entity::find()
        .filter(users::Column::UsernameCanonical.eq(username.to_ascii_lowercase()))
        .one(db)
        .await?;
    row.map(|model| {
        let password_hash = model.password_hash.clone();
        Account::try_from(model).map(|account| Credentials {
            account,
            password_hash,
        })
    })
    .transpose()
}

/// Look up an account by username, ignoring case.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<Account>, DbError> {
    Ok(find_credentials(db, username).await?.map(|c| c.account))
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Account>, DbError> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Account::try_from)
        .transpose()
}

/// One page of accounts in id order, starting after `after`; optionally only
/// those with `status`.
pub async fn list(
    db: &DatabaseConnection,
    status: Option<AccountStatus>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Account>, DbError> {
    let mut query = users::Entity::find().order_by_asc(users::Column::Id);
    if let Some(status) = status {
        query = query.filter(users::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(users::Column::Id.gt(after));
    }
    query
        .limit(limit.min(crate::MAX_PAGE))
        .all(db)
        .await?
        .into_iter()
        .map(Account::try_from)
        .collect()
}

/// How many accounts there are with `status` (all when `None`).
pub async fn count(db: &DatabaseConnection, status: Option<AccountStatus>) -> Result<u64, DbError> {
    let mut query = users::Entity::find();
    if let Some(status) = status {
        query = query.filter(users::Column::Status.eq(status.as_str()));
    }
    Ok(query.count(db).await?)
}

/// Replace an account's password hash and end all its sessions, in one
/// transaction: after a password change, old tokens must not keep working.
pub async fn set_password(
    db: &DatabaseConnection,
    id: i64,
    password_hash: String,
) -> Result<(), DbError> {
    let txn = begin_write(db).await?;
    let updated = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, password_hash.into())
        .col_expr(users::Column::UpdatedAt, Utc::now().into())
        .filter(users::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DbError::NotFound { what: "account" });
    }
    access_tokens::Entity::delete_many()
        .filter(access_tokens::Column::UserId.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Change an account's status (approve or reject a sign-up). Leaving
/// `active` also ends the account's sessions.
pub async fn set_status(
    db: &DatabaseConnection,
    id: i64,
    status: AccountStatus,
) -> Result<Account, DbError> {
    let txn = begin_write(db).await?;
    let updated = users::Entity::update_many()
        .col_expr(users::Column::Status, status.as_str().into())
        .col_expr(users::Column::UpdatedAt, Utc::now().into())
        .filter(users::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DbError::NotFound { what: "account" });
    }
    if status != AccountStatus::Active {
        access_tokens::Entity::delete_many()
            .filter(access_tokens::Column::UserId.eq(id))
            .exec(&txn)
            .await?;
    }
    let row = users::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(DbError::NotFound { what: "account" })?;
    txn.commit().await?;
    Account::try_from(row)
}

/// Change an account's role.
pub async fn set_role(db: &DatabaseConnection, id: i64, role: Role) -> Result<Account, DbError> {
    update_columns(
        db,
        id,
        vec![(users::Column::Role, role.as_str().to_owned().into())],
    )
    .await
}

/// Profile fields a member may change; `None` leaves a field as it is.
/// `email: Some(None)` removes the address.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub display_name: Option<DisplayName>,
    pub bio: Option<Bio>,
    pub email: Option<Option<Email>>,
}

pub async fn update_profile(
    db: &DatabaseConnection,
    id: i64,
    change: ProfileChange,
) -> Result<Account, DbError> {
    let mut columns: Vec<(users::Column, sea_orm::sea_query::SimpleExpr)> = Vec::new();
    if let Some(name) = change.display_name {
        columns.push((users::Column::DisplayName, name.as_str().to_owned().into()));
    }
    if let Some(bio) = change.bio {
        columns.push((users::Column::Bio, bio.as_str().to_owned().into()));
    }
    if let Some(email) = change.email {
        columns.push((
            users::Column::Email,
            email.map(|e| e.as_str().to_owned()).into(),
        ));
    }
    update_columns(db, id, columns).await
}

async fn update_columns(
    db: &DatabaseConnection,
    id: i64,
    columns: Vec<(users::Column, sea_orm::sea_query::SimpleExpr)>,
) -> Result<Account, DbError> {
    let txn = begin_write(db).await?;
    let mut update = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Utc::now().into())
        .filter(users::Column::Id.eq(id));
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    let updated = update.exec(&txn).await?;
    if updated.rows_affected == 0 {
        return Err(DbError::NotFound { what: "account" });
    }
    let row = users::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(DbError::NotFound { what: "account" })?;
    txn.commit().await?;
    Account::try_from(row)
}

/// The account's private key PEM, for signing. Kept out of [`Account`] so it
/// cannot end up serialised by accident.
pub async fn private_key_pem(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<String>, DbError> {
    Ok(users::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|row| row.private_key_pem))
}

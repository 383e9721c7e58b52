//! What Hearth knows of other servers' software, keyed by authority
//! (`host[:port]`, lower case).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::DbError;
use crate::entity::server_software;

/// A server's software as last read from its NodeInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSoftware {
    /// `software.name`; `None` when the server had no readable NodeInfo.
    pub name: Option<String>,
    pub version: Option<String>,
    pub checked_at: DateTime<Utc>,
}

pub async fn software_of(
    db: &impl ConnectionTrait,
    authority: &str,
) -> Result<Option<KnownSoftware>, DbError> {
    Ok(
        server_software::Entity::find_by_id(authority.to_ascii_lowercase())
            .one(db)
            .await?
            .map(|row| KnownSoftware {
                name: row.software,
                version: row.version,
                checked_at: row.checked_at,
            }),
    )
}

/// Record what `authority` runs (`name` `None`: it could not be read).
pub async fn record_software(
    db: &impl ConnectionTrait,
    authority: &str,
    name: Option<&str>,
    version: Option<&str>,
) -> Result<(), DbError> {
    let cut = |s: &str| s.chars().take(64).collect::<String>();
    server_software::Entity::insert(server_software::ActiveModel {
        authority: Set(authority.to_ascii_lowercase()),
        software: Set(name.map(cut)),
        version: Set(version.map(cut)),
        checked_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(server_software::Column::Authority)
            .update_columns([
                server_software::Column::Software,
                server_software::Column::Version,
                server_software::Column::CheckedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

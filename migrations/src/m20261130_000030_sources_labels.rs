//! Sources and labels: a post's sources (its author's list, in order, as
//! JSON: `[{"url","title","type"}]`; none is NULL) and the one current
//! label its group's moderators put on it (kind, note, link, who set it;
//! `label_at` says when the label was last set or removed, so another
//! server can tell the newer word).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Posts {
    Table,
    Sources,
    LabelKind,
    LabelNote,
    LabelLink,
    LabelBy,
    LabelAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            text_null(Posts::Sources),
            string_null(Posts::LabelKind),
            text_null(Posts::LabelNote),
            text_null(Posts::LabelLink),
            text_null(Posts::LabelBy),
            timestamp_with_time_zone_null(Posts::LabelAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Posts::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Posts::Sources,
            Posts::LabelKind,
            Posts::LabelNote,
            Posts::LabelLink,
            Posts::LabelBy,
            Posts::LabelAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Posts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

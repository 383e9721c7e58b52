//! The one-door repairs:
//! - an outbound activity records the post it is about, so who may fetch it
//!   by id is decided by the read rule for that post;
//! - a reply has its thread's visibility (replies stored before could be
//!   wider than their thread: they are narrowed);
//! - moderators are members: moderators who left their group stop being
//!   moderators.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboundActivities {
    Table,
    AboutApId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboundActivities::Table)
                    .add_column(string_len_null(OutboundActivities::AboutApId, 2048))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE posts SET visibility = \
             (SELECT r.visibility FROM posts r WHERE r.id = posts.root_id) \
             WHERE root_id IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "DELETE FROM group_moderators WHERE NOT EXISTS \
             (SELECT 1 FROM group_members m WHERE m.group_id = group_moderators.group_id \
              AND m.user_id = group_moderators.user_id AND m.state = 'joined')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboundActivities::Table)
                    .drop_column(OutboundActivities::AboutApId)
                    .to_owned(),
            )
            .await
    }
}

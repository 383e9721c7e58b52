//! An activity carrying what only a group's members may read (a
//! members-only post, any reaction) names that group
//! (`outbound_activities.private_to_group`), so that when the last member
//! of a server leaves, what is still waiting to go there is dropped, and
//! so that such an activity is fetched by its id only by its recipients.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboundActivities {
    Table,
    PrivateToGroup,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboundActivities::Table)
                    .add_column(big_integer_null(OutboundActivities::PrivateToGroup))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbound_activities_private_to_group")
                    .table(OutboundActivities::Table)
                    .col(OutboundActivities::PrivateToGroup)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbound_activities_private_to_group")
                    .table(OutboundActivities::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboundActivities::Table)
                    .drop_column(OutboundActivities::PrivateToGroup)
                    .to_owned(),
            )
            .await
    }
}

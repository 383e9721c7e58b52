//! Federation: the instance actor, local groups and their moderators,
//! cached remote actors, memberships both ways, and the record of every
//! activity received and every delivery sent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SiteActor {
    Table,
    Id,
    PublicKeyPem,
    PrivateKeyPem,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    Name,
    NameCanonical,
    DisplayName,
    Description,
    Rules,
    JoinPolicy,
    Listed,
    PublicKeyPem,
    PrivateKeyPem,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GroupModerators {
    Table,
    Id,
    GroupId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RemoteActors {
    Table,
    Id,
    ApId,
    Kind,
    Authority,
    PreferredUsername,
    Name,
    Summary,
    Inbox,
    SharedInbox,
    Outbox,
    Followers,
    Url,
    PublicKeyId,
    PublicKeyPem,
    ManuallyApprovesFollowers,
    FetchedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    Id,
    GroupId,
    UserId,
    RemoteActorId,
    State,
    FollowApId,
    DecidedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RemoteMemberships {
    Table,
    Id,
    UserId,
    GroupActorId,
    State,
    FollowApId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InboundActivities {
    Table,
    Id,
    ApId,
    Kind,
    ActorApId,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum OutboundActivities {
    Table,
    Id,
    ApId,
    Kind,
    ActorApId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    ActivityId,
    Inbox,
    Authority,
    State,
    Attempts,
    LastStatus,
    LastError,
    NextAttemptAt,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SiteActor::Table)
                    .col(big_integer(SiteActor::Id).primary_key())
                    .col(text(SiteActor::PublicKeyPem))
                    .col(text(SiteActor::PrivateKeyPem))
                    .col(timestamp_with_time_zone(SiteActor::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .col(big_pk_auto(Groups::Id))
                    .col(string_len(Groups::Name, 30))
                    .col(string_len_uniq(Groups::NameCanonical, 30))
                    .col(string_len(Groups::DisplayName, 100))
                    .col(text(Groups::Description).default(""))
                    .col(text(Groups::Rules).default(""))
                    .col(string_len(Groups::JoinPolicy, 16))
                    .col(boolean(Groups::Listed))
                    .col(text(Groups::PublicKeyPem))
                    .col(text(Groups::PrivateKeyPem))
                    .col(big_integer(Groups::CreatedBy))
                    .col(timestamp_with_time_zone(Groups::CreatedAt))
                    .col(timestamp_with_time_zone(Groups::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_groups_created_by",
                        (Groups::Table, Groups::CreatedBy),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupModerators::Table)
                    .col(big_pk_auto(GroupModerators::Id))
                    .col(big_integer(GroupModerators::GroupId))
                    .col(big_integer(GroupModerators::UserId))
                    .col(timestamp_with_time_zone(GroupModerators::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_group_moderators_group",
                        (GroupModerators::Table, GroupModerators::GroupId),
                        (Groups::Table, Groups::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_group_moderators_user",
                        (GroupModerators::Table, GroupModerators::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_group_moderators_unique")
                    .table(GroupModerators::Table)
                    .col(GroupModerators::GroupId)
                    .col(GroupModerators::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RemoteActors::Table)
                    .col(big_pk_auto(RemoteActors::Id))
                    .col(string_len_uniq(RemoteActors::ApId, 2048))
                    .col(string_len(RemoteActors::Kind, 32))
                    .col(string_len(RemoteActors::Authority, 260))
                    .col(string_len(RemoteActors::PreferredUsername, 255).default(""))
                    .col(text(RemoteActors::Name).default(""))
                    .col(text(RemoteActors::Summary).default(""))
                    .col(string_len(RemoteActors::Inbox, 2048))
                    .col(string_len_null(RemoteActors::SharedInbox, 2048))
                    .col(string_len_null(RemoteActors::Outbox, 2048))
                    .col(string_len_null(RemoteActors::Followers, 2048))
                    .col(string_len_null(RemoteActors::Url, 2048))
                    .col(string_len(RemoteActors::PublicKeyId, 2048))
                    .col(text(RemoteActors::PublicKeyPem))
                    .col(boolean(RemoteActors::ManuallyApprovesFollowers).default(false))
                    .col(timestamp_with_time_zone(RemoteActors::FetchedAt))
                    .col(timestamp_with_time_zone(RemoteActors::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_remote_actors_authority")
                    .table(RemoteActors::Table)
                    .col(RemoteActors::Authority)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupMembers::Table)
                    .col(big_pk_auto(GroupMembers::Id))
                    .col(big_integer(GroupMembers::GroupId))
                    .col(big_integer_null(GroupMembers::UserId))
                    .col(big_integer_null(GroupMembers::RemoteActorId))
                    .col(string_len(GroupMembers::State, 16))
                    .col(string_len_null(GroupMembers::FollowApId, 2048))
                    .col(big_integer_null(GroupMembers::DecidedBy))
                    .col(timestamp_with_time_zone(GroupMembers::CreatedAt))
                    .col(timestamp_with_time_zone(GroupMembers::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_group_members_group",
                        (GroupMembers::Table, GroupMembers::GroupId),
                        (Groups::Table, Groups::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_group_members_user",
                        (GroupMembers::Table, GroupMembers::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_group_members_remote",
                        (GroupMembers::Table, GroupMembers::RemoteActorId),
                        (RemoteActors::Table, RemoteActors::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_group_members_local", GroupMembers::UserId),
            ("idx_group_members_remote", GroupMembers::RemoteActorId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(GroupMembers::Table)
                        .col(GroupMembers::GroupId)
                        .col(col)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_group_members_state")
                    .table(GroupMembers::Table)
                    .col(GroupMembers::GroupId)
                    .col(GroupMembers::State)
                    .col(GroupMembers::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RemoteMemberships::Table)
                    .col(big_pk_auto(RemoteMemberships::Id))
                    .col(big_integer(RemoteMemberships::UserId))
                    .col(big_integer(RemoteMemberships::GroupActorId))
                    .col(string_len(RemoteMemberships::State, 16))
                    .col(string_len_uniq(RemoteMemberships::FollowApId, 2048))
                    .col(timestamp_with_time_zone(RemoteMemberships::CreatedAt))
                    .col(timestamp_with_time_zone(RemoteMemberships::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_remote_memberships_user",
                        (RemoteMemberships::Table, RemoteMemberships::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_remote_memberships_group",
                        (RemoteMemberships::Table, RemoteMemberships::GroupActorId),
                        (RemoteActors::Table, RemoteActors::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_remote_memberships_unique")
                    .table(RemoteMemberships::Table)
                    .col(RemoteMemberships::UserId)
                    .col(RemoteMemberships::GroupActorId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InboundActivities::Table)
                    .col(big_pk_auto(InboundActivities::Id))
                    .col(string_len_uniq(InboundActivities::ApId, 2048))
                    .col(string_len(InboundActivities::Kind, 64))
                    .col(string_len(InboundActivities::ActorApId, 2048))
                    .col(timestamp_with_time_zone(InboundActivities::ReceivedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboundActivities::Table)
                    .col(big_pk_auto(OutboundActivities::Id))
                    .col(string_len_uniq(OutboundActivities::ApId, 2048))
                    .col(string_len(OutboundActivities::Kind, 64))
                    .col(string_len(OutboundActivities::ActorApId, 2048))
                    .col(text(OutboundActivities::Body))
                    .col(timestamp_with_time_zone(OutboundActivities::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(big_pk_auto(Deliveries::Id))
                    .col(big_integer(Deliveries::ActivityId))
                    .col(string_len(Deliveries::Inbox, 2048))
                    .col(string_len(Deliveries::Authority, 260))
                    .col(string_len(Deliveries::State, 16))
                    .col(integer(Deliveries::Attempts).default(0))
                    .col(integer_null(Deliveries::LastStatus))
                    .col(text_null(Deliveries::LastError))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(timestamp_with_time_zone(Deliveries::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_deliveries_activity",
                        (Deliveries::Table, Deliveries::ActivityId),
                        (OutboundActivities::Table, OutboundActivities::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_due")
                    .table(Deliveries::Table)
                    .col(Deliveries::State)
                    .col(Deliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Deliveries::Table.into_iden(),
            OutboundActivities::Table.into_iden(),
            InboundActivities::Table.into_iden(),
            RemoteMemberships::Table.into_iden(),
            GroupMembers::Table.into_iden(),
            RemoteActors::Table.into_iden(),
            GroupModerators::Table.into_iden(),
            Groups::Table.into_iden(),
            SiteActor::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

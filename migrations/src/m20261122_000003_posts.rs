//! Posts (threads and replies) and support reactions, for groups here and
//! on other servers. Every post carries its visibility from the start.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
    ApId,
    GroupApId,
    GroupId,
    AuthorApId,
    AuthorUserId,
    ParentId,
    RootId,
    InReplyToApId,
    Kind,
    Title,
    Source,
    ContentHtml,
    ContentWarning,
    SupportKind,
    Visibility,
    Url,
    Local,
    PublishedAt,
    UpdatedAt,
    DeletedAt,
    LastActivityAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Reactions {
    Table,
    Id,
    PostId,
    Reaction,
    ActorApId,
    UserId,
    ApId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    .col(big_pk_auto(Posts::Id))
                    .col(string_len_uniq(Posts::ApId, 2048))
                    .col(string_len(Posts::GroupApId, 2048))
                    .col(big_integer_null(Posts::GroupId))
                    .col(string_len(Posts::AuthorApId, 2048))
                    .col(big_integer_null(Posts::AuthorUserId))
                    .col(big_integer_null(Posts::ParentId))
                    .col(big_integer_null(Posts::RootId))
                    .col(string_len_null(Posts::InReplyToApId, 2048))
                    .col(string_len(Posts::Kind, 16))
                    .col(text(Posts::Title).default(""))
                    .col(text(Posts::Source).default(""))
                    .col(text(Posts::ContentHtml).default(""))
                    .col(text_null(Posts::ContentWarning))
                    .col(string_len_null(Posts::SupportKind, 32))
                    .col(string_len(Posts::Visibility, 16))
                    .col(string_len_null(Posts::Url, 2048))
                    .col(boolean(Posts::Local))
                    .col(timestamp_with_time_zone(Posts::PublishedAt))
                    .col(timestamp_with_time_zone_null(Posts::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Posts::DeletedAt))
                    .col(timestamp_with_time_zone(Posts::LastActivityAt))
                    .col(timestamp_with_time_zone(Posts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posts_group")
                            .from(Posts::Table, Posts::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_posts_author")
                            .from(Posts::Table, Posts::AuthorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_posts_group_time",
                vec![Posts::GroupApId, Posts::Kind, Posts::Id],
            ),
            ("idx_posts_root", vec![Posts::RootId, Posts::Id]),
            ("idx_posts_author", vec![Posts::AuthorApId, Posts::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Posts::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Reactions::Table)
                    .col(big_pk_auto(Reactions::Id))
                    .col(big_integer(Reactions::PostId))
                    .col(string_len(Reactions::Reaction, 16))
                    .col(string_len(Reactions::ActorApId, 2048))
                    .col(big_integer_null(Reactions::UserId))
                    .col(string_len_uniq(Reactions::ApId, 2048))
                    .col(timestamp_with_time_zone(Reactions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reactions_post")
                            .from(Reactions::Table, Reactions::PostId)
                            .to(Posts::Table, Posts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reactions_once")
                    .table(Reactions::Table)
                    .col(Reactions::PostId)
                    .col(Reactions::ActorApId)
                    .col(Reactions::Reaction)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reactions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Posts::Table).to_owned())
            .await
    }
}

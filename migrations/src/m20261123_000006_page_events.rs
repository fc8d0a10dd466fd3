//! What happened to pages (created, changed, renamed, trashed, restored), for recent changes and
//! feeds; and personal feed tokens for members-only and private spaces.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PageEvents {
    Table,
    Id,
    PageId,
    SpaceId,
    Kind,
    UserId,
    RevisionId,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FeedTokens {
    Table,
    UserId,
    TokenHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Pages {
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
                    .table(PageEvents::Table)
                    .col(
                        ColumnDef::new(PageEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PageEvents::PageId).big_integer().not_null())
                    .col(ColumnDef::new(PageEvents::SpaceId).big_integer().not_null())
                    .col(ColumnDef::new(PageEvents::Kind).string().not_null())
                    .col(ColumnDef::new(PageEvents::UserId).big_integer().null())
                    .col(ColumnDef::new(PageEvents::RevisionId).big_integer().null())
                    .col(ColumnDef::new(PageEvents::Detail).string().not_null().default(""))
                    .col(
                        ColumnDef::new(PageEvents::CreatedAt).timestamp_with_time_zone().not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageEvents::Table, PageEvents::PageId)
                            .to(Pages::Table, Pages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_page_events_space")
                    .table(PageEvents::Table)
                    .col(PageEvents::SpaceId)
                    .col(PageEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedTokens::Table)
                    .col(ColumnDef::new(FeedTokens::UserId).big_integer().not_null().primary_key())
                    .col(ColumnDef::new(FeedTokens::TokenHash).string().not_null().unique_key())
                    .col(
                        ColumnDef::new(FeedTokens::CreatedAt).timestamp_with_time_zone().not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FeedTokens::Table, FeedTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(FeedTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(PageEvents::Table).to_owned()).await
    }
}

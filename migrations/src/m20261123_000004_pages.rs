//! Pages: their identity in a space, old addresses that redirect, and the projections of their
//! documents (plain text, outgoing links) that lists and backlinks query.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Pages {
    Table,
    Id,
    SpaceId,
    Slug,
    Title,
    Form,
    PlainText,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    TrashedAt,
}

#[derive(DeriveIden)]
enum PageRedirects {
    Table,
    SpaceId,
    Slug,
    PageId,
}

#[derive(DeriveIden)]
enum PageLinks {
    Table,
    FromPage,
    ToSpace,
    ToSlug,
}

#[derive(DeriveIden)]
enum Spaces {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Pages::Table)
                    .col(
                        ColumnDef::new(Pages::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Pages::SpaceId).big_integer().not_null())
                    .col(ColumnDef::new(Pages::Slug).string().not_null())
                    .col(ColumnDef::new(Pages::Title).string().not_null())
                    .col(ColumnDef::new(Pages::Form).string().null())
                    .col(ColumnDef::new(Pages::PlainText).text().not_null().default(""))
                    .col(ColumnDef::new(Pages::CreatedBy).big_integer().null())
                    .col(ColumnDef::new(Pages::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Pages::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Pages::TrashedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Pages::Table, Pages::SpaceId)
                            .to(Spaces::Table, Spaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pages_space_slug")
                    .table(Pages::Table)
                    .col(Pages::SpaceId)
                    .col(Pages::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PageRedirects::Table)
                    .col(ColumnDef::new(PageRedirects::SpaceId).big_integer().not_null())
                    .col(ColumnDef::new(PageRedirects::Slug).string().not_null())
                    .col(ColumnDef::new(PageRedirects::PageId).big_integer().not_null())
                    .primary_key(
                        Index::create().col(PageRedirects::SpaceId).col(PageRedirects::Slug),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageRedirects::Table, PageRedirects::PageId)
                            .to(Pages::Table, Pages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PageLinks::Table)
                    .col(ColumnDef::new(PageLinks::FromPage).big_integer().not_null())
                    .col(ColumnDef::new(PageLinks::ToSpace).string().not_null())
                    .col(ColumnDef::new(PageLinks::ToSlug).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(PageLinks::FromPage)
                            .col(PageLinks::ToSpace)
                            .col(PageLinks::ToSlug),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PageLinks::Table, PageLinks::FromPage)
                            .to(Pages::Table, Pages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_page_links_target")
                    .table(PageLinks::Table)
                    .col(PageLinks::ToSpace)
                    .col(PageLinks::ToSlug)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PageLinks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(PageRedirects::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Pages::Table).to_owned()).await
    }
}

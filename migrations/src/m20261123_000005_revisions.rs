//! Page history: revisions (named states of a page's document) and who contributed to each.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Id,
    PageId,
    Kind,
    Note,
    State,
    Markdown,
    Fields,
    Added,
    Removed,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RevisionAuthors {
    Table,
    RevisionId,
    UserId,
}

#[derive(DeriveIden)]
enum Pages {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Revisions::Table)
                    .col(
                        ColumnDef::new(Revisions::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Revisions::PageId).big_integer().not_null())
                    .col(ColumnDef::new(Revisions::Kind).string().not_null())
                    .col(ColumnDef::new(Revisions::Note).string().not_null().default(""))
                    .col(ColumnDef::new(Revisions::State).blob().not_null())
                    .col(ColumnDef::new(Revisions::Markdown).text().not_null())
                    .col(ColumnDef::new(Revisions::Fields).text().not_null().default("{}"))
                    .col(ColumnDef::new(Revisions::Added).integer().not_null().default(0))
                    .col(ColumnDef::new(Revisions::Removed).integer().not_null().default(0))
                    .col(ColumnDef::new(Revisions::CreatedBy).big_integer().null())
                    .col(ColumnDef::new(Revisions::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Revisions::Table, Revisions::PageId)
                            .to(Pages::Table, Pages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_revisions_page")
                    .table(Revisions::Table)
                    .col(Revisions::PageId)
                    .col(Revisions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevisionAuthors::Table)
                    .col(ColumnDef::new(RevisionAuthors::RevisionId).big_integer().not_null())
                    .col(ColumnDef::new(RevisionAuthors::UserId).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(RevisionAuthors::RevisionId)
                            .col(RevisionAuthors::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RevisionAuthors::Table, RevisionAuthors::RevisionId)
                            .to(Revisions::Table, Revisions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RevisionAuthors::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Revisions::Table).to_owned()).await
    }
}

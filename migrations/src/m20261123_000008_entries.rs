//! Entries grow up: a page may be for its space's members only (members-only events) or belong
//! to an account (member profiles); the projection keeps each value's JSON for exports; uploaded
//! files are known by the hash of their content.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Pages {
    Table,
    MembersOnly,
    OwnerId,
}

#[derive(DeriveIden)]
enum EntryFields {
    Table,
    Value,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Hash,
    ContentType,
    Size,
    Name,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters a table one change at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Pages::Table)
                    .add_column(
                        ColumnDef::new(Pages::MembersOnly).boolean().not_null().default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Pages::Table)
                    .add_column(ColumnDef::new(Pages::OwnerId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pages_owner")
                    .table(Pages::Table)
                    .col(Pages::OwnerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EntryFields::Table)
                    .add_column(
                        ColumnDef::new(EntryFields::Value).text().not_null().default("null"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .col(ColumnDef::new(Uploads::Hash).string().not_null().primary_key())
                    .col(ColumnDef::new(Uploads::ContentType).string().not_null())
                    .col(ColumnDef::new(Uploads::Size).big_integer().not_null())
                    .col(ColumnDef::new(Uploads::Name).string().not_null())
                    .col(ColumnDef::new(Uploads::CreatedBy).big_integer().null())
                    .col(ColumnDef::new(Uploads::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Uploads::Table).to_owned()).await?;
        manager
            .drop_index(Index::drop().name("idx_pages_owner").table(Pages::Table).to_owned())
            .await?;
        for column in [Pages::MembersOnly, Pages::OwnerId] {
            manager
                .alter_table(Table::alter().table(Pages::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter().table(EntryFields::Table).drop_column(EntryFields::Value).to_owned(),
            )
            .await
    }
}

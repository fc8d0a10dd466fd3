//! Forms (typed fields; an entry is a page of a form) and the projection of entries' field
//! values into SQL, so directory, agenda, resources and map are plain queries.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Forms {
    Table,
    Id,
    Key,
    Name,
    Description,
    Fields,
    Builtin,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EntryFields {
    Table,
    PageId,
    Key,
    Text,
    Number,
    StartsAt,
    EndsAt,
    Lat,
    Lon,
}

#[derive(DeriveIden)]
enum Pages {
    Table,
    Id,
    Form,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Forms::Table)
                    .col(
                        ColumnDef::new(Forms::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Forms::Key).string().not_null().unique_key())
                    .col(ColumnDef::new(Forms::Name).string().not_null())
                    .col(ColumnDef::new(Forms::Description).text().not_null().default(""))
                    .col(ColumnDef::new(Forms::Fields).text().not_null())
                    .col(ColumnDef::new(Forms::Builtin).boolean().not_null().default(false))
                    .col(ColumnDef::new(Forms::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Forms::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EntryFields::Table)
                    .col(ColumnDef::new(EntryFields::PageId).big_integer().not_null())
                    .col(ColumnDef::new(EntryFields::Key).string().not_null())
                    .col(ColumnDef::new(EntryFields::Text).text().not_null().default(""))
                    .col(ColumnDef::new(EntryFields::Number).double().null())
                    .col(ColumnDef::new(EntryFields::StartsAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(EntryFields::EndsAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(EntryFields::Lat).double().null())
                    .col(ColumnDef::new(EntryFields::Lon).double().null())
                    .primary_key(Index::create().col(EntryFields::PageId).col(EntryFields::Key))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EntryFields::Table, EntryFields::PageId)
                            .to(Pages::Table, Pages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_entry_fields_starts")
                    .table(EntryFields::Table)
                    .col(EntryFields::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pages_form")
                    .table(Pages::Table)
                    .col(Pages::Form)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EntryFields::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Forms::Table).to_owned()).await
    }
}

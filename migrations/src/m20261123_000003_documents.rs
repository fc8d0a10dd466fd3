//! The CRDT documents: an append-only log of updates and a compacted snapshot per document.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DocUpdates {
    Table,
    DocId,
    Seq,
    Data,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DocSnapshots {
    Table,
    DocId,
    State,
    Seq,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DocUpdates::Table)
                    .col(ColumnDef::new(DocUpdates::DocId).big_integer().not_null())
                    .col(ColumnDef::new(DocUpdates::Seq).big_integer().not_null())
                    .col(ColumnDef::new(DocUpdates::Data).blob().not_null())
                    .col(ColumnDef::new(DocUpdates::AuthorId).big_integer().null())
                    .col(
                        ColumnDef::new(DocUpdates::CreatedAt).timestamp_with_time_zone().not_null(),
                    )
                    .primary_key(Index::create().col(DocUpdates::DocId).col(DocUpdates::Seq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DocSnapshots::Table)
                    .col(ColumnDef::new(DocSnapshots::DocId).big_integer().not_null().primary_key())
                    .col(ColumnDef::new(DocSnapshots::State).blob().not_null())
                    .col(ColumnDef::new(DocSnapshots::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(DocSnapshots::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DocSnapshots::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(DocUpdates::Table).to_owned()).await
    }
}

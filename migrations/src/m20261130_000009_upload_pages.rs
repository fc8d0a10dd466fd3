//! A file is served for the pages it was uploaded to, never because a field names its hash: the
//! page of every upload is recorded. Files that entries hold today are recorded for those
//! entries.
use sea_orm_migration::{prelude::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UploadPages {
    Table,
    Hash,
    PageId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UploadPages::Table)
                    .col(ColumnDef::new(UploadPages::Hash).string().not_null())
                    .col(ColumnDef::new(UploadPages::PageId).big_integer().not_null())
                    .col(
                        ColumnDef::new(UploadPages::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(UploadPages::Hash).col(UploadPages::PageId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_upload_pages_page")
                    .table(UploadPages::Table)
                    .col(UploadPages::PageId)
                    .to_owned(),
            )
            .await?;
        // The files entries hold now, from their projected values.
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db
            .query_all(sea_orm_migration::sea_orm::Statement::from_string(
                backend,
                "SELECT page_id, value FROM entry_fields WHERE value LIKE '%\"hash\"%'",
            ))
            .await?;
        for row in rows {
            let page: i64 = row.try_get("", "page_id")?;
            let value: String = row.try_get("", "value")?;
            let Some(hash) = serde_json::from_str::<serde_json::Value>(&value)
                .ok()
                .and_then(|v| v.get("hash").and_then(|h| h.as_str()).map(str::to_owned))
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            else {
                continue;
            };
            let insert = Query::insert()
                .into_table(UploadPages::Table)
                .columns([UploadPages::Hash, UploadPages::PageId, UploadPages::CreatedAt])
                .values_panic([hash.into(), page.into(), Expr::current_timestamp().into()])
                .on_conflict(
                    OnConflict::columns([UploadPages::Hash, UploadPages::PageId])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned();
            manager.exec_stmt(insert).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UploadPages::Table).to_owned()).await
    }
}

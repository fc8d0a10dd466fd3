//! A file stored once for the same bytes is shown, on each page, as that page's own upload: its
//! name, type and uploader are kept with the page's record of it, no longer only with the file
//! (where the first upload's, from another space maybe, showed everywhere).
//!
//! Records made before: the first page a file went to (and the pages of that page's space) keep
//! what the file says of itself; pages of other spaces keep only the name their entry's value
//! gave it, else none, and no uploader — who sent it there is not known.
use std::collections::HashMap;

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UploadPages {
    Table,
    Hash,
    PageId,
    Name,
    ContentType,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column at a time: SQLite alters a table one change per statement.
        for column in [
            ColumnDef::new(UploadPages::Name).string().not_null().default("").to_owned(),
            ColumnDef::new(UploadPages::ContentType).string().not_null().default("").to_owned(),
            ColumnDef::new(UploadPages::CreatedBy).big_integer().null().to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(UploadPages::Table).add_column(column).to_owned())
                .await?;
        }
        fill_in(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [UploadPages::Name, UploadPages::ContentType, UploadPages::CreatedBy] {
            manager
                .alter_table(
                    Table::alter().table(UploadPages::Table).drop_column(column).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// What a file says of itself (from its first upload).
struct Stored {
    name: String,
    content_type: String,
    created_by: Option<i64>,
}

async fn fill_in(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let read = |sql: &str| Statement::from_string(backend, sql.to_owned());
    let mut stored: HashMap<String, Stored> = HashMap::new();
    for row in
        db.query_all(read("SELECT hash, name, content_type, created_by FROM uploads")).await?
    {
        stored.insert(
            row.try_get("", "hash")?,
            Stored {
                name: row.try_get("", "name")?,
                content_type: row.try_get("", "content_type")?,
                created_by: row.try_get("", "created_by")?,
            },
        );
    }
    // The name each entry's value gave its file (that entry's own upload).
    let mut in_entries: HashMap<(i64, String), String> = HashMap::new();
    for row in db
        .query_all(read("SELECT page_id, value FROM entry_fields WHERE value LIKE '%\"hash\"%'"))
        .await?
    {
        let page: i64 = row.try_get("", "page_id")?;
        let value: String = row.try_get("", "value")?;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&value) else { continue };
        let hash = value.get("hash").and_then(|h| h.as_str());
        let name = value.get("name").and_then(|n| n.as_str());
        if let (Some(hash), Some(name)) = (hash, name) {
            in_entries.insert((page, hash.to_owned()), name.to_owned());
        }
    }
    // Oldest first for each file: its first page tells which space it was sent to first.
    let records = db
        .query_all(read(
            "SELECT upload_pages.hash AS hash, upload_pages.page_id AS page_id, \
             pages.space_id AS space_id \
             FROM upload_pages LEFT JOIN pages ON pages.id = upload_pages.page_id \
             ORDER BY upload_pages.hash, upload_pages.created_at, upload_pages.page_id",
        ))
        .await?;
    let mut first_space: HashMap<String, Option<i64>> = HashMap::new();
    for row in records {
        let hash: String = row.try_get("", "hash")?;
        let page: i64 = row.try_get("", "page_id")?;
        let space: Option<i64> = row.try_get("", "space_id")?;
        let Some(file) = stored.get(&hash) else { continue };
        let first = *first_space.entry(hash.clone()).or_insert(space);
        let (name, created_by) = if space.is_some() && space == first {
            (file.name.clone(), file.created_by)
        } else {
            (in_entries.get(&(page, hash.clone())).cloned().unwrap_or_default(), None)
        };
        let update = Query::update()
            .table(UploadPages::Table)
            .value(UploadPages::Name, name)
            .value(UploadPages::ContentType, file.content_type.clone())
            .value(UploadPages::CreatedBy, created_by)
            .and_where(Expr::col(UploadPages::Hash).eq(hash))
            .and_where(Expr::col(UploadPages::PageId).eq(page))
            .to_owned();
        manager.exec_stmt(update).await?;
    }
    Ok(())
}

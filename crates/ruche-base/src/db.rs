//! The database connection: SQLite by default, PostgreSQL when the URL names one; migrated on open.
use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

pub use sea_orm::DatabaseConnection as Db;

/// Opens the database and brings its schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One connection: SQLite has one writer at a time anyway, and a transaction that reads
        // then writes fails with "database is locked" when another connection wrote in between
        // (measured: intermittent 500s under concurrent editing). Queuing on one connection
        // serialises them instead. Never hold a transaction while calling code that uses `db`.
        options.max_connections(1).min_connections(1);
    } else {
        options.max_connections(16);
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to the database {}", redact(url)))?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers go on while a write commits.
        db.execute_unprepared(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        .await
        .context("setting SQLite pragmas")?;
    }
    Migrator::up(&db, None).await.context("migrating the database")?;
    Ok(db)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

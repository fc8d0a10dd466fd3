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
        // SQLite allows one writer at a time; a small pool avoids piling up on its lock.
        options.max_connections(4);
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

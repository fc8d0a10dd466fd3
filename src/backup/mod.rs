//! Backup and restore of a whole site: every table of the database (accounts, spaces, pages,
//! the documents' update logs and snapshots, revisions, forms, entries…) and the uploaded
//! files, in one zip archive. A backup is taken while the site runs, from one read
//! transaction (a consistent picture: every update is stored before anyone sees it, so
//! nothing shown is missing). The archive holds database-neutral JSON lines, so a backup of
//! SQLite restores on PostgreSQL and back.
use std::{
    collections::BTreeMap,
    io::{BufRead, Read, Write},
    path::Path,
};

use anyhow::{bail, Context};
use sea_orm::{
    AccessMode, ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseTransaction,
    DbBackend, EntityTrait, IntoActiveModel, IsolationLevel, Iterable, PaginatorTrait,
    PrimaryKeyToColumn, PrimaryKeyTrait, QueryOrder, TransactionTrait,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::db::Db;
use crate::{collab, outbox};
use ruche_accounts as accounts;
use ruche_discussions as discussions;
use ruche_forms as forms;
use ruche_history as history;
use ruche_notifications as notifications;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub mod markdown;

/// The archive's format; a newer Ruche reads older formats.
const FORMAT: u32 = 1;
const MANIFEST: &str = "ruche-backup.json";
/// Rows read or written at a time.
const CHUNK: u64 = 500;

/// What an archive holds, written first.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: u32,
    pub ruche_version: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The database it came from (`sqlite` or `postgres`).
    pub source: String,
    /// Rows per table, in restore order.
    pub tables: BTreeMap<String, u64>,
    pub files: u64,
}

/// What a backup or restore did.
#[derive(Debug, Default)]
pub struct Summary {
    pub tables: Vec<(String, u64)>,
    pub files: u64,
    /// Files a row names but the uploads folder lacks.
    pub missing_files: Vec<String>,
    pub bytes: u64,
}

impl Summary {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n)
    }
}

/// Calls `$each!(table name, entity module)` for every table, parents before children (the
/// order rows are restored in).
macro_rules! every_table {
    ($each:ident) => {
        $each!("users", accounts::entity::user);
        $each!("sessions", accounts::entity::session);
        $each!("api_tokens", accounts::entity::api_token);
        $each!("invitations", accounts::entity::invitation);
        $each!("password_resets", accounts::entity::password_reset);
        $each!("site_settings", accounts::entity::site_setting);
        $each!("spaces", spaces::entity::space);
        $each!("memberships", spaces::entity::membership);
        $each!("join_requests", spaces::entity::join_request);
        $each!("forms", forms::entity::form);
        $each!("pages", pages::entity::page);
        $each!("page_redirects", pages::entity::page_redirect);
        $each!("page_links", pages::entity::page_link);
        $each!("doc_snapshots", collab::entity::doc_snapshot);
        $each!("doc_updates", collab::entity::doc_update);
        $each!("revisions", history::entity::revision);
        $each!("revision_authors", history::entity::revision_author);
        $each!("page_events", pages::entity::page_event);
        $each!("feed_tokens", history::entity::feed_token);
        $each!("entry_fields", forms::entity::entry_field);
        $each!("uploads", forms::entity::upload);
        $each!("upload_pages", forms::entity::upload_page);
        $each!("outbox_messages", outbox::entity);
        $each!("comments", discussions::entity::comment);
        $each!("follows", notifications::entity::follow);
        $each!("notifications", notifications::entity::notification);
    };
}

/// Writes the whole site to `file` (a zip archive), reporting `progress(done, total)`.
pub async fn backup(
    db: &Db,
    uploads_dir: &Path,
    file: &Path,
    progress: impl Fn(u64, u64),
) -> anyhow::Result<Summary> {
    // One read transaction: a consistent picture while the site goes on (SQLite in WAL mode
    // and PostgreSQL's repeatable read both give one).
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await?
        }
        _ => db.begin().await?,
    };
    let mut counts: Vec<(String, u64)> = Vec::new();
    macro_rules! count {
        ($name:literal, $module:path) => {{
            use $module as m;
            counts.push(($name.to_owned(), m::Entity::find().count(&txn).await?));
        }};
    }
    every_table!(count);
    let hashes: Vec<String> = forms::entity::upload::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| u.hash)
        .collect();
    let total = counts.iter().map(|(_, n)| n).sum::<u64>() + hashes.len() as u64;

    let partial = file.with_extension("partial");
    let out = std::fs::File::create(&partial)
        .with_context(|| format!("creating the archive {}", partial.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let manifest = Manifest {
        format: FORMAT,
        ruche_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: chrono::Utc::now(),
        source: backend_name(db).to_owned(),
        tables: counts.iter().cloned().collect(),
        files: hashes.len() as u64,
    };
    zip.start_file(MANIFEST, options)?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;

    let mut done = 0u64;
    let mut summary = Summary::default();
    macro_rules! dump {
        ($name:literal, $module:path) => {{
            use $module as m;
            zip.start_file(format!("tables/{}.jsonl", $name), options)?;
            let rows = dump_table::<m::Entity>(&txn, &mut zip, |n| {
                done += n;
                progress(done, total);
            })
            .await
            .with_context(|| format!("reading the table {}", $name))?;
            summary.tables.push(($name.to_owned(), rows));
        }};
    }
    every_table!(dump);
    txn.commit().await?;

    for hash in hashes {
        let Some(path) = forms::uploads::stored_path(uploads_dir, &hash) else { continue };
        // Copied from disk a piece at a time: uploads may be large.
        match std::fs::File::open(&path) {
            Ok(mut from) => {
                zip.start_file(format!("uploads/{hash}"), options)?;
                std::io::copy(&mut from, &mut zip)
                    .with_context(|| format!("copying the upload {hash}"))?;
                summary.files += 1;
            }
            Err(_) => summary.missing_files.push(hash),
        }
        done += 1;
        progress(done, total);
    }
    zip.finish()?.flush()?;
    std::fs::rename(&partial, file)
        .with_context(|| format!("writing the archive {}", file.display()))?;
    summary.bytes = std::fs::metadata(file)?.len();
    Ok(summary)
}

async fn dump_table<E>(
    txn: &DatabaseTransaction,
    zip: &mut impl Write,
    mut advanced: impl FnMut(u64),
) -> anyhow::Result<u64>
where
    E: EntityTrait,
    E::Model: Serialize + Sync,
{
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let mut pages = query.paginate(txn, CHUNK);
    let mut rows = 0;
    while let Some(models) = pages.fetch_and_next().await? {
        for model in &models {
            serde_json::to_writer(&mut *zip, model)?;
            zip.write_all(b"\n")?;
        }
        rows += models.len() as u64;
        advanced(models.len() as u64);
    }
    Ok(rows)
}

/// Reads an archive's manifest (to check it before restoring).
pub(crate) fn manifest(file: &Path) -> anyhow::Result<Manifest> {
    let mut zip = open_archive(file)?;
    read_manifest(&mut zip)
}

fn open_archive(file: &Path) -> anyhow::Result<zip::ZipArchive<std::io::BufReader<std::fs::File>>> {
    let f = std::fs::File::open(file)
        .with_context(|| format!("opening the archive {}", file.display()))?;
    zip::ZipArchive::new(std::io::BufReader::new(f))
        .with_context(|| format!("{} is not a Ruche backup (not a zip archive)", file.display()))
}

fn read_manifest(
    zip: &mut zip::ZipArchive<std::io::BufReader<std::fs::File>>,
) -> anyhow::Result<Manifest> {
    let mut text = String::new();
    zip.by_name(MANIFEST)
        .context("this archive is not a Ruche backup (no ruche-backup.json)")?
        .read_to_string(&mut text)?;
    let manifest: Manifest =
        serde_json::from_str(&text).context("the backup's ruche-backup.json is unreadable")?;
    if manifest.format > FORMAT {
        bail!(
            "this backup was made by a newer Ruche ({}, format {}): upgrade Ruche to restore it",
            manifest.ruche_version,
            manifest.format
        );
    }
    Ok(manifest)
}

/// Puts the site of `file` into `db` (which must hold no accounts and no pages: a new site)
/// and its files into `uploads_dir`, all or nothing, reporting `progress(done, total)`.
pub async fn restore(
    db: &Db,
    uploads_dir: &Path,
    file: &Path,
    progress: impl Fn(u64, u64),
) -> anyhow::Result<Summary> {
    let mut zip = open_archive(file)?;
    let manifest = read_manifest(&mut zip)?;
    let total = manifest.tables.values().sum::<u64>() + manifest.files;
    ensure_new_site(db).await?;

    let txn = db.begin().await?;
    // What a site makes for itself when it first starts (built-in forms, the directory's
    // space) is replaced by the backup's.
    clear_all_reverse(&txn).await?;

    let mut done = 0u64;
    let mut summary = Summary::default();
    macro_rules! load {
        ($name:literal, $module:path) => {{
            use $module as m;
            let entry = format!("tables/{}.jsonl", $name);
            let rows = match zip.by_name(&entry) {
                Ok(lines) => load_table::<m::Entity, m::ActiveModel>(
                    &txn,
                    std::io::BufReader::new(lines),
                    |n| {
                        done += n;
                        progress(done, total);
                    },
                )
                .await
                .with_context(|| format!("restoring the table {}", $name))?,
                Err(_) => 0, // a table newer than the backup: stays empty
            };
            summary.tables.push(($name.to_owned(), rows));
        }};
    }
    every_table!(load);
    reset_sequences(&txn).await?;

    std::fs::create_dir_all(uploads_dir)?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let Some(hash) = entry.name().strip_prefix("uploads/").map(str::to_owned) else {
            continue;
        };
        let Some(path) = forms::uploads::stored_path(uploads_dir, &hash) else {
            bail!("the backup holds a file with an unexpected name: {hash}");
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        forms::uploads::write_file(&path, &bytes).await?;
        summary.files += 1;
        done += 1;
        progress(done, total);
    }
    txn.commit().await.context("committing the restored site")?;
    summary.bytes = std::fs::metadata(file)?.len();
    Ok(summary)
}

/// Deletes every row, children before parents.
async fn clear_all_reverse(txn: &DatabaseTransaction) -> anyhow::Result<()> {
    let mut tables: Vec<&str> = Vec::new();
    macro_rules! name {
        ($name:literal, $module:path) => {
            tables.push($name);
        };
    }
    every_table!(name);
    for table in tables.iter().rev() {
        txn.execute_unprepared(&format!("DELETE FROM {table}")).await?;
    }
    Ok(())
}

/// Refuses a database that already holds a site.
async fn ensure_new_site(db: &Db) -> anyhow::Result<()> {
    use ruche_accounts::entity::user;
    use ruche_pages::entity::page;
    let users = user::Entity::find().count(db).await?;
    let pages = page::Entity::find().count(db).await?;
    if users > 0 || pages > 0 {
        bail!(
            "this database already holds a site ({users} accounts, {pages} pages): restore into a new, empty database or data directory"
        );
    }
    Ok(())
}

async fn load_table<E, A>(
    txn: &DatabaseTransaction,
    lines: impl BufRead,
    mut advanced: impl FnMut(u64),
) -> anyhow::Result<u64>
where
    E: EntityTrait,
    E::Model: DeserializeOwned + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let mut rows = 0u64;
    let mut chunk: Vec<A> = Vec::new();
    for (n, line) in lines.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let model: E::Model = serde_json::from_str(&line)
            .with_context(|| format!("line {} is not a valid row", n + 1))?;
        chunk.push(model.into_active_model().reset_all());
        if chunk.len() as u64 >= CHUNK / 5 {
            rows += insert_chunk::<E, A>(txn, std::mem::take(&mut chunk)).await?;
            advanced(CHUNK / 5);
        }
    }
    let last = chunk.len() as u64;
    rows += insert_chunk::<E, A>(txn, chunk).await?;
    advanced(last);
    Ok(rows)
}

async fn insert_chunk<E, A>(txn: &DatabaseTransaction, chunk: Vec<A>) -> anyhow::Result<u64>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    if chunk.is_empty() {
        return Ok(0);
    }
    let n = chunk.len() as u64;
    E::insert_many(chunk).exec_without_returning(txn).await?;
    Ok(n)
}

/// After rows were written with their ids, PostgreSQL's id sequences must follow them.
async fn reset_sequences(txn: &DatabaseTransaction) -> anyhow::Result<()> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(()); // SQLite follows the largest id by itself
    }
    macro_rules! reset {
        ($name:literal, $module:path) => {{
            use $module as m;
            if <m::PrimaryKey as PrimaryKeyTrait>::auto_increment() {
                if let Some(key) = m::PrimaryKey::iter().next() {
                    use sea_orm::IdenStatic;
                    let column = key.into_column().as_str().to_owned();
                    txn.execute_unprepared(&format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                         COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)",
                        table = $name
                    ))
                    .await?;
                }
            }
        }};
    }
    every_table!(reset);
    Ok(())
}

fn backend_name(db: &Db) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

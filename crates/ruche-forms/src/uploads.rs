//! Files and images attached to entries: checked by what their bytes are (not what they claim),
//! stored once by the SHA-256 of their content in the data directory, and served only to those
//! who may read an entry that holds them, in a way that can never run in the site's origin.
use chrono::Utc;
use sea_orm::{sea_query::OnConflict, EntityTrait, Set};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use super::{
    entity::{upload, upload_page},
    FieldKind,
};
use crate::db::Db;

/// Pictures a browser shows safely (no SVG: it can carry scripts).
pub const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
/// Documents, recognised by their content.
const DOCUMENTS: &[&str] = &[
    "application/pdf",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
];

/// Whether a stored file of this type is a picture browsers show.
pub fn is_image(content_type: &str) -> bool {
    IMAGES.contains(&content_type)
}

/// What kind of file `bytes` is, if it is one that `kind` accepts; else the error to show.
pub fn content_type(kind: &FieldKind, name: &str, bytes: &[u8]) -> Result<String, &'static str> {
    let sniffed = infer::get(bytes).map(|t| t.mime_type());
    let accepted = match (kind, sniffed) {
        (_, Some(mime)) if IMAGES.contains(&mime) => Some(mime.to_owned()),
        (FieldKind::File, Some(mime)) if DOCUMENTS.contains(&mime) => Some(mime.to_owned()),
        // Plain text and CSV have no signature: accepted by their name when they are UTF-8.
        (FieldKind::File, None) if std::str::from_utf8(bytes).is_ok() => {
            let lower = name.to_lowercase();
            if lower.ends_with(".txt") || lower.ends_with(".md") {
                Some("text/plain; charset=utf-8".to_owned())
            } else if lower.ends_with(".csv") {
                Some("text/csv; charset=utf-8".to_owned())
            } else {
                None
            }
        }
        _ => None,
    };
    accepted.ok_or(if *kind == FieldKind::Image {
        "forms.error_image_type"
    } else {
        "forms.error_file_type"
    })
}

pub fn path_of(uploads_dir: &Path, hash: &str) -> PathBuf {
    uploads_dir.join(&hash[..2]).join(hash)
}

/// Where the file of `hash` is kept, if `hash` is one (64 hexadecimal digits).
pub fn stored_path(uploads_dir: &Path, hash: &str) -> Option<PathBuf> {
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| path_of(uploads_dir, hash))
}

/// Writes a file at `path` (under its hash) unless it is there: aside, then renamed, so a crash
/// never leaves half a file under its name.
pub async fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if tokio::fs::try_exists(path).await? {
        return Ok(());
    }
    let dir = path.parent().ok_or_else(|| anyhow::anyhow!("upload path has no parent"))?;
    tokio::fs::create_dir_all(dir).await?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("upload");
    let partial = dir.join(format!("{name}.{}.part", rand::random::<u32>()));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, path).await?;
    Ok(())
}

/// Stores a checked file (once per content) and answers the value kept in the entry.
pub async fn store(
    db: &Db,
    uploads_dir: &Path,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    page: Option<i64>,
    by: Option<i64>,
) -> anyhow::Result<Value> {
    let hash = format!("{:x}", Sha256::digest(bytes));
    write_file(&path_of(uploads_dir, &hash), bytes).await?;
    let name: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("fichier")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    upload::Entity::insert(upload::ActiveModel {
        hash: Set(hash.clone()),
        content_type: Set(content_type.to_owned()),
        size: Set(i64::try_from(bytes.len())?),
        name: Set(name.clone()),
        created_by: Set(by),
        created_at: Set(Utc::now()),
    })
    .on_conflict(OnConflict::column(upload::Column::Hash).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    if let Some(page) = page {
        attach(db, &hash, page, Sent { name: &name, content_type, by }).await?;
    }
    Ok(json!({ "hash": hash, "name": name, "type": content_type, "size": bytes.len() }))
}

/// One sending of a file to a page, as that page shows it. The same bytes sent elsewhere (by
/// someone else, under another name) are stored once, but each page keeps its own sending.
#[derive(Debug, Clone, Copy)]
pub struct Sent<'a> {
    /// The name it had on the sender's computer.
    pub name: &'a str,
    pub content_type: &'a str,
    pub by: Option<i64>,
}

/// Records that the file `hash` belongs on `page`, sent as `sent`: it is served there, and only
/// where recorded. A page that has it already keeps its first record.
pub async fn attach<C: sea_orm::ConnectionTrait>(
    db: &C,
    hash: &str,
    page: i64,
    sent: Sent<'_>,
) -> anyhow::Result<()> {
    upload_page::Entity::insert(upload_page::ActiveModel {
        hash: Set(hash.to_owned()),
        page_id: Set(page),
        created_at: Set(Utc::now()),
        name: Set(sent.name.to_owned()),
        content_type: Set(sent.content_type.to_owned()),
        created_by: Set(sent.by),
    })
    .on_conflict(
        OnConflict::columns([upload_page::Column::Hash, upload_page::Column::PageId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The record of the file `hash` on `page`, if it was uploaded to (or attached by its uploader
/// to) that page.
pub async fn sent_to(db: &Db, hash: &str, page: i64) -> anyhow::Result<Option<upload_page::Model>> {
    Ok(upload_page::Entity::find_by_id((hash.to_owned(), page)).one(db).await?)
}

/// What a page shows of a file: the name and type of its own upload, those of the file where
/// the page's record does not know them (records older than that).
pub fn shown_as(own: &upload_page::Model, file: &upload::Model) -> (String, String) {
    let name = if own.name.is_empty() { "fichier" } else { own.name.as_str() };
    let kind = if own.content_type.is_empty() { &file.content_type } else { &own.content_type };
    (name.to_owned(), kind.clone())
}

/// The value of a file kept from before, as the form sent it back: only a file that already was
/// this field's value (kept as this entry has it), or that this person uploaded (described as
/// they sent it).
pub async fn vouch(
    db: &Db,
    sent: &str,
    current: Option<&Value>,
    page: Option<i64>,
    by: Option<i64>,
) -> anyhow::Result<Option<Value>> {
    let Some(hash) = serde_json::from_str::<Value>(sent)
        .ok()
        .and_then(|v| v.get("hash").and_then(Value::as_str).map(str::to_owned))
    else {
        return Ok(None);
    };
    let Some(row) = upload::Entity::find_by_id(hash.clone()).one(db).await? else {
        return Ok(None);
    };
    let was_here = current.and_then(|v| v.get("hash")).and_then(Value::as_str) == Some(&hash);
    if was_here {
        // As this entry has it: the same bytes may have been stored first under another name.
        return Ok(current.cloned());
    }
    if by.is_none() || row.created_by != by {
        return Ok(None);
    }
    // The person's own file, now on this page too (a new entry's, once it is made).
    if let Some(page) = page {
        let sent = Sent { name: &row.name, content_type: &row.content_type, by };
        attach(db, &hash, page, sent).await?;
    }
    Ok(Some(
        json!({ "hash": row.hash, "name": row.name, "type": row.content_type, "size": row.size }),
    ))
}

//! Storage of forms, and the SQL projection of entries' field values.
use chrono::{TimeZone, Utc};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::Value;

use super::{builtin, entity::entry_field, entity::form, FieldKind, Form};
use crate::{db::Db, pages, pages::PageId};

/// Adds the built-in forms a site does not have yet (run at start-up; never overwrites changes).
/// The form a page is an entry of, if it is one.
pub async fn form_of(db: &Db, page: &pages::Page) -> anyhow::Result<Option<Form>> {
    match &page.form {
        Some(key) => find(db, key).await,
        None => Ok(None),
    }
}

pub async fn ensure_builtin(db: &Db) -> anyhow::Result<()> {
    for (key, name, description, fields) in builtin::all() {
        // Several processes may start at once: whoever inserts first wins, the others skip.
        form::Entity::insert(form::ActiveModel {
            key: Set(key.to_owned()),
            name: Set(name.to_owned()),
            description: Set(description.to_owned()),
            fields: Set(serde_json::to_string(&fields)?),
            builtin: Set(true),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .on_conflict(OnConflict::column(form::Column::Key).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Form>> {
    form::Entity::find()
        .order_by_asc(form::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(Form::try_from)
        .collect()
}

/// Adds a form; `None` when its key is taken.
pub async fn create(
    db: &Db,
    key: &str,
    name: &str,
    description: &str,
) -> anyhow::Result<Option<Form>> {
    let inserted = form::Entity::insert(form::ActiveModel {
        key: Set(key.to_owned()),
        name: Set(name.to_owned()),
        description: Set(description.to_owned()),
        fields: Set("[]".to_owned()),
        builtin: Set(false),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(OnConflict::column(form::Column::Key).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    if inserted == 0 {
        return Ok(None);
    }
    find(db, key).await
}

/// Saves a form's name, description and fields (removed ones included, so values come back).
pub async fn update(db: &Db, form: &Form) -> anyhow::Result<()> {
    form::Entity::update_many()
        .col_expr(form::Column::Name, form.name.clone().into())
        .col_expr(form::Column::Description, form.description.clone().into())
        .col_expr(form::Column::Fields, serde_json::to_string(&form.stored_fields())?.into())
        .col_expr(form::Column::UpdatedAt, Utc::now().into())
        .filter(form::Column::Id.eq(form.id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find(db: &Db, key: &str) -> anyhow::Result<Option<Form>> {
    form::Entity::find()
        .filter(form::Column::Key.eq(key))
        .one(db)
        .await?
        .map(Form::try_from)
        .transpose()
}

/// The pages that are entries of the form `key`, trashed or not.
pub async fn entry_ids(db: &Db, key: &str) -> anyhow::Result<Vec<PageId>> {
    use crate::pages::entity::page;
    use sea_orm::QuerySelect;
    let ids: Vec<i64> = page::Entity::find()
        .select_only()
        .column(page::Column::Id)
        .filter(page::Column::Form.eq(key))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(PageId).collect())
}

/// Rewrites the SQL projection of an entry's values (when its fields are saved, and when its
/// document settles), with whether the entry is for members only. Answers whether that changed.
pub async fn project<C: sea_orm::ConnectionTrait + TransactionTrait>(
    db: &C,
    page: PageId,
    form: &Form,
    fields: &Value,
) -> anyhow::Result<bool> {
    use crate::pages::entity::page as pages;
    let members_only = form.is_members_only(fields);
    let before = pages::Entity::find_by_id(page.0).one(db).await?.map(|p| p.members_only);
    let flipped = before.is_some_and(|b| b != members_only);
    let txn = db.begin().await?;
    // Written unconditionally first: the row lock makes two projections of the same page (a
    // save and a settle) take turns instead of inserting the same rows twice.
    pages::Entity::update_many()
        .col_expr(pages::Column::MembersOnly, members_only.into())
        .filter(pages::Column::Id.eq(page.0))
        .exec(&txn)
        .await?;
    entry_field::Entity::delete_many()
        .filter(entry_field::Column::PageId.eq(page.0))
        .exec(&txn)
        .await?;
    let rows: Vec<entry_field::ActiveModel> = form
        .fields
        .iter()
        .filter_map(|f| {
            let value = fields.get(&f.key).filter(|v| !v.is_null())?;
            let mut row = entry_field::ActiveModel {
                page_id: Set(page.0),
                key: Set(f.key.clone()),
                text: Set(as_text(value)),
                number: Set(None),
                starts_at: Set(None),
                ends_at: Set(None),
                lat: Set(None),
                lon: Set(None),
                value: Set(value.to_string()),
            };
            match &f.kind {
                FieldKind::Number => row.number = Set(value.as_f64()),
                FieldKind::Point => {
                    row.lat = Set(value.get("lat").and_then(Value::as_f64));
                    row.lon = Set(value.get("lon").and_then(Value::as_f64));
                }
                FieldKind::DateTimeRange => {
                    let (start, end) = range_instants(value)?;
                    row.starts_at = Set(Some(start));
                    row.ends_at = Set(Some(end));
                }
                FieldKind::Date => {
                    let day =
                        chrono::NaiveDate::parse_from_str(value.as_str()?, "%Y-%m-%d").ok()?;
                    row.starts_at = Set(Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)));
                }
                _ => {}
            }
            Some(row)
        })
        .collect();
    if !rows.is_empty() {
        entry_field::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(flipped)
}

/// A value as plain text: lists joined by newlines, points as "lat, lon".
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>().join("\n"),
        Value::Number(n) => n.to_string(),
        Value::Object(o) if o.contains_key("lat") => format!("{}, {}", o["lat"], o["lon"]),
        Value::Object(o) if o.contains_key("start") => {
            format!("{} → {}", as_text(&o["start"]), as_text(&o["end"]))
        }
        Value::Object(o) if o.contains_key("hash") => as_text(&o["name"]),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The start and end instants of a date-time range value, in its time zone.
pub(crate) fn range_instants(
    value: &Value,
) -> Option<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> {
    let tz: chrono_tz::Tz = value.get("tz")?.as_str()?.parse().ok()?;
    let instant = |key: &str| -> Option<chrono::DateTime<Utc>> {
        let local =
            chrono::NaiveDateTime::parse_from_str(value.get(key)?.as_str()?, "%Y-%m-%dT%H:%M")
                .ok()?;
        Some(tz.from_local_datetime(&local).earliest()?.with_timezone(&Utc))
    };
    Some((instant("start")?, instant("end")?))
}

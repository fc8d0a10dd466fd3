//! Entries taken out: the forms and their entries as JSON, CSV, GeoJSON and iCalendar, with only
//! the entries and fields the reader may see (read through `query`, which asks `access`).
use crate::query::Query;
use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use icalendar::{Calendar, Component, EventLike};
use serde_json::{json, Value};

use super::{
    query::{self, Entry, Filter},
    store::{self, as_text},
    FieldKind, Form,
};
use crate::{
    access,
    error::{AppError, AppResult},
    session::FeedReader,
    state::AppState,
};

/// A form as the API shows it.
fn form_json(form: &Form) -> Value {
    json!({
        "key": form.key,
        "name": form.name,
        "description": form.description,
        "fields": form.fields,
        "links": {
            "entries": format!("/api/forms/{}/entries", form.key),
            "csv": format!("/api/forms/{}/entries.csv", form.key),
        },
    })
}

/// `GET /api/forms`
pub async fn list(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let forms = store::list(&state.db).await?;
    Ok(Json(Value::Array(forms.iter().map(form_json).collect())))
}

/// `GET /api/forms/{key}`
pub async fn show(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> AppResult<Json<Value>> {
    let form = store::find(&state.db, &key).await?.ok_or(AppError::NotFound)?;
    Ok(Json(form_json(&form)))
}

/// The entries of a form this reader may see, filtered as the address says.
async fn visible(
    state: &AppState,
    reader: &FeedReader,
    key: &str,
    filter: &Filter,
) -> AppResult<(Form, Vec<Entry>)> {
    let form = store::find(&state.db, key).await?.ok_or(AppError::NotFound)?;
    let grants = access::readable_spaces(&state.db, reader.0.as_ref()).await?;
    let entries = query::entries(&state.db, &grants, &form, None).await?;
    let entries = filter.apply(&form, entries);
    Ok((form, entries))
}

fn entry_json(base: &str, e: &Entry) -> Value {
    json!({
        "title": e.page.title,
        "space": e.space.slug.as_str(),
        "page": e.page.slug.as_str(),
        "url": format!("{base}{}", e.url()),
        "members_only": e.page.members_only,
        "updated_at": e.page.updated_at,
        "fields": e.values,
    })
}

/// `GET /api/forms/{key}/entries`
pub async fn entries(
    State(state): State<AppState>,
    reader: FeedReader,
    Path(key): Path<String>,
    Query(filter): Query<Filter>,
) -> AppResult<Json<Value>> {
    let (_, entries) = visible(&state, &reader, &key, &filter).await?;
    let base = &state.settings.base_url;
    Ok(Json(Value::Array(entries.iter().map(|e| entry_json(base, e)).collect())))
}

/// A CSV cell a spreadsheet never takes for a formula (`=HYPERLINK(…)` in a title, say), on one
/// line. Every cell goes through here: titles, labels and values alike.
fn cell(text: String) -> String {
    let text = text.replace("\r\n", ", ").replace(['\n', '\r'], ", ");
    if text.trim_start().starts_with(['=', '+', '-', '@', '\t', '|', '%']) {
        format!("'{text}")
    } else {
        text
    }
}

/// The entries as CSV: one row an entry, one column a field (the reader's visible ones).
pub fn csv(base: &str, form: &Form, entries: &[Entry], private_columns: bool) -> AppResult<String> {
    let columns: Vec<_> =
        form.fields.iter().filter(|f| private_columns || !f.is_private()).collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["titre".to_owned(), "espace".to_owned(), "adresse".to_owned()];
    head.extend(columns.iter().map(|f| f.label.clone()));
    out.write_record(head.into_iter().map(cell)).map_err(anyhow::Error::from)?;
    for e in entries {
        let mut row =
            vec![e.page.title.clone(), e.space.slug.to_string(), format!("{base}{}", e.url())];
        for f in &columns {
            row.push(e.values.get(&f.key).map(as_text).unwrap_or_default());
        }
        out.write_record(row.into_iter().map(cell)).map_err(anyhow::Error::from)?;
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("writing CSV: {e}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}

/// `GET /api/forms/{key}/entries.csv`
pub(crate) async fn entries_csv(
    State(state): State<AppState>,
    reader: FeedReader,
    Path(key): Path<String>,
    Query(filter): Query<Filter>,
) -> AppResult<Response> {
    let (form, entries) = visible(&state, &reader, &key, &filter).await?;
    // Members-only columns appear when the reader may see them in at least one entry.
    let private = entries
        .iter()
        .any(|e| form.fields.iter().any(|f| f.is_private() && e.values.contains_key(&f.key)));
    let body = csv(&state.settings.base_url, &form, &entries, private)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.csv\"", form.key)),
        ],
        // With a byte-order mark, spreadsheets open the accents right.
        format!("\u{feff}{body}"),
    )
        .into_response())
}

/// The entries that have a point, as a GeoJSON feature collection.
pub fn geojson(base: &str, entries: &[Entry]) -> Value {
    let features: Vec<Value> = entries
        .iter()
        .filter_map(|e| {
            let (lat, lon) = e.point?;
            Some(json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [lon, lat] },
                "properties": {
                    "title": e.page.title,
                    "url": format!("{base}{}", e.url()),
                    "space": e.space.slug.as_str(),
                    "fields": e.values,
                },
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

/// `GET /api/forms/{key}/entries.geojson`
pub(crate) async fn entries_geojson(
    State(state): State<AppState>,
    reader: FeedReader,
    Path(key): Path<String>,
    Query(filter): Query<Filter>,
) -> AppResult<Response> {
    let (form, entries) = visible(&state, &reader, &key, &filter).await?;
    if form.first_of(|k| *k == FieldKind::Point).is_none() {
        return Err(AppError::NotFound);
    }
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        geojson(&state.settings.base_url, &entries).to_string(),
    )
        .into_response())
}

/// Text for an iCalendar property: line breaks as `\n` (which the calendar library escapes), no
/// other control character (a raw carriage return would end the property early, RFC 5545 3.3.11).
fn ics_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

/// The entries that have dates, as an iCalendar (RFC 5545) calendar: instants in UTC, a UID
/// that stays the same whatever changes, the address of the entry.
pub fn ics(base: &str, name: &str, form: &Form, entries: &[Entry]) -> String {
    let host = url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "ruche".into());
    let place = form.fields.iter().find(|f| f.key == "place");
    let online = form.fields.iter().find(|f| f.kind == FieldKind::Url);
    let description = form.fields.iter().find(|f| f.kind == FieldKind::LongText);
    let mut calendar = Calendar::new();
    calendar.name(&ics_text(name));
    for e in entries {
        let (Some(start), Some(end)) = (e.starts_at, e.ends_at) else { continue };
        let url = format!("{base}{}", e.url());
        let mut event = icalendar::Event::new();
        event
            .uid(&format!("entry-{}@{host}", e.page.id.0))
            .summary(&ics_text(&e.page.title))
            .starts(start)
            .ends(if end > start { end } else { start + chrono::Duration::hours(1) })
            .url(&url)
            .timestamp(e.page.updated_at)
            .last_modified(e.page.updated_at);
        let mut location = place.map(|f| e.text(&f.key)).unwrap_or_default();
        let link = online.map(|f| e.text(&f.key)).unwrap_or_default();
        if location.is_empty() {
            location.clone_from(&link);
        }
        if !location.is_empty() {
            event.location(&ics_text(&location));
        }
        let mut text = description.map(|f| e.text(&f.key)).unwrap_or_default();
        if !link.is_empty() && link != location {
            text = format!("{text}\n\n{link}");
        }
        text = format!("{}\n\n{url}", text.trim());
        event.description(&ics_text(text.trim()));
        calendar.push(event.done());
    }
    calendar.done().to_string()
}

pub(crate) fn ics_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response()
}

/// `GET /api/forms/{key}/entries.ics`
pub(crate) async fn entries_ics(
    State(state): State<AppState>,
    reader: FeedReader,
    Path(key): Path<String>,
    Query(filter): Query<Filter>,
) -> AppResult<Response> {
    let (form, entries) = visible(&state, &reader, &key, &filter).await?;
    if form.first_of(|k| matches!(k, FieldKind::DateTimeRange | FieldKind::Date)).is_none() {
        return Err(AppError::NotFound);
    }
    let name = format!("{} — {}", state.settings.site_name, form.name);
    Ok(ics_response(ics(&state.settings.base_url, &name, &form, &entries)))
}

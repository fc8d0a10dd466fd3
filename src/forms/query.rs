//! Reading entries for views and exports: the entries of a form that a reader may see, with
//! only the fields they may see, from the SQL projection. Every list, map, calendar and export
//! reads through here, and here asks the access module.
use std::collections::HashMap;

use crate::collation::fold;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};

use super::{entity::entry_field, FieldKind, Form};
use crate::{
    access::{self, SpaceAction, SpaceGrant},
    collation,
    db::Db,
    error::AppResult,
    query::{self, PageNumber},
};
use ruche_discussions as discussions;
use ruche_pages::{entity::page, Page};
use ruche_spaces::Space;

/// The titles of the entries that links (`space/page`) lead to, for those this reader may read
/// (`grants`: the spaces they read): a link is then named like the sheet it leads to. Links to
/// what they may not read are left out, and shown by their address's words.
pub(crate) async fn link_titles<'a>(
    db: &Db,
    grants: &HashMap<i64, SpaceGrant>,
    links: impl IntoIterator<Item = &'a str>,
) -> AppResult<HashMap<String, String>> {
    let by_slug: HashMap<&str, &SpaceGrant> =
        grants.values().map(|g| (g.space.slug.as_str(), g)).collect();
    let mut wanted: HashMap<i64, Vec<&'a str>> = HashMap::new();
    for link in links {
        let Some((space, slug)) = link.split_once('/') else { continue };
        if let Some(grant) = by_slug.get(space) {
            wanted.entry(grant.space.id.0).or_default().push(slug);
        }
    }
    let mut titles = HashMap::new();
    for (space, slugs) in wanted {
        let Some(grant) = grants.get(&space) else { continue };
        for model in page::Entity::find()
            .filter(page::Column::SpaceId.eq(space))
            .filter(page::Column::Slug.is_in(slugs))
            .filter(page::Column::TrashedAt.is_null())
            .all(db)
            .await?
        {
            let Ok(page) = Page::try_from(model) else { continue };
            if access::page_allows(grant, &page, SpaceAction::Read) {
                titles.insert(format!("{}/{}", grant.space.slug, page.slug), page.title);
            }
        }
    }
    Ok(titles)
}

/// One entry as a reader may see it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub page: Page,
    pub space: Space,
    /// The values of the fields this reader may see, by field key.
    pub values: Map<String, Value>,
    /// The first date range (or date) of the entry, as instants.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The first point of the entry.
    pub point: Option<(f64, f64)>,
    /// How many comments its discussion has.
    pub comments: u64,
}

impl Entry {
    pub fn url(&self) -> String {
        format!("/s/{}/{}", self.space.slug, self.page.slug)
    }

    /// A value as plain text ("" when absent).
    pub fn text(&self, key: &str) -> String {
        self.values.get(key).map(super::store::as_text).unwrap_or_default()
    }

    /// A list value (tags, multiple choices) or a single one, as items.
    pub fn items(&self, key: &str) -> Vec<String> {
        match self.values.get(key) {
            Some(Value::Array(items)) => items.iter().map(super::store::as_text).collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![super::store::as_text(other)],
        }
    }

    /// Whether every word of `query` appears in its title or in a value it shows.
    pub(crate) fn matches_text(&self, query: &str) -> bool {
        let words: Vec<String> = fold(query).split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            return true;
        }
        let mut haystack = fold(&self.page.title);
        for value in self.values.values() {
            haystack.push('\n');
            haystack.push_str(&fold(&super::store::as_text(value)));
        }
        words.iter().all(|w| haystack.contains(w.as_str()))
    }
}

/// The entries of `form` that the holder of these grants may read (in `only` space if given),
/// untrashed, by title.
pub async fn entries(
    db: &Db,
    grants: &HashMap<i64, SpaceGrant>,
    form: &Form,
    only: Option<i64>,
) -> AppResult<Vec<Entry>> {
    let spaces: Vec<i64> =
        grants.keys().copied().filter(|id| only.is_none_or(|o| o == *id)).collect();
    if spaces.is_empty() {
        return Ok(Vec::new());
    }
    let mut pages: Vec<(Page, &SpaceGrant)> = page::Entity::find()
        .filter(page::Column::Form.eq(form.key.as_str()))
        .filter(page::Column::TrashedAt.is_null())
        .filter(page::Column::SpaceId.is_in(spaces))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| {
            let grant = grants.get(&m.space_id)?;
            let page = Page::try_from(m).ok()?;
            access::page_allows(grant, &page, SpaceAction::Read).then_some((page, grant))
        })
        .collect();
    collation::sort_by_name(&mut pages, |(p, _)| &p.title);
    let mut projected: HashMap<i64, Vec<entry_field::Model>> = HashMap::new();
    let mut comments: HashMap<i64, u64> = HashMap::new();
    for chunk in pages.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|(p, _)| p.id.0).collect();
        comments.extend(discussions::counts(db, ids.iter().copied()).await?);
        for row in entry_field::Entity::find()
            .filter(entry_field::Column::PageId.is_in(ids))
            .all(db)
            .await?
        {
            projected.entry(row.page_id).or_default().push(row);
        }
    }
    let range = form.first_of(|k| matches!(k, FieldKind::DateTimeRange | FieldKind::Date));
    let point = form.first_of(|k| *k == FieldKind::Point);
    Ok(pages
        .into_iter()
        .map(|(page, grant)| {
            let private = access::page_allows(grant, &page, SpaceAction::ReadMembersOnlyFields);
            let rows = projected.remove(&page.id.0).unwrap_or_default();
            let mut entry = Entry {
                space: grant.space.clone(),
                values: Map::new(),
                starts_at: None,
                ends_at: None,
                point: None,
                comments: comments.get(&page.id.0).copied().unwrap_or(0),
                page,
            };
            for row in rows {
                let Some(field) = form.field(&row.key) else { continue };
                if field.is_private() && !private {
                    continue;
                }
                if range.is_some_and(|r| r.key == row.key) {
                    entry.starts_at = row.starts_at;
                    entry.ends_at = row.ends_at.or(row.starts_at);
                }
                if point.is_some_and(|p| p.key == row.key) {
                    entry.point = row.lat.zip(row.lon);
                }
                let value = serde_json::from_str(&row.value).unwrap_or(Value::String(row.text));
                entry.values.insert(row.key, value);
            }
            entry
        })
        .collect())
}

/// Narrowing a list: free text, a space, and field values (`key` = one of its items).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub space: String,
    /// Field filters, as `field.KEY=VALUE` in the address.
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
    /// Which page of the list (kept as text: numbers do not survive `flatten`).
    #[serde(default)]
    pub page: String,
}

impl Filter {
    /// The page asked for; what is not a page number reads as the first.
    pub fn page_number(&self) -> PageNumber {
        PageNumber::parse(&self.page).unwrap_or_default()
    }

    /// The value of one field filter.
    pub fn field(&self, key: &str) -> &str {
        self.rest.get(&format!("field.{key}")).map_or("", |v| v.trim())
    }

    /// The field filters that name a field of `form` a reader may filter by.
    pub fn fields<'a>(&'a self, form: &'a Form) -> Vec<(&'a str, &'a str)> {
        self.rest
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("field.")?;
                let f = form.field(key)?;
                (!v.trim().is_empty() && !f.is_private()).then_some((f.key.as_str(), v.trim()))
            })
            .collect()
    }

    pub fn keep(&self, form: &Form, entry: &Entry) -> bool {
        (self.space.is_empty() || entry.space.slug.as_str() == self.space)
            && entry.matches_text(&self.q)
            && self.fields(form).iter().all(|(key, wanted)| {
                let wanted = fold(wanted);
                entry.items(key).iter().any(|item| fold(item) == wanted)
            })
    }

    pub fn apply(&self, form: &Form, entries: Vec<Entry>) -> Vec<Entry> {
        entries.into_iter().filter(|e| self.keep(form, e)).collect()
    }

    /// This filter as an address query, with `extra` pairs after it.
    pub(crate) fn query_string(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if !self.q.is_empty() {
            pairs.push(("q".into(), self.q.clone()));
        }
        if !self.space.is_empty() {
            pairs.push(("space".into(), self.space.clone()));
        }
        let mut rest: Vec<_> = self.rest.iter().filter(|(k, _)| k.starts_with("field.")).collect();
        rest.sort();
        pairs.extend(rest.into_iter().map(|(k, v)| (k.clone(), v.clone())));
        pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// Every distinct item of a field among entries, with how many entries have it, by name.
pub fn facet(entries: &[Entry], key: &str) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for e in entries {
        for item in e.items(key) {
            *counts.entry(item).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// One page of a list.
pub(crate) struct Paged<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub pages: u64,
    pub total: usize,
}

pub(crate) fn paginate<T>(all: Vec<T>, page: PageNumber, per_page: usize) -> Paged<T> {
    let total = all.len();
    let per_page = per_page.max(1);
    let page = page.within(total as u64, per_page as u64);
    let skip = usize::try_from(page.offset(per_page as u64)).unwrap_or(usize::MAX);
    Paged {
        items: all.into_iter().skip(skip).take(per_page).collect(),
        page: u64::from(page.get()),
        pages: u64::from(query::pages(total as u64, per_page as u64)),
        total,
    }
}

//! Search across pages, entries and profiles: French stems and folded accents (English too),
//! phrases in quotes, ranked hits with their matching passage, facets by space and by form.
//! Whatever the query, the access module decides which pages count: a private space never
//! shows in a hit, a count, a facet or a passage.
pub mod index;
pub mod routes;

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use tantivy::{
    collector::{Count, FacetCollector, TopDocs},
    query::{BooleanQuery, Occur, Query, QueryParser, TermQuery, TermSetQuery},
    schema::{self, IndexRecordOption, Value},
    snippet::SnippetGenerator,
    DocAddress, TantivyDocument, Term,
};

pub use index::SearchIndex;

use crate::{
    access::{self, SpaceAction, SpaceGrant},
    accounts::User,
    db::Db,
    error::{AppError, AppResult},
    pages::{entity::page, Page},
};

/// Longest query accepted.
pub const MAX_QUERY_CHARS: usize = 200;
pub const PER_PAGE: usize = 10;

/// What someone asked.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Ask {
    #[serde(default)]
    pub q: String,
    /// Narrow to one space (its address) or one form (`page` for plain pages).
    #[serde(default)]
    pub space: String,
    #[serde(default)]
    pub form: String,
    #[serde(default)]
    pub page: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Hit {
    pub title: String,
    pub url: String,
    pub space: String,
    pub space_title: String,
    pub form: Option<String>,
    /// The matching passage, as HTML: escaped text with the matches in `<mark>`.
    pub passage: String,
    pub score: f32,
}

#[derive(Debug, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Found {
    pub query: String,
    pub total: usize,
    pub page: u64,
    pub pages: u64,
    pub hits: Vec<Hit>,
    pub spaces: Vec<FacetCount>,
    pub forms: Vec<FacetCount>,
}

/// Runs a search as `user`.
pub async fn run(
    db: &Db,
    search: &SearchIndex,
    user: Option<&User>,
    ask: &Ask,
) -> AppResult<Found> {
    let q = ask.q.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "the search is too long ({MAX_QUERY_CHARS} characters at most)"
        )));
    }
    let page_number = ask.page.unwrap_or(1).max(1);
    let empty = |total| Found {
        query: q.to_owned(),
        total,
        page: 1,
        pages: 1,
        hits: Vec::new(),
        spaces: Vec::new(),
        forms: Vec::new(),
    };
    if q.is_empty() {
        return Ok(empty(0));
    }
    let grants: HashMap<i64, SpaceGrant> = access::visible_spaces(db, user)
        .await?
        .into_iter()
        .filter(|g| g.allows(SpaceAction::Read))
        .map(|g| (g.space.id.0, g))
        .collect();
    if grants.is_empty() {
        return Ok(empty(0));
    }
    let f = search.fields();
    let term = |field, id: i64| Term::from_field_u64(field, u64::try_from(id).unwrap_or_default());
    // Which documents this reader may see at all: pages of spaces they read; members-only
    // entries of the spaces they are members of.
    let readable: Vec<Term> = grants.keys().map(|id| term(f.space_id, *id)).collect();
    let member_of: Vec<Term> = grants
        .values()
        .filter(|g| g.allows(SpaceAction::ReadMembersOnlyFields))
        .map(|g| term(f.space_id, g.space.id.0))
        .collect();
    let public_pages: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(TermSetQuery::new(readable))),
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.members_only, 0),
                IndexRecordOption::Basic,
            )),
        ),
    ]));
    let allowed = BooleanQuery::new(vec![
        (Occur::Should, public_pages),
        (Occur::Should, Box::new(TermSetQuery::new(member_of))),
    ]);

    let mut parser = QueryParser::for_index(
        search.index(),
        vec![f.title, f.body, f.values, f.title_en, f.body_en],
    );
    parser.set_conjunction_by_default();
    parser.set_field_boost(f.title, 3.0);
    parser.set_field_boost(f.title_en, 2.0);
    parser.set_field_boost(f.body_en, 0.5);
    // Unbalanced quotes or stray operators are read as plain words, never an error.
    let (asked, _) = parser.parse_query_lenient(q);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, asked.box_clone()), (Occur::Must, Box::new(allowed))];
    if !ask.space.is_empty() {
        let id = grants.values().find(|g| g.space.slug.as_str() == ask.space).map(|g| g.space.id.0);
        // A space the reader may not read narrows to nothing, exactly like an unknown one.
        let facet = schema::Facet::from(&format!("/{}", id.unwrap_or(-1)));
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(Term::from_facet(f.space, &facet), IndexRecordOption::Basic)),
        ));
    }
    if !ask.form.is_empty() && !ask.form.contains('/') {
        let facet = schema::Facet::from(&format!("/{}", ask.form));
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(Term::from_facet(f.form, &facet), IndexRecordOption::Basic)),
        ));
    }
    let query = BooleanQuery::new(clauses);

    let searcher = search.searcher();
    let offset = usize::try_from(page_number - 1).unwrap_or(0) * PER_PAGE;
    let mut spaces_facet = FacetCollector::for_field("space");
    spaces_facet.add_facet("/");
    let mut forms_facet = FacetCollector::for_field("form");
    forms_facet.add_facet("/");
    let top = TopDocs::with_limit(PER_PAGE).and_offset(offset).order_by_score();
    let (top, total, spaces_counts, forms_counts) = {
        let searcher = searcher.clone();
        let query: Box<dyn Query> = Box::new(query);
        tokio::task::spawn_blocking(move || {
            searcher.search(&*query, &(top, Count, spaces_facet, forms_facet))
        })
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?
    };

    // The passages, from the text, else from the field values.
    let mut body_passages =
        SnippetGenerator::create(&searcher, &*asked, f.body).map_err(anyhow::Error::from)?;
    body_passages.set_max_num_chars(220);
    let mut value_passages =
        SnippetGenerator::create(&searcher, &*asked, f.values).map_err(anyhow::Error::from)?;
    value_passages.set_max_num_chars(220);
    let mut docs: Vec<(f32, i64, String)> = Vec::new();
    for (score, address) in top {
        let address: DocAddress = address;
        let doc: TantivyDocument = searcher.doc(address).map_err(anyhow::Error::from)?;
        let id = doc.get_first(f.page_id).and_then(|v| v.as_u64()).unwrap_or_default();
        let mut passage = body_passages.snippet_from_doc(&doc);
        if passage.highlighted().is_empty() {
            let values = value_passages.snippet_from_doc(&doc);
            if !values.highlighted().is_empty() || passage.fragment().is_empty() {
                passage = values;
            }
        }
        passage.set_snippet_prefix_postfix("<mark>", "</mark>");
        docs.push((score, i64::try_from(id).unwrap_or_default(), passage.to_html()));
    }

    // Pages as the database has them now, checked once more by the access module.
    let ids: Vec<i64> = docs.iter().map(|d| d.1).collect();
    let pages: HashMap<i64, Page> = page::Entity::find()
        .filter(page::Column::Id.is_in(ids))
        .filter(page::Column::TrashedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| Page::try_from(m).ok())
        .map(|p| (p.id.0, p))
        .collect();
    let hits = docs
        .into_iter()
        .filter_map(|(score, id, passage)| {
            let page = pages.get(&id)?;
            let grant = grants.get(&page.space_id.0)?;
            if !access::page_allows(grant, page, SpaceAction::Read) {
                return None;
            }
            Some(Hit {
                title: page.title.clone(),
                url: format!("/s/{}/{}", grant.space.slug, page.slug),
                space: grant.space.slug.to_string(),
                space_title: grant.space.title.clone(),
                form: page.form.clone(),
                passage,
                score,
            })
        })
        .collect();

    let forms: HashMap<String, String> =
        crate::forms::store::list(db).await?.into_iter().map(|f| (f.key, f.name)).collect();
    let mut space_facets: Vec<FacetCount> = spaces_counts
        .get("/")
        .filter_map(|(facet, count)| {
            let id: i64 = facet.to_path().last()?.parse().ok()?;
            let g = grants.get(&id)?;
            Some(FacetCount {
                value: g.space.slug.to_string(),
                label: g.space.title.clone(),
                count,
            })
        })
        .collect();
    space_facets.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    let mut form_facets: Vec<FacetCount> = forms_counts
        .get("/")
        .filter_map(|(facet, count)| {
            let key = facet.to_path().last()?.to_string();
            let label = forms.get(&key).cloned().unwrap_or_default();
            Some(FacetCount { value: key, label, count })
        })
        .collect();
    form_facets.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    Ok(Found {
        query: q.to_owned(),
        total,
        page: page_number,
        pages: (total.div_ceil(PER_PAGE) as u64).max(1),
        hits,
        spaces: space_facets,
        forms: form_facets,
    })
}

//! Search across pages, entries and profiles: French stems and folded accents (English too),
//! phrases in quotes, ranked hits with their matching passage, facets by space and by form.
//! Whatever the query, the access module decides which pages count: a private space never
//! shows in a hit, a count, a facet or a passage.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as search;
use ruche_access as access;
use ruche_accounts as accounts;
use ruche_base::{collation, dates, db, i18n, paging, slug};
use ruche_collab as collab;
use ruche_discussions as discussions;
use ruche_forms as forms;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub mod index;

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use tantivy::{
    collector::{Count, FacetCollector, TopDocs},
    query::{BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser, TermQuery, TermSetQuery},
    schema::{self, IndexRecordOption, Value},
    snippet::SnippetGenerator,
    DocAddress, TantivyDocument, Term,
};

pub use index::SearchIndex;

use crate::{
    access::SpaceAction,
    accounts::User,
    db::Db,
    pages::{entity::page, Page},
    paging::PageNumber,
    spaces::grants::{self, SpaceGrant},
};

pub const PER_PAGE: usize = 10;

/// The deepest page of results shown: the engine keeps every hit up to the page asked for, so
/// how deep a reader may go is ours to decide, not theirs (nobody reads 500 hits down).
pub const MAX_PAGES: u32 = 50;

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
    pub page: PageNumber,
}

#[derive(Debug, Serialize)]
pub struct Hit {
    pub title: String,
    pub url: String,
    pub space: String,
    pub space_title: String,
    pub form: Option<String>,
    /// The comment the words were found in, when they were.
    pub comment: Option<i64>,
    /// The matching passage, as HTML: escaped text with the matches in `<mark>`.
    pub passage: String,
    pub score: f32,
}

/// A space whose name or description holds the words asked for.
#[derive(Debug, Serialize)]
pub struct SpaceHit {
    pub title: String,
    pub url: String,
    /// The description's first paragraph, as written.
    pub summary: String,
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
    /// What the query probably meant, when it found nothing as typed: the hits are its.
    pub corrected: Option<String>,
    pub total: usize,
    pub page: u64,
    pub pages: u64,
    pub hits: Vec<Hit>,
    pub spaces: Vec<FacetCount>,
    pub forms: Vec<FacetCount>,
    /// The spaces the words name (on the first page of an unfiltered search), for those who
    /// look for a group rather than a page.
    pub matching_spaces: Vec<SpaceHit>,
}

impl Ask {
    /// Why a query longer than `max` characters (the site's `max_search_chars`) is refused, in
    /// words; nothing when it is short enough.
    pub fn too_long(&self, max: usize, lang: i18n::Lang) -> Option<String> {
        (self.q.trim().chars().count() > max)
            .then(|| lang.tf("search.too_long", &[("max", &max.to_string())]))
    }
}

/// Runs a search as `user`.
pub async fn run(
    db: &Db,
    search: &SearchIndex,
    user: Option<&User>,
    ask: &Ask,
) -> anyhow::Result<Found> {
    let q = ask.q.trim();
    if q.is_empty() {
        return Ok(Found::nothing(q, Vec::new()));
    }
    let matching_spaces = if ask.space.is_empty() && ask.form.is_empty() && ask.page.get() == 1 {
        spaces_matching(&grants::visible_spaces(db, user).await?, q)
    } else {
        Vec::new()
    };
    let grants: HashMap<i64, SpaceGrant> = grants::readable_spaces(db, user).await?;
    if grants.is_empty() {
        return Ok(Found::nothing(q, matching_spaces));
    }
    let readable: Vec<i64> = grants.keys().copied().collect();
    let member_of: Vec<i64> = grants
        .values()
        .filter(|g| g.allows(SpaceAction::ReadMembersOnlyFields))
        .map(|g| g.space.id.0)
        .collect();
    // A space the reader may not read narrows to nothing, exactly like an unknown one.
    let only_space = (!ask.space.is_empty()).then(|| {
        grants.values().find(|g| g.space.slug.as_str() == ask.space).map_or(-1, |g| g.space.id.0)
    });
    let only_form = (!ask.form.is_empty() && !ask.form.contains('/')).then(|| ask.form.clone());
    let engine = search.clone();
    let query = q.to_owned();
    let asked_page = ask.page.get().min(MAX_PAGES);
    let (
        Matches { docs, total, spaces: spaces_counts, forms: forms_counts },
        page_number,
        corrected,
    ) = tokio::task::spawn_blocking(move || {
        let at = |query: &str, page: u32| {
            let offset = (page as usize - 1) * PER_PAGE;
            let matches = |q: &str| {
                engine.matches(
                    q,
                    &readable,
                    &member_of,
                    only_space,
                    only_form.as_deref(),
                    offset,
                    PER_PAGE,
                )
            };
            // Some queries the parser accepts cannot run (`body:*` asks a field for what it
            // does not keep): they are searched as the plain words they hold.
            matches(query).or_else(|err| {
                tracing::debug!(error = %err, "query searched as plain words");
                matches(&plain_words(query))
            })
        };
        let mut found = at(&query, asked_page)?;
        let mut corrected = None;
        // Nothing as typed: maybe a typo ("coperation"); then the hits of what was meant.
        if found.total == 0 {
            if let Some(better) = engine.corrected(&query, &readable, &member_of)? {
                found = at(&better, asked_page)?;
                corrected = Some(better);
            }
        }
        let asked = corrected.clone().unwrap_or_else(|| query.clone());
        // Past the last page of hits: the last page (asked again, now that the count is known).
        let last = paging::pages(found.total as u64, PER_PAGE as u64).min(MAX_PAGES);
        if asked_page > last {
            return at(&asked, last).map(|m| (m, last, corrected));
        }
        anyhow::Ok((found, asked_page, corrected))
    })
    .await
    .map_err(anyhow::Error::from)??;

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
        .filter_map(|(score, id, comment, passage)| {
            let page = pages.get(&id)?;
            let grant = grants.get(&page.space_id.0)?;
            if !access::page_allows(grant, page, SpaceAction::Read) {
                return None;
            }
            let url = format!("/s/{}/{}", grant.space.slug, page.slug);
            Some(Hit {
                title: page.title.clone(),
                url: match comment {
                    Some(c) => format!("{url}#comment-{c}"),
                    None => url,
                },
                comment,
                space: grant.space.slug.to_string(),
                space_title: grant.space.title.clone(),
                form: page.form.clone(),
                passage,
                score,
            })
        })
        .collect();

    let forms: HashMap<String, String> =
        forms::store::list(db).await?.into_iter().map(|f| (f.key, f.name)).collect();
    let mut space_facets: Vec<FacetCount> = spaces_counts
        .into_iter()
        .filter_map(|(id, count)| {
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
        .into_iter()
        .map(|(key, count)| {
            let label = forms.get(&key).cloned().unwrap_or_default();
            FacetCount { value: key, label, count }
        })
        .collect();
    form_facets.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    Ok(Found {
        query: q.to_owned(),
        corrected,
        total,
        page: u64::from(page_number),
        pages: u64::from(paging::pages(total as u64, PER_PAGE as u64).min(MAX_PAGES)),
        hits,
        spaces: space_facets,
        forms: form_facets,
        matching_spaces,
    })
}

impl Found {
    fn nothing(query: &str, matching_spaces: Vec<SpaceHit>) -> Self {
        Found {
            query: query.to_owned(),
            corrected: None,
            total: 0,
            page: 1,
            pages: 1,
            hits: Vec::new(),
            spaces: Vec::new(),
            forms: Vec::new(),
            matching_spaces,
        }
    }
}

/// Words as compared: lower case, accents dropped ("Financiers" and "financiers", "coopération"
/// and "cooperation" are the same word).
fn folded_words(text: &str) -> Vec<String> {
    slug::slugify(text, usize::MAX)
        .split('-')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The spaces (among those this reader may see) whose title or description holds every word
/// of `q` — as a word or the start of one — by title.
fn spaces_matching(spaces: &[SpaceGrant], q: &str) -> Vec<SpaceHit> {
    let wanted: Vec<String> =
        folded_words(&plain_words(q)).into_iter().filter(|w| w.chars().count() >= 2).collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    spaces
        .iter()
        .filter(|g| {
            let words = folded_words(&format!("{} {}", g.space.title, g.space.description));
            wanted.iter().all(|w| words.iter().any(|have| have.starts_with(w.as_str())))
        })
        .map(|g| SpaceHit {
            title: g.space.title.clone(),
            url: format!("/s/{}", g.space.slug),
            summary: g
                .space
                .description
                .split("\n\n")
                .next()
                .unwrap_or("")
                .trim()
                .chars()
                .take(300)
                .collect(),
        })
        .collect()
}

/// The words of a query without its syntax (fields, operators, wildcards, quotes).
fn plain_words(q: &str) -> String {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !["AND", "OR", "NOT", "TO", "IN"].contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the engine found for one query, before the pages are read from the database.
pub struct Matches {
    /// Score, page id, comment id (for a hit on a comment) and highlighted passage of the hits
    /// of the asked page of results.
    pub docs: Vec<(f32, i64, Option<i64>, String)>,
    pub total: usize,
    /// Matches by space id, and by form key.
    pub spaces: Vec<(i64, u64)>,
    pub forms: Vec<(String, u64)>,
}

impl SearchIndex {
    /// Which documents a reader may see at all: pages of spaces they read; members-only entries
    /// of the spaces they are members of.
    fn allowed(&self, readable: &[i64], member_of: &[i64]) -> BooleanQuery {
        let f = self.fields();
        let term =
            |field, id: i64| Term::from_field_u64(field, u64::try_from(id).unwrap_or_default());
        // Which documents this reader may see at all: pages of spaces they read; members-only
        // entries of the spaces they are members of.
        let public_pages: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermSetQuery::new(readable.iter().map(|id| term(f.space_id, *id)))),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.members_only, 0),
                    IndexRecordOption::Basic,
                )),
            ),
        ]));
        BooleanQuery::new(vec![
            (Occur::Should, public_pages),
            (
                Occur::Should,
                Box::new(TermSetQuery::new(member_of.iter().map(|id| term(f.space_id, *id)))),
            ),
        ])
    }

    /// What `q` probably meant, when it finds nothing as typed: each word of five letters or more
    /// is looked for within one or two typos ("coperation"), among what this reader may see,
    /// and replaced by the closest word of the best hits ("coopération"). `None` when nothing
    /// comes close. Blocking: call it off the async threads.
    pub fn corrected(
        &self,
        q: &str,
        readable: &[i64],
        member_of: &[i64],
    ) -> anyhow::Result<Option<String>> {
        let f = self.fields();
        let words: Vec<&str> =
            q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &words {
            let letters = word.chars().count();
            if letters < 5 {
                continue;
            }
            let distance = if letters >= 8 { 2 } else { 1 };
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for field in [f.title, f.body, f.values] {
                let mut analyzer = self.index().tokenizer_for_field(field)?;
                let mut stream = analyzer.token_stream(word);
                stream.process(&mut |token| {
                    let term = Term::from_field_text(field, &token.text);
                    alternatives
                        .push((Occur::Should, Box::new(FuzzyTermQuery::new(term, distance, true))));
                });
            }
            if !alternatives.is_empty() {
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
            }
        }
        if clauses.is_empty() {
            return Ok(None);
        }
        clauses.push((Occur::Must, Box::new(self.allowed(readable, member_of))));
        let searcher = self.searcher();
        let top = searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(5).order_by_score())?;
        // The words of the best hits, to pick the closest to each word typed.
        let mut seen: Vec<String> = Vec::new();
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc::<TantivyDocument>(address)?;
            for field in [f.title, f.body, f.values] {
                for value in doc.get_all(field) {
                    if let Some(text) = value.as_str() {
                        seen.extend(
                            text.split(|c: char| !c.is_alphanumeric())
                                .filter(|w| w.chars().count() >= 4)
                                .map(str::to_owned),
                        );
                    }
                }
            }
        }
        let fold = collation::fold;
        let mut changed = false;
        let fixed: Vec<String> = words
            .iter()
            .map(|word| {
                if word.chars().count() < 5 {
                    return (*word).to_owned();
                }
                let typed = fold(word);
                let best = seen
                    .iter()
                    .map(|w| (strsim::levenshtein(&typed, &fold(w)), w))
                    .filter(|(d, _)| *d <= 2)
                    .min_by_key(|(d, _)| *d);
                match best {
                    Some((d, w)) if d > 0 => {
                        changed = true;
                        w.to_lowercase()
                    }
                    _ => (*word).to_owned(),
                }
            })
            .collect();
        Ok(changed.then(|| fixed.join(" ")))
    }

    /// Runs `q` over the pages of the `readable` spaces (members-only entries of `member_of`
    /// only), optionally within one space and one form: the hits from `offset`, the count and
    /// the facets. Blocking: call it off the async threads.
    #[allow(clippy::too_many_arguments)]
    pub fn matches(
        &self,
        q: &str,
        readable: &[i64],
        member_of: &[i64],
        only_space: Option<i64>,
        only_form: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> anyhow::Result<Matches> {
        let f = self.fields();
        let allowed = self.allowed(readable, member_of);
        let mut parser = QueryParser::for_index(
            self.index(),
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
        if let Some(space) = only_space {
            let facet = schema::Facet::from(&format!("/{space}"));
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_facet(f.space, &facet),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some(form) = only_form {
            let facet = schema::Facet::from(&format!("/{form}"));
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_facet(f.form, &facet),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.searcher();
        let mut spaces_facet = FacetCollector::for_field("space");
        spaces_facet.add_facet("/");
        let mut forms_facet = FacetCollector::for_field("form");
        forms_facet.add_facet("/");
        let top = TopDocs::with_limit(limit.max(1)).and_offset(offset).order_by_score();
        let (top, total, spaces_counts, forms_counts) =
            searcher.search(&query, &(top, Count, spaces_facet, forms_facet))?;

        // The passages, from the text, else from the field values.
        let mut body_passages = SnippetGenerator::create(&searcher, &*asked, f.body)?;
        body_passages.set_max_num_chars(220);
        let mut value_passages = SnippetGenerator::create(&searcher, &*asked, f.values)?;
        value_passages.set_max_num_chars(220);
        let mut docs = Vec::new();
        for (score, address) in top {
            let address: DocAddress = address;
            let doc: TantivyDocument = searcher.doc(address)?;
            let id = doc.get_first(f.page_id).and_then(|v| v.as_u64()).unwrap_or_default();
            let comment = doc
                .get_first(f.comment_id)
                .and_then(|v| v.as_u64())
                .filter(|c| *c > 0)
                .and_then(|c| i64::try_from(c).ok());
            let mut passage = body_passages.snippet_from_doc(&doc);
            if passage.highlighted().is_empty() {
                let values = value_passages.snippet_from_doc(&doc);
                if !values.highlighted().is_empty() || passage.fragment().is_empty() {
                    passage = values;
                }
            }
            passage.set_snippet_prefix_postfix("<mark>", "</mark>");
            docs.push((score, i64::try_from(id).unwrap_or_default(), comment, passage.to_html()));
        }
        let last = |facet: &schema::Facet| facet.to_path().last().map(|s| (*s).to_owned());
        Ok(Matches {
            docs,
            total,
            spaces: spaces_counts
                .get("/")
                .filter_map(|(facet, n)| Some((last(facet)?.parse().ok()?, n)))
                .collect(),
            forms: forms_counts.get("/").filter_map(|(facet, n)| Some((last(facet)?, n))).collect(),
        })
    }
}

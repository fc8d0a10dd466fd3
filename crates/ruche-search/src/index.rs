//! The search index (tantivy) in the data directory: one document per page, with its title,
//! text and the values of its public fields, analysed for French (stems, accents folded) and
//! for English. Kept current from the database by a background task that batches the pages
//! it is told about; rebuilt when lost, corrupt or out of step with the database.
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tantivy::{
    schema::{
        Facet, FacetOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
        FAST, INDEXED, STORED,
    },
    tokenizer::{
        AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
        TextAnalyzer,
    },
    Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};
use tokio::sync::mpsc;

use crate::{
    collab, dates,
    db::Db,
    discussions, forms,
    forms::{entity::entry_field, FieldDef, FieldKind, Form},
    i18n::Lang,
    pages::entity::page,
};

/// Changes when the schema or the analysis changes: an older index is rebuilt.
const SCHEMA_VERSION: &str = "ruche-search-3";
/// How long the indexer gathers changes before writing them together.
const BATCH_WAIT: Duration = Duration::from_millis(300);
const WRITER_MEMORY: usize = 50_000_000;

/// The fields of the index.
#[derive(Clone, Copy)]
pub struct Fields {
    pub page_id: Field,
    /// The comment a document is (0: the page itself).
    pub comment_id: Field,
    pub space_id: Field,
    pub members_only: Field,
    pub title: Field,
    pub body: Field,
    pub values: Field,
    pub title_en: Field,
    pub body_en: Field,
    /// `/{space id}`
    pub space: Field,
    /// `/{form key}`, or `/page` for plain pages.
    pub form: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str, stored: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let fields = Fields {
        page_id: b.add_u64_field("page_id", INDEXED | STORED | FAST),
        comment_id: b.add_u64_field("comment_id", STORED),
        space_id: b.add_u64_field("space_id", INDEXED | FAST),
        members_only: b.add_u64_field("members_only", INDEXED),
        title: b.add_text_field("title", text("ruche_fr", true)),
        body: b.add_text_field("body", text("ruche_fr", true)),
        values: b.add_text_field("values", text("ruche_fr", true)),
        title_en: b.add_text_field("title_en", text("ruche_en", false)),
        body_en: b.add_text_field("body_en", text("ruche_en", false)),
        space: b.add_facet_field("space", FacetOptions::default()),
        form: b.add_facet_field("form", FacetOptions::default()),
    };
    (b.build(), fields)
}

fn analyzer(language: Language) -> TextAnalyzer {
    // Stemmed with its accents (the stemmers expect them), then folded: "coopérations",
    // "Coopération" and "cooperation" meet on "cooper".
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(language))
        .filter(AsciiFoldingFilter)
        .build()
}

/// What is indexed of a page.
#[derive(Debug, Clone)]
pub struct PageText {
    pub page_id: i64,
    pub space_id: i64,
    pub members_only: bool,
    pub form: Option<String>,
    pub title: String,
    pub body: String,
    /// The values of its fields that everyone who reads the page may see.
    pub values: String,
    /// Its comments that every reader of the page reads (not deleted, not hidden): a hit on
    /// one leads to it.
    pub comments: Vec<(i64, String)>,
}

/// The search index of a site.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    /// `None` once closed.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    queue: mpsc::UnboundedSender<Queued>,
    /// The other processes of the site, told about every page touched here.
    relay: OnceLock<Arc<collab::Relay>>,
}

/// What the indexer is told.
enum Queued {
    Page(i64),
    /// Write what is pending now, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl SearchIndex {
    /// Opens the index under `data_dir`, or makes a new one if it is missing, of an older
    /// schema, or unreadable (never fails for that: search is rebuilt, the site runs). Starts
    /// the task that keeps it current from `db`, and a rebuild if it is out of step.
    pub fn open(data_dir: &Path, db: Db) -> anyhow::Result<Self> {
        Self::open_with(data_dir, db, true)
    }

    /// Opens the index; `check` starts a rebuild when it is out of step with the database.
    pub fn open_with(data_dir: &Path, db: Db, check: bool) -> anyhow::Result<Self> {
        let dir = data_dir.join("search");
        let (index, fresh) = match open_existing(&dir) {
            Ok(index) => (index, false),
            Err(err) => {
                if dir.exists() {
                    tracing::warn!(error = %err, dir = %dir.display(), "search index unreadable: rebuilding it");
                    std::fs::remove_dir_all(&dir)?;
                }
                std::fs::create_dir_all(&dir)?;
                let (schema, _) = schema();
                let index = Index::create_in_dir(&dir, schema)?;
                std::fs::write(dir.join("RUCHE_VERSION"), SCHEMA_VERSION)?;
                (index, true)
            }
        };
        let search = Self::from_index(index, Some(db.clone()))?;
        if check {
            let checker = search.clone();
            tokio::spawn(async move {
                if let Err(err) = checker.rebuild_if_needed(&db, fresh).await {
                    tracing::warn!(error = ?err, "could not rebuild the search index");
                }
            });
        }
        Ok(search)
    }

    /// A new index in `dir` (which must be empty) that only `index_now` writes to: for the
    /// benchmark.
    pub fn create_at(dir: &Path) -> anyhow::Result<Self> {
        let (schema, _) = schema();
        Self::from_index(Index::create_in_dir(dir, schema)?, None)
    }

    fn from_index(index: Index, db: Option<Db>) -> anyhow::Result<Self> {
        index.tokenizers().register("ruche_fr", analyzer(Language::French));
        index.tokenizers().register("ruche_en", analyzer(Language::English));
        let (_, fields) = schema();
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer(WRITER_MEMORY).map_err(|e| {
            anyhow::anyhow!(
                "the search index is in use by another process ({e}): each Ruche process needs a data directory of its own, or stop the other one"
            )
        })?;
        let (queue, pending) = mpsc::unbounded_channel();
        let search = Self {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(Some(writer)),
                fields,
                queue,
                relay: OnceLock::new(),
            }),
        };
        if let Some(db) = db {
            // The task holds the index weakly: when the site stops, the index (and its writer's
            // lock) goes, the queue closes and the task ends.
            tokio::spawn(keep_current(Arc::downgrade(&search.inner), db, pending));
        }
        Ok(search)
    }

    pub fn fields(&self) -> Fields {
        self.inner.fields
    }

    pub fn index(&self) -> &Index {
        &self.inner.index
    }

    pub fn searcher(&self) -> tantivy::Searcher {
        self.inner.reader.searcher()
    }

    /// Asks for a page to be indexed again (after it changed, moved, was trashed or deleted),
    /// here and in the other processes serving the site.
    pub fn touch(&self, page: i64) {
        self.touch_here(page);
        if let Some(relay) = self.inner.relay.get() {
            relay.publish_site(&collab::relay::SiteNote::Touched(vec![page]));
        }
    }

    /// Asks for a page to be indexed again in this process only (another process said it changed).
    pub fn touch_here(&self, page: i64) {
        let _ = self.inner.queue.send(Queued::Page(page));
    }

    /// From now on, pages touched here are announced to the other processes through `relay`.
    pub fn announce_through(&self, relay: Arc<collab::Relay>) {
        let _ = self.inner.relay.set(relay);
    }

    /// Indexes every page again, in the background (after the link to the other processes was
    /// lost for a while: some of their changes may not have been announced).
    pub fn touch_everything(&self, db: Db) {
        let search = self.clone();
        tokio::spawn(async move {
            let ids: Result<Vec<i64>, _> = page::Entity::find()
                .select_only()
                .column(page::Column::Id)
                .into_tuple()
                .all(&db)
                .await;
            match ids {
                Ok(ids) => ids.into_iter().for_each(|id| search.touch_here(id)),
                Err(err) => tracing::warn!(error = ?err, "could not list the pages to index"),
            }
        });
    }

    /// Writes the pages waiting to be indexed now (before the site stops).
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.inner.queue.send(Queued::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }

    /// Replaces the documents of `ids` by `texts` (pages absent from `texts` are removed).
    pub async fn write(&self, ids: &[i64], texts: Vec<PageText>) -> anyhow::Result<()> {
        let search = self.clone();
        let ids = ids.to_vec();
        tokio::task::spawn_blocking(move || search.write_blocking(&ids, texts)).await?
    }

    fn write_blocking(&self, ids: &[i64], texts: Vec<PageText>) -> anyhow::Result<()> {
        let f = self.inner.fields;
        let mut guard = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(writer) = guard.as_mut() else { return Ok(()) };
        for id in ids {
            writer.delete_term(Term::from_field_u64(f.page_id, id_u64(*id)));
        }
        for t in texts {
            for doc in self.documents(&t) {
                writer.add_document(doc)?;
            }
        }
        writer.commit()?;
        drop(guard);
        self.inner.reader.reload()?;
        Ok(())
    }

    /// The page's document, and one for each of its comments (found by their words, in the
    /// same space, form and readership as their page).
    fn documents(&self, t: &PageText) -> Vec<TantivyDocument> {
        let f = self.inner.fields;
        let base = || {
            let mut doc = TantivyDocument::default();
            doc.add_u64(f.page_id, id_u64(t.page_id));
            doc.add_u64(f.space_id, id_u64(t.space_id));
            doc.add_u64(f.members_only, u64::from(t.members_only));
            doc.add_facet(f.space, Facet::from(&format!("/{}", t.space_id)));
            doc.add_facet(
                f.form,
                Facet::from(&format!("/{}", t.form.as_deref().unwrap_or("page"))),
            );
            doc
        };
        let mut page = base();
        page.add_u64(f.comment_id, 0);
        page.add_text(f.title, &t.title);
        page.add_text(f.body, &t.body);
        page.add_text(f.values, &t.values);
        page.add_text(f.title_en, &t.title);
        page.add_text(f.body_en, &t.body);
        let mut docs = vec![page];
        for (id, text) in &t.comments {
            let mut doc = base();
            doc.add_u64(f.comment_id, id_u64(*id));
            doc.add_text(f.body, text);
            doc.add_text(f.body_en, text);
            docs.push(doc);
        }
        docs
    }

    /// Indexes these pages at once (the benchmark; the rebuild).
    pub fn index_now(&self, texts: Vec<PageText>) -> anyhow::Result<()> {
        let f = self.inner.fields;
        let mut guard = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let writer = guard.as_mut().ok_or_else(|| anyhow::anyhow!("the search index is closed"))?;
        for t in &texts {
            writer.delete_term(Term::from_field_u64(f.page_id, id_u64(t.page_id)));
            for doc in self.documents(t) {
                writer.add_document(doc)?;
            }
        }
        writer.commit()?;
        drop(guard);
        self.inner.reader.reload()?;
        Ok(())
    }

    /// Stops writing: waits for the writer's work and releases the index's lock (when the site
    /// stops, so that another process, or the same one, may open it).
    pub fn close(&self) {
        let writer = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            if let Err(err) = writer.wait_merging_threads() {
                tracing::warn!(error = %err, "search index writer ended badly");
            }
        }
    }

    /// Rebuilds everything from the database, telling `progress` how far it is.
    pub async fn rebuild(&self, db: &Db, progress: impl Fn(u64, u64)) -> anyhow::Result<u64> {
        let total =
            page::Entity::find().filter(page::Column::TrashedAt.is_null()).count(db).await?;
        // Emptying and committing writes to disk: off the async threads, like every write.
        let search = self.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut guard = search.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let writer =
                guard.as_mut().ok_or_else(|| anyhow::anyhow!("the search index is closed"))?;
            writer.delete_all_documents()?;
            writer.commit()?;
            Ok(())
        })
        .await??;
        let mut done = 0;
        let mut after = 0;
        loop {
            let ids: Vec<i64> = page::Entity::find()
                .select_only()
                .column(page::Column::Id)
                .filter(page::Column::Id.gt(after))
                .order_by_asc(page::Column::Id)
                .limit(500)
                .into_tuple()
                .all(db)
                .await?;
            let Some(last) = ids.last().copied() else { break };
            after = last;
            let texts = texts(db, Some(&ids)).await?;
            done += texts.len() as u64;
            let search = self.clone();
            tokio::task::spawn_blocking(move || search.index_now(texts)).await??;
            progress(done, total);
        }
        Ok(done)
    }

    /// Whether the index holds as many documents as `db` says it should.
    pub async fn in_step(&self, db: &Db) -> anyhow::Result<bool> {
        Ok(documents_in(db).await? == self.searcher().num_docs())
    }

    async fn rebuild_if_needed(&self, db: &Db, fresh: bool) -> anyhow::Result<()> {
        let in_db = documents_in(db).await?;
        let in_index = self.searcher().num_docs();
        if fresh || in_db != in_index {
            tracing::info!(in_db, in_index, "rebuilding the search index");
            let n = self.rebuild(db, |_, _| {}).await?;
            tracing::info!(pages = n, "search index rebuilt");
        }
        Ok(())
    }
}

/// Writes the pages it is told about, gathered for a moment so that a burst is one commit.
async fn keep_current(
    index: std::sync::Weak<Inner>,
    db: Db,
    mut pending: mpsc::UnboundedReceiver<Queued>,
) {
    while let Some(first) = pending.recv().await {
        let mut batch = HashSet::new();
        let mut waiting = Vec::new();
        let mut note = |item: Queued, waiting: &mut Vec<_>| match item {
            Queued::Page(id) => {
                batch.insert(id);
            }
            Queued::Flush(done) => waiting.push(done),
        };
        note(first, &mut waiting);
        if waiting.is_empty() {
            tokio::time::sleep(BATCH_WAIT).await;
        }
        while let Ok(more) = pending.try_recv() {
            note(more, &mut waiting);
        }
        let Some(inner) = index.upgrade() else { return };
        let search = SearchIndex { inner };
        let ids: Vec<i64> = batch.into_iter().collect();
        if !ids.is_empty() {
            let result = async {
                let texts = texts(&db, Some(&ids)).await?;
                search.write(&ids, texts).await
            }
            .await;
            if let Err(err) = result {
                tracing::warn!(error = ?err, pages = ids.len(), "could not update the search index");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

fn id_u64(id: i64) -> u64 {
    u64::try_from(id).unwrap_or_default()
}

fn open_existing(dir: &PathBuf) -> anyhow::Result<Index> {
    let version = std::fs::read_to_string(dir.join("RUCHE_VERSION"))?;
    if version.trim() != SCHEMA_VERSION {
        anyhow::bail!("index of schema {version:?}, expected {SCHEMA_VERSION}");
    }
    let index = Index::open_in_dir(dir)?;
    // Reading every segment's metadata finds most corruption now rather than at query time.
    index.load_metas()?;
    index.reader()?.searcher().num_docs();
    Ok(index)
}

/// How many documents the index holds when in step with `db`: a page's own, and one for each
/// of its comments every reader reads (as `texts` makes them). Comparing pages alone rebuilt the
/// whole index at every start once a page had a comment.
async fn documents_in(db: &Db) -> anyhow::Result<u64> {
    use crate::discussions::entity::comment;
    use sea_orm::sea_query::Query;
    let pages = page::Entity::find().filter(page::Column::TrashedAt.is_null()).count(db).await?;
    let live_pages = Query::select()
        .column(page::Column::Id)
        .from(page::Entity)
        .and_where(page::Column::TrashedAt.is_null())
        .to_owned();
    let comments = comment::Entity::find()
        .filter(comment::Column::PageId.in_subquery(live_pages))
        .filter(comment::Column::DeletedAt.is_null())
        .filter(comment::Column::HiddenAt.is_null())
        .count(db)
        .await?;
    Ok(pages + comments)
}

/// A field's value as its entry's page shows it, for the index and the passages cut from it:
/// dates in words (in the interface's first language), a link to another entry by its name,
/// nothing for who may see the entry or a place's coordinates; never a raw stored value.
fn as_read(field: &FieldDef, row: entry_field::Model) -> Option<String> {
    let lang = Lang::default();
    let local = |text: &str| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok();
    match &field.kind {
        FieldKind::Audience | FieldKind::Point => None,
        FieldKind::Date => Some(
            chrono::NaiveDate::parse_from_str(&row.text, "%Y-%m-%d")
                .map_or(row.text, |d| dates::long_date(lang, d)),
        ),
        FieldKind::DateTimeRange => {
            let value: serde_json::Value = serde_json::from_str(&row.value).ok()?;
            let (start, end) = (local(value["start"].as_str()?)?, local(value["end"].as_str()?)?);
            Some(dates::range(lang, start, end))
        }
        FieldKind::PageLink { .. } => {
            Some(row.text.lines().map(forms::link_label).collect::<Vec<_>>().join("\n"))
        }
        _ => Some(row.text),
    }
}

/// What to index of these pages (all of them when `ids` is `None`); trashed ones are left out.
pub async fn texts(db: &Db, ids: Option<&[i64]>) -> anyhow::Result<Vec<PageText>> {
    let mut query = page::Entity::find().filter(page::Column::TrashedAt.is_null());
    if let Some(ids) = ids {
        query = query.filter(page::Column::Id.is_in(ids.iter().copied()));
    }
    let pages = query.all(db).await?;
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let forms: HashMap<String, Form> =
        forms::store::list(db).await?.into_iter().map(|f| (f.key.clone(), f)).collect();
    let mut values: HashMap<i64, Vec<entry_field::Model>> = HashMap::new();
    for row in entry_field::Entity::find()
        .filter(entry_field::Column::PageId.is_in(pages.iter().map(|p| p.id)))
        .all(db)
        .await?
    {
        values.entry(row.page_id).or_default().push(row);
    }
    let mut comments: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for c in discussions::entity::comment::Entity::find()
        .filter(discussions::entity::comment::Column::PageId.is_in(pages.iter().map(|p| p.id)))
        .filter(discussions::entity::comment::Column::DeletedAt.is_null())
        .filter(discussions::entity::comment::Column::HiddenAt.is_null())
        .all(db)
        .await?
    {
        comments.entry(c.page_id).or_default().push((c.id, c.markdown));
    }
    Ok(pages
        .into_iter()
        .map(|p| {
            let form = p.form.as_ref().and_then(|k| forms.get(k));
            // Only what every reader of the page may see is searchable.
            let public: Vec<String> = values
                .remove(&p.id)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|row| {
                    let field = form.and_then(|f| f.field(&row.key))?;
                    if field.is_private() || field.kind.is_upload() {
                        return None;
                    }
                    as_read(field, row)
                })
                .collect();
            PageText {
                page_id: p.id,
                space_id: p.space_id,
                members_only: p.members_only,
                form: p.form,
                title: p.title,
                comments: comments.remove(&p.id).unwrap_or_default(),
                body: p.plain_text,
                values: public.join("\n"),
            }
        })
        .collect())
}

//! The one Markdown renderer: CommonMark with tables, task lists, strikethrough and wiki links
//! (`[[Page]]`, `[[space/Page]]`, `[[Page|label]]`), headings with anchors, and everything
//! sanitised by ammonia before it reaches a page. Also the plain text and links of a page.
use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
};

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::sync::Arc;

use super::{store::LinkTarget, PageSlug};
use crate::{cache, cache::Bounded, slug::slugify, spaces::SpaceSlug};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_FOOTNOTES
}

/// How many quotes and list levels one line may open: more than anyone writes by hand. The
/// parser's cost grows with the depth of a line's containers (`>` × 40 000 took 5 s, and a page
/// of 100 000 took 104 s), so deeper markers are written out as text before it sees them.
pub const MAX_LINE_NESTING: usize = 16;

/// How deep quotes and lists are laid out in HTML; deeper levels keep their text unindented.
const MAX_HTML_NESTING: usize = 32;

/// `markdown` with every line's quote and list markers past the `MAX_LINE_NESTING`th escaped, so
/// the parser reads them as text; lines in fenced code blocks are left alone.
pub(crate) fn limit_nesting(markdown: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut fence: Option<(u8, usize)> = None;
    let mut start = 0;
    for line in markdown.split_inclusive('\n') {
        let at = start;
        start += line.len();
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        if indent < 4 {
            let rest = &bytes[indent..];
            let run = rest.iter().take_while(|b| Some(*b) == rest.first()).count();
            if matches!(rest.first(), Some(b'`' | b'~')) && run >= 3 {
                match fence {
                    None => fence = Some((rest[0], run)),
                    Some((c, n)) if c == rest[0] && run >= n => fence = None,
                    Some(_) => {}
                }
                continue;
            }
        }
        if fence.is_some() {
            continue;
        }
        if let Some(cut) = too_deep_at(bytes) {
            let text = out.get_or_insert_with(|| markdown[..at].to_owned());
            text.push_str(&line[..cut]);
            text.push('\\');
            text.push_str(&line[cut..]);
        } else if let Some(text) = out.as_mut() {
            text.push_str(line);
        }
    }
    match out {
        Some(text) => Cow::Owned(text),
        None => Cow::Borrowed(markdown),
    }
}

/// Where the line's first container marker past the allowed depth starts, if it has one.
fn too_deep_at(line: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut depth = 0;
    loop {
        while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
            i += 1;
        }
        let marker = i;
        let after = match line.get(i) {
            Some(b'>') => i + 1,
            Some(b'-' | b'+' | b'*') => i + 1,
            Some(b'0'..=b'9') => {
                let digits = line[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                match line.get(i + digits) {
                    Some(b'.' | b')') if digits <= 9 => i + digits + 1,
                    _ => return None,
                }
            }
            _ => return None,
        };
        // A list marker is one only when followed by a space or the end of the line.
        if line[marker] != b'>'
            && !matches!(line.get(after), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
        {
            return None;
        }
        depth += 1;
        if depth > MAX_LINE_NESTING {
            return Some(marker);
        }
        i = after;
    }
}

/// Drops the start and end of quotes and lists nested deeper than `MAX_HTML_NESTING` (lines can
/// still open one level each); their content stays.
fn flatten_deep(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut depth = 0usize;
    let mut kept_stack: Vec<bool> = Vec::new();
    let container_start =
        |e: &Event| matches!(e, Event::Start(Tag::BlockQuote(_) | Tag::List(_) | Tag::Item));
    let container_end =
        |e: &Event| matches!(e, Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item));
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        if container_start(&event) {
            depth += 1;
            let keep = depth <= MAX_HTML_NESTING;
            kept_stack.push(keep);
            if keep {
                out.push(event);
            }
        } else if container_end(&event) {
            depth = depth.saturating_sub(1);
            if kept_stack.pop().unwrap_or(true) {
                out.push(event);
            }
        } else {
            out.push(event);
        }
    }
    out
}

/// Rendered texts kept for the next reader, by content: a text's wiki links (by text and
/// space), and its HTML (by text, space, and what the reader may know of each link: readers who
/// know the same things share one rendering). Renders run off the async threads, a few at once.
pub struct RenderCache {
    links: Bounded<([u8; 32], String), Arc<Vec<LinkTarget>>>,
    html: Bounded<HtmlKey, Arc<str>>,
    running: tokio::sync::Semaphore,
}

/// A rendering's key: the text's digest, its space, what it is rendered for, and what the reader
/// may know of each of its links.
type HtmlKey = ([u8; 32], String, Kind, Vec<LinkState>);

/// What the cache may hold of rendered HTML and links, in bytes.
const RENDER_CACHE_BYTES: usize = 64 << 20;

impl Default for RenderCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            links: Bounded::new(RENDER_CACHE_BYTES / 8),
            html: Bounded::new(RENDER_CACHE_BYTES),
            running: tokio::sync::Semaphore::new(cores),
        }
    }
}

impl RenderCache {
    /// The wiki links of `markdown` in `space`, from the cache or parsed off the async threads.
    pub async fn links(&self, markdown: &str, space: &str) -> anyhow::Result<Arc<Vec<LinkTarget>>> {
        let key = (cache::digest(markdown), space.to_owned());
        if let Some(found) = self.links.get(&key) {
            return Ok(found);
        }
        let (text, in_space) = (markdown.to_owned(), space.to_owned());
        let found = self.blocking(move || Arc::new(links(&text, &in_space))).await?;
        let weight = found.iter().map(|t| t.space.len() + t.slug.len() + 64).sum::<usize>() + 64;
        self.links.insert(key, found.clone(), weight);
        Ok(found)
    }

    /// `markdown` rendered for a reader who knows `states` of its `targets` (in the order `links`
    /// gives them); kept for the next such reader when `keep`.
    pub async fn html(
        &self,
        markdown: &str,
        space: &str,
        targets: &[LinkTarget],
        states: Vec<LinkState>,
        keep: bool,
    ) -> anyhow::Result<Arc<str>> {
        let key = (cache::digest(markdown), space.to_owned(), Kind::Page, states);
        if let Some(found) = self.html.get(&key) {
            return Ok(found);
        }
        let known: HashMap<LinkTarget, LinkState> =
            targets.iter().cloned().zip(key.3.iter().copied()).collect();
        let (text, in_space) = (markdown.to_owned(), space.to_owned());
        let html: Arc<str> = self
            .blocking(move || {
                to_html(&text, &in_space, Kind::Page, &|t| {
                    known.get(t).copied().unwrap_or(LinkState::Unknown)
                })
                .into()
            })
            .await?;
        if keep {
            let weight = html.len() + 128;
            self.html.insert(key, html.clone(), weight);
        }
        Ok(html)
    }

    /// A short text shown among others (a comment, a field's long text, a space's description),
    /// rendered with its wiki links as plain links, from the cache or off the async threads,
    /// and kept for the next reader: the same text costs one rendering however often it is read.
    pub async fn snippet(&self, markdown: &str, space: &str) -> anyhow::Result<Arc<str>> {
        let key = (cache::digest(markdown), space.to_owned(), Kind::Snippet, Vec::new());
        if let Some(found) = self.html.get(&key) {
            return Ok(found);
        }
        let (text, in_space) = (markdown.to_owned(), space.to_owned());
        let html: Arc<str> = self
            .blocking(move || {
                to_html(&text, &in_space, Kind::Snippet, &|_| LinkState::Unknown).into()
            })
            .await?;
        self.html.insert(key, html.clone(), html.len() + 128);
        Ok(html)
    }

    /// Whether the HTML of the short text `markdown` in `space` is kept (without making it).
    pub fn holds_snippet(&self, markdown: &str, space: &str) -> bool {
        let key = (cache::digest(markdown), space.to_owned(), Kind::Snippet, Vec::new());
        self.html.get(&key).is_some()
    }

    /// Whether the HTML of `markdown` in `space`, for a reader who knows `states` of its links, is
    /// kept (without making it).
    pub fn holds(&self, markdown: &str, space: &str, states: Vec<LinkState>) -> bool {
        let key = (cache::digest(markdown), space.to_owned(), Kind::Page, states);
        self.html.get(&key).is_some()
    }

    /// Runs `work` on the blocking threads once one of the few rendering turns is free.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _turn = self.running.acquire().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

/// Where a wiki link points: a page address in a space (the current one when not named).
pub fn wiki_target(dest: &str, current_space: &str) -> Option<LinkTarget> {
    let (space, name) = match dest.split_once('/') {
        Some((space, name)) if SpaceSlug::parse(space).is_some() => (space.to_owned(), name),
        _ => (current_space.to_owned(), dest),
    };
    let slug = PageSlug::from_title(name)?;
    Some(LinkTarget { space, slug: slug.as_str().to_owned() })
}

/// The pages a text links to with wiki links.
pub fn links(markdown: &str, current_space: &str) -> Vec<LinkTarget> {
    let mut seen = HashSet::new();
    Parser::new_ext(&limit_nesting(markdown), options())
        .filter_map(|event| match event {
            Event::Start(Tag::Link { link_type: LinkType::WikiLink { .. }, dest_url, .. }) => {
                wiki_target(&dest_url, current_space)
            }
            _ => None,
        })
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// What the reader may learn about a link's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    Exists,
    /// Missing, and the reader may create it.
    Creatable,
    /// Missing, or in a space the reader may not read: shown as an ordinary link.
    Unknown,
}

/// What a text is rendered for: a page's own text, whose headings carry ids to link to its
/// sections, or a short text shown among others (a comment, a field, a description), whose
/// headings carry none (they would repeat from one comment to the next).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Page,
    Snippet,
}

/// Raw HTML in a text is shown as text, except these few tags written bare (`<sup>`,
/// `</sup>`), and `<br>`. People here do not write HTML, and the HTML parser the sanitiser runs
/// reopens unclosed formatting tags at every new block: 80 KB of `<b id=1><p>x<b id=2>…` took
/// 15 s and 3.7 GB. An allowed tag is closed where the element it was opened in ends, so what
/// reaches the sanitiser is well-formed and costs it one pass.
const BARE_TAGS: [&str; 8] = ["sup", "sub", "u", "mark", "kbd", "del", "ins", "small"];

/// How much HTML one text may make before the sanitiser, in bytes (estimated from the parser's
/// events as they come): an ordinary text makes a few times its length (a short wiki link makes
/// the most, ≈ 14×), but table rows padded to their header's width and links repeating one long
/// reference grow with the square of the text. Past this, the text is shown as it was written.
/// Whatever the text's length, no more than `MOST_HTML`.
fn html_budget(markdown_len: usize) -> usize {
    (64 * 1024 + 32 * markdown_len).min(MOST_HTML)
}

/// The most HTML one text may make (a 2-million-character page of prose makes about 2.2 MB).
const MOST_HTML: usize = 6 << 20;

/// The most elements and texts one text may make: the sanitiser holds each as a node of a tree
/// (a few hundred bytes each), so it is their number that decides its memory — 1 MB of a table
/// padded to 1 000 columns made a million cells and took 300 MB. A page of 5 000 rows of six
/// cells makes about 70 000.
const MOST_EVENTS: usize = 150_000;

/// The class of the block showing a text too costly to lay out, as it was written
/// (`shown_as_written` tells it from a rendering).
const AS_WRITTEN: &str = "<pre class=\"as-written\">";

/// Whether `html` (from `to_html`) is the text shown as it was written, because laying it out
/// would have cost more than its budget: its editors are told so.
pub fn shown_as_written(html: &str) -> bool {
    html.starts_with(AS_WRITTEN)
}

/// Renders Markdown to safe HTML. `resolve` says what a wiki link's target is for this reader.
/// Its time and size grow in proportion to the text, whatever the text: a text that would make
/// more HTML than its budget is shown as written.
pub fn to_html(
    markdown: &str,
    current_space: &str,
    kind: Kind,
    resolve: &dyn Fn(&LinkTarget) -> LinkState,
) -> String {
    let limited = limit_nesting(markdown);
    let Some(events) = events(&limited, current_space, resolve) else {
        return format!("{AS_WRITTEN}{}</pre>", escape(markdown));
    };
    let mut events = flatten_deep(events);
    match kind {
        Kind::Page => add_heading_ids(&mut events),
        Kind::Snippet => {}
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitizer().clean(&html).to_string()
}

/// The events of `markdown` as the page shows them (wiki links resolved, task marks as symbols,
/// headings one level down, raw HTML as text), or `None` once they would make more HTML than
/// `html_budget` allows.
fn events<'a>(
    markdown: &'a str,
    current_space: &str,
    resolve: &dyn Fn(&LinkTarget) -> LinkState,
) -> Option<Vec<Event<'a>>> {
    let budget = html_budget(markdown.len());
    let mut spent = 0usize;
    let mut events: Vec<Event> = Vec::new();
    let mut open_wiki: Vec<bool> = Vec::new();
    let mut raw = RawHtml::default();
    for event in Parser::new_ext(markdown, options()) {
        spent += weight(&event);
        if spent > budget || events.len() >= MOST_EVENTS {
            return None;
        }
        if raw.take(&event, &mut events) {
            continue;
        }
        match event {
            Event::Start(Tag::Link {
                link_type: LinkType::WikiLink { .. },
                dest_url,
                title,
                ..
            }) => {
                let tag = match wiki_target(&dest_url, current_space) {
                    Some(target) => {
                        let (href, class) = match resolve(&target) {
                            LinkState::Exists => {
                                (format!("/s/{}/{}", target.space, target.slug), "wikilink")
                            }
                            LinkState::Creatable => {
                                let name =
                                    dest_url.rsplit('/').next().unwrap_or(&dest_url).to_owned();
                                let query: String =
                                    url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
                                (
                                    format!("/s/{}/new?title={query}", target.space),
                                    "wikilink wikilink-missing",
                                )
                            }
                            LinkState::Unknown => {
                                (format!("/s/{}/{}", target.space, target.slug), "wikilink")
                            }
                        };
                        format!(
                            "<a href=\"{}\" class=\"{class}\" title=\"{}\">",
                            escape(&href),
                            escape(&title)
                        )
                    }
                    None => "<a>".to_owned(),
                };
                spent += tag.len();
                open_wiki.push(true);
                events.push(Event::InlineHtml(CowStr::from(tag)));
            }
            Event::Start(tag @ Tag::Link { .. }) => {
                open_wiki.push(false);
                events.push(Event::Start(tag));
            }
            Event::End(TagEnd::Link) => {
                if open_wiki.pop().unwrap_or(false) {
                    events.push(Event::InlineHtml(CowStr::from("</a>")));
                } else {
                    events.push(Event::End(TagEnd::Link));
                }
            }
            // A symbol rather than a disabled checkbox: read out by screen readers, no form field.
            Event::TaskListMarker(done) => {
                let mark = if done {
                    "<span class=\"task done\">☑</span> "
                } else {
                    "<span class=\"task\">☐</span> "
                };
                events.push(Event::InlineHtml(CowStr::from(mark)));
            }
            // The page's title is its one `h1`: a text's headings start one level below it.
            Event::Start(Tag::Heading { level, id, classes, attrs }) => {
                events.push(Event::Start(Tag::Heading { level: below(level), id, classes, attrs }))
            }
            Event::End(TagEnd::Heading(level)) => {
                events.push(Event::End(TagEnd::Heading(below(level))))
            }
            // One press of Enter starts a new line for the reader too, as in YesWiki and most
            // comment boxes; a blank line still starts a new paragraph.
            Event::SoftBreak => events.push(Event::HardBreak),
            other => events.push(other),
        }
    }
    raw.close_all(&mut events);
    Some(events)
}

/// About how many bytes of HTML `event` makes.
fn weight(event: &Event) -> usize {
    16 + match event {
        Event::Text(s)
        | Event::Code(s)
        | Event::Html(s)
        | Event::InlineHtml(s)
        | Event::InlineMath(s)
        | Event::DisplayMath(s)
        | Event::FootnoteReference(s) => s.len(),
        Event::Start(
            Tag::Link { dest_url, title, id, .. } | Tag::Image { dest_url, title, id, .. },
        ) => dest_url.len() + title.len() + id.len(),
        _ => 0,
    }
}

/// A line of an HTML block shown as text: its tags written out, its entities (`&eacute;`,
/// `&nbsp;`) read as the rest of the text reads them. With no `<` left, the sanitiser's parser
/// can only find text in it.
fn as_text(line: &str) -> Event<'static> {
    Event::InlineHtml(CowStr::from(line.replace('<', "&lt;").replace('>', "&gt;")))
}

/// Raw HTML met in a text, on its way to being shown as text (see `BARE_TAGS`).
#[derive(Default)]
struct RawHtml<'a> {
    /// How many elements the parser has opened and not yet closed.
    depth: usize,
    /// The bare tags open, with the depth they were opened at.
    open: Vec<(&'static str, usize)>,
    /// The lines of the HTML block being read, if one is.
    block: Option<Vec<CowStr<'a>>>,
}

impl<'a> RawHtml<'a> {
    /// Takes care of `event` when it is raw HTML or closes an element, pushing what shows in its
    /// place; `false` when the event is someone else's to push.
    fn take(&mut self, event: &Event<'a>, out: &mut Vec<Event<'a>>) -> bool {
        match event {
            Event::Start(Tag::HtmlBlock) => {
                self.depth += 1;
                self.block = Some(Vec::new());
                true
            }
            Event::Html(line) => {
                match self.block.as_mut() {
                    Some(lines) => lines.push(line.clone()),
                    None => out.push(as_text(line)),
                }
                true
            }
            Event::End(TagEnd::HtmlBlock) => {
                self.depth = self.depth.saturating_sub(1);
                let lines = self.block.take().unwrap_or_default();
                // A comment stays unseen, as the sanitiser always left it.
                if lines.first().is_some_and(|l| l.trim_start().starts_with("<!--")) {
                    return true;
                }
                out.push(Event::Start(Tag::Paragraph));
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        out.push(Event::HardBreak);
                    }
                    out.push(as_text(line.trim_end_matches(['\n', '\r'])));
                }
                out.push(Event::End(TagEnd::Paragraph));
                true
            }
            Event::InlineHtml(tag) => {
                self.inline(tag, out);
                true
            }
            Event::Start(_) => {
                self.depth += 1;
                false
            }
            Event::End(_) => {
                self.close_from(self.depth, out);
                self.depth = self.depth.saturating_sub(1);
                false
            }
            _ => false,
        }
    }

    /// An inline tag: a bare allowed one opens or closes, a comment is dropped, anything else
    /// is text.
    fn inline(&mut self, tag: &CowStr<'a>, out: &mut Vec<Event<'a>>) {
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("<!--") {
            return;
        }
        if matches!(lower.as_str(), "<br>" | "<br/>" | "<br />") {
            out.push(Event::InlineHtml(CowStr::Borrowed("<br>")));
            return;
        }
        let name = lower.strip_prefix('<').and_then(|t| t.strip_suffix('>'));
        let allowed = |n: &str| BARE_TAGS.iter().copied().find(|t| *t == n);
        match name {
            Some(n) if n.starts_with('/') => {
                let n = &n[1..];
                let top = self.open.last().filter(|(t, d)| *t == n && *d == self.depth);
                if let Some(&(t, _)) = top {
                    self.open.pop();
                    out.push(Event::InlineHtml(CowStr::from(format!("</{t}>"))));
                    return;
                }
            }
            Some(n) => {
                // A few levels are plenty for sup, kbd and their kind.
                if let Some(t) = allowed(n).filter(|_| self.open.len() < 8) {
                    self.open.push((t, self.depth));
                    out.push(Event::InlineHtml(CowStr::from(format!("<{t}>"))));
                    return;
                }
            }
            None => {}
        }
        out.push(Event::Text(tag.clone()));
    }

    /// Closes the bare tags opened at `depth` or deeper.
    fn close_from(&mut self, depth: usize, out: &mut Vec<Event<'a>>) {
        while let Some(&(t, d)) = self.open.last() {
            if d < depth {
                break;
            }
            self.open.pop();
            out.push(Event::InlineHtml(CowStr::from(format!("</{t}>"))));
        }
    }

    fn close_all(&mut self, out: &mut Vec<Event<'a>>) {
        self.close_from(0, out);
    }
}

/// The heading level under `level` (`h6` stays `h6`).
fn below(level: pulldown_cmark::HeadingLevel) -> pulldown_cmark::HeadingLevel {
    use pulldown_cmark::HeadingLevel::*;
    match level {
        H1 => H2,
        H2 => H3,
        H3 => H4,
        H4 => H5,
        H5 | H6 => H6,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What every heading's id starts with: the page's own ids (`discussion`, `comment-3`,
/// `backlinks`…) never do, so a heading named "Discussion" cannot take theirs.
pub(crate) const HEADING_ID_PREFIX: &str = "section-";

/// Gives each heading an id from its text ("Prochaines étapes" → `section-prochaines-etapes`),
/// unique in the page, so sections can be linked to.
fn add_heading_ids(events: &mut [Event]) {
    let mut used: HashSet<String> = HashSet::new();
    let mut tried: HashMap<String, usize> = HashMap::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { id: None, .. }) = &events[i] {
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            let base = match slugify(&text, 60) {
                s if s.is_empty() => format!("{HEADING_ID_PREFIX}sans-titre"),
                s => format!("{HEADING_ID_PREFIX}{s}"),
            };
            // "a", "a", "a 2": the second "a" is `a-2`, so the third, whose own id would be
            // `a-2` too, takes the next one free.
            // Each text's count goes on from where it was, so many alike headings cost one try
            // each.
            let n = tried.entry(base.clone()).or_insert(1);
            let mut anchor = if *n == 1 { base.clone() } else { format!("{base}-{n}") };
            while used.contains(&anchor) {
                *n += 1;
                anchor = format!("{base}-{n}");
            }
            used.insert(anchor.clone());
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(anchor));
            }
        } else if let Event::Start(Tag::Heading { id: Some(own), .. }) = &mut events[i] {
            // `{#id}` attributes are not enabled; should they be, they get the prefix too.
            *own = CowStr::from(format!("{HEADING_ID_PREFIX}{own}"));
        }
        i += 1;
    }
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: std::sync::OnceLock<ammonia::Builder<'static>> = std::sync::OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .add_allowed_classes("a", ["wikilink", "wikilink-missing"])
            .add_allowed_classes("span", ["task", "done"]);
        for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
            builder.add_tag_attributes(heading, ["id"]);
        }
        // No real address holds a control character; some browsers once skipped them, so
        // `jav&#x08;ascript:` could be read as a script (found by fuzzing, `page_text`).
        builder.attribute_filter(|_, attribute, value| {
            let url = matches!(attribute, "href" | "src" | "cite" | "longdesc" | "srcset");
            if url && value.chars().any(char::is_control) {
                None
            } else {
                Some(value.into())
            }
        });
        builder
    })
}

/// The text of a page without its Markdown, for search and summaries.
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(&limit_nesting(markdown), options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableRow
                | TagEnd::CodeBlock,
            ) => text.push('\n'),
            Event::End(TagEnd::TableCell) => text.push(' '),
            _ => {}
        }
    }
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(md: &str) -> String {
        to_html(md, "chantier-1", Kind::Page, &|t| {
            if t.slug == "feuille-de-route" {
                LinkState::Exists
            } else {
                LinkState::Creatable
            }
        })
    }

    #[test]
    fn wiki_links_resolve_to_pages_or_offer_to_create_them() {
        let html = render("Voir [[Feuille de route]], [[chantier-2/Outils financiers|les outils]] et [[Compte rendu]].");
        assert!(html.contains(r#"href="/s/chantier-1/feuille-de-route""#), "{html}");
        assert!(html.contains(r#"href="/s/chantier-2/new?title=Outils+financiers""#), "{html}");
        assert!(html.contains(">les outils</a>"), "{html}");
        assert!(html.contains("wikilink-missing"), "{html}");
        let targets = links(
            "[[Feuille de route]] [[chantier-2/Outils financiers|x]] [[Feuille de route]]",
            "chantier-1",
        );
        assert_eq!(targets.len(), 2);
        assert_eq!(
            targets[1],
            LinkTarget { space: "chantier-2".into(), slug: "outils-financiers".into() }
        );
    }

    #[test]
    fn markdown_features_render() {
        let html = render("# Prochaines étapes\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] fait\n- [ ] à faire\n\n```\ncode\n```\n\n![logo](https://example.org/a.png)");
        assert!(
            html.contains(r#"<h2 id="section-prochaines-etapes">"#),
            "the title is the page's h1: {html}"
        );
        assert!(html.contains("<table>") && html.contains("<td>1</td>"), "{html}");
        assert!(html.contains("☑</span> fait") && html.contains("☐</span> à faire"), "{html}");
        assert!(html.contains("<pre><code>code"), "{html}");
        assert!(html.contains(r#"<img src="https://example.org/a.png""#), "{html}");
    }

    #[test]
    fn scripts_handlers_and_javascript_urls_are_neutralised() {
        let vectors = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[clic](javascript:alert(1))",
            "![x](javascript:alert(1))",
            "<a href=\"jAvAsCrIpT:alert(1)\">x</a>",
            "<svg onload=alert(1)>",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<input type=\"text\" value=\"phish\">",
            "[[x\" onmouseover=\"alert(1)]]",
        ];
        for v in vectors {
            let html = render(v).to_lowercase();
            // Look inside tags only: text may say anything once it is escaped.
            let tags: Vec<&str> =
                html.split('<').skip(1).filter_map(|t| t.split('>').next()).collect();
            for tag in tags {
                for bad in [
                    "script",
                    " on",
                    "javascript:",
                    "data:",
                    "style=",
                    "iframe",
                    "svg",
                    "type=\"text\"",
                ] {
                    assert!(!tag.contains(bad), "{v:?} gave the tag <{tag}>");
                }
            }
        }
    }

    #[test]
    fn html_is_shown_as_typed_with_its_entities_read() {
        let html = render(
            "<center>Été &eacute;t&eacute; &amp; &lt;b&gt;</center>\n\nm<sup>2</sup> <b id=1>x</b>",
        );
        assert!(html.contains("&lt;center&gt;Été été &amp; &lt;b&gt;&lt;/center&gt;"), "{html}");
        assert!(html.contains("m<sup>2</sup> &lt;b id=1&gt;x&lt;/b&gt;"), "{html}");
    }

    #[test]
    fn heading_ids_are_unique_in_a_page() {
        let html = render("# a\n\n# a\n\n# a 2\n\n# a");
        for id in ["section-a\"", "section-a-2\"", "section-a-2-2\"", "section-a-3\""] {
            assert_eq!(html.matches(id).count(), 1, "{id} in {html}");
        }
    }

    #[test]
    fn one_line_break_is_a_line_break() {
        let html = render("Mon titre\nun\ntache\n\nAutre paragraphe");
        assert!(html.contains("Mon titre<br>\nun<br>\ntache</p>"), "{html}");
        assert_eq!(html.matches("<p>").count(), 2, "{html}");
    }

    #[test]
    fn plain_text_drops_the_markup() {
        assert_eq!(
            plain_text("# Titre\n\nUn **mot** et [[Lien]].\n\n- a\n- b"),
            "Titre\nUn mot et Lien.\na\nb"
        );
    }

    #[test]
    fn deep_nesting_is_capped_before_the_parser_sees_it() {
        let quotes = ">".repeat(40_000);
        let limited = limit_nesting(&quotes);
        assert_eq!(limited.find('\\'), Some(MAX_LINE_NESTING));
        let html = render(&quotes);
        assert_eq!(html.matches("<blockquote>").count(), MAX_LINE_NESTING);
        for deep in ["- ".repeat(30_000), "> - ".repeat(20_000), "1. ".repeat(20_000)] {
            let html = render(&deep);
            assert!(html.matches("<li>").count() <= MAX_LINE_NESTING, "{}", &html[..200]);
        }
        // Ordinary texts are untouched, and fenced code keeps its markers.
        let text = "> citation\n> > réponse\n\n- a\n  - b\n1. un\n\n```\n".to_owned()
            + &"> ".repeat(40)
            + "\n```\n";
        assert!(matches!(limit_nesting(&text), Cow::Borrowed(_)));
        assert!(matches!(limit_nesting("- [ ] tâche\n* * *\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn lists_nested_line_by_line_stay_within_the_html_depth() {
        let text: String = (0..200).map(|i| format!("{}- niveau {i}\n", "  ".repeat(i))).collect();
        let html = render(&text);
        assert!(
            html.matches("<ul>").count() <= MAX_HTML_NESTING,
            "{}",
            html.matches("<ul>").count()
        );
        assert!(html.contains("niveau 199"));
    }
}

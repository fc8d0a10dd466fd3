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
use crate::{cache::Bounded, slug::slugify, spaces::SpaceSlug};

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
pub fn limit_nesting(markdown: &str) -> Cow<'_, str> {
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
    html: Bounded<([u8; 32], String, Vec<LinkState>), Arc<str>>,
    running: tokio::sync::Semaphore,
}

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
        let key = (crate::cache::digest(markdown), space.to_owned());
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
        let key = (crate::cache::digest(markdown), space.to_owned(), states);
        if let Some(found) = self.html.get(&key) {
            return Ok(found);
        }
        let known: HashMap<LinkTarget, LinkState> =
            targets.iter().cloned().zip(key.2.iter().copied()).collect();
        let (text, in_space) = (markdown.to_owned(), space.to_owned());
        let html: Arc<str> = self
            .blocking(move || {
                to_html(&text, &in_space, &|t| known.get(t).copied().unwrap_or(LinkState::Unknown))
                    .into()
            })
            .await?;
        if keep {
            let weight = html.len() + 128;
            self.html.insert(key, html.clone(), weight);
        }
        Ok(html)
    }

    /// Whether the HTML of `markdown` in `space`, for a reader who knows `states` of its links, is
    /// kept (without making it).
    pub fn holds(&self, markdown: &str, space: &str, states: Vec<LinkState>) -> bool {
        self.html.get(&(crate::cache::digest(markdown), space.to_owned(), states)).is_some()
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
pub(crate) fn wiki_target(dest: &str, current_space: &str) -> Option<LinkTarget> {
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

/// Renders Markdown to safe HTML. `resolve` says what a wiki link's target is for this reader.
pub fn to_html(
    markdown: &str,
    current_space: &str,
    resolve: &dyn Fn(&LinkTarget) -> LinkState,
) -> String {
    let limited = limit_nesting(markdown);
    let mut events: Vec<Event> = Vec::new();
    let mut open_wiki: Vec<bool> = Vec::new();
    for event in Parser::new_ext(&limited, options()) {
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
    let mut events = flatten_deep(events);
    add_heading_ids(&mut events);
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitizer().clean(&html).to_string()
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

/// Gives each heading an id from its text ("Prochaines étapes" → `prochaines-etapes`), unique
/// in the page, so sections can be linked to.
fn add_heading_ids(events: &mut [Event]) {
    let mut used: HashMap<String, usize> = HashMap::new();
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
                s if s.is_empty() => "section".to_owned(),
                s => s,
            };
            let n = used.entry(base.clone()).or_insert(0);
            *n += 1;
            let anchor = if *n == 1 { base } else { format!("{base}-{n}") };
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(anchor));
            }
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
        to_html(md, "chantier-1", &|t| {
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
            html.contains(r#"<h2 id="prochaines-etapes">"#),
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

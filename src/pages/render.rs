//! The one Markdown renderer: CommonMark with tables, task lists, strikethrough and wiki links
//! (`[[Page]]`, `[[space/Page]]`, `[[Page|label]]`), headings with anchors, and everything
//! sanitised by ammonia before it reaches a page. Also the plain text and links of a page.
use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::{store::LinkTarget, PageSlug};
use crate::{slug::slugify, spaces::SpaceSlug};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_FOOTNOTES
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
    Parser::new_ext(markdown, options())
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    let mut events: Vec<Event> = Vec::new();
    let mut open_wiki: Vec<bool> = Vec::new();
    for event in Parser::new_ext(markdown, options()) {
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
            other => events.push(other),
        }
    }
    add_heading_ids(&mut events);
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitizer().clean(&html).to_string()
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
    for event in Parser::new_ext(markdown, options()) {
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
        assert!(html.contains(r#"<h1 id="prochaines-etapes">"#), "{html}");
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
    fn plain_text_drops_the_markup() {
        assert_eq!(
            plain_text("# Titre\n\nUn **mot** et [[Lien]].\n\n- a\n- b"),
            "Titre\nUn mot et Lien.\na\nb"
        );
    }
}

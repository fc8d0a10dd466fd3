//! Export for people: spaces as a zip of Markdown files that open without Ruche. One folder per
//! space, one `.md` file per page with its title and field values as front matter, attached
//! files beside it, wiki links and site links rewritten to relative paths, and an `index.md`.
use std::{
    collections::{HashMap, HashSet},
    io::Write,
    path::Path,
};

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag};
use serde_json::Value;

use crate::{collab, dates, db::Db, i18n, pages};
use ruche_accounts as accounts;
use ruche_discussions as discussions;
use ruche_forms as forms;
use ruche_pages::entity::page;
use ruche_spaces::Space;

/// What an export holds.
#[derive(Debug, Default)]
pub struct Exported {
    pub spaces: usize,
    pub pages: usize,
    pub files: usize,
}

struct PageOut {
    id: i64,
    slug: String,
    title: String,
    form: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// Writes `spaces` (every page not in the trash, every attached file) as a zip to `out`; links
/// to the rest of the site (at `site_url`) point to it online.
pub async fn export(
    db: &Db,
    uploads_dir: &Path,
    site_url: &str,
    spaces: &[Space],
    out: impl Write + std::io::Seek,
) -> anyhow::Result<Exported> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut summary = Exported::default();

    // Which pages exist in the export, by (space, slug): only links to them are kept as links.
    let mut by_space: Vec<(&Space, Vec<PageOut>)> = Vec::new();
    let mut exported: HashSet<(String, String)> = HashSet::new();
    for space in spaces {
        let pages: Vec<PageOut> = page::Entity::find()
            .filter(page::Column::SpaceId.eq(space.id.0))
            .filter(page::Column::TrashedAt.is_null())
            .order_by_asc(page::Column::Title)
            .all(db)
            .await?
            .into_iter()
            .map(|p| PageOut {
                id: p.id,
                slug: p.slug,
                title: p.title,
                form: p.form,
                updated_at: p.updated_at,
            })
            .collect();
        for p in &pages {
            exported.insert((space.slug.as_str().to_owned(), p.slug.clone()));
        }
        by_space.push((space, pages));
    }

    let mut index = String::from("# Export\n\n");
    for (space, pages) in &by_space {
        let folder = space.slug.as_str();
        index.push_str(&format!("## [{}]({folder}/index.md)\n\n", escape_label(&space.title)));
        let mut space_index = format!("# {}\n\n{}\n\n", space.title, space.description);
        for p in pages {
            let content = collab::stored_content(db, collab::DocId(p.id)).await?;
            // Each file is copied into the zip from disk when written, never read whole.
            let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
            let mut fields = content.fields.as_object().cloned().unwrap_or_default();
            let mut used_names: HashMap<String, usize> = HashMap::new();
            for value in fields.values_mut() {
                let Some(hash) = value.get("hash").and_then(Value::as_str) else { continue };
                let Some(path) = forms::uploads::stored_path(uploads_dir, hash) else {
                    continue;
                };
                let name = safe_file_name(
                    value.get("name").and_then(Value::as_str).unwrap_or("fichier"),
                    &mut used_names,
                );
                let relative = format!("{}.files/{name}", p.slug);
                *value = Value::String(relative.clone());
                files.push((relative, path));
            }
            // Pictures and files the text links (recorded as the page's) go beside it too.
            let mut markdown = content.markdown.clone();
            let own = format!("/s/{folder}/{}/files/", p.slug);
            for hash in pages::files::linked(db, p.id, &markdown).await? {
                let Some(path) = forms::uploads::stored_path(uploads_dir, &hash) else {
                    continue;
                };
                // Named as it was sent to this page.
                let stored = forms::entity::upload_page::Entity::find_by_id((hash.clone(), p.id))
                    .one(db)
                    .await?
                    .map(|u| u.name)
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| "fichier".to_owned());
                let name = safe_file_name(&stored, &mut used_names);
                let relative = format!("{}.files/{name}", p.slug);
                markdown = markdown.replace(&format!("{own}{hash}"), &format!("<{relative}>"));
                files.push((relative, path));
            }
            let body = rewrite_links(&markdown, folder, &exported, site_url);
            let mut text = String::from("---\n");
            text.push_str(&format!("title: {}\n", json(&Value::String(p.title.clone()))));
            if let Some(form) = &p.form {
                text.push_str(&format!("form: {}\n", json(&Value::String(form.clone()))));
            }
            text.push_str(&format!("updated: {}\n", p.updated_at.to_rfc3339()));
            if !fields.is_empty() {
                text.push_str("fields:\n");
                for (key, value) in &fields {
                    // JSON is YAML: the values read back with any YAML reader.
                    text.push_str(&format!(
                        "  {}: {}\n",
                        json(&Value::String(key.clone())),
                        json(value)
                    ));
                }
            }
            text.push_str("---\n\n");
            text.push_str(&format!("# {}\n\n", p.title));
            text.push_str(&body);
            if !files.is_empty() {
                text.push_str("\n\n## Fichiers joints\n\n");
                for (relative, _) in &files {
                    let name = relative.rsplit('/').next().unwrap_or(relative);
                    text.push_str(&format!("- [{}](<{relative}>)\n", escape_label(name)));
                }
            }
            text.push_str(&discussion(db, p.id).await?);
            zip.start_file(format!("{folder}/{}.md", p.slug), options)?;
            zip.write_all(text.as_bytes())?;
            for (relative, path) in files {
                let Ok(mut file) = std::fs::File::open(&path) else { continue };
                zip.start_file(format!("{folder}/{relative}"), options)?;
                std::io::copy(&mut file, &mut zip)?;
                summary.files += 1;
            }
            space_index.push_str(&format!("- [{}]({}.md)\n", escape_label(&p.title), p.slug));
            index.push_str(&format!("- [{}]({folder}/{}.md)\n", escape_label(&p.title), p.slug));
            summary.pages += 1;
        }
        index.push('\n');
        zip.start_file(format!("{folder}/index.md"), options)?;
        zip.write_all(space_index.as_bytes())?;
        summary.spaces += 1;
    }
    zip.start_file("index.md", options)?;
    zip.write_all(index.as_bytes())?;
    zip.finish()?;
    Ok(summary)
}

/// The page's discussion as a `## Discussion` section: each thread, its replies below it
/// (deleted and hidden comments left out; a deleted one that was answered is named so).
async fn discussion(db: &Db, page: i64) -> anyhow::Result<String> {
    let comments = discussions::list(db, page).await?;
    let authors = accounts::store::by_ids(db, comments.iter().filter_map(|c| c.author_id)).await?;
    let threads = discussions::threads(comments);
    if threads.is_empty() {
        return Ok(String::new());
    }
    let lang = i18n::Lang::Fr;
    let zone = dates::DEFAULT_TIME_ZONE;
    let heading = |c: &discussions::Comment, level: &str| {
        let who = c
            .author_id
            .and_then(|a| authors.get(&a))
            .map_or_else(|| lang.t("comments.former_member"), |u| u.name.clone());
        format!("{level} {who}, {}\n\n", dates::moment(lang, zone, c.created_at))
    };
    let mut out = String::from("\n\n## Discussion\n\n");
    for (top, replies) in threads {
        if top.deleted || top.hidden {
            out.push_str(&format!("### {}\n\n", lang.t("comments.deleted")));
        } else {
            out.push_str(&heading(&top, "###"));
            out.push_str(&top.markdown);
            out.push_str("\n\n");
        }
        for reply in replies.iter().filter(|r| !r.hidden) {
            out.push_str(&heading(reply, "####"));
            out.push_str(&reply.markdown);
            out.push_str("\n\n");
        }
    }
    Ok(out)
}

fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\").replace('[', "\\[").replace(']', "\\]")
}

/// A file name safe in any file system, unique within its page.
fn safe_file_name(name: &str, used: &mut HashMap<String, usize>) -> String {
    let cleaned: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("fichier")
        .chars()
        .map(|c| if c.is_control() || "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_owned();
    let cleaned = if cleaned.is_empty() { "fichier".to_owned() } else { cleaned };
    let n = used.entry(cleaned.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        cleaned
    } else {
        match cleaned.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-{n}.{ext}"),
            None => format!("{cleaned}-{n}"),
        }
    }
}

/// Wiki links (`[[Page]]`, `[[space/Page|label]]`) and links to the site's pages
/// (`/s/space/page`) become relative links between the exported files; links to pages not in
/// the export and to the rest of the site (`/agenda`) point to the site online. A single line
/// break is written as a Markdown hard break (`\` at the end of the line), so the file reads
/// in other tools as it reads on the site.
pub fn rewrite_links(
    markdown: &str,
    space: &str,
    exported: &HashSet<(String, String)>,
    site_url: &str,
) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_FOOTNOTES;
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    // The link being read: its place in the text, the page it reaches, where it goes online.
    type Open = (std::ops::Range<usize>, Option<(String, String)>, String, String);
    let mut open: Option<Open> = None;
    let site_url = site_url.trim_end_matches('/');
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { link_type, dest_url, .. }) if open.is_none() => {
                let target = match link_type {
                    LinkType::WikiLink { .. } => {
                        pages::render::wiki_target(&dest_url, space).map(|t| (t.space, t.slug))
                    }
                    _ => site_link(&dest_url),
                };
                let online = match (&link_type, &target) {
                    (LinkType::WikiLink { .. }, Some((s, p))) => format!("{site_url}/s/{s}/{p}"),
                    _ if dest_url.starts_with('/') && !dest_url.starts_with("//") => {
                        format!("{site_url}{dest_url}")
                    }
                    _ => String::new(),
                };
                let wiki = matches!(link_type, LinkType::WikiLink { .. });
                if wiki || target.is_some() || !online.is_empty() {
                    open = Some((range, target, online, String::new()));
                }
            }
            Event::SoftBreak if open.is_none() => replacements.push((range, "\\\n".to_owned())),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, _, label)) = open.as_mut() {
                    label.push_str(&text);
                }
            }
            Event::End(pulldown_cmark::TagEnd::Link) => {
                if let Some((range, target, online, label)) = open.take() {
                    let label = escape_label(&label);
                    let replacement = match target.filter(|t| exported.contains(t)) {
                        Some((to_space, slug)) if to_space == space => {
                            format!("[{label}]({slug}.md)")
                        }
                        Some((to_space, slug)) => format!("[{label}](../{to_space}/{slug}.md)"),
                        None if online.is_empty() => label,
                        None => format!("[{label}](<{online}>)"),
                    };
                    replacements.push((range, replacement));
                }
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(markdown.len());
    let mut at = 0;
    for (range, replacement) in replacements {
        if range.start < at {
            continue;
        }
        out.push_str(&markdown[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&markdown[at..]);
    out
}

/// `/s/space/page` (or the full address of this site's page) as (space, page).
fn site_link(dest: &str) -> Option<(String, String)> {
    let path = dest.split(['#', '?']).next()?;
    let rest = path.strip_prefix("/s/")?;
    let (space, page) = rest.split_once('/')?;
    (!page.is_empty() && !page.contains('/')).then(|| (space.to_owned(), page.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_relative_or_plain_words() {
        let exported: HashSet<(String, String)> = [
            ("chantier-1".to_owned(), "feuille-de-route".to_owned()),
            ("chantier-2".to_owned(), "outils-financiers".to_owned()),
        ]
        .into_iter()
        .collect();
        let md = "Voir [[Feuille de route]], [[chantier-2/Outils financiers|les outils]], \
                  [[Page absente]] et [le site](/s/chantier-2/outils-financiers#haut) ou \
                  [ailleurs](https://example.org) et [l'agenda](/agenda).";
        assert_eq!(
            rewrite_links(md, "chantier-1", &exported, "https://wiki.example.org/"),
            "Voir [Feuille de route](feuille-de-route.md), [les outils](../chantier-2/outils-financiers.md), \
             [Page absente](<https://wiki.example.org/s/chantier-1/page-absente>) et \
             [le site](../chantier-2/outils-financiers.md) ou \
             [ailleurs](https://example.org) et [l'agenda](<https://wiki.example.org/agenda>)."
        );
    }

    #[test]
    fn single_line_breaks_stay_line_breaks() {
        let md = "Mon titre\nun  \ntache\n\n- a\n  suite";
        let out = rewrite_links(md, "chantier-1", &HashSet::new(), "https://wiki.example.org/");
        // ("un  " already ended with a hard break: two spaces.)
        assert_eq!(out, "Mon titre\\\nun  \ntache\n\n- a\\\n  suite");
    }

    #[test]
    fn attached_file_names_are_safe_and_unique() {
        let mut used = HashMap::new();
        assert_eq!(safe_file_name("../../etc/passwd", &mut used), "passwd");
        assert_eq!(safe_file_name("compte rendu.pdf", &mut used), "compte rendu.pdf");
        assert_eq!(safe_file_name("compte rendu.pdf", &mut used), "compte rendu-2.pdf");
        assert_eq!(safe_file_name("a:b?.txt", &mut used), "a_b_.txt");
        assert_eq!(safe_file_name("..", &mut used), "fichier");
    }
}

//! Atom feeds of recent changes (RFC 4287), and the personal feed addresses that let a feed
//! reader see members-only and private spaces as their owner would, revocably.
use atom_syndication::{EntryBuilder, FeedBuilder, FixedDateTime, LinkBuilder, Person, Text};
use chrono::Utc;

use super::recent::Change;
use crate::i18n::Lang;

/// One sentence saying what happened.
pub fn describe(lang: Lang, change: &Change) -> String {
    let who = change.who.clone().unwrap_or_else(|| lang.t("changes.someone"));
    lang.tf(
        &format!("changes.{}", change.kind.as_str()),
        &[("title", &change.page_title), ("who", &who), ("old", &change.detail)],
    )
}

/// The feed's XML. `self_url` is where the feed is, `page_url` the HTML page it mirrors.
pub fn atom(
    lang: Lang,
    title: &str,
    base_url: &str,
    self_url: &str,
    page_url: &str,
    changes: &[Change],
) -> String {
    let fixed = |t: chrono::DateTime<Utc>| -> FixedDateTime { t.fixed_offset() };
    let updated = changes.first().map_or_else(Utc::now, |c| c.at);
    let entries = changes
        .iter()
        .map(|c| {
            let href = match c.revision {
                Some(id) => format!("{base_url}/s/{}/{}/history/{id}", c.space_slug, c.page_slug),
                None => format!("{base_url}{}", c.url()),
            };
            EntryBuilder::default()
                .id(format!("{base_url}/changes#event-{}", c.id))
                .title(Text::plain(describe(lang, c)))
                .updated(fixed(c.at))
                .authors(vec![Person {
                    name: c.who.clone().unwrap_or_else(|| lang.t("changes.someone")),
                    ..Default::default()
                }])
                .links(vec![LinkBuilder::default()
                    .href(href)
                    .rel("alternate")
                    .mime_type(Some("text/html".to_owned()))
                    .build()])
                .summary(Some(Text::plain(format!("{} — {}", c.space_title, c.page_title))))
                .build()
        })
        .collect::<Vec<_>>();
    FeedBuilder::default()
        .title(Text::plain(title.to_owned()))
        .id(page_url.to_owned())
        .updated(fixed(updated))
        .links(vec![
            LinkBuilder::default()
                .href(self_url.to_owned())
                .rel("self")
                .mime_type(Some("application/atom+xml".to_owned()))
                .build(),
            LinkBuilder::default()
                .href(page_url.to_owned())
                .rel("alternate")
                .mime_type(Some("text/html".to_owned()))
                .build(),
        ])
        .authors(vec![Person { name: title.to_owned(), ..Default::default() }])
        .lang(Some(lang.code().to_owned()))
        .entries(entries)
        .build()
        .to_string()
}

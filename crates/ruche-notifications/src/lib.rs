//! Being told what changed: people follow a page, a space or a form (and the pages they write,
//! at once); when an editing session settles into a revision, each follower who may read the
//! page gets a notification — in the site (the bell, `/notifications`) and, as they chose, by
//! mail at once, in a daily digest, or never. A new `@handle` in a page's text tells that person.
//! Access is checked when the notification is made, and again when it is shown or mailed in a
//! digest: someone who lost access never reads a word of it.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as notifications;
use ruche_access as access;
use ruche_accounts as accounts;
use ruche_base::{db, i18n};
use ruche_history as history;
use ruche_mail::mail;
use ruche_mail::outbox;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub mod digest;
pub mod entity;
pub mod mentions;

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use self::entity::{follow, notification};
use crate::{
    access::SpaceAction,
    accounts::{User, UserId},
    db::Db,
    i18n::Lang,
    pages::{Page, PageId},
    spaces::{Space, SpaceId},
};

/// Notifications listed on `/notifications`.
pub const SHOWN: u64 = 50;

/// New mentions looked at in one revision (a text listing a thousand handles tells twenty).
const MENTIONS_AT_ONCE: usize = 20;

/// People one author's mentions may tell in an hour, on pages and in comments alike: a
/// meeting's notes name a dozen people, a busy day a few dozen. Beyond, a mention still shows
/// in the text but tells (and mails) nobody.
const MENTIONS_PER_HOUR: u64 = 50;

/// What is followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Page(PageId),
    Space(SpaceId),
    /// A form's new entries, in every space the follower may read.
    Form(String),
}

/// What a notification tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Changed,
    Created,
    /// A new entry of a form (or in a space) followed.
    Entry,
    Mention,
    /// The reader was added to a space.
    Added,
    /// A comment on a page followed.
    Comment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Changed => "changed",
            Kind::Created => "created",
            Kind::Entry => "entry",
            Kind::Mention => "mention",
            Kind::Added => "added",
            Kind::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "created" => Kind::Created,
            "entry" => Kind::Entry,
            "mention" => Kind::Mention,
            "added" => Kind::Added,
            "comment" => Kind::Comment,
            _ => Kind::Changed,
        }
    }

    /// The sentence that tells it: "Marie a modifié « Feuille de route »".
    pub fn sentence(self, lang: Lang, who: Option<&str>, title: &str) -> String {
        let who = who.map(str::to_owned).unwrap_or_else(|| lang.t("notify.someone"));
        lang.tf(&format!("notify.{}", self.as_str()), &[("who", &who), ("title", title)])
    }
}

/// How mail is chosen: `now`, `daily` or `never`.
pub const MAIL_CHOICES: [&str; 3] = ["now", "daily", "never"];

/// How often the digests and the bell are looked at (not keys: tests make them quick).
#[derive(Debug, Clone)]
pub struct Pace {
    /// How often the daily digests due are looked for.
    pub digest_every: Duration,
    /// How often an open page asks for the bell's count.
    pub bell_every: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Self { digest_every: Duration::from_secs(60), bell_every: Duration::from_secs(60) }
    }
}

fn target_filter(user: UserId, target: &Target) -> Condition {
    let c = Condition::all().add(follow::Column::UserId.eq(user.0));
    match target {
        Target::Page(p) => c.add(follow::Column::PageId.eq(p.0)),
        Target::Space(s) => c.add(follow::Column::SpaceId.eq(s.0)),
        Target::Form(key) => c.add(follow::Column::FormKey.eq(key.as_str())),
    }
}

/// Whether `user` follows `target` itself.
pub async fn follows(db: &Db, user: UserId, target: &Target) -> anyhow::Result<bool> {
    Ok(follow::Entity::find().filter(target_filter(user, target)).count(db).await? > 0)
}

/// `user` follows `target` (again: nothing changes).
pub async fn follow<C: sea_orm::ConnectionTrait>(
    db: &C,
    user: UserId,
    target: &Target,
) -> anyhow::Result<()> {
    if follow::Entity::find().filter(target_filter(user, target)).count(db).await? > 0 {
        return Ok(());
    }
    let (page_id, space_id, form_key) = match target {
        Target::Page(p) => (Some(p.0), None, None),
        Target::Space(s) => (None, Some(s.0), None),
        Target::Form(key) => (None, None, Some(key.clone())),
    };
    follow::ActiveModel {
        user_id: Set(user.0),
        page_id: Set(page_id),
        space_id: Set(space_id),
        form_key: Set(form_key),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn unfollow(db: &Db, user: UserId, target: &Target) -> anyhow::Result<()> {
    follow::Entity::delete_many().filter(target_filter(user, target)).exec(db).await?;
    Ok(())
}

/// What a notification mail needs to know of the site.
#[derive(Clone)]
pub struct Mailing {
    pub base_url: String,
    pub site_name: String,
    /// Whether mail is set up.
    pub on: bool,
    /// The site's zone: digests go out at their hour there, for those who chose no zone.
    pub zone: chrono_tz::Tz,
}

/// An editing session of `page` settled into `revision`, by `authors`: they follow the page
/// from now on; the people its new text mentions, and every other follower of the page, its
/// space (or, for a new entry, its form) who may read it, are notified (and mailed, if they
/// want mail). Answers how many were notified.
pub async fn revision_settled(
    db: &Db,
    mailing: &Mailing,
    page: PageId,
    revision: i64,
    authors: &[i64],
) -> anyhow::Result<usize> {
    let Some(page) = pages::store::get(db, page).await? else { return Ok(0) };
    let Some(space) = spaces::store::get(db, page.space_id).await? else { return Ok(0) };
    // This revision and the one before it (none: the page's first).
    let versions = history::entity::revision::Entity::find()
        .filter(history::entity::revision::Column::PageId.eq(page.id.0))
        .filter(history::entity::revision::Column::Id.lte(revision))
        .order_by_desc(history::entity::revision::Column::Id)
        .limit(2)
        .all(db)
        .await?;
    let Some(new) = versions.first() else { return Ok(0) };
    let old = versions.get(1);
    let first = old.is_none();
    let old_text = old.map_or("", |o| o.markdown.as_str());

    // Who is told what: mentioned people first (a mention says more than a change).
    let added = mentions::added(old_text, &new.markdown);
    let mut told = mentioned(db, page.id, authors.first().copied(), added, usize::MAX).await?;
    let mut followed = Condition::any()
        .add(follow::Column::PageId.eq(page.id.0))
        .add(follow::Column::SpaceId.eq(space.id.0));
    if let (true, Some(form)) = (first, &page.form) {
        followed = followed.add(follow::Column::FormKey.eq(form.as_str()));
    }
    let kind = match (first, &page.form) {
        (true, Some(_)) => Kind::Entry,
        (true, None) => Kind::Created,
        (false, _) => Kind::Changed,
    };
    for f in follow::Entity::find().filter(followed).all(db).await? {
        told.push((f.user_id, kind));
    }
    let about = Occasion { revision: Some(revision), comment: None };
    tell(db, mailing, (&space, &page), told, authors, about).await
}

/// Who holds an unread notification of `kind` about `page`: they are not told again.
async fn unread_about(
    db: &Db,
    page: i64,
    kind: Kind,
) -> anyhow::Result<std::collections::HashSet<i64>> {
    Ok(notification::Entity::find()
        .filter(notification::Column::PageId.eq(page))
        .filter(notification::Column::Kind.eq(kind.as_str()))
        .filter(notification::Column::ReadAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|n| n.user_id)
        .collect())
}

/// The people `handles` name whom a mention by `author` on `page` should tell: not those who
/// still have an unread mention of this page (being named again is the same news), and no
/// more than the author's budget for the hour leaves (`MENTIONS_PER_HOUR`), nor than `room`
/// (what the client address may still tell).
async fn mentioned(
    db: &Db,
    page: PageId,
    author: Option<i64>,
    handles: Vec<String>,
    room: usize,
) -> anyhow::Result<Vec<(i64, Kind)>> {
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    let mut left = MENTIONS_AT_ONCE.min(room);
    if let Some(author) = author {
        let lately = notification::Entity::find()
            .filter(notification::Column::Kind.eq(Kind::Mention.as_str()))
            .filter(notification::Column::ActorId.eq(author))
            .filter(notification::Column::CreatedAt.gt(Utc::now() - chrono::Duration::hours(1)))
            .count(db)
            .await?;
        let budget = usize::try_from(MENTIONS_PER_HOUR.saturating_sub(lately)).unwrap_or(0);
        left = left.min(budget);
    }
    let waiting = unread_about(db, page.0, Kind::Mention).await?;
    let mut told = Vec::new();
    for handle in handles.into_iter().take(MENTIONS_AT_ONCE) {
        if told.len() >= left {
            break;
        }
        let Some(person) = accounts::store::find_by_handle(db, &handle).await? else {
            continue;
        };
        if Some(person.id.0) != author && !waiting.contains(&person.id.0) {
            told.push((person.id.0, Kind::Mention));
        }
    }
    Ok(told)
}

/// What a notification points at besides its page.
#[derive(Debug, Clone, Copy)]
struct Occasion {
    revision: Option<i64>,
    comment: Option<i64>,
}

/// Tells `told` (person, what) of something `authors` did on `page`: each once, the authors
/// never, and only those who may read the page now; by mail as each chose. The authors follow
/// the page from now on.
async fn tell(
    db: &Db,
    mailing: &Mailing,
    (space, page): (&Space, &Page),
    mut told: Vec<(i64, Kind)>,
    authors: &[i64],
    occasion: Occasion,
) -> anyhow::Result<usize> {
    let mut seen = std::collections::HashSet::new();
    told.retain(|(user, _)| !authors.contains(user) && seen.insert(*user));
    let people = accounts::store::by_ids(db, told.iter().map(|(u, _)| *u)).await?;
    // Checked now, person by person: who may read this page at this moment.
    let mut readers: Vec<(User, Kind)> = Vec::new();
    for (id, kind) in told {
        let Some(person) = people.get(&id).filter(|u| !u.disabled) else { continue };
        if may_read(db, person, page).await? {
            readers.push((person.clone(), kind));
        }
    }
    let actor = authors.first().copied();
    let actor_name = match actor {
        Some(id) => accounts::store::find(db, UserId(id)).await?.map(|u| u.name),
        None => None,
    };
    let mut keys = std::collections::HashMap::new();
    if mailing.on {
        for (reader, _) in readers.iter().filter(|(r, _)| r.notify_by_mail == "now") {
            keys.insert(reader.id.0, accounts::store::unsubscribe_key(db, reader.id).await?);
        }
    }
    let mut url = page_url(space, page);
    if let Some(comment) = occasion.comment {
        url.push_str(&format!("#comment-{comment}"));
    }
    let txn = db.begin().await?;
    for author in authors {
        follow(&txn, UserId(*author), &Target::Page(page.id)).await?;
    }
    for (reader, kind) in &readers {
        let digest = mailing.on && reader.notify_by_mail == "daily";
        notification::ActiveModel {
            user_id: Set(reader.id.0),
            kind: Set(kind.as_str().to_owned()),
            page_id: Set(Some(page.id.0)),
            space_id: Set(Some(space.id.0)),
            actor_id: Set(actor),
            revision_id: Set(occasion.revision),
            comment_id: Set(occasion.comment),
            created_at: Set(Utc::now()),
            read_at: Set(None),
            in_digest: Set(digest),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if let Some(key) = keys.get(&reader.id.0) {
            let about = About { title: &page.title, url: url.clone() };
            let mail = mail(mailing, reader, key, *kind, &about, actor_name.as_deref());
            mail::enqueue(&txn, &mail).await?;
        }
    }
    txn.commit().await?;
    Ok(readers.len())
}

/// A comment was posted on `page` by `author`: the people it mentions who may read the page,
/// and the page's and space's followers, are told — followers once until they read it (a lively
/// discussion is one notification, not one per comment). Mentions tell `mention_room` people at
/// most. Answers how many were told in all, and how many of them by a mention.
pub async fn comment_posted(
    db: &Db,
    mailing: &Mailing,
    page: &Page,
    comment: i64,
    (author, markdown): (i64, &str),
    mention_room: usize,
) -> anyhow::Result<(usize, usize)> {
    let Some(space) = spaces::store::get(db, page.space_id).await? else {
        return Ok((0, 0));
    };
    let handles = mentions::handles(markdown).into_iter().collect();
    let mut told = mentioned(db, page.id, Some(author), handles, mention_room).await?;
    let named = told.len();
    // Followers already told of this discussion, and who have not read it yet.
    let waiting = unread_about(db, page.id.0, Kind::Comment).await?;
    let followed = Condition::any()
        .add(follow::Column::PageId.eq(page.id.0))
        .add(follow::Column::SpaceId.eq(space.id.0));
    for f in follow::Entity::find().filter(followed).all(db).await? {
        if !waiting.contains(&f.user_id) {
            told.push((f.user_id, Kind::Comment));
        }
    }
    let occasion = Occasion { revision: None, comment: Some(comment) };
    Ok((tell(db, mailing, (&space, page), told, &[author], occasion).await?, named))
}

/// A page was made whole at once (an entry of a form, with its values): the people following
/// its space or its form are told, as when a first editing session settles.
pub async fn page_made(
    db: &Db,
    mailing: &Mailing,
    page: PageId,
    author: Option<i64>,
) -> anyhow::Result<usize> {
    let latest = history::entity::revision::Entity::find()
        .filter(history::entity::revision::Column::PageId.eq(page.0))
        .order_by_desc(history::entity::revision::Column::Id)
        .one(db)
        .await?;
    let Some(latest) = latest else { return Ok(0) };
    let authors: Vec<i64> = author.into_iter().collect();
    revision_settled(db, mailing, page, latest.id, &authors).await
}

/// `user` was added to `space` by `actor`: told in the site (the mail that added them already
/// said so).
pub async fn added_to_space<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user: UserId,
    space: SpaceId,
    actor: Option<UserId>,
) -> anyhow::Result<()> {
    notification::ActiveModel {
        user_id: Set(user.0),
        kind: Set(Kind::Added.as_str().to_owned()),
        page_id: Set(None),
        space_id: Set(Some(space.0)),
        actor_id: Set(actor.map(|a| a.0)),
        revision_id: Set(None),
        comment_id: Set(None),
        created_at: Set(Utc::now()),
        read_at: Set(None),
        in_digest: Set(false),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

fn page_url(space: &Space, page: &Page) -> String {
    format!("/s/{}/{}", space.slug, page.slug)
}

/// Whether `person` may read `page` now (its space's rules and its own).
async fn may_read(db: &Db, person: &User, page: &Page) -> anyhow::Result<bool> {
    Ok(spaces::grants::reads(db, Some(person), page).await?)
}

/// Whether `person` may read `space` now.
async fn may_read_space(db: &Db, person: &User, space: &Space) -> anyhow::Result<bool> {
    Ok(spaces::grants::space(db, Some(person), space.slug.as_str(), SpaceAction::Read)
        .await
        .is_ok())
}

/// What a notification is about, as a mail names it.
struct About<'a> {
    title: &'a str,
    /// From the site's root (`/s/chantier-1/feuille-de-route`).
    url: String,
}

/// The one-click unsubscribe address of a person (RFC 8058), from their key.
pub(crate) fn unsubscribe_url(mailing: &Mailing, key: &str) -> String {
    format!("{}/unsubscribe/{key}", mailing.base_url)
}

/// The mail of one notification, in the site's language.
fn mail(
    mailing: &Mailing,
    reader: &User,
    key: &str,
    kind: Kind,
    about: &About<'_>,
    actor: Option<&str>,
) -> mail::Mail {
    let lang = Lang::Fr;
    let what = kind.sentence(lang, actor, about.title);
    let unsubscribe = unsubscribe_url(mailing, key);
    let mut mail = mail::compose(mail::Letter {
        site_name: &mailing.site_name,
        to: &reader.email,
        subject: what.clone(),
        greeting: lang.tf("reset.mail_greeting", &[("name", &reader.name)]),
        paragraphs: vec![what],
        sections: Vec::new(),
        action: Some((lang.t("notify.open"), format!("{}{}", mailing.base_url, about.url))),
        footer: lang.tf("notify.mail_footer", &[("url", &unsubscribe)]),
    });
    mail.unsubscribe = Some(unsubscribe);
    mail
}

/// One notification as its reader sees it.
pub struct Shown {
    pub id: i64,
    pub kind: Kind,
    pub who: Option<String>,
    pub title: String,
    /// Where it leads (the page, or the space).
    pub url: String,
    /// The space it happened in (its name).
    pub space: String,
    pub at: chrono::DateTime<Utc>,
    pub read: bool,
}

/// Rows of notifications as their reader may see them now: those about pages or spaces they
/// may no longer read are left out.
async fn shown(db: &Db, user: &User, rows: Vec<notification::Model>) -> anyhow::Result<Vec<Shown>> {
    let actors = accounts::store::by_ids(db, rows.iter().filter_map(|r| r.actor_id)).await?;
    let mut shown = Vec::new();
    for row in rows {
        let who = row.actor_id.and_then(|a| actors.get(&a)).map(|u| u.name.clone());
        let (title, url, space) = match (row.page_id, row.space_id) {
            (Some(page), _) => {
                let Some(page) = pages::store::get(db, PageId(page)).await? else {
                    continue;
                };
                // Checked again now: access lost since means nothing is shown.
                if !may_read(db, user, &page).await? {
                    continue;
                }
                let Some(space) = spaces::store::get(db, page.space_id).await? else {
                    continue;
                };
                let mut url = page_url(&space, &page);
                if let Some(comment) = row.comment_id {
                    url.push_str(&format!("#comment-{comment}"));
                }
                (page.title.clone(), url, space.title)
            }
            (None, Some(space)) => {
                let Some(space) = spaces::store::get(db, SpaceId(space)).await? else {
                    continue;
                };
                if !may_read_space(db, user, &space).await? {
                    continue;
                }
                (space.title.clone(), format!("/s/{}", space.slug), space.title)
            }
            (None, None) => continue,
        };
        shown.push(Shown {
            id: row.id,
            kind: Kind::parse(&row.kind),
            who,
            title,
            url,
            space,
            at: row.created_at,
            read: row.read_at.is_some(),
        });
    }
    Ok(shown)
}

/// A person's newest notifications about what they may still read.
pub async fn list(db: &Db, user: &User) -> anyhow::Result<Vec<Shown>> {
    let rows = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.id.0))
        .order_by_desc(notification::Column::Id)
        .limit(SHOWN)
        .all(db)
        .await?;
    shown(db, user, rows).await
}

/// One notification of `user`, marked read, if they may still read what it is about.
pub async fn open(db: &Db, user: &User, id: i64) -> anyhow::Result<Option<Shown>> {
    let Some(row) = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(user.id.0))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(notification::Column::Id.eq(row.id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(shown(db, user, vec![row]).await?.pop())
}

/// How many notifications `user` has not read.
pub async fn unread(db: &Db, user: UserId) -> anyhow::Result<u64> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Marks every notification of `user` read.
pub async fn mark_all_read(db: &Db, user: UserId) -> anyhow::Result<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// `user` opened `page`: what told them of it is read.
pub async fn mark_page_read(db: &Db, user: UserId, page: PageId) -> anyhow::Result<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(notification::Column::UserId.eq(user.0))
        .filter(notification::Column::PageId.eq(page.0))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// How a person wants notifications by mail: `now`, `daily` (at `hour`, in their zone) or
/// `never`. Leaving the digest drops what waited for it (it stays in the site).
pub async fn set_mail_choice(db: &Db, user: UserId, choice: &str, hour: u32) -> anyhow::Result<()> {
    use crate::accounts::entity::user;
    anyhow::ensure!(MAIL_CHOICES.contains(&choice) && hour < 24, "no such choice");
    user::Entity::update_many()
        .col_expr(user::Column::NotifyByMail, sea_orm::sea_query::Expr::value(choice))
        .col_expr(user::Column::DigestHour, sea_orm::sea_query::Expr::value(hour as i32))
        .filter(user::Column::Id.eq(user.0))
        .exec(db)
        .await?;
    if choice != "daily" {
        notification::Entity::update_many()
            .col_expr(notification::Column::InDigest, sea_orm::sea_query::Expr::value(false))
            .filter(notification::Column::UserId.eq(user.0))
            .filter(notification::Column::InDigest.eq(true))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The person whose unsubscribe key this is stops receiving notification mails.
pub async fn unsubscribe(db: &Db, key: &str) -> anyhow::Result<Option<User>> {
    let Some(person) = accounts::store::by_unsubscribe_key(db, key).await? else {
        return Ok(None);
    };
    set_mail_choice(db, person.id, "never", person.digest_hour).await?;
    Ok(Some(person))
}

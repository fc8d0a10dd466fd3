//! Being told what changed: people follow a page or a space (and the pages they write, at
//! once); when an editing session settles into a revision, each follower who may read the page
//! gets a notification — in the site (the bell, `/notifications`) and, if they want, by mail.
//! Access is checked when the notification is made, and again when it is shown: someone who
//! lost access never reads a word of it.
pub mod entity;
pub mod routes;
pub mod views;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use self::entity::{follow, notification};
use crate::{
    access::{self, SpaceAction},
    accounts::{User, UserId},
    db::Db,
    i18n::Lang,
    pages::{Page, PageId},
    spaces::SpaceId,
};

/// Notifications listed on `/notifications`.
pub const SHOWN: u64 = 50;

/// What is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Page(PageId),
    Space(SpaceId),
}

fn target_filter(user: UserId, target: Target) -> Condition {
    let c = Condition::all().add(follow::Column::UserId.eq(user.0));
    match target {
        Target::Page(p) => c.add(follow::Column::PageId.eq(p.0)),
        Target::Space(s) => c.add(follow::Column::SpaceId.eq(s.0)),
    }
}

/// Whether `user` follows `target` itself.
pub async fn follows(db: &Db, user: UserId, target: Target) -> anyhow::Result<bool> {
    Ok(follow::Entity::find().filter(target_filter(user, target)).count(db).await? > 0)
}

/// `user` follows `target` (again: nothing changes).
pub async fn follow<C: sea_orm::ConnectionTrait>(
    db: &C,
    user: UserId,
    target: Target,
) -> anyhow::Result<()> {
    if follow::Entity::find().filter(target_filter(user, target)).count(db).await? > 0 {
        return Ok(());
    }
    let (page_id, space_id) = match target {
        Target::Page(p) => (Some(p.0), None),
        Target::Space(s) => (None, Some(s.0)),
    };
    follow::ActiveModel {
        user_id: Set(user.0),
        page_id: Set(page_id),
        space_id: Set(space_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn unfollow(db: &Db, user: UserId, target: Target) -> anyhow::Result<()> {
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
}

/// An editing session of `page` settled into `revision`, by `authors`: they follow the page
/// from now on; every other follower of the page or its space who may read it is notified (and
/// mailed, if they want mail). Answers how many were notified.
pub async fn revision_settled(
    db: &Db,
    mailing: &Mailing,
    page: PageId,
    revision: i64,
    first: bool,
    authors: &[i64],
) -> anyhow::Result<usize> {
    let Some(page) = crate::pages::store::get(db, page).await? else { return Ok(0) };
    let Some(space) = crate::spaces::store::get(db, page.space_id).await? else { return Ok(0) };
    let followers: Vec<i64> = follow::Entity::find()
        .filter(
            Condition::any()
                .add(follow::Column::PageId.eq(page.id.0))
                .add(follow::Column::SpaceId.eq(space.id.0)),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.user_id)
        .filter(|u| !authors.contains(u))
        .collect();
    let people = crate::accounts::store::by_ids(db, followers).await?;
    let actor = authors.first().copied();
    let actor_name = match actor {
        Some(id) => crate::accounts::store::find(db, UserId(id)).await?.map(|u| u.name),
        None => None,
    };
    // Checked now, person by person: who may read this page at this moment.
    let mut readers: Vec<User> = Vec::new();
    for person in people.into_values().filter(|u| !u.disabled) {
        if may_read(db, &person, &page).await? {
            readers.push(person);
        }
    }
    let kind = if first { "created" } else { "changed" };
    let txn = db.begin().await?;
    for author in authors {
        follow(&txn, UserId(*author), Target::Page(page.id)).await?;
    }
    for reader in &readers {
        notification::ActiveModel {
            user_id: Set(reader.id.0),
            kind: Set(kind.to_owned()),
            page_id: Set(page.id.0),
            actor_id: Set(actor),
            revision_id: Set(Some(revision)),
            created_at: Set(Utc::now()),
            read_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if mailing.on && reader.notify_by_mail == "now" {
            let mail =
                mail(mailing, reader, &page, &space.slug.to_string(), kind, actor_name.as_deref());
            crate::mail::enqueue(&txn, &mail).await?;
        }
    }
    txn.commit().await?;
    Ok(readers.len())
}

/// Whether `person` may read `page` now (its space's rules and its own).
async fn may_read(db: &Db, person: &User, page: &Page) -> anyhow::Result<bool> {
    let Some(space) = crate::spaces::store::get(db, page.space_id).await? else { return Ok(false) };
    let grant = match access::space(db, Some(person), space.slug.as_str(), SpaceAction::Read).await
    {
        Ok(grant) => grant,
        Err(_) => return Ok(false),
    };
    Ok(access::page(&grant, page, SpaceAction::Read).is_ok())
}

/// The mail of one notification, in the site's language.
fn mail(
    mailing: &Mailing,
    reader: &User,
    page: &Page,
    space: &str,
    kind: &str,
    actor: Option<&str>,
) -> crate::mail::Mail {
    let lang = Lang::Fr;
    let who = actor.map(str::to_owned).unwrap_or_else(|| lang.t("notify.someone"));
    let what = lang.tf(&format!("notify.{kind}"), &[("who", &who), ("title", &page.title)]);
    crate::mail::compose(crate::mail::Letter {
        site_name: &mailing.site_name,
        to: &reader.email,
        subject: what.clone(),
        greeting: lang.tf("reset.mail_greeting", &[("name", &reader.name)]),
        paragraphs: vec![what],
        action: Some((
            lang.t("notify.open"),
            format!("{}/s/{space}/{}", mailing.base_url, page.slug),
        )),
        footer: lang.t("notify.mail_footer"),
    })
}

/// One notification as its reader sees it.
pub struct Shown {
    pub id: i64,
    pub kind: String,
    pub who: Option<String>,
    pub title: String,
    pub url: String,
    pub at: chrono::DateTime<Utc>,
    pub read: bool,
}

/// A person's newest notifications about pages they may still read.
pub async fn list(db: &Db, user: &User) -> anyhow::Result<Vec<Shown>> {
    let rows = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.id.0))
        .order_by_desc(notification::Column::Id)
        .limit(SHOWN)
        .all(db)
        .await?;
    let actors = crate::accounts::store::by_ids(db, rows.iter().filter_map(|r| r.actor_id)).await?;
    let mut shown = Vec::new();
    for row in rows {
        let Some(page) = crate::pages::store::get(db, PageId(row.page_id)).await? else { continue };
        // Checked again now: access lost since means nothing is shown.
        if !may_read(db, user, &page).await? {
            continue;
        }
        let Some(space) = crate::spaces::store::get(db, page.space_id).await? else { continue };
        shown.push(Shown {
            id: row.id,
            kind: row.kind,
            who: row.actor_id.and_then(|a| actors.get(&a)).map(|u| u.name.clone()),
            title: page.title.clone(),
            url: format!("/s/{}/{}", space.slug, page.slug),
            at: row.created_at,
            read: row.read_at.is_some(),
        });
    }
    Ok(shown)
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

/// Whether a person wants a mail for each notification (`now`) or none (`never`).
pub async fn set_mail_choice(db: &Db, user: UserId, choice: &str) -> anyhow::Result<()> {
    use crate::accounts::entity::user;
    user::Entity::update_many()
        .col_expr(user::Column::NotifyByMail, sea_orm::sea_query::Expr::value(choice))
        .filter(user::Column::Id.eq(user.0))
        .exec(db)
        .await?;
    Ok(())
}

//! Atom feeds of recent changes (RFC 4287), and the personal feed addresses that let a feed
//! reader see members-only and private spaces as their owner would, revocably.
use atom_syndication::{EntryBuilder, FeedBuilder, FixedDateTime, LinkBuilder, Person, Text};
use chrono::Utc;
use sea_orm::{sea_query::OnConflict, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{entity::feed_token, recent::Change};
use crate::{
    accounts,
    accounts::{store, tokens, User, UserId},
    db::Db,
    error,
    i18n::Lang,
    state,
};

/// Creates (or replaces) the person's feed secret and returns it, to be shown once.
pub(crate) async fn create_token(db: &Db, user: UserId) -> anyhow::Result<String> {
    let secret = tokens::generate_secret();
    feed_token::Entity::insert(feed_token::ActiveModel {
        user_id: Set(user.0),
        token_hash: Set(tokens::hash_secret(&secret)),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(feed_token::Column::UserId)
            .update_columns([feed_token::Column::TokenHash, feed_token::Column::CreatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(secret)
}

pub(crate) async fn revoke_token(db: &Db, user: UserId) -> anyhow::Result<()> {
    feed_token::Entity::delete_by_id(user.0).exec(db).await?;
    Ok(())
}

pub(crate) async fn has_token(db: &Db, user: UserId) -> anyhow::Result<bool> {
    Ok(feed_token::Entity::find_by_id(user.0).one(db).await?.is_some())
}

/// The enabled account a feed secret belongs to.
pub async fn user_for(db: &Db, secret: &str) -> anyhow::Result<Option<User>> {
    let Some(row) = feed_token::Entity::find()
        .filter(feed_token::Column::TokenHash.eq(tokens::hash_secret(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(store::find(db, UserId(row.user_id)).await?.filter(|u| !u.disabled))
}

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

/// Who a feed, calendar or export is read by: the owner of the personal feed address in
/// `?token=`, else whoever is signed in (session or API token), else nobody.
#[derive(Debug, Clone)]
pub struct FeedReader(pub Option<User>);

impl axum::extract::FromRequestParts<state::AppState> for FeedReader {
    type Rejection = error::AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts.uri.query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v)
        });
        match token {
            // A wrong or revoked address is refused, not served as if anonymous.
            Some(secret) => Ok(Self(Some(
                user_for(&state.db, &secret).await?.ok_or(error::AppError::NotFound)?,
            ))),
            None => {
                let accounts::MaybeUser(user) =
                    accounts::MaybeUser::from_request_parts(parts, state).await?;
                Ok(Self(user))
            }
        }
    }
}

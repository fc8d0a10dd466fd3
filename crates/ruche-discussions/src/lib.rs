//! Discussions: comments under every page and entry, with replies one level deep. A plain
//! table beside the page (not part of its co-edited document): comments are appended, edited by
//! their authors and moderated by the space's owners. Who may do what is the access module's
//! (`access::may_comment`, `may_moderate`, `may_change_comment`); readers on the page see
//! changes live (`live`, a server-sent events stream per page).
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as discussions;
use ruche_accounts as accounts;
use ruche_base::{db, slug};
use ruche_collab as collab;
use ruche_forms as forms;
use ruche_notifications as notifications;
use ruche_pages as pages;

pub mod entity;
pub mod live;

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use self::entity::comment;
use crate::{accounts::User, db::Db, pages::Page};

/// The built-in form of a discussion topic (declared with the other built-in forms).
pub use crate::forms::builtin::TOPIC_FORM;

/// How long a comment may be and how fast one person may post (settings).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_chars: usize,
    pub per_minute: u32,
}

/// One comment, as stored.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub page_id: i64,
    pub reply_to: Option<i64>,
    pub author_id: Option<i64>,
    pub markdown: String,
    pub created_at: chrono::DateTime<Utc>,
    pub edited_at: Option<chrono::DateTime<Utc>>,
    pub deleted: bool,
    pub hidden: bool,
}

impl From<comment::Model> for Comment {
    fn from(m: comment::Model) -> Self {
        Self {
            id: m.id,
            page_id: m.page_id,
            reply_to: m.parent_id,
            author_id: m.author_id,
            markdown: m.markdown,
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted: m.deleted_at.is_some(),
            hidden: m.hidden_at.is_some(),
        }
    }
}

/// Why a comment was not taken; nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("empty")]
    Empty,
    #[error("too long")]
    TooLong { max: usize },
    #[error("too fast")]
    TooFast,
    /// Many comments from the author's network (one box or wifi), maybe not from them.
    #[error("too many from this network")]
    BusyNetwork,
    /// A reply to a comment of another page, to a deleted one, or to none.
    #[error("bad reply")]
    BadReply,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for Refused {
    fn from(err: sea_orm::DbErr) -> Self {
        Refused::Internal(err.into())
    }
}

/// A comment's text as it is kept: control characters (but line breaks and tabs) and
/// direction marks dropped, trimmed, within the limit.
fn cleaned(markdown: &str, limits: &Limits) -> Result<String, Refused> {
    let text: String = markdown
        .chars()
        .filter(|c| (*c == '\n' || *c == '\t' || !c.is_control()) && !slug::is_bidi_control(*c))
        .collect::<String>()
        .replace("\r\n", "\n")
        .trim()
        .to_owned();
    if text.is_empty() {
        return Err(Refused::Empty);
    }
    if text.chars().count() > limits.max_chars {
        return Err(Refused::TooLong { max: limits.max_chars });
    }
    Ok(text)
}

/// Posts `author`'s comment on `page` (a reply to `reply_to`, or a new thread). The author
/// follows the page from now on; the page's recent changes say it.
pub async fn post(
    db: &Db,
    limits: &Limits,
    page: &Page,
    author: &User,
    markdown: &str,
    reply_to: Option<i64>,
) -> Result<Comment, Refused> {
    let text = cleaned(markdown, limits)?;
    let since = Utc::now() - chrono::Duration::minutes(1);
    let recent = comment::Entity::find()
        .filter(comment::Column::AuthorId.eq(author.id.0))
        .filter(comment::Column::CreatedAt.gt(since))
        .count(db)
        .await?;
    if recent >= u64::from(limits.per_minute) {
        return Err(Refused::TooFast);
    }
    // A reply answers a living comment of the same page; replies to replies join its thread.
    let parent = match reply_to {
        None => None,
        Some(id) => {
            let parent = comment::Entity::find_by_id(id).one(db).await?;
            match parent {
                Some(p) if p.page_id == page.id.0 && p.deleted_at.is_none() => {
                    Some(p.parent_id.unwrap_or(p.id))
                }
                _ => return Err(Refused::BadReply),
            }
        }
    };
    let txn = db.begin().await?;
    let row = comment::ActiveModel {
        page_id: Set(page.id.0),
        parent_id: Set(parent),
        author_id: Set(Some(author.id.0)),
        markdown: Set(text),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    notifications::follow(&txn, author.id, &notifications::Target::Page(page.id)).await?;
    pages::events::try_record(
        &txn,
        page.id,
        page.space_id,
        pages::events::EventKind::Commented,
        Some(author.id.0),
        None,
        &row.id.to_string(),
    )
    .await?;
    txn.commit().await.map_err(anyhow::Error::from)?;
    Ok(row.into())
}

/// One comment.
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Comment>> {
    Ok(comment::Entity::find_by_id(id).one(db).await?.map(Into::into))
}

/// The comments of a page, oldest first.
pub async fn list(db: &Db, page: i64) -> anyhow::Result<Vec<Comment>> {
    Ok(comment::Entity::find()
        .filter(comment::Column::PageId.eq(page))
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Its author changes a comment's text.
pub async fn edit(db: &Db, limits: &Limits, id: i64, markdown: &str) -> Result<(), Refused> {
    let text = cleaned(markdown, limits)?;
    comment::Entity::update_many()
        .col_expr(comment::Column::Markdown, sea_orm::sea_query::Expr::value(text))
        .col_expr(comment::Column::EditedAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(comment::Column::Id.eq(id))
        .filter(comment::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a comment: its text is gone for good; the thread it heads stays readable.
pub async fn delete(db: &Db, id: i64) -> anyhow::Result<()> {
    comment::Entity::update_many()
        .col_expr(comment::Column::Markdown, sea_orm::sea_query::Expr::value(""))
        .col_expr(comment::Column::DeletedAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A moderator hides a comment (`by`), or shows it again (`None`).
pub async fn set_hidden(db: &Db, id: i64, by: Option<i64>) -> anyhow::Result<()> {
    let at = by.map(|_| Utc::now());
    comment::Entity::update_many()
        .col_expr(comment::Column::HiddenAt, sea_orm::sea_query::Expr::value(at))
        .col_expr(comment::Column::HiddenBy, sea_orm::sea_query::Expr::value(by))
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many comments (not deleted, not hidden) each of these pages has.
pub async fn counts(
    db: &Db,
    pages: impl IntoIterator<Item = i64>,
) -> anyhow::Result<HashMap<i64, u64>> {
    let pages: Vec<i64> = pages.into_iter().collect();
    if pages.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::PageId)
        .column_as(comment::Column::Id.count(), "n")
        .filter(comment::Column::PageId.is_in(pages))
        .filter(comment::Column::DeletedAt.is_null())
        .filter(comment::Column::HiddenAt.is_null())
        .group_by(comment::Column::PageId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(page, n)| (page, u64::try_from(n).unwrap_or(0))).collect())
}

/// The threads of a page as they are shown: each comment at the top with its replies, oldest
/// first. A deleted comment is left out, unless replies need it to stay readable.
pub fn threads(comments: Vec<Comment>) -> Vec<(Comment, Vec<Comment>)> {
    let mut replies: HashMap<i64, Vec<Comment>> = HashMap::new();
    let mut tops = Vec::new();
    for c in comments {
        match c.reply_to {
            Some(parent) if !c.deleted => replies.entry(parent).or_default().push(c),
            Some(_) => {}
            None => tops.push(c),
        }
    }
    tops.into_iter()
        .filter_map(|top| {
            let answers = replies.remove(&top.id).unwrap_or_default();
            (!top.deleted || !answers.is_empty()).then_some((top, answers))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: i64, reply_to: Option<i64>, deleted: bool) -> Comment {
        Comment {
            id,
            page_id: 1,
            reply_to,
            author_id: Some(1),
            markdown: if deleted { String::new() } else { format!("c{id}") },
            created_at: Utc::now(),
            edited_at: None,
            deleted,
            hidden: false,
        }
    }

    #[test]
    fn threads_keep_a_deleted_comment_only_while_answered() {
        let shown = threads(vec![
            comment(1, None, true),
            comment(2, Some(1), false),
            comment(3, None, true),
            comment(4, None, false),
            comment(5, Some(4), true),
        ]);
        let ids: Vec<(i64, Vec<i64>)> =
            shown.iter().map(|(t, r)| (t.id, r.iter().map(|c| c.id).collect())).collect();
        assert_eq!(ids, [(1, vec![2]), (4, vec![])]);
    }

    #[test]
    fn a_comment_is_cleaned_and_bounded() {
        let limits = Limits { max_chars: 10, per_minute: 10 };
        assert_eq!(cleaned("  a\u{202e}b\r\nc\u{7} ", &limits).unwrap(), "ab\nc");
        assert!(matches!(cleaned(" \n ", &limits), Err(Refused::Empty)));
        assert!(matches!(cleaned(&"x".repeat(11), &limits), Err(Refused::TooLong { max: 10 })));
    }
}

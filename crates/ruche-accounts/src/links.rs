//! Single-use links sent by mail — to set a new password ("Mot de passe oublié ?", valid one
//! hour) or to confirm the address given at sign-up — stored hashed, with the mails that carry
//! them. The pages that ask for them and take them are the web layer's (`accounts::reset`).
use anyhow::Context;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::{
    entity::password_reset,
    store,
    tokens::{generate_secret, hash_secret},
    User,
};
use crate::{
    db::Db,
    i18n::Lang,
    mail,
    outbox::{self, Refusal},
};
/// How long a reset link works.
pub const VALID_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(1);

pub use super::entity::password_reset::Purpose;

impl Purpose {
    fn path(self) -> &'static str {
        match self {
            Purpose::Reset => "/password/reset/",
            Purpose::Confirm => "/signup/confirm/",
        }
    }

    /// How long its link works.
    fn valid_for(self) -> chrono::TimeDelta {
        match self {
            Purpose::Reset => VALID_FOR,
            Purpose::Confirm => chrono::TimeDelta::days(2),
        }
    }
}

/// Makes a reset link for `user` (in `db`, the transaction that also writes its mail).
pub async fn new_link<C: ConnectionTrait>(
    db: &C,
    base_url: &str,
    user: &User,
) -> anyhow::Result<String> {
    new_link_for(db, base_url, user, Purpose::Reset).await
}

/// Makes a single-use link for `purpose`.
pub async fn new_link_for<C: ConnectionTrait>(
    db: &C,
    base_url: &str,
    user: &User,
    purpose: Purpose,
) -> anyhow::Result<String> {
    let token = generate_secret();
    let now = Utc::now();
    password_reset::ActiveModel {
        token_hash: Set(hash_secret(&token)),
        user_id: Set(user.id.0),
        created_at: Set(now),
        expires_at: Set(now + purpose.valid_for()),
        used_at: Set(None),
        purpose: Set(purpose.as_str().to_owned()),
    }
    .insert(db)
    .await?;
    Ok(format!("{base_url}{}{token}", purpose.path()))
}

/// The reset mail for `user`, holding `link`.
pub fn mail(lang: Lang, site_name: &str, user: &User, link: &str) -> mail::Mail {
    mail::compose(mail::Letter {
        site_name,
        to: &user.email,
        subject: lang.tf("reset.mail_subject", &[("site", site_name)]),
        greeting: lang.tf("reset.mail_greeting", &[("name", &user.name)]),
        paragraphs: vec![lang.t("reset.mail_body"), lang.t("reset.mail_valid")],
        sections: Vec::new(),
        action: Some((lang.t("reset.mail_action"), link.to_owned())),
        footer: lang.t("reset.mail_footer"),
    })
}

/// The account a token opens, if it is known, for this purpose, unused and not expired.
pub async fn account_for(db: &Db, token: &str, purpose: Purpose) -> anyhow::Result<Option<User>> {
    let Some(row) = password_reset::Entity::find_by_id(hash_secret(token)).one(db).await? else {
        return Ok(None);
    };
    if row.used_at.is_some() || row.expires_at <= Utc::now() || row.purpose != purpose.as_str() {
        return Ok(None);
    }
    Ok(store::find(db, super::UserId(row.user_id)).await?.filter(|u| !u.disabled))
}

/// The outbox kind of a reset link asked for (`forgot`), answered by `answer_asked`.
pub const ASKED: &str = "reset-asked";

/// A reset link asked for, as the outbox keeps it until the worker answers it.
#[derive(Serialize, Deserialize)]
pub struct Asked {
    pub email: String,
    /// The language of the person who asked (their mail is written in it).
    pub lang: String,
}

/// The outbox's sender of `ASKED`: looks the address up and, when it has an account that is
/// not disabled, writes its link and its mail (which the worker sends on its next round).
pub fn asked_sender(db: Db, base_url: String, site_name: String) -> outbox::Sender {
    std::sync::Arc::new(move |message: outbox::Message| {
        let (db, base_url, site_name) = (db.clone(), base_url.clone(), site_name.clone());
        Box::pin(async move {
            let asked: Asked = serde_json::from_str(&message.payload)
                .map_err(|e| Refusal::Final(format!("unreadable reset request: {e}")))?;
            answer_asked(&db, &base_url, &site_name, &asked)
                .await
                .map_err(|e| Refusal::Retry(format!("{e:#}")))
        })
    })
}

async fn answer_asked(
    db: &Db,
    base_url: &str,
    site_name: &str,
    asked: &Asked,
) -> anyhow::Result<()> {
    let Some(user) = store::find_by_email(db, &asked.email).await?.filter(|u| !u.disabled) else {
        return Ok(());
    };
    let lang = Lang::parse(&asked.lang).unwrap_or_default();
    let txn = db.begin().await.context("starting a reset link")?;
    let link = new_link(&txn, base_url, &user).await.context("writing a reset link")?;
    mail::enqueue(&txn, &mail(lang, site_name, &user, &link))
        .await
        .context("writing a reset mail")?;
    txn.commit().await.context("saving a reset link")?;
    Ok(())
}

/// Spends a link; false when it was spent meanwhile.
pub async fn use_up<C: ConnectionTrait>(db: &C, token: &str) -> anyhow::Result<bool> {
    let used = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(password_reset::Column::TokenHash.eq(hash_secret(token)))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// The mail that confirms the address given at sign-up, holding `link`.
pub fn confirmation_mail(lang: Lang, site_name: &str, user: &User, link: &str) -> mail::Mail {
    mail::compose(mail::Letter {
        site_name,
        to: &user.email,
        subject: lang.tf("confirm.mail_subject", &[("site", site_name)]),
        greeting: lang.tf("reset.mail_greeting", &[("name", &user.name)]),
        paragraphs: vec![lang.t("confirm.mail_body")],
        sections: Vec::new(),
        action: Some((lang.t("confirm.mail_action"), link.to_owned())),
        footer: lang.t("confirm.mail_footer"),
    })
}

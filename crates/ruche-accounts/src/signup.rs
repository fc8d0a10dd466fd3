//! Whether people may create their own account or need an invitation (the administrator's
//! choice), and an open sign-up made off its request: the request checks what was typed and
//! hashes the password, the same for every address; whether the address is free is looked up
//! after the answer, by the outbox worker, which makes the account (and its confirmation mail)
//! or tells the address's owner that someone tried.
use anyhow::Context;
use sea_orm::{sea_query::OnConflict, EntityTrait, Set, TransactionTrait};
use serde::{Deserialize, Serialize};

use super::{entity::site_setting, links, store, Email, User};
use crate::{db::Db, i18n::Lang, outbox::Refusal};

const KEY: &str = "signup";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupMode {
    Open,
    InvitationOnly,
}

impl SignupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SignupMode::Open => "open",
            SignupMode::InvitationOnly => "invitation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(SignupMode::Open),
            "invitation" => Some(SignupMode::InvitationOnly),
            _ => None,
        }
    }
}

/// The current mode; by invitation until an administrator opens sign-up.
pub async fn mode(db: &Db) -> anyhow::Result<SignupMode> {
    let row = site_setting::Entity::find_by_id(KEY.to_owned()).one(db).await?;
    Ok(row.and_then(|r| SignupMode::parse(&r.value)).unwrap_or(SignupMode::InvitationOnly))
}

pub async fn set_mode(db: &Db, mode: SignupMode) -> anyhow::Result<()> {
    set(db, KEY, mode.as_str()).await
}

const CONTACT_KEY: &str = "signup_contact";

/// Whom people ask for an invitation (an e-mail address, or a few words), if the administrators
/// said.
pub async fn contact(db: &Db) -> anyhow::Result<Option<String>> {
    let row = site_setting::Entity::find_by_id(CONTACT_KEY.to_owned()).one(db).await?;
    Ok(row.map(|r| r.value).filter(|v| !v.trim().is_empty()))
}

pub async fn set_contact(db: &Db, contact: &str) -> anyhow::Result<()> {
    let contact: String = crate::slug::clean_label(contact).chars().take(200).collect();
    set(db, CONTACT_KEY, &contact).await
}

async fn set(db: &Db, key: &str, value: &str) -> anyhow::Result<()> {
    site_setting::Entity::insert(site_setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
    })
    .on_conflict(
        OnConflict::column(site_setting::Column::Key)
            .update_column(site_setting::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// The outbox kind of a sign-up asked for (`ask`), answered by `answer_asked`.
pub const ASKED: &str = "signup-asked";

/// A sign-up asked for, as the outbox keeps it until the worker answers it.
#[derive(Serialize, Deserialize)]
struct Asked {
    email: String,
    name: String,
    /// The password, hashed already (the payload is emptied once answered).
    password_hash: String,
    /// The language of the person who asked (their mail is written in it).
    lang: String,
}

/// Writes down a sign-up checked by `store::check`, to be made after the answer.
pub async fn ask(
    db: &Db,
    (email, name): (&Email, &str),
    password_hash: String,
    lang: Lang,
) -> anyhow::Result<()> {
    let asked = Asked {
        email: email.as_str().to_owned(),
        name: name.to_owned(),
        password_hash,
        lang: lang.code().to_owned(),
    };
    let payload = serde_json::to_string(&asked)?;
    crate::outbox::enqueue(db, ASKED, email.as_str(), &payload).await?;
    Ok(())
}

/// The outbox's sender of `ASKED`.
pub fn asked_sender(db: Db, base_url: String, site_name: String) -> crate::outbox::Sender {
    std::sync::Arc::new(move |message: crate::outbox::Message| {
        let (db, base_url, site_name) = (db.clone(), base_url.clone(), site_name.clone());
        Box::pin(async move {
            let asked: Asked = serde_json::from_str(&message.payload)
                .map_err(|e| Refusal::Final(format!("unreadable sign-up: {e}")))?;
            answer_asked(&db, (&site_name, &base_url), message.id, &asked)
                .await
                .map_err(|e| Refusal::Retry(format!("{e:#}")))
        })
    })
}

/// A free address gets its account, waiting for confirmation, and the confirmation mail; a
/// taken one, a word to its owner (none to a disabled account). Either way the payload, with
/// its password hash, is emptied.
async fn answer_asked(
    db: &Db,
    (site_name, base_url): (&str, &str),
    id: i64,
    asked: &Asked,
) -> anyhow::Result<()> {
    let lang = Lang::parse(&asked.lang).unwrap_or_default();
    let email = Email::parse(&asked.email).context("the address of a sign-up")?;
    // Looked up before the transaction: SQLite has one connection, which a transaction holds.
    let owner = store::find_by_email(db, email.as_str()).await?;
    let txn = db.begin().await.context("starting a sign-up")?;
    match owner {
        Some(owner) if owner.disabled => {}
        Some(owner) => {
            let mail = taken_mail(lang, (site_name, base_url), &owner);
            crate::mail::enqueue(&txn, &mail).await.context("telling an address's owner")?;
        }
        None => {
            // Taken meanwhile: an error, so that the next attempt tells the owner.
            let user = store::insert(&txn, &email, &asked.name, asked.password_hash.clone(), false)
                .await
                .map_err(|e| anyhow::anyhow!("making a signed-up account: {e}"))?;
            store::set_confirmed(&txn, user.id, false).await?;
            let purpose = links::Purpose::Confirm;
            let link = links::new_link_for(&txn, base_url, &user, purpose).await?;
            let mail = links::confirmation_mail(lang, site_name, &user, &link);
            crate::mail::enqueue(&txn, &mail).await.context("writing a confirmation mail")?;
        }
    }
    crate::outbox::forget_payload(&txn, id).await?;
    txn.commit().await.context("saving a sign-up")?;
    Ok(())
}

/// The mail to the owner of an address someone tried to sign up with: nothing was made, and
/// here is how to sign in (or choose a new password).
fn taken_mail(lang: Lang, (site_name, base_url): (&str, &str), owner: &User) -> crate::mail::Mail {
    let login = format!("{base_url}/login");
    let forgot = format!("{base_url}/password/forgot");
    crate::mail::compose(crate::mail::Letter {
        site_name,
        to: &owner.email,
        subject: lang.tf("signup.taken_mail_subject", &[("site", site_name)]),
        greeting: lang.tf("reset.mail_greeting", &[("name", &owner.name)]),
        paragraphs: vec![
            lang.tf("signup.taken_mail_body", &[("site", site_name)]),
            lang.tf("signup.taken_mail_forgot", &[("link", &forgot)]),
        ],
        sections: Vec::new(),
        action: Some((lang.t("nav.sign_in"), login)),
        footer: lang.t("signup.taken_mail_footer"),
    })
}

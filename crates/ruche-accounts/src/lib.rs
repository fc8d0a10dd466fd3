//! Accounts: people, their passwords, sessions, API tokens, invitations and sign-up.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as accounts;
use ruche_base::{dates, db, i18n, slug};
use ruche_mail::mail;
use ruche_mail::outbox;

pub mod entity;
pub mod links;
pub mod password;
pub mod signup;
pub mod store;
pub mod tokens;

use serde::Serialize;

/// Identifies an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// A person with an account, as the rest of the application sees them.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub disabled: bool,
    /// A fingerprint of the password's hash: sessions remember the one they signed in with, so
    /// changing the password ends every other session.
    #[serde(skip)]
    pub credential: String,
    /// The zone this person reads times in, if they chose one (else the site's).
    #[serde(skip)]
    pub time_zone: Option<chrono_tz::Tz>,
    /// `now` (a mail for each notification), `daily` (a digest) or `never`.
    #[serde(skip)]
    pub notify_by_mail: String,
    /// The name mentions use, without its `@` (`marie-dupont`).
    pub handle: String,
    /// The hour of the daily digest, in this person's zone.
    #[serde(skip)]
    pub digest_hour: u32,
    /// Writes seeing the Markdown code rather than the formatting.
    #[serde(skip)]
    pub show_markdown: bool,
}

/// A short fingerprint of a password hash, kept in sessions.
pub(crate) fn credential_of(password_hash: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(password_hash.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// What access reads of a person.
impl ruche_access::Person for User {
    fn person_id(&self) -> i64 {
        self.id.0
    }
    fn is_site_admin(&self) -> bool {
        self.is_admin
    }
    fn disabled(&self) -> bool {
        self.disabled
    }
}

impl From<entity::user::Model> for User {
    fn from(model: entity::user::Model) -> Self {
        Self {
            id: UserId(model.id),
            credential: credential_of(&model.password_hash),
            email: model.email,
            name: model.name,
            is_admin: model.is_admin,
            disabled: model.disabled,
            time_zone: model.time_zone.as_deref().and_then(dates::parse_zone),
            notify_by_mail: model.notify_by_mail,
            handle: model.handle.unwrap_or_default(),
            digest_hour: model.digest_hour.clamp(0, 23) as u32,
            show_markdown: model.show_markdown,
        }
    }
}

/// An e-mail address, trimmed and lower-cased, that looks like one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Option<Self> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.split_once('@')?;
        let valid = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        valid.then_some(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Alice@Example.ORG ").map(|e| e.0),
            Some("alice@example.org".into())
        );
        assert!(Email::parse("alice").is_none());
        assert!(Email::parse("@example.org").is_none());
        assert!(Email::parse("alice@localhost").is_none());
        assert!(Email::parse("a b@example.org").is_none());
    }
}

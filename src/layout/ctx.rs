//! Who is asking, in which language and time zone, with their flash messages and CSRF token:
//! the `Ctx` every page handler takes.
use axum::{extract::FromRequestParts, http::request::Parts};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    dates,
    error::AppError,
    i18n::Lang,
    session::{csrf, MaybeUser},
    state::AppState,
};
use ruche_accounts::User;
use ruche_notifications as notifications;

use super::CspNonce;

const FLASH_KEY: &str = "flash";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

/// Keeps a message to show on the next page this person sees.
pub async fn flash(
    session: &Session,
    kind: FlashKind,
    text: impl Into<String>,
) -> Result<(), AppError> {
    let mut pending: Vec<Flash> =
        session.get(FLASH_KEY).await.map_err(anyhow::Error::from)?.unwrap_or_default();
    pending.push(Flash { kind, text: text.into() });
    session.insert(FLASH_KEY, pending).await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// What every page needs to know about the request.
#[derive(Clone)]
pub struct Ctx {
    pub user: Option<User>,
    pub lang: Lang,
    pub site_name: String,
    /// The map's tile server and credit (pages with a map pass them to its script).
    pub map_tiles: String,
    pub map_attribution: String,
    /// Longest search query (the search box holds no more).
    pub max_search_chars: usize,
    /// Where the site's days and hours are told.
    pub time_zone: chrono_tz::Tz,
    /// The path and query, so the language switch and sign-in come back here.
    pub here: String,
    pub flashes: Vec<Flash>,
    /// How many notifications the signed-in person has not read (the bell's number).
    pub unread: u64,
    /// How often open pages ask for that number again.
    pub bell_every_ms: u64,
    /// This answer's Content-Security-Policy nonce (for the editor's style elements).
    pub csp_nonce: String,
    pub(super) csrf: Option<String>,
    pub(super) session: Option<Session>,
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// "samedi 12 décembre 2026 à 14 h" in the site's time zone.
    pub fn moment(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        dates::moment(self.lang, self.time_zone, t)
    }

    /// "19 h 29": the hour and minute of `t` today, in the site's time zone.
    pub fn clock_at(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        dates::clock_at(self.lang, self.time_zone, t)
    }

    /// "il y a 5 minutes", with the exact moment on hover and for screen readers.
    pub fn time_ago(&self, t: chrono::DateTime<chrono::Utc>) -> Markup {
        dates::time_ago(self.lang, self.time_zone, t)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.tf(key, args)
    }

    /// Makes sure this page can carry forms (creates the session's CSRF token if needed).
    pub(crate) async fn with_forms(mut self) -> Result<Self, AppError> {
        if self.csrf.is_none() {
            if let Some(session) = &self.session {
                self.csrf = Some(csrf::token(session).await?);
            }
        }
        Ok(self)
    }

    /// The hidden field every state-changing form carries.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(csrf::FIELD) value=(self.csrf.as_deref().unwrap_or("")); }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let session = parts.extensions.get::<Session>().cloned();
        let (mut csrf, mut flashes) = (None, Vec::new());
        if let Some(session) = &session {
            if user.is_some() {
                csrf = Some(csrf::token(session).await?);
            }
            flashes = session
                .remove::<Vec<Flash>>(FLASH_KEY)
                .await
                .map_err(anyhow::Error::from)?
                .unwrap_or_default();
        }
        let time_zone = user.as_ref().and_then(|u| u.time_zone).unwrap_or(state.settings.time_zone);
        let unread = match &user {
            Some(u) => notifications::unread(&state.db, u.id).await?,
            None => 0,
        };
        Ok(Ctx {
            unread,
            bell_every_ms: state.settings.notify.bell_every.as_millis() as u64,
            csp_nonce: parts.extensions.get::<CspNonce>().map(|n| n.0.clone()).unwrap_or_default(),
            user,
            lang: crate::i18n::from_headers(&parts.headers),
            site_name: state.settings.site_name.clone(),
            map_tiles: state.settings.map_tiles.clone(),
            map_attribution: state.settings.map_attribution.clone(),
            max_search_chars: state.settings.max_search_chars,
            time_zone,
            here: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            flashes,
            csrf,
            session,
        })
    }
}

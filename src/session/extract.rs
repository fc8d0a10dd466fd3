//! Who is asking: the signed-in person (session cookie) or a bearer token's owner.
use axum::{extract::FromRequestParts, http::request::Parts};
use tower_sessions::Session;

use crate::{access, db, error::AppError, session::csrf, state::AppState};
use ruche_accounts::{store, tokens, User, UserId};
use ruche_history::feed_tokens;

const SESSION_USER: &str = "user_id";
/// The fingerprint of the password the session signed in with.
const SESSION_CREDENTIAL: &str = "credential";

/// The person asking, if anyone is signed in (a disabled account counts as nobody).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

/// A signed-in person; anyone else is asked to sign in.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// A signed-in site administrator.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

/// Marks the session as belonging to `user`, with a fresh id so an id set before sign-in
/// cannot be reused (session fixation).
pub async fn sign_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await.map_err(anyhow::Error::from)?;
    // A form token seen before signing in (on a shared computer, say) is no good after it.
    csrf::renew(session).await?;
    session.insert(SESSION_USER, user.id.0).await.map_err(anyhow::Error::from)?;
    remember_credential(session, user).await
}

/// Keeps `user`'s current password fingerprint in this session (after a password change, this
/// session stays signed in while every other one ends).
pub(crate) async fn remember_credential(session: &Session, user: &User) -> Result<(), AppError> {
    session.insert(SESSION_CREDENTIAL, &user.credential).await.map_err(anyhow::Error::from)?;
    Ok(())
}

pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// The enabled account a session is signed in as.
pub(crate) async fn session_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<User>, AppError> {
    let Some(id) = session.get::<i64>(SESSION_USER).await.map_err(anyhow::Error::from)? else {
        return Ok(None);
    };
    let signed_with =
        session.get::<String>(SESSION_CREDENTIAL).await.map_err(anyhow::Error::from)?;
    Ok(store::find(&state.db, UserId(id))
        .await?
        .filter(|u| !u.disabled && signed_with.as_deref() == Some(u.credential.as_str())))
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_in(&parts.headers)
}

fn bearer_in(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// How a request that lasts (a stream of events) proved who it is, to be asked again while it
/// lasts: a session holds while it was signed in with the account's present password, a token
/// while it is not revoked. (Otherwise a stolen session kept its stream after the password was
/// changed.)
#[derive(Debug, Clone)]
pub enum Proof {
    Session(String),
    Token(String),
}

impl Proof {
    /// What `user`'s request with these headers proved itself with.
    pub fn of(headers: &axum::http::HeaderMap, user: &User) -> Self {
        match bearer_in(headers) {
            Some(token) => Self::Token(token.to_owned()),
            None => Self::Session(user.credential.clone()),
        }
    }

    /// Whether it still proves `user` (as stored now).
    pub async fn holds(&self, db: &db::Db, user: &User) -> anyhow::Result<bool> {
        Ok(match self {
            Self::Session(credential) => *credential == user.credential,
            Self::Token(token) => {
                tokens::user_for(db, token).await?.is_some_and(|u| u.id == user.id)
            }
        })
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<MaybeUser>() {
            return Ok(found.clone());
        }
        let user = if let Some(token) = bearer(parts) {
            // A bad token is an error, not an anonymous request: the caller meant to be someone.
            Some(tokens::user_for(&state.db, token).await?.ok_or(AppError::Unauthorized)?)
        } else if let Some(session) = parts.extensions.get::<Session>() {
            session_user(state, session).await?
        } else {
            None
        };
        let found = MaybeUser(user);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        user.map(CurrentUser).ok_or(AppError::Unauthorized)
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if access::may_administer_site(Some(&user)) {
            Ok(AdminUser(user))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Who a feed, calendar or export is read by: the owner of the personal feed address in
/// `?token=`, else whoever is signed in (session or API token), else nobody.
#[derive(Debug, Clone)]
pub struct FeedReader(pub Option<User>);

impl FromRequestParts<AppState> for FeedReader {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
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
                feed_tokens::user_for(&state.db, &secret).await?.ok_or(AppError::NotFound)?,
            ))),
            None => {
                let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
                Ok(Self(user))
            }
        }
    }
}

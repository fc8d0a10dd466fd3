//! Protection of state-changing forms against cross-site requests: a secret per session, put in
//! every form as `_csrf` and checked before the form is read.
use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::error::AppError;
use crate::multipart;
use ruche_accounts::tokens;

const SESSION_KEY: &str = "csrf";
pub(crate) const FIELD: &str = "_csrf";

/// The session's token, created on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(existing) = session.get::<String>(SESSION_KEY).await.map_err(anyhow::Error::from)? {
        return Ok(existing);
    }
    let fresh = tokens::generate_secret();
    session.insert(SESSION_KEY, &fresh).await.map_err(anyhow::Error::from)?;
    Ok(fresh)
}

/// Forgets the session's token: the next form gets a fresh one.
pub(crate) async fn renew(session: &Session) -> Result<(), AppError> {
    session.remove::<String>(SESSION_KEY).await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// Whether a websocket upgrade may go on: one that carries cookies (so acts as whoever is signed
/// in) must come from a page of this site (`base_url`'s origin, or one of `allowed`); a page on
/// a sibling domain or another port would otherwise read private pages through a visitor's
/// session. Requests without cookies (token-authenticated programs) are not concerned.
pub(crate) fn websocket_origin_allowed(
    headers: &axum::http::HeaderMap,
    base_url: &str,
    allowed: &[String],
) -> bool {
    if !headers.contains_key(header::COOKIE) {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Browsers always name the origin of a websocket; other programs need not.
        return true;
    };
    let Ok(origin) = origin.to_str() else { return false };
    let own = url::Url::parse(base_url).map(|u| u.origin().ascii_serialization());
    own.as_deref().is_ok_and(|own| own.eq_ignore_ascii_case(origin))
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A URL-encoded form whose `_csrf` field matched the session's token.
pub struct CsrfForm<T>(pub T);

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = req.extensions().get::<Session>().cloned().ok_or(AppError::Csrf)?;
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::BadRequest("expected a form".into()));
        }
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest("the form could not be read".into())
            }
        })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("the form could not be read".into()))?;
        check(&session, &fields).await?;
        let value = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("the form is incomplete: {e}")))?;
        Ok(CsrfForm(value))
    }
}

/// Fails unless `fields` carry the session's token.
async fn check(session: &Session, fields: &[(String, String)]) -> Result<(), AppError> {
    let sent =
        fields.iter().find(|(k, _)| k == FIELD).map(|(_, v)| v.as_str()).ok_or(AppError::Csrf)?;
    let expected = session
        .get::<String>(SESSION_KEY)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(AppError::Csrf)?;
    if !same(sent.as_bytes(), expected.as_bytes()) {
        return Err(AppError::Csrf);
    }
    Ok(())
}

/// A `multipart/form-data` form (one that may carry files) whose `_csrf` field matched.
pub struct CsrfMultipart {
    pub fields: Vec<(String, String)>,
    pub files: Vec<multipart::Received>,
}

impl<S> FromRequest<S> for CsrfMultipart
where
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = req.extensions().get::<Session>().cloned().ok_or(AppError::Csrf)?;
        let (fields, files) = multipart::read(req, state).await?;
        check(&session, &fields).await?;
        Ok(Self { fields, files })
    }
}

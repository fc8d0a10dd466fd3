//! Protection of state-changing forms against cross-site requests: a secret per session, put in
//! every form as `_csrf` and checked before the form is read.
use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::error::AppError;

const SESSION_KEY: &str = "csrf";
pub const FIELD: &str = "_csrf";

/// The session's token, created on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(existing) = session.get::<String>(SESSION_KEY).await.map_err(anyhow::Error::from)? {
        return Ok(existing);
    }
    let fresh = super::tokens::generate_secret();
    session.insert(SESSION_KEY, &fresh).await.map_err(anyhow::Error::from)?;
    Ok(fresh)
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
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::BadRequest("the form could not be read".into()))?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("the form could not be read".into()))?;
        let sent = fields
            .iter()
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.as_str())
            .ok_or(AppError::Csrf)?;
        let expected = session
            .get::<String>(SESSION_KEY)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or(AppError::Csrf)?;
        if !same(sent.as_bytes(), expected.as_bytes()) {
            return Err(AppError::Csrf);
        }
        let value = serde_urlencoded::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("the form is incomplete: {e}")))?;
        Ok(CsrfForm(value))
    }
}

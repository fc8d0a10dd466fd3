//! One error type for every handler; shown as a readable page, or JSON for the API.
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::collab::{self, EditError};

/// What went wrong, as the person asking should learn it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts")]
    TooManyRequests,
    #[error("security token missing or expired")]
    Csrf,
    #[error("what was sent is too large")]
    TooLarge,
    #[error("the page would be too long")]
    PageTooLong,
    /// A change that cannot be applied to the page (an edit form from another page, or from a
    /// state of it that is no longer there); nothing of it was stored.
    #[error("the change cannot be applied: {0}")]
    InvalidEdit(collab::Invalid),
    /// The page is in the trash: it is read (by those who manage its space), not changed.
    #[error("the page is in the trash")]
    InTrash,
    /// The page was renamed: it now lives at this address.
    #[error("moved to {0}")]
    Moved(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        AppError::Internal(err)
    }
}

impl From<crate::access::Denied> for AppError {
    fn from(denied: crate::access::Denied) -> Self {
        use crate::access::Denied;
        match denied {
            Denied::NotFound => AppError::NotFound,
            Denied::Unauthorized => AppError::Unauthorized,
            Denied::Forbidden => AppError::Forbidden,
            Denied::InTrash => AppError::InTrash,
            Denied::Failed(err) => AppError::Internal(err),
        }
    }
}

impl From<EditError> for AppError {
    fn from(err: EditError) -> Self {
        match err {
            EditError::TooLong(_) => AppError::PageTooLong,
            EditError::Invalid(invalid) => AppError::InvalidEdit(invalid),
            EditError::Internal(err) => AppError::Internal(err),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::RecordNotFound(_) => AppError::NotFound,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

pub(crate) type AppResult<T> = Result<T, AppError>;

/// Carried by an error response until the `layout::error_pages` middleware renders it for the
/// person who asked (HTML in their language, or JSON).
#[derive(Debug, Clone)]
pub(crate) struct ErrorInfo {
    pub status: StatusCode,
    /// Key of the message in the translations.
    pub key: &'static str,
    /// An extra message in plain words (already translated or user-facing), if any.
    pub detail: Option<String>,
    /// Key of the message when it is not `key` itself (the same kind of error, said for
    /// another case).
    pub message: Option<&'static str>,
    /// When the person may try again (told in words, in their time zone).
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A way back to where the person was (its path and its words), besides the home page.
    pub back: Option<(String, String)>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::TooLarge | AppError::PageTooLong => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::InvalidEdit(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::InTrash => StatusCode::CONFLICT,
            AppError::Moved(_) => StatusCode::MOVED_PERMANENTLY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn key(&self) -> &'static str {
        match self {
            AppError::NotFound => "error.not_found",
            AppError::Forbidden => "error.forbidden",
            AppError::Unauthorized => "error.unauthorized",
            AppError::BadRequest(_) => "error.bad_request",
            AppError::Conflict(_) => "error.conflict",
            AppError::TooManyRequests => "error.too_many",
            AppError::Csrf => "error.csrf",
            AppError::TooLarge => "error.too_large",
            AppError::PageTooLong => "error.page_too_long",
            AppError::InvalidEdit(_) => "error.invalid_edit",
            AppError::InTrash => "error.in_trash",
            AppError::Moved(_) => "error.moved",
            AppError::Internal(_) => "error.internal",
        }
    }

    /// The key of the words that say why, when they are not the key's own.
    fn message(&self) -> Option<&'static str> {
        match self {
            AppError::InvalidEdit(invalid) => Some(match invalid {
                collab::Invalid::Unreadable => "error.invalid_edit_unreadable",
                collab::Invalid::MissingChanges => "error.invalid_edit_missing_changes",
                collab::Invalid::NotApplicable => "error.invalid_edit_not_applicable",
            }),
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Moved(to) = &self {
            // The new address carries the rest of the one asked for: followed only when it is
            // a path of this site as it is sent.
            return match crate::i18n::local_path(to) {
                Some(to) => axum::response::Redirect::permanent(to).into_response(),
                None => AppError::NotFound.into_response(),
            };
        }
        let status = self.status();
        let detail = match &self {
            AppError::Internal(err) => {
                tracing::error!(error = ?err, "request failed");
                None
            }
            AppError::BadRequest(msg) | AppError::Conflict(msg) => Some(msg.clone()),
            AppError::InvalidEdit(invalid) => {
                tracing::info!(reason = %invalid, "an edit was refused");
                None
            }
            _ => None,
        };
        let info = ErrorInfo {
            status,
            key: self.key(),
            detail,
            message: self.message(),
            retry_at: None,
            back: None,
        };
        let mut response = (status, info.key).into_response();
        response.extensions_mut().insert(info);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(err: AppError) -> ErrorInfo {
        let response = err.into_response();
        response.extensions().get::<ErrorInfo>().cloned().expect("an error carries its info")
    }

    #[test]
    fn an_invalid_edit_is_refused_with_its_reason_not_a_server_error() {
        let info = info(EditError::Invalid(collab::Invalid::MissingChanges).into());
        assert_eq!(info.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(info.key, "error.invalid_edit");
        assert_eq!(info.message, Some("error.invalid_edit_missing_changes"));
        let fr = crate::i18n::Lang::Fr.t(info.message.unwrap_or(info.key));
        assert!(fr.contains("Rechargez la page de modification"), "{fr}");
    }

    #[test]
    fn each_reason_of_an_invalid_edit_has_its_own_words() {
        use collab::Invalid::*;
        for invalid in [Unreadable, MissingChanges, NotApplicable] {
            let info = info(AppError::InvalidEdit(invalid));
            let key = info.message.expect("a reason");
            for lang in [crate::i18n::Lang::Fr, crate::i18n::Lang::En] {
                let words = lang.t(key);
                assert!(!words.contains("invalid_edit"), "{key} is worded in {}", lang.code());
            }
        }
    }

    #[test]
    fn a_page_too_long_and_a_failure_keep_their_answers() {
        let too_long = EditError::from(collab::Refusal::TooLong(10));
        assert_eq!(info(too_long.into()).status, StatusCode::PAYLOAD_TOO_LARGE);
        let not_stored = EditError::from(collab::Refusal::NotStored("disk full".into()));
        assert_eq!(info(not_stored.into()).status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

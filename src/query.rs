//! Reading what an address asks: a readable 400 when its query does not parse, and page numbers
//! bounded by construction, so no count chosen by a client decides memory or time.
use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use crate::{error::AppError, i18n};
pub use ruche_base::paging::{pages, PageNumber};

/// The query string of the address, parsed into `T`; a query that does not fit answers 400 with
/// a message in the reader's language (axum's own extractor answers in English).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(raw).map(Query).map_err(|err| {
            tracing::debug!(error = %err, "query string refused");
            AppError::BadRequest(i18n::from_headers(&parts.headers).t("error.bad_query"))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Asked {
        #[serde(default)]
        page: PageNumber,
    }

    fn asked(query: &str) -> Option<u32> {
        serde_urlencoded::from_str::<Asked>(query).ok().map(|a| a.page.get())
    }

    #[test]
    fn page_numbers_are_bounded_and_never_fail_on_size() {
        assert_eq!(asked(""), Some(1));
        assert_eq!(asked("page="), Some(1));
        assert_eq!(asked("page=0"), Some(1));
        assert_eq!(asked("page=7"), Some(7));
        assert_eq!(asked("page=18446744073709551615"), Some(u32::MAX));
        assert_eq!(asked("page=99999999999999999999999999999"), Some(u32::MAX));
        assert_eq!(asked("page=-1"), None);
        assert_eq!(asked("page=1e9"), None);
        assert_eq!(asked("page=abc"), None);
    }

    #[test]
    fn a_page_past_the_end_is_the_last_page() {
        let far = PageNumber::parse("999999999999").expect("a number");
        assert_eq!(far.within(45, 10).get(), 5);
        assert_eq!(far.within(0, 10).get(), 1);
        assert_eq!(far.within(45, 10).offset(10), 40);
        assert_eq!(PageNumber::FIRST.offset(10), 0);
    }
}

//! The interface language: French first, English available; chosen by a cookie the switch sets,
//! else by the browser's Accept-Language.
use axum::{
    extract::{FromRequestParts, Path},
    http::{header, request::Parts, HeaderMap},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

pub(crate) const COOKIE: &str = "ruche_lang";

pub use ruche_base::i18n::Lang;

/// The language a request asks for: the switch's cookie, else the browser's Accept-Language.
pub(crate) fn from_headers(headers: &HeaderMap) -> Lang {
    let jar = CookieJar::from_headers(headers);
    if let Some(lang) = jar.get(COOKIE).and_then(|c| Lang::parse(c.value())) {
        return lang;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::negotiate)
        .unwrap_or_default()
}

/// The language of a request, as a handler's argument (see [`from_headers`]).
pub struct AskedLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for AskedLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(AskedLang(from_headers(&parts.headers)))
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct Next {
    next: Option<String>,
}

/// Longest address followed back: a page's path and query fit many times over, and a header
/// the client chose stays small.
const MAX_NEXT: usize = 2000;

/// Where to go back to after signing in, switching language or following a list: only a path of
/// this site as a browser reads it from the `Location` header — one `/` followed by something
/// other than `/` or `\`, with no control or whitespace character anywhere (browsers skip tabs
/// and newlines: `/\t/evil.example` reads as `//evil.example`) and no `\` (read as `/`), and the
/// same once percent-decoded (`/%2F/evil.example`, `/%09/…`, for whatever decodes it on the way).
/// Anything else goes home. Every redirect built from what a client sent goes through here, with
/// the value exactly as it will be sent.
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    next.and_then(local_path).unwrap_or("/")
}

/// `target` when it is a path of this site as [`safe_next`] says, else `None` (for a route that
/// goes back somewhere of its own instead of home).
pub(crate) fn local_path(target: &str) -> Option<&str> {
    let starts_local = |s: &str| {
        let mut chars = s.chars();
        chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'))
    };
    let decoded = percent_decoded(target);
    let local = target.len() <= MAX_NEXT
        && starts_local(target)
        && !target.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        && starts_local(&decoded)
        && !decoded.chars().any(char::is_control);
    local.then_some(target)
}

/// `text` with its `%XX` sequences decoded once (what is not one is kept as it is).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET /lang/{code}?next=…`: remembers the choice for a year and goes back.
pub async fn switch(
    Path(code): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    jar: CookieJar,
) -> Response {
    // Whatever the address holds, switching the language never fails: a `next` that cannot be
    // read goes home.
    let next: Next = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let target = safe_next(next.next.as_deref()).to_owned();
    let Some(lang) = Lang::parse(&code) else {
        return Redirect::to(&target).into_response();
    };
    let cookie = Cookie::build((COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .max_age(time::Duration::days(365))
        .build();
    (jar.add(cookie), Redirect::to(&target)).into_response()
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn only_paths_of_this_site_are_followed_back() {
        use super::{local_path, safe_next};
        for ok in [
            "/",
            "/s/chantier-1",
            "/search?q=a%20b",
            "/search?q=a+b&page=2",
            "/s/x#titre",
            "/s/x/notes?next=/y",
            "/s/caf%C3%A9",
            "/agenda?q=%2F",
        ] {
            assert_eq!(safe_next(Some(ok)), ok, "{ok:?}");
            assert_eq!(local_path(ok), Some(ok), "{ok:?}");
        }
        let too_long = format!("/{}", "a".repeat(2000));
        for bad in [
            // Another site, said plainly or in a scheme.
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            // Backslashes: browsers read them as slashes.
            "/\\evil.example",
            "\\/evil.example",
            "/x\\y",
            // Tabs and newlines, which browsers drop: `/\t/` reads as `//`.
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\u{0b}/evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            // The same, percent-encoded, for whatever decodes them on the way.
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%5c%5cevil.example",
            "/%09/evil.example",
            "/%0A/evil.example",
            "/%0d%0a/evil.example",
            "/x%00y",
            "/x?a=%0d%0aSet-Cookie:%20a=b",
            too_long.as_str(),
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(Lang::negotiate("en-GB,en;q=0.9,fr;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::negotiate("de-DE,fr;q=0.5,en;q=0.4"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("de"), None);
    }

    #[test]
    fn french_and_english_have_the_same_keys() {
        let keys = |text: &str| -> std::collections::BTreeSet<String> {
            text.lines()
                .filter(|l| !l.trim_start().starts_with('#') && l.contains(':'))
                .filter_map(|l| l.split(':').next().map(|k| k.trim().to_owned()))
                .collect()
        };
        let fr = keys(include_str!("../locales/fr.yml"));
        let en = keys(include_str!("../locales/en.yml"));
        let only_fr: Vec<_> = fr.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&fr).collect();
        assert!(
            only_fr.is_empty() && only_en.is_empty(),
            "only in fr: {only_fr:?}; only in en: {only_en:?}"
        );
    }
}

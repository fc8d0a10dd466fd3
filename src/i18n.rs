//! The interface language: French first, English available; chosen by a cookie the switch sets,
//! else by the browser's Accept-Language.
use axum::{
    extract::{FromRequestParts, Path},
    http::{header, request::Parts, HeaderMap},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

pub const COOKIE: &str = "ruche_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The language's own name, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The first supported language of an Accept-Language header, by preference.
    pub fn negotiate(accept: &str) -> Option<Self> {
        let mut wanted: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim();
                let primary = tag.split('-').next()?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .unwrap_or(1.0);
                Some((q, Lang::parse(primary)?))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        wanted.first().map(|(_, l)| *l)
    }

    pub fn from_headers(headers: &HeaderMap) -> Self {
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

    /// The text of `key` in this language.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// The text of `key` with `%{name}` placeholders filled in.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

/// Where to go back to after signing in or switching language: only a path of this site — one
/// `/` followed by something other than `/` or `\`, with no control or whitespace character
/// anywhere (browsers skip tabs and newlines: `/\t/evil.example` reads as `//evil.example`).
/// Anything else goes home. Every redirect built from what a client sent goes through here.
pub fn safe_next(next: Option<&str>) -> &str {
    let Some(n) = next else { return "/" };
    let mut chars = n.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if local {
        n
    } else {
        "/"
    }
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
        use super::safe_next;
        for ok in ["/", "/s/chantier-1", "/search?q=a%20b", "/s/x#titre"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/%09/evil.example".replace("%09", "\u{0b}").as_str(),
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "https://evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
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

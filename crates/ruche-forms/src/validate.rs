//! Checking what a person typed in an entry's form, field by field, into the values stored in
//! the page's `fields` map. Pure: no database, unit-tested per field type.
use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Map, Value};

use super::{FieldDef, FieldKind, Form};
use crate::{accounts, pages, spaces};

/// The time zone of events when none is given.
pub(crate) const DEFAULT_TZ: &str = "Europe/Paris";
/// Longest text accepted in a short field, and in a long one.
const SHORT_MAX: usize = 500;
const LONG_MAX: usize = 50_000;

/// Why a field was refused: a key of the translations, by field key.
pub type Errors = BTreeMap<String, &'static str>;

/// What was typed, as the form sent it (a key may repeat, for multiple choices).
pub struct Raw<'a>(pub &'a [(String, String)]);

impl Raw<'_> {
    fn one(&self, key: &str) -> &str {
        self.0.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.trim())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// The values to store, `Null` meaning "no value" (the key is removed); or the errors.
pub fn validate(form: &Form, raw: &Raw<'_>) -> Result<Map<String, Value>, Errors> {
    let mut values = Map::new();
    let mut errors = Errors::new();
    for field in &form.fields {
        match value_of(field, raw) {
            Ok(Value::Null) if field.required => {
                errors.insert(field.key.clone(), "forms.error_required");
            }
            Ok(value) => {
                values.insert(field.key.clone(), value);
            }
            Err(message) => {
                errors.insert(field.key.clone(), message);
            }
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

fn value_of(field: &FieldDef, raw: &Raw<'_>) -> Result<Value, &'static str> {
    let key = field.key.as_str();
    let text = raw.one(key);
    match &field.kind {
        FieldKind::ShortText => bounded(text, SHORT_MAX),
        FieldKind::LongText => bounded(
            &raw.0
                .iter()
                .find(|(k, _)| k == key)
                .map_or(String::new(), |(_, v)| v.replace("\r\n", "\n")),
            LONG_MAX,
        ),
        FieldKind::Number => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let n: f64 = text.replace(',', ".").parse().map_err(|_| "forms.error_number")?;
            if !n.is_finite() {
                return Err("forms.error_number");
            }
            Ok(json!(n))
        }
        FieldKind::Date => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "forms.error_date")?;
            Ok(json!(text))
        }
        FieldKind::DateTimeRange => {
            let (start, end) = (raw.one(&format!("{key}.start")), raw.one(&format!("{key}.end")));
            if start.is_empty() && end.is_empty() {
                return Ok(Value::Null);
            }
            let start_at = parse_local(start).ok_or("forms.error_datetime")?;
            let end = if end.is_empty() { start } else { end };
            let end_at = parse_local(end).ok_or("forms.error_datetime")?;
            if end_at < start_at {
                return Err("forms.error_end_before_start");
            }
            let tz = match raw.one(&format!("{key}.tz")) {
                "" => DEFAULT_TZ,
                tz => tz,
            };
            tz.parse::<chrono_tz::Tz>().map_err(|_| "forms.error_timezone")?;
            Ok(
                json!({ "start": start_at.format("%Y-%m-%dT%H:%M").to_string(), "end": end_at.format("%Y-%m-%dT%H:%M").to_string(), "tz": tz }),
            )
        }
        FieldKind::Url => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            // "www.example.org" is what people copy from a card: completed, not refused.
            let completed =
                if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
            let url = url::Url::parse(&completed).map_err(|_| "forms.error_url")?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err("forms.error_url");
            }
            Ok(json!(url.to_string()))
        }
        FieldKind::Email | FieldKind::MemberLink => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let email = accounts::Email::parse(text).ok_or("forms.error_email")?;
            Ok(json!(email.as_str()))
        }
        FieldKind::Phone => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let digits = text.chars().filter(char::is_ascii_digit).count();
            let allowed = text.chars().all(|c| c.is_ascii_digit() || " +.-()".contains(c));
            if !allowed || !(6..=20).contains(&digits) {
                return Err("forms.error_phone");
            }
            Ok(json!(text))
        }
        FieldKind::SingleChoice { choices } => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            if !choices.iter().any(|c| c == text) {
                return Err("forms.error_choice");
            }
            Ok(json!(text))
        }
        FieldKind::MultipleChoice { choices } => {
            let picked = raw.all(key);
            if picked.iter().any(|p| !choices.iter().any(|c| c == p)) {
                return Err("forms.error_choice");
            }
            Ok(if picked.is_empty() { Value::Null } else { json!(picked) })
        }
        FieldKind::Tags => {
            let mut seen = std::collections::HashSet::new();
            let tags: Vec<String> = text
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty() && seen.insert(t.clone()))
                .collect();
            if tags.iter().any(|t| t.chars().count() > 60) || tags.len() > 50 {
                return Err("forms.error_tags");
            }
            Ok(if tags.is_empty() { Value::Null } else { json!(tags) })
        }
        FieldKind::Point => {
            let (lat, lon) = (raw.one(&format!("{key}.lat")), raw.one(&format!("{key}.lon")));
            if lat.is_empty() && lon.is_empty() {
                return Ok(Value::Null);
            }
            let lat: f64 = lat.replace(',', ".").parse().map_err(|_| "forms.error_point")?;
            let lon: f64 = lon.replace(',', ".").parse().map_err(|_| "forms.error_point")?;
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err("forms.error_point");
            }
            Ok(json!({ "lat": lat, "lon": lon }))
        }
        FieldKind::Audience => match text {
            "" => Ok(Value::Null),
            super::AUDIENCE_PUBLIC | super::AUDIENCE_MEMBERS => Ok(json!(text)),
            _ => Err("forms.error_choice"),
        },
        // The upload itself was checked when it was received (see `uploads`); what reaches here
        // is its description, or the value kept from before.
        FieldKind::File | FieldKind::Image => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let meta: Value = serde_json::from_str(text).map_err(|_| "forms.error_file")?;
            let hash_ok = meta.get("hash").and_then(Value::as_str).is_some_and(|h| {
                h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            });
            if !hash_ok || meta.get("name").and_then(Value::as_str).is_none() {
                return Err("forms.error_file");
            }
            Ok(meta)
        }
        FieldKind::PageLink { .. } => {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let valid = text.split_once('/').is_some_and(|(space, page)| {
                spaces::SpaceSlug::parse(space).is_some() && pages::PageSlug::parse(page).is_some()
            });
            if !valid {
                return Err("forms.error_page_link");
            }
            Ok(json!(text))
        }
    }
}

fn bounded(text: &str, max: usize) -> Result<Value, &'static str> {
    if text.trim().is_empty() {
        Ok(Value::Null)
    } else if text.chars().count() > max {
        Err("forms.error_too_long")
    } else {
        Ok(json!(text))
    }
}

fn parse_local(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::builtin;

    fn form(key: &str) -> Form {
        let (key, name, description, fields) =
            builtin::all().into_iter().find(|f| f.0 == key).expect("built-in form");
        Form {
            id: 1,
            key: key.into(),
            name: name.into(),
            description: description.into(),
            fields,
            removed: Vec::new(),
            builtin: true,
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn an_event_needs_a_start_before_its_end_and_a_known_zone() {
        let event = form("event");
        let ok = raw(&[
            ("when.start", "2025-03-27T09:30"),
            ("when.end", "2025-03-27T17:00"),
            ("audience", "public"),
        ]);
        let values = validate(&event, &Raw(&ok)).expect("valid");
        assert_eq!(values["when"]["tz"], "Europe/Paris");
        let backwards = raw(&[
            ("when.start", "2025-03-27T18:00"),
            ("when.end", "2025-03-27T09:00"),
            ("audience", "public"),
        ]);
        assert_eq!(
            validate(&event, &Raw(&backwards)).unwrap_err()["when"],
            "forms.error_end_before_start"
        );
        let bad = raw(&[("when.start", "27/03/2025"), ("audience", "public")]);
        assert_eq!(validate(&event, &Raw(&bad)).unwrap_err()["when"], "forms.error_datetime");
        let zone = raw(&[
            ("when.start", "2025-03-27T09:30"),
            ("when.tz", "Mars/Olympus"),
            ("audience", "public"),
        ]);
        assert_eq!(validate(&event, &Raw(&zone)).unwrap_err()["when"], "forms.error_timezone");
        let missing = raw(&[("audience", "public")]);
        assert_eq!(validate(&event, &Raw(&missing)).unwrap_err()["when"], "forms.error_required");
        let unknown = raw(&[("when.start", "2025-03-27T09:30"), ("audience", "tout-le-monde")]);
        assert_eq!(validate(&event, &Raw(&unknown)).unwrap_err()["audience"], "forms.error_choice");
    }

    #[test]
    fn an_organisation_checks_its_point_url_and_themes() {
        let org = form("organisation");
        let ok = raw(&[
            ("name", "Le Labo de l'ESS"),
            ("website", "www.lelabo-ess.org"),
            ("point.lat", "48,8566"),
            ("point.lon", "2.3522"),
            ("themes", "coopération, ESS, coopération"),
        ]);
        let values = validate(&org, &Raw(&ok)).expect("valid");
        assert_eq!(values["point"]["lat"], 48.8566);
        assert_eq!(values["website"], "https://www.lelabo-ess.org/", "completed");
        assert_eq!(values["themes"], json!(["coopération", "ESS"]));
        for (pairs, field, error) in [
            (
                vec![("name", "X"), ("point.lat", "91"), ("point.lon", "2")],
                "point",
                "forms.error_point",
            ),
            (
                vec![("name", "X"), ("point.lat", "45"), ("point.lon", "abc")],
                "point",
                "forms.error_point",
            ),
            (vec![("name", "X"), ("website", "javascript:alert(1)")], "website", "forms.error_url"),
            (vec![("name", "X"), ("website", "pas une adresse")], "website", "forms.error_url"),
            (vec![("name", "X"), ("type", "secte")], "type", "forms.error_choice"),
            (vec![("name", "")], "name", "forms.error_required"),
        ] {
            assert_eq!(validate(&org, &Raw(&raw(&pairs))).unwrap_err()[field], error, "{pairs:?}");
        }
    }

    #[test]
    fn a_member_checks_email_phone_and_links() {
        let member = form("member");
        let ok = raw(&[
            ("name", "Sophie"),
            ("email", "Sophie@Example.org"),
            ("phone", "+33 1 23 45 67 89"),
            ("organisation", "structures/savoir-devenir"),
        ]);
        let values = validate(&member, &Raw(&ok)).expect("valid");
        assert_eq!(values["email"], "sophie@example.org");
        for (pairs, field, error) in [
            (vec![("name", "S"), ("email", "sophie@")], "email", "forms.error_email"),
            (vec![("name", "S"), ("phone", "appelez-moi")], "phone", "forms.error_phone"),
            (
                vec![("name", "S"), ("organisation", "Savoir Devenir")],
                "organisation",
                "forms.error_page_link",
            ),
        ] {
            assert_eq!(
                validate(&member, &Raw(&raw(&pairs))).unwrap_err()[field],
                error,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn numbers_dates_and_multiple_choices() {
        let custom = Form {
            id: 9,
            key: "fiche".into(),
            name: "Fiche".into(),
            description: String::new(),
            builtin: false,
            removed: Vec::new(),
            fields: vec![
                FieldDef {
                    key: "n".into(),
                    label: "N".into(),
                    kind: FieldKind::Number,
                    required: false,
                    members_only: false,
                    help: String::new(),
                    removed: false,
                },
                FieldDef {
                    key: "d".into(),
                    label: "D".into(),
                    kind: FieldKind::Date,
                    required: false,
                    members_only: false,
                    help: String::new(),
                    removed: false,
                },
                FieldDef {
                    key: "m".into(),
                    label: "M".into(),
                    kind: FieldKind::MultipleChoice { choices: vec!["a".into(), "b".into()] },
                    required: false,
                    members_only: false,
                    help: String::new(),
                    removed: false,
                },
            ],
        };
        let ok = raw(&[("n", "3,5"), ("d", "2025-04-01"), ("m", "a"), ("m", "b")]);
        let values = validate(&custom, &Raw(&ok)).expect("valid");
        assert_eq!(values["n"], 3.5);
        assert_eq!(values["m"], json!(["a", "b"]));
        let bad = raw(&[("n", "beaucoup"), ("d", "2025-02-30"), ("m", "c")]);
        let errors = validate(&custom, &Raw(&bad)).unwrap_err();
        assert_eq!(
            (errors["n"], errors["d"], errors["m"]),
            ("forms.error_number", "forms.error_date", "forms.error_choice")
        );
    }
}

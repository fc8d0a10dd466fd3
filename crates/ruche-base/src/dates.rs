//! Dates and times as people read them: in the site's time zone, in words, in their language
//! ("samedi 12 décembre 2026 à 14 h", "il y a 5 minutes"). Exports keep ISO values; people's
//! pages never show them.
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use maud::{html, Markup};

use crate::i18n::Lang;

/// The site's time zone when none is set.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::Paris;

/// "samedi 12 décembre 2026" ("1er" for the first of the month in French).
pub fn long_date(lang: Lang, d: NaiveDate) -> String {
    let day = if d.day() == 1 { lang.t("agenda.first_of_month") } else { d.day().to_string() };
    format!(
        "{} {} {} {}",
        lang.t(&format!("agenda.weekday_{}", d.weekday().number_from_monday())),
        day,
        lang.t(&format!("agenda.month_{}", d.month())),
        d.year()
    )
}

/// "14 h", "14 h 05" in French; "14:05" in English.
pub fn clock(lang: Lang, t: NaiveTime) -> String {
    match lang {
        Lang::Fr if t.minute() == 0 => format!("{} h", t.hour()),
        Lang::Fr => format!("{} h {:02}", t.hour(), t.minute()),
        Lang::En => format!("{}:{:02}", t.hour(), t.minute()),
    }
}

/// The hour and minute of `t` in `tz`, rounded up to the minute: "19 h 29" (a moment within
/// the day, such as when something may be done again).
pub fn clock_at(lang: Lang, tz: Tz, t: DateTime<Utc>) -> String {
    let up = t + chrono::Duration::seconds(59);
    clock(lang, up.with_timezone(&tz).time())
}

/// About when `t` comes in `tz`, rounded up to five minutes: "vers 20 h 15" reads better than
/// "20 h 12 min 40 s", and a little late is never too early.
pub fn about(lang: Lang, tz: Tz, t: DateTime<Utc>) -> String {
    const STEP: i64 = 5 * 60;
    let seconds = t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0);
    let rounded = (seconds + STEP - 1).div_euclid(STEP) * STEP;
    let up = DateTime::<Utc>::from_timestamp(rounded, 0).unwrap_or(t);
    clock(lang, up.with_timezone(&tz).time())
}

/// "samedi 12 décembre 2026 à 14 h 05", in `tz`.
pub fn moment(lang: Lang, tz: Tz, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    lang.tf(
        "dates.day_at",
        &[("day", &long_date(lang, local.date_naive())), ("time", &clock(lang, local.time()))],
    )
}

/// How long ago `t` was, in words, as of `now`: "à l'instant", "il y a 5 minutes", "il y a
/// 3 heures", "hier à 14 h"; older, the day and time.
pub fn ago(lang: Lang, tz: Tz, now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let seconds = (now - t).num_seconds();
    let (today, day) = (now.with_timezone(&tz).date_naive(), t.with_timezone(&tz).date_naive());
    match seconds {
        s if s < 60 => lang.t("dates.just_now"),
        s if s < 120 => lang.t("dates.a_minute_ago"),
        s if s < 3600 => lang.tf("dates.minutes_ago", &[("n", &(s / 60).to_string())]),
        s if s < 7200 => lang.t("dates.an_hour_ago"),
        s if s < 6 * 3600 || day == today => {
            lang.tf("dates.hours_ago", &[("n", &(s / 3600).to_string())])
        }
        _ if today.pred_opt() == Some(day) => {
            lang.tf("dates.yesterday_at", &[("time", &clock(lang, t.with_timezone(&tz).time()))])
        }
        _ => moment(lang, tz, t),
    }
}

/// A `<time>` saying how long ago `t` was, with the exact day and time on hover and for
/// screen readers.
pub fn time_ago(lang: Lang, tz: Tz, t: DateTime<Utc>) -> Markup {
    let exact = moment(lang, tz, t);
    let relative = ago(lang, tz, Utc::now(), t);
    html! {
        @if relative == exact {
            time datetime=(t.to_rfc3339()) { (exact) }
        } @else {
            time datetime=(t.to_rfc3339()) title=(exact) {
                (relative) span.visually-hidden { " (" (exact) ")" }
            }
        }
    }
}

/// When something happens, from `start` to `end` (local times), in words: "samedi 12 décembre
/// 2026, de 14 h à 17 h", or "Du samedi 12 décembre 2026 à 14 h au dimanche 13 décembre 2026 à
/// 12 h".
pub fn range(lang: Lang, start: NaiveDateTime, end: NaiveDateTime) -> String {
    if start.date() == end.date() {
        lang.tf(
            "agenda.same_day",
            &[
                ("day", &long_date(lang, start.date())),
                ("start", &clock(lang, start.time())),
                ("end", &clock(lang, end.time())),
            ],
        )
    } else {
        let at = |t: NaiveDateTime| {
            lang.tf(
                "dates.day_at",
                &[("day", &long_date(lang, t.date())), ("time", &clock(lang, t.time()))],
            )
        };
        lang.tf("agenda.several_days", &[("start", &at(start)), ("end", &at(end))])
    }
}

/// The time zones offered (for events, and to people who read times in their own), named as
/// people know them: France first (with its overseas departments), then neighbours and partners
/// of French-speaking networks.
pub const ZONES: &[(&str, &str)] = &[
    ("Europe/Paris", "zones.paris"),
    ("America/Guadeloupe", "zones.guadeloupe"),
    ("America/Martinique", "zones.martinique"),
    ("America/Cayenne", "zones.guyane"),
    ("Indian/Reunion", "zones.reunion"),
    ("Indian/Mayotte", "zones.mayotte"),
    ("America/Miquelon", "zones.miquelon"),
    ("Pacific/Noumea", "zones.noumea"),
    ("Pacific/Tahiti", "zones.tahiti"),
    ("Europe/Brussels", "zones.brussels"),
    ("Europe/Luxembourg", "zones.luxembourg"),
    ("Europe/Zurich", "zones.zurich"),
    ("America/Montreal", "zones.montreal"),
    ("Africa/Dakar", "zones.dakar"),
    ("Africa/Abidjan", "zones.abidjan"),
    ("Africa/Casablanca", "zones.casablanca"),
    ("Africa/Tunis", "zones.tunis"),
    ("UTC", "zones.utc"),
];

/// A time zone named in settings or a form (`Europe/Paris`), if it is one.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        DEFAULT_TIME_ZONE
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn moments_read_in_words_in_the_site_zone() {
        // 13:00 UTC is 14 h in Paris in December.
        let t = Utc.with_ymd_and_hms(2026, 12, 12, 13, 0, 0).single().expect("a time");
        assert_eq!(moment(Lang::Fr, DEFAULT_TIME_ZONE, t), "samedi 12 décembre 2026 à 14 h");
        let t = Utc.with_ymd_and_hms(2026, 7, 1, 6, 5, 0).single().expect("a time");
        assert_eq!(moment(Lang::Fr, DEFAULT_TIME_ZONE, t), "mercredi 1er juillet 2026 à 8 h 05");
        assert_eq!(moment(Lang::En, DEFAULT_TIME_ZONE, t), "Wednesday 1 July 2026 at 8:05");
    }

    #[test]
    fn a_time_to_come_back_is_rounded_up() {
        let tz = DEFAULT_TIME_ZONE;
        assert_eq!(about(Lang::Fr, tz, at(2026, 12, 12, 20, 12)), "20 h 15");
        assert_eq!(about(Lang::Fr, tz, at(2026, 12, 12, 20, 15)), "20 h 15");
        let later = at(2026, 12, 12, 20, 15) + chrono::Duration::seconds(1);
        assert_eq!(about(Lang::Fr, tz, later), "20 h 20");
        assert_eq!(about(Lang::Fr, tz, at(2026, 12, 12, 23, 58)), "0 h");
        assert_eq!(clock_at(Lang::Fr, tz, later), "20 h 16");
        assert_eq!(clock_at(Lang::En, tz, at(2026, 12, 12, 19, 29)), "19:29");
    }

    #[test]
    fn ranges_read_in_words() {
        let t =
            |d: u32, h: u32| at(2026, 12, d, h, 0).with_timezone(&DEFAULT_TIME_ZONE).naive_local();
        assert_eq!(
            range(Lang::Fr, t(12, 14), t(12, 17)),
            "samedi 12 décembre 2026, de 14 h à 17 h"
        );
        assert_eq!(
            range(Lang::Fr, t(12, 14), t(13, 12)),
            "Du samedi 12 décembre 2026 à 14 h au dimanche 13 décembre 2026 à 12 h"
        );
    }

    #[test]
    fn recent_moments_say_how_long_ago() {
        let now = at(2026, 12, 12, 15, 0);
        let fr = |t| ago(Lang::Fr, DEFAULT_TIME_ZONE, now, t);
        assert_eq!(fr(now - chrono::Duration::seconds(30)), "à l'instant");
        assert_eq!(fr(at(2026, 12, 12, 14, 59)), "il y a une minute");
        assert_eq!(fr(at(2026, 12, 12, 14, 55)), "il y a 5 minutes");
        assert_eq!(fr(at(2026, 12, 12, 12, 0)), "il y a 3 heures");
        assert_eq!(fr(at(2026, 12, 11, 9, 30)), "hier à 9 h 30");
        assert_eq!(fr(at(2026, 12, 1, 9, 0)), "mardi 1er décembre 2026 à 9 h");
    }
}

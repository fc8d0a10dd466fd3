//! The daily digest: for those who chose it, one mail a day at their hour (in their zone, else
//! the site's) with what happened since the last, grouped by space. Access is checked again as
//! the mail is written: nothing its reader may no longer read goes in it.
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::{entity::notification, Mailing};
use crate::{
    accounts,
    accounts::{entity::user, User},
    db::Db,
    i18n::Lang,
    outbox,
};
use ruche_mail::mail;

/// Most notifications listed in one digest (the rest: "and N more, on the site").
const LISTED: usize = 100;

/// When the digest of a person is due today: their hour, today, in their zone (or the site's).
pub(crate) fn due_at(now: DateTime<Utc>, hour: u32, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let today = now.with_timezone(&zone).date_naive();
    let local = today.and_hms_opt(hour.min(23), 0, 0).unwrap_or_default();
    // An hour a change of clocks skips is taken an hour later; one it repeats, the first time.
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// Writes the digests due at `now` to the outbox. Answers how many were written.
pub(crate) async fn send_due(
    db: &Db,
    mailing: &Mailing,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    if !mailing.on {
        return Ok(0);
    }
    // Who has something waiting (each once; the rows themselves are read when written).
    let waiting: Vec<i64> = notification::Entity::find()
        .select_only()
        .column(notification::Column::UserId)
        .distinct()
        .filter(notification::Column::InDigest.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let people = accounts::store::by_ids(db, waiting).await?;
    let mut written = 0;
    for person in people.into_values() {
        if person.notify_by_mail != "daily" || person.disabled {
            continue;
        }
        let due = due_at(now, person.digest_hour, person.time_zone.unwrap_or(mailing.zone));
        if now < due {
            continue;
        }
        // Claimed: of several processes, one writes it.
        let claimed = user::Entity::update_many()
            .col_expr(user::Column::LastDigestAt, sea_orm::sea_query::Expr::value(Some(now)))
            .filter(user::Column::Id.eq(person.id.0))
            .filter(
                Condition::any()
                    .add(user::Column::LastDigestAt.is_null())
                    .add(user::Column::LastDigestAt.lt(due)),
            )
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if claimed && write(db, mailing, &person).await? {
            written += 1;
        }
    }
    Ok(written)
}

/// Writes `person`'s digest of what waits for it; answers whether there was anything to tell.
async fn write(db: &Db, mailing: &Mailing, person: &User) -> anyhow::Result<bool> {
    let rows = notification::Entity::find()
        .filter(notification::Column::UserId.eq(person.id.0))
        .filter(notification::Column::InDigest.eq(true))
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await?;
    let Some(last) = rows.last().map(|r| r.id) else { return Ok(false) };
    // Checked again now, row by row (`shown` leaves out what they may no longer read).
    let shown = super::shown(db, person, rows).await?;
    let key = match shown.is_empty() {
        true => None,
        false => Some(accounts::store::unsubscribe_key(db, person.id).await?),
    };
    let txn = db.begin().await?;
    if let Some(key) = key {
        mail::enqueue(&txn, &mail(mailing, person, &key, &shown)).await?;
    }
    notification::Entity::update_many()
        .col_expr(notification::Column::InDigest, sea_orm::sea_query::Expr::value(false))
        .filter(notification::Column::UserId.eq(person.id.0))
        .filter(notification::Column::InDigest.eq(true))
        .filter(notification::Column::Id.lte(last))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(!shown.is_empty())
}

/// The digest's mail: a section per space, in the order things happened.
fn mail(mailing: &Mailing, person: &User, key: &str, shown: &[super::Shown]) -> mail::Mail {
    let lang = Lang::Fr;
    let mut sections: Vec<mail::Section> = Vec::new();
    for n in shown.iter().take(LISTED) {
        let line =
            (n.kind.sentence(lang, n.who.as_deref(), &n.title), mailing.base_url.clone() + &n.url);
        match sections.iter_mut().find(|s| s.heading == n.space) {
            Some(section) => section.lines.push(line),
            None => sections.push(mail::Section { heading: n.space.clone(), lines: vec![line] }),
        }
    }
    let mut paragraphs =
        vec![lang.tf("notify.digest_intro", &[("count", &shown.len().to_string())])];
    if shown.len() > LISTED {
        paragraphs
            .push(lang.tf("notify.digest_more", &[("count", &(shown.len() - LISTED).to_string())]));
    }
    let unsubscribe = super::unsubscribe_url(mailing, key);
    let mut mail = mail::compose(mail::Letter {
        site_name: &mailing.site_name,
        to: &person.email,
        subject: lang.tf(
            "notify.digest_subject",
            &[("site", &mailing.site_name), ("count", &shown.len().to_string())],
        ),
        greeting: lang.tf("reset.mail_greeting", &[("name", &person.name)]),
        paragraphs,
        sections,
        action: Some((lang.t("notify.digest_open"), format!("{}/notifications", mailing.base_url))),
        footer: lang.tf("notify.digest_footer", &[("url", &unsubscribe)]),
    });
    mail.unsubscribe = Some(unsubscribe);
    mail
}

/// Looks for digests due every `every`, for as long as the site runs; wakes the outbox when
/// one was written.
pub async fn run(db: Db, mailing: Mailing, outbox: outbox::Outbox, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match send_due(&db, &mailing, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(digests = n, "daily digests written");
                outbox.wake();
            }
            Err(err) => tracing::warn!(error = ?err, "daily digests not written"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_at_the_hour_in_the_zone() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        // 8 h in Paris in winter is 7 h UTC.
        assert_eq!(due_at(now, 8, paris), Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap());
        let martinique: chrono_tz::Tz = "America/Martinique".parse().unwrap();
        assert_eq!(
            due_at(now, 8, martinique),
            Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
        );
    }

    #[test]
    fn an_hour_skipped_by_the_clocks_is_taken_an_hour_later() {
        // 29 March 2026: in Paris, 2 h does not exist.
        let now = Utc.with_ymd_and_hms(2026, 3, 29, 12, 0, 0).unwrap();
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(due_at(now, 2, paris), Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
    }
}

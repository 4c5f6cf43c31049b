//! Vendor reminders, once a day through the outbox, to each vendor's owner: a notice deadline
//! within 30 days, a review due within 14 days or overdue, a current report expiring within 30
//! days. One message per owner per day (the key names the owner and the day).

use super::store;
use crate::error::AppError;
use crate::notifications::{
    reminders::{self, remind},
    Notice,
};
use crate::paths;
use crate::state::AppState;
use crate::util::{fmt_date, parse_date};
use std::collections::BTreeMap;

pub const NOTICE_DAYS: i64 = 30;
pub const REVIEW_DAYS: i64 = 14;
pub const EXPIRY_DAYS: i64 = 30;

/// What each owner is to hear of today: owner → lines.
pub async fn due(
    pool: &sqlx::AnyPool,
    today: time::Date,
) -> Result<BTreeMap<i64, Vec<String>>, AppError> {
    let reg = store::register(pool, None).await?;
    let within =
        |d: &str, days: i64| parse_date(d).is_some_and(|d| (d - today).whole_days() <= days);
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for v in &reg.vendors {
        let Some(owner) = v.owner_id else { continue };
        let s = store::summarize(&reg, v, today);
        let mut lines = Vec::new();
        if let Some((d, c)) = &s.notice_deadline {
            if within(d, NOTICE_DAYS) {
                lines.push(format!("{}: notice on '{c}' by {d}", v.name));
            }
        }
        if within(&s.next_review, REVIEW_DAYS) {
            lines.push(format!(
                "{}: review due {} ({})",
                v.name, s.next_review, s.next_review_why
            ));
        }
        for r in store::newest_by_kind(reg.reports.get(&v.id).map(Vec::as_slice).unwrap_or(&[])) {
            let current = parse_date(&r.valid_until).is_some_and(|d| d > today);
            if current && within(&r.valid_until, EXPIRY_DAYS) {
                lines.push(format!(
                    "{}: the {} expires {}",
                    v.name,
                    super::assurance_label(&r.kind),
                    r.valid_until
                ));
            }
        }
        if !lines.is_empty() {
            out.entry(owner).or_default().extend(lines);
        }
    }
    Ok(out)
}

pub async fn run(state: &AppState, now: time::OffsetDateTime) -> Result<usize, AppError> {
    let day = fmt_date(now.date());
    let due = due(state.db.pool(), now.date()).await?;
    let notices: Vec<Notice> = due
        .iter()
        .map(|(uid, lines)| Notice {
            key: format!("vendor.reminder:{uid}:{day}"),
            kind: "vendor.reminder",
            subject: format!("{} vendor date(s) coming up", lines.len()),
            body: format!("{}.", lines.join("; ")),
            link: paths::VENDORS.to_string(),
            to: vec![*uid],
        })
        .collect();
    remind(
        &state.db,
        &notices,
        now,
        "vendor.reminders",
        "vendor owner(s) of notice deadlines, reviews or reports coming due",
    )
    .await
}

/// Runs the reminders every `every` (hourly: one message a day each).
pub fn schedule(state: AppState, every: std::time::Duration) {
    reminders::every(state, every, "vendor reminders", |state, now| async move {
        run(&state, now).await
    });
}

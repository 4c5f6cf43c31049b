//! Request reminders: once a day, each assignee with requests due within three days or
//! overdue (open or returned) gets one message listing them, through the outbox. The key names
//! the assignee and the day, so another run the same day adds nothing.

use super::store::reference;
use crate::error::AppError;
use crate::notifications::{
    reminders::{self, remind},
    Notice,
};
use crate::state::AppState;
use crate::util::fmt_date;
use std::collections::BTreeMap;

/// Days before the due date at which a request is mentioned.
pub const DAYS_BEFORE: i64 = 3;

pub async fn run(state: &AppState, now: time::OffsetDateTime) -> Result<usize, AppError> {
    let today = now.date();
    let horizon = fmt_date(today + time::Duration::days(DAYS_BEFORE));
    let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT r.assignee_id, r.number, a.name, r.due_date, r.text FROM audit_requests r \
         JOIN audits a ON a.id = r.audit_id JOIN users u ON u.id = r.assignee_id \
         WHERE r.status IN ('open', 'returned') AND a.status <> 'closed' AND u.active = 1 \
         AND r.due_date <= $1 ORDER BY r.assignee_id, r.due_date, r.id",
    )
    .bind(&horizon)
    .fetch_all(state.db.pool())
    .await?;
    let day = fmt_date(today);
    let mut by_user: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (uid, number, audit, due, text) in rows {
        let when = if due < day {
            format!("overdue since {due}")
        } else {
            format!("due {due}")
        };
        let short: String = text.chars().take(80).collect();
        by_user
            .entry(uid)
            .or_default()
            .push(format!("{} ({audit}, {when}): {short}", reference(number)));
    }
    let notices: Vec<Notice> = by_user
        .iter()
        .map(|(uid, items)| Notice {
            key: format!("audit.reminder:{uid}:{day}"),
            kind: "audit.request",
            subject: format!("{} audit request(s) to answer", items.len()),
            body: format!("Due soon or overdue: {}.", items.join("; ")),
            link: crate::paths::AUDITS.to_string(),
            to: vec![*uid],
        })
        .collect();
    remind(
        &state.db,
        &notices,
        now,
        "audit.reminders",
        "user(s) of audit requests due soon or overdue",
    )
    .await
}

/// Runs the reminders every `every` (hourly: one message a day each).
pub fn schedule(state: AppState, every: std::time::Duration) {
    reminders::every(
        state,
        every,
        "audit request reminders",
        |state, now| async move { run(&state, now).await },
    );
}

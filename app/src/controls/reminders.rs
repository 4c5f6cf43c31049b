//! Evidence reminders: once a day, each control owner with controls whose evidence is due
//! soon or overdue gets one message listing them, through the notification outbox (in-app,
//! email, webhooks). The message's key names the owner and the day, so running again the same
//! day (another server, a restart) adds nothing.

use super::status::ControlStatus;
use super::{store, ControlFilter};
use crate::error::AppError;
use crate::notifications::{
    reminders::{self, remind},
    Notice,
};
use crate::state::AppState;
use crate::util::fmt_date;

/// Queues today's reminders; returns how many owners were reminded.
pub async fn run(state: &AppState, now: time::OffsetDateTime) -> Result<usize, AppError> {
    let pool = state.db.pool();
    let today = now.date();
    let st = store::statuses(pool, today).await?;
    let owners: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT c.owner_id FROM controls c JOIN users u ON u.id = c.owner_id
         WHERE u.active = 1 ORDER BY c.owner_id",
    )
    .fetch_all(pool)
    .await?;
    let mut notices = Vec::new();
    for owner in owners {
        let mine = ControlFilter {
            mine: true,
            ..ControlFilter::default()
        };
        let due: Vec<String> = store::list_controls(pool, &st, &mine, owner)
            .await?
            .into_iter()
            .filter(|c| matches!(c.status, ControlStatus::DueSoon | ControlStatus::Overdue))
            .map(|c| {
                format!(
                    "{} {} ({}{})",
                    c.r#ref,
                    c.title,
                    c.status.label().to_lowercase(),
                    c.next_due.map(|d| format!(", due {d}")).unwrap_or_default()
                )
            })
            .collect();
        if due.is_empty() {
            continue;
        }
        notices.push(Notice {
            key: format!("controls.reminder:{owner}:{}", fmt_date(today)),
            kind: "controls.reminder",
            subject: format!("{} control(s) need evidence", due.len()),
            body: format!("Evidence is due soon or overdue for: {}.", due.join("; ")),
            link: crate::paths::MY_CONTROLS.to_string(),
            to: vec![owner],
        });
    }
    remind(
        &state.db,
        &notices,
        now,
        "controls.reminders",
        "control owner(s) of evidence due soon or overdue",
    )
    .await
}

/// Runs the reminders every `every` (hourly: one message a day each).
pub fn schedule(state: AppState, every: std::time::Duration) {
    reminders::every(
        state,
        every,
        "evidence reminders",
        |state, now| async move { run(&state, now).await },
    );
}

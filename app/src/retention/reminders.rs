//! Retention reminders, once a day through the outbox, to whoever manages retention: records
//! whose disposal is due (and those a legal hold keeps), and rules whose review is due. One
//! message per person per day (the key names the person and the day).

use super::store;
use crate::error::AppError;
use crate::notifications::{
    reminders::{self, remind},
    Notice,
};
use crate::paths;
use crate::policy::{role_has, Permission, Role};
use crate::state::AppState;
use crate::util::fmt_date;

/// What the day's message says, or nothing when nothing is due.
pub async fn lines(pool: &sqlx::AnyPool, today: time::Date) -> Result<Vec<String>, AppError> {
    let (due, held, _) = store::counts(pool, today).await?;
    let mut out = Vec::new();
    if due > 0 {
        out.push(format!("{due} record(s) due for disposal"));
    }
    if held > 0 {
        out.push(format!("{held} due but kept by a legal hold"));
    }
    let reviews: Vec<String> = store::categories(pool, today)
        .await?
        .iter()
        .flat_map(|c| {
            c.rules
                .iter()
                .filter(|r| r.review_due)
                .map(move |r| format!("'{} / {}'", c.name, r.name))
        })
        .collect();
    if !reviews.is_empty() {
        out.push(format!("rule review due: {}", reviews.join(", ")));
    }
    Ok(out)
}

pub async fn run(state: &AppState, now: time::OffsetDateTime) -> Result<usize, AppError> {
    let pool = state.db.pool();
    let lines = lines(pool, now.date()).await?;
    if lines.is_empty() {
        return Ok(0);
    }
    let roles: Vec<&str> = Role::ALL
        .iter()
        .filter(|r| role_has(**r, Permission::ManageRetention))
        .map(|r| r.as_str())
        .collect();
    let users: Vec<(i64, String)> = sqlx::query_as("SELECT id, role FROM users WHERE active = 1")
        .fetch_all(pool)
        .await?;
    let day = fmt_date(now.date());
    let notices: Vec<Notice> = users
        .into_iter()
        .filter(|(_, role)| roles.contains(&role.as_str()))
        .map(|(uid, _)| Notice {
            key: format!("retention.reminder:{uid}:{day}"),
            kind: "retention.reminder",
            subject: "Retention: disposals or rule reviews due".into(),
            body: format!("{}.", lines.join("; ")),
            link: paths::RETENTION_DISPOSALS.to_string(),
            to: vec![uid],
        })
        .collect();
    remind(
        &state.db,
        &notices,
        now,
        "retention.reminders",
        "retention manager(s) of disposals and rule reviews due",
    )
    .await
}

/// Runs the reminders every `every` (hourly: one message a day each).
pub fn schedule(state: AppState, every: std::time::Duration) {
    reminders::every(
        state,
        every,
        "retention reminders",
        |state, now| async move { run(&state, now).await },
    );
}

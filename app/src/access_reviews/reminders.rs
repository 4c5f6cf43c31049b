//! Review reminders, once a day through the outbox: each reviewer with open entries in a
//! campaign due within three days (or overdue) gets one message; each overdue campaign's owner
//! gets the escalation naming who is behind; each assignee of open remediation items in a
//! campaign past its due date is reminded. Keys name the person (or campaign) and the day, so
//! another run the same day adds nothing.

use crate::error::AppError;
use crate::notifications::{
    reminders::{self, remind},
    Notice,
};
use crate::paths;
use crate::state::AppState;
use crate::util::fmt_date;
use std::collections::BTreeMap;

/// Days before the due date at which reviewers are reminded.
pub const DAYS_BEFORE: i64 = 3;

pub async fn run(state: &AppState, now: time::OffsetDateTime) -> Result<usize, AppError> {
    let pool = state.db.pool();
    let today = now.date();
    let day = fmt_date(today);
    let horizon = fmt_date(today + time::Duration::days(DAYS_BEFORE));
    let open: Vec<(i64, i64, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT e.reviewer_id, c.id, c.name, c.due_date, c.owner_id, COUNT(*), u.display_name || ' (' || u.username || ')' FROM access_entries e \
         JOIN access_campaigns c ON c.id = e.campaign_id JOIN users u ON u.id = e.reviewer_id \
         WHERE c.status = 'in_review' AND e.decision IS NULL AND c.due_date <= $1 AND u.active = 1 \
         GROUP BY e.reviewer_id, c.id, c.name, c.due_date, c.owner_id, u.display_name, u.username ORDER BY c.id, u.username",
    )
    .bind(&horizon)
    .fetch_all(pool)
    .await?;
    let mut reviewers: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut overdue: BTreeMap<(i64, i64), (String, String, Vec<String>)> = BTreeMap::new();
    for (reviewer, cid, name, due, owner, n, who) in open {
        let when = if due < day {
            format!("overdue since {due}")
        } else {
            format!("due {due}")
        };
        reviewers
            .entry(reviewer)
            .or_default()
            .push(format!("{n} in '{name}' ({when})"));
        if due < day {
            overdue
                .entry((cid, owner))
                .or_insert_with(|| (name.clone(), due.clone(), Vec::new()))
                .2
                .push(format!("{who} {n}"));
        }
    }
    let mut notices: Vec<Notice> = reviewers
        .iter()
        .map(|(uid, items)| Notice {
            key: format!("access.reminder:{uid}:{day}"),
            kind: "access.review",
            subject: "Access review entries to decide".into(),
            body: format!("Accounts waiting for your decision: {}.", items.join("; ")),
            link: paths::ACCESS_REVIEW.to_string(),
            to: vec![*uid],
        })
        .collect();
    let mut n = remind(
        &state.db,
        &notices,
        now,
        "access.reminders",
        "reviewer(s) with access review entries due soon or overdue",
    )
    .await?;
    notices = overdue
        .iter()
        .map(|((cid, owner), (name, due, behind))| Notice {
            key: format!("access.escalation:{cid}:{day}"),
            kind: "access.review",
            subject: format!("Overdue access review: {name}"),
            body: format!(
                "'{name}' was due {due}; undecided entries by reviewer: {}. Reassign them or follow up.",
                behind.join(", ")
            ),
            link: paths::access_campaign(*cid),
            to: vec![*owner],
        })
        .collect();
    n += remind(
        &state.db,
        &notices,
        now,
        "access.escalations",
        "campaign owner(s) of overdue access reviews",
    )
    .await?;
    let items: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT r.assignee_id, c.name, COUNT(*) FROM access_remediations r JOIN access_campaigns c ON c.id = r.campaign_id \
         JOIN users u ON u.id = r.assignee_id WHERE r.status = 'open' AND c.status = 'remediation' AND c.due_date < $1 \
         AND u.active = 1 GROUP BY r.assignee_id, c.name ORDER BY r.assignee_id, c.name",
    )
    .bind(&day)
    .fetch_all(pool)
    .await?;
    let mut by_user: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (uid, name, count) in items {
        by_user
            .entry(uid)
            .or_default()
            .push(format!("{count} in '{name}'"));
    }
    notices = by_user
        .iter()
        .map(|(uid, items)| Notice {
            key: format!("access.remediation:{uid}:{day}"),
            kind: "access.review",
            subject: "Access to remove or change".into(),
            body: format!(
                "Remediation items not yet verified by a later snapshot: {}.",
                items.join("; ")
            ),
            link: paths::ACCESS_REMEDIATION.to_string(),
            to: vec![*uid],
        })
        .collect();
    n += remind(
        &state.db,
        &notices,
        now,
        "access.remediation_reminders",
        "assignee(s) of open remediation items past the due date",
    )
    .await?;
    Ok(n)
}

/// Runs the reminders every `every` (hourly: one message a day each).
pub fn schedule(state: AppState, every: std::time::Duration) {
    reminders::every(
        state,
        every,
        "access review reminders",
        |state, now| async move { run(&state, now).await },
    );
}

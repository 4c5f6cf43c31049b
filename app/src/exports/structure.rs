//! A framework's shape as an export shows it: its requirements (those not retired before the
//! period), the controls mapped to them with their status, and the evidence attached to those
//! controls. Read inside the caller's snapshot; shared by the ZIP and the standalone SoA.

// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use crate::calendar::Period;
use crate::controls::status::Derived;
use crate::db::Db;
use crate::error::AppError;
use std::collections::{BTreeMap, HashMap};

pub struct Framework {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub version: String,
}

pub struct Requirement {
    pub id: i64,
    pub label: String,
    pub title: String,
    pub group: String,
    /// Mapped controls' ids, by control ref.
    pub controls: Vec<i64>,
    /// The Statement of Applicability excludes the requirement, for this reason.
    pub excluded: Option<String>,
}

pub struct Control {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub applicable: bool,
    pub justification: String,
    pub owner: String,
    /// The status on the period's last day (or at the head, when that comes first).
    pub status: Option<Derived>,
    /// Attached evidence ids.
    pub evidence: Vec<i64>,
}

pub struct Structure {
    pub requirements: Vec<Requirement>,
    pub controls: BTreeMap<i64, Control>,
    /// Evidence id → the refs of the framework's controls it is attached to.
    pub evidence_controls: BTreeMap<i64, Vec<String>>,
}

pub async fn read(
    tx: &mut sqlx::AnyConnection,
    framework_id: i64,
    period: &Period,
) -> Result<Structure, AppError> {
    let from = crate::calendar::midnight(period.start);
    // Requirements retired before the period began no longer spoke for it.
    // Headings only group requirements: they are not stated on.
    let reqs: Vec<(i64, String, String, String, i64, String)> = sqlx::query_as(
        "SELECT id, label, title, group_title, applicable, justification FROM requirements \
         WHERE framework_id = $1 AND (retired_at IS NULL OR retired_at >= $2) \
         AND assessable = 1 ORDER BY sort_order, id",
    )
    .bind(framework_id)
    .bind(&from)
    .fetch_all(&mut *tx)
    .await?;
    let maps: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT cr.requirement_id, cr.control_id FROM control_requirements cr \
         JOIN requirements r ON r.id = cr.requirement_id WHERE r.framework_id = $1",
    )
    .bind(framework_id)
    .fetch_all(&mut *tx)
    .await?;
    let ctl_rows: Vec<(i64, String, String, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT DISTINCT c.id, c.ref, c.title, c.applicable, c.justification, u.display_name \
         FROM controls c JOIN control_requirements cr ON cr.control_id = c.id \
         JOIN requirements r ON r.id = cr.requirement_id \
         LEFT JOIN users u ON u.id = c.owner_id WHERE r.framework_id = $1",
    )
    .bind(framework_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut controls: BTreeMap<i64, Control> = ctl_rows
        .into_iter()
        .map(|(id, reference, title, applicable, justification, owner)| {
            let c = Control {
                id,
                reference,
                title,
                applicable: applicable == 1,
                justification,
                owner: owner.unwrap_or_default(),
                status: None,
                evidence: Vec::new(),
            };
            (id, c)
        })
        .collect();
    let links: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT ec.evidence_id, ec.control_id FROM evidence_controls ec \
         JOIN control_requirements cr ON cr.control_id = ec.control_id \
         JOIN requirements r ON r.id = cr.requirement_id WHERE r.framework_id = $1",
    )
    .bind(framework_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut evidence_controls: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (eid, cid) in &links {
        if let Some(c) = controls.get_mut(cid) {
            c.evidence.push(*eid);
            evidence_controls
                .entry(*eid)
                .or_default()
                .push(c.reference.clone());
        }
    }
    for c in controls.values_mut() {
        c.evidence.sort_unstable();
        c.evidence.dedup();
    }
    for refs in evidence_controls.values_mut() {
        refs.sort();
        refs.dedup();
    }
    let mut by_req: HashMap<i64, Vec<i64>> = HashMap::new();
    for (rid, cid) in maps {
        by_req.entry(rid).or_default().push(cid);
    }
    let requirements = reqs
        .into_iter()
        .map(|(id, label, title, group, applicable, why)| {
            let mut ids = by_req.remove(&id).unwrap_or_default();
            ids.sort_by(|a, b| {
                let r = |i: &i64| controls.get(i).map(|c| c.reference.clone());
                r(a).cmp(&r(b))
            });
            ids.dedup();
            Requirement {
                id,
                label,
                title,
                group,
                controls: ids,
                excluded: (applicable == 0).then_some(why),
            }
        })
        .collect();
    Ok(Structure {
        requirements,
        controls,
        evidence_controls,
    })
}

/// Each control's status on the period's last day, or on the day of `as_of_at` when earlier.
pub async fn statuses(
    db: &Db,
    period: &Period,
    as_of_at: &str,
    controls: &mut BTreeMap<i64, Control>,
) -> Result<(), AppError> {
    let last_day = period.end.previous_day().unwrap_or(period.end);
    let head_day = crate::util::parse_ts(as_of_at).map(|t| t.date());
    let day = head_day.map_or(last_day, |h| h.min(last_day));
    let all = crate::controls::store::statuses(db.pool(), day).await?;
    for c in controls.values_mut() {
        c.status = all.get(&c.id).copied();
    }
    Ok(())
}

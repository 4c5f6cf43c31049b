//! Retention's reads: categories with where they are held and their rules, tracked records,
//! and the legal holds in force with their scopes (asked by every place that shows data).

use super::schedule::{in_force, HoldScope, Place};
use super::*;
use crate::calendar::IsoDuration;
use crate::util::parse_date;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use time::Date;

/// A hold in force, with its scope lines.
#[derive(Debug, Clone)]
pub struct ActiveHold {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<HoldScope>,
}

impl ActiveHold {
    pub fn covers(&self, p: &Place) -> bool {
        self.scopes.iter().any(|s| s.covers(p))
    }
}

/// The names of the holds among `holds` that cover `p`.
pub fn covering(holds: &[ActiveHold], p: &Place) -> Vec<String> {
    holds
        .iter()
        .filter(|h| h.covers(p))
        .map(|h| h.name.clone())
        .collect()
}

type ScopeRow = (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// Every legal hold in force on `today`.
pub async fn holds_in_force(
    conn: &mut sqlx::AnyConnection,
    today: Date,
) -> Result<Vec<ActiveHold>, sqlx::Error> {
    let holds: Vec<(i64, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, name, starts_on, released_at FROM legal_holds ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    let scopes: Vec<ScopeRow> = sqlx::query_as(
        "SELECT hold_id, category_id, system_id, vendor_id, record_id FROM legal_hold_scopes",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_hold: BTreeMap<i64, Vec<HoldScope>> = BTreeMap::new();
    for (hold, category, system, vendor, record) in scopes {
        by_hold.entry(hold).or_default().push(HoldScope {
            category,
            system,
            vendor,
            record,
        });
    }
    Ok(holds
        .into_iter()
        .filter(|(_, _, start, released)| {
            let start = parse_date(start).unwrap_or(Date::MAX);
            let released = released.as_deref().and_then(|r| parse_date(r.get(..10)?));
            in_force(start, released, today)
        })
        .map(|(id, name, ..)| ActiveHold {
            id,
            name,
            scopes: by_hold.remove(&id).unwrap_or_default(),
        })
        .collect())
}

/// Holds in force on a vendor or a system (directly, or on a category held there): what that
/// data's own page shows.
pub async fn holds_on(
    pool: &AnyPool,
    today: Date,
    system: Option<i64>,
    vendor: Option<i64>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let holds = holds_in_force(&mut conn, today).await?;
    let categories: Vec<i64> = sqlx::query_scalar(
        "SELECT category_id FROM retention_locations WHERE system_id = $1 OR vendor_id = $2",
    )
    .bind(system.unwrap_or(-1))
    .bind(vendor.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = covering(
        &holds,
        &Place {
            system,
            vendor,
            ..Place::default()
        },
    );
    for c in categories {
        for h in covering(
            &holds,
            &Place {
                category: Some(c),
                ..Place::default()
            },
        ) {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    Ok(out)
}

/// "system:3" / "vendor:7" → (system, vendor); empty → (None, None).
pub fn parse_place(raw: &str) -> Result<(Option<i64>, Option<i64>), String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok((None, None));
    }
    let (kind, id) = raw
        .split_once(':')
        .ok_or_else(|| format!("'{raw}' names no system or vendor"))?;
    let id: i64 = id
        .parse()
        .map_err(|_| format!("'{raw}' names no system or vendor"))?;
    match kind {
        "system" => Ok((Some(id), None)),
        "vendor" => Ok((None, Some(id))),
        _ => Err(format!("'{raw}' names no system or vendor")),
    }
}

/// Systems and vendors, for "held in" choices.
pub async fn places(pool: &AnyPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    let systems: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM systems ORDER BY name")
        .fetch_all(pool)
        .await?;
    let vendors: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM vendors ORDER BY name")
        .fetch_all(pool)
        .await?;
    Ok(systems
        .into_iter()
        .map(|(id, n)| (format!("system:{id}"), format!("System: {n}")))
        .chain(
            vendors
                .into_iter()
                .map(|(id, n)| (format!("vendor:{id}"), format!("Vendor: {n}"))),
        )
        .collect())
}

type RuleRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// When a rule is next to be reviewed: its cadence after the last review (or its creation).
pub fn next_review(review_every: &str, last: Option<&str>, created: &str) -> Option<Date> {
    let from = parse_date(last.unwrap_or(created).get(..10)?)?;
    Some(IsoDuration::parse(review_every).ok()?.after(from))
}

/// The whole schedule: categories, where each is held, its rules and the holds on it.
pub async fn categories(pool: &AnyPool, today: Date) -> Result<Vec<CategoryView>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let holds = holds_in_force(&mut conn, today).await?;
    let cats: Vec<(i64, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, name, description, builtin, personal FROM retention_categories \
         ORDER BY CASE WHEN builtin IS NULL THEN 0 ELSE 1 END, name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let locations: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "SELECT l.category_id, 'system', s.id, s.name FROM retention_locations l \
           JOIN systems s ON s.id = l.system_id \
         UNION ALL SELECT l.category_id, 'vendor', v.id, v.name FROM retention_locations l \
           JOIN vendors v ON v.id = l.vendor_id ORDER BY 4",
    )
    .fetch_all(&mut *conn)
    .await?;
    let rules: Vec<RuleRow> = sqlx::query_as(
        "SELECT r.id, r.category_id, r.name, r.period, r.trigger_event, r.legal_basis, \
            r.reference, r.action, r.review_every, r.last_reviewed, r.created_at \
         FROM retention_rules r ORDER BY r.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let counts: BTreeMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT rule_id, COUNT(*) FROM retention_records WHERE status <> 'disposed' \
         GROUP BY rule_id",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    Ok(cats
        .into_iter()
        .map(|(id, name, description, builtin, personal)| CategoryView {
            locations: locations
                .iter()
                .filter(|l| l.0 == id)
                .map(|(_, k, i, n)| (k.clone(), *i, n.clone()))
                .collect(),
            rules: rules
                .iter()
                .filter(|r| r.1 == id)
                .map(|r| {
                    let next = next_review(&r.8, r.9.as_deref(), &r.10);
                    RuleView {
                        id: r.0,
                        category_id: r.1,
                        name: r.2.clone(),
                        period: r.3.clone(),
                        trigger: r.4.clone(),
                        legal_basis: r.5.clone(),
                        reference: r.6.clone(),
                        action: r.7.clone(),
                        review_every: r.8.clone(),
                        last_reviewed: r.9.clone(),
                        next_review: next.map(crate::util::fmt_date).unwrap_or_default(),
                        review_due: next.is_some_and(|n| n <= today),
                        records: counts.get(&r.0).copied().unwrap_or(0),
                    }
                })
                .collect(),
            holds: covering(
                &holds,
                &Place {
                    category: Some(id),
                    ..Place::default()
                },
            ),
            id,
            name,
            description,
            builtin,
            personal: personal != 0,
        })
        .collect())
}

/// A tracked record as read for the queue.
#[derive(Debug, Clone)]
pub struct Record {
    pub view: RecordView,
    pub place: Place,
    pub rule_id: i64,
}

/// Every tracked record (disposed ones last, newest first), with the holds on each.
pub async fn records(
    conn: &mut sqlx::AnyConnection,
    today: Date,
    only: Option<i64>,
) -> Result<Vec<Record>, sqlx::Error> {
    let holds = holds_in_force(&mut *conn, today).await?;
    records_under(conn, &holds, only).await
}

/// The records (all, or `only` one) with the names of the `holds` that cover each.
async fn records_under(
    conn: &mut sqlx::AnyConnection,
    holds: &[ActiveHold],
    only: Option<i64>,
) -> Result<Vec<Record>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.id, r.description, r.rule_id, ru.name AS rule, ru.action, ru.category_id, \
            c.name AS category, r.system_id, r.vendor_id, s.name AS system, v.name AS vendor, \
            r.trigger_date, r.disposal_date, r.status, ua.display_name AS approver, \
            d.disposed_at, up.display_name AS performer, d.evidence_id \
         FROM retention_records r \
         JOIN retention_rules ru ON ru.id = r.rule_id \
         JOIN retention_categories c ON c.id = ru.category_id \
         LEFT JOIN systems s ON s.id = r.system_id \
         LEFT JOIN vendors v ON v.id = r.vendor_id \
         LEFT JOIN users ua ON ua.id = r.approved_by \
         LEFT JOIN retention_disposals d ON d.record_id = r.id \
         LEFT JOIN users up ON up.id = d.performed_by \
         WHERE ($1 < 0 OR r.id = $1) \
         ORDER BY r.disposal_date, r.id",
    )
    .bind(only.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        use sqlx::Row;
        let id: i64 = row.try_get("id")?;
        let system: Option<String> = row.try_get("system")?;
        let vendor: Option<String> = row.try_get("vendor")?;
        let place = Place {
            record: Some(id),
            category: Some(row.try_get("category_id")?),
            system: row.try_get("system_id")?,
            vendor: row.try_get("vendor_id")?,
        };
        let status: String = row.try_get("status")?;
        let holds = if status == "disposed" {
            Vec::new()
        } else {
            covering(holds, &place)
        };
        out.push(Record {
            rule_id: row.try_get("rule_id")?,
            place,
            view: RecordView {
                id,
                description: row.try_get("description")?,
                category: row.try_get("category")?,
                rule: row.try_get("rule")?,
                action: row.try_get("action")?,
                held_in: system
                    .map(|s| format!("System: {s}"))
                    .or(vendor.map(|v| format!("Vendor: {v}")))
                    .unwrap_or_default(),
                trigger_date: row.try_get("trigger_date")?,
                disposal_date: row.try_get("disposal_date")?,
                status,
                approved_by: row.try_get("approver")?,
                holds,
                disposed_at: row.try_get("disposed_at")?,
                performed_by: row.try_get("performer")?,
                certificate: row.try_get("evidence_id")?,
            },
        });
    }
    Ok(out)
}

/// Disposals due now and free of holds, and holds in force: the dashboard's figures.
pub async fn counts(pool: &AnyPool, today: Date) -> Result<(i64, i64, i64), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let holds = holds_in_force(&mut conn, today).await?;
    let day = crate::util::fmt_date(today);
    let recs = records_under(&mut conn, &holds, None).await?;
    let due = recs
        .iter()
        .filter(|r| r.view.status != "disposed" && r.view.disposal_date <= day);
    let (held, free): (Vec<_>, Vec<_>) = due.partition(|r| !r.view.holds.is_empty());
    Ok((free.len() as i64, held.len() as i64, holds.len() as i64))
}

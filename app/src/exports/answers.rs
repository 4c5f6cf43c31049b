//! An audit's export: its scope (the audit's period, one of its frameworks), and the answered
//! requests it adds (`requests.csv`, with every evidence version attached to them).

// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use super::scope::{evidence_path, Scope};
use super::versions::{versions_of, Version};
use crate::error::AppError;
use crate::util::csv_cell;
use std::collections::BTreeSet;

/// A request of the audit as the export shows it.
pub struct Answer {
    pub reference: String,
    pub text: String,
    pub status: String,
    pub due: String,
    pub requirement: String,
    pub control: String,
    pub sample_item: String,
    /// (evidence id, version), in order.
    pub evidence: Vec<(i64, i64)>,
    /// "author (action, at): body", oldest first.
    pub thread: Vec<String>,
}

/// The scope of audit `audit_id`'s export: its period, and `framework` (or its only one).
pub async fn audit_scope(
    pool: &sqlx::AnyPool,
    audit_id: i64,
    framework: &str,
) -> Result<Scope, AppError> {
    let audit = crate::audits::store::audit(pool, audit_id)
        .await?
        .ok_or_else(|| AppError::Missing("audit: no such audit".into()))?;
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT f.key FROM audit_frameworks af JOIN frameworks f ON f.id = af.framework_id \
         WHERE af.audit_id = $1 ORDER BY f.key",
    )
    .bind(audit_id)
    .fetch_all(pool)
    .await?;
    let framework = match framework.trim() {
        "" if keys.len() == 1 => keys[0].clone(),
        "" => {
            return Err(AppError::Invalid(format!(
                "framework: the audit covers {}: choose one",
                keys.join(", ")
            )))
        }
        k if keys.iter().any(|x| x == k) => k.to_string(),
        k => {
            return Err(AppError::Invalid(format!(
                "framework: '{k}' is not one of the audit's frameworks ({})",
                keys.join(", ")
            )))
        }
    };
    Ok(Scope {
        framework,
        period: audit.period,
        audit: Some(audit_id),
    })
}

/// The audit's requests, and the attached evidence versions not already in `have`.
pub async fn read(
    tx: &mut sqlx::AnyConnection,
    audit_id: i64,
    have: &BTreeSet<(i64, i64)>,
) -> Result<(Vec<Answer>, Vec<Version>), AppError> {
    let rows: Vec<(
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
    )> = sqlx::query_as(
        "SELECT r.id, r.number, r.text, r.status, r.due_date, COALESCE(q.label, ''), \
             COALESCE(c.ref, ''), r.sample_item FROM audit_requests r \
             LEFT JOIN requirements q ON q.id = r.requirement_id \
             LEFT JOIN controls c ON c.id = r.control_id \
             WHERE r.audit_id = $1 ORDER BY r.number",
    )
    .bind(audit_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut answers = Vec::with_capacity(rows.len());
    let mut wanted: BTreeSet<(i64, i64)> = BTreeSet::new();
    for (id, number, text, status, due, requirement, control, sample_item) in rows {
        let evidence: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT evidence_id, version FROM audit_request_evidence WHERE request_id = $1 \
             ORDER BY evidence_id, version",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let thread: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT u.display_name, m.action, m.at, m.body FROM audit_request_comments m \
             JOIN users u ON u.id = m.author_id WHERE m.request_id = $1 ORDER BY m.id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        wanted.extend(evidence.iter().filter(|k| !have.contains(k)));
        answers.push(Answer {
            reference: crate::audits::store::reference(number),
            text,
            status,
            due,
            requirement,
            control,
            sample_item: sample_item.unwrap_or_default(),
            evidence,
            thread: thread
                .into_iter()
                .map(|(who, action, at, body)| format!("{who} ({action}, {at}): {body}"))
                .collect(),
        });
    }
    let mut extra = Vec::new();
    let items: BTreeSet<i64> = wanted.iter().map(|(e, _)| *e).collect();
    for eid in items {
        let all = versions_of(tx, eid, &[]).await?;
        extra.extend(
            all.into_iter()
                .filter(|v| wanted.contains(&(v.evidence_id, v.version))),
        );
    }
    Ok((answers, extra))
}

/// `requests.csv`: one row per request, its evidence as archive paths (or links).
pub fn requests_csv(answers: &[Answer], versions: &[Version]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record([
        "request",
        "text",
        "status",
        "due",
        "requirement",
        "control",
        "sample_item",
        "evidence",
        "thread",
    ]);
    for a in answers {
        let evidence: Vec<String> = a
            .evidence
            .iter()
            .map(|(e, v)| {
                versions
                    .iter()
                    .find(|x| x.evidence_id == *e && x.version == *v)
                    .map(|x| match (&x.sha256, &x.url) {
                        (Some(_), _) => evidence_path(*e, *v, &x.filename),
                        (None, Some(url)) => url.clone(),
                        _ => format!("#{e} v{v}"),
                    })
                    .unwrap_or_else(|| format!("#{e} v{v}"))
            })
            .collect();
        let row = [
            a.reference.clone(),
            a.text.clone(),
            a.status.clone(),
            a.due.clone(),
            a.requirement.clone(),
            a.control.clone(),
            a.sample_item.clone(),
            evidence.join("; "),
            a.thread.join(" | "),
        ];
        let _ = w.write_record(row.iter().map(|c| csv_cell(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

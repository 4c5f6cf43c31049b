//! Samples: the populations they are drawn from, and the samples drawn.

use super::super::SampleView;
use super::audits::Audit;
use crate::db::WriteTx;
use crate::error::AppError;
use sqlx::AnyPool;

/// One member of a population: its key and the control a request about it concerns.
pub struct Member {
    pub key: String,
    pub control_id: Option<i64>,
    pub label: String,
}

/// The population's members (any order; the draw sorts).
pub async fn population(
    pool: &AnyPool,
    audit: &Audit,
    kind: &str,
) -> Result<Vec<Member>, AppError> {
    let (start, end) = (audit.period.start.to_string(), audit.period.end.to_string());
    match kind {
        "evidence_versions" => {
            // Each version once, with the first of its controls mapped to the audit's frameworks.
            let rows: Vec<(i64, i64, i64, String, String)> = sqlx::query_as(
                "SELECT v.evidence_id, v.version, MIN(ec.control_id), e.title, v.effective_date \
                 FROM evidence_versions v JOIN evidence e ON e.id = v.evidence_id \
                 JOIN evidence_controls ec ON ec.evidence_id = v.evidence_id \
                 JOIN control_requirements cr ON cr.control_id = ec.control_id \
                 JOIN requirements r ON r.id = cr.requirement_id \
                 JOIN audit_frameworks af ON af.framework_id = r.framework_id AND af.audit_id = $1 \
                 WHERE v.effective_date >= $2 AND v.effective_date < $3 \
                 GROUP BY v.evidence_id, v.version, e.title, v.effective_date",
            )
            .bind(audit.id)
            .bind(&start)
            .bind(&end)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(e, v, c, title, eff)| Member {
                    key: format!("evidence/{e}/v{v}"),
                    control_id: Some(c),
                    label: format!("evidence #{e} version {v} “{title}” (effective {eff})"),
                })
                .collect())
        }
        "budget_attestations" => {
            let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
                "SELECT a.budget_id, a.period_start, b.name, a.statement FROM budget_attestations a \
                 JOIN budgets b ON b.id = a.budget_id \
                 WHERE a.period_start >= $1 AND a.period_start < $2",
            )
            .bind(&start)
            .bind(&end)
            .fetch_all(pool)
            .await?;
            let control: Option<i64> =
                sqlx::query_scalar("SELECT attestation_control_id FROM organisation WHERE id = 1")
                    .fetch_optional(pool)
                    .await?
                    .flatten();
            Ok(rows
                .into_iter()
                .map(|(b, p, name, statement)| Member {
                    key: format!("budget/{b}/{p}"),
                    control_id: control,
                    label: format!(
                        "the attestation of budget “{name}” for the period from {p} ({statement})"
                    ),
                })
                .collect())
        }
        other => Err(AppError::Invalid(format!(
            "population: '{other}' is not one of evidence_versions, budget_attestations"
        ))),
    }
}

pub struct NewSample<'a> {
    pub audit_id: i64,
    pub population: &'a str,
    pub population_size: i64,
    pub population_sha256: &'a str,
    pub seed: &'a str,
    pub items: &'a [String],
}

pub async fn insert_sample(
    tx: &mut WriteTx,
    s: &NewSample<'_>,
    by: i64,
    at: &str,
) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO audit_samples (audit_id, population, population_size, population_sha256, size, \
         seed, items, drawn_by, drawn_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(s.audit_id)
    .bind(s.population)
    .bind(s.population_size)
    .bind(s.population_sha256)
    .bind(s.items.len() as i64)
    .bind(s.seed)
    .bind(s.items.join("\n"))
    .bind(by)
    .bind(at)
    .fetch_one(tx.conn())
    .await?)
}

pub async fn samples(pool: &AnyPool, audit_id: i64) -> Result<Vec<SampleView>, AppError> {
    let rows: Vec<(i64, String, i64, String, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT s.id, s.population, s.population_size, s.population_sha256, s.size, s.seed, s.items, \
         u.display_name, s.drawn_at FROM audit_samples s JOIN users u ON u.id = s.drawn_by \
         WHERE s.audit_id = $1 ORDER BY s.id",
    )
    .bind(audit_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                population,
                population_size,
                population_sha256,
                size,
                seed,
                items,
                drawn_by,
                drawn_at,
            )| {
                SampleView {
                    id,
                    population,
                    population_size,
                    population_sha256,
                    size,
                    seed,
                    items: items
                        .lines()
                        .map(str::to_string)
                        .filter(|s| !s.is_empty())
                        .collect(),
                    drawn_by,
                    drawn_at,
                }
            },
        )
        .collect())
}

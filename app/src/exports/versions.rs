//! Evidence versions as an export shows them, read one evidence item at a time.

use crate::calendar::Period;
use crate::error::AppError;
use crate::util::parse_date;
use sqlx::Row;

pub struct Version {
    pub evidence_id: i64,
    pub title: String,
    pub version: i64,
    pub effective_date: String,
    pub covers: Option<Period>,
    pub sha256: Option<String>,
    pub filename: String,
    pub size: u64,
    pub url: Option<String>,
    pub uploaded_by: String,
    pub uploaded_at: String,
    pub test_result: Option<String>,
    /// Control refs (within the framework) the evidence is attached to.
    pub controls: Vec<String>,
}

/// Every version of one evidence item, oldest first; `refs` are the controls it is shown under.
pub async fn versions_of(
    tx: &mut sqlx::AnyConnection,
    eid: i64,
    refs: &[String],
) -> Result<Vec<Version>, AppError> {
    let rows = sqlx::query(
        "SELECT e.title, v.version, v.effective_date, v.period_start, v.period_end, \
         v.sha256, v.filename, v.size_bytes, v.url, u.display_name AS uploader, \
         v.uploaded_at, v.test_result \
         FROM evidence_versions v JOIN evidence e ON e.id = v.evidence_id \
         LEFT JOIN users u ON u.id = v.uploaded_by \
         WHERE v.evidence_id = $1 ORDER BY v.version",
    )
    .bind(eid)
    .fetch_all(&mut *tx)
    .await?;
    let mut all = Vec::with_capacity(rows.len());
    for r in &rows {
        let covers = match (
            r.try_get::<Option<String>, _>("period_start")?,
            r.try_get::<Option<String>, _>("period_end")?,
        ) {
            (Some(s), Some(e)) => parse_date(&s)
                .zip(parse_date(&e))
                .and_then(|(s, e)| Period::new(s, e)),
            _ => None,
        };
        all.push(Version {
            evidence_id: eid,
            title: r.try_get("title")?,
            version: r.try_get("version")?,
            effective_date: r.try_get("effective_date")?,
            covers,
            sha256: r.try_get("sha256")?,
            filename: r
                .try_get::<Option<String>, _>("filename")?
                .unwrap_or_else(|| "evidence".into()),
            size: r
                .try_get::<Option<i64>, _>("size_bytes")?
                .unwrap_or(0)
                .max(0) as u64,
            url: r.try_get("url")?,
            uploaded_by: r
                .try_get::<Option<String>, _>("uploader")?
                .unwrap_or_default(),
            uploaded_at: r.try_get("uploaded_at")?,
            test_result: r.try_get("test_result")?,
            controls: refs.to_vec(),
        });
    }
    Ok(all)
}

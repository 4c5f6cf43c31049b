//! The import history for the cost data page (the reports read the cube).

use crate::costs::BatchRow;
use sqlx::AnyPool;

// Rows are read as a tuple in the order the query selects them.
#[allow(clippy::type_complexity)]
pub async fn batches(pool: &AnyPool) -> Result<Vec<BatchRow>, sqlx::Error> {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        Option<String>,
        Option<String>,
        String,
        String,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, source_kind, source_name, sha256, format, imported_by, imported_at,
                rows_read, rows_accepted, rows_rejected, period_start, period_end, totals,
                status, replaced_by
         FROM cost_batches ORDER BY id DESC LIMIT 200",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BatchRow {
            id: r.0,
            source_kind: r.1,
            source_name: r.2,
            sha256: r.3,
            format: r.4,
            imported_by: r.5,
            imported_at: r.6,
            rows_read: r.7,
            rows_accepted: r.8,
            rows_rejected: r.9,
            period_start: r.10,
            period_end: r.11,
            totals: r.12,
            status: r.13,
            replaced_by: r.14,
        })
        .collect())
}

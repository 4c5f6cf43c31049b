//! Evidence Steward writes itself (a budget attestation, an access review's report): the
//! document is stored as a blob first, then one call records the evidence, its links to
//! controls and its first and only version in the caller's transaction.

use crate::db::WriteTx;
use crate::error::AppError;

pub struct Generated<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub controls: &'a [i64],
    /// The committed blob's content hash and size.
    pub sha256: &'a str,
    pub size: i64,
    pub filename: &'a str,
    pub media_type: &'a str,
    /// The date the evidence speaks for, and the period [start, end) it covers.
    pub effective: &'a str,
    pub period: (&'a str, &'a str),
    pub note: &'a str,
    pub by: i64,
    pub at: &'a str,
}

/// Stores a generated document in the blob store (before any write lock): (SHA-256, size).
pub async fn store(
    blobs: &dyn crate::evidence::blobs::BlobStore,
    doc: Vec<u8>,
) -> Result<(String, i64), AppError> {
    let size = doc.len() as i64;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from(doc))]);
    let staged = blobs
        .put_stream(Box::pin(body))
        .await
        .map_err(AppError::internal)?;
    let sha = staged.sha256().to_string();
    staged.commit().await.map_err(AppError::internal)?;
    Ok((sha, size))
}

/// Records the evidence; its id.
pub async fn record(tx: &mut WriteTx, g: &Generated<'_>) -> Result<i64, AppError> {
    let evidence: i64 = sqlx::query_scalar(
        "INSERT INTO evidence (title, description, kind, created_by, created_at, updated_at)
         VALUES ($1, $2, 'file', $3, $4, $4) RETURNING id",
    )
    .bind(g.title)
    .bind(g.description)
    .bind(g.by)
    .bind(g.at)
    .fetch_one(tx.conn())
    .await?;
    for cid in g.controls {
        sqlx::query(
            "INSERT INTO evidence_controls (evidence_id, control_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(evidence)
        .bind(cid)
        .bind(g.at)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query(
        "INSERT INTO blobs (sha256, size_bytes, media_type, stored_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(g.sha256)
    .bind(g.size)
    .bind(g.media_type)
    .bind(g.at)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO evidence_versions (evidence_id, version, effective_date, period_start,
            period_end, sha256, filename, media_type, size_bytes, note, uploaded_by, uploaded_at)
         VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(evidence)
    .bind(g.effective)
    .bind(g.period.0)
    .bind(g.period.1)
    .bind(g.sha256)
    .bind(g.filename)
    .bind(g.media_type)
    .bind(g.size)
    .bind(g.note)
    .bind(g.by)
    .bind(g.at)
    .execute(tx.conn())
    .await?;
    Ok(evidence)
}

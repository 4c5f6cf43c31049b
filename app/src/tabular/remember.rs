//! Column mappings remembered by the file's headers: the next file with the same columns (the
//! same export, a month later) opens its mapping step with the mapping chosen last time.

use crate::db::WriteTx;
use crate::error::AppError;
use sqlx::AnyPool;
use std::collections::BTreeMap;

/// The headers as one key: trimmed, lower case, in order (hashed to bound its length).
pub fn header_key(headers: &[String]) -> String {
    let joined = headers
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join("\u{1f}");
    crate::util::sha256_hex(joined.as_bytes())
}

/// The mapping (field → header) chosen last for files of `kind` with these headers, keeping
/// only headers the file still has.
pub async fn recall(
    pool: &AnyPool,
    kind: &str,
    headers: &[String],
) -> Result<Option<BTreeMap<String, String>>, AppError> {
    let saved: Option<String> = sqlx::query_scalar(
        "SELECT mapping FROM column_mappings WHERE kind = $1 AND header_key = $2",
    )
    .bind(kind)
    .bind(header_key(headers))
    .fetch_optional(pool)
    .await?;
    Ok(saved
        .and_then(|m| serde_json::from_str::<BTreeMap<String, String>>(&m).ok())
        .map(|m| {
            m.into_iter()
                .filter(|(_, h)| headers.iter().any(|x| x.trim() == h.trim()))
                .collect()
        }))
}

/// Remembers the mapping used, inside the import's own transaction (its audit event covers it).
pub async fn keep(
    tx: &mut WriteTx,
    kind: &str,
    headers: &[String],
    mapping: &BTreeMap<String, String>,
    at: &str,
) -> Result<(), AppError> {
    let json = serde_json::to_string(mapping).map_err(AppError::internal)?;
    sqlx::query(
        "INSERT INTO column_mappings (kind, header_key, mapping, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, header_key) DO UPDATE SET mapping = excluded.mapping,
             updated_at = excluded.updated_at",
    )
    .bind(kind)
    .bind(header_key(headers))
    .bind(json)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

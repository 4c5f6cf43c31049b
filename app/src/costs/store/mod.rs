//! The one writer of `cost_line_items` and the rollups, shared by the file importer
//! (`costs::import`) and the AWS Cost Explorer sync (`costs::sync`): line items go in through
//! the dialect's bulk path (`rows`), rollups are folded from the same line items (`rollup`)
//! and written the same way, and older data gives way by batch id range. `batches` reads
//! the import history for the cost data page.
//!
//! Everything runs inside the caller's `NativeWriteTx` (one transaction with its audit
//! events): an error or a dropped future leaves nothing behind.

mod batches;
mod rollup;
mod rows;

pub use batches::batches;

pub use rollup::Sums;
pub(crate) use rollup::{totals_json, Rollup, TagRow};
pub(crate) use rows::{pack_line_item, Packed, Packer, LINE_ITEM_COLUMNS};

use crate::db::{fetch_int, Arg, Dialect, NativeWriteTx, Sql};
use std::collections::BTreeSet;

/// Writes one batch's line items, then its rollups. Writers are serialised (the chain head
/// lock), so every line item above `id_before` is this batch's.
pub(crate) struct BatchWriter {
    pub(crate) batch_id: i64,
    dialect: Dialect,
    id_before: i64,
    /// Line items written so far.
    pub(crate) stored: u64,
}

impl BatchWriter {
    pub(crate) async fn start(
        w: &mut NativeWriteTx,
        dialect: Dialect,
        batch_id: i64,
    ) -> Result<BatchWriter, sqlx::Error> {
        let id_before = fetch_int(
            w.sql(),
            "SELECT COALESCE(MAX(id), 0) FROM cost_line_items",
            &[],
        )
        .await?
        .unwrap_or(0);
        Ok(BatchWriter {
            batch_id,
            dialect,
            id_before,
            stored: 0,
        })
    }

    /// A packer for this batch's line items.
    pub(crate) fn packer(&self, rows_hint: usize) -> Packer {
        line_item_packer(self.dialect, self.batch_id, rows_hint)
    }

    pub(crate) async fn line_items(
        &mut self,
        w: &mut NativeWriteTx,
        rows: Packed,
    ) -> Result<(), sqlx::Error> {
        let n = rows.rows() as u64;
        rows::insert_rows(w, "cost_line_items", LINE_ITEM_COLUMNS, self.batch_id, rows).await?;
        self.stored += n;
        Ok(())
    }

    /// Writes the rollups and records the batch's line item id range.
    pub(crate) async fn finish(
        self,
        w: &mut NativeWriteTx,
        acc: std::sync::Arc<Rollup>,
    ) -> Result<(), sqlx::Error> {
        rollup::insert_rollups(w, self.dialect, self.batch_id, acc).await?;
        let (first, last) = item_range(w.sql(), self.id_before).await?;
        w.sql()
            .execute_args(
                "UPDATE cost_batches SET first_item_id = $1, last_item_id = $2 WHERE id = $3",
                &[
                    Arg::OptInt(first),
                    Arg::OptInt(last),
                    Arg::Int(self.batch_id),
                ],
            )
            .await?;
        Ok(())
    }
}

/// A packer for line items of `batch_id` (for threads that pack before the writer exists).
pub(crate) fn line_item_packer(dialect: Dialect, batch_id: i64, rows_hint: usize) -> Packer {
    Packer::new(dialect, batch_id, LINE_ITEM_COLUMNS.len() - 1, rows_hint)
}

/// The id range of the line items inserted after `id_before` (all this batch's).
async fn item_range(
    conn: &mut dyn Sql,
    id_before: i64,
) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    // Two primary-key seeks: line items have no batch index (it slowed every insert).
    let first = fetch_int(
        conn,
        "SELECT MIN(id) FROM cost_line_items WHERE id > $1",
        &[Arg::Int(id_before)],
    )
    .await?;
    let last = fetch_int(conn, "SELECT MAX(id) FROM cost_line_items", &[]).await?;
    Ok((first, last.filter(|_| first.is_some())))
}

/// Deletes line items of batch `batch` matching `condition` (parameters from `$4` on), by the
/// batch's id range: a primary-key range scan instead of an index on batch_id.
async fn delete_line_items(
    conn: &mut dyn Sql,
    batch: i64,
    condition: &str,
    params: &[&str],
) -> Result<(), sqlx::Error> {
    let range = conn
        .fetch_ints(
            "SELECT first_item_id, last_item_id FROM cost_batches WHERE id = $1",
            &[Arg::Int(batch)],
        )
        .await?;
    let Some(&[Some(first), Some(last)]) = range.first().map(Vec::as_slice) else {
        return Ok(()); // the batch holds no line items
    };
    let sql = format!(
        "DELETE FROM cost_line_items WHERE id >= $1 AND id <= $2 AND batch_id = $3 AND {condition}"
    );
    let mut args = vec![Arg::Int(first), Arg::Int(last), Arg::Int(batch)];
    args.extend(params.iter().map(|p| Arg::Text(p)));
    conn.execute_args(&sql, &args).await?;
    Ok(())
}

/// Marks a batch's rollups as changed, so report caches reload them (`super::cube`).
async fn bump_rollup_rev(conn: &mut dyn Sql, batch: i64) -> Result<(), sqlx::Error> {
    conn.execute_args(
        "UPDATE cost_batches SET rollup_rev = rollup_rev + 1 WHERE id = $1",
        &[Arg::Int(batch)],
    )
    .await?;
    Ok(())
}

/// File imports: removes the data that other batches hold for the sources and billing
/// periods of this batch (line items and their rollups), records the replacement and this
/// batch's slices; returns the batches affected.
pub(crate) async fn replace_older_slices(
    w: &mut NativeWriteTx,
    batch_id: i64,
    acc: &Rollup,
    at: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let conn = w.sql();
    let mut replaced = BTreeSet::new();
    for (key, info) in &acc.slices {
        let [provider, account, period] = key.map(|id| acc.names.name(id));
        let slice = [Arg::Text(provider), Arg::Text(account), Arg::Text(period)];
        let older = conn
            .fetch_ints(
                "SELECT batch_id FROM cost_batch_slices WHERE provider = $1 AND \
                 billing_account_id = $2 AND billing_period_start = $3 AND replaced_by IS NULL \
                 AND batch_id <> $4",
                &[slice[0], slice[1], slice[2], Arg::Int(batch_id)],
            )
            .await?;
        for old in older
            .into_iter()
            .filter_map(|r| r.first().copied().flatten())
        {
            delete_line_items(
                conn,
                old,
                "provider = $4 AND billing_account_id = $5 AND billing_period_start = $6",
                &[provider, account, period],
            )
            .await?;
            for table in ["cost_daily", "cost_daily_tags"] {
                conn.execute_args(
                    &format!(
                        "DELETE FROM {table} WHERE batch_id = $1 AND provider = $2 AND \
                         billing_account_id = $3 AND billing_period_start = $4"
                    ),
                    &[Arg::Int(old), slice[0], slice[1], slice[2]],
                )
                .await?;
            }
            bump_rollup_rev(conn, old).await?;
            conn.execute_args(
                "UPDATE cost_batch_slices SET replaced_by = $1 WHERE batch_id = $2 AND \
                 provider = $3 AND billing_account_id = $4 AND billing_period_start = $5",
                &[
                    Arg::Int(batch_id),
                    Arg::Int(old),
                    slice[0],
                    slice[1],
                    slice[2],
                ],
            )
            .await?;
            replaced.insert(old);
        }
        conn.execute_args(
            "INSERT INTO cost_batch_slices (batch_id, provider, billing_account_id, \
             billing_period_start, billing_period_end, billing_account_name, row_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Arg::Int(batch_id),
                slice[0],
                slice[1],
                slice[2],
                Arg::Text(&info.period_end),
                Arg::Text(&info.account_name),
                Arg::Int(info.rows),
            ],
        )
        .await?;
    }
    for &old in &replaced {
        let remaining = fetch_int(
            conn,
            "SELECT COUNT(*) FROM cost_batch_slices WHERE batch_id = $1 AND replaced_by IS NULL",
            &[Arg::Int(old)],
        )
        .await?
        .unwrap_or(0);
        let status = if remaining == 0 {
            "replaced"
        } else {
            "partially_replaced"
        };
        conn.execute_args(
            "UPDATE cost_batches SET status = $1, replaced_by = $2, replaced_at = $3 WHERE id = $4",
            &[
                Arg::Text(status),
                Arg::Int(batch_id),
                Arg::Text(at),
                Arg::Int(old),
            ],
        )
        .await?;
    }
    Ok(replaced.into_iter().collect())
}

/// Sync runs: earlier sync data for the days `[from, to)` gives way to batch `batch` (file
/// imports are left alone); sync batches left without data are marked replaced, partly
/// covered ones partly.
pub(crate) async fn replace_sync_days(
    w: &mut NativeWriteTx,
    batch: i64,
    (from, to): (&str, &str),
    (from_ts, to_ts): (&str, &str),
    at: &str,
) -> Result<(), sqlx::Error> {
    let conn = w.sql();
    let earlier = conn
        .fetch_ints(
            "SELECT id FROM cost_batches WHERE source_kind = 'sync' AND id <> $1
                 AND status <> 'replaced' AND period_start < $3 AND period_end > $2",
            &[Arg::Int(batch), Arg::Text(from_ts), Arg::Text(to_ts)],
        )
        .await?;
    for old in earlier
        .into_iter()
        .filter_map(|r| r.first().copied().flatten())
    {
        for table in ["cost_daily", "cost_daily_tags"] {
            conn.execute_args(
                &format!("DELETE FROM {table} WHERE batch_id = $1 AND day >= $2 AND day < $3"),
                &[Arg::Int(old), Arg::Text(from), Arg::Text(to)],
            )
            .await?;
        }
        delete_line_items(
            conn,
            old,
            "usage_date >= $4 AND usage_date < $5",
            &[from, to],
        )
        .await?;
        bump_rollup_rev(conn, old).await?;
    }
    conn.execute_args(
        "UPDATE cost_batches SET status = CASE WHEN EXISTS (SELECT 1 FROM cost_daily d
                 WHERE d.batch_id = cost_batches.id) THEN 'partially_replaced' ELSE 'replaced' END,
             replaced_by = $1, replaced_at = $2
         WHERE source_kind = 'sync' AND id <> $1 AND status <> 'replaced'
           AND period_start < $4 AND period_end > $3",
        &[
            Arg::Int(batch),
            Arg::Text(at),
            Arg::Text(from_ts),
            Arg::Text(to_ts),
        ],
    )
    .await?;
    Ok(())
}

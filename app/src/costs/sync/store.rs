//! A sync run's data written as one batch through the cost writer (`costs::store`): one line
//! item per (day, service, linked account), folded into the daily rollup exactly as a file's
//! rows are; the tag groups (which Cost Explorer sums separately) go into the tag rollup.

use super::client::Fetched;
use super::AwsSettings;
use crate::audit::chain::AuditCtx;
use crate::calendar::{first_of_month, midnight, month_of, Period};
use crate::costs::formats::LineItem;
use crate::costs::store::{self, pack_line_item, totals_json, BatchWriter, Rollup, Sums, TagRow};
use crate::db::{fetch_int, Arg, Dialect, NativeWriteTx};
use crate::error::AppError;
use crate::util::{fmt_date, parse_date};

const PROVIDER: &str = "AWS";
/// Line items per bulk statement.
const CHUNK_ROWS: usize = 4000;

/// Writes a run's data as one batch, after removing earlier sync data for the same days.
pub(super) async fn store(
    w: &mut NativeWriteTx,
    dialect: Dialect,
    s: &AwsSettings,
    ctx: &AuditCtx,
    days: Period,
    f: &Fetched,
) -> Result<i64, AppError> {
    let (from, to) = (fmt_date(days.start), fmt_date(days.end));
    let (from_ts, to_ts) = (midnight(days.start), midnight(days.end));
    let bad = |e: String| AppError::internal(format!("cost sync: {e}"));

    // The line items and the rollups they fold into, before anything is written.
    let mut acc = Rollup::default();
    let mut items = Vec::with_capacity(f.accounts.len());
    for ((day, svc, acct), a) in &f.accounts {
        let date = parse_date(day).ok_or_else(|| bad(format!("'{day}' is not a date")))?;
        let month = month_of(date);
        let item = LineItem {
            provider: PROVIDER.into(),
            billing_account_id: s.payer_account.clone(),
            billing_account_name: String::new(),
            // The instant form file imports store, so both land as the same rollup rows.
            billing_period_start: midnight(month.start),
            billing_period_end: midnight(month.end),
            sub_account_id: acct.clone(),
            sub_account_name: f.account_names.get(acct).cloned().unwrap_or_default(),
            service_name: svc.clone(),
            service_category: String::new(),
            region_id: String::new(),
            resource_id: String::new(),
            charge_category: "Usage".into(),
            charge_period_start: midnight(date),
            charge_period_end: midnight(date.next_day().unwrap_or(date)),
            usage_date: day.clone(),
            billed: a.billed,
            effective: a.effective,
            list: a.list,
            currency: a.currency.clone(),
            tags: Default::default(),
            extra: "[\"aws-cost-explorer\"]".into(),
        };
        acc.add(&item).map_err(bad)?;
        items.push(item);
    }
    for ((day, svc, key, value), a) in &f.tags {
        let date = parse_date(day).ok_or_else(|| bad(format!("'{day}' is not a date")))?;
        let period = midnight(first_of_month(date));
        let row = TagRow {
            provider: PROVIDER,
            billing_account_id: &s.payer_account,
            billing_period_start: &period,
            day,
            service_name: svc,
            currency: &a.currency,
            tag_key: key,
            tag_value: value,
        };
        let sums = Sums {
            billed: a.billed,
            effective: a.effective,
            list: a.list,
            rows: 1,
        };
        acc.add_tag(row, &sums).map_err(bad)?;
    }

    let batch = fetch_int(
        w.sql(),
        "INSERT INTO cost_batches (source_kind, source_name, format, imported_by_id,
             imported_by, imported_at, rows_read, rows_accepted, rows_rejected,
             period_start, period_end, totals, extra_columns)
         VALUES ('sync', $1, 'aws-ce', $2, $3, $4, $5, $5, 0, $6, $7, $8, '[\"source\"]')
         RETURNING id",
        &[
            Arg::Text(&format!("AWS Cost Explorer {from}..{to}")),
            Arg::OptInt(ctx.actor_id),
            Arg::Text(&ctx.actor),
            Arg::Text(&ctx.at),
            Arg::Int(f.accounts.len() as i64),
            Arg::Text(&from_ts),
            Arg::Text(&to_ts),
            Arg::Text(&totals_json(&acc.totals)),
        ],
    )
    .await?
    .ok_or_else(|| AppError::internal("no batch id returned"))?;
    // Earlier sync data for these days gives way (file imports are left alone).
    store::replace_sync_days(w, batch, (&from, &to), (&from_ts, &to_ts), &ctx.at).await?;

    let mut writer = BatchWriter::start(w, dialect, batch).await?;
    let mut items = items.into_iter().enumerate().peekable();
    while items.peek().is_some() {
        let mut p = writer.packer(CHUNK_ROWS);
        for (n, item) in items.by_ref().take(CHUNK_ROWS) {
            pack_line_item(&mut p, n as u64 + 1, item);
        }
        writer.line_items(w, p.finish()).await?;
    }
    writer.finish(w, std::sync::Arc::new(acc)).await?;
    Ok(batch)
}

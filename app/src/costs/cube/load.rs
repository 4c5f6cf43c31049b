//! Loading a segment of the cube from the database: the live batches with their rollup
//! revisions, and a batch's daily and tag rollup rows decoded into columns.

use super::{Daily, Segment, Tags};
use crate::costs::money::parse_amount;
use crate::error::AppError;
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use time::Date;

fn julian(day: &str) -> Result<i32, AppError> {
    crate::util::parse_date(day)
        .map(Date::to_julian_day)
        .ok_or_else(|| AppError::internal(format!("stored day '{day}' is not a date")))
}

fn amount(s: &str) -> Result<Decimal, AppError> {
    parse_amount(s).map_err(|e| AppError::internal(format!("stored amount '{s}': {e}")))
}

/// The live batches and their rollup revisions: what the cube must hold.
pub(super) async fn signature<'c, E>(conn: E) -> Result<Vec<(i64, i64)>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(sqlx::query_as(
        "SELECT id, rollup_rev FROM cost_batches WHERE status <> 'replaced' ORDER BY id",
    )
    .fetch_all(conn)
    .await?)
}

/// Runs `sql` (`$1` = the batch) and hands each row's `width` text columns to `f`.
async fn each_row(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    batch: i64,
    width: usize,
    mut f: impl FnMut(&[&str]) -> Result<(), AppError>,
) -> Result<(), AppError> {
    use sqlx::Row;
    let mut rows = sqlx::query(sql).bind(batch).fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        // Borrowed from the row: no copy per value (the load decodes every rollup row).
        let values = (0..width)
            .map(|i| r.try_get::<&str, _>(i))
            .collect::<Result<Vec<&str>, _>>()?;
        f(&values)?;
    }
    Ok(())
}

/// Appends the billed, effective and list amounts.
fn push_amounts(cols: &mut [Vec<Decimal>; 3], texts: &[&str]) -> Result<(), AppError> {
    for (col, a) in cols.iter_mut().zip(texts) {
        col.push(amount(a)?);
    }
    Ok(())
}

pub(super) async fn load_segment(
    conn: &mut sqlx::AnyConnection,
    batch: i64,
    rev: i64,
) -> Result<Segment, AppError> {
    // Rows come in day order: parse each day once.
    let mut last_day: Option<(String, i32)> = None;
    let mut day_of = |d: &str| -> Result<i32, AppError> {
        match &last_day {
            Some((s, j)) if s == d => Ok(*j),
            _ => {
                let j = julian(d)?;
                last_day = Some((d.to_string(), j));
                Ok(j)
            }
        }
    };
    let mut daily = Daily::default();
    each_row(
        conn,
        "SELECT day, provider, sub_account_id, sub_account_name, service_name, region_id,
                charge_category, currency, billed_cost, effective_cost, list_cost,
                billing_account_id
         FROM cost_daily WHERE batch_id = $1 ORDER BY day",
        batch,
        12,
        |r| {
            daily.day.push(day_of(r[0])?);
            daily.provider.push(r[1]);
            daily.account.push(r[2]);
            if !r[2].is_empty() {
                match daily.account_names.get_mut(r[2]) {
                    Some(name) if r[3].len() > name.len() => *name = r[3].to_string(),
                    Some(_) => {}
                    None => {
                        daily
                            .account_names
                            .insert(r[2].to_string(), r[3].to_string());
                    }
                }
            }
            daily.service.push(r[4]);
            daily.region.push(r[5]);
            daily.category.push(r[6]);
            daily.currency.push(r[7]);
            daily.billing.push(r[11]);
            push_amounts(&mut daily.amounts, &r[8..11])
        },
    )
    .await?;
    let mut tags = Tags::default();
    each_row(
        conn,
        "SELECT day, provider, service_name, currency, tag_key, tag_value, billed_cost,
                effective_cost, list_cost
         FROM cost_daily_tags WHERE batch_id = $1 ORDER BY day",
        batch,
        9,
        |r| {
            tags.day.push(day_of(r[0])?);
            tags.provider.push(r[1]);
            tags.service.push(r[2]);
            tags.currency.push(r[3]);
            tags.key.push(r[4]);
            tags.value.push(r[5]);
            push_amounts(&mut tags.amounts, &r[6..])
        },
    )
    .await?;
    Ok(Segment {
        batch,
        rev,
        daily,
        tags,
    })
}

//! The rollups a batch adds up to (`cost_daily`, `cost_daily_tags`, its slices, totals and
//! period), folded as line items stream past, and the SQL that writes them.
//!
//! Memory follows the number of distinct day × dimension combinations (rollup cardinality),
//! never the number of rows: each combination is one small fixed-size entry.

use super::rows::{insert_rows, Packer};
use crate::costs::formats::LineItem;
use crate::costs::money::add;
use crate::db::{Dialect, NativeWriteTx};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// Rollup rows per COPY or bulk statement.
const ROLLUP_CHUNK_ROWS: usize = 10_000;

/// Exact sums for one currency (or one rollup row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub billed: Decimal,
    pub effective: Decimal,
    pub list: Decimal,
    pub rows: i64,
}

impl Sums {
    pub(crate) fn add(&mut self, item: &LineItem) -> Result<(), String> {
        self.add_amounts(item.billed, item.effective, item.list, 1)
    }

    pub(crate) fn add_amounts(
        &mut self,
        billed: Decimal,
        effective: Decimal,
        list: Decimal,
        rows: i64,
    ) -> Result<(), String> {
        self.billed = add(self.billed, billed)?;
        self.effective = add(self.effective, effective)?;
        self.list = add(self.list, list)?;
        self.rows += rows;
        Ok(())
    }
}

/// (provider, billing account id, billing period start), interned: what a newer import
/// replaces.
pub(crate) type SliceKey = [u32; 3];

#[derive(Debug, Default, Clone)]
pub(crate) struct SliceInfo {
    pub(crate) period_end: String,
    pub(crate) account_name: String,
    pub(crate) rows: i64,
}

/// provider, billing account, billing period start, sub account id and name, service name
/// and category, region, charge category, currency (interned; the day is kept apart).
type DailyDims = [u32; 10];
/// provider, billing account, billing period start, service name, currency, tag key, tag
/// value (interned). No sub-account: with it the tag rollup grows towards the line items.
type TagDims = [u32; 7];

/// Distinct dimension sets without the day, as small ids: a batch has a few thousand, and a
/// rollup entry is then (set, day) → sums, 8 bytes of key instead of 32–44. The entries are
/// what the import's memory grows with (distinct day × dimension combinations).
struct Combos<const N: usize> {
    ids: HashMap<[u32; N], u32>,
    dims: Vec<[u32; N]>,
}

impl<const N: usize> Default for Combos<N> {
    fn default() -> Self {
        Combos {
            ids: HashMap::default(),
            dims: Vec::new(),
        }
    }
}

impl<const N: usize> Combos<N> {
    fn id(&mut self, dims: [u32; N]) -> u32 {
        if let Some(&i) = self.ids.get(&dims) {
            return i;
        }
        let i = self.dims.len() as u32;
        self.dims.push(dims);
        self.ids.insert(dims, i);
        i
    }
}

/// (dimension set, day): one rollup row.
type RowKey = (u32, u32);

/// Dimension values as small ids, so rollup keys are cheap to hash and hold.
#[derive(Default)]
pub(crate) struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), i);
        i
    }

    pub(crate) fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

/// What a batch adds up to, kept while rows stream past.
#[derive(Default)]
pub(crate) struct Rollup {
    pub(crate) rows: u64,
    pub(crate) names: Interner,
    daily_dims: Combos<10>,
    tag_dims: Combos<7>,
    daily: HashMap<RowKey, Sums>,
    tags: HashMap<RowKey, Sums>,
    pub(crate) slices: BTreeMap<SliceKey, SliceInfo>,
    pub(crate) totals: BTreeMap<String, Sums>,
    pub(crate) period: Option<(String, String)>,
}

impl Rollup {
    /// Folds one line item into every rollup (its tags into the tag rollup).
    pub(crate) fn add(&mut self, it: &LineItem) -> Result<(), String> {
        self.rows += 1;
        let n = &mut self.names;
        let (provider, account, period, day, service, currency) = (
            n.id(&it.provider),
            n.id(&it.billing_account_id),
            n.id(&it.billing_period_start),
            n.id(&it.usage_date),
            n.id(&it.service_name),
            n.id(&it.currency),
        );
        let dims: DailyDims = [
            provider,
            account,
            period,
            n.id(&it.sub_account_id),
            n.id(&it.sub_account_name),
            service,
            n.id(&it.service_category),
            n.id(&it.region_id),
            n.id(&it.charge_category),
            currency,
        ];
        let key = (self.daily_dims.id(dims), day);
        self.daily.entry(key).or_default().add(it)?;
        for (k, v) in &it.tags {
            let dims: TagDims = [
                provider,
                account,
                period,
                service,
                currency,
                n.id(k),
                n.id(v),
            ];
            let key = (self.tag_dims.id(dims), day);
            self.tags.entry(key).or_default().add(it)?;
        }
        let slice = self.slices.entry([provider, account, period]).or_default();
        slice.rows += 1;
        if it.billing_period_end > slice.period_end {
            slice.period_end = it.billing_period_end.clone();
        }
        if slice.account_name.is_empty() {
            slice.account_name = it.billing_account_name.clone();
        }
        match self.totals.get_mut(&it.currency) {
            Some(t) => t.add(it)?,
            None => {
                let mut t = Sums::default();
                t.add(it)?;
                self.totals.insert(it.currency.clone(), t);
            }
        }
        match &mut self.period {
            None => {
                self.period = Some((it.charge_period_start.clone(), it.charge_period_end.clone()))
            }
            Some((s, e)) => {
                if it.charge_period_start < *s {
                    *s = it.charge_period_start.clone();
                }
                if it.charge_period_end > *e {
                    *e = it.charge_period_end.clone();
                }
            }
        }
        Ok(())
    }

    /// Adds tag sums that come pre-aggregated from the source (Cost Explorer groups spend by
    /// tag separately from its line items, so they cannot be folded from them).
    pub(crate) fn add_tag(&mut self, key: TagRow<'_>, sums: &Sums) -> Result<(), String> {
        let n = &mut self.names;
        let dims: TagDims = [
            n.id(key.provider),
            n.id(key.billing_account_id),
            n.id(key.billing_period_start),
            n.id(key.service_name),
            n.id(key.currency),
            n.id(key.tag_key),
            n.id(key.tag_value),
        ];
        let day = n.id(key.day);
        let k = (self.tag_dims.id(dims), day);
        self.tags.entry(k).or_default().add_amounts(
            sums.billed,
            sums.effective,
            sums.list,
            sums.rows,
        )
    }

    pub(crate) fn daily_rows(&self) -> usize {
        self.daily.len()
    }

    pub(crate) fn tag_rows(&self) -> usize {
        self.tags.len()
    }
}

/// The dimensions of one pre-aggregated tag rollup row (`Rollup::add_tag`).
pub(crate) struct TagRow<'a> {
    pub(crate) provider: &'a str,
    pub(crate) billing_account_id: &'a str,
    pub(crate) billing_period_start: &'a str,
    pub(crate) day: &'a str,
    pub(crate) service_name: &'a str,
    pub(crate) currency: &'a str,
    pub(crate) tag_key: &'a str,
    pub(crate) tag_value: &'a str,
}

const DAILY_COLUMNS: &[&str] = &[
    "batch_id",
    "provider",
    "billing_account_id",
    "billing_period_start",
    "day",
    "sub_account_id",
    "sub_account_name",
    "service_name",
    "service_category",
    "region_id",
    "charge_category",
    "currency",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "row_count",
];
const TAG_COLUMNS: &[&str] = &[
    "batch_id",
    "provider",
    "billing_account_id",
    "billing_period_start",
    "day",
    "service_name",
    "currency",
    "tag_key",
    "tag_value",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "row_count",
];

/// Writes both rollups of a batch.
pub(crate) async fn insert_rollups(
    w: &mut NativeWriteTx,
    dialect: Dialect,
    batch_id: i64,
    acc: &Rollup,
) -> Result<(), sqlx::Error> {
    let names = &acc.names;
    insert_sums(
        w,
        dialect,
        "cost_daily",
        DAILY_COLUMNS,
        batch_id,
        names,
        &acc.daily_dims,
        &acc.daily,
    )
    .await?;
    insert_sums(
        w,
        dialect,
        "cost_daily_tags",
        TAG_COLUMNS,
        batch_id,
        names,
        &acc.tag_dims,
        &acc.tags,
    )
    .await
}

/// Writes one rollup: `columns` are batch_id, the dimensions with the day fourth (after
/// provider, account and billing period), then the sums. Rows go in day order, so the
/// (batch_id, day) index only appends.
#[allow(clippy::too_many_arguments)] // one call per rollup table, every part named
async fn insert_sums<const N: usize>(
    w: &mut NativeWriteTx,
    dialect: Dialect,
    table: &str,
    columns: &[&str],
    batch_id: i64,
    names: &Interner,
    combos: &Combos<N>,
    sums: &HashMap<RowKey, Sums>,
) -> Result<(), sqlx::Error> {
    let mut rows: Vec<(&RowKey, &Sums)> = sums.iter().collect();
    rows.sort_unstable_by_key(|((_, day), _)| names.name(*day));
    for chunk in rows.chunks(ROLLUP_CHUNK_ROWS) {
        let mut p = Packer::new(dialect, batch_id, columns.len() - 1, chunk.len());
        for ((combo, day), s) in chunk {
            let dims = &combos.dims[*combo as usize];
            for (i, k) in dims.iter().enumerate() {
                if i == 3 {
                    p.str(names.name(*day));
                }
                p.str(names.name(*k));
            }
            p.display(s.billed);
            p.display(s.effective);
            p.display(s.list);
            p.int(s.rows);
        }
        insert_rows(w, table, columns, batch_id, p.finish()).await?;
    }
    Ok(())
}

/// Per-currency totals as `cost_batches.totals` stores them.
pub(crate) fn totals_json(totals: &BTreeMap<String, Sums>) -> String {
    let m: serde_json::Map<String, serde_json::Value> = totals
        .iter()
        .map(|(cur, s)| {
            (
                cur.clone(),
                serde_json::json!({
                    "billed": s.billed.to_string(),
                    "effective": s.effective.to_string(),
                    "list": s.list.to_string(),
                    "rows": s.rows,
                }),
            )
        })
        .collect();
    serde_json::Value::Object(m).to_string()
}

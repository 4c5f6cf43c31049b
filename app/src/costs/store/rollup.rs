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

// The daily sets: provider, billing account, billing period start, sub account id and name,
// service name and category, region, charge category, currency (the day is kept apart). The
// tag sets: provider, billing account, billing period start, service name, currency, tag key,
// tag value; no sub-account: with it the tag rollup grows towards the line items.

/// Distinct dimension sets without the day, as small ids: a batch has a few thousand, and a
/// rollup entry is then (set, day) → sums, 8 bytes of key instead of 32–44. The entries are
/// what the import's memory grows with (distinct day × dimension combinations).
///
/// A row's set is found by ONE hash over its strings and a comparison with the set's stored
/// names; its strings are interned only the first time the set is seen. (Interning every
/// string of every row first, then looking the ids up, was a fifth of an import.)
struct Combos<const N: usize> {
    table: hashbrown::HashTable<u32>,
    hashes: Vec<u64>,
    dims: Vec<[u32; N]>,
}

impl<const N: usize> Default for Combos<N> {
    fn default() -> Self {
        Combos {
            table: hashbrown::HashTable::new(),
            hashes: Vec::new(),
            dims: Vec::new(),
        }
    }
}

/// Hashes dimension strings (each closed by a byte UTF-8 never holds, so "ab","c" ≠ "a","bc").
#[derive(Clone, Default)]
struct DimHash(rustc_hash::FxHasher);

impl DimHash {
    fn part(&mut self, s: &str) {
        use std::hash::Hasher;
        self.0.write(s.as_bytes());
        self.0.write_u8(0xff);
    }

    fn finish(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

impl<const N: usize> Combos<N> {
    /// The id of the set `parts` (hashed as `hash`), added if new.
    fn id(&mut self, names: &mut Interner, parts: [&str; N], hash: u64) -> u32 {
        let dims = &self.dims;
        let found = self.table.find(hash, |&i| {
            dims[i as usize]
                .iter()
                .zip(parts)
                .all(|(&d, p)| names.name(d) == p)
        });
        if let Some(&i) = found {
            return i;
        }
        let i = self.dims.len() as u32;
        self.dims.push(parts.map(|p| names.id(p)));
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, i, |&j| hashes[j as usize]);
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
        let day = self.names.id(&it.usage_date);
        // provider, account, billing period, service and currency: shared by the daily set
        // and every tag set, hashed once.
        let mut base = DimHash::default();
        for s in [
            &it.provider,
            &it.billing_account_id,
            &it.billing_period_start,
            &it.service_name,
            &it.currency,
        ] {
            base.part(s);
        }
        let mut h = base.clone();
        for s in [
            &it.sub_account_id,
            &it.sub_account_name,
            &it.service_category,
            &it.region_id,
            &it.charge_category,
        ] {
            h.part(s);
        }
        let parts: [&str; 10] = [
            &it.provider,
            &it.billing_account_id,
            &it.billing_period_start,
            &it.sub_account_id,
            &it.sub_account_name,
            &it.service_name,
            &it.service_category,
            &it.region_id,
            &it.charge_category,
            &it.currency,
        ];
        let combo = self.daily_dims.id(&mut self.names, parts, h.finish());
        let key = (combo, day);
        self.daily.entry(key).or_default().add(it)?;
        for (k, v) in &it.tags {
            let mut h = base.clone();
            h.part(k);
            h.part(v);
            let parts: [&str; 7] = [
                &it.provider,
                &it.billing_account_id,
                &it.billing_period_start,
                &it.service_name,
                &it.currency,
                k,
                v,
            ];
            let key = (self.tag_dims.id(&mut self.names, parts, h.finish()), day);
            self.tags.entry(key).or_default().add(it)?;
        }
        let [provider, account, period, ..] = self.daily_dims.dims[combo as usize];
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
        let parts: [&str; 7] = [
            key.provider,
            key.billing_account_id,
            key.billing_period_start,
            key.service_name,
            key.currency,
            key.tag_key,
            key.tag_value,
        ];
        let mut h = DimHash::default();
        for p in parts {
            h.part(p);
        }
        let day = self.names.id(key.day);
        let k = (self.tag_dims.id(&mut self.names, parts, h.finish()), day);
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

/// Writes both rollups of a batch. A blocking thread packs the next chunk while the database
/// takes the current one (packing alone was a fifth of this tail of the import, where nothing
/// else runs).
pub(crate) async fn insert_rollups(
    w: &mut NativeWriteTx,
    dialect: Dialect,
    batch_id: i64,
    acc: std::sync::Arc<Rollup>,
) -> Result<(), sqlx::Error> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let a = &acc;
        let daily = pack_sums(dialect, batch_id, DAILY_COLUMNS, a, &a.daily_dims, &a.daily);
        let tags = pack_sums(dialect, batch_id, TAG_COLUMNS, a, &a.tag_dims, &a.tags);
        for chunk in daily
            .map(|p| ("cost_daily", DAILY_COLUMNS, p))
            .chain(tags.map(|p| ("cost_daily_tags", TAG_COLUMNS, p)))
        {
            if tx.blocking_send(chunk).is_err() {
                return; // the writer stopped (an error): nothing more to pack
            }
        }
    });
    while let Some((table, columns, rows)) = rx.recv().await {
        insert_rows(w, table, columns, batch_id, rows).await?;
    }
    Ok(())
}

/// Packs one rollup, chunk by chunk: `columns` are batch_id, the dimensions with the day
/// fourth (after provider, account and billing period), then the sums. Rows go in day order,
/// so the (batch_id, day) index only appends.
fn pack_sums<'a, const N: usize>(
    dialect: Dialect,
    batch_id: i64,
    columns: &'a [&'a str],
    acc: &'a Rollup,
    combos: &'a Combos<N>,
    sums: &'a HashMap<RowKey, Sums>,
) -> impl Iterator<Item = super::Packed> + 'a {
    let names = &acc.names;
    let mut rows: Vec<(&RowKey, &Sums)> = sums.iter().collect();
    rows.sort_unstable_by_key(|((_, day), _)| names.name(*day));
    let chunks: Vec<Vec<(&RowKey, &Sums)>> =
        rows.chunks(ROLLUP_CHUNK_ROWS).map(<[_]>::to_vec).collect();
    chunks.into_iter().map(move |chunk| {
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
        p.finish()
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dimension_set_is_told_apart_by_its_strings_not_its_hash() {
        let mut names = Interner::default();
        let mut combos = Combos::<2>::default();
        // The same hash for every set: only the comparison of names tells them apart.
        let a = combos.id(&mut names, ["aws", "eu"], 42);
        let b = combos.id(&mut names, ["aws", "us"], 42);
        let c = combos.id(&mut names, ["gcp", "eu"], 42);
        assert_eq!(combos.id(&mut names, ["aws", "us"], 42), b);
        assert_eq!(combos.id(&mut names, ["aws", "eu"], 42), a);
        assert_eq!([a, b, c], [0, 1, 2]);
        assert_eq!(
            combos.dims[2].map(|i| names.name(i).to_string()),
            ["gcp", "eu"]
        );
    }

    #[test]
    fn strings_are_hashed_with_their_boundaries() {
        let hash = |parts: &[&str]| {
            let mut h = DimHash::default();
            parts.iter().for_each(|p| h.part(p));
            h.finish()
        };
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
        assert_eq!(hash(&["ab", "c"]), hash(&["ab", "c"]));
    }
}

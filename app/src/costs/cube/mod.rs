//! The report cube: the daily rollups (`cost_daily`, `cost_daily_tags`) held in memory, column
//! by column, so any report (any range, grouping and filters) is one scan of small arrays
//! instead of a query that ships thousands of rows through the database driver.
//!
//! Why not SQL: money is summed exactly in Rust (the `Any` driver cannot read NUMERIC and
//! SQLite has no exact decimal), so every report had to fetch and decode its rows; at 10M line
//! items a filtered year took seconds. Here the rows are decoded once.
//!
//! Freshness: the cube is a set of per-batch segments. A batch's rollup rows only appear when it
//! is imported and only change when a newer import or sync deletes some of them, which bumps
//! the batch's `rollup_rev` in the same transaction. Every report first reads the list of live
//! batches with their revisions (one small query) and reloads only the segments that differ,
//! inside one read transaction (a consistent snapshot). So a report never shows data that is
//! not committed, nor misses data that is, on any number of server processes.
//!
//! Amounts stay `Decimal` (exact); dimension values are dictionary-encoded per segment.

mod file;
#[doc(hidden)]
pub use file::fuzz_file_roundtrip;
mod load;
mod scope;

use crate::db::{Db, Dialect};
use crate::error::AppError;
use load::{load_segment, signature};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use time::Date;

/// A dimension reports can group and filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Provider,
    Account,
    Service,
    Region,
    Category,
    /// The billing account (budgets group by it; the explorer does not offer it).
    Billing,
}

impl Dim {
    pub fn from_group(g: &str) -> Option<Dim> {
        Some(match g {
            "provider" => Dim::Provider,
            "account" => Dim::Account,
            "service" => Dim::Service,
            "region" => Dim::Region,
            "category" => Dim::Category,
            _ => return None,
        })
    }
}

/// Which amount: billed, effective or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Billed = 0,
    Effective = 1,
    List = 2,
}

/// Filters on dimensions; empty means any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filters<'a> {
    pub provider: &'a str,
    /// The billing account (the explorer's `account` is the sub-account).
    pub billing: &'a str,
    pub account: &'a str,
    pub service: &'a str,
    pub region: &'a str,
}

/// Days [from, to) folded into buckets (report periods): `bucket[d - from]` for each day.
#[derive(Debug, Clone)]
pub struct Buckets {
    pub from: Date,
    pub to: Date,
    pub of_day: Vec<u32>,
    pub count: usize,
}

impl Buckets {
    /// One bucket for the whole range.
    pub fn single(from: Date, to: Date) -> Buckets {
        let days = (to - from).whole_days().max(0) as usize;
        Buckets {
            from,
            to,
            of_day: vec![0; days],
            count: 1,
        }
    }
}

/// What a report groups by.
#[derive(Debug, Clone, Copy)]
pub enum Group<'a> {
    Dim(Dim),
    /// Tagged sums per value of this key (tag rollups have provider and service, no account,
    /// region or category).
    Tag(&'a str),
    /// Everything in one group (named "").
    Nothing,
}

/// Sums per group value, per bucket.
pub type Sums = BTreeMap<String, Vec<Decimal>>;

/// The values filters can offer, over all live data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    pub currencies: Vec<String>,
    pub providers: Vec<String>,
    pub services: Vec<String>,
    pub regions: Vec<String>,
    /// (id, name).
    pub accounts: Vec<(String, String)>,
    pub tag_keys: Vec<String>,
    /// The latest day with data.
    pub latest_day: Option<Date>,
}

/// A dictionary-encoded text column.
#[derive(Default)]
struct DictCol {
    ids: Vec<u32>,
    names: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl DictCol {
    fn push(&mut self, v: &str) {
        let id = match self.index.get(v) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(v.to_string());
                self.index.insert(v.to_string(), id);
                id
            }
        };
        self.ids.push(id);
    }

    /// The id of `v`: `Ok(None)` for no filter, `Err(())` when no row has it.
    fn filter(&self, v: &str) -> Result<Option<u32>, ()> {
        if v.is_empty() {
            return Ok(None);
        }
        self.index.get(v).map(|id| Some(*id)).ok_or(())
    }
}

/// Rows sorted by day.
#[derive(Default)]
struct Daily {
    day: Vec<i32>,
    provider: DictCol,
    account: DictCol,
    service: DictCol,
    region: DictCol,
    category: DictCol,
    currency: DictCol,
    billing: DictCol,
    amounts: [Vec<Decimal>; 3],
    /// Account id → name (the longest seen).
    account_names: BTreeMap<String, String>,
}

impl Daily {
    /// The dictionary columns, in the order segment files keep them.
    fn dicts(&self) -> [&DictCol; 7] {
        [
            &self.provider,
            &self.account,
            &self.service,
            &self.region,
            &self.category,
            &self.currency,
            &self.billing,
        ]
    }
}

impl Tags {
    /// The dictionary columns, in the order segment files keep them.
    fn dicts(&self) -> [&DictCol; 5] {
        [
            &self.provider,
            &self.service,
            &self.currency,
            &self.key,
            &self.value,
        ]
    }
}

#[derive(Default)]
struct Tags {
    day: Vec<i32>,
    provider: DictCol,
    service: DictCol,
    currency: DictCol,
    key: DictCol,
    value: DictCol,
    amounts: [Vec<Decimal>; 3],
}

struct Segment {
    batch: i64,
    rev: i64,
    daily: Daily,
    tags: Tags,
}

impl Segment {
    /// Heap bytes held (the cube's memory, for the benchmark and the metrics).
    fn bytes(&self) -> usize {
        let dict = |c: &DictCol| {
            c.ids.capacity() * 4
                + c.names
                    .iter()
                    .map(|n| 2 * (n.capacity() + 24))
                    .sum::<usize>()
        };
        let amounts = |a: &[Vec<Decimal>; 3]| a.iter().map(|c| c.capacity() * 16).sum::<usize>();
        let d = &self.daily;
        let t = &self.tags;
        d.day.capacity() * 4
            + d.dicts().into_iter().map(dict).sum::<usize>()
            + amounts(&d.amounts)
            + t.day.capacity() * 4
            + t.dicts().into_iter().map(dict).sum::<usize>()
            + amounts(&t.amounts)
    }
}

/// An immutable view of all live rollups.
#[derive(Default)]
pub struct Snapshot {
    sig: Vec<(i64, i64)>,
    segments: Vec<Arc<Segment>>,
    pub choices: Choices,
}

/// Shared by all requests of a server (in `AppState`).
#[derive(Default)]
pub struct Cube {
    refresh: tokio::sync::Mutex<()>,
    current: RwLock<Arc<Snapshot>>,
    /// Where segments are kept between runs (`file`); `None`: always from the database.
    dir: Option<std::path::PathBuf>,
}

fn add(total: &mut Decimal, a: Decimal) -> Result<(), AppError> {
    *total = total
        .checked_add(a)
        .ok_or_else(|| AppError::internal("amount overflow in report"))?;
    Ok(())
}

impl Cube {
    pub fn new() -> Cube {
        Cube::default()
    }

    /// A cube that keeps its segments in `dir` too, so a restart reads them back from there.
    pub fn with_dir(dir: std::path::PathBuf) -> Cube {
        Cube {
            dir: Some(dir),
            ..Cube::default()
        }
    }

    /// Rows and heap bytes held now (the report cube's memory).
    pub fn size(&self) -> (usize, usize) {
        let cur = self.current();
        cur.segments.iter().fold((0, 0), |(r, b), s| {
            (r + s.daily.day.len() + s.tags.day.len(), b + s.bytes())
        })
    }

    /// A segment from its file when there is one that stands for it, else from the
    /// database (and then written to its file in the background).
    async fn segment(
        &self,
        tx: &mut sqlx::AnyConnection,
        batch: i64,
        rev: i64,
    ) -> Result<(Arc<Segment>, bool), AppError> {
        let Some(dir) = &self.dir else {
            return Ok((Arc::new(load_segment(tx, batch, rev).await?), false));
        };
        // The batch's identity: a file made for another database's batch of the same id and
        // revision has another name.
        let (sha, at, source): (String, String, String) = sqlx::query_as(
            "SELECT COALESCE(sha256, ''), imported_at, source_name FROM cost_batches WHERE id = $1",
        )
        .bind(batch)
        .fetch_one(&mut *tx)
        .await?;
        let path = file::path(dir, batch, rev, &format!("{sha}\n{at}\n{source}"));
        let p = path.clone();
        let kept = tokio::task::spawn_blocking(move || file::read(&p, batch, rev))
            .await
            .ok()
            .flatten();
        if let Some(s) = kept {
            return Ok((Arc::new(s), true));
        }
        let s = Arc::new(load_segment(tx, batch, rev).await?);
        let w = s.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = file::write(&path, &w) {
                tracing::warn!(path = %path.display(), error = %e, "cost cube file not written");
            }
        });
        Ok((s, false))
    }

    /// Refreshes in the background now and then every `every` until the database closes, so
    /// a report rarely waits for a load (a large import's rollups take seconds to load), also
    /// after imports made by the CLI or another server.
    pub fn keep_warm(self: &Arc<Self>, db: Db, every: std::time::Duration) {
        let cube = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(cube) = cube.upgrade() {
                if db.pool().is_closed() {
                    break;
                }
                if let Err(e) = cube.snapshot(&db).await {
                    if !db.pool().is_closed() {
                        tracing::warn!(error = %e, "cost cube refresh failed");
                    }
                }
                drop(cube);
                tokio::time::sleep(every).await;
            }
        });
    }

    /// Starts a refresh without waiting for it (after an import in this server).
    pub fn refresh_soon(self: &Arc<Self>, db: &Db) {
        let (cube, db) = (self.clone(), db.clone());
        tokio::spawn(async move {
            if let Err(e) = cube.snapshot(&db).await {
                tracing::warn!(error = %e, "cost cube refresh failed");
            }
        });
    }

    fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The cube as of now: reloads the segments of batches that were added or changed.
    pub async fn snapshot(&self, db: &Db) -> Result<Arc<Snapshot>, AppError> {
        let sig = signature(db.pool()).await?;
        let cur = self.current();
        if cur.sig == sig {
            return Ok(cur);
        }
        // One refresh at a time; whoever waited finds the work done.
        let _one = self.refresh.lock().await;
        let mut tx = db.pool().begin().await?;
        if db.dialect() == Dialect::Postgres {
            // Every query below sees the same committed state (SQLite: the read transaction).
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        let sig = signature(&mut *tx).await?;
        let cur = self.current();
        if cur.sig == sig {
            return Ok(cur);
        }
        let started = std::time::Instant::now();
        let mut segments = Vec::with_capacity(sig.len());
        let (mut loaded, mut from_files) = (0usize, 0usize);
        for &(batch, rev) in &sig {
            match cur
                .segments
                .iter()
                .find(|s| s.batch == batch && s.rev == rev)
            {
                Some(s) => segments.push(s.clone()),
                None => {
                    let (s, kept) = self.segment(&mut tx, batch, rev).await?;
                    let rows = s.daily.day.len() + s.tags.day.len();
                    if kept {
                        from_files += rows;
                    } else {
                        loaded += rows;
                    }
                    segments.push(s);
                }
            }
        }
        tx.rollback().await?;
        if let Some(dir) = self.dir.clone() {
            // Files of segments no longer live go.
            let live: std::collections::HashSet<(i64, i64)> = sig.iter().copied().collect();
            tokio::task::spawn_blocking(move || file::prune(&dir, &live));
        }
        let snap = Arc::new(Snapshot {
            choices: choices(&segments),
            sig,
            segments,
        });
        tracing::debug!(
            rows_loaded = loaded,
            rows_from_files = from_files,
            elapsed = ?started.elapsed(),
            "cost cube refreshed"
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = snap.clone();
        Ok(snap)
    }
}

fn choices(segments: &[Arc<Segment>]) -> Choices {
    let mut currencies = BTreeSet::new();
    let mut providers = BTreeSet::new();
    let mut services = BTreeSet::new();
    let mut regions = BTreeSet::new();
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    let mut tag_keys = BTreeSet::new();
    let mut latest_day = None;
    for s in segments {
        let d = &s.daily;
        currencies.extend(d.currency.names.iter().cloned());
        currencies.extend(s.tags.currency.names.iter().cloned());
        providers.extend(d.provider.names.iter().cloned());
        services.extend(d.service.names.iter().cloned());
        regions.extend(d.region.names.iter().cloned());
        for a in &d.account.names {
            let name = d.account_names.get(a).cloned().unwrap_or_default();
            let e = accounts.entry(a.clone()).or_default();
            if name.len() > e.len() {
                *e = name;
            }
        }
        tag_keys.extend(s.tags.key.names.iter().cloned());
        latest_day = latest_day.max(d.day.last().copied());
    }
    let named = |set: BTreeSet<String>| set.into_iter().filter(|v| !v.is_empty()).collect();
    Choices {
        currencies: named(currencies),
        providers: named(providers),
        services: named(services),
        regions: named(regions),
        accounts: accounts
            .into_iter()
            .filter(|(a, _)| !a.is_empty())
            .collect(),
        tag_keys: named(tag_keys),
        latest_day: latest_day.and_then(|j| Date::from_julian_day(j).ok()),
    }
}

/// Adds `a` to group `gid`'s `bucket`; a group gets its `count` buckets on first use.
fn add_to(
    acc: &mut [Vec<Decimal>],
    gid: u32,
    bucket: u32,
    count: usize,
    a: Decimal,
) -> Result<(), AppError> {
    let g = &mut acc[gid as usize];
    if g.is_empty() {
        g.resize(count, Decimal::ZERO);
    }
    add(&mut g[bucket as usize], a)
}

/// The rows of `days` (sorted) within [from, to).
fn day_range(days: &[i32], b: &Buckets) -> std::ops::Range<usize> {
    let (from, to) = (b.from.to_julian_day(), b.to.to_julian_day());
    days.partition_point(|d| *d < from)..days.partition_point(|d| *d < to)
}

impl Snapshot {
    /// Exact sums of `metric` in `currency` per group value and bucket, over the buckets'
    /// days, with the filters. Tag groups take only the provider and service filters (the
    /// caller refuses the others).
    pub fn sums(
        &self,
        b: &Buckets,
        currency: &str,
        metric: Metric,
        group: Group<'_>,
        f: &Filters<'_>,
    ) -> Result<Sums, AppError> {
        let m = metric as usize;
        let mut out: Sums = BTreeMap::new();
        let from = b.from.to_julian_day();
        for s in &self.segments {
            // (group id → per-bucket sums) for this segment, merged by name below.
            let mut acc: Vec<Vec<Decimal>> = Vec::new();
            let names: &[String];
            match group {
                Group::Tag(key) => {
                    let t = &s.tags;
                    let (Ok(Some(cur)), Ok(Some(key)), Ok(p), Ok(sv)) = (
                        t.currency.filter(currency),
                        t.key.filter(key),
                        t.provider.filter(f.provider),
                        t.service.filter(f.service),
                    ) else {
                        continue;
                    };
                    names = &t.value.names;
                    acc.resize(names.len(), Vec::new());
                    for i in day_range(&t.day, b) {
                        if t.currency.ids[i] != cur
                            || t.key.ids[i] != key
                            || p.is_some_and(|p| t.provider.ids[i] != p)
                            || sv.is_some_and(|v| t.service.ids[i] != v)
                        {
                            continue;
                        }
                        let bucket = b.of_day[(t.day[i] - from) as usize];
                        add_to(&mut acc, t.value.ids[i], bucket, b.count, t.amounts[m][i])?;
                    }
                }
                Group::Dim(_) | Group::Nothing => {
                    let d = &s.daily;
                    let (Ok(Some(cur)), Ok(p), Ok(a), Ok(sv), Ok(r), Ok(bl)) = (
                        d.currency.filter(currency),
                        d.provider.filter(f.provider),
                        d.account.filter(f.account),
                        d.service.filter(f.service),
                        d.region.filter(f.region),
                        d.billing.filter(f.billing),
                    ) else {
                        continue;
                    };
                    let col = match group {
                        Group::Dim(Dim::Provider) => Some(&d.provider),
                        Group::Dim(Dim::Account) => Some(&d.account),
                        Group::Dim(Dim::Service) => Some(&d.service),
                        Group::Dim(Dim::Region) => Some(&d.region),
                        Group::Dim(Dim::Category) => Some(&d.category),
                        Group::Dim(Dim::Billing) => Some(&d.billing),
                        _ => None,
                    };
                    static NOTHING: [String; 1] = [String::new()];
                    names = col.map_or(&NOTHING[..], |c| &c.names);
                    acc.resize(names.len(), Vec::new());
                    for i in day_range(&d.day, b) {
                        if d.currency.ids[i] != cur
                            || p.is_some_and(|p| d.provider.ids[i] != p)
                            || a.is_some_and(|a| d.account.ids[i] != a)
                            || sv.is_some_and(|v| d.service.ids[i] != v)
                            || r.is_some_and(|r| d.region.ids[i] != r)
                            || bl.is_some_and(|b| d.billing.ids[i] != b)
                        {
                            continue;
                        }
                        let gid = col.map_or(0, |c| c.ids[i]);
                        let bucket = b.of_day[(d.day[i] - from) as usize];
                        add_to(&mut acc, gid, bucket, b.count, d.amounts[m][i])?;
                    }
                }
            }
            for (gid, per) in acc.into_iter().enumerate() {
                if per.is_empty() {
                    continue;
                }
                let total = out
                    .entry(names[gid].clone())
                    .or_insert_with(|| vec![Decimal::ZERO; b.count]);
                for (t, v) in total.iter_mut().zip(per) {
                    add(t, v)?;
                }
            }
        }
        Ok(out)
    }

    /// The exact total of `metric` in `currency` over [from, to).
    pub fn total(
        &self,
        from: Date,
        to: Date,
        currency: &str,
        metric: Metric,
    ) -> Result<Decimal, AppError> {
        let b = Buckets::single(from, to);
        let sums = self.sums(&b, currency, metric, Group::Nothing, &Filters::default())?;
        Ok(sums.get("").map(|v| v[0]).unwrap_or_default())
    }
}

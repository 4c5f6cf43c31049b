//! The cost explorer's data: spend by period and group over a date range, read from the daily
//! rollups (never line items) and summed exactly in Rust. The page gets display strings and
//! precomputed chart geometry, so no float ever carries money.

use serde::{Deserialize, Serialize};

/// What the report shows; every field comes from the page's query string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (inclusive). Default: the first day of the month, two months ago.
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (inclusive, as people read a date range). Default: today.
    #[serde(default)]
    pub to: String,
    /// `daily` or `monthly`.
    #[serde(default)]
    pub granularity: String,
    /// `service`, `account`, `region`, `provider`, `category`, or `tag:KEY`.
    #[serde(default)]
    pub group_by: String,
    /// `billed` (default), `effective` or `list`.
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub region: String,
}

impl ReportQuery {
    /// The query string that reproduces this report (for the export link and paging).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("granularity", &self.granularity),
            ("group_by", &self.group_by),
            ("metric", &self.metric),
            ("currency", &self.currency),
            ("provider", &self.provider),
            ("account", &self.account),
            ("service", &self.service),
            ("region", &self.region),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", crate::util::urlencode(v)));
            }
        }
        parts.join("&")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportGroup {
    pub key: String,
    /// Per period, in cents for display (`1,234.57`).
    pub values: Vec<String>,
    pub total: String,
    /// Exact total as summed from the source amounts.
    pub total_exact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mover {
    pub key: String,
    pub previous: String,
    pub current: String,
    pub change: String,
    /// Whole percent, when the previous amount was not zero.
    pub percent: Option<String>,
    pub up: bool,
}

/// One stacked bar segment, in chart units (0..=1000 of the tallest bar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub series: usize,
    pub y: u32,
    pub height: u32,
    /// The amount, in cents, for the segment's tooltip.
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The query as applied (defaults filled in).
    pub query: ReportQuery,
    pub currencies: Vec<String>,
    pub periods: Vec<String>,
    /// Largest groups first; beyond the chart's series the rest is folded into "Other" in the
    /// chart only, the table lists every group.
    pub groups: Vec<ReportGroup>,
    pub period_totals: Vec<String>,
    pub grand_total: String,
    pub grand_total_exact: String,
    /// The comparison range for movers: the same number of days right before `from`.
    pub previous_from: String,
    pub previous_to: String,
    pub previous_total: String,
    pub movers: Vec<Mover>,
    /// Chart: per period, the stacked segments; series names (index = `Segment::series`).
    pub bars: Vec<Vec<Segment>>,
    pub series: Vec<String>,
    /// Choices for the filters.
    pub tag_keys: Vec<String>,
    pub providers: Vec<String>,
    pub accounts: Vec<(String, String)>,
    pub services: Vec<String>,
    pub regions: Vec<String>,
    /// Whether any cost data exists at all (for the empty state).
    pub has_data: bool,
    /// Why the range is what it is, when Steward chose it (no dates given and the newest
    /// data older than today: the latest months that have data are shown).
    pub range_note: Option<String>,
    /// The chart's value axis: tick heights (per mille of the plot, as `Segment`) and labels
    /// in the report's currency; the top tick is the plot's top.
    pub axis: Vec<(u32, String)>,
}

/// How many groups get their own colour and pattern in the chart.
pub const CHART_SERIES: usize = 6;

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::calendar::{add_months, first_of_month, Period};
    use crate::costs::cube::{Buckets, Choices, Cube, Dim, Filters, Group, Metric, Snapshot, Sums};
    use crate::db::Db;
    use crate::error::AppError;
    use crate::util::{fmt_date, parse_date};
    use rust_decimal::Decimal;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use time::Date;

    pub use crate::costs::money::cents;

    fn sum(a: Decimal, b: Decimal) -> Result<Decimal, AppError> {
        a.checked_add(b)
            .ok_or_else(|| AppError::internal("amount overflow in report"))
    }

    fn metric(m: &str) -> Result<Metric, AppError> {
        match m {
            "" | "billed" => Ok(Metric::Billed),
            "effective" => Ok(Metric::Effective),
            "list" => Ok(Metric::List),
            other => Err(AppError::invalid(format!(
                "Metric: '{other}' is not billed, effective or list."
            ))),
        }
    }

    fn group(g: &str) -> Result<Group<'_>, AppError> {
        if let Some(tag) = g.strip_prefix("tag:") {
            return Ok(Group::Tag(tag));
        }
        match g {
            "" => Ok(Group::Dim(Dim::Service)),
            "none" => Ok(Group::Nothing),
            other => Dim::from_group(other).map(Group::Dim).ok_or_else(|| {
                AppError::invalid(format!(
                    "Group by: '{other}' is not service, account, region, provider, category or a tag key."
                ))
            }),
        }
    }

    /// Exact sums of the query's metric per group and bucket, from the cube.
    fn group_sums(snap: &Snapshot, q: &ReportQuery, b: &Buckets) -> Result<Sums, AppError> {
        let metric = metric(&q.metric)?;
        let filters = Filters {
            provider: &q.provider,
            account: &q.account,
            service: &q.service,
            region: &q.region,
            billing: "",
        };
        let group = group(&q.group_by)?;
        if let Group::Tag(tag) = group {
            if !q.region.is_empty() || !q.account.is_empty() {
                return Err(AppError::invalid(
                    "Account and region filters: not available when grouping by a tag (tag sums are kept per provider and service).",
                ));
            }
            let mut out = snap.sums(b, &q.currency, metric, Group::Tag(tag), &filters)?;
            // The untagged rest: each bucket's total minus its tagged sums.
            let totals = snap.sums(b, &q.currency, metric, Group::Nothing, &filters)?;
            let mut rest = totals
                .get("")
                .cloned()
                .unwrap_or_else(|| vec![Decimal::ZERO; b.count]);
            for per in out.values() {
                for (r, v) in rest.iter_mut().zip(per) {
                    *r = r
                        .checked_sub(*v)
                        .ok_or_else(|| AppError::internal("amount overflow in report"))?;
                }
            }
            if rest.iter().any(|r| !r.is_zero()) {
                out.insert(format!("({tag} not set)"), rest);
            }
            return Ok(out);
        }
        let sums = snap.sums(b, &q.currency, metric, group, &filters)?;
        // An empty dimension value is shown as "(none)".
        let mut out = Sums::new();
        for (k, v) in sums {
            let key = if k.is_empty() {
                "(none)".to_string()
            } else {
                k
            };
            match out.get_mut(&key) {
                Some(t) => {
                    for (t, v) in t.iter_mut().zip(v) {
                        *t = sum(*t, v)?;
                    }
                }
                None => {
                    out.insert(key, v);
                }
            }
        }
        Ok(out)
    }

    fn period_of(day: &str, monthly: bool) -> String {
        if monthly {
            day.get(..7).unwrap_or(day).to_string()
        } else {
            day.to_string()
        }
    }

    /// The report's periods, and each day's period as cube buckets.
    fn periods(r: &Period, monthly: bool) -> (Vec<String>, Buckets) {
        let mut out: Vec<String> = Vec::new();
        let mut of_day = Vec::new();
        for d in r.iter_days() {
            let p = period_of(&fmt_date(d), monthly);
            if out.last() != Some(&p) {
                out.push(p);
            }
            of_day.push(out.len() as u32 - 1);
        }
        let count = out.len();
        (
            out,
            Buckets {
                from: r.start,
                to: r.end,
                of_day,
                count,
            },
        )
    }

    /// Fills in defaults and checks the query.
    pub(crate) fn normalise(
        choices: &Choices,
        mut q: ReportQuery,
        today: Date,
    ) -> Result<(ReportQuery, Period, Vec<String>, Option<String>), AppError> {
        // With no dates, the latest months that have data (the demo data is from 2024).
        let latest = choices.latest_day.filter(|d| *d < today);
        let mut note = None;
        let to = if q.to.trim().is_empty() {
            match latest.filter(|_| q.from.trim().is_empty()) {
                Some(day) => {
                    note = Some(format!(
                        "The newest cost data is from {}: showing the three months up to that day.",
                        fmt_date(day)
                    ));
                    day
                }
                None => today,
            }
        } else {
            parse_date(&q.to).ok_or_else(|| AppError::invalid("To: a date (YYYY-MM-DD)."))?
        };
        let from = if q.from.trim().is_empty() {
            first_of_month(add_months(to, -2))
        } else {
            parse_date(&q.from).ok_or_else(|| AppError::invalid("From: a date (YYYY-MM-DD)."))?
        };
        if from > to {
            return Err(AppError::invalid("From: must not be after To."));
        }
        if (to - from).whole_days() > 3 * 366 {
            return Err(AppError::invalid("Date range: at most three years."));
        }
        q.from = fmt_date(from);
        q.to = fmt_date(to);
        q.granularity = match q.granularity.as_str() {
            "" => {
                if (to - from).whole_days() > 62 {
                    "monthly".into()
                } else {
                    "daily".into()
                }
            }
            "daily" | "monthly" => q.granularity,
            other => {
                return Err(AppError::invalid(format!(
                    "Granularity: '{other}' is not daily or monthly."
                )))
            }
        };
        if q.group_by.is_empty() {
            q.group_by = "service".into();
        }
        group(&q.group_by)?;
        if q.metric.is_empty() {
            q.metric = "billed".into();
        }
        metric(&q.metric)?;
        let currencies = choices.currencies.clone();
        if q.currency.is_empty() {
            q.currency = if currencies.iter().any(|c| c == "USD") || currencies.is_empty() {
                "USD".into()
            } else {
                currencies[0].clone()
            };
        }
        // `to` is inclusive for people, the period half-open.
        let range = to
            .next_day()
            .and_then(|end| Period::new(from, end))
            .ok_or_else(|| AppError::invalid("To: a date (YYYY-MM-DD)."))?;
        Ok((q, range, currencies, note))
    }

    /// The report for `q` from the cube (refreshed first if the data changed).
    pub async fn build(
        db: &Db,
        cube: &Cube,
        q: ReportQuery,
        today: Date,
    ) -> Result<Report, AppError> {
        let snap = cube.snapshot(db).await?;
        let (q, range, currencies, range_note) = normalise(&snap.choices, q, today)?;
        let monthly = q.granularity == "monthly";
        let (periods, buckets) = periods(&range, monthly);
        let data = group_sums(&snap, &q, &buckets)?;
        // group → period → amount (periods without data are left out)
        let mut groups: Vec<(String, Decimal, BTreeMap<String, Decimal>)> = Vec::new();
        for (g, values) in data {
            let mut t = Decimal::ZERO;
            let mut per = BTreeMap::new();
            for (p, v) in periods.iter().zip(values) {
                t = sum(t, v)?;
                if !v.is_zero() {
                    per.insert(p.clone(), v);
                }
            }
            groups.push((g, t, per));
        }
        groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut period_totals = vec![Decimal::ZERO; periods.len()];
        for (_, _, per) in &groups {
            for (i, p) in periods.iter().enumerate() {
                if let Some(v) = per.get(p) {
                    period_totals[i] = sum(period_totals[i], *v)?;
                }
            }
        }
        let mut grand = Decimal::ZERO;
        for t in &period_totals {
            grand = sum(grand, *t)?;
        }
        // Movers: the same number of days just before.
        let prev = range.previous();
        let prev_data = group_sums(&snap, &q, &Buckets::single(prev.start, prev.end))?;
        let mut prev_by: HashMap<String, Decimal> = HashMap::new();
        let mut prev_total = Decimal::ZERO;
        for (g, a) in prev_data {
            prev_total = sum(prev_total, a[0])?;
            prev_by.insert(g, a[0]);
        }
        let mut keys: BTreeSet<String> = prev_by.keys().cloned().collect();
        keys.extend(groups.iter().map(|g| g.0.clone()));
        let mut movers: Vec<(Decimal, Mover)> = keys
            .into_iter()
            .filter_map(|k| {
                let cur = groups
                    .iter()
                    .find(|g| g.0 == k)
                    .map(|g| g.1)
                    .unwrap_or_default();
                let before = prev_by.get(&k).copied().unwrap_or_default();
                let change = cur - before;
                (!change.is_zero()).then(|| {
                    let percent = (!before.is_zero()).then(|| {
                        let p = (change * Decimal::from(100) / before.abs()).round();
                        format!("{}{p}%", if p.is_sign_positive() { "+" } else { "" })
                    });
                    (
                        change.abs(),
                        Mover {
                            key: k,
                            previous: cents(before),
                            current: cents(cur),
                            change: format!(
                                "{}{}",
                                if change.is_sign_positive() { "+" } else { "" },
                                cents(change)
                            ),
                            percent,
                            up: change.is_sign_positive(),
                        },
                    )
                })
            })
            .collect();
        movers.sort_by_key(|m| std::cmp::Reverse(m.0));
        // Chart: the largest groups get their own series, the rest is "Other"; heights are in
        // thousandths of the tallest positive bar (credits below zero are not drawn).
        let named = groups.len().min(CHART_SERIES);
        let mut series: Vec<String> = groups.iter().take(named).map(|g| g.0.clone()).collect();
        let has_other = groups.len() > named;
        if has_other {
            series.push("Other".into());
        }
        let mut stacks: Vec<Vec<Decimal>> = vec![vec![Decimal::ZERO; series.len()]; periods.len()];
        for (gi, (_, _, per)) in groups.iter().enumerate() {
            let s = gi.min(named);
            for (pi, p) in periods.iter().enumerate() {
                if let Some(v) = per.get(p) {
                    stacks[pi][s] = sum(stacks[pi][s], *v)?;
                }
            }
        }
        let tallest = stacks
            .iter()
            .map(|st| {
                st.iter()
                    .filter(|v| v.is_sign_positive())
                    .copied()
                    .sum::<Decimal>()
            })
            .max()
            .unwrap_or_default();
        let (top, ticks) = crate::costs::chart::value_axis(tallest);
        let tallest = top;
        let axis = ticks
            .iter()
            .map(|t| {
                // Divided first: no overflow near Decimal's limit.
                let pm: u32 = (*t / top * Decimal::from(1000))
                    .round()
                    .try_into()
                    .unwrap_or(0);
                (pm, crate::costs::chart::tick_label(*t))
            })
            .collect();
        let bars = stacks
            .iter()
            .map(|st| {
                let mut y = 0u32;
                st.iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_sign_positive() && !v.is_zero())
                    .map(|(s, v)| {
                        let h = if tallest.is_zero() {
                            0
                        } else {
                            (*v / tallest * Decimal::from(1000))
                                .round()
                                .try_into()
                                .unwrap_or(0u32)
                        };
                        let seg = Segment {
                            series: s,
                            y,
                            height: h,
                            amount: cents(*v),
                        };
                        y += h;
                        seg
                    })
                    .collect()
            })
            .collect();
        let Choices {
            tag_keys,
            providers,
            services,
            regions,
            accounts,
            ..
        } = snap.choices.clone();
        let has_data = !currencies.is_empty();
        Ok(Report {
            groups: groups
                .iter()
                .map(|(k, t, per)| ReportGroup {
                    key: k.clone(),
                    values: periods
                        .iter()
                        .map(|p| cents(per.get(p).copied().unwrap_or_default()))
                        .collect(),
                    total: cents(*t),
                    total_exact: t.normalize().to_string(),
                })
                .collect(),
            period_totals: period_totals.iter().map(|d| cents(*d)).collect(),
            grand_total: cents(grand),
            grand_total_exact: grand.normalize().to_string(),
            previous_from: fmt_date(prev.start),
            previous_to: fmt_date(prev.end.previous_day().unwrap_or(prev.start)),
            previous_total: cents(prev_total),
            movers: movers.into_iter().take(10).map(|(_, m)| m).collect(),
            bars,
            series,
            periods,
            query: q,
            currencies,
            tag_keys,
            providers,
            accounts,
            services,
            regions,
            has_data,
            range_note,
            axis,
        })
    }

    /// The report as CSV: exactly the table the page shows (formula-safe cells).
    pub fn to_csv(r: &Report) -> Result<Vec<u8>, AppError> {
        use crate::util::csv_cell;
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec![group_label(&r.query.group_by)];
        header.extend(r.periods.iter().cloned());
        header.push("Total".into());
        w.write_record(header.iter().map(|h| csv_cell(h).into_owned()))
            .map_err(AppError::internal)?;
        for g in &r.groups {
            let mut row = vec![csv_cell(&g.key).into_owned()];
            row.extend(g.values.iter().map(|v| v.replace(',', "")));
            row.push(g.total.replace(',', ""));
            w.write_record(row).map_err(AppError::internal)?;
        }
        let mut row = vec!["Total".to_string()];
        row.extend(r.period_totals.iter().map(|v| v.replace(',', "")));
        row.push(r.grand_total.replace(',', ""));
        w.write_record(row).map_err(AppError::internal)?;
        w.into_inner().map_err(AppError::internal)
    }
}

pub fn group_label(g: &str) -> String {
    match g {
        "service" => "Service".into(),
        "account" => "Account".into(),
        "region" => "Region".into(),
        "provider" => "Provider".into(),
        "category" => "Charge category".into(),
        g => match g.strip_prefix("tag:") {
            Some(k) => format!("Tag {k}"),
            None => g.to_string(),
        },
    }
}

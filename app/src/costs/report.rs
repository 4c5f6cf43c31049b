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
}

/// How many groups get their own colour and pattern in the chart.
pub const CHART_SERIES: usize = 6;

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::error::AppError;
    use crate::util::{fmt_date, parse_date};
    use rust_decimal::Decimal;
    use sqlx::AnyPool;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use time::{Date, Duration};

    /// Money for people: rounded half away from zero to cents, thousands separated.
    pub fn cents(d: Decimal) -> String {
        let r = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        let neg = r.is_sign_negative() && !r.is_zero();
        let s = format!("{:.2}", r.abs());
        let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
        let mut grouped = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{}{grouped}.{frac}", if neg { "-" } else { "" })
    }

    fn amount(s: &str) -> Result<Decimal, AppError> {
        crate::costs::money::parse_amount(s)
            .map_err(|e| AppError::internal(format!("stored amount '{s}': {e}")))
    }

    fn sum(a: Decimal, b: Decimal) -> Result<Decimal, AppError> {
        a.checked_add(b)
            .ok_or_else(|| AppError::internal("amount overflow in report"))
    }

    pub(crate) struct Range {
        pub from: Date,
        /// Exclusive.
        pub to: Date,
    }

    fn metric_column(m: &str) -> Result<&'static str, AppError> {
        match m {
            "" | "billed" => Ok("billed_cost"),
            "effective" => Ok("effective_cost"),
            "list" => Ok("list_cost"),
            other => Err(AppError::invalid(format!(
                "Metric: '{other}' is not billed, effective or list."
            ))),
        }
    }

    fn group_column(g: &str) -> Result<Option<&'static str>, AppError> {
        Ok(Some(match g {
            "" | "service" => "service_name",
            "account" => "sub_account_id",
            "region" => "region_id",
            "provider" => "provider",
            "category" => "charge_category",
            "none" => return Ok(None),
            g if g.starts_with("tag:") => return Ok(None),
            other => {
                return Err(AppError::invalid(format!(
                    "Group by: '{other}' is not service, account, region, provider, category or a tag key."
                )))
            }
        }))
    }

    /// Sums of one metric per (day, group) in [from, to) for a currency, with the filters.
    async fn daily_sums(
        pool: &AnyPool,
        q: &ReportQuery,
        r: &Range,
    ) -> Result<BTreeMap<(String, String), Decimal>, AppError> {
        let metric = metric_column(&q.metric)?;
        let from = fmt_date(r.from);
        let to = fmt_date(r.to);
        let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        let filters = "($4 = '' OR provider = $4) AND ($5 = '' OR sub_account_id = $5)
                       AND ($6 = '' OR service_name = $6)";
        if let Some(tag) = q.group_by.strip_prefix("tag:") {
            if !q.region.is_empty() || !q.account.is_empty() {
                return Err(AppError::invalid(
                    "Account and region filters: not available when grouping by a tag (tag sums are kept per provider and service).",
                ));
            }
            // Tagged sums per value; the untagged rest is the day's total minus them.
            let tagged: Vec<(String, String, String)> = sqlx::query_as(&format!(
                "SELECT day, tag_value, {metric} FROM cost_daily_tags
                 WHERE day >= $1 AND day < $2 AND currency = $3 AND ($4 = '' OR provider = $4)
                   AND ($5 = '' OR service_name = $5) AND tag_key = $6"
            ))
            .bind(&from)
            .bind(&to)
            .bind(&q.currency)
            .bind(&q.provider)
            .bind(&q.service)
            .bind(tag)
            .fetch_all(pool)
            .await?;
            let mut per_day_tagged: HashMap<String, Decimal> = HashMap::new();
            for (day, value, amt) in tagged {
                let a = amount(&amt)?;
                let e = per_day_tagged.entry(day.clone()).or_default();
                *e = sum(*e, a)?;
                let e = out.entry((day, value)).or_default();
                *e = sum(*e, a)?;
            }
            // Each day's total: from the per-dimension sums (one row per provider and day)
            // unless a filter needs the full rollup.
            let totals: Vec<(String, String)> = if q.provider.is_empty() && q.service.is_empty() {
                sqlx::query_as(&format!(
                    "SELECT day, {metric} FROM cost_daily_dims
                     WHERE dim = 'provider' AND day >= $1 AND day < $2 AND currency = $3"
                ))
                .bind(&from)
                .bind(&to)
                .bind(&q.currency)
                .fetch_all(pool)
                .await?
            } else {
                sqlx::query_as(&format!(
                    "SELECT day, {metric} FROM cost_daily
                     WHERE day >= $1 AND day < $2 AND currency = $3 AND {filters}"
                ))
                .bind(&from)
                .bind(&to)
                .bind(&q.currency)
                .bind(&q.provider)
                .bind(&q.account)
                .bind(&q.service)
                .fetch_all(pool)
                .await?
            };
            let mut per_day: HashMap<String, Decimal> = HashMap::new();
            for (day, amt) in totals {
                let e = per_day.entry(day).or_default();
                *e = sum(*e, amount(&amt)?)?;
            }
            for (day, total) in per_day {
                let rest = total - per_day_tagged.get(&day).copied().unwrap_or_default();
                if !rest.is_zero() {
                    out.insert((day, format!("({tag} not set)")), rest);
                }
            }
            return Ok(out);
        }
        let unfiltered = q.provider.is_empty()
            && q.account.is_empty()
            && q.service.is_empty()
            && q.region.is_empty();
        if let (true, Some(dim)) = (unfiltered, DIMS.iter().find(|d| d.0 == q.group_by.as_str())) {
            // The per-dimension day sums: a few rows per day instead of the full rollup.
            let rows: Vec<(String, String, String)> = sqlx::query_as(&format!(
                "SELECT day, value, {metric} FROM cost_daily_dims
                 WHERE dim = $1 AND day >= $2 AND day < $3 AND currency = $4"
            ))
            .bind(dim.0)
            .bind(&from)
            .bind(&to)
            .bind(&q.currency)
            .fetch_all(pool)
            .await?;
            for (day, g, amt) in rows {
                let key = if g.is_empty() {
                    "(none)".to_string()
                } else {
                    g
                };
                let e = out.entry((day, key)).or_default();
                *e = sum(*e, amount(&amt)?)?;
            }
            return Ok(out);
        }
        let group = group_column(&q.group_by)?.unwrap_or("''");
        let rows: Vec<(String, String, String)> = sqlx::query_as(&format!(
            "SELECT day, {group}, {metric} FROM cost_daily
             WHERE day >= $1 AND day < $2 AND currency = $3 AND {filters}
               AND ($7 = '' OR region_id = $7)"
        ))
        .bind(&from)
        .bind(&to)
        .bind(&q.currency)
        .bind(&q.provider)
        .bind(&q.account)
        .bind(&q.service)
        .bind(&q.region)
        .fetch_all(pool)
        .await?;
        for (day, g, amt) in rows {
            let key = if g.is_empty() {
                "(none)".to_string()
            } else {
                g
            };
            let e = out.entry((day, key)).or_default();
            *e = sum(*e, amount(&amt)?)?;
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

    fn periods(r: &Range, monthly: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut d = r.from;
        while d < r.to {
            let p = period_of(&fmt_date(d), monthly);
            if out.last() != Some(&p) {
                out.push(p);
            }
            d += Duration::days(1);
        }
        out
    }

    /// Fills in defaults and checks the query.
    pub(crate) async fn normalise(
        pool: &AnyPool,
        mut q: ReportQuery,
        today: Date,
    ) -> Result<(ReportQuery, Range, Vec<String>), AppError> {
        let to = if q.to.trim().is_empty() {
            today
        } else {
            parse_date(&q.to).ok_or_else(|| AppError::invalid("To: a date (YYYY-MM-DD)."))?
        };
        let from = if q.from.trim().is_empty() {
            let m = to.month().previous().previous();
            let y = if (to.month() as u8) <= 2 {
                to.year() - 1
            } else {
                to.year()
            };
            Date::from_calendar_date(y, m, 1).unwrap_or(to)
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
        group_column(&q.group_by)?;
        if q.metric.is_empty() {
            q.metric = "billed".into();
        }
        metric_column(&q.metric)?;
        let currencies: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT currency FROM cost_daily_dims ORDER BY currency")
                .fetch_all(pool)
                .await?;
        if q.currency.is_empty() {
            q.currency = if currencies.iter().any(|c| c == "USD") || currencies.is_empty() {
                "USD".into()
            } else {
                currencies[0].clone()
            };
        }
        Ok((
            q,
            Range {
                from,
                to: to + Duration::days(1),
            },
            currencies,
        ))
    }

    pub async fn build(pool: &AnyPool, q: ReportQuery, today: Date) -> Result<Report, AppError> {
        let (q, range, currencies) = normalise(pool, q, today).await?;
        let monthly = q.granularity == "monthly";
        let periods = periods(&range, monthly);
        let data = daily_sums(pool, &q, &range).await?;
        // group → period → amount
        let mut by_group: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
        for ((day, g), a) in &data {
            let e = by_group
                .entry(g.clone())
                .or_default()
                .entry(period_of(day, monthly))
                .or_default();
            *e = sum(*e, *a)?;
        }
        let mut groups: Vec<(String, Decimal, BTreeMap<String, Decimal>)> = Vec::new();
        for (g, per) in by_group {
            let mut t = Decimal::ZERO;
            for v in per.values() {
                t = sum(t, *v)?;
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
        let days = (range.to - range.from).whole_days();
        let prev = Range {
            from: range.from - Duration::days(days),
            to: range.from,
        };
        let prev_data = daily_sums(pool, &q, &prev).await?;
        let mut prev_by: HashMap<String, Decimal> = HashMap::new();
        let mut prev_total = Decimal::ZERO;
        for ((_, g), a) in prev_data {
            prev_total = sum(prev_total, a)?;
            let e = prev_by.entry(g).or_default();
            *e = sum(*e, a)?;
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
                            (*v * Decimal::from(1000) / tallest)
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
        let tag_keys =
            sqlx::query_scalar("SELECT DISTINCT tag_key FROM cost_daily_tags ORDER BY tag_key")
                .fetch_all(pool)
                .await?;
        // Filter choices from the per-dimension sums: a few rows per day, not the full rollup.
        let choices = |dim: &'static str| {
            sqlx::query_scalar::<_, String>(
                "SELECT DISTINCT value FROM cost_daily_dims WHERE dim = $1 AND value <> ''
                 ORDER BY value",
            )
            .bind(dim)
            .fetch_all(pool)
        };
        let providers = choices("provider").await?;
        let services = choices("service").await?;
        let regions = choices("region").await?;
        let accounts = sqlx::query_as(
            "SELECT value, MAX(label) FROM cost_daily_dims
             WHERE dim = 'account' AND value <> '' GROUP BY value ORDER BY value",
        )
        .fetch_all(pool)
        .await?;
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
            previous_from: fmt_date(prev.from),
            previous_to: fmt_date(prev.to - Duration::days(1)),
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
        })
    }

    /// The dimensions kept in `cost_daily_dims`, with their `cost_daily` column.
    const DIMS: [(&str, &str); 5] = [
        ("service", "service_name"),
        ("account", "sub_account_id"),
        ("region", "region_id"),
        ("provider", "provider"),
        ("category", "charge_category"),
    ];

    /// Recomputes the per-dimension day sums for days [from, to) from `cost_daily` (which holds
    /// only live data), inside the caller's transaction.
    pub async fn refresh_dims(
        conn: &mut sqlx::AnyConnection,
        from: &str,
        to: &str,
    ) -> Result<(), AppError> {
        sqlx::query("DELETE FROM cost_daily_dims WHERE day >= $1 AND day < $2")
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await?;
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT day, service_name, sub_account_id, region_id, provider, charge_category,
                    sub_account_name, currency, billed_cost, effective_cost, list_cost, row_count
             FROM cost_daily WHERE day >= $1 AND day < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        // (dim, day, value, currency) → (label, [billed, effective, list], rows)
        type Sums = (String, [Decimal; 3], i64);
        let mut sums: BTreeMap<(usize, String, String, String), Sums> = BTreeMap::new();
        for r in rows {
            let values = [&r.1, &r.2, &r.3, &r.4, &r.5];
            let amounts = [amount(&r.8)?, amount(&r.9)?, amount(&r.10)?];
            for (i, v) in values.iter().enumerate() {
                let e = sums
                    .entry((i, r.0.clone(), (*v).clone(), r.7.clone()))
                    .or_insert_with(|| (String::new(), [Decimal::ZERO; 3], 0));
                if i == 1 && e.0.is_empty() {
                    e.0 = r.6.clone();
                }
                for (total, a) in e.1.iter_mut().zip(amounts) {
                    *total = sum(*total, a)?;
                }
                e.2 += r.11;
            }
        }
        for ((i, day, value, currency), (label, a, n)) in sums {
            sqlx::query(
                "INSERT INTO cost_daily_dims (day, dim, value, label, currency, billed_cost,
                     effective_cost, list_cost, row_count)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&day)
            .bind(DIMS[i].0)
            .bind(&value)
            .bind(&label)
            .bind(&currency)
            .bind(a[0].to_string())
            .bind(a[1].to_string())
            .bind(a[2].to_string())
            .bind(n)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Exact total of one metric over [from, to) in a currency (for the dashboard tile).
    pub async fn total_between(
        pool: &AnyPool,
        from: Date,
        to: Date,
        currency: &str,
    ) -> Result<Decimal, AppError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT billed_cost FROM cost_daily_dims
             WHERE dim = 'provider' AND day >= $1 AND day < $2 AND currency = $3",
        )
        .bind(fmt_date(from))
        .bind(fmt_date(to))
        .bind(currency)
        .fetch_all(pool)
        .await?;
        let mut t = Decimal::ZERO;
        for r in rows {
            t = sum(t, amount(&r)?)?;
        }
        Ok(t)
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn cents_round_half_away_from_zero_and_group_thousands() {
        let c = |s: &str| cents(Decimal::from_str(s).unwrap());
        assert_eq!(c("20.52471385921"), "20.52");
        assert_eq!(c("0.005"), "0.01");
        assert_eq!(c("-0.005"), "-0.01");
        assert_eq!(c("1234567.895"), "1,234,567.90");
        assert_eq!(c("-0.001"), "0.00");
        assert_eq!(c("999.999"), "1,000.00");
    }
}

//! The vendors' SQL: the register read in four grouped queries (vendors, contracts, reports,
//! DPAs) and summarised in Rust (tier, dates, warnings); the audited writes.

use super::dates::{self, Standing, Terms};
use super::tier;
use super::warnings::{self, Facts};
use super::*;
use crate::calendar::IsoDuration;
use crate::util::{fmt_date, parse_date};
use sqlx::{AnyPool, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use time::Date;

pub struct Vendor {
    pub id: i64,
    pub name: String,
    pub legal_name: String,
    pub website: String,
    pub category: String,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub owner_username: Option<String>,
    pub services: String,
    pub countries: String,
    pub data_categories: String,
    pub subprocessor_of: Option<i64>,
    pub data_sensitivity: String,
    pub business_impact: String,
    pub tier_override: Option<i64>,
    pub override_reason: String,
    pub review_status: String,
    pub last_review: Option<String>,
    pub created_at: String,
}

pub struct Contract {
    pub id: i64,
    pub title: String,
    pub start: String,
    pub end: Option<String>,
    pub auto_renew: bool,
    pub renewal_term: String,
    pub notice_period: String,
    pub annual_value: Option<String>,
    pub currency: String,
}

pub struct Report {
    pub id: i64,
    pub kind: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub issued: String,
    pub valid_until: String,
    pub note: String,
    pub evidence_id: Option<i64>,
    pub added_by: String,
}

pub use super::SpendScope as Scope;

/// Everything a summary is made of, for one vendor or all.
pub struct Register {
    pub vendors: Vec<Vendor>,
    pub contracts: HashMap<i64, Vec<Contract>>,
    pub reports: HashMap<i64, Vec<Report>>,
    pub with_dpa: HashSet<i64>,
    pub scopes: HashMap<i64, Vec<Scope>>,
    /// Each vendor's spend, once `with_spend` has read the cost data.
    pub spend: HashMap<i64, Vec<super::spend::SpendView>>,
}

impl Register {
    /// Reads each vendor's spend from the cost cube.
    pub fn with_spend(
        &mut self,
        snap: &crate::costs::cube::Snapshot,
        today: Date,
    ) -> Result<(), AppError> {
        for (id, scopes) in &self.scopes {
            self.spend
                .insert(*id, super::spend::vendor_spend(snap, scopes, today)?);
        }
        Ok(())
    }

    pub fn all_scopes(&self) -> Vec<Scope> {
        self.scopes.values().flatten().cloned().collect()
    }
}

pub async fn register(pool: &AnyPool, one: Option<i64>) -> Result<Register, AppError> {
    let id = one.unwrap_or(0);
    let rows = sqlx::query(
        "SELECT v.id, v.name, v.legal_name, v.website, v.category, v.owner_id, u.display_name, u.username, v.services, \
         v.countries, v.data_categories, v.subprocessor_of, v.data_sensitivity, v.business_impact, v.tier_override, \
         v.override_reason, v.review_status, v.last_review_date, v.created_at \
         FROM vendors v LEFT JOIN users u ON u.id = v.owner_id WHERE $1 = 0 OR v.id = $1 ORDER BY v.name",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut vendors = Vec::with_capacity(rows.len());
    for r in rows {
        vendors.push(Vendor {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            legal_name: r.try_get("legal_name")?,
            website: r.try_get("website")?,
            category: r.try_get("category")?,
            owner_id: r.try_get("owner_id")?,
            owner: r.try_get("display_name")?,
            owner_username: r.try_get("username")?,
            services: r.try_get("services")?,
            countries: r.try_get("countries")?,
            data_categories: r.try_get("data_categories")?,
            subprocessor_of: r.try_get("subprocessor_of")?,
            data_sensitivity: r.try_get("data_sensitivity")?,
            business_impact: r.try_get("business_impact")?,
            tier_override: r.try_get("tier_override")?,
            override_reason: r.try_get("override_reason")?,
            review_status: r.try_get("review_status")?,
            last_review: r.try_get("last_review_date")?,
            created_at: r.try_get("created_at")?,
        });
    }
    let mut contracts: HashMap<i64, Vec<Contract>> = HashMap::new();
    let rows = sqlx::query(
        "SELECT id, vendor_id, title, start_date, end_date, auto_renew, renewal_term, notice_period, annual_value, currency \
         FROM vendor_contracts WHERE $1 = 0 OR vendor_id = $1 ORDER BY start_date, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    for r in rows {
        contracts
            .entry(r.try_get("vendor_id")?)
            .or_default()
            .push(Contract {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                start: r.try_get("start_date")?,
                end: r.try_get("end_date")?,
                auto_renew: r.try_get::<i64, _>("auto_renew")? == 1,
                renewal_term: r.try_get("renewal_term")?,
                notice_period: r.try_get("notice_period")?,
                annual_value: r.try_get("annual_value")?,
                currency: r.try_get("currency")?,
            });
    }
    let mut reports: HashMap<i64, Vec<Report>> = HashMap::new();
    let rows = sqlx::query(
        "SELECT a.id, a.vendor_id, a.kind, a.period_start, a.period_end, a.issued, a.valid_until, a.note, a.evidence_id, \
         u.display_name FROM vendor_assurance a JOIN users u ON u.id = a.created_by \
         WHERE $1 = 0 OR a.vendor_id = $1 ORDER BY a.valid_until DESC, a.id DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    for r in rows {
        reports
            .entry(r.try_get("vendor_id")?)
            .or_default()
            .push(Report {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                period_start: r.try_get("period_start")?,
                period_end: r.try_get("period_end")?,
                issued: r.try_get("issued")?,
                valid_until: r.try_get("valid_until")?,
                note: r.try_get("note")?,
                evidence_id: r.try_get("evidence_id")?,
                added_by: r.try_get("display_name")?,
            });
    }
    let with_dpa: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT vendor_id FROM vendor_documents WHERE kind = 'dpa' AND ($1 = 0 OR vendor_id = $1)",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut scopes: HashMap<i64, Vec<Scope>> = HashMap::new();
    let rows: Vec<(i64, i64, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, vendor_id, provider, billing_account, service, tag_key, tag_value FROM vendor_scopes \
         WHERE $1 = 0 OR vendor_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    for (sid, vid, provider, billing_account, service, tag_key, tag_value) in rows {
        scopes.entry(vid).or_default().push(Scope {
            id: sid,
            provider,
            billing_account,
            service,
            tag_key,
            tag_value,
        });
    }
    Ok(Register {
        vendors,
        contracts,
        reports,
        with_dpa: with_dpa.into_iter().collect(),
        scopes,
        spend: HashMap::new(),
    })
}

fn duration(s: &str) -> IsoDuration {
    IsoDuration::parse(s).unwrap_or_default()
}

pub fn terms(c: &Contract) -> Option<Terms> {
    Some(Terms {
        start: parse_date(&c.start)?,
        end: c.end.as_deref().and_then(parse_date),
        auto_renew: c.auto_renew,
        renewal_term: duration(&c.renewal_term),
        notice: duration(&c.notice_period),
    })
}

pub fn tier_of(v: &Vendor) -> u8 {
    match v.tier_override {
        Some(t @ 1..=3) => t as u8,
        _ => tier::tier(&v.data_sensitivity, &v.business_impact),
    }
}

/// The newest report of each kind: what is current is judged on it.
pub fn newest_by_kind(reports: &[Report]) -> Vec<&Report> {
    let mut seen = HashSet::new();
    reports
        .iter()
        .filter(|r| seen.insert(r.kind.as_str()))
        .collect()
}

pub fn contract_view(c: &Contract, today: Date) -> ContractView {
    let t = terms(c);
    let end = t.as_ref().and_then(|t| dates::term_end(t, today));
    ContractView {
        id: c.id,
        title: c.title.clone(),
        start: c.start.clone(),
        end: c.end.clone(),
        auto_renew: c.auto_renew,
        renewal_term: c.renewal_term.clone(),
        notice_period: c.notice_period.clone(),
        term_end: end.map(fmt_date),
        notice_deadline: t
            .as_ref()
            .and_then(|t| dates::notice_deadline(t, today))
            .map(fmt_date),
        standing: t
            .as_ref()
            .map(|t| dates::standing(t, today).as_str())
            .unwrap_or("running")
            .to_string(),
        annual_value: c.annual_value.clone(),
        currency: c.currency.clone(),
    }
}

pub fn summarize(reg: &Register, v: &Vendor, today: Date) -> VendorSummary {
    let tier = tier_of(v);
    let none = Vec::new();
    let contracts = reg.contracts.get(&v.id).unwrap_or(&none);
    let no_reports = Vec::new();
    let reports = reg.reports.get(&v.id).unwrap_or(&no_reports);
    let newest = newest_by_kind(reports);
    let expiries: Vec<(String, Date)> = newest
        .iter()
        .filter_map(|r| {
            Some((
                assurance_label(&r.kind).to_string(),
                parse_date(&r.valid_until)?,
            ))
        })
        .collect();
    let added = parse_date(v.created_at.get(..10).unwrap_or(&v.created_at)).unwrap_or(today);
    let (next, why) = dates::next_review(
        v.last_review.as_deref().and_then(parse_date),
        added,
        &tier::cadence(tier),
        tier::cadence_text(tier),
        &expiries,
    );
    let standings: Vec<(String, Standing, Option<Date>)> = contracts
        .iter()
        .filter_map(|c| {
            let t = terms(c)?;
            Some((
                c.title.clone(),
                dates::standing(&t, today),
                dates::notice_deadline(&t, today),
            ))
        })
        .collect();
    let soc2_until = reports
        .iter()
        .filter(|r| r.kind.starts_with("soc2"))
        .filter_map(|r| parse_date(&r.valid_until))
        .max();
    let value = annual_value(contracts, today);
    let over: Vec<(String, String, String)> = (reg.spend.get(&v.id).into_iter().flatten())
        .filter_map(|sp| {
            let limit = value.get(&sp.currency)?;
            let spent = crate::costs::money::parse_amount(&sp.last_12_months).ok()?;
            (spent > *limit).then(|| {
                (
                    sp.currency.clone(),
                    sp.last_12_months.clone(),
                    limit.normalize().to_string(),
                )
            })
        })
        .collect();
    let warnings = warnings::warnings(&Facts {
        tier,
        contracts: &standings,
        soc2_until,
        has_dpa: reg.with_dpa.contains(&v.id),
        next_review: next,
        today,
        over_contract: &over,
    });
    let notice_deadline = standings
        .iter()
        .filter_map(|(t, _, d)| Some((d.filter(|d| *d >= today)?, t)))
        .min()
        .map(|(d, t)| (fmt_date(d), t.clone()));
    VendorSummary {
        id: v.id,
        name: v.name.clone(),
        category: v.category.clone(),
        owner: v.owner.clone(),
        tier,
        tier_overridden: v.tier_override.is_some(),
        review_status: v.review_status.clone(),
        next_review: fmt_date(next),
        next_review_why: why,
        notice_deadline,
        annual_value: value
            .into_iter()
            .map(|(c, d)| (c, d.normalize().to_string()))
            .collect(),
        warnings: warnings
            .into_iter()
            .map(|(c, w)| (c.to_string(), w))
            .collect(),
    }
}

/// The annual value of the contracts running on `today`, by currency.
fn annual_value(contracts: &[Contract], today: Date) -> BTreeMap<String, rust_decimal::Decimal> {
    let mut value: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
    for c in contracts {
        let running = terms(c).is_some_and(|t| {
            !matches!(
                dates::standing(&t, today),
                Standing::Ended | Standing::NotStarted
            )
        });
        if let (true, Some(v)) = (running, c.annual_value.as_deref()) {
            if let Ok(d) = crate::costs::money::parse_amount(v) {
                *value.entry(c.currency.clone()).or_default() += d;
            }
        }
    }
    value
}

pub fn report_view(r: &Report, today: Date) -> AssuranceView {
    AssuranceView {
        id: r.id,
        kind: r.kind.clone(),
        label: assurance_label(&r.kind).to_string(),
        period: r.period_start.clone().zip(r.period_end.clone()),
        issued: r.issued.clone(),
        valid_until: r.valid_until.clone(),
        current: parse_date(&r.valid_until).is_some_and(|d| d > today),
        note: r.note.clone(),
        evidence_id: r.evidence_id,
        added_by: r.added_by.clone(),
    }
}

/// The vendor's documents: (evidence id, title, kind).
pub async fn documents(pool: &AnyPool, id: i64) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT d.evidence_id, e.title, d.kind FROM vendor_documents d JOIN evidence e ON e.id = d.evidence_id \
         WHERE d.vendor_id = $1 ORDER BY d.kind, e.title",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}

/// (id, name) of the vendors that are sub-processors of `id`, and the one it serves.
pub async fn chain(
    pool: &AnyPool,
    v: &Vendor,
) -> Result<(Option<(i64, String)>, Vec<(i64, String)>), AppError> {
    let up: Option<(i64, String)> = sqlx::query_as("SELECT id, name FROM vendors WHERE id = $1")
        .bind(v.subprocessor_of.unwrap_or(0))
        .fetch_optional(pool)
        .await?;
    let down =
        sqlx::query_as("SELECT id, name FROM vendors WHERE subprocessor_of = $1 ORDER BY name")
            .bind(v.id)
            .fetch_all(pool)
            .await?;
    Ok((up, down))
}

/// "provider AWS · service Amazon S3 · tag team=data".
pub fn describe(s: &Scope) -> String {
    let mut parts = Vec::new();
    for (label, v) in [
        ("provider", &s.provider),
        ("billing account", &s.billing_account),
        ("service", &s.service),
    ] {
        if !v.is_empty() {
            parts.push(format!("{label} {v}"));
        }
    }
    if !s.tag_key.is_empty() {
        parts.push(format!("tag {}={}", s.tag_key, s.tag_value));
    }
    parts.join(" · ")
}

pub fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

//! A vendor's fields checked and written, for the form (`requests::save`) and the import
//! (`import.rs`) alike: the same checks, every wrong field named ("field: why"), and the same
//! write with its audit event in the caller's transaction; a contract's likewise.

use super::store::split;
use super::tier;
use super::{ContractForm, VendorForm};
use crate::audit::chain::AuditCtx;
use crate::calendar::IsoDuration;
use crate::db::WriteTx;
use crate::error::AppError;
use crate::util::{fmt_date, parse_date};

pub(super) use crate::fields::text as text_field;

/// A vendor's fields as they are stored, the owner and parent still as written.
pub struct Checked {
    pub name: String,
    pub legal: String,
    pub website: String,
    pub category: String,
    pub services: String,
    /// Upper-case codes, comma-separated.
    pub countries: String,
    /// Lower-case, comma-separated.
    pub categories: String,
    pub sensitivity: String,
    pub impact: String,
    pub tier_override: Option<i64>,
    pub reason: String,
    /// Username or email, or empty.
    pub owner: String,
    /// A vendor's name, or empty.
    pub parent: String,
}

/// Checks what needs no database; each wrong field is pushed onto `errors`.
pub fn check(f: &VendorForm, errors: &mut Vec<String>) -> Checked {
    let name = text_field(errors, "name", &f.name, 200);
    if name.is_empty() {
        errors.push("name: required".into());
    }
    let legal = text_field(errors, "legal name", &f.legal_name, 300);
    let website = text_field(errors, "website", &f.website, 500);
    let web =
        website.is_empty() || website.starts_with("https://") || website.starts_with("http://");
    if !web {
        errors.push(format!("website: '{website}' is not an http(s) address"));
    }
    let category = text_field(errors, "category", &f.category, 100);
    let services = text_field(errors, "services", &f.services, 2000);
    let countries: Vec<String> = split(&f.countries)
        .iter()
        .map(|c| c.to_uppercase())
        .collect();
    for c in &countries {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(format!(
                "countries: '{c}' is not a two-letter country code (ISO 3166)"
            ));
        }
    }
    let categories: Vec<String> = split(&f.data_categories)
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    let categories = text_field(errors, "data categories", &categories.join(","), 2000);
    let sensitivity = match f.data_sensitivity.trim() {
        "" => "internal",
        s if tier::SENSITIVITIES.contains(&s) => s,
        s => {
            errors.push(format!(
                "data sensitivity: '{s}' is not none, internal, confidential or restricted"
            ));
            "internal"
        }
    };
    let impact = match f.business_impact.trim() {
        "" => "medium",
        s if tier::IMPACTS.contains(&s) => s,
        s => {
            errors.push(format!(
                "business impact: '{s}' is not low, medium, high or critical"
            ));
            "medium"
        }
    };
    let tier_override: Option<i64> = match f.tier_override.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(n @ 1..=3) => Some(n),
            _ => {
                errors.push(format!("tier override: '{t}' is not 1, 2 or 3"));
                None
            }
        },
    };
    let reason = text_field(errors, "override reason", &f.override_reason, 2000);
    if tier_override.is_some() && reason.is_empty() {
        errors.push("override reason: required to override the rubric's tier".into());
    }
    Checked {
        name,
        legal,
        website,
        category,
        services,
        countries: countries.join(","),
        categories,
        sensitivity: sensitivity.to_string(),
        impact: impact.to_string(),
        tier_override,
        reason,
        owner: text_field(errors, "owner", &f.owner, 320),
        parent: text_field(errors, "sub-processor of", &f.subprocessor_of, 200),
    }
}

/// What happened to a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created(i64),
    Updated(i64),
    /// Everything as stored already: nothing written (the import only).
    Unchanged(i64),
}

impl Written {
    pub fn id(self) -> i64 {
        match self {
            Written::Created(id) | Written::Updated(id) | Written::Unchanged(id) => id,
        }
    }
}

/// The vendor named `name` (case-insensitive).
pub async fn by_name(tx: &mut WriteTx, name: &str) -> Result<Option<i64>, AppError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM vendors WHERE LOWER(name) = LOWER($1)")
            .bind(name.trim())
            .fetch_optional(tx.conn())
            .await?,
    )
}

/// The vendor's parent by name, refusing itself and circles.
async fn parent(
    tx: &mut WriteTx,
    id: Option<i64>,
    p: &str,
    errors: &mut Vec<String>,
) -> Result<Option<i64>, AppError> {
    if p.is_empty() {
        return Ok(None);
    }
    let Some(found) = by_name(tx, p).await? else {
        errors.push(format!("sub-processor of: no vendor is named '{p}'"));
        return Ok(None);
    };
    if Some(found) == id {
        errors.push("sub-processor of: a vendor is not its own sub-processor".into());
        return Ok(None);
    }
    // No circles: walking up from the parent must not reach this vendor.
    let mut at = Some(found);
    for _ in 0..100 {
        let Some(cur) = at else { break };
        if Some(cur) == id {
            errors.push(format!(
                "sub-processor of: '{p}' is already downstream of this vendor"
            ));
            break;
        }
        at = sqlx::query_scalar("SELECT subprocessor_of FROM vendors WHERE id = $1")
            .bind(cur)
            .fetch_optional(tx.conn())
            .await?
            .flatten();
    }
    Ok(Some(found))
}

/// A vendor's row as stored, to compare.
#[derive(PartialEq, Eq, sqlx::FromRow)]
struct Stored {
    name: String,
    legal_name: String,
    website: String,
    category: String,
    owner_id: Option<i64>,
    services: String,
    countries: String,
    data_categories: String,
    subprocessor_of: Option<i64>,
    data_sensitivity: String,
    business_impact: String,
    tier_override: Option<i64>,
    override_reason: String,
}

/// Writes vendor `id` (none: a new one) with its audit event, after the checks that need the
/// database (the owner, the parent, a name taken). `Err` inside: the fields found wrong, with
/// `errors` (from `check`) first; nothing written. `keep_unchanged`: a vendor already stored
/// exactly so is not written again.
pub async fn write(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    id: Option<i64>,
    c: &Checked,
    mut errors: Vec<String>,
    keep_unchanged: bool,
) -> Result<Result<Written, Vec<String>>, AppError> {
    let owner = match c.owner.as_str() {
        "" => None,
        who => match crate::budgets::store::person(tx.conn(), "owner", who).await {
            Ok(id) => Some(id),
            Err((field, why)) => {
                errors.push(format!("{field}: {why}"));
                None
            }
        },
    };
    let parent = parent(tx, id, &c.parent, &mut errors).await?;
    let clash = by_name(tx, &c.name).await?;
    if !c.name.is_empty() && clash.is_some_and(|other| Some(other) != id) {
        errors.push(format!("name: a vendor is named '{}' already", c.name));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let new = Stored {
        name: c.name.clone(),
        legal_name: c.legal.clone(),
        website: c.website.clone(),
        category: c.category.clone(),
        owner_id: owner,
        services: c.services.clone(),
        countries: c.countries.clone(),
        data_categories: c.categories.clone(),
        subprocessor_of: parent,
        data_sensitivity: c.sensitivity.clone(),
        business_impact: c.impact.clone(),
        tier_override: c.tier_override,
        override_reason: c.reason.clone(),
    };
    if let (Some(id), true) = (id, keep_unchanged) {
        let stored: Option<Stored> = sqlx::query_as(
            "SELECT name, legal_name, website, category, owner_id, services, countries, data_categories, \
             subprocessor_of, data_sensitivity, business_impact, tier_override, override_reason \
             FROM vendors WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
        if stored.as_ref() == Some(&new) {
            return Ok(Ok(Written::Unchanged(id)));
        }
    }
    let q = match id {
        None => sqlx::query_scalar(
            "INSERT INTO vendors (name, legal_name, website, category, owner_id, services, countries, data_categories, \
             subprocessor_of, data_sensitivity, business_impact, tier_override, override_reason, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        ),
        Some(_) => sqlx::query_scalar(
            "UPDATE vendors SET name = $1, legal_name = $2, website = $3, category = $4, owner_id = $5, services = $6, \
             countries = $7, data_categories = $8, subprocessor_of = $9, data_sensitivity = $10, business_impact = $11, \
             tier_override = $12, override_reason = $13, updated_at = $14 WHERE id = $15 RETURNING id",
        ),
    }
    .bind(&c.name)
    .bind(&c.legal)
    .bind(&c.website)
    .bind(&c.category)
    .bind(owner)
    .bind(&c.services)
    .bind(&c.countries)
    .bind(&c.categories)
    .bind(parent)
    .bind(&c.sensitivity)
    .bind(&c.impact)
    .bind(c.tier_override)
    .bind(&c.reason)
    .bind(&ctx.at);
    let q = match id {
        Some(id) => q.bind(id),
        None => q,
    };
    let written: i64 = q
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let (sensitivity, impact) = (&c.sensitivity, &c.impact);
    let tier = c
        .tier_override
        .map(|t| t as u8)
        .unwrap_or_else(|| tier::tier(sensitivity, impact));
    tx.audit(ctx.event(
        if id.is_some() {
            "vendor.update"
        } else {
            "vendor.create"
        },
        "vendor",
        written,
        format!(
            "vendor '{}': tier {tier}{} (sensitivity {sensitivity}, impact {impact}){}",
            c.name,
            c.tier_override
                .map(|_| format!(" by override: {}", c.reason))
                .unwrap_or_default(),
            if c.categories.is_empty() {
                String::new()
            } else {
                format!("; data: {}", c.categories)
            }
        ),
    ))
    .await?;
    Ok(Ok(if id.is_some() {
        Written::Updated(written)
    } else {
        Written::Created(written)
    }))
}

pub(super) fn date_field(
    errors: &mut Vec<String>,
    field: &str,
    raw: &str,
    required: bool,
) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        if required {
            errors.push(format!("{field}: required (YYYY-MM-DD)"));
        }
        return None;
    }
    match parse_date(raw) {
        Some(d) => Some(fmt_date(d)),
        None => {
            errors.push(format!("{field}: '{raw}' is not a date (YYYY-MM-DD)"));
            None
        }
    }
}

fn duration_field(errors: &mut Vec<String>, field: &str, raw: &str, default: &str) -> String {
    let raw = if raw.trim().is_empty() {
        default
    } else {
        raw.trim()
    };
    match IsoDuration::parse(raw) {
        Ok(d) => d.to_string(),
        Err(why) => {
            errors.push(format!("{field}: {why}"));
            String::new()
        }
    }
}

/// A contract's fields as they are stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckedContract {
    pub title: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub auto_renew: i64,
    pub renewal: String,
    pub notice: String,
    pub value: Option<String>,
    pub currency: String,
}

/// Checks a contract's fields; each wrong field is pushed onto `errors`.
pub fn check_contract(f: &ContractForm, errors: &mut Vec<String>) -> CheckedContract {
    let title = text_field(errors, "title", &f.title, 200);
    if title.is_empty() {
        errors.push("title: required".into());
    }
    let start = date_field(errors, "start", &f.start, true);
    let end = date_field(errors, "end", &f.end, false);
    if let (Some(s), Some(e)) = (&start, &end) {
        if e <= s {
            errors.push(format!(
                "end: {e} is not after the start {s} (the end is exclusive)"
            ));
        }
    }
    let auto = f.auto_renew.is_some();
    if auto && end.is_none() {
        errors.push("end: an auto-renewing contract needs the end of its first term".into());
    }
    let renewal = duration_field(errors, "renewal term", &f.renewal_term, "P1Y");
    if auto && renewal == "P0D" {
        errors.push("renewal term: an auto-renewing contract renews for at least a day".into());
    }
    let notice = duration_field(errors, "notice period", &f.notice_period, "P0D");
    let value = match f.annual_value.trim() {
        "" => None,
        v => match crate::costs::money::parse_amount(v) {
            Ok(d) if d >= rust_decimal::Decimal::ZERO => Some(d.to_string()),
            Ok(_) => {
                errors.push("annual value: not negative".into());
                None
            }
            Err(why) => {
                errors.push(format!("annual value: {why}"));
                None
            }
        },
    };
    let currency = f.currency.trim().to_uppercase();
    let currency = if currency.is_empty() {
        "USD".to_string()
    } else {
        currency
    };
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(format!(
            "currency: '{currency}' is not a three-letter code (ISO 4217)"
        ));
    }
    CheckedContract {
        title,
        start,
        end,
        auto_renew: auto as i64,
        renewal,
        notice,
        value,
        currency,
    }
}

const CONTRACT_COLUMNS: &str = "title, start_date AS start, end_date AS \"end\", auto_renew, \
    renewal_term AS renewal, notice_period AS notice, annual_value AS value, currency";

/// Contract `id` of vendor `vendor_id` as stored.
pub async fn stored_contract(
    tx: &mut WriteTx,
    (vendor_id, id): (i64, i64),
) -> Result<Option<CheckedContract>, AppError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CONTRACT_COLUMNS} FROM vendor_contracts WHERE id = $1 AND vendor_id = $2"
    ))
    .bind(id)
    .bind(vendor_id)
    .fetch_optional(tx.conn())
    .await?)
}

/// Writes contract `id` (none: a new one) of vendor `vendor_id` with its audit event;
/// `keep_unchanged` as in `write`. Not found: the vendor or the contract is not there.
pub async fn write_contract(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    (vendor_id, id): (i64, Option<i64>),
    c: &CheckedContract,
    keep_unchanged: bool,
) -> Result<Written, AppError> {
    let vendor: String = sqlx::query_scalar("SELECT name FROM vendors WHERE id = $1")
        .bind(vendor_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    if let (Some(id), true) = (id, keep_unchanged) {
        if stored_contract(tx, (vendor_id, id)).await?.as_ref() == Some(c) {
            return Ok(Written::Unchanged(id));
        }
    }
    let q = match id {
        None => sqlx::query_scalar(
            "INSERT INTO vendor_contracts (vendor_id, title, start_date, end_date, auto_renew, renewal_term, notice_period, \
             annual_value, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        ),
        Some(_) => sqlx::query_scalar(
            "UPDATE vendor_contracts SET vendor_id = $1, title = $2, start_date = $3, end_date = $4, auto_renew = $5, \
             renewal_term = $6, notice_period = $7, annual_value = $8, currency = $9, updated_at = $10 \
             WHERE id = $11 AND vendor_id = $1 RETURNING id",
        ),
    }
    .bind(vendor_id)
    .bind(&c.title)
    .bind(&c.start)
    .bind(&c.end)
    .bind(c.auto_renew)
    .bind(&c.renewal)
    .bind(&c.notice)
    .bind(&c.value)
    .bind(&c.currency)
    .bind(&ctx.at);
    let q = match id {
        Some(id) => q.bind(id),
        None => q,
    };
    let written: i64 = q
        .fetch_optional(tx.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let (title, notice, renewal, currency) = (&c.title, &c.notice, &c.renewal, &c.currency);
    tx.audit(ctx.event(
        if id.is_some() {
            "vendor.contract_update"
        } else {
            "vendor.contract_create"
        },
        "vendor",
        vendor_id,
        format!(
            "contract '{title}' of '{vendor}': from {} to {}{}, notice {notice}{}",
            c.start.clone().unwrap_or_default(),
            c.end.clone().unwrap_or_else(|| "open-ended".into()),
            if c.auto_renew == 1 { format!(", renews by {renewal}") } else { String::new() },
            c.value.as_ref().map(|v| format!(", {v} {currency} a year")).unwrap_or_default()
        ),
    ))
    .await?;
    Ok(if id.is_some() {
        Written::Updated(written)
    } else {
        Written::Created(written)
    })
}

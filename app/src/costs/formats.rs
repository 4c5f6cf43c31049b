//! Source formats: recognising a file by its header (FOCUS 1.0/1.1/1.2, AWS CUR legacy and
//! CUR 2.0) and mapping each row onto the one FOCUS-shaped line item.
//!
//! Header names match case-insensitively, in any order, after trimming and dropping a UTF-8
//! BOM; unknown and `x_` columns are kept in the row's `extra` JSON. A value that is empty or
//! the literal `NULL` is null.

use super::money::parse_amount;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Focus10,
    Focus11,
    Focus12,
    AwsCurLegacy,
    AwsCur2,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Focus10 => "focus-1.0",
            Format::Focus11 => "focus-1.1",
            Format::Focus12 => "focus-1.2",
            Format::AwsCurLegacy => "aws-cur-legacy",
            Format::AwsCur2 => "aws-cur-2.0",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Focus10 => "FOCUS 1.0",
            Format::Focus11 => "FOCUS 1.1",
            Format::Focus12 => "FOCUS 1.2",
            Format::AwsCurLegacy => "AWS Cost and Usage Report (legacy)",
            Format::AwsCur2 => "AWS Cost and Usage Report 2.0",
        }
    }
}

/// One source row in the common model. Instants are stored-format UTC text.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    pub provider: String,
    pub billing_account_id: String,
    pub billing_account_name: String,
    pub billing_period_start: String,
    pub billing_period_end: String,
    pub sub_account_id: String,
    pub sub_account_name: String,
    pub service_name: String,
    pub service_category: String,
    pub region_id: String,
    pub resource_id: String,
    pub charge_category: String,
    pub charge_period_start: String,
    pub charge_period_end: String,
    /// UTC day of `charge_period_start`.
    pub usage_date: String,
    pub billed: Decimal,
    pub effective: Decimal,
    pub list: Decimal,
    pub currency: String,
    pub tags: BTreeMap<String, String>,
    /// The row's other non-null columns as a JSON object, by header name.
    pub extra: String,
}

/// A problem in one field of a row; the importer adds the row and line numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub column: String,
    pub reason: String,
}

fn field_err(column: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        column: column.to_string(),
        reason: reason.into(),
    }
}

/// The header of a file, searchable case-insensitively.
struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn new(raw: &[String]) -> Result<Header, String> {
        let mut names = Vec::with_capacity(raw.len());
        let mut index = HashMap::new();
        for (i, n) in raw.iter().enumerate() {
            let n = n.trim_start_matches('\u{feff}').trim().to_string();
            if !n.is_empty() && index.insert(n.to_ascii_lowercase(), i).is_some() {
                return Err(format!(
                    "the column '{n}' appears more than once in the header"
                ));
            }
            names.push(n);
        }
        Ok(Header { names, index })
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }
}

/// A resolved column: its index and its name as the file spells it (for messages).
#[derive(Debug, Clone)]
struct Col {
    idx: usize,
    name: String,
}

/// Maps the rows of one recognised file.
pub struct RowMapper {
    format: Format,
    names: Vec<String>,
    /// Columns the mapping reads; the others go to `extra`.
    used: Vec<bool>,
    kind: Kind,
}

enum Kind {
    Focus(Box<FocusCols>),
    Cur(Box<CurCols>),
}

struct FocusCols {
    billed: Col,
    effective: Col,
    list: Col,
    currency: Col,
    charge_start: Col,
    charge_end: Col,
    period_start: Col,
    period_end: Col,
    provider: Col,
    account_id: Col,
    charge_category: Col,
    service_name: Col,
    account_name: Option<Col>,
    sub_id: Option<Col>,
    sub_name: Option<Col>,
    service_category: Option<Col>,
    region: Option<Col>,
    resource: Option<Col>,
    tags: Option<Col>,
}

struct CurCols {
    start: Col,
    end: Col,
    unblended: Col,
    currency: Col,
    payer: Col,
    period_start: Col,
    period_end: Col,
    line_type: Col,
    product_code: Col,
    net_unblended: Option<Col>,
    payer_name: Option<Col>,
    usage_account: Option<Col>,
    usage_account_name: Option<Col>,
    product_name: Option<Col>,
    region: Option<Col>,
    resource: Option<Col>,
    public_on_demand: Option<Col>,
    sp_effective: Option<Col>,
    sp_net_effective: Option<Col>,
    ri_effective: Option<Col>,
    ri_net_effective: Option<Col>,
    /// Legacy: one column per tag (`resourceTags/user:Key`).
    tag_columns: Vec<(Col, String)>,
    /// CUR 2.0: the `resource_tags` map column.
    tags_map: Option<Col>,
    /// CUR 2.0: the `product` map column (product name and region may live there).
    product_map: Option<Col>,
}

/// Columns that must exist for each family, in the spelling of the specification.
const FOCUS_REQUIRED: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ProviderName",
    "BillingAccountId",
    "ChargeCategory",
    "ServiceName",
];
const FOCUS_11_COLUMNS: &[&str] = &[
    "CapacityReservationId",
    "CapacityReservationStatus",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "ServiceSubcategory",
    "SkuMeter",
    "SkuPriceDetails",
];
const FOCUS_12_COLUMNS: &[&str] = &[
    "BillingAccountType",
    "SubAccountType",
    "InvoiceId",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
];

/// CUR column names: (legacy, CUR 2.0).
struct CurNames {
    legacy: &'static str,
    v2: &'static str,
}

const fn cn(legacy: &'static str, v2: &'static str) -> CurNames {
    CurNames { legacy, v2 }
}

const CUR_START: CurNames = cn("lineItem/UsageStartDate", "line_item_usage_start_date");
const CUR_END: CurNames = cn("lineItem/UsageEndDate", "line_item_usage_end_date");
const CUR_UNBLENDED: CurNames = cn("lineItem/UnblendedCost", "line_item_unblended_cost");
const CUR_CURRENCY: CurNames = cn("lineItem/CurrencyCode", "line_item_currency_code");
const CUR_PAYER: CurNames = cn("bill/PayerAccountId", "bill_payer_account_id");
const CUR_PERIOD_START: CurNames = cn(
    "bill/BillingPeriodStartDate",
    "bill_billing_period_start_date",
);
const CUR_PERIOD_END: CurNames = cn("bill/BillingPeriodEndDate", "bill_billing_period_end_date");
const CUR_LINE_TYPE: CurNames = cn("lineItem/LineItemType", "line_item_line_item_type");
const CUR_PRODUCT_CODE: CurNames = cn("lineItem/ProductCode", "line_item_product_code");

impl RowMapper {
    /// Recognises the format from the header row.
    pub fn from_header(raw: &[String]) -> Result<RowMapper, String> {
        let h = Header::new(raw)?;
        if h.has("BilledCost") || h.has("ChargePeriodStart") {
            return Self::focus(h);
        }
        if h.has("lineItem/UnblendedCost") || h.has("identity/LineItemId") {
            return Self::cur(h, Format::AwsCurLegacy);
        }
        if h.has("line_item_unblended_cost") || h.has("identity_line_item_id") {
            return Self::cur(h, Format::AwsCur2);
        }
        Err(format!(
            "the file's columns are not a format Steward knows: expected FOCUS 1.0–1.2 \
             (BilledCost, ChargePeriodStart, …) or an AWS Cost and Usage Report \
             (lineItem/UnblendedCost, … or line_item_unblended_cost, …); the header starts with: {}",
            h.names.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
        ))
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The columns kept in each row's `extra` array, in header order (stored once per batch).
    pub fn extra_columns(&self) -> Vec<String> {
        self.names
            .iter()
            .zip(&self.used)
            .filter(|(name, used)| !**used && !name.is_empty())
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn focus(h: Header) -> Result<RowMapper, String> {
        let missing: Vec<&str> = FOCUS_REQUIRED
            .iter()
            .copied()
            .filter(|c| !h.has(c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "this looks like a FOCUS file but required column(s) are missing: {}",
                missing.join(", ")
            ));
        }
        let format = if FOCUS_12_COLUMNS.iter().any(|c| h.has(c)) {
            Format::Focus12
        } else if FOCUS_11_COLUMNS.iter().any(|c| h.has(c)) {
            Format::Focus11
        } else {
            Format::Focus10
        };
        let mut used = vec![false; h.names.len()];
        let mut opt = |name: &str| {
            h.find(name).map(|idx| {
                used[idx] = true;
                Col {
                    idx,
                    name: h.names[idx].clone(),
                }
            })
        };
        // Presence was checked above; `req` only resolves.
        let mut req = |name: &str| opt(name).ok_or_else(|| format!("missing column {name}"));
        let cols = FocusCols {
            billed: req("BilledCost")?,
            effective: req("EffectiveCost")?,
            list: req("ListCost")?,
            currency: req("BillingCurrency")?,
            charge_start: req("ChargePeriodStart")?,
            charge_end: req("ChargePeriodEnd")?,
            period_start: req("BillingPeriodStart")?,
            period_end: req("BillingPeriodEnd")?,
            provider: req("ProviderName")?,
            account_id: req("BillingAccountId")?,
            charge_category: req("ChargeCategory")?,
            service_name: req("ServiceName")?,
            account_name: opt("BillingAccountName"),
            sub_id: opt("SubAccountId"),
            sub_name: opt("SubAccountName"),
            service_category: opt("ServiceCategory"),
            region: opt("RegionId"),
            resource: opt("ResourceId"),
            tags: opt("Tags"),
        };
        Ok(RowMapper {
            format,
            names: h.names,
            used,
            kind: Kind::Focus(Box::new(cols)),
        })
    }

    fn cur(h: Header, format: Format) -> Result<RowMapper, String> {
        let legacy = format == Format::AwsCurLegacy;
        let pick = |n: &CurNames| if legacy { n.legacy } else { n.v2 };
        let required = [
            &CUR_START,
            &CUR_END,
            &CUR_UNBLENDED,
            &CUR_CURRENCY,
            &CUR_PAYER,
            &CUR_PERIOD_START,
            &CUR_PERIOD_END,
            &CUR_LINE_TYPE,
            &CUR_PRODUCT_CODE,
        ];
        let missing: Vec<&str> = required
            .iter()
            .map(|n| pick(n))
            .filter(|c| !h.has(c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "this looks like an {} but required column(s) are missing: {}",
                format.label(),
                missing.join(", ")
            ));
        }
        let mut used = vec![false; h.names.len()];
        let mut tag_columns = Vec::new();
        if legacy {
            for (idx, name) in h.names.iter().enumerate() {
                if let Some(tag) = strip_prefix_ci(name, "resourceTags/") {
                    // `user:CostCenter` is the user tag CostCenter; AWS tags keep `aws:`.
                    let key = tag.strip_prefix("user:").unwrap_or(tag).to_string();
                    if !key.is_empty() {
                        used[idx] = true;
                        tag_columns.push((
                            Col {
                                idx,
                                name: name.clone(),
                            },
                            key,
                        ));
                    }
                }
            }
        }
        let mut opt = |name: &str| {
            h.find(name).map(|idx| {
                used[idx] = true;
                Col {
                    idx,
                    name: h.names[idx].clone(),
                }
            })
        };
        let o2 = |opt: &mut dyn FnMut(&str) -> Option<Col>, legacy_name: &str, v2: &str| {
            opt(if legacy { legacy_name } else { v2 })
        };
        let mut req = |n: &CurNames| {
            let name = if legacy { n.legacy } else { n.v2 };
            opt(name).ok_or_else(|| format!("missing column {name}"))
        };
        let start = req(&CUR_START)?;
        let end = req(&CUR_END)?;
        let unblended = req(&CUR_UNBLENDED)?;
        let currency = req(&CUR_CURRENCY)?;
        let payer = req(&CUR_PAYER)?;
        let period_start = req(&CUR_PERIOD_START)?;
        let period_end = req(&CUR_PERIOD_END)?;
        let line_type = req(&CUR_LINE_TYPE)?;
        let product_code = req(&CUR_PRODUCT_CODE)?;
        let region = if legacy {
            opt("product/regionCode").or_else(|| opt("product/region"))
        } else {
            opt("product_region_code")
        };
        let cols = CurCols {
            start,
            end,
            unblended,
            currency,
            payer,
            period_start,
            period_end,
            line_type,
            product_code,
            net_unblended: o2(
                &mut opt,
                "lineItem/NetUnblendedCost",
                "line_item_net_unblended_cost",
            ),
            payer_name: o2(&mut opt, "bill/PayerAccountName", "bill_payer_account_name"),
            usage_account: o2(
                &mut opt,
                "lineItem/UsageAccountId",
                "line_item_usage_account_id",
            ),
            usage_account_name: o2(
                &mut opt,
                "lineItem/UsageAccountName",
                "line_item_usage_account_name",
            ),
            product_name: o2(&mut opt, "product/ProductName", "product_product_name"),
            region,
            resource: o2(&mut opt, "lineItem/ResourceId", "line_item_resource_id"),
            public_on_demand: o2(
                &mut opt,
                "pricing/publicOnDemandCost",
                "pricing_public_on_demand_cost",
            ),
            sp_effective: o2(
                &mut opt,
                "savingsPlan/SavingsPlanEffectiveCost",
                "savings_plan_savings_plan_effective_cost",
            ),
            sp_net_effective: o2(
                &mut opt,
                "savingsPlan/NetSavingsPlanEffectiveCost",
                "savings_plan_net_savings_plan_effective_cost",
            ),
            ri_effective: o2(
                &mut opt,
                "reservation/EffectiveCost",
                "reservation_effective_cost",
            ),
            ri_net_effective: o2(
                &mut opt,
                "reservation/NetEffectiveCost",
                "reservation_net_effective_cost",
            ),
            tag_columns,
            tags_map: if legacy { None } else { opt("resource_tags") },
            product_map: if legacy { None } else { opt("product") },
        };
        Ok(RowMapper {
            format,
            names: h.names,
            used,
            kind: Kind::Cur(Box::new(cols)),
        })
    }

    /// Maps one data row. `fields` are the row's values in header order.
    pub fn map(&self, fields: &csv::StringRecord) -> Result<LineItem, FieldError> {
        if fields.len() != self.names.len() {
            return Err(field_err(
                "",
                format!(
                    "the row has {} fields but the header has {}",
                    fields.len(),
                    self.names.len()
                ),
            ));
        }
        let mut item = match &self.kind {
            Kind::Focus(c) => map_focus(c, fields)?,
            Kind::Cur(c) => map_cur(c, fields)?,
        };
        // The other columns' values as a JSON array aligned with `extra_columns` (null where
        // empty), written straight into one string: names once per batch, not per row.
        let mut extra = String::with_capacity(160);
        extra.push('[');
        for (i, v) in fields.iter().enumerate() {
            if !self.used[i] && !self.names[i].is_empty() {
                if extra.len() > 1 {
                    extra.push(',');
                }
                match null_if_empty(v) {
                    Some(v) => push_json_str(&mut extra, v),
                    None => extra.push_str("null"),
                }
            }
        }
        extra.push(']');
        item.extra = extra;
        Ok(item)
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()))
        .then(|| s.split_at(prefix.len()))
        .filter(|(p, _)| p.eq_ignore_ascii_case(prefix))
        .map(|(_, rest)| rest)
}

/// Empty and the literal `NULL` (any case) are null.
fn null_if_empty(v: &str) -> Option<&str> {
    let t = v.trim();
    (!t.is_empty() && !t.eq_ignore_ascii_case("null")).then_some(t)
}

fn get<'r>(r: &'r csv::StringRecord, c: &Col) -> Option<&'r str> {
    r.get(c.idx).and_then(null_if_empty)
}

fn get_opt<'r>(r: &'r csv::StringRecord, c: &Option<Col>) -> Option<&'r str> {
    c.as_ref().and_then(|c| get(r, c))
}

fn text(r: &csv::StringRecord, c: &Option<Col>) -> String {
    get_opt(r, c).unwrap_or_default().to_string()
}

fn required<'r>(r: &'r csv::StringRecord, c: &Col) -> Result<&'r str, FieldError> {
    get(r, c).ok_or_else(|| field_err(&c.name, "a value is required but the field is empty"))
}

fn amount(r: &csv::StringRecord, c: &Col) -> Result<Decimal, FieldError> {
    parse_amount(required(r, c)?).map_err(|e| field_err(&c.name, e))
}

fn opt_amount(r: &csv::StringRecord, c: &Option<Col>) -> Result<Option<Decimal>, FieldError> {
    match c {
        Some(c) => get(r, c)
            .map(|v| parse_amount(v).map_err(|e| field_err(&c.name, e)))
            .transpose(),
        None => Ok(None),
    }
}

fn instant(r: &csv::StringRecord, c: &Col) -> Result<OffsetDateTime, FieldError> {
    parse_instant(required(r, c)?).map_err(|e| field_err(&c.name, e))
}

fn currency(r: &csv::StringRecord, c: &Col) -> Result<String, FieldError> {
    let v = required(r, c)?;
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(v.to_ascii_uppercase())
    } else {
        Err(field_err(
            &c.name,
            format!("'{v}' is not a three-letter currency code"),
        ))
    }
}

/// A charge period `[start, end)`: end must not precede start.
fn period(
    r: &csv::StringRecord,
    start: &Col,
    end: &Col,
) -> Result<(OffsetDateTime, OffsetDateTime), FieldError> {
    let s = instant(r, start)?;
    let e = instant(r, end)?;
    if e < s {
        return Err(field_err(
            &end.name,
            format!("the period ends ({}) before it starts ({})", ts(e), ts(s)),
        ));
    }
    Ok((s, e))
}

fn ts(t: OffsetDateTime) -> String {
    crate::util::ts(t)
}

/// The UTC day: the first ten characters of the stored instant.
fn day(t: OffsetDateTime) -> String {
    let mut s = ts(t);
    s.truncate(10);
    s
}

const CHARGE_CATEGORIES: [&str; 5] = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"];

fn map_focus(c: &FocusCols, r: &csv::StringRecord) -> Result<LineItem, FieldError> {
    let (start, end) = period(r, &c.charge_start, &c.charge_end)?;
    let (pstart, pend) = period(r, &c.period_start, &c.period_end)?;
    let category = required(r, &c.charge_category)?;
    let charge_category = CHARGE_CATEGORIES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(category))
        .ok_or_else(|| {
            field_err(
                &c.charge_category.name,
                format!(
                    "'{category}' is not a FOCUS charge category ({})",
                    CHARGE_CATEGORIES.join(", ")
                ),
            )
        })?;
    let tags = match &c.tags {
        Some(col) => match get(r, col) {
            Some(json) => parse_tags(json, "").map_err(|e| field_err(&col.name, e))?,
            None => BTreeMap::new(),
        },
        None => BTreeMap::new(),
    };
    Ok(LineItem {
        provider: required(r, &c.provider)?.to_string(),
        billing_account_id: required(r, &c.account_id)?.to_string(),
        billing_account_name: text(r, &c.account_name),
        billing_period_start: ts(pstart),
        billing_period_end: ts(pend),
        sub_account_id: text(r, &c.sub_id),
        sub_account_name: text(r, &c.sub_name),
        service_name: get(r, &c.service_name).unwrap_or_default().to_string(),
        service_category: text(r, &c.service_category),
        region_id: text(r, &c.region),
        resource_id: text(r, &c.resource),
        charge_category: charge_category.to_string(),
        charge_period_start: ts(start),
        charge_period_end: ts(end),
        usage_date: day(start),
        billed: amount(r, &c.billed)?,
        effective: amount(r, &c.effective)?,
        list: amount(r, &c.list)?,
        currency: currency(r, &c.currency)?,
        tags,
        extra: String::new(),
    })
}

/// FOCUS ChargeCategory for a CUR line item type.
fn cur_charge_category(line_type: &str) -> &'static str {
    match line_type {
        "Usage" | "DiscountedUsage" | "SavingsPlanCoveredUsage" | "SavingsPlanNegation" => "Usage",
        "Fee" | "RIFee" | "SavingsPlanRecurringFee" | "SavingsPlanUpfrontFee" => "Purchase",
        "Tax" => "Tax",
        "Credit"
        | "Refund"
        | "EdpDiscount"
        | "BundledDiscount"
        | "PrivateRateDiscount"
        | "DistributorDiscount" => "Credit",
        _ => "Adjustment",
    }
}

fn map_cur(c: &CurCols, r: &csv::StringRecord) -> Result<LineItem, FieldError> {
    let (start, end) = period(r, &c.start, &c.end)?;
    let (pstart, pend) = period(r, &c.period_start, &c.period_end)?;
    let line_type = required(r, &c.line_type)?;
    // Billed = net unblended when the file has it for this row, else unblended.
    let unblended = amount(r, &c.unblended)?;
    let billed = opt_amount(r, &c.net_unblended)?.unwrap_or(unblended);
    // Effective (amortized): the savings plan or reservation effective cost for covered usage
    // (net when present), zero for the negation and upfront fee that amortization spreads out,
    // otherwise what was billed.
    let effective = match line_type {
        "SavingsPlanCoveredUsage" => opt_amount(r, &c.sp_net_effective)?
            .or(opt_amount(r, &c.sp_effective)?)
            .unwrap_or(billed),
        "DiscountedUsage" => opt_amount(r, &c.ri_net_effective)?
            .or(opt_amount(r, &c.ri_effective)?)
            .unwrap_or(billed),
        "SavingsPlanNegation" | "SavingsPlanUpfrontFee" => Decimal::ZERO,
        _ => billed,
    };
    let list = opt_amount(r, &c.public_on_demand)?.unwrap_or(billed);
    let product: Option<Map<String, Value>> = match &c.product_map {
        Some(col) => match get(r, col) {
            Some(json) => Some(parse_map(json).map_err(|e| field_err(&col.name, e))?),
            None => None,
        },
        None => None,
    };
    let from_product = |key: &str| -> Option<String> {
        product
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(scalar_text)
            .filter(|v| !v.is_empty())
    };
    let service_name = get_opt(r, &c.product_name)
        .map(str::to_string)
        .or_else(|| from_product("product_name"))
        .unwrap_or_else(|| get(r, &c.product_code).unwrap_or_default().to_string());
    let region_id = get_opt(r, &c.region)
        .map(str::to_string)
        .or_else(|| from_product("region_code"))
        .or_else(|| from_product("region"))
        .unwrap_or_default();
    let mut tags = BTreeMap::new();
    for (col, key) in &c.tag_columns {
        if let Some(v) = get(r, col) {
            tags.insert(key.clone(), v.to_string());
        }
    }
    if let Some(col) = &c.tags_map {
        if let Some(json) = get(r, col) {
            tags = parse_tags(json, "user_").map_err(|e| field_err(&col.name, e))?;
        }
    }
    let payer = required(r, &c.payer)?.to_string();
    Ok(LineItem {
        provider: "AWS".into(),
        billing_account_id: payer.clone(),
        billing_account_name: text(r, &c.payer_name),
        billing_period_start: ts(pstart),
        billing_period_end: ts(pend),
        // Without a usage account the payer is the account that used it.
        sub_account_id: get_opt(r, &c.usage_account).unwrap_or(&payer).to_string(),
        sub_account_name: text(r, &c.usage_account_name),
        service_name,
        service_category: String::new(),
        region_id,
        resource_id: text(r, &c.resource),
        charge_category: cur_charge_category(line_type).into(),
        charge_period_start: ts(start),
        charge_period_end: ts(end),
        usage_date: day(start),
        billed,
        effective,
        list,
        currency: currency(r, &c.currency)?,
        tags,
        extra: String::new(),
    })
}

fn parse_map(json: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// A JSON object of tags; `strip` removes a key prefix (CUR 2.0 writes user tags as
/// `user_<key>`). Null values mean "not tagged".
fn parse_tags(json: &str, strip: &str) -> Result<BTreeMap<String, String>, String> {
    let m = parse_map(json)?;
    let mut tags = BTreeMap::new();
    for (k, v) in m {
        let key = if strip.is_empty() {
            k
        } else {
            k.strip_prefix(strip).map(str::to_string).unwrap_or(k)
        };
        if let Some(v) = scalar_text(&v) {
            if !key.is_empty() {
                tags.insert(key, v);
            }
        }
    }
    Ok(tags)
}

/// Parses an instant as cost files write it: `2024-09-18T22:00:00Z`, `2024-09-18 22:00:00`
/// (UTC assumed without an offset), fractional seconds, `+hh:mm` offsets, or a bare date
/// (midnight UTC). Any other text is an error, never a panic: the file comes from a client.
pub fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    let bad =
        |why: &str| format!("'{s}' is not a timestamp ({why}); expected e.g. 2024-09-01T00:00:00Z");
    // Every accepted form is ASCII; refusing anything else first makes every byte index below
    // a character boundary (a non-ASCII character used to be sliced through and panic).
    if let Some(c) = s.chars().find(|c| !c.is_ascii()) {
        return Err(bad(&format!("unexpected character '{c}'")));
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad("no YYYY-MM-DD date"));
    }
    let num = |part: &str| -> Option<u32> {
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    // Clock fields go through `u8::try_from`: `as u8` wrapped hour 256 to midnight.
    let small = |part: &str| num(part).and_then(|v| u8::try_from(v).ok());
    let year = num(&s[0..4]).ok_or_else(|| bad("bad year"))?;
    let month = small(&s[5..7])
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| bad("bad month"))?;
    let dom = small(&s[8..10]).ok_or_else(|| bad("bad day"))?;
    let date =
        Date::from_calendar_date(year as i32, month, dom).map_err(|_| bad("no such date"))?;
    if b.len() == 10 {
        return Ok(date.midnight().assume_utc());
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad("expected T or a space after the date"));
    }
    let rest = &s[11..];
    // Split off the zone: Z, or +hh[:mm] / -hh[:mm] after the clock time.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, UtcOffset::UTC)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let z = &rest[pos + 1..];
        let (h, m) = match z.len() {
            2 => (small(z), Some(0)),
            4 => (small(&z[..2]), small(&z[2..])),
            5 if z.as_bytes()[2] == b':' => (small(&z[..2]), small(&z[3..])),
            _ => (None, None),
        };
        let (h, m) = h.zip(m).ok_or_else(|| bad("bad UTC offset"))?;
        // Two digits each, so both fit an i8.
        let (h, m) = (h as i8, m as i8);
        let sign = if rest.as_bytes()[pos] == b'-' { -1 } else { 1 };
        let off = UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad("bad UTC offset"))?;
        (&rest[..pos], off)
    } else {
        (rest, UtcOffset::UTC)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let h = parts
        .next()
        .and_then(small)
        .ok_or_else(|| bad("bad hour"))?;
    let m = parts
        .next()
        .and_then(small)
        .ok_or_else(|| bad("bad minute"))?;
    let sec = match parts.next() {
        Some(p) => small(p).ok_or_else(|| bad("bad second"))?,
        None => 0,
    };
    if parts.next().is_some() {
        return Err(bad("bad time"));
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("bad fraction of a second"));
        }
        num(frac).unwrap_or(0) * 10u32.pow(9 - frac.len() as u32)
    };
    let time = Time::from_hms_nano(h, m, sec, nanos).map_err(|_| bad("no such time"))?;
    // `to_offset` panics past the year 9999; and the stored text is four-digit years only.
    PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| bad("outside the years 0000-9999 in UTC"))
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile-client review: a non-ASCII character where the day's digits end used to slice
    /// the text inside the character (`&s[8..10]`) and panic the parser thread.
    #[test]
    fn non_ascii_in_an_instant_is_an_error_not_a_panic() {
        for bad in [
            "2024-09-1é 00:00:00",
            "2024-09-1é",
            "2024-09-01Té0:00:00",
            "2024-09-01T00:00:00+aéb",
            "２０２４-09-01",
        ] {
            let e = parse_instant(bad).expect_err(bad);
            assert!(e.contains("is not a timestamp"), "{bad}: {e}");
        }
    }

    /// Found beside the `é` case: converting to UTC past the year 9999 panicked inside `time`,
    /// and clock fields were truncated to a byte (hour 256 read as midnight).
    #[test]
    fn out_of_range_instants_are_errors() {
        for bad in [
            "9999-12-31T23:00:00-05:00",
            "0000-01-01T00:00:00+01:00",
            "2024-09-18 256:00:00",
            "2024-09-18 10:258:00",
            "2024-09-18 10:00:257",
        ] {
            let e = parse_instant(bad).expect_err(bad);
            assert!(e.contains("is not a timestamp"), "{bad}: {e}");
        }
        let t = |s: &str| ts(parse_instant(s).unwrap());
        assert_eq!(t("9999-12-31T23:59:59Z"), "9999-12-31T23:59:59.000000Z");
        assert_eq!(
            t("0000-01-01T01:00:00+01:00"),
            "0000-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn instants_in_the_forms_cost_files_use() {
        let t = |s: &str| ts(parse_instant(s).unwrap());
        assert_eq!(t("2024-09-18 22:00:00"), "2024-09-18T22:00:00.000000Z");
        assert_eq!(t("2024-09-18T22:00:00Z"), "2024-09-18T22:00:00.000000Z");
        assert_eq!(t("2024-09-18T22:00Z"), "2024-09-18T22:00:00.000000Z");
        assert_eq!(t("2024-09-18T22:00:00.5Z"), "2024-09-18T22:00:00.500000Z");
        assert_eq!(
            t("2024-09-18T23:30:00+01:30"),
            "2024-09-18T22:00:00.000000Z"
        );
        assert_eq!(t("2024-09-18T20:00:00-0200"), "2024-09-18T22:00:00.000000Z");
        assert_eq!(t("2024-09-01"), "2024-09-01T00:00:00.000000Z");
        for bad in [
            "",
            "2024-09",
            "2024-13-01",
            "2024-02-30",
            "18/09/2024",
            "2024-09-18X22:00:00",
            "2024-09-18 25:00:00",
            "2024-09-18 22:00:00+5",
            "2024-09-18 22",
            "yesterday",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
    }

    fn rec(v: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(v.to_vec())
    }

    #[test]
    fn focus_version_from_columns_and_bom_and_case() {
        let mut cols: Vec<String> = FOCUS_REQUIRED.iter().map(|c| c.to_lowercase()).collect();
        cols[0] = format!("\u{feff}{}", cols[0]);
        assert_eq!(
            RowMapper::from_header(&cols).unwrap().format(),
            Format::Focus10
        );
        cols.push("SkuMeter".into());
        assert_eq!(
            RowMapper::from_header(&cols).unwrap().format(),
            Format::Focus11
        );
        cols.push("InvoiceId".into());
        assert_eq!(
            RowMapper::from_header(&cols).unwrap().format(),
            Format::Focus12
        );
        let e = RowMapper::from_header(&cols[1..]).err().unwrap();
        assert!(e.contains("BilledCost"), "{e}");
        let e = RowMapper::from_header(&["a".into(), "b".into()])
            .err()
            .unwrap();
        assert!(e.contains("not a format"), "{e}");
    }

    #[test]
    fn cur_legacy_row() {
        let header: Vec<String> = [
            "identity/LineItemId",
            "bill/PayerAccountId",
            "bill/BillingPeriodStartDate",
            "bill/BillingPeriodEndDate",
            "lineItem/UsageAccountId",
            "lineItem/LineItemType",
            "lineItem/UsageStartDate",
            "lineItem/UsageEndDate",
            "lineItem/ProductCode",
            "lineItem/UnblendedCost",
            "lineItem/NetUnblendedCost",
            "lineItem/CurrencyCode",
            "savingsPlan/SavingsPlanEffectiveCost",
            "resourceTags/user:CostCenter",
            "resourceTags/aws:createdBy",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = RowMapper::from_header(&header).unwrap();
        assert_eq!(m.format(), Format::AwsCurLegacy);
        let item = m
            .map(&rec(&[
                "abc",
                "111122223333",
                "2024-09-01T00:00:00Z",
                "2024-10-01T00:00:00Z",
                "444455556666",
                "SavingsPlanCoveredUsage",
                "2024-09-02T05:00:00Z",
                "2024-09-02T06:00:00Z",
                "AmazonEC2",
                "1.2E-5",
                "",
                "usd",
                "0.0000080",
                "cc-100",
                "",
            ]))
            .unwrap();
        assert_eq!(item.billed.to_string(), "0.000012");
        assert_eq!(item.effective.to_string(), "0.0000080");
        assert_eq!(item.list.to_string(), "0.000012");
        assert_eq!(item.currency, "USD");
        assert_eq!(item.service_name, "AmazonEC2");
        assert_eq!(item.sub_account_id, "444455556666");
        assert_eq!(item.charge_category, "Usage");
        assert_eq!(item.usage_date, "2024-09-02");
        assert_eq!(
            item.tags.get("CostCenter").map(String::as_str),
            Some("cc-100")
        );
        assert_eq!(item.tags.len(), 1);
        assert_eq!(m.extra_columns(), ["identity/LineItemId"]);
        assert_eq!(item.extra, r#"["abc"]"#);
    }

    #[test]
    fn extra_values_are_a_json_array_aligned_with_the_extra_columns() {
        let header: Vec<String> = [
            "BilledCost",
            "x_Note",
            "BillingAccountId",
            "Odd",
            "BillingCurrency",
            "BillingPeriodEnd",
            "BillingPeriodStart",
            "ChargeCategory",
            "ChargePeriodEnd",
            "ChargePeriodStart",
            "EffectiveCost",
            "ListCost",
            "ProviderName",
            "ServiceName",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = RowMapper::from_header(&header).unwrap();
        assert_eq!(m.extra_columns(), ["x_Note", "Odd"]);
        let tricky = "quote \" back\\slash\nnew line\ttab \u{1} é";
        let item = m
            .map(&rec(&[
                "1.5",
                tricky,
                "acct",
                "NULL",
                "USD",
                "2024-10-01",
                "2024-09-01",
                "Usage",
                "2024-09-02T01:00:00Z",
                "2024-09-02T00:00:00Z",
                "1.5",
                "1.5",
                "AWS",
                "S3",
            ]))
            .unwrap();
        let parsed: Vec<Option<String>> = serde_json::from_str(&item.extra).unwrap();
        assert_eq!(parsed, [Some(tricky.to_string()), None]);
    }
}

//! FOCUS 1.0–1.2: the required columns, version detection and the row mapping.

use super::*;

pub(super) struct FocusCols {
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

/// Columns that must exist for each family, in the spelling of the specification.
pub(super) const FOCUS_REQUIRED: &[&str] = &[
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

impl RowMapper {
    pub(super) fn focus(h: Header) -> Result<RowMapper, String> {
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
}

const CHARGE_CATEGORIES: [&str; 5] = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"];

pub(super) fn map_focus(c: &FocusCols, r: &csv::StringRecord) -> Result<LineItem, FieldError> {
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

//! AWS Cost and Usage Reports (legacy `lineItem/…` and CUR 2.0 `line_item_…` columns): the
//! column names, the row mapping and the FOCUS charge category of each line item type.

use super::*;

pub(super) struct CurCols {
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
    pub(super) fn cur(h: Header, format: Format) -> Result<RowMapper, String> {
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

pub(super) fn map_cur(c: &CurCols, r: &csv::StringRecord) -> Result<LineItem, FieldError> {
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

//! The cost file row mapper (`RowMapper::from_header`, `RowMapper::map`) on any input.
//!
//! The first byte picks the header: `0` FOCUS 1.0, `1` FOCUS 1.1, `2` FOCUS 1.2, `3` AWS CUR
//! legacy, `4` CUR 2.0 (the real headers, as the fixtures write them), and the rest of the input
//! is the data rows; any other first byte means the input's first CSV record is the header, so
//! header recognition is fuzzed too. CSV is read as the importer reads it (flexible records).
//! Every row maps to `Ok` or a `FieldError`, never a panic; a mapped row is checked for the
//! invariants the rest of the import relies on.
#![no_main]

use app::costs::formats::{LineItem, RowMapper};
use app::costs::money::parse_amount;
use libfuzzer_sys::fuzz_target;

const FOCUS_10: &str = "AvailabilityZone,BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,ChargePeriodStart,CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,CommitmentDiscountStatus,CommitmentDiscountType,ConsumedQuantity,ConsumedUnit,ContractedCost,ContractedUnitPrice,EffectiveCost,InvoiceIssuerName,ListCost,ListUnitPrice,PricingCategory,PricingQuantity,PricingUnit,ProviderName,PublisherName,RegionId,RegionName,ResourceId,ResourceName,ResourceType,ServiceCategory,Id,ServiceName,SkuId,SkuPriceId,SubAccountId,SubAccountName,Tags";
const FOCUS_11_EXTRA: &str = ",CapacityReservationId,ServiceSubcategory,SkuMeter";
const FOCUS_12_EXTRA: &str =
    ",InvoiceId,PricingCurrency,PricingCurrencyEffectiveCost,SubAccountType";
const CUR_LEGACY: &str = "identity/LineItemId,identity/TimeInterval,bill/InvoiceId,bill/BillingEntity,bill/BillType,bill/PayerAccountId,bill/BillingPeriodStartDate,bill/BillingPeriodEndDate,lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,lineItem/UsageType,lineItem/Operation,lineItem/AvailabilityZone,lineItem/ResourceId,lineItem/UsageAmount,lineItem/CurrencyCode,lineItem/UnblendedRate,lineItem/UnblendedCost,lineItem/NetUnblendedCost,lineItem/BlendedCost,lineItem/LineItemDescription,product/ProductName,product/region,product/instanceType,pricing/publicOnDemandCost,pricing/term,reservation/EffectiveCost,reservation/ReservationARN,savingsPlan/SavingsPlanEffectiveCost,savingsPlan/NetSavingsPlanEffectiveCost,savingsPlan/SavingsPlanARN,resourceTags/user:CostCenter,resourceTags/user:Team";
const CUR_2: &str = "identity_line_item_id,identity_time_interval,bill_invoice_id,bill_billing_entity,bill_bill_type,bill_payer_account_id,bill_payer_account_name,bill_billing_period_start_date,bill_billing_period_end_date,line_item_usage_account_id,line_item_usage_account_name,line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,line_item_product_code,line_item_usage_type,line_item_operation,line_item_availability_zone,line_item_resource_id,line_item_usage_amount,line_item_currency_code,line_item_unblended_rate,line_item_unblended_cost,line_item_net_unblended_cost,line_item_blended_cost,line_item_line_item_description,product,product_region_code,product_instance_type,pricing_public_on_demand_cost,pricing_term,reservation_effective_cost,reservation_reservation_a_r_n,savings_plan_savings_plan_effective_cost,savings_plan_net_savings_plan_effective_cost,savings_plan_savings_plan_a_r_n,resource_tags,cost_category";

/// Rows mapped per input: enough for state to matter, few enough to keep executions fast.
const MAX_ROWS: usize = 64;

fn split_header(line: &str) -> Vec<String> {
    line.split(',').map(str::to_string).collect()
}

fn check(m: &RowMapper, item: &LineItem) {
    for t in [
        &item.charge_period_start,
        &item.charge_period_end,
        &item.billing_period_start,
        &item.billing_period_end,
    ] {
        assert!(t.len() == 27 && t.ends_with('Z'), "stored instant {t:?}");
    }
    assert!(item.charge_period_start <= item.charge_period_end);
    assert!(item.billing_period_start <= item.billing_period_end);
    assert_eq!(item.usage_date, item.charge_period_start[..10]);
    assert!(item.currency.len() == 3 && item.currency.bytes().all(|b| b.is_ascii_uppercase()));
    for d in [item.billed, item.effective, item.list] {
        assert_eq!(parse_amount(&d.to_string()), Ok(d), "amount {d}");
    }
    let extra: Vec<Option<String>> =
        serde_json::from_str(&item.extra).expect("extra is a JSON array of strings and nulls");
    assert_eq!(extra.len(), m.extra_columns().len());
}

fuzz_target!(|data: &[u8]| {
    let (header, rows): (Option<Vec<String>>, &[u8]) = match data.first() {
        Some(b'0') => (Some(split_header(FOCUS_10)), &data[1..]),
        Some(b'1') => (
            Some(split_header(&format!("{FOCUS_10}{FOCUS_11_EXTRA}"))),
            &data[1..],
        ),
        Some(b'2') => (
            Some(split_header(&format!("{FOCUS_10}{FOCUS_12_EXTRA}"))),
            &data[1..],
        ),
        Some(b'3') => (Some(split_header(CUR_LEGACY)), &data[1..]),
        Some(b'4') => (Some(split_header(CUR_2)), &data[1..]),
        _ => (None, data),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(header.is_none())
        .flexible(true)
        .from_reader(rows);
    let header = match header {
        Some(h) => h,
        None => match rdr.headers() {
            Ok(h) => h.iter().map(str::to_string).collect(),
            Err(_) => return,
        },
    };
    let Ok(mapper) = RowMapper::from_header(&header) else {
        return;
    };
    for rec in rdr.records().take(MAX_ROWS) {
        let Ok(rec) = rec else {
            // A CSV-level error (e.g. invalid UTF-8) is the importer's to report, not the mapper's.
            continue;
        };
        if let Ok(item) = mapper.map(&rec) {
            check(&mapper, &item);
        }
    }
});

//! Format recognition, mapping and instant parsing.

use super::focus::FOCUS_REQUIRED;
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

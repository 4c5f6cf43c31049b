//! The FOCUS file generator shared by the cost benchmarks: deterministic, and shaped like the
//! FinOps Foundation's sample (`tests/fixtures/focus/focus-1.0-sample.csv`): its 44 columns in
//! its order and spelling, strings quoted and numbers not, the literal `NULL`, 11-decimal costs
//! (15 for consumed quantities), tags as a JSON object (`application`, `environment`,
//! `business_unit`) or `NULL`.
//!
//! Rows are hourly charges of a pool of resources. A resource belongs to one of 50
//! sub-accounts and keeps its service, region, SKU and tags, as in a real export: each
//! sub-account runs a handful of services in one or two regions for two applications of one
//! business unit, so the rollups are as many as a real organisation of that size has (a few
//! hundred dimension combinations a day), whatever the number of rows.

#![allow(dead_code)] // each benchmark uses part of it

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The sample's header, in its order.
pub const COLUMNS: [&str; 44] = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "Id",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
];

pub const SUB_ACCOUNTS: u64 = 50;
/// Resources in the pool (the sample: 843 distinct resources in 1,000 rows of one month).
const RESOURCES: u64 = 40_000;
/// Tag keys, as in the sample.
pub const TAG_KEYS: [&str; 3] = ["application", "environment", "business_unit"];

/// A small deterministic generator (xorshift64*), so every run imports the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A fixed attribute of thing `k` (splitmix64 of `k` and a salt): the same on every row.
fn attr(k: u64, salt: u64) -> u64 {
    let mut z = k
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Service {
    name: &'static str,
    /// The service's part of a resource ARN.
    arn: &'static str,
    category: &'static str,
    unit: &'static str,
    resource_type: &'static str,
    /// List unit prices as the sample writes them, and their value in 1e-7 dollars.
    prices: &'static [(&'static str, u64)],
    what: &'static str,
}

const fn svc(
    name: &'static str,
    arn: &'static str,
    category: &'static str,
    unit: &'static str,
    resource_type: &'static str,
    prices: &'static [(&'static str, u64)],
    what: &'static str,
) -> Service {
    Service {
        name,
        arn,
        category,
        unit,
        resource_type,
        prices,
        what,
    }
}

/// Services every sub-account uses, then the ones each picks a few of.
const COMMON: &[Service] = &[
    svc(
        "Amazon Elastic Compute Cloud",
        "ec2",
        "Compute",
        "Hours",
        "instance",
        &[
            ("0.0464", 464_000),
            ("0.34", 3_400_000),
            ("0.0116", 116_000),
        ],
        "On Demand Linux Instance Hour",
    ),
    svc(
        "Amazon Simple Storage Service",
        "s3",
        "Storage",
        "GB-Months",
        "bucket",
        &[("0.023", 230_000), ("0.0125", 125_000)],
        "GB-month of Standard storage",
    ),
    svc(
        "AmazonCloudWatch",
        "cloudwatch",
        "Management and Governance",
        "Metrics",
        "NULL",
        &[("0.30", 3_000_000), ("0.01", 100_000)],
        "metric-month",
    ),
];
const OTHERS: &[Service] = &[
    svc(
        "Elastic Load Balancing",
        "elasticloadbalancing",
        "Networking",
        "LCU-Hours",
        "loadbalancer",
        &[("0.008", 80_000), ("0.006", 60_000)],
        "used load balancer capacity unit-hour (or partial hour)",
    ),
    svc(
        "Amazon Virtual Private Cloud",
        "ec2",
        "Networking",
        "Hours",
        "NULL",
        &[("0.045", 450_000)],
        "NAT Gateway Hour",
    ),
    svc(
        "Amazon Elastic Container Service",
        "ecs",
        "Compute",
        "Hours",
        "cluster",
        &[("0.04048", 404_800)],
        "vCPU-hour for Linux/x86",
    ),
    svc(
        "Amazon Relational Database Service",
        "rds",
        "Databases",
        "Hours",
        "db",
        &[("0.171", 1_710_000), ("0.017", 170_000)],
        "RDS db.m5.large Multi-AZ instance hour",
    ),
    svc(
        "Amazon Simple Queue Service",
        "sqs",
        "Integration",
        "Requests",
        "queue",
        &[("0.0000004", 4)],
        "Amazon SQS standard requests in Tier1",
    ),
    svc(
        "AWS Lambda",
        "lambda",
        "Compute",
        "Lambda-GB-Second",
        "function",
        &[("0.0000166667", 167)],
        "GB-second",
    ),
    svc(
        "Amazon CloudFront",
        "cloudfront",
        "Networking",
        "Requests",
        "distribution",
        &[("0.000001", 10)],
        "10,000 HTTPS Requests",
    ),
    svc(
        "Amazon DynamoDB",
        "dynamodb",
        "Databases",
        "WriteRequestUnits",
        "table",
        &[("0.00000125", 13)],
        "write request unit",
    ),
    svc(
        "Amazon ElastiCache",
        "elasticache",
        "Databases",
        "Hours",
        "cluster",
        &[("0.068", 680_000)],
        "cache.t3.medium node hour",
    ),
    svc(
        "AWS Key Management Service",
        "kms",
        "Security",
        "Requests",
        "key",
        &[("0.000003", 30)],
        "requests",
    ),
    svc(
        "Amazon Elastic File System",
        "elasticfilesystem",
        "Storage",
        "GB-Months",
        "file-system",
        &[("0.30", 3_000_000)],
        "GB-Month of Standard storage",
    ),
    svc(
        "Amazon Simple Notification Service",
        "sns",
        "Integration",
        "Requests",
        "topic",
        &[("0.0000005", 5)],
        "Amazon SNS API Requests",
    ),
];

const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-west-2", "US West (Oregon)"),
    ("eu-west-1", "EU (Ireland)"),
    ("eu-central-1", "EU (Frankfurt)"),
    ("us-east-2", "US East (Ohio)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ca-central-1", "Canada (Central)"),
    ("sa-east-1", "South America (Sao Paulo)"),
];
const FIRST: &[&str] = &[
    "Atlas", "Zenith", "Orion", "Nova", "Vega", "Lyra", "Titan", "Aurora", "Polaris", "Helix",
];
const SECOND: &[&str] = &["Nimbus", "Eclipse", "Apollo", "Quasar", "Pulsar"];
const APP_A: &[&str] = &[
    "Bright", "Quick", "Blue", "Smart", "Rapid", "Clear", "Deep", "Open",
];
const APP_B: &[&str] = &["Lens", "Source", "Navigator", "Asset", "Path", "Stream"];
const APP_C: &[&str] = &["Matrix", "Core", "Drive", "Edge", "Hub"];
const BU_CITY: &[&str] = &[
    "Vienna",
    "Marseille",
    "Phoenix",
    "Madison",
    "Peoria",
    "Lyon",
    "Austin",
    "Porto",
    "Dublin",
    "Osaka",
];
const BU_TEAM: &[&str] = &["AI", "SRE", "Procurement", "Data"];

/// A sub-account: its id, name, home and second region, business unit and environment.
struct Account {
    id: u64,
    name: String,
    regions: [usize; 2],
    services: [usize; 3],
    apps: [String; 2],
    business_unit: String,
    environment: &'static str,
}

fn account(a: u64) -> Account {
    let h = |salt| attr(a, salt);
    let app = |salt| {
        let x = h(salt);
        format!(
            "{}{}{}",
            APP_A[(x % 8) as usize],
            APP_B[(x / 8 % 6) as usize],
            APP_C[(x / 48 % 5) as usize]
        )
    };
    let first_region = (h(2) % 4) as usize; // most accounts live in the big regions
    Account {
        id: 100_000_000_000 + a,
        name: format!(
            "{} {}",
            FIRST[(a % 10) as usize],
            SECOND[(a / 10 % 5) as usize]
        ),
        regions: [first_region, (h(3) % REGIONS.len() as u64) as usize],
        services: [
            (h(4) % OTHERS.len() as u64) as usize,
            (h(5) % OTHERS.len() as u64) as usize,
            (h(6) % OTHERS.len() as u64) as usize,
        ],
        apps: [app(7), app(8)],
        business_unit: format!(
            "{}{}",
            BU_CITY[(h(9) % 10) as usize],
            BU_TEAM[(h(10) % 4) as usize]
        ),
        environment: if h(11) % 3 == 0 { "dev" } else { "prod" },
    }
}

const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn code(mut x: u64, len: usize, out: &mut String) {
    for _ in 0..len {
        out.push(ALNUM[(x % 32) as usize] as char);
        x /= 32;
    }
}

/// `v` in units of 10^-`scale`, written with exactly `scale` decimals.
fn fixed(out: &mut String, v: i128, scale: u32) {
    let p = 10i128.pow(scale);
    let sign = if v < 0 { "-" } else { "" };
    let v = v.abs();
    let _ = write!(out, "{sign}{}.{:0w$}", v / p, v % p, w = scale as usize);
}

/// Writes an `n`-row FOCUS 1.0 file of hourly charges over `months` months ending with
/// September 2024 (one month: September only) and 50 sub-accounts. Returns its size.
pub fn gen_focus(path: &Path, n: u64, months: u32) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let header: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    writeln!(w, "{}", header.join(","))?;
    let accounts: Vec<Account> = (0..SUB_ACCOUNTS).map(account).collect();
    let months = months.max(1) as i32;
    let mut r = Rng(0x5EED_CAFE_F00D_1234);
    let mut line = String::with_capacity(2048);
    for i in 0..n {
        // The resource: its account, service, region, SKU and tags never change.
        let res = r.next() % RESOURCES;
        let acct = &accounts[(attr(res, 20) % SUB_ACCOUNTS) as usize];
        let pick = attr(res, 21) % 10;
        let service = if pick < 6 {
            &COMMON[(pick % 3) as usize]
        } else {
            &OTHERS[acct.services[(pick % 3) as usize]]
        };
        let (region, region_name) =
            REGIONS[acct.regions[usize::from(attr(res, 22).is_multiple_of(5))]];
        let (price_text, price) =
            service.prices[(attr(res, 23) % service.prices.len() as u64) as usize];
        let tagged = attr(res, 24) % 10 < 7;

        // When: month m of the range (September 2024 is the last), a day of it, an hour.
        let m = (r.next() % months as u64) as i32;
        let idx = 2024 * 12 + 8 - (months - 1) + m;
        let (year, month) = (idx / 12, (idx % 12 + 1) as u32);
        let days = days_in(year, month);
        let hour = r.next() % (days as u64 * 24);
        let (day, h) = (1 + hour / 24, hour % 24);
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };

        // How much: a quantity with 10 significant decimals, the list cost at the unit price
        // (11 decimals), a savings plan on some compute.
        let qty: i128 = if service.unit == "Hours" {
            10_000_000_000 // one hour, 10 decimals
        } else {
            (r.next() % 50_000_000_000) as i128
        };
        let list = qty * price as i128 / 1_000_000; // 1e-10 × 1e-7 → 1e-11
        let category = match r.next() % 1000 {
            0 => "Credit",
            1 | 2 => "Adjustment",
            _ => "Usage",
        };
        let billed = if category == "Credit" { -list } else { list };
        let covered = service.category == "Compute" && attr(res, 25).is_multiple_of(20);
        let effective = if covered { billed * 72 / 100 } else { billed };

        line.clear();
        let l = &mut line;
        // AvailabilityZone, BilledCost, billing account, currency, billing period
        if attr(res, 26).is_multiple_of(9) {
            let _ = write!(
                l,
                "\"{region}{}\",",
                (b'a' + (attr(res, 27) % 3) as u8) as char
            );
        } else {
            l.push_str("NULL,");
        }
        fixed(l, billed, 11);
        let _ = write!(
            l,
            ",\"1234567890123\",\"SunBird\",\"USD\",\"{ny}-{nm:02}-01 00:00:00\",\
             \"{year}-{month:02}-01 00:00:00\",\"{category}\",NULL,\
             \"${price_text} per {} in {region_name}\",\"Usage-Based\",",
            service.what
        );
        // ChargePeriodEnd, ChargePeriodStart
        if h == 23 {
            if day as u32 == days {
                let _ = write!(l, "\"{ny}-{nm:02}-01 00:00:00\",");
            } else {
                let _ = write!(l, "\"{year}-{month:02}-{:02} 00:00:00\",", day + 1);
            }
        } else {
            let _ = write!(l, "\"{year}-{month:02}-{day:02} {:02}:00:00\",", h + 1);
        }
        let _ = write!(l, "\"{year}-{month:02}-{day:02} {h:02}:00:00\",");
        // Commitment discount: category, id, name, status, type
        if covered {
            let _ = write!(
                l,
                "\"Spend\",\"arn:aws:savingsplans::{}:savingsplan/{:016x}\",NULL,\"Used\",\
                 \"Savings Plan\",",
                acct.id,
                attr(acct.id, 28)
            );
        } else {
            l.push_str("NULL,NULL,NULL,NULL,NULL,");
        }
        // ConsumedQuantity (15 decimals), ConsumedUnit, ContractedCost, ContractedUnitPrice
        fixed(l, qty * 100_000, 15);
        let _ = write!(l, ",\"{}\",", service.unit);
        fixed(l, billed, 11);
        l.push(',');
        fixed(l, price as i128 * 10_000, 11);
        l.push(',');
        // EffectiveCost, InvoiceIssuerName, ListCost, ListUnitPrice, PricingCategory
        fixed(l, effective, 11);
        l.push_str(",\"Amazon Web Services, Inc.\",");
        fixed(l, list, 11);
        let _ = write!(
            l,
            ",\"{price_text}\",\"{}\",",
            if covered { "Committed" } else { "Standard" }
        );
        // PricingQuantity (11 decimals), PricingUnit, provider, publisher, region
        fixed(l, qty * 10, 11);
        let _ = write!(
            l,
            ",\"{}\",\"AWS\",\"Amazon Web Services, Inc.\",\"{region}\",\"{region_name}\",",
            service.unit
        );
        // ResourceId, ResourceName, ResourceType
        if res.is_multiple_of(13) {
            l.push_str("NULL,NULL,NULL,");
        } else {
            let _ = write!(
                l,
                "\"arn:aws:{}:{region}:{}:{}/r-{:012x}\",",
                service.arn,
                acct.id,
                if service.resource_type == "NULL" {
                    "resource"
                } else {
                    service.resource_type
                },
                attr(res, 29) >> 16
            );
            if res.is_multiple_of(7) {
                let _ = write!(l, "\"{:024x}\",", attr(res, 30) as u128 * 0x1_0000_0001);
            } else {
                l.push_str("NULL,");
            }
            if service.resource_type == "NULL" || res.is_multiple_of(3) {
                l.push_str("NULL,");
            } else {
                let _ = write!(l, "\"{}\",", service.resource_type);
            }
        }
        // ServiceCategory, Id, ServiceName, SkuId, SkuPriceId
        let _ = write!(
            l,
            "\"{}\",{},\"{}\",\"",
            service.category,
            10_000 + i,
            service.name
        );
        let sku = attr(res, 31) % 200 + 1000 * (attr(res, 23) % 3);
        let mut sku_id = String::with_capacity(16);
        code(attr(sku, 32), 12, &mut sku_id);
        code(attr(sku, 35), 4, &mut sku_id);
        let _ = write!(l, "{sku_id}\",\"{sku_id}.JRTCKXETXF.");
        code(attr(sku, 33), 10, l);
        // SubAccountId, SubAccountName, Tags
        let _ = write!(l, "\",\"{}\",\"{}\",", acct.id, acct.name);
        if tagged {
            let _ = write!(
                l,
                "\"{{\"\"application\"\": \"\"{}\"\", \"\"environment\"\": \"\"{}\"\", \
                 \"\"business_unit\"\": \"\"{}\"\"}}\"",
                acct.apps[(attr(res, 34) % 2) as usize],
                acct.environment,
                acct.business_unit
            );
        } else {
            l.push_str("NULL");
        }
        l.push('\n');
        w.write_all(l.as_bytes())?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn days_in(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

//! The FOCUS file generator shared by the cost benchmarks: deterministic, realistic shape.

use std::io::{BufWriter, Write};
use std::path::Path;

/// A small deterministic generator (xorshift64*), so every run imports the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const SERVICES: &[(&str, &str)] = &[
    ("Amazon Elastic Compute Cloud", "Compute"),
    ("Amazon Simple Storage Service", "Storage"),
    ("Amazon Relational Database Service", "Databases"),
    ("AWS Lambda", "Compute"),
    ("Amazon CloudFront", "Networking"),
    ("Amazon DynamoDB", "Databases"),
    ("Elastic Load Balancing", "Networking"),
    ("Amazon Simple Queue Service", "Integration"),
    ("AWS Key Management Service", "Security"),
    ("Amazon CloudWatch", "Management and Governance"),
    ("Amazon Elastic Container Service", "Compute"),
    ("Amazon ElastiCache", "Databases"),
];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
];
const TEAMS: &[&str] = &["web", "data", "platform", "mobile", "search", "billing"];
const ENVS: &[&str] = &["prod", "staging", "dev"];

pub const HEADER: &str = "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,\
BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,\
ChargeFrequency,ChargePeriodEnd,ChargePeriodStart,ConsumedQuantity,ConsumedUnit,\
ContractedCost,EffectiveCost,InvoiceIssuerName,ListCost,PricingQuantity,PricingUnit,\
ProviderName,PublisherName,RegionId,RegionName,ResourceId,ServiceCategory,ServiceName,\
SkuId,SubAccountId,SubAccountName,Tags";

/// An amount with 11 decimal places, as the official sample writes them.
fn amount(r: &mut Rng, max_micro: u64) -> String {
    let v = r.next() % (max_micro * 100_000);
    format!("{}.{:011}", v / 100_000_000_000, v % 100_000_000_000)
}

/// Writes an `n`-row FOCUS 1.0 file: hourly usage over `months` months ending with September
/// 2024 (one month: September only), 12 services, 5 regions, 40 sub-accounts, three tag keys.
pub fn gen_focus(path: &Path, n: u64, months: u32) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "{HEADER}")?;
    let mut r = Rng(0x5EED_CAFE_F00D_1234);
    for i in 0..n {
        let (service, category) = SERVICES[(r.next() % SERVICES.len() as u64) as usize];
        let region = r.pick(REGIONS);
        // Month m of the range (September 2024 is the last), a day of it, an hour.
        let m = (r.next() % months.max(1) as u64) as i32;
        let (year, month) = {
            let idx = 2024 * 12 + 8 - (months.max(1) as i32 - 1) + m;
            (idx / 12, (idx % 12 + 1) as u32)
        };
        let days = days_in(year, month);
        let hour = r.next() % (days as u64 * 24);
        let (day, h) = (1 + hour / 24, hour % 24);
        let account = 100_000_000_000 + r.next() % 40;
        let billed = amount(&mut r, 2_000_000);
        let list = amount(&mut r, 2_500_000);
        let effective = if r.next().is_multiple_of(4) {
            amount(&mut r, 1_500_000)
        } else {
            billed.clone()
        };
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let period_start = format!("{year}-{month:02}-01 00:00:00");
        let period_end = format!("{ny}-{nm:02}-01 00:00:00");
        let start = format!("{year}-{month:02}-{day:02} {h:02}:00:00");
        let end = if h == 23 {
            if day as u32 == days {
                period_end.clone()
            } else {
                format!("{year}-{month:02}-{:02} 00:00:00", day + 1)
            }
        } else {
            format!("{year}-{month:02}-{day:02} {:02}:00:00", h + 1)
        };
        let tags = if r.next().is_multiple_of(5) {
            "NULL".to_string()
        } else {
            format!(
                "\"{{\"\"team\"\": \"\"{}\"\", \"\"environment\"\": \"\"{}\"\", \"\"cost_center\"\": \"\"cc-{}\"\"}}\"",
                r.pick(TEAMS),
                r.pick(ENVS),
                100 + r.next() % 20
            )
        };
        writeln!(
            w,
            "{billed},\"1234567890123\",\"SunBird\",\"USD\",\"{period_end}\",\
             \"{period_start}\",\"Usage\",NULL,\"{service} usage\",\"Usage-Based\",\
             \"{end}\",\"{start}\",{q}.000000000000000,\"Hours\",\
             0.00000000000,{effective},\"Amazon Web Services, Inc.\",{list},{q}.00000000000,\
             \"Hours\",\"AWS\",\"Amazon Web Services, Inc.\",\"{region}\",NULL,\
             \"arn:aws:service:{region}:{account}:resource/r-{res:08x}\",\"{category}\",\
             \"{service}\",\"SKU{sku:04}\",\"{account}\",\"Account {acct}\",{tags}",
            q = 1 + r.next() % 8,
            res = (i * 7919) % 2_000_003,
            sku = r.next() % 500,
            acct = account % 1000,
        )?;
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

//! What needs someone's attention on a vendor, each with its sentence: a renewal inside its
//! notice window while the SOC 2 report has expired (or there is none), a tier-1 vendor without
//! a DPA, a review overdue. Pure rules over facts the store gathers.

use super::dates::Standing;
use time::Date;

pub struct Facts<'a> {
    pub tier: u8,
    /// (contract title, standing, notice deadline).
    pub contracts: &'a [(String, Standing, Option<Date>)],
    /// The latest `valid_until` of the vendor's SOC 2 reports (type I or II).
    pub soc2_until: Option<Date>,
    pub has_dpa: bool,
    pub next_review: Date,
    pub today: Date,
    /// (currency, spend over the last 12 months, running contracts' annual value) where the
    /// spend is the larger.
    pub over_contract: &'a [(String, String, String)],
}

pub const CODES: [(&str, &str); 4] = [
    ("renewal_without_soc2", "Renewal without a current SOC 2"),
    ("tier1_without_dpa", "Tier 1 without a DPA"),
    ("review_overdue", "Review overdue"),
    ("spend_over_contract", "Spend above contract value"),
];

pub fn warnings(f: &Facts) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let soc2_current = f.soc2_until.is_some_and(|d| d > f.today);
    for (title, standing, deadline) in f.contracts {
        if *standing == Standing::NoticeWindow && !soc2_current {
            let why = match f.soc2_until {
                Some(d) => format!("the SOC 2 report expired on {d}"),
                None => "there is no SOC 2 report".to_string(),
            };
            out.push((
                "renewal_without_soc2",
                format!(
                    "'{title}' is in its notice window (notice by {}) and {why}: decide on renewal with current assurance.",
                    deadline.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
        }
    }
    if f.tier == 1 && !f.has_dpa {
        out.push((
            "tier1_without_dpa",
            "A tier-1 vendor without a data processing agreement on file.".to_string(),
        ));
    }
    for (currency, spend, value) in f.over_contract {
        out.push((
            "spend_over_contract",
            format!(
                "Spend over the last 12 months, {spend} {currency}, is above the contracts' annual value, {value} {currency}."
            ),
        ));
    }
    if f.next_review < f.today {
        out.push((
            "review_overdue",
            format!("The review was due on {}.", f.next_review),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_renewal_in_its_window_warns_until_a_current_soc2_arrives() {
        let contracts = [(
            "Platform".to_string(),
            Standing::NoticeWindow,
            Some(date!(2026 - 12 - 20)),
        )];
        let mut f = Facts {
            tier: 2,
            contracts: &contracts,
            soc2_until: Some(date!(2026 - 11 - 01)),
            has_dpa: false,
            next_review: date!(2027 - 01 - 01),
            today: date!(2026 - 12 - 01),
            over_contract: &[],
        };
        let w = warnings(&f);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].1.contains("expired on 2026-11-01") && w[0].1.contains("notice by 2026-12-20"),
            "{}",
            w[0].1
        );
        f.soc2_until = Some(date!(2027 - 11 - 01));
        assert!(warnings(&f).is_empty());
        f.soc2_until = None;
        assert!(warnings(&f)[0].1.contains("there is no SOC 2 report"));
    }

    #[test]
    fn tier_one_needs_a_dpa_and_reviews_fall_due() {
        let f = Facts {
            tier: 1,
            contracts: &[],
            soc2_until: None,
            has_dpa: false,
            next_review: date!(2026 - 11 - 30),
            today: date!(2026 - 12 - 01),
            over_contract: &[],
        };
        let codes: Vec<&str> = warnings(&f).iter().map(|w| w.0).collect();
        assert_eq!(codes, ["tier1_without_dpa", "review_overdue"]);
    }
}

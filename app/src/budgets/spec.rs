//! A budget as people write it (a CSV row, the form) and its validation: every field checked,
//! each problem named by its column. Owner and deputy stay text here (username or email); the
//! store resolves them to users.

use super::threshold::Threshold;
pub use super::{BudgetForm, COLUMNS};
use crate::calendar::{add_months, month_index, Period};
use crate::costs::money::parse_amount;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeriodKind {
    Monthly,
    Quarterly,
    Annual,
}

impl PeriodKind {
    pub fn parse(s: &str) -> Option<PeriodKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "monthly" | "month" => Some(PeriodKind::Monthly),
            "quarterly" | "quarter" => Some(PeriodKind::Quarterly),
            "annual" | "annually" | "yearly" | "year" => Some(PeriodKind::Annual),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Monthly => "monthly",
            PeriodKind::Quarterly => "quarterly",
            PeriodKind::Annual => "annual",
        }
    }
    pub fn months(self) -> i32 {
        match self {
            PeriodKind::Monthly => 1,
            PeriodKind::Quarterly => 3,
            PeriodKind::Annual => 12,
        }
    }
}

/// The scope: the cost explorer's filters ('' = any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub provider: String,
    pub billing_account: String,
    pub sub_account: String,
    pub service: String,
    pub region: String,
    pub tag_key: String,
    pub tag_value: String,
}

impl Scope {
    /// "AWS · service Amazon EC2 · tag env=prod", or "all spend".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (label, v) in [
            ("provider", &self.provider),
            ("billing account", &self.billing_account),
            ("sub-account", &self.sub_account),
            ("service", &self.service),
            ("region", &self.region),
        ] {
            if !v.is_empty() {
                parts.push(format!("{label} {v}"));
            }
        }
        if !self.tag_key.is_empty() {
            parts.push(format!("tag {}={}", self.tag_key, self.tag_value));
        }
        if parts.is_empty() {
            "all spend".into()
        } else {
            parts.join(" · ")
        }
    }
}

/// A valid budget (owner and deputy still as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub owner: String,
    pub deputy: String,
    pub period: PeriodKind,
    pub amount: Decimal,
    pub currency: String,
    /// First day of the first period.
    pub start: Date,
    /// First day after the last period.
    pub end: Option<Date>,
    pub scope: Scope,
    pub thresholds: Vec<Threshold>,
    pub notes: String,
}

/// A problem with one field: (column, why).
pub type FieldError = (&'static str, String);

fn plain(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let v = raw.trim().to_string();
    if v.chars().count() > max {
        return Err((field, format!("at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err((field, "must not contain control characters".into()));
    }
    Ok(v)
}

/// `YYYY-MM` (or `YYYY-MM-01`): the first day of that month.
fn month(field: &'static str, raw: &str) -> Result<Date, FieldError> {
    let s = raw.trim();
    let full = if s.len() == 7 {
        format!("{s}-01")
    } else {
        s.to_string()
    };
    match crate::util::parse_date(&full) {
        Some(d) if d.day() == 1 => Ok(d),
        Some(_) => Err((field, format!("'{s}' is not the first day of a month"))),
        None => Err((field, format!("'{s}' is not a month (YYYY-MM)"))),
    }
}

pub fn month_text(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month() as u8)
}

impl Spec {
    pub fn parse(f: &BudgetForm) -> Result<Spec, FieldError> {
        let name = plain("name", &f.name, 100)?;
        if name.is_empty() {
            return Err(("name", "is required".into()));
        }
        let owner = plain("owner", &f.owner, 254)?;
        if owner.is_empty() {
            return Err(("owner", "is required (a username or email)".into()));
        }
        let deputy = plain("deputy", &f.deputy, 254)?;
        if !deputy.is_empty() && deputy.eq_ignore_ascii_case(&owner) {
            return Err(("deputy", "must be someone other than the owner".into()));
        }
        let period = PeriodKind::parse(&f.period).ok_or((
            "period",
            format!("'{}' is not monthly, quarterly or annual", f.period.trim()),
        ))?;
        let amount = parse_amount(&f.amount).map_err(|e| ("amount", e))?;
        if amount <= Decimal::ZERO {
            return Err(("amount", "must be above zero".into()));
        }
        let currency = f.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err((
                "currency",
                format!("'{}' is not a currency code (e.g. USD)", f.currency.trim()),
            ));
        }
        let start = month("start", &f.start)?;
        let end = match f.end.trim() {
            "" => None,
            e => {
                let last = month("end", e)?;
                let months = month_index(last) - month_index(start) + 1;
                if months <= 0 {
                    return Err(("end", "is before the start".into()));
                }
                if months % period.months() != 0 {
                    return Err((
                        "end",
                        format!(
                            "must be the last month of a {} period (periods start {})",
                            period.as_str(),
                            month_text(start)
                        ),
                    ));
                }
                Some(add_months(last, 1))
            }
        };
        let (tag_key, tag_value) = match plain("tag", &f.tag, 400)? {
            t if t.is_empty() => (String::new(), String::new()),
            t => match t.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    (k.trim().to_string(), v.trim().to_string())
                }
                _ => return Err(("tag", format!("'{t}' is not key=value"))),
            },
        };
        let scope = Scope {
            provider: plain("provider", &f.provider, 200)?,
            billing_account: plain("billing_account", &f.billing_account, 200)?,
            sub_account: plain("sub_account", &f.sub_account, 200)?,
            service: plain("service", &f.service, 200)?,
            region: plain("region", &f.region, 200)?,
            tag_key,
            tag_value,
        };
        let narrower = [&scope.billing_account, &scope.sub_account, &scope.region];
        if !scope.tag_key.is_empty() && narrower.iter().any(|v| !v.is_empty()) {
            return Err((
                "tag",
                "combines only with provider and service (tagged spend is kept per provider and service)"
                    .into(),
            ));
        }
        let thresholds = Threshold::parse_list(&f.thresholds).map_err(|e| ("thresholds", e))?;
        let notes = f.notes.trim().to_string();
        if notes.chars().count() > 2000 {
            return Err(("notes", "at most 2000 characters".into()));
        }
        Ok(Spec {
            name,
            owner,
            deputy,
            period,
            amount,
            currency,
            start,
            end,
            scope,
            thresholds,
            notes,
        })
    }

    /// The period containing `day`, if the budget runs then.
    pub fn period_of(&self, day: Date) -> Option<Period> {
        period_of(self.start, self.end, self.period, day)
    }
}

/// A valid budget as the export writes it (it reads back to the same budget).
pub fn to_form(s: &Spec) -> BudgetForm {
    BudgetForm {
        name: s.name.clone(),
        owner: s.owner.clone(),
        deputy: s.deputy.clone(),
        period: s.period.as_str().into(),
        amount: s.amount.to_string(),
        currency: s.currency.clone(),
        start: month_text(s.start),
        end: s
            .end
            .map(|e| month_text(add_months(e, -1)))
            .unwrap_or_default(),
        provider: s.scope.provider.clone(),
        billing_account: s.scope.billing_account.clone(),
        sub_account: s.scope.sub_account.clone(),
        service: s.scope.service.clone(),
        region: s.scope.region.clone(),
        tag: if s.scope.tag_key.is_empty() {
            String::new()
        } else {
            format!("{}={}", s.scope.tag_key, s.scope.tag_value)
        },
        thresholds: Threshold::list_text(&s.thresholds),
        notes: s.notes.clone(),
    }
}

/// The budget period (of `kind`, from `start`, until `end`) that contains `day`.
pub fn period_of(start: Date, end: Option<Date>, kind: PeriodKind, day: Date) -> Option<Period> {
    if day < start || end.is_some_and(|e| day >= e) {
        return None;
    }
    let len = kind.months();
    let i = (month_index(day) - month_index(start)).div_euclid(len);
    Period::new(add_months(start, i * len), add_months(start, (i + 1) * len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn form() -> BudgetForm {
        BudgetForm::from_cells(&[
            "Platform",
            "lead",
            "",
            "quarterly",
            "3000.00",
            "usd",
            "2026-02",
            "2027-01",
            "AWS",
            "",
            "",
            "Amazon EC2",
            "",
            "",
            "",
            "",
        ])
    }

    #[test]
    fn a_row_becomes_a_budget() {
        let s = Spec::parse(&form()).unwrap();
        assert_eq!(s.currency, "USD");
        assert_eq!(s.amount.to_string(), "3000.00");
        assert_eq!(s.end, Some(date!(2027 - 02 - 01)));
        assert_eq!(s.thresholds.len(), 3);
        let p = s.period_of(date!(2026 - 06 - 30)).unwrap();
        assert_eq!(
            (p.start, p.end),
            (date!(2026 - 05 - 01), date!(2026 - 08 - 01))
        );
        assert!(s.period_of(date!(2026 - 01 - 31)).is_none());
        assert!(s.period_of(date!(2027 - 02 - 01)).is_none());
    }

    #[test]
    fn each_problem_names_its_column() {
        for (change, field) in [
            (("amount", "12,5"), "amount"),
            (("amount", "0"), "amount"),
            (("period", "weekly"), "period"),
            (("currency", "dollars"), "currency"),
            (("start", "2026-13"), "start"),
            (("end", "2026-12"), "end"),
            (("end", "2025-12"), "end"),
            (("tag", "novalue"), "tag"),
            (("thresholds", "80%"), "thresholds"),
            (("deputy", "LEAD"), "deputy"),
            (("name", " "), "name"),
        ] {
            let mut f = form();
            match change.0 {
                "amount" => f.amount = change.1.into(),
                "period" => f.period = change.1.into(),
                "currency" => f.currency = change.1.into(),
                "start" => f.start = change.1.into(),
                "end" => f.end = change.1.into(),
                "tag" => f.tag = change.1.into(),
                "thresholds" => f.thresholds = change.1.into(),
                "deputy" => f.deputy = change.1.into(),
                _ => f.name = change.1.into(),
            }
            assert_eq!(Spec::parse(&f).unwrap_err().0, field, "{change:?}");
        }
        let mut f = form();
        f.tag = "env=prod".into();
        f.region = "us-east-1".into();
        assert_eq!(Spec::parse(&f).unwrap_err().0, "tag");
    }
}

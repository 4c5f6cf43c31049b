//! One scope's spend (a budget's, a vendor's): the dimension filters, or a tag's value. Tag
//! rollups carry provider and service only, so a tag scope is narrowed by those two alone.

use super::{Buckets, Filters, Group, Metric, Snapshot};
use crate::error::AppError;
use rust_decimal::Decimal;

/// A tag to sum by: (key, value).
pub type TagScope<'a> = Option<(&'a str, &'a str)>;

impl Snapshot {
    /// The scope's sums per bucket (zeros where there is nothing).
    pub fn scoped(
        &self,
        b: &Buckets,
        currency: &str,
        metric: Metric,
        f: &Filters<'_>,
        tag: TagScope<'_>,
    ) -> Result<Vec<Decimal>, AppError> {
        let sums = match tag {
            None => self
                .sums(b, currency, metric, Group::Nothing, f)?
                .remove(""),
            Some((key, value)) => {
                let narrowed = Filters {
                    provider: f.provider,
                    service: f.service,
                    ..Filters::default()
                };
                self.sums(b, currency, metric, Group::Tag(key), &narrowed)?
                    .remove(value)
            }
        };
        Ok(sums.unwrap_or_else(|| vec![Decimal::ZERO; b.count]))
    }
}

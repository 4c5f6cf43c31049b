//! Cloud cost data: import of FOCUS and AWS CUR files into batches of FOCUS-shaped line items,
//! with daily rollups for the reports.
//!
//! Money is exact end to end: amounts are parsed from text into `Decimal` (`money`), stored as
//! their decimal text with the source's scale, and summed in Rust, never as floats and never in
//! SQL. Instants are UTC text in the project format; rollups are by UTC day of the charge
//! period start.
//!
//! Batches: a file is one batch (`cost_batches`, with its SHA-256, format, actor, row counts,
//! covered periods and per-currency totals). The same file again is a no-op ("already
//! imported"). A batch holds one slice per source (provider + billing account) and billing
//! period (`cost_batch_slices`); a later import that has the same slice replaces it: the older
//! batch's line items and rollup rows for that slice are deleted in the importing transaction,
//! and the older batch stays listed as `partially_replaced` or `replaced`. "Later" is import
//! order: the file imported last wins.
//!
//! Rollups (`cost_daily`, and `cost_daily_tags` per tag key and value) are rows per batch, so a
//! replacement deletes them instead of subtracting; reports add up the rows they select.
//!
//! - `formats`: header recognition and the row mapping for each source format.
//! - `import`: the streaming, all-or-nothing importer (`import_file`, `import_reader`).
//! - `store`: the one writer of line items and rollups (file imports and the sync).
//! - `money`: the exact amount parser.
//! - `cube`: the rollups held in memory for reports (refreshed per batch when data changes).
//! - `report`: the cost explorer's sums, chart geometry and CSV; `pages`: its page, the
//!   import page and their server functions; `files`: upload and export routes;
//!   `sync`: AWS Cost Explorer.

#[cfg(feature = "ssr")]
pub mod cube;
pub mod files;
#[cfg(feature = "ssr")]
pub mod formats;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod money;
pub mod pages;
pub mod report;
#[cfg(feature = "ssr")]
pub(crate) mod store;
pub mod sync;

pub use pages::{CostImportPage, CostsPage};

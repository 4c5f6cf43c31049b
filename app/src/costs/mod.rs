//! Cloud cost data: import of FOCUS and AWS CUR files into batches of FOCUS-shaped line items,
//! with daily rollups for the reports.
//!
//! Money is exact end to end: amounts are parsed from text into `Decimal` (`money`), stored as
//! their decimal text, and summed in Rust, never as floats and never in SQL. Instants are UTC
//! text in the project format; rollups are by UTC day of the charge period start.
//!
//! - `formats`: header recognition and the row mapping for each source format.
//! - `import`: the streaming, all-or-nothing importer (`import_file`, `import_reader`).
//! - `report`: the cost explorer's sums, chart geometry and CSV; `pages`: its page, the
//!   import page and their server functions; `http`: upload and export routes.

pub mod files;
#[cfg(feature = "ssr")]
pub mod formats;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod money;
pub mod pages;
pub mod report;
pub mod sync;

pub use pages::{CostImportPage, CostsPage};

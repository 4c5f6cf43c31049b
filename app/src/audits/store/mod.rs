//! The audits area's SQL (server side only), one file per entity: audits with their
//! frameworks and auditors, requests with their threads and evidence, samples.

// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

mod audits;
mod requests;
mod samples;

pub use audits::*;
pub use requests::*;
pub use samples::*;

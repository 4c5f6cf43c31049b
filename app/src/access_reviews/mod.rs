//! Access reviews: systems (applications, cloud accounts, databases, and Steward itself) with
//! an owner, criticality and data categories; account snapshots imported from any CSV through
//! a saved column mapping (`mapped.rs`), from the AWS IAM credential report
//! (`credential_report.rs`) or from Steward's own users; a people list for orphans and manager
//! routing; and the flags each account gets at import (`flags.rs`).

pub mod accounts;
#[cfg(feature = "ssr")]
pub mod credential_report;
pub mod flags;
#[cfg(feature = "ssr")]
pub mod mapped;

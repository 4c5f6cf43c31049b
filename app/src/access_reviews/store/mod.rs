//! The access reviews' SQL: systems (`systems.rs`), snapshots with their flagged accounts and
//! the people list and flag rules (`people.rs`), and the server functions' bodies (`requests.rs`).

pub mod campaigns;
pub mod entries;
pub mod lifecycle;
pub mod people;
pub mod remediation;
pub mod requests;
pub mod snapshots;
pub mod systems;

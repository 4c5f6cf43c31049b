//! SQL for frameworks, requirements, controls and mappings (server side only), one file per
//! entity, and the requests of the area's server functions.

mod controls;
mod crosswalks;
pub mod framework_requests;
mod frameworks;
pub mod requests;
mod soa;

pub use controls::*;
pub use crosswalks::*;
pub use frameworks::*;
pub use soa::*;

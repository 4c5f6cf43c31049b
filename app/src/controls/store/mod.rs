//! SQL for frameworks, requirements, controls and mappings (server side only), one file per
//! entity, and the requests of the area's server functions.

mod controls;
mod frameworks;
pub mod requests;

pub use controls::*;
pub use frameworks::*;

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
//!   import page; `store`: the batch list's SQL; `routes`: its endpoints, upload and export; this
//!   file: the server functions;
//!   `sync`: AWS Cost Explorer.

#[cfg(feature = "ssr")]
pub mod chart;
#[cfg(feature = "ssr")]
pub mod cube;
#[cfg(feature = "ssr")]
pub mod formats;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod money;
pub mod pages;
pub mod report;
pub mod routes;
#[cfg(feature = "ssr")]
pub(crate) mod store;
pub mod sync;

pub use pages::{CostImportPage, CostUploadForm, CostsPage};

use crate::error::AppError;
use leptos::prelude::*;
use report::{Report, ReportQuery};
use serde::{Deserialize, Serialize};

#[server(endpoint = "cost_report")]
pub async fn cost_report(query: ReportQuery) -> Result<Report, AppError> {
    use crate::policy::Permission;
    crate::context::require(Permission::ViewCosts)?;
    let state = crate::state::app_state()?;
    report::build(&state.db, &state.cost_cube, query, state.clock.now().date()).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: i64,
    pub source_kind: String,
    pub source_name: String,
    pub sha256: Option<String>,
    pub format: String,
    pub imported_by: String,
    pub imported_at: String,
    pub rows_read: i64,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub totals: String,
    pub status: String,
    pub replaced_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchList {
    pub batches: Vec<BatchRow>,
    pub can_import: bool,
}

#[server(endpoint = "list_cost_batches")]
pub async fn list_cost_batches() -> Result<BatchList, AppError> {
    use crate::policy::Permission;
    let su = crate::context::require(Permission::ViewCosts)?;
    let state = crate::state::app_state()?;
    Ok(BatchList {
        batches: store::batches(state.db.pool()).await?,
        can_import: su.user.can(Permission::ManageCosts),
    })
}

#[server(endpoint = "cost_sync_status")]
pub async fn cost_sync_status() -> Result<sync::SyncStatus, AppError> {
    use crate::policy::Permission;
    let su = crate::context::require(Permission::ViewCosts)?;
    let state = crate::state::app_state()?;
    sync_status(&state, su.user.can(Permission::ManageCosts)).await
}

#[cfg(feature = "ssr")]
async fn sync_status(
    state: &crate::state::AppState,
    can_sync: bool,
) -> Result<sync::SyncStatus, AppError> {
    let cs = &state.cost_sync;
    Ok(sync::SyncStatus {
        configured: cs.settings().is_some(),
        running: cs.running(),
        pages: cs.pages(),
        last: sync::last_runs(&state.db, None, 1).await?.pop(),
        tag_keys: cs
            .settings()
            .map(|s| s.tag_keys.clone())
            .unwrap_or_default(),
        interval_hours: cs.settings().map(|s| s.interval_hours).unwrap_or(0),
        can_sync,
    })
}

/// Starts a sync in the background; the page shows its progress and then its result.
#[server(endpoint = "start_cost_sync")]
pub async fn start_cost_sync() -> Result<sync::SyncStatus, AppError> {
    use crate::policy::Permission;
    let su = crate::context::require(Permission::ManageCosts)?;
    let state = crate::state::app_state()?;
    if state.cost_sync.settings().is_none() {
        return Err(AppError::invalid(
                "AWS Cost Explorer sync is not configured: set STEWARD_AWS_CE_REGION (and credentials in the standard AWS way).",
            ));
    }
    if state.cost_sync.running() {
        return Err(AppError::Conflict("A sync is already running.".into()));
    }
    let ctx = crate::state::audit_ctx(&state, Some(&su.user));
    let (sync, db, clock) = (
        state.cost_sync.clone(),
        state.db.clone(),
        state.clock.clone(),
    );
    tokio::spawn(async move {
        if let Err(e) = sync.run(&db, &clock, ctx).await {
            tracing::warn!(error = %e, "cost sync could not run");
        }
    });
    let mut st = sync_status(&state, true).await?;
    st.running = true;
    Ok(st)
}

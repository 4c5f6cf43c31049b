//! Server-side state shared by every area's server functions and plain handlers; the
//! request context itself (the user, the request's facts) is in `context`.

use crate::audit::chain::AuditCtx;
use crate::auth::password::PasswordHasher;
use crate::context::{request_meta, CurrentUser, RequestMeta, Security};
use crate::db::Db;
use crate::error::AppError;
use crate::util::Clock;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub hasher: PasswordHasher,
    pub clock: Clock,
    pub security: Arc<Security>,
    /// Where evidence files are stored (content-addressed).
    #[from_ref(skip)]
    pub blobs: Arc<dyn crate::evidence::blobs::BlobStore>,
    /// The largest evidence file accepted, in bytes.
    #[from_ref(skip)]
    pub max_upload_bytes: u64,
    /// How long an upload may send nothing before it is abandoned.
    #[from_ref(skip)]
    pub upload_idle: Duration,
    /// Where uploads are received before they are imported (`<data dir>/tmp`).
    #[from_ref(skip)]
    pub spool_dir: std::path::PathBuf,
    /// AWS Cost Explorer sync (disabled unless configured).
    #[from_ref(skip)]
    pub cost_sync: crate::costs::sync::CostSync,
    /// The daily rollups in memory for reports (`costs::cube`).
    #[from_ref(skip)]
    pub cost_cube: Arc<crate::costs::cube::Cube>,
    /// Throttled sign-ins already noted in the audit trail this window.
    #[from_ref(skip)]
    pub refusals: Arc<crate::auth::throttle::Refusals>,
    /// The installation's signing key (audit checkpoints; kept outside the database).
    #[from_ref(skip)]
    pub signer: crate::signing::Signer,
    /// The dashboard's figures, kept until the audit chain moves (`dashboard::store`).
    #[from_ref(skip)]
    pub dashboard: Arc<crate::memo::Memo>,
    /// Sessions read at the current audit head (`auth::cache`).
    #[from_ref(skip)]
    pub sessions: Arc<crate::auth::cache::SessionCache>,
    /// Woken when cost data lands or budgets change: the budget evaluator runs soon after.
    #[from_ref(skip)]
    pub budgets_due: Arc<tokio::sync::Notify>,
    /// Woken when messages are queued: the outbox worker sends them soon after.
    #[from_ref(skip)]
    pub outbox_due: Arc<tokio::sync::Notify>,
    /// How long a budget alert may wait for its owner before finance is told.
    #[from_ref(skip)]
    pub budget_escalation: time::Duration,
    /// Every budget's summary, kept until the data version moves (`budgets::requests`).
    #[from_ref(skip)]
    pub budget_summaries: Arc<crate::memo::Memo>,
    /// Where exports built in the background are kept (`<data dir>/exports`).
    #[from_ref(skip)]
    pub export_dir: std::path::PathBuf,
    /// The exports being built, with their progress (`exports::jobs`).
    #[from_ref(skip)]
    pub export_jobs: Arc<crate::exports::run::Jobs>,
    /// The fewest days the audit trail is kept, whatever its retention rule says.
    #[from_ref(skip)]
    pub audit_min_days: u32,
}

/// This request's data version (the guard read it), or the current one when called without
/// a request: what the kept values (dashboard cards, budget summaries) key on.
pub async fn data_version(state: &AppState) -> Result<crate::context::DataVersion, AppError> {
    match crate::context::data_version() {
        Some(v) => Ok(v),
        None => Ok(crate::context::DataVersion::new(
            state.db.head_seq().await?,
            state.clock.now(),
        )),
    }
}

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("AppState missing from context"))
}

pub fn audit_ctx(state: &AppState, user: Option<&CurrentUser>) -> AuditCtx {
    audit_ctx_for(state, &request_meta(), user)
}

/// The audit context for a plain axum handler, which has the request's facts in hand.
pub fn audit_ctx_for(state: &AppState, meta: &RequestMeta, user: Option<&CurrentUser>) -> AuditCtx {
    let meta = meta.clone();
    AuditCtx {
        actor_id: user.map(|u| u.id),
        actor: user
            .map(|u| u.username.clone())
            .unwrap_or_else(|| "anonymous".into()),
        request_id: (!meta.request_id.is_empty()).then_some(meta.request_id),
        client_addr: (!meta.client_addr.is_empty()).then_some(meta.client_addr),
        at: crate::util::ts(state.clock.now()),
    }
}

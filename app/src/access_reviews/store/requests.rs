//! The server functions' bodies: who may ask, then the store.

use super::super::flags::Flag;
use super::super::mapped::Field;
use super::super::sources;
use super::super::*;
use super::{snapshots, systems};
use crate::context::require;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::tabular::pending;

pub const PER_PAGE: i64 = 100;

pub async fn list() -> Result<SystemList, AppError> {
    let su = require(Permission::ViewAccessReviews)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let owners = sqlx::query_as(
        "SELECT username, display_name FROM users WHERE active = 1 AND role <> 'auditor' ORDER BY display_name",
    )
    .fetch_all(pool)
    .await?;
    let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(pool)
        .await?;
    Ok(SystemList {
        systems: systems::list(pool).await?,
        owners,
        people,
        can_manage: su.user.can(Permission::ManageAccessReviews),
    })
}

pub async fn save(form: SystemForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    systems::save(&state.db, &audit_ctx(&state, Some(&su.user)), &form).await
}

pub async fn detail(id: i64, q: String, flag: String, page: i64) -> Result<SystemDetail, AppError> {
    let su = require(Permission::ViewAccessReviews)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let (system, description) = systems::one(pool, id).await?.ok_or(AppError::NotFound)?;
    let snapshots = snapshots::history(pool, id).await?;
    let page = page.max(1);
    let flag = match flag.trim() {
        "" => None,
        f => Some(
            Flag::parse(f)
                .ok_or_else(|| AppError::invalid(format!("flag: '{f}' is not a flag")))?,
        ),
    };
    let (accounts, total, flag_counts, removed) = match snapshots.first() {
        Some(latest) => {
            let (a, t) = snapshots::accounts(pool, latest.id, &q, flag, page, PER_PAGE).await?;
            let removed = sqlx::query_as(
                "SELECT user_id, name, entitlement FROM snapshot_removed WHERE snapshot_id = $1 ORDER BY key LIMIT 500",
            )
            .bind(latest.id)
            .fetch_all(pool)
            .await?;
            (
                a,
                t,
                snapshots::flag_counts(pool, latest.id).await?,
                removed,
            )
        }
        None => (Vec::new(), 0, Vec::new(), Vec::new()),
    };
    Ok(SystemDetail {
        system,
        description,
        snapshots,
        accounts,
        total,
        page,
        per_page: PER_PAGE,
        flag_counts,
        removed,
        can_manage: su.user.can(Permission::ManageAccessReviews),
        holds: crate::retention::store::holds_on(pool, state.clock.now().date(), Some(id), None)
            .await?,
    })
}

pub async fn pending(system: i64, token: String) -> Result<PendingImport, AppError> {
    require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let (summary, _) = systems::one(pool, system)
        .await?
        .ok_or(AppError::NotFound)?;
    let (file_name, bytes) = pending::load(&state.spool_dir, sources::PENDING, &token)?;
    let read = sources::read(&bytes)?;
    let offered = sources::offered(
        &read.rows[0],
        systems::mapping(pool, system).await?.as_deref(),
    );
    Ok(PendingImport {
        system_id: system,
        system: summary.name,
        file: crate::tabular::read::preview(
            &read.rows,
            read.encoding,
            read.delimiter,
            (token, file_name),
            Field::ALL
                .iter()
                .map(|f| (f.as_str().into(), f.label().into(), offered.get(f).cloned()))
                .collect(),
        ),
    })
}

pub async fn import_mapped(
    system: i64,
    token: String,
    map: std::collections::BTreeMap<String, String>,
) -> Result<ImportOutcome, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    let mapping = sources::mapping_from(&map)?;
    let (file_name, bytes) = pending::load(&state.spool_dir, sources::PENDING, &token)?;
    let read = sources::read(&bytes)?;
    let accounts = sources::mapped(&read, &mapping)?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let out = snapshots::insert(
        &state.db,
        &ctx,
        snapshots::NewSnapshot {
            system_id: system,
            source: "csv",
            file_name: &file_name,
            sha256: &crate::util::sha256_hex(&bytes),
            encoding: read.encoding,
            accounts: &accounts,
            mapping: Some(&mapping),
            today: state.clock.now().date(),
            by: Some(su.user.id),
        },
    )
    .await?;
    pending::drop(&state.spool_dir, sources::PENDING, &token);
    Ok(out)
}

pub async fn snapshot_steward() -> Result<ImportOutcome, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let id = systems::ensure_steward(&state.db, &ctx).await?;
    let accounts = snapshots::steward_accounts(state.db.pool()).await?;
    // The users as they are now: the hash of the accounts read stands for the "file".
    let digest = crate::util::sha256_hex(
        serde_json::to_string(&accounts)
            .map_err(AppError::internal)?
            .as_bytes(),
    );
    snapshots::insert(
        &state.db,
        &ctx,
        snapshots::NewSnapshot {
            system_id: id,
            source: "steward",
            file_name: "",
            sha256: &digest,
            encoding: "",
            accounts: &accounts,
            mapping: None,
            today: state.clock.now().date(),
            by: Some(su.user.id),
        },
    )
    .await
}

pub async fn people(q: String, page: i64) -> Result<PeopleList, AppError> {
    let su = require(Permission::ViewAccessReviews)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let page = page.max(1);
    let (people, total) = super::people::page(pool, &q, page, PER_PAGE).await?;
    Ok(PeopleList {
        people,
        total,
        page,
        per_page: PER_PAGE,
        rules: snapshots::rules(pool).await?,
        can_manage: su.user.can(Permission::ManageAccessReviews),
    })
}

pub async fn save_rules(
    dormant_days: i64,
    stale_credential_days: i64,
    privileged_patterns: String,
) -> Result<(), AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    let rules = super::super::flags::Rules {
        dormant_days,
        stale_credential_days,
        privileged_patterns: privileged_patterns
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    };
    super::people::save_rules(&state.db, &audit_ctx(&state, Some(&su.user)), &rules).await
}

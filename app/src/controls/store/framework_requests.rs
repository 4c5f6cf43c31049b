//! The server functions' bodies for frameworks from files (the CSV mapping step) and what a
//! framework's page changes: a requirement's applicability, a crosswalk suggestion accepted.

use crate::context::require;
use crate::controls::framework_csv::{self, Field};
use crate::controls::store;
use crate::error::AppError;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx, AppState};
use crate::tabular::{pending, read as tabular, remember, Preview};
use std::collections::BTreeMap;

/// A framework CSV kept for its mapping step (readable, within bounds).
pub fn keep(state: &AppState, file_name: &str, bytes: &[u8]) -> Result<String, AppError> {
    pending::keep_table(
        &state.spool_dir,
        framework_csv::PENDING,
        &framework_csv::LIMITS,
        file_name,
        bytes,
    )
}

/// The waiting file, with the mapping chosen last for the same headers, else guessed.
pub async fn pending_file(token: String) -> Result<Preview, AppError> {
    require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let (file_name, _, t) = pending::load_table(
        &state.spool_dir,
        framework_csv::PENDING,
        &token,
        &framework_csv::LIMITS,
    )?;
    let headers = &t.rows[0];
    let saved = remember::recall(state.db.pool(), framework_csv::PENDING, headers).await?;
    let guessed = framework_csv::guess(headers);
    let chosen = |f: Field| match &saved {
        Some(m) => m.get(f.as_str()).cloned(),
        None => guessed.get(&f).cloned(),
    };
    Ok(tabular::preview(
        &t.rows,
        t.encoding,
        t.delimiter,
        (token, file_name),
        Field::ALL
            .iter()
            .map(|f| (f.as_str().to_string(), f.label(), chosen(*f)))
            .collect(),
    ))
}

/// Imports the waiting file with the mapping chosen, remembers the mapping for the next file
/// with these headers; returns the framework and what was done.
pub async fn import_mapped(
    token: String,
    map: BTreeMap<String, String>,
    name: String,
    version: String,
) -> Result<(i64, String), AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let mapping = tabular::mapping_from(&map, Field::parse, "a framework")?;
    let (file_name, bytes, t) = pending::load_table(
        &state.spool_dir,
        framework_csv::PENDING,
        &token,
        &framework_csv::LIMITS,
    )?;
    let stem = std::path::Path::new(&file_name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("Custom framework")
        .to_string();
    let name = if name.trim().is_empty() { stem } else { name };
    let parsed = framework_csv::read(&t, &mapping, &name, &version)?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let sha = crate::util::sha256_hex(&bytes);
    let mut tx = state.db.write().await?;
    let out = store::apply_framework_in(&mut tx, &ctx, &parsed, &file_name, &sha).await?;
    let kept: BTreeMap<String, String> = mapping
        .iter()
        .map(|(f, h)| (f.as_str().to_string(), h.clone()))
        .collect();
    remember::keep(&mut tx, framework_csv::PENDING, &t.rows[0], &kept, &ctx.at).await?;
    if !out.changed {
        // Remembering the mapping is a change of its own: it is audited.
        tx.audit(ctx.event(
            "framework.mapping",
            "framework",
            out.framework_id,
            format!("column mapping for '{file_name}' remembered"),
        ))
        .await?;
    }
    tx.commit().await?;
    pending::drop(&state.spool_dir, framework_csv::PENDING, &token);
    Ok((out.framework_id, out.describe()))
}

pub async fn set_applicability(
    requirement_id: i64,
    applicable: bool,
    justification: String,
) -> Result<(), AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    if !store::set_applicability(&mut tx, &ctx, requirement_id, applicable, &justification).await? {
        return Err(AppError::invalid("Nothing changed."));
    }
    tx.commit().await?;
    Ok(())
}

/// Maps the control to the requirement, if a crosswalk suggests it (the page offered it).
pub async fn accept(control_id: i64, requirement_id: i64) -> Result<(), AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let fw: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT f.id, f.name, r.label FROM requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE r.id = $1",
    )
    .bind(requirement_id)
    .fetch_optional(pool)
    .await?;
    let (fw, fw_name, label) = fw.ok_or(AppError::NotFound)?;
    let suggested = store::suggestions(pool, fw)
        .await?
        .remove(&requirement_id)
        .unwrap_or_default();
    let Some(s) = suggested.iter().find(|s| s.control_id == control_id) else {
        return Err(AppError::invalid(
            "No crosswalk suggests that control here (any more): map it from the control's page.",
        ));
    };
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let via = format!(
        "{fw_name} (suggested by '{}': {} {} {})",
        s.crosswalk, s.via_framework, s.via_label, s.relationship
    );
    store::map(&mut tx, &ctx, control_id, &[(requirement_id, label)], &via).await?;
    tx.commit().await?;
    Ok(())
}

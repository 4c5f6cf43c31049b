//! What each server function of the area reads and writes: its checks, its SQL and its
//! audit event (the functions themselves, in `mod.rs`, only call these).
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use crate::audits::reach::Reach;
use crate::context::require;
use crate::controls::store;
use crate::controls::*;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};

pub async fn users_and_frameworks(
    pool: &sqlx::AnyPool,
    reach: &Reach,
) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let users =
        sqlx::query_as("SELECT id, display_name FROM users WHERE active = 1 ORDER BY display_name")
            .fetch_all(pool)
            .await?;
    let fws = sqlx::query_as(&format!(
        "SELECT id, name FROM frameworks WHERE {} ORDER BY name",
        reach.frameworks_sql("id")
    ))
    .fetch_all(pool)
    .await?;
    Ok((users, fws))
}

pub async fn frameworks() -> Result<FrameworkList, AppError> {
    let su = require(Permission::ViewCompliance)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let st = store::statuses(pool, state.clock.now().date()).await?;
    let reach = Reach::of(pool, &su.user).await?;
    let mut frameworks = store::framework_summaries(pool, &st).await?;
    frameworks.retain(|f| reach.framework(f.id));
    let builtin = import::BUILTIN
        .iter()
        .map(|(key, label, _)| (key.to_string(), label.to_string()))
        .collect();
    Ok(FrameworkList {
        frameworks,
        builtin,
        can_manage: su.user.can(Permission::ManageCompliance),
        scoped: reach != Reach::Everything,
    })
}

pub async fn import_builtin(key: String) -> Result<ImportOutcome, AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let (k, _, bytes) = import::BUILTIN
        .iter()
        .find(|(k, ..)| *k == key)
        .ok_or_else(|| AppError::invalid(format!("No built-in framework '{key}'.")))?;
    // As an uploaded catalog is (parsed off the runtime, its text kept for profiles).
    let ctx = audit_ctx(&state, Some(&su.user));
    let files = vec![super::super::intake::Upload {
        file_name: format!("built-in:{k}"),
        bytes: bytes.to_vec(),
    }];
    let out = super::super::intake::import(&state.db, &ctx, files, Default::default()).await?;
    out.frameworks
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("a built-in catalog imported no framework"))
}

#[derive(sqlx::FromRow)]
struct ReqRow {
    id: i64,
    framework_id: i64,
    framework: String,
    #[sqlx(rename = "ref")]
    r#ref: String,
    label: String,
    parent_ref: Option<String>,
    group_title: String,
    title: String,
    statement: String,
    retired_at: Option<String>,
    assessable: i64,
    depth: i64,
    applicable: i64,
    justification: String,
    reference_controls: String,
}

pub async fn requirements(
    framework: Option<i64>,
    q: String,
    page: i64,
) -> Result<RequirementPage, AppError> {
    let su = require(Permission::ViewCompliance)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let reach = Reach::of(pool, &su.user).await?;
    if framework.is_some_and(|f| f > 0 && !reach.framework(f)) {
        return Err(AppError::NotFound);
    }
    let per_page = 50;
    let page = page.max(1);
    let like = format!("%{}%", q.trim().to_lowercase());
    let fw = framework.unwrap_or(0);
    let where_ = format!(
        "($1 = 0 OR r.framework_id = $1) AND ($2 = '%%%%' OR lower(r.label) LIKE $2
         OR lower(r.title) LIKE $2 OR lower(r.statement) LIKE $2 OR lower(r.group_title) LIKE $2)
         AND {}",
        reach.frameworks_sql("r.framework_id")
    );
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM requirements r WHERE {where_}"
    ))
    .bind(fw)
    .bind(&like)
    .fetch_one(pool)
    .await?;
    let rows: Vec<ReqRow> = sqlx::query_as(&format!(
        "SELECT r.id, r.framework_id, f.name AS framework, r.ref, r.label, r.parent_ref, r.group_title,
                r.title, r.statement, r.retired_at, r.assessable, r.depth, r.applicable,
                r.justification, r.reference_controls
         FROM requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE {where_} ORDER BY f.name, r.sort_order LIMIT $3 OFFSET $4"
    ))
    .bind(fw)
    .bind(&like)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    let maps: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT cr.requirement_id, c.id, c.ref FROM control_requirements cr
         JOIN controls c ON c.id = cr.control_id ORDER BY c.ref",
    )
    .fetch_all(pool)
    .await?;
    let mut by_req: std::collections::HashMap<i64, Vec<(i64, String)>> = Default::default();
    for (r, c, cref) in maps {
        by_req.entry(r).or_default().push((c, cref));
    }
    let framework = if fw > 0 {
        let st = store::statuses(pool, state.clock.now().date()).await?;
        store::framework_summaries(pool, &st)
            .await?
            .into_iter()
            .find(|f| f.id == fw)
    } else {
        None
    };
    if fw > 0 && framework.is_none() {
        return Err(AppError::NotFound);
    }
    let (mut suggested, crosswalks) = if fw > 0 {
        (
            store::suggestions(pool, fw).await?,
            store::crosswalks_of(pool, fw).await?,
        )
    } else {
        Default::default()
    };
    Ok(RequirementPage {
        framework,
        rows: rows
            .into_iter()
            .map(|r| RequirementRow {
                controls: by_req.remove(&r.id).unwrap_or_default(),
                suggestions: suggested.remove(&r.id).unwrap_or_default(),
                id: r.id,
                framework_id: r.framework_id,
                framework: r.framework,
                r#ref: r.r#ref,
                label: r.label,
                parent_ref: r.parent_ref,
                group_title: r.group_title,
                title: r.title,
                statement: r.statement,
                retired: r.retired_at.is_some(),
                assessable: r.assessable == 1,
                depth: r.depth,
                applicable: r.applicable == 1,
                justification: r.justification,
                reference_controls: r.reference_controls,
            })
            .collect(),
        total,
        page,
        per_page,
        crosswalks,
        can_manage: su.user.can(Permission::ManageCompliance),
    })
}

pub async fn controls(filter: ControlFilter) -> Result<ControlList, AppError> {
    let su = require(Permission::ViewCompliance)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let st = store::statuses(pool, state.clock.now().date()).await?;
    let reach = Reach::of(pool, &su.user).await?;
    let mut all = store::list_controls(
        pool,
        &st,
        &ControlFilter {
            mine: filter.mine,
            ..Default::default()
        },
        su.user.id,
    )
    .await?;
    all.retain(|c| reach.control(c.id));
    let counts = ControlStatus::ALL
        .iter()
        .map(|s| (*s, all.iter().filter(|c| c.status == *s).count() as i64))
        .collect();
    let mut rows = store::list_controls(pool, &st, &filter, su.user.id).await?;
    rows.retain(|c| reach.control(c.id));
    let (users, frameworks) = users_and_frameworks(pool, &reach).await?;
    Ok(ControlList {
        rows,
        users,
        frameworks,
        can_manage: su.user.can(Permission::ManageCompliance),
        due_soon_days: store::due_soon_days(pool).await?,
        counts,
    })
}

pub async fn control(id: i64) -> Result<ControlDetail, AppError> {
    let su = require(Permission::ViewCompliance)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let reach = Reach::of(pool, &su.user).await?;
    if !reach.control(id) {
        return Err(AppError::NotFound);
    }
    let st = store::statuses(pool, state.clock.now().date()).await?;
    let rows = store::list_controls(pool, &st, &ControlFilter::default(), su.user.id).await?;
    let row = rows
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)?;
    let (description, justification, created_at, updated_at): (String, String, String, String) =
        sqlx::query_as(
            "SELECT description, justification, created_at, updated_at FROM controls WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await?;
    let mappings: Vec<(i64, i64, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT r.id, f.id, f.name, r.label, r.title, r.retired_at
         FROM control_requirements cr JOIN requirements r ON r.id = cr.requirement_id
         JOIN frameworks f ON f.id = r.framework_id
         WHERE cr.control_id = $1 ORDER BY f.name, r.sort_order",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    type E = (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let evidence: Vec<E> = sqlx::query_as(
        "SELECT e.id, v.version, e.title, e.kind, v.effective_date, v.uploaded_at,
                u.display_name, v.filename, v.url, v.test_result, v.tested_on
         FROM evidence_controls ec JOIN evidence e ON e.id = ec.evidence_id
         JOIN evidence_versions v ON v.evidence_id = e.id
         JOIN users u ON u.id = v.uploaded_by
         WHERE ec.control_id = $1
         ORDER BY v.effective_date DESC, v.uploaded_at DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let (users, frameworks) = users_and_frameworks(pool, &reach).await?;
    let can_manage = su.user.can(Permission::ManageCompliance);
    let can_submit_evidence =
        can_manage || (su.user.can(Permission::SubmitEvidence) && row.owner_id == Some(su.user.id));
    Ok(ControlDetail {
        row,
        description,
        justification,
        created_at,
        updated_at,
        mappings: mappings
            .into_iter()
            .filter(|m| reach.framework(m.1))
            .map(|m| MappedRequirement {
                requirement_id: m.0,
                framework_id: m.1,
                framework: m.2,
                label: m.3,
                title: m.4,
                retired: m.5.is_some(),
            })
            .collect(),
        evidence: evidence
            .into_iter()
            .map(|e| EvidenceEntry {
                evidence_id: e.0,
                version: e.1,
                title: e.2,
                kind: e.3,
                effective_date: e.4,
                uploaded_at: e.5,
                uploaded_by: e.6,
                filename: e.7,
                url: e.8,
                test_result: e.9,
                tested_on: e.10,
            })
            .collect(),
        can_manage,
        can_submit_evidence,
        users,
        frameworks,
    })
}

pub async fn save(form: ControlForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let (id, changed) = store::save_control(&mut tx, &ctx, &form).await?;
    if !changed {
        return Err(AppError::invalid("Nothing changed."));
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn map(
    control_id: i64,
    framework_id: i64,
    requirements: String,
) -> Result<usize, AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM frameworks WHERE id = $1")
        .bind(framework_id)
        .fetch_optional(tx.conn())
        .await?;
    let name = name.ok_or_else(|| AppError::invalid("Framework: choose one from the list."))?;
    let reqs = store::resolve_requirements(tx.conn(), framework_id, &requirements).await?;
    let n = store::map(&mut tx, &ctx, control_id, &reqs, &name).await?;
    if n == 0 {
        return Err(AppError::invalid("Those requirements are already mapped."));
    }
    tx.commit().await?;
    Ok(n)
}

pub async fn unmap(control_id: i64, requirement_id: i64) -> Result<(), AppError> {
    let su = require(Permission::ManageCompliance)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let what: Option<(String, String, String)> = sqlx::query_as(
        "SELECT c.ref, f.name, r.label FROM control_requirements cr
         JOIN controls c ON c.id = cr.control_id JOIN requirements r ON r.id = cr.requirement_id
         JOIN frameworks f ON f.id = r.framework_id
         WHERE cr.control_id = $1 AND cr.requirement_id = $2",
    )
    .bind(control_id)
    .bind(requirement_id)
    .fetch_optional(tx.conn())
    .await?;
    let (cref, fw, label) = what.ok_or(AppError::NotFound)?;
    sqlx::query("DELETE FROM control_requirements WHERE control_id = $1 AND requirement_id = $2")
        .bind(control_id)
        .bind(requirement_id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "control.unmap",
        "control",
        control_id,
        format!("'{cref}' unmapped from {fw} {label}"),
    ))
    .await?;
    tx.commit().await
}

pub async fn set_window(days: i64) -> Result<(), AppError> {
    let su = require(Permission::ManageCompliance)?;
    if !(1..=90).contains(&days) {
        return Err(AppError::invalid("Due-soon window: between 1 and 90 days."));
    }
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let before: i64 = sqlx::query_scalar("SELECT due_soon_days FROM organisation WHERE id = 1")
        .fetch_one(tx.conn())
        .await?;
    sqlx::query("UPDATE organisation SET due_soon_days = $1 WHERE id = 1")
        .bind(days)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "settings.due_soon_days",
        "organisation",
        1,
        format!("due-soon window {before} → {days} days"),
    ))
    .await?;
    tx.commit().await
}

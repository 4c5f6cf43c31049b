//! The audits area's server functions, behind `mod.rs`: who may ask (on top of the policy
//! table: the organisation sees every audit, an auditor only those they are assigned to),
//! validation with field-named errors, then the store, the audit event and the notices.

use super::pbc::Side;
use super::store::{self, Audit, NewRequest, NewSample};
use super::*;
use crate::calendar::Period;
use crate::context::{require, SessionUser};
use crate::notifications::{store as outbox, Notice};
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::{fmt_date, parse_date};

pub(super) fn today() -> Result<String, AppError> {
    Ok(fmt_date(app_state()?.clock.now().date()))
}

/// The caller's side of this audit, or "no such audit" (an auditor never learns that audits
/// they are not on exist).
pub(super) async fn side_of(su: &SessionUser, audit_id: i64) -> Result<(Audit, Side), AppError> {
    let state = app_state()?;
    let pool = state.db.pool();
    let missing = || AppError::Missing("No such audit.".into());
    let audit = store::audit(pool, audit_id).await?.ok_or_else(missing)?;
    if su.user.can(Permission::ManageAudits) {
        return Ok((audit, Side::Organisation));
    }
    if su.user.can(Permission::AuditWork)
        && store::is_auditor_of(pool, audit_id, su.user.id).await?
    {
        return Ok((audit, Side::Auditor));
    }
    Err(missing())
}

pub(super) fn open_for_work(audit: &Audit) -> Result<(), AppError> {
    if audit.closed() {
        return Err(AppError::Conflict(
            "The audit is closed: its requests no longer change.".into(),
        ));
    }
    Ok(())
}

fn list_of(raw: &str) -> Vec<String> {
    let mut v: Vec<String> = raw
        .split([',', ';', '\n'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

pub(super) fn text(field: &str, raw: &str, max: usize, required: bool) -> Result<String, String> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(format!("{field}: required"));
    }
    if t.chars().count() > max {
        return Err(format!("{field}: at most {max} characters"));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("{field}: control characters are not allowed"));
    }
    Ok(t.to_string())
}

fn date(field: &str, raw: &str) -> Result<time::Date, String> {
    parse_date(raw).ok_or_else(|| format!("{field}: '{}' is not a date (YYYY-MM-DD)", raw.trim()))
}

fn invalid(errors: Vec<String>) -> AppError {
    AppError::Invalid(errors.join("; "))
}

pub async fn list() -> Result<AuditsView, AppError> {
    let su = require(Permission::ViewAudits)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let manage = su.user.can(Permission::ManageAudits);
    let only = (!manage).then_some(su.user.id);
    Ok(AuditsView {
        audits: store::summaries(pool, only, &today()?).await?,
        can_manage: manage,
        frameworks: if manage {
            store::framework_choices(pool).await?
        } else {
            Vec::new()
        },
        auditor_accounts: if manage {
            store::auditor_accounts(pool).await?
        } else {
            Vec::new()
        },
    })
}

pub async fn detail(id: i64) -> Result<AuditDetail, AppError> {
    let su = require(Permission::ViewAudits)?;
    let (_, side) = side_of(&su, id).await?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = today()?;
    let only = (side == Side::Auditor).then_some(su.user.id);
    let audit = store::summaries(pool, only, &today)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| AppError::Missing("No such audit.".into()))?;
    let manage = side == Side::Organisation;
    Ok(AuditDetail {
        audit,
        requests: store::rows(pool, id, &today).await?,
        samples: store::samples(pool, id).await?,
        side,
        can_manage: manage,
        assignees: store::assignees(pool).await?,
        frameworks: if manage {
            store::framework_choices(pool).await?
        } else {
            Vec::new()
        },
        auditor_accounts: if manage {
            store::auditor_accounts(pool).await?
        } else {
            Vec::new()
        },
    })
}

pub async fn save(form: AuditForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageAudits)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let mut errors = Vec::new();
    let name = text("name", &form.name, 200, true).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    let start = date("start", &form.start).map_err(|e| errors.push(e)).ok();
    let end = date("end", &form.end).map_err(|e| errors.push(e)).ok();
    let period = match (start, end) {
        (Some(s), Some(e)) => Period::new(s, e).or_else(|| {
            errors.push(format!("end: the period ends ({e}) before or when it starts ({s}); `end` is the first day after it"));
            None
        }),
        _ => None,
    };
    let keys = list_of(&form.frameworks);
    if keys.is_empty() {
        errors.push("frameworks: name at least one framework key".into());
    }
    let (fids, uids, unknown) = store::resolve(pool, &keys, &list_of(&form.auditors)).await?;
    errors.extend(unknown);
    let (Some(period), true) = (period, errors.is_empty()) else {
        return Err(invalid(errors));
    };
    let summary = format!(
        "'{name}' {period}, frameworks {}, auditors {}",
        keys.join(", "),
        list_of(&form.auditors).join(", ")
    );
    let ctx = audit_ctx(&state, Some(&su.user));
    store::save(
        &state.db,
        &ctx,
        &store::Valid {
            id: form.id,
            name,
            period,
            frameworks: fids,
            auditors: uids,
            summary,
        },
        su.user.id,
    )
    .await
}

pub async fn set_status(id: i64, status: String) -> Result<(), AppError> {
    let su = require(Permission::ManageAudits)?;
    if !STATUSES.contains(&status.as_str()) {
        return Err(AppError::Invalid(format!(
            "status: '{status}' is not one of planned, fieldwork, reporting, closed"
        )));
    }
    let state = app_state()?;
    store::set_status(&state.db, &audit_ctx(&state, Some(&su.user)), id, &status).await
}

/// The due date and the assignee of a new request, checked.
async fn due_and_assignee(
    due: &str,
    assignee: &str,
    errors: &mut Vec<String>,
) -> Result<(String, Option<i64>), AppError> {
    let pool = app_state()?.db.pool().clone();
    let due = match date("due", due) {
        Ok(d) => d.to_string(),
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let who = assignee.trim();
    let assignee_id = if who.is_empty() {
        None
    } else {
        let id = store::assignee(&pool, who).await?;
        if id.is_none() {
            errors.push(format!(
                "assignee: '{who}' is not an active compliance officer or administrator"
            ));
        }
        id
    };
    Ok((due, assignee_id))
}

pub(super) fn notice_for(
    to: Vec<i64>,
    key: String,
    subject: String,
    body: String,
    request_id: i64,
) -> Notice {
    Notice {
        key,
        kind: "audit.request",
        subject,
        body,
        link: crate::paths::audit_request(request_id),
        to,
    }
}

pub async fn add_request(form: RequestForm) -> Result<i64, AppError> {
    let su = require(Permission::ViewAudits)?;
    let (audit, _) = side_of(&su, form.audit_id).await?;
    open_for_work(&audit)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let mut errors = Vec::new();
    let body = text("text", &form.text, 4000, true).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    let population = text("population", &form.population, 500, false).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    let requirement_id = match form.requirement.trim() {
        "" => None,
        label => {
            let r = store::requirement_of(pool, audit.id, label).await?;
            if r.is_none() {
                errors.push(format!(
                    "requirement: no requirement '{label}' in this audit's frameworks"
                ));
            }
            r
        }
    };
    let control_id = match form.control.trim() {
        "" => None,
        reference => {
            let c = store::control_by_ref(pool, reference).await?;
            if c.is_none() {
                errors.push(format!("control: no control '{reference}'"));
            }
            c
        }
    };
    let (due, assignee_id) = due_and_assignee(&form.due, &form.assignee, &mut errors).await?;
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let (id, number) = store::insert(
        &mut tx,
        audit.id,
        &NewRequest {
            text: body.clone(),
            requirement_id,
            control_id,
            population,
            sample: None,
            period: audit.period,
            due: due.clone(),
            assignee_id,
        },
        su.user.id,
        &ctx.at,
    )
    .await?;
    let reference = store::reference(number);
    tx.audit(ctx.event(
        "audit.request",
        "audit",
        audit.id,
        format!("{reference} raised in '{}', due {due}: {body}", audit.name),
    ))
    .await?;
    if let Some(to) = assignee_id {
        let n = notice_for(
            vec![to],
            format!("audit.request:{id}:assigned"),
            format!("{reference} ({}): a request for you, due {due}", audit.name),
            body,
            id,
        );
        outbox::enqueue(&mut tx, &n, state.clock.now()).await?;
    }
    tx.commit().await?;
    state.outbox_due.notify_one();
    Ok(id)
}

pub async fn draw(form: SampleForm) -> Result<SampleView, AppError> {
    let su = require(Permission::AuditWork)?;
    let (audit, side) = side_of(&su, form.audit_id).await?;
    if side != Side::Auditor {
        return Err(AppError::Denied(
            "Only the audit's auditors draw samples.".into(),
        ));
    }
    open_for_work(&audit)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let mut errors = Vec::new();
    let size = match form.size.trim().parse::<usize>() {
        Ok(n) if (1..=sampling::MAX_SIZE).contains(&n) => n,
        _ => {
            errors.push(format!(
                "size: a whole number from 1 to {}",
                sampling::MAX_SIZE
            ));
            0
        }
    };
    let seed = sampling::seed_or_new(&form.seed)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !POPULATIONS.iter().any(|(k, _)| *k == form.population) {
        errors.push(format!(
            "population: '{}' is not one of evidence_versions, budget_attestations",
            form.population
        ));
    }
    let (due, assignee_id) = due_and_assignee(&form.due, &form.assignee, &mut errors).await?;
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let members = store::population(pool, &audit, &form.population).await?;
    if members.is_empty() {
        return Err(AppError::Invalid(format!(
            "population: nothing to sample: no {} in {}",
            form.population.replace('_', " "),
            audit.period
        )));
    }
    let keys: Vec<String> = members.iter().map(|m| m.key.clone()).collect();
    let items = sampling::draw(&seed, &keys, size);
    let digest = sampling::population_digest(&keys);
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let sample_id = store::insert_sample(
        &mut tx,
        &NewSample {
            audit_id: audit.id,
            population: &form.population,
            population_size: keys.len() as i64,
            population_sha256: &digest,
            seed: &seed,
            items: &items,
        },
        su.user.id,
        &ctx.at,
    )
    .await?;
    let mut first = None;
    for key in &items {
        let Some(m) = members.iter().find(|m| &m.key == key) else {
            continue;
        };
        let (id, _) = store::insert(
            &mut tx,
            audit.id,
            &NewRequest {
                text: format!("Sampled item {key}: provide the support for {}.", m.label),
                requirement_id: None,
                control_id: m.control_id,
                population: format!(
                    "sample #{sample_id}: {} of {} {}",
                    items.len(),
                    keys.len(),
                    form.population.replace('_', " ")
                ),
                sample: Some((sample_id, key.clone())),
                period: audit.period,
                due: due.clone(),
                assignee_id,
            },
            su.user.id,
            &ctx.at,
        )
        .await?;
        first.get_or_insert(id);
    }
    tx.audit(ctx.event(
        "audit.sample",
        "audit",
        audit.id,
        format!(
            "sample #{sample_id} of {} from {} (population {}, sha256 {digest}) with seed '{seed}': {}",
            items.len(),
            form.population,
            keys.len(),
            items.join(", ")
        ),
    ))
    .await?;
    if let (Some(to), Some(first)) = (assignee_id, first) {
        let n = notice_for(
            vec![to],
            format!("audit.sample:{sample_id}:assigned"),
            format!(
                "{} sampled item(s) to support in '{}', due {due}",
                items.len(),
                audit.name
            ),
            format!(
                "The auditor drew {} item(s): {}.",
                items.len(),
                items.join(", ")
            ),
            first,
        );
        outbox::enqueue(&mut tx, &n, state.clock.now()).await?;
    }
    tx.commit().await?;
    state.outbox_due.notify_one();
    store::samples(pool, audit.id)
        .await?
        .into_iter()
        .find(|s| s.id == sample_id)
        .ok_or_else(|| AppError::internal("the sample just drawn is missing"))
}

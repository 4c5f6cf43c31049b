//! The server functions on one request (behind `mod.rs`): its page, comments, evidence
//! attached as answers, and its moves through `pbc.rs`, each checked against the caller's side
//! of the audit.

use super::pbc::{self, Move, Side, Status};
use super::requests::{notice_for, open_for_work, side_of, text, today};
use super::store::{self, Audit};
use super::*;
use crate::context::{require, SessionUser};
use crate::notifications::store as outbox;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};

async fn request_and_side(
    su: &SessionUser,
    id: i64,
) -> Result<(store::Head, Audit, Side), AppError> {
    let state = app_state()?;
    let missing = || AppError::Missing("No such request.".into());
    let head = store::head(state.db.pool(), id)
        .await?
        .ok_or_else(missing)?;
    let (audit, side) = side_of(su, head.audit_id).await.map_err(|_| missing())?;
    Ok((head, audit, side))
}

pub async fn request_detail(id: i64) -> Result<RequestDetail, AppError> {
    let su = require(Permission::ViewAudits)?;
    let (head, audit, side) = request_and_side(&su, id).await?;
    let state = app_state()?;
    let pool = state.db.pool();
    let row = store::row(pool, id, &today()?)
        .await?
        .ok_or_else(|| AppError::Missing("No such request.".into()))?;
    let candidates = if side == Side::Organisation {
        store::candidates(pool, head.control_id).await?
    } else {
        Vec::new()
    };
    Ok(RequestDetail {
        row,
        audit_id: audit.id,
        audit_name: audit.name.clone(),
        audit_closed: audit.closed(),
        period: head.period.clone(),
        population: head.population.clone(),
        evidence: store::evidence(pool, id).await?,
        thread: store::thread(pool, id).await?,
        side,
        candidates,
    })
}

pub async fn comment(id: i64, body: String) -> Result<(), AppError> {
    let su = require(Permission::ViewAudits)?;
    let (head, audit, side) = request_and_side(&su, id).await?;
    open_for_work(&audit)?;
    let body = text("comment", &body, 4000, true).map_err(AppError::Invalid)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    store::add_comment(&mut tx, id, su.user.id, "comment", &body, &ctx.at).await?;
    let reference = store::reference(head.number);
    tx.audit(ctx.event(
        "audit.comment",
        "audit_request",
        id,
        format!("{reference}: {body}"),
    ))
    .await?;
    // The other side hears of it.
    let to = match side {
        Side::Organisation => store::auditors_of(state.db.pool(), audit.id).await?,
        Side::Auditor => head.assignee_id.into_iter().collect(),
    };
    if !to.is_empty() {
        let n = notice_for(
            to,
            format!("audit.request:{id}:comment:{}", ctx.at),
            format!(
                "{reference} ({}): a comment from {}",
                audit.name, su.user.display_name
            ),
            body,
            id,
        );
        outbox::enqueue(&mut tx, &n, state.clock.now()).await?;
    }
    tx.commit().await?;
    state.outbox_due.notify_one();
    Ok(())
}

pub async fn attach(id: i64, evidence: String) -> Result<(), AppError> {
    let su = require(Permission::ManageAudits)?;
    let (head, audit, side) = request_and_side(&su, id).await?;
    open_for_work(&audit)?;
    if side != Side::Organisation {
        return Err(AppError::Denied(
            "The organisation attaches evidence.".into(),
        ));
    }
    let status = Status::parse(&head.status).unwrap_or(Status::Open);
    if !status.awaits_answer() {
        return Err(AppError::Conflict(format!(
            "The request is {}: evidence is attached while it is open or returned.",
            status.as_str()
        )));
    }
    let parsed = evidence
        .trim()
        .split_once(':')
        .and_then(|(e, v)| Some((e.trim().parse::<i64>().ok()?, v.trim().parse::<i64>().ok()?)));
    let Some((evidence_id, version)) = parsed else {
        return Err(AppError::Invalid(format!(
            "evidence: '{}' is not an evidence version (id:version)",
            evidence.trim()
        )));
    };
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    if !store::attach(&mut tx, id, evidence_id, version, su.user.id, &ctx.at).await? {
        return Ok(());
    }
    tx.audit(ctx.event(
        "audit.request_evidence",
        "audit_request",
        id,
        format!(
            "{}: attached evidence #{evidence_id} version {version}",
            store::reference(head.number)
        ),
    ))
    .await?;
    tx.commit().await
}

pub async fn move_request(id: i64, action: String, note: String) -> Result<String, AppError> {
    let su = require(Permission::ViewAudits)?;
    let (head, audit, side) = request_and_side(&su, id).await?;
    open_for_work(&audit)?;
    let m = Move::parse(action.trim()).ok_or_else(|| {
        AppError::Invalid(format!(
            "action: '{}' is not submit, accept or return",
            action.trim()
        ))
    })?;
    let note = text("note", &note, 4000, false).map_err(AppError::Invalid)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let has_evidence = store::evidence_count(&mut tx, id).await? > 0;
    let from = Status::parse(&head.status).unwrap_or(Status::Open);
    let to = pbc::apply(from, m, side, &note, has_evidence).map_err(AppError::Conflict)?;
    store::move_status(&mut tx, id, from.as_str(), to.as_str(), &ctx.at).await?;
    let body = if note.is_empty() {
        format!("{} → {}", from.as_str(), to.as_str())
    } else {
        note.clone()
    };
    store::add_comment(&mut tx, id, su.user.id, to.as_str(), &body, &ctx.at).await?;
    let reference = store::reference(head.number);
    tx.audit(ctx.event(
        &format!("audit.request_{}", to.as_str()),
        "audit_request",
        id,
        format!(
            "{reference} in '{}': {} → {}{}",
            audit.name,
            from.as_str(),
            to.as_str(),
            if note.is_empty() {
                String::new()
            } else {
                format!(" ({note})")
            }
        ),
    ))
    .await?;
    let recipients = match to {
        Status::Submitted => store::auditors_of(state.db.pool(), audit.id).await?,
        _ => head.assignee_id.into_iter().collect(),
    };
    if !recipients.is_empty() {
        let n = notice_for(
            recipients,
            format!("audit.request:{id}:{}:{}", to.as_str(), ctx.at),
            format!("{reference} ({}) was {}", audit.name, to.as_str()),
            format!("{}: {body}", su.user.display_name),
            id,
        );
        outbox::enqueue(&mut tx, &n, state.clock.now()).await?;
    }
    tx.commit().await?;
    state.outbox_due.notify_one();
    Ok(to.as_str().to_string())
}

pub async fn mine() -> Result<Vec<RequestRow>, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let state = app_state()?;
    store::assigned_to(state.db.pool(), su.user.id, &today()?).await
}

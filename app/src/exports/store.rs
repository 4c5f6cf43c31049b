//! The export's SQL: everything it shows, read in one snapshot (`Plan`), and the audit event
//! of each export. The audit excerpt is streamed to a spool file, never held in memory.

// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use super::manifest::{CheckpointEntry, EventLine, HeadRef};
use super::scope::{self, Dated, Scope};
use super::structure::{self, Structure};
pub use super::structure::{Control, Framework, Requirement};
pub use super::versions::{versions_of, Version};
use crate::audit::chain::{self, AuditCtx, EVENT_COLUMNS};
use crate::audit::checkpoint;
use crate::calendar::{midnight, Period};
use crate::db::Db;
use crate::error::AppError;
use crate::signing::Signer;
use crate::util::parse_date;
use futures_util::TryStreamExt;
use sqlx::Row;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The audit actions of exports: written after the export is read, never part of what it
/// shows.
pub const EXPORTED: &str = "export.created";
pub const DOWNLOADED: &str = "export.downloaded";

/// Actions that change what an export shows (besides the period's own events): frameworks,
/// controls and their mappings, evidence, users (names shown as owners and uploaders),
/// settings (the due-soon window in control status) and audit work (requests, answers). Sign-ins, notifications, costs, budgets,
/// checkpoints and exports do not, so they leave an export's bytes alone.
const SHOWN: [&str; 6] = [
    "framework.%",
    "control.%",
    "evidence.%",
    "user.%",
    "settings.%",
    "audit.%",
];
/// Of `audit.%`, the ones that are not audit work: checkpoints and reminders.
const NOT_SHOWN: [&str; 2] = [checkpoint::ACTION, "audit.reminders"];

/// Everything one export shows, read in one snapshot.
pub struct Plan {
    pub scope: Scope,
    pub framework: Framework,
    pub head: HeadRef,
    pub requirements: Vec<Requirement>,
    pub controls: BTreeMap<i64, Control>,
    /// In scope, by evidence id then version.
    pub versions: Vec<Version>,
    /// The audit excerpt, one `EventLine` per line, in a spool file removed on drop.
    pub events: Spool,
    pub event_count: usize,
    pub checkpoints: Vec<CheckpointEntry>,
    /// An audit's export: (id, name) and its requests.
    pub audit: Option<(i64, String)>,
    pub answers: Vec<super::answers::Answer>,
}

/// A spool file, removed when dropped.
pub struct Spool(pub PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn period_bounds(p: &Period) -> (String, String) {
    (midnight(p.start), midnight(p.end))
}

/// Signs the chain head when the newest checkpoint does not yet cover the period's last
/// event, so every excerpt event can be checked against a signature. `Ok(false)` when nothing
/// was needed.
pub async fn ensure_checkpoint(
    db: &Db,
    signer: &Signer,
    scope: &Scope,
    ctx: &AuditCtx,
) -> Result<bool, AppError> {
    let (from, to) = period_bounds(&scope.period);
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_events WHERE at >= $1 AND at < $2")
            .bind(&from)
            .bind(&to)
            .fetch_one(db.pool())
            .await?;
    let signed: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
        .fetch_one(db.pool())
        .await?;
    match last {
        Some(last) if signed.is_none_or(|s| s < last) => {
            Ok(checkpoint::create(db, signer, ctx).await?.is_some())
        }
        _ => Ok(false),
    }
}

/// Reads the plan in one snapshot; the excerpt goes to a spool file in `spool_dir`.
pub async fn plan(db: &Db, scope: &Scope, spool_dir: &Path) -> Result<Plan, AppError> {
    let mut tx = chain::begin_snapshot(db).await?;
    let fw: Option<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, key, name, version FROM frameworks WHERE key = $1")
            .bind(&scope.framework)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((fid, key, name, version)) = fw else {
        return Err(AppError::Missing(format!(
            "framework: no imported framework has the key '{}'",
            scope.framework
        )));
    };
    let framework = Framework {
        id: fid,
        key,
        name,
        version,
    };
    let head = as_of(&mut tx, &scope.period).await?;
    let Structure {
        requirements,
        controls,
        evidence_controls,
    } = structure::read(&mut tx, framework.id, &scope.period).await?;
    let mut versions = versions(&mut tx, &scope.period, &evidence_controls).await?;
    let (audit, answers) = match scope.audit {
        Some(aid) => {
            let name: String = sqlx::query_scalar("SELECT name FROM audits WHERE id = $1")
                .bind(aid)
                .fetch_one(&mut *tx)
                .await?;
            let have = versions
                .iter()
                .map(|v| (v.evidence_id, v.version))
                .collect();
            let (answers, extra) = super::answers::read(&mut tx, aid, &have).await?;
            versions.extend(extra);
            versions.sort_by_key(|v| (v.evidence_id, v.version));
            (Some((aid, name)), answers)
        }
        None => (None, Vec::new()),
    };
    let (events, event_count, seqs) = excerpt(&mut tx, &scope.period, spool_dir).await?;
    let checkpoints = covering_checkpoints(&mut tx, seqs).await?;
    tx.rollback().await?;
    Ok(Plan {
        scope: scope.clone(),
        framework,
        head,
        requirements,
        controls,
        versions,
        events,
        event_count,
        checkpoints,
        audit,
        answers,
    })
}

/// The newest audit event that changed what this export shows: one in `SHOWN`, or any
/// event of the period (the excerpt shows those).
async fn as_of(tx: &mut sqlx::AnyConnection, period: &Period) -> Result<HeadRef, AppError> {
    let (from, to) = period_bounds(period);
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT seq, hash, at FROM audit_events WHERE ((action LIKE $1 OR action LIKE $2 \
         OR action LIKE $3 OR action LIKE $4 OR action LIKE $5 OR action LIKE $6) \
         AND action NOT IN ($7, $8)) OR (at >= $9 AND at < $10) \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(SHOWN[0])
    .bind(SHOWN[1])
    .bind(SHOWN[2])
    .bind(SHOWN[3])
    .bind(SHOWN[4])
    .bind(SHOWN[5])
    .bind(NOT_SHOWN[0])
    .bind(NOT_SHOWN[1])
    .bind(&from)
    .bind(&to)
    .fetch_optional(tx)
    .await?;
    let (seq, hash, at) = row.unwrap_or((0, chain::GENESIS_HASH.to_string(), String::new()));
    Ok(HeadRef { seq, hash, at })
}

async fn versions(
    tx: &mut sqlx::AnyConnection,
    period: &Period,
    evidence_controls: &BTreeMap<i64, Vec<String>>,
) -> Result<Vec<Version>, AppError> {
    let mut out = Vec::new();
    // One evidence item at a time keeps the query small and the order fixed.
    for (eid, refs) in evidence_controls {
        let all = versions_of(tx, *eid, refs).await?;
        let dated: Vec<Dated> = all
            .iter()
            .filter_map(|v| {
                Some(Dated {
                    version: v.version,
                    effective: parse_date(&v.effective_date)?,
                    covers: v.covers,
                })
            })
            .collect();
        let keep = scope::versions_in(period, &dated);
        out.extend(all.into_iter().filter(|v| keep.contains(&v.version)));
    }
    Ok(out)
}

/// The events of the period, streamed to a spool file; returns the file, the count and the
/// first and last sequence numbers.
async fn excerpt(
    tx: &mut sqlx::AnyConnection,
    period: &Period,
    spool_dir: &Path,
) -> Result<(Spool, usize, Option<(i64, i64)>), AppError> {
    std::fs::create_dir_all(spool_dir).map_err(AppError::internal)?;
    let spool = Spool(spool_dir.join(format!(
        "export-events-{}.jsonl",
        crate::util::random_hex(8)
    )));
    let file = std::fs::File::create(&spool.0).map_err(AppError::internal)?;
    let mut out = std::io::BufWriter::new(file);
    let (from, to) = period_bounds(period);
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE at >= $1 AND at < $2 ORDER BY seq");
    let mut rows = sqlx::query(&sql).bind(&from).bind(&to).fetch(&mut *tx);
    let mut count = 0usize;
    let mut range: Option<(i64, i64)> = None;
    while let Some(row) = rows.try_next().await? {
        let e = chain::event_from_row(&row)?;
        let line = EventLine::from_stored(&e);
        serde_json::to_writer(&mut out, &line).map_err(AppError::internal)?;
        out.write_all(b"\n").map_err(AppError::internal)?;
        count += 1;
        range = Some(range.map_or((e.seq, e.seq), |(a, _)| (a, e.seq)));
    }
    out.flush().map_err(AppError::internal)?;
    Ok((spool, count, range))
}

/// The checkpoints whose ranges `(prev_seq, seq]` hold the excerpt's events, with the event
/// hashes each signs.
async fn covering_checkpoints(
    tx: &mut sqlx::AnyConnection,
    range: Option<(i64, i64)>,
) -> Result<Vec<CheckpointEntry>, AppError> {
    let Some((first, last)) = range else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT seq, prev_seq, hash, at, digest, signature, key_fingerprint, event_hashes \
         FROM audit_checkpoints WHERE seq >= $1 AND prev_seq < $2 ORDER BY seq",
    )
    .bind(first)
    .bind(last)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|r| {
            let raw: Vec<u8> = r.try_get("event_hashes")?;
            Ok(CheckpointEntry {
                seq: r.try_get("seq")?,
                prev_seq: r.try_get("prev_seq")?,
                hash: r.try_get("hash")?,
                at: r.try_get("at")?,
                digest: r.try_get("digest")?,
                signature: r.try_get("signature")?,
                key_fingerprint: r.try_get("key_fingerprint")?,
                event_hashes: raw.chunks(32).map(hex::encode).collect(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(AppError::from)
}

/// Each control's status on `day` (the period's last day, or the head's day when earlier).
pub async fn statuses(db: &Db, plan: &mut Plan) -> Result<(), AppError> {
    structure::statuses(db, &plan.scope.period, &plan.head.at, &mut plan.controls).await
}

/// Records an export or a download: who, the scope and the archive's SHA-256.
pub async fn record(
    db: &Db,
    ctx: &AuditCtx,
    action: &str,
    scope: &Scope,
    summary: &str,
) -> Result<(), AppError> {
    let mut tx = db.write().await?;
    tx.audit(ctx.event(action, "framework", &scope.framework, summary))
        .await?;
    tx.commit().await
}

/// (key, "name version") of every imported framework, for the form.
pub async fn framework_choices(db: &Db) -> Result<Vec<(String, String)>, AppError> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT key, name, version FROM frameworks ORDER BY name, key")
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(k, n, v)| (k, format!("{n} {v}")))
        .collect())
}

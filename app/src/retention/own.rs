//! Steward's own data under its built-in rules: sessions, login failures, notifications, cost
//! line items, superseded evidence versions and the audit trail. `plan` is the dry run (what
//! would go now, per category); `run` removes exactly that, in batches of its own short write
//! transactions, each leaving a tombstone audit event with the SHA-256 of the rows it removed.
//! A legal hold on a category (or on a system or vendor it is held in) stops that category;
//! the audit trail is never cut shorter than the configured minimum, and the chain still
//! verifies: its base moves to the last removed event and the tombstone vouches for it.

use super::schedule;
use super::store;
use super::*;
use crate::audit::chain::{self, AuditCtx, TOMBSTONE_ACTION};
use crate::calendar::{midnight, IsoDuration};
use crate::db::Db;
use crate::state::AppState;
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::OffsetDateTime;

/// Rows removed per write transaction: the write lock is held for one batch at a time.
pub const BATCH: i64 = 2000;

/// The pause after each batch, at least as long as the batch took: other writers get the
/// lock in between (SQLite's busy handler retries at most every 100 ms, so a shorter gap
/// could be missed again and again).
const PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// What the job removes for each built-in category: (table, key column, condition on `$1`,
/// the cutoff instant). Several tables may make up one category.
fn targets(key: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match key {
        "sessions" => &[("sessions", "id", "expires_at < $1")],
        "login_failures" => &[("login_attempts", "id", "at < $1")],
        "notifications" => &[(
            "notifications",
            "id",
            "created_at < $1 AND status IN ('sent', 'dead')",
        )],
        "cost_line_items" => &[("cost_line_items", "id", "charge_period_end <= $1")],
        // Never the current version: only one a newer version superseded before the cutoff.
        "evidence_versions" => &[(
            "evidence_versions",
            "id",
            "EXISTS (SELECT 1 FROM evidence_versions n WHERE n.evidence_id = \
             evidence_versions.evidence_id AND n.version > evidence_versions.version \
             AND n.uploaded_at < $1)",
        )],
        _ => &[],
    }
}

struct Builtin {
    key: String,
    category_id: i64,
    category: String,
    rule: String,
    period: String,
    trigger: String,
    action: String,
}

async fn builtins(conn: &mut sqlx::AnyConnection) -> Result<Vec<Builtin>, sqlx::Error> {
    let rows: Vec<(String, i64, String, String, String, String, String)> = sqlx::query_as(
        "SELECT c.builtin, c.id, c.name, r.name, r.period, r.trigger_event, r.action \
         FROM retention_categories c JOIN retention_rules r ON r.category_id = c.id \
         WHERE c.builtin IS NOT NULL ORDER BY c.id, r.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, category_id, category, rule, period, trigger, action)| Builtin {
                key,
                category_id,
                category,
                rule,
                period,
                trigger,
                action,
            },
        )
        .collect())
}

/// The instant before which a category's data goes: its period back from today (whole
/// days, so a dry run and the run after it agree all day), and for the audit trail never
/// later than the configured minimum allows.
fn cutoff(b: &Builtin, now: OffsetDateTime, audit_min_days: u32) -> Result<String, String> {
    let period = IsoDuration::parse(&b.period)?;
    let today = now.date();
    let mut day = period.before(today);
    if b.key == "audit_events" {
        day = day.min(today - time::Duration::days(i64::from(audit_min_days)));
    }
    Ok(midnight(day))
}

/// The audit events that go: a prefix of the chain, `(base, last]`, every one older than the
/// cutoff.
async fn audit_prefix(
    conn: &mut sqlx::AnyConnection,
    cutoff: &str,
) -> Result<(i64, i64), sqlx::Error> {
    let base = chain::read_base(&mut *conn).await?.seq;
    let first_kept: Option<i64> =
        sqlx::query_scalar("SELECT MIN(seq) FROM audit_events WHERE seq > $1 AND at >= $2")
            .bind(base)
            .bind(cutoff)
            .fetch_one(&mut *conn)
            .await?;
    let last = match first_kept {
        Some(k) => k - 1,
        None => chain::read_head(&mut *conn).await?.seq,
    };
    Ok((base, last.max(base)))
}

/// How many rows are due, and per table the highest key among them: the run removes nothing
/// above it, so it removes exactly what the dry run counted even while rows are added (an old
/// cost file imported meanwhile, its own tombstones).
async fn count(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    cutoff: &str,
) -> Result<(i64, Vec<i64>), sqlx::Error> {
    if key == "audit_events" {
        let (base, last) = audit_prefix(conn, cutoff).await?;
        return Ok((last - base, vec![last]));
    }
    let mut n = 0;
    let mut bounds = Vec::new();
    for (table, id, cond) in targets(key) {
        let (c, max): (i64, Option<i64>) = sqlx::query_as(&format!(
            "SELECT COUNT(*), MAX({id}) FROM {table} WHERE {cond}"
        ))
        .bind(cutoff)
        .fetch_one(&mut *conn)
        .await?;
        n += c;
        bounds.push(max.unwrap_or(0));
    }
    Ok((n, bounds))
}

/// The dry run: per built-in category, what would be disposed of now, or why nothing is.
pub async fn plan(
    db: &Db,
    now: OffsetDateTime,
    audit_min_days: u32,
) -> Result<Vec<OwnLine>, AppError> {
    Ok(plan_bounded(db, now, audit_min_days)
        .await?
        .into_iter()
        .map(|(line, ..)| line)
        .collect())
}

/// The dry run with, per line, its category and rule and the highest key of each table it
/// counted.
async fn plan_bounded(
    db: &Db,
    now: OffsetDateTime,
    audit_min_days: u32,
) -> Result<Vec<(OwnLine, Builtin, Vec<i64>)>, AppError> {
    let mut conn = db.pool().acquire().await?;
    let holds = store::holds_in_force(&mut conn, now.date()).await?;
    let mut out = Vec::new();
    for b in builtins(&mut conn).await? {
        let cut = cutoff(&b, now, audit_min_days).map_err(AppError::internal)?;
        let held_by = held(&mut conn, &holds, b.category_id).await?;
        let (n, bounds) = count(&mut conn, &b.key, &cut).await?;
        let note = if !held_by.is_empty() {
            "suspended by legal hold".to_string()
        } else if b.action == "review" {
            "kept for review: the rule's action is review, nothing is deleted".to_string()
        } else {
            String::new()
        };
        out.push((
            OwnLine {
                key: b.key.clone(),
                category: b.category.clone(),
                rule: format!(
                    "{}: {} from {}, then {}",
                    b.rule,
                    b.period,
                    schedule::trigger_label(&b.trigger),
                    b.action
                ),
                cutoff: cut,
                count: n,
                held_by,
                note,
            },
            b,
            bounds,
        ));
    }
    Ok(out)
}

/// Holds in force on the category, or on a system or vendor it is held in.
async fn held(
    conn: &mut sqlx::AnyConnection,
    holds: &[store::ActiveHold],
    category: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let places: Vec<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT system_id, vendor_id FROM retention_locations WHERE category_id = $1",
    )
    .bind(category)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = store::covering(
        holds,
        &schedule::Place {
            category: Some(category),
            ..Default::default()
        },
    );
    for (system, vendor) in places {
        for h in store::covering(
            holds,
            &schedule::Place {
                system,
                vendor,
                ..Default::default()
            },
        ) {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    Ok(out)
}

/// A row as canonical JSON (column → value), what the tombstone's hash is taken over.
fn row_json(row: &sqlx::any::AnyRow) -> serde_json::Value {
    use sqlx::Column;
    let mut map = serde_json::Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let v = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            serde_json::json!(v)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            serde_json::json!(v)
        } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
            serde_json::json!(v.map(hex::encode))
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            serde_json::json!(v.map(|f| f.to_string()))
        } else {
            serde_json::Value::Null
        };
        map.insert(col.name().to_string(), v);
    }
    serde_json::Value::Object(map)
}

/// The blobs the removed evidence versions held that nothing else refers to any more.
async fn orphaned_blobs(
    conn: &mut sqlx::AnyConnection,
    shas: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    for sha in shas {
        let refs: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM evidence_versions WHERE sha256 = $1) \
             + (SELECT COUNT(*) FROM account_snapshots WHERE file_sha256 = $1) \
             + (SELECT COUNT(*) FROM budget_attestations WHERE sha256 = $1) \
             + (SELECT COUNT(*) FROM access_campaigns WHERE report_sha256 = $1) \
             + (SELECT COUNT(*) FROM retention_disposals WHERE certificate_sha256 = $1)",
        )
        .bind(sha)
        .fetch_one(&mut *conn)
        .await?;
        if refs == 0 && !out.contains(sha) {
            out.push(sha.clone());
        }
    }
    Ok(out)
}

/// One batch of one table: removes up to `BATCH` rows and writes the tombstone. The number
/// removed (0: the table is done).
async fn batch(
    state: &Env<'_>,
    b: &Builtin,
    (table, key, cond): (&str, &str, &str),
    cut: &str,
    bound: i64,
) -> Result<i64, AppError> {
    let mut tx = state.db.write().await?;
    let rows = sqlx::query(&format!(
        "SELECT * FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE ({cond}) \
         AND {key} <= {bound} ORDER BY {key} LIMIT {BATCH}) ORDER BY {key}"
    ))
    .bind(cut)
    .fetch_all(tx.conn())
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut h = Sha256::new();
    let mut ids = Vec::with_capacity(rows.len());
    let mut shas = Vec::new();
    for row in &rows {
        h.update(serde_json::to_vec(&row_json(row)).unwrap_or_default());
        h.update(b"\n");
        ids.push(row.try_get::<i64, _>(key)?);
        if table == "evidence_versions" {
            if let Ok(Some(sha)) = row.try_get::<Option<String>, _>("sha256") {
                shas.push(sha);
            }
        }
    }
    let (first, last) = (ids[0], ids[ids.len() - 1]);
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let n = sqlx::query(&format!("DELETE FROM {table} WHERE {key} IN ({list})"))
        .execute(tx.conn())
        .await?
        .rows_affected() as i64;
    let gone = orphaned_blobs(tx.conn(), &shas).await?;
    for sha in &gone {
        sqlx::query("DELETE FROM blobs WHERE sha256 = $1")
            .bind(sha)
            .execute(tx.conn())
            .await?;
    }
    let digest = hex::encode(h.finalize());
    tx.audit(state.ctx.event(
        TOMBSTONE_ACTION,
        "retention_category",
        &b.key,
        format!(
            "{n} row(s) of {table} (ids {first}..{last}) disposed of under '{}' / '{}' ({} \
             from {}): older than {cut}; sha256 of the removed rows {digest}",
            b.category,
            b.rule,
            b.period,
            schedule::trigger_label(&b.trigger)
        ),
    ))
    .await?;
    tx.commit().await?;
    for sha in gone {
        if let Err(e) = state.blobs.remove(&sha).await {
            tracing::warn!(error = %e, sha, "retention: a disposed blob's file was not removed");
        }
    }
    Ok(n)
}

/// One batch of the audit trail: moves the chain's base to the last removed event, removes
/// the events up to it, and the tombstone vouches for the new base.
async fn audit_batch(state: &Env<'_>, b: &Builtin, cut: &str, bound: i64) -> Result<i64, AppError> {
    let mut tx = state.db.write().await?;
    let (base, last) = audit_prefix(tx.conn(), cut).await?;
    let upto = last.min(base + BATCH).min(bound);
    if upto <= base {
        return Ok(0);
    }
    let rows = sqlx::query(&format!(
        "SELECT {} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq",
        chain::EVENT_COLUMNS
    ))
    .bind(base)
    .bind(upto)
    .fetch_all(tx.conn())
    .await?;
    let mut h = Sha256::new();
    let mut last_hash = String::new();
    for row in &rows {
        h.update(serde_json::to_vec(&row_json(row)).unwrap_or_default());
        h.update(b"\n");
        last_hash = row.try_get("hash")?;
    }
    let n = rows.len() as i64;
    if n != upto - base {
        return Err(AppError::internal(format!(
            "audit events #{}..#{upto} are not all there: the chain is broken; not disposing",
            base + 1
        )));
    }
    sqlx::query("UPDATE audit_base SET seq = $1, hash = $2 WHERE id = 1")
        .bind(upto)
        .bind(&last_hash)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
        .bind(upto)
        .execute(tx.conn())
        .await?;
    let digest = hex::encode(h.finalize());
    tx.audit(state.ctx.event(
        TOMBSTONE_ACTION,
        "audit_events",
        upto,
        format!(
            "audit events #{}..#{upto} disposed of under '{}' / '{}' ({}, never less than \
             {} days): older than {cut}; the chain now starts after #{upto}, whose hash was \
             {last_hash}; sha256 of the removed events {digest}",
            base + 1,
            b.category,
            b.rule,
            b.period,
            state.audit_min_days
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// What a run needs, from the server or the command line.
pub struct Env<'a> {
    pub db: &'a Db,
    pub blobs: &'a dyn crate::evidence::blobs::BlobStore,
    pub ctx: &'a AuditCtx,
    pub audit_min_days: u32,
}

/// Runs the job (or only plans it, `dry_run`): per category what was (or would be) removed.
pub async fn run(
    env: &Env<'_>,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<Vec<OwnLine>, AppError> {
    let planned = plan_bounded(env.db, now, env.audit_min_days).await?;
    if dry_run {
        return Ok(planned.into_iter().map(|(line, ..)| line).collect());
    }
    let mut out = Vec::with_capacity(planned.len());
    for (mut line, b, bounds) in planned {
        if !line.held_by.is_empty() || b.action != "delete" {
            line.count = 0;
            out.push(line);
            continue;
        }
        let mut removed = 0;
        // Each table until a batch finds nothing at or below the dry run's highest key.
        let tables: Vec<Option<(&str, &str, &str)>> = if b.key == "audit_events" {
            vec![None]
        } else {
            targets(&b.key).iter().copied().map(Some).collect()
        };
        for (target, bound) in tables.into_iter().zip(bounds) {
            loop {
                let took = std::time::Instant::now();
                let n = match target {
                    None => audit_batch(env, &b, &line.cutoff, bound).await?,
                    Some(t) => batch(env, &b, t, &line.cutoff, bound).await?,
                };
                removed += n;
                if n < BATCH {
                    break;
                }
                tokio::time::sleep(took.elapsed().max(PAUSE)).await;
            }
        }
        line.count = removed;
        out.push(line);
    }
    Ok(out)
}

/// "Run now" from the retention page.
pub async fn run_now() -> Result<Vec<OwnLine>, AppError> {
    let su = crate::context::require(crate::policy::Permission::ManageRetention)?;
    let state = crate::state::app_state()?;
    let ctx = crate::state::audit_ctx(&state, Some(&su.user));
    let env = Env {
        db: &state.db,
        blobs: state.blobs.as_ref(),
        ctx: &ctx,
        audit_min_days: state.audit_min_days,
    };
    run(&env, state.clock.now(), false).await
}

/// Runs the job every `every`, the first time `first` after start (not during start-up).
pub fn schedule(state: AppState, first: std::time::Duration, every: std::time::Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(first).await;
        crate::notifications::reminders::every(state, every, "retention job", |state, now| {
            async move {
                let ctx = AuditCtx {
                    actor: "retention".into(),
                    at: crate::util::ts(now),
                    ..Default::default()
                };
                let env = Env {
                    db: &state.db,
                    blobs: state.blobs.as_ref(),
                    ctx: &ctx,
                    audit_min_days: state.audit_min_days,
                };
                let n: i64 = run(&env, now, false).await?.iter().map(|l| l.count).sum();
                if n > 0 {
                    tracing::info!(removed = n, "retention: own data disposed of");
                }
                // Nothing queued for the outbox.
                Ok(0)
            }
        });
    });
}

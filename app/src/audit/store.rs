//! The audit area's SQL: the filtered, paged trail and the head for the chain check.

use super::*;
use crate::state::app_state;

fn day_start(raw: &str, field: &str, plus_days: i64) -> Result<String, AppError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(raw.trim(), fmt)
        .map_err(|_| AppError::invalid(format!("{field}: '{raw}' is not a date (YYYY-MM-DD).")))?;
    Ok(crate::util::ts(
        d.midnight().assume_utc() + time::Duration::days(plus_days),
    ))
}

pub async fn list(f: AuditFilter) -> Result<AuditPage, AppError> {
    let state = app_state()?;
    let mut sql = String::from(
        "SELECT seq, at, actor, action, object_type, object_id, summary, request_id, client_addr, hash \
         FROM audit_events WHERE 1 = 1",
    );
    let mut args: Vec<String> = Vec::new();
    let mut push = |sql: &mut String, cond: &str, v: String| {
        args.push(v);
        sql.push_str(&cond.replace('?', &format!("${}", args.len())));
    };
    let clean = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(a) = clean(&f.actor) {
        push(&mut sql, " AND actor = ?", a.to_lowercase());
    }
    if let Some(a) = clean(&f.action) {
        // Prefix match without LIKE wildcards from the input: [a, a + U+FFFF).
        push(&mut sql, " AND action >= ?", a.clone());
        push(&mut sql, " AND action < ?", format!("{a}\u{ffff}"));
    }
    if let Some(o) = clean(&f.object_type) {
        push(&mut sql, " AND object_type = ?", o);
    }
    if let Some(d) = clean(&f.from) {
        push(&mut sql, " AND at >= ?", day_start(&d, "From", 0)?);
    }
    if let Some(d) = clean(&f.to) {
        push(&mut sql, " AND at < ?", day_start(&d, "To", 1)?);
    }
    // Auditors read the trail of their audits' periods only.
    let su = crate::context::require_user()?;
    if let Some(periods) = crate::audits::reach::trail_periods(state.db.pool(), &su.user).await? {
        let mut any = Vec::new();
        for (start, end) in periods {
            args.push(day_start(&start, "start", 0)?);
            args.push(day_start(&end, "end", 0)?);
            any.push(format!(
                "(at >= ${} AND at < ${})",
                args.len() - 1,
                args.len()
            ));
        }
        match any.is_empty() {
            true => sql.push_str(" AND 1 = 0"),
            false => sql.push_str(&format!(" AND ({})", any.join(" OR "))),
        }
    }
    let before = f.before.filter(|b| *b > 0);
    sql.push_str(&format!(
        "{} ORDER BY seq DESC LIMIT {}",
        before
            .map(|b| format!(" AND seq < {b}"))
            .unwrap_or_default(),
        PAGE_SIZE + 1
    ));
    let mut q = sqlx::query(&sql);
    for a in &args {
        q = q.bind(a);
    }
    let rows = q.fetch_all(state.db.pool()).await?;
    let mut events = rows
        .iter()
        .map(chain::row_to_view)
        .collect::<Result<Vec<_>, _>>()?;
    let next_before = if events.len() as i64 > PAGE_SIZE {
        events.truncate(PAGE_SIZE as usize);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(state.db.pool())
            .await?;
    Ok(AuditPage {
        events,
        next_before,
        head_seq,
        head_hash,
    })
}

/// The chain and every stored checkpoint, checked with this server's key.
pub async fn verify() -> Result<ChainCheck, AppError> {
    let state = app_state()?;
    let key = state.signer.public_key();
    let report = super::verify::verify(&state.db, Some(&key), &[])
        .await
        .map_err(AppError::internal)?;
    use super::verify::Verdict;
    let message = match &report.verdict {
        Verdict::Intact => format!(
            "Intact: {} events, head {}",
            report.events,
            &report.head[..16.min(report.head.len())]
        ),
        Verdict::BrokenAt { seq, reason } => format!("Broken at event #{seq}: {reason}"),
        Verdict::BrokenIn { from, to, reason } => {
            format!("Broken in events #{from}–#{to}: {reason}")
        }
        Verdict::Checkpoint { seq, reason } => {
            format!("Checkpoint #{seq} is not valid: {reason}")
        }
    };
    Ok(ChainCheck {
        intact: report.intact(),
        events: report.events,
        message,
        details: report.details(),
    })
}

//! `steward retention run [--dry-run]`: Steward's own data under its built-in retention rules,
//! per category what was (or would be) disposed of, or what stopped it.

use crate::error::ServerError;
use app::audit::chain::AuditCtx;
use app::retention::own::{self, Env};
use std::path::Path;
use std::process::ExitCode;

pub async fn run(
    url: &str,
    data_dir: &Path,
    audit_min_days: u32,
    dry_run: bool,
    as_of: Option<time::Date>,
) -> Result<ExitCode, ServerError> {
    let db = crate::connect_and_migrate(url).await?;
    let blobs = app::evidence::blobs::FsBlobStore::new(data_dir)?;
    let now = app::util::Clock::default().now();
    // A dry run may look ahead: the same instant of day on another date.
    let now = as_of.map_or(now, |d| now.replace_date(d));
    let ctx = AuditCtx {
        actor: "cli".into(),
        at: app::util::ts(now),
        ..Default::default()
    };
    let env = Env {
        db: &db,
        blobs: &blobs,
        ctx: &ctx,
        audit_min_days,
    };
    let out = own::run(&env, now, dry_run).await;
    db.close().await;
    let lines = match out {
        Ok(l) => l,
        Err(e) => {
            eprintln!("steward: retention run failed: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let verb = if dry_run {
        "would dispose of"
    } else {
        "disposed of"
    };
    for l in &lines {
        let why = if !l.held_by.is_empty() {
            format!(" (held: {})", l.held_by.join(", "))
        } else if !l.note.is_empty() {
            format!(" ({})", l.note)
        } else {
            String::new()
        };
        println!(
            "{}: {verb} {} before {} [{}]{why}",
            l.key, l.count, l.cutoff, l.rule
        );
    }
    let total: i64 = lines.iter().map(|l| l.count).sum();
    println!("total: {verb} {total}");
    Ok(ExitCode::SUCCESS)
}

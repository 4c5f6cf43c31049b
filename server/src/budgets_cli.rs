//! `steward import-budgets FILE`, `export-budgets`, `evaluate-budgets`: budgets as code for
//! finance's repository, and an evaluation on demand (after `import-costs` too).

use crate::error::ServerError;
use app::audit::chain::AuditCtx;
use app::budgets::{alerts, csvio, store};
use app::db::Db;
use app::error::AppError;
use std::path::Path;
use std::process::ExitCode;

fn cli_ctx() -> AuditCtx {
    AuditCtx {
        actor: "cli".into(),
        at: app::util::ts(app::util::Clock::default().now()),
        ..Default::default()
    }
}

/// Evaluates every budget (reading the cube's segment files under `data_dir` when there).
pub async fn evaluate(
    db: &Db,
    data_dir: &Path,
    escalation_days: u32,
) -> Result<alerts::Evaluation, AppError> {
    let cube = app::costs::cube::Cube::with_dir(data_dir.join("cube"));
    let now = app::util::Clock::default().now();
    let after = time::Duration::days(escalation_days.into());
    alerts::evaluate_all(db, &cube, &cli_ctx(), now, after).await
}

pub async fn evaluate_now(
    url: &str,
    data_dir: &Path,
    escalation_days: u32,
) -> Result<ExitCode, ServerError> {
    let db = crate::connect_and_migrate(url).await?;
    let out = evaluate(&db, data_dir, escalation_days).await;
    db.close().await;
    println!("{}", out?.to_text());
    Ok(ExitCode::SUCCESS)
}

pub async fn import(
    url: &str,
    data_dir: &Path,
    file: &Path,
    escalation_days: u32,
) -> Result<ExitCode, ServerError> {
    let bytes = match std::fs::metadata(file) {
        Ok(m) if m.len() > csvio::MAX_BYTES as u64 => {
            eprintln!(
                "steward: {} refused: larger than {}",
                file.display(),
                app::util::human_size(csvio::MAX_BYTES as u64)
            );
            return Ok(ExitCode::from(1));
        }
        _ => std::fs::read(file)?,
    };
    let db = crate::connect_and_migrate(url).await?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = app::util::Clock::default().now();
    let outcome = match csvio::parse(&bytes) {
        Ok(rows) => store::import(&db, &cli_ctx(), &name, &rows, now).await,
        Err(e) => Err(e),
    };
    let evaluated = match &outcome {
        Ok(_) => Some(evaluate(&db, data_dir, escalation_days).await),
        Err(_) => None,
    };
    db.close().await;
    match outcome {
        Ok(report) => {
            println!("{}", report.to_text());
            if let Some(Err(e)) = evaluated {
                eprintln!("steward: budgets not evaluated: {e}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.status() >= 500 => Err(e.into()),
        Err(e) => {
            eprintln!("steward: {} refused: {e}", file.display());
            Ok(ExitCode::from(1))
        }
    }
}

pub async fn export(url: &str) -> Result<ExitCode, ServerError> {
    let db = crate::connect_and_migrate(url).await?;
    let budgets = store::all(db.pool()).await;
    db.close().await;
    let body = csvio::write(&budgets?)?;
    use std::io::Write;
    std::io::stdout().write_all(&body)?;
    Ok(ExitCode::SUCCESS)
}

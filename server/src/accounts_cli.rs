//! `steward import-accounts --system NAME FILE`: a system's account snapshot from automation
//! (the format detected as on the page; a CSV through the system's saved mapping).

use crate::error::ServerError;
use app::access_reviews::import::{self, Outcome};
use app::access_reviews::store::systems;
use app::audit::chain::AuditCtx;
use std::path::Path;
use std::process::ExitCode;

pub async fn import(url: &str, system: &str, file: &Path) -> Result<ExitCode, ServerError> {
    let max = app::access_reviews::MAX_FILE_BYTES as u64;
    let bytes = match std::fs::metadata(file) {
        Ok(m) if m.len() > max => {
            eprintln!(
                "steward: {} refused: larger than {}",
                file.display(),
                app::util::human_size(max)
            );
            return Ok(ExitCode::from(1));
        }
        _ => std::fs::read(file)?,
    };
    let db = crate::connect_and_migrate(url).await?;
    let clock = app::util::Clock::default();
    let ctx = AuditCtx {
        actor: "cli".into(),
        at: app::util::ts(clock.now()),
        ..Default::default()
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = match systems::by_name(db.pool(), system).await {
        Ok(Some(id)) => {
            let f = import::File {
                system_id: id,
                file_name: &name,
                bytes: &bytes,
                today: clock.now().date(),
                by: None,
            };
            import::import(&db, &ctx, f, None).await.map(Some)
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    db.close().await;
    match result {
        Ok(Some(Outcome::Imported(out))) => {
            println!("{}", out.describe());
            for (label, n) in &out.flags {
                println!("{label}: {n}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(Outcome::NeedsMapping(_))) => unreachable_mapping(),
        Ok(None) => {
            eprintln!("steward: no system is named '{system}' (add it on the systems page)");
            Ok(ExitCode::from(1))
        }
        Err(e @ app::error::AppError::Internal(_)) => Err(e.into()),
        Err(e) => {
            eprintln!("steward: {} refused: {e}", file.display());
            Ok(ExitCode::from(1))
        }
    }
}

/// The command line maps columns itself (no spool is given), so a CSV never waits.
fn unreachable_mapping() -> Result<ExitCode, ServerError> {
    eprintln!("steward: the file needs its columns mapped: import it once on the system's page");
    Ok(ExitCode::from(1))
}

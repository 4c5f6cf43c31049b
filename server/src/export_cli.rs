//! `steward export-evidence` and `steward verify-export`. Exit codes: 0 written (or intact),
//! 1 the export failed its checks (each failure named), 2 usage or configuration errors.

use crate::error::ServerError;
use app::exports::run::{self, Request};
use app::exports::scope::Scope;
use app::exports::{store, verify};
use app::signing::{key_path, PublicKey, Signer};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

fn config(e: impl std::fmt::Display) -> ServerError {
    ServerError::Config(e.to_string())
}

/// What the command line asked for: a framework and a period, or an audit.
pub struct Wanted {
    pub framework: String,
    pub audit: Option<i64>,
    pub from: String,
    pub to: String,
}

/// Writes the export to `<out>.part` beside `out`, then renames it: a reader never sees half
/// an archive.
pub async fn export(
    url: &str,
    data_dir: &Path,
    key_file: Option<&Path>,
    wanted: Wanted,
    out: &Path,
) -> Result<ExitCode, ServerError> {
    // Words are checked before anything is opened.
    let scope = match wanted.audit {
        None => Some(Scope::parse(&wanted.framework, &wanted.from, &wanted.to).map_err(config)?),
        Some(_) => None,
    };
    let signer = Signer::load_existing(data_dir, key_file)
        .map_err(config)?
        .ok_or_else(|| {
            config(format!(
                "no signing key at {} (`steward serve` creates it on first run)",
                key_path(data_dir, key_file).display()
            ))
        })?;
    let blobs = app::evidence::blobs::FsBlobStore::new(data_dir).map_err(config)?;
    let db = crate::connect_and_migrate(url).await?;
    let scope = match scope {
        Some(s) => s,
        None => {
            let id = wanted.audit.unwrap_or_default();
            match app::exports::answers::audit_scope(db.pool(), id, &wanted.framework).await {
                Ok(s) => s,
                Err(e) => {
                    db.close().await;
                    return Err(e.into());
                }
            }
        }
    };
    let scope = &scope;
    let ctx = crate::bootstrap::system_ctx(&app::util::Clock::default(), "cli");
    let mut part = out.as_os_str().to_owned();
    part.push(".part");
    let part = std::path::PathBuf::from(part);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&part)
        .map_err(|e| config(format!("{}: {e}", part.display())))?;
    let result = run::export(
        Request {
            db: &db,
            blobs: Arc::new(blobs),
            signer: &signer,
            scope,
            spool_dir: &data_dir.join("tmp"),
            ctx: &ctx,
            action: store::EXPORTED,
            progress: Default::default(),
        },
        file,
    )
    .await;
    db.close().await;
    let (file, built) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e.into());
        }
    };
    file.sync_all()?;
    drop(file);
    std::fs::rename(&part, out)?;
    let c = &built.manifest.counts;
    println!(
        "wrote {} ({} bytes, sha256 {})",
        out.display(),
        built.size,
        built.sha256
    );
    println!(
        "{} {} for {}: {} requirements, {} controls, {} evidence files ({} bytes), {} links, \
         {} audit events, {} checkpoints; as of audit event #{}; signed by key {}",
        built.manifest.framework.name,
        built.manifest.framework.version,
        scope.period,
        c.requirements,
        c.controls,
        c.evidence_files,
        c.evidence_bytes,
        c.links,
        c.audit_events,
        c.checkpoints,
        built.manifest.as_of.seq,
        built.manifest.signing_key.fingerprint
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads `--public-key` as base64 or as a PEM file's path; else the signing key file's half.
fn the_key(
    data_dir: &Path,
    key_file: Option<&Path>,
    given: Option<String>,
) -> Result<PublicKey, ServerError> {
    match given {
        Some(text) => {
            let path = Path::new(&text);
            if !text.contains("-----BEGIN") && path.is_file() {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| config(format!("{}: {e}", path.display())))?;
                PublicKey::parse(&pem).map_err(config)
            } else {
                PublicKey::parse(&text).map_err(config)
            }
        }
        None => Signer::load_existing(data_dir, key_file)
            .map_err(config)?
            .map(|s| s.public_key())
            .ok_or_else(|| {
                config(format!(
                    "give --public-key (no signing key at {} to take it from)",
                    key_path(data_dir, key_file).display()
                ))
            }),
    }
}

pub fn verify(
    data_dir: &Path,
    key_file: Option<&Path>,
    file: &Path,
    public_key: Option<String>,
) -> Result<ExitCode, ServerError> {
    let key = the_key(data_dir, key_file, public_key)?;
    let f = std::fs::File::open(file).map_err(|e| config(format!("{}: {e}", file.display())))?;
    let report = verify::verify(std::io::BufReader::new(f), &key);
    println!("{}", report.summary());
    for line in report.details() {
        println!("{line}");
    }
    Ok(if report.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

//! The audit trail's command-line tools: `verify-audit`, `checkpoint`, `public-key`.
//! Exit codes: 0 intact (or done), 1 broken (naming the first bad event), 2 usage or
//! configuration errors (through `ServerError`).

use crate::error::ServerError;
use app::audit::checkpoint::{self, Checkpoint};
use app::audit::verify::{self, VerifyError};
use app::signing::{key_path, PublicKey, Signer};
use std::path::Path;
use std::process::ExitCode;

fn config(e: impl std::fmt::Display) -> ServerError {
    ServerError::Config(e.to_string())
}

/// `steward verify-audit`: the chain, then every stored checkpoint and every token given,
/// with `--public-key` or else the key file's public half.
pub async fn verify(
    url: &str,
    data_dir: &Path,
    key_file: Option<&Path>,
    public_key: Option<String>,
    tokens: &[String],
) -> Result<ExitCode, ServerError> {
    let tokens = tokens
        .iter()
        .map(|t| Checkpoint::parse_token(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(config)?;
    let key = match public_key {
        Some(b64) => Some(PublicKey::from_b64(&b64).map_err(config)?),
        None => Signer::load_existing(data_dir, key_file)
            .map_err(config)?
            .map(|s| s.public_key()),
    };
    // Read-only: no migrations here, but an older schema cannot be checked meaningfully.
    let db = app::db::Db::connect(url).await?;
    if !db.migrations_current().await? {
        db.close().await;
        return Err(config(
            "the database schema is older than this steward: run `steward migrate` first",
        ));
    }
    let report = verify::verify(&db, key.as_ref(), &tokens).await;
    db.close().await;
    let report = match report {
        Ok(r) => r,
        Err(VerifyError::Db(e)) => return Err(e.into()),
        Err(e @ VerifyError::NoKey(_)) => {
            let where_ = key_path(data_dir, key_file);
            return Err(config(format!("{e} (no key at {})", where_.display())));
        }
    };
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

/// `steward checkpoint`: signs the chain head now; prints the token the log line carries too.
pub async fn checkpoint(
    url: &str,
    data_dir: &Path,
    key_file: Option<&Path>,
) -> Result<ExitCode, ServerError> {
    let signer = Signer::load_or_create(data_dir, key_file).map_err(config)?;
    let db = crate::connect_and_migrate(url).await?;
    let ctx = crate::bootstrap::system_ctx(&app::util::Clock::default(), "cli");
    let result = checkpoint::create(&db, &signer, &ctx).await;
    db.close().await;
    match result {
        Ok(Some(cp)) => {
            println!(
                "signed checkpoint #{} (events #{}..#{}) at {} with key {}",
                cp.seq,
                cp.prev_seq + 1,
                cp.seq,
                cp.at,
                signer.fingerprint()
            );
            println!("{}", cp.token());
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => {
            println!("no audit event since the newest checkpoint: nothing signed");
            Ok(ExitCode::SUCCESS)
        }
        // The chain is broken already: never signed over; say so like verify-audit does.
        Err(app::error::AppError::Conflict(why)) => {
            eprintln!("steward: {why}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// `steward public-key`: what verifiers need, and which file holds the private half.
pub fn public_key(data_dir: &Path, key_file: Option<&Path>) -> Result<ExitCode, ServerError> {
    let signer = Signer::load_existing(data_dir, key_file)
        .map_err(config)?
        .ok_or_else(|| {
            config(format!(
                "no signing key at {} (`steward serve` creates it on first run)",
                key_path(data_dir, key_file).display()
            ))
        })?;
    println!("public key: {}", signer.public_key_b64());
    println!("fingerprint: {}", signer.fingerprint());
    println!("key file: {}", signer.path().display());
    Ok(ExitCode::SUCCESS)
}

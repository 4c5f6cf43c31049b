//! One account file into a system, for the upload route and `steward import-accounts` alike:
//! a credential report imports at once; a CSV waits for its mapping on the page, or (command
//! line) uses the system's saved mapping, else the one its headers name.

use super::sources;
use super::store::{snapshots, systems};
use super::ImportOutcome;
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use std::path::Path;

pub enum Outcome {
    Imported(ImportOutcome),
    /// A CSV kept until its mapping is chosen: the token of `tabular::pending::keep`.
    NeedsMapping(String),
}

pub struct File<'a> {
    pub system_id: i64,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    pub today: time::Date,
    pub by: Option<i64>,
}

/// `spool`: where a CSV waits for its mapping (the page); `None` maps it at once (command line).
pub async fn import(
    db: &Db,
    ctx: &AuditCtx,
    f: File<'_>,
    spool: Option<&Path>,
) -> Result<Outcome, AppError> {
    let read = sources::read(f.bytes)?;
    let sha256 = crate::util::sha256_hex(f.bytes);
    let saved = systems::mapping(db.pool(), f.system_id).await?;
    let (source, accounts, mapping) = if read.is_credential_report() {
        (
            "iam_credential_report",
            sources::credential_report(&read)?,
            None,
        )
    } else if let Some(spool) = spool {
        let token = crate::tabular::pending::keep(spool, sources::PENDING, f.file_name, f.bytes)?;
        return Ok(Outcome::NeedsMapping(token));
    } else {
        let m = sources::offered(&read.rows[0], saved.as_deref());
        if !m.contains_key(&super::mapped::Field::UserId) {
            return Err(AppError::invalid(format!(
                "Line 1: no column names the user id (headers: {}); import it once on the page to map its columns.",
                read.rows[0].join(", ")
            )));
        }
        ("csv", sources::mapped(&read, &m)?, Some(m))
    };
    let out = snapshots::insert(
        db,
        ctx,
        snapshots::NewSnapshot {
            system_id: f.system_id,
            source,
            file_name: f.file_name,
            sha256: &sha256,
            encoding: read.encoding,
            accounts: &accounts,
            mapping: mapping.as_ref(),
            today: f.today,
            by: f.by,
        },
    )
    .await?;
    Ok(Outcome::Imported(out))
}

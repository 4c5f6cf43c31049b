//! CSV for controls (import with owners by email and mappings by requirement id; export) and
//! for frameworks (export). Imports check every row first and write nothing if any is bad.
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use super::store;
use super::ControlForm;
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use crate::util::csv_cell;
use sqlx::AnyPool;
use std::collections::HashMap;

pub const CONTROL_COLUMNS: [&str; 8] = [
    "ref",
    "title",
    "description",
    "owner_email",
    "cadence",
    "applicable",
    "justification",
    "mappings",
];

fn write_rows(header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(AppError::internal)?;
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c).into_owned()))
            .map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

pub async fn export_framework(pool: &AnyPool, id: i64) -> Result<(String, Vec<u8>), AppError> {
    let key: Option<String> = sqlx::query_scalar("SELECT key FROM frameworks WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let key = key.ok_or(AppError::NotFound)?;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT label, title, statement, group_title FROM requirements
         WHERE framework_id = $1 AND retired_at IS NULL ORDER BY sort_order",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let body = write_rows(
        &["id", "title", "description", "group"],
        rows.into_iter()
            .map(|(a, b, c, d)| vec![a, b, c, d])
            .collect(),
    )?;
    Ok((format!("{key}.csv"), body))
}

/// Every control within `reach`, with its mappings to the frameworks within it.
pub async fn export_controls(
    pool: &AnyPool,
    reach: &crate::audits::reach::Reach,
) -> Result<Vec<u8>, AppError> {
    let rows: Vec<(
        i64,
        String,
        String,
        String,
        Option<String>,
        String,
        i64,
        String,
    )> = sqlx::query_as(&format!(
        "SELECT c.id, c.ref, c.title, c.description, u.email, c.cadence, c.applicable,
                    c.justification
             FROM controls c LEFT JOIN users u ON u.id = c.owner_id WHERE {} ORDER BY c.ref",
        reach.controls_sql("c.id")
    ))
    .fetch_all(pool)
    .await?;
    let maps: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "SELECT cr.control_id, f.key, r.label FROM control_requirements cr
         JOIN requirements r ON r.id = cr.requirement_id AND r.retired_at IS NULL
         JOIN frameworks f ON f.id = r.framework_id WHERE {} ORDER BY f.key, r.sort_order",
        reach.frameworks_sql("f.id")
    ))
    .fetch_all(pool)
    .await?;
    let mut by_control: HashMap<i64, Vec<String>> = HashMap::new();
    for (c, k, l) in maps {
        by_control.entry(c).or_default().push(format!("{k}:{l}"));
    }
    write_rows(
        &CONTROL_COLUMNS,
        rows.into_iter()
            .map(|(id, r, t, d, e, c, a, j)| {
                vec![
                    r,
                    t,
                    d,
                    e.unwrap_or_default(),
                    c,
                    if a == 1 { "yes" } else { "no" }.into(),
                    j,
                    by_control.remove(&id).unwrap_or_default().join("; "),
                ]
            })
            .collect(),
    )
}

/// What a controls import did.
#[derive(Debug, Default)]
pub struct ControlsImport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub mappings_added: usize,
}

impl ControlsImport {
    pub fn describe(&self) -> String {
        format!(
            "Controls imported: {} created, {} updated, {} unchanged, {} mapping(s) added.",
            self.created, self.updated, self.unchanged, self.mappings_added
        )
    }
}

/// The database rows a controls import resolves names against. They are read before the file
/// is parsed so that parsing is a pure function of the file and these (and can be fuzzed).
#[derive(Debug, Clone, Default)]
pub struct ControlLookups {
    /// (id, email, active 0/1)
    pub users: Vec<(i64, Option<String>, i64)>,
    /// (id, key, name)
    pub frameworks: Vec<(i64, String, String)>,
    /// (id, framework id, ref, label); retired requirements are left out.
    pub requirements: Vec<(i64, i64, String, String)>,
}

/// One well-formed row of a controls CSV.
#[derive(Debug, Clone)]
pub struct ControlRow {
    pub line: u64,
    pub form: ControlForm,
    /// (requirement id, label, framework name)
    pub mappings: Vec<(i64, String, String)>,
}

/// A controls CSV read against the lookups: the good rows, and one message per bad row.
#[derive(Debug, Default)]
pub struct ParsedControls {
    pub rows: Vec<ControlRow>,
    pub errors: Vec<String>,
}

/// Checks the encoding and the header; returns the reader positioned at the first row and the
/// header with the `ref` and `title` column positions.
fn controls_reader(
    bytes: &[u8],
) -> Result<(csv::Reader<&[u8]>, csv::StringRecord, usize, usize), AppError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| AppError::invalid(format!("The file is not UTF-8 text ({e}).")))?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| AppError::invalid(format!("The CSV header could not be read: {e}")))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (Some(c_ref), Some(c_title)) = (col("ref"), col("title")) else {
        return Err(AppError::invalid(format!(
            "The CSV header must name at least ref and title (columns: {}).",
            CONTROL_COLUMNS.join(", ")
        )));
    };
    Ok((rdr, headers, c_ref, c_title))
}

/// Parses a controls CSV: owners by email, mappings by `framework-key:requirement-id`, every
/// bad row reported by line. No I/O; the field checks shared with the form run afterwards.
pub fn parse_controls_csv(
    bytes: &[u8],
    lookups: &ControlLookups,
) -> Result<ParsedControls, AppError> {
    let (mut rdr, headers, c_ref, c_title) = controls_reader(bytes)?;
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (users, fws, reqs) = (&lookups.users, &lookups.frameworks, &lookups.requirements);
    let get = |rec: &csv::StringRecord, n: &str| -> String {
        col(n).and_then(|i| rec.get(i)).unwrap_or("").to_string()
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let mut err =
            |col: &str, why: String| errors.push(format!("line {line}, column {col}: {why}"));
        let r = rec.get(c_ref).unwrap_or("").to_string();
        if let Some(first) = seen.insert(r.to_lowercase(), line) {
            err("ref", format!("'{r}' already used on line {first}"));
            continue;
        }
        let owner = match get(&rec, "owner_email").as_str() {
            "" => String::new(),
            email => match users
                .iter()
                .find(|(_, e, _)| e.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            {
                Some((id, _, 1)) => id.to_string(),
                Some(_) => {
                    err(
                        "owner_email",
                        format!("{email} belongs to a deactivated user"),
                    );
                    continue;
                }
                None => {
                    err("owner_email", format!("no user has the email {email}"));
                    continue;
                }
            },
        };
        let applicable = match get(&rec, "applicable").to_lowercase().as_str() {
            "" | "yes" | "y" | "true" | "1" => "yes",
            "no" | "n" | "false" | "0" => "no",
            other => {
                err("applicable", format!("'{other}' is not yes or no"));
                continue;
            }
        };
        let mut mappings = Vec::new();
        let mut bad = false;
        for m in get(&rec, "mappings")
            .split(';')
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            let Some((fk, rq)) = m.split_once(':') else {
                err(
                    "mappings",
                    format!("'{m}' is not framework-key:requirement-id"),
                );
                bad = true;
                break;
            };
            let Some((fid, _, fname)) = fws
                .iter()
                .find(|(_, k, _)| k.eq_ignore_ascii_case(fk.trim()))
            else {
                err("mappings", format!("no framework with key '{}'", fk.trim()));
                bad = true;
                break;
            };
            let rq = rq.trim();
            match reqs.iter().find(|(_, f, r, l)| {
                f == fid && (r.eq_ignore_ascii_case(rq) || l.eq_ignore_ascii_case(rq))
            }) {
                Some((rid, _, _, label)) => mappings.push((*rid, label.clone(), fname.clone())),
                None => {
                    err("mappings", format!("{fname} has no requirement '{rq}'"));
                    bad = true;
                    break;
                }
            }
        }
        if bad {
            continue;
        }
        let form = ControlForm {
            id: None,
            r#ref: r,
            title: rec.get(c_title).unwrap_or("").to_string(),
            description: get(&rec, "description"),
            owner,
            cadence: get(&rec, "cadence"),
            applicable: Some(applicable.into()),
            justification: get(&rec, "justification"),
        };
        rows.push(ControlRow {
            line,
            form,
            mappings,
        });
    }
    Ok(ParsedControls { rows, errors })
}

/// Imports controls from CSV. Mappings are added (never removed), so a file can be re-applied.
pub async fn import_controls(
    db: &Db,
    ctx: &AuditCtx,
    bytes: &[u8],
) -> Result<ControlsImport, AppError> {
    // A file that is not UTF-8 or lacks the columns is refused before the database is asked.
    controls_reader(bytes)?;
    let pool = db.pool();
    let lookups = ControlLookups {
        users: sqlx::query_as("SELECT id, email, active FROM users")
            .fetch_all(pool)
            .await?,
        frameworks: sqlx::query_as("SELECT id, key, name FROM frameworks")
            .fetch_all(pool)
            .await?,
        requirements: sqlx::query_as(
            "SELECT id, framework_id, ref, label FROM requirements WHERE retired_at IS NULL",
        )
        .fetch_all(pool)
        .await?,
    };
    // Parsing (up to the import limit) is CPU work: off the async runtime.
    let data = bytes.to_vec();
    let ParsedControls { rows, mut errors } =
        tokio::task::spawn_blocking(move || parse_controls_csv(&data, &lookups))
            .await
            .map_err(AppError::internal)??;
    let mut tx = db.write().await?;
    // Field checks (shared with the form) run for every row before anything is kept.
    for row in &rows {
        if let Err(e) = store::validate_control(tx.conn(), &row.form).await {
            errors.push(format!("line {}: {e}", row.line));
        }
    }
    if !errors.is_empty() {
        let n = errors.len();
        let mut msg = format!(
            "The CSV has {n} bad row(s); nothing was imported. {}",
            errors
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
        if n > 20 {
            msg.push_str(&format!("; and {} more", n - 20));
        }
        return Err(AppError::invalid(msg));
    }
    if rows.is_empty() {
        return Err(AppError::invalid("The CSV has a header but no rows."));
    }
    let mut out = ControlsImport::default();
    for mut row in rows {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM controls WHERE lower(ref) = lower($1)")
                .bind(row.form.r#ref.trim())
                .fetch_optional(tx.conn())
                .await?;
        row.form.id = existing;
        let (id, changed) = store::save_control(&mut tx, ctx, &row.form).await?;
        match (existing.is_some(), changed) {
            (false, _) => out.created += 1,
            (true, true) => out.updated += 1,
            (true, false) => out.unchanged += 1,
        }
        let mut by_fw: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        for (rid, label, fname) in row.mappings {
            by_fw.entry(fname).or_default().push((rid, label));
        }
        for (fname, reqs) in by_fw {
            out.mappings_added += store::map(&mut tx, ctx, id, &reqs, &fname).await?;
        }
    }
    if out.created + out.updated + out.mappings_added > 0 {
        tx.commit().await?;
    }
    Ok(out)
}

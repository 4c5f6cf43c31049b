//! The two plain HTTP routes of the evidence area: the multipart upload (streamed to the blob
//! store, never held in memory) and the file download (hash-checked before and while sending).

use super::filecheck::{self, FileProblem, Inspector};
use super::sql::{self, AttachDenied};
use super::store::{StagedBlob, StoreError};
use crate::audit::chain::AuditCtx;
use crate::context::CurrentUser;
use crate::context::{RequestMeta, SessionUser};
use crate::error::AppError;
use crate::ingest::{self, BodyError, Form, FormError, FormLimits};
use crate::paths;
use crate::state::AppState;
use crate::util::urlencode;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::StreamExt;
use http::header::{self, HeaderValue};
use http::StatusCode;
use sha2::{Digest, Sha256};
use std::io;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The evidence routes, with their own state so any router can merge them. The upload counts
/// its bytes itself against the configured limit, so axum's default body limit is off here.
pub fn routes<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
    Router::new()
        .route(paths::EVIDENCE_UPLOAD, post(upload))
        .route(paths::EVIDENCE_DOWNLOAD, get(download))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// All text fields together (titles, notes, test details); also the allowance for multipart
/// framing when checking Content-Length against the file limit.
const FIELDS_BUDGET: usize = 256 * 1024;
const MAX_FIELDS: usize = 64;
/// The preamble and each part's header block: far more than any browser sends.
const HEADER_BUDGET: u64 = 16 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("The upload stalled: nothing arrived for {} seconds.", .0.as_secs())]
    Stalled(Duration),
    #[error("{0}")]
    App(AppError),
}

impl UploadError {
    fn status(&self) -> StatusCode {
        match self {
            UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UploadError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::Forbidden(_) => StatusCode::FORBIDDEN,
            UploadError::NotFound(_) => StatusCode::NOT_FOUND,
            UploadError::Stalled(_) => StatusCode::REQUEST_TIMEOUT,
            UploadError::App(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn file(name: &str, p: FileProblem) -> Self {
        match p {
            FileProblem::TooLarge(_) => UploadError::TooLarge(format!("{name}: {p}.")),
            FileProblem::Type(_) => UploadError::Unsupported(format!("{name} was refused: {p}.")),
        }
    }
}

impl From<AppError> for UploadError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(m) => UploadError::Invalid(m),
            other => UploadError::App(other),
        }
    }
}

impl From<sqlx::Error> for UploadError {
    fn from(e: sqlx::Error) -> Self {
        UploadError::App(e.into())
    }
}

impl From<FormError> for UploadError {
    fn from(e: FormError) -> Self {
        match e {
            FormError::Body(BodyError::TooLarge(n)) => UploadError::TooLarge(format!(
                "The upload is larger than the limit of {}.",
                filecheck::human_size(n)
            )),
            FormError::FieldTooLarge { field, limit } if field == "file" => {
                UploadError::TooLarge(format!(
                    "The file is larger than the limit of {}.",
                    filecheck::human_size(limit)
                ))
            }
            FormError::Body(BodyError::Stalled(d)) => UploadError::Stalled(d),
            FormError::NotMultipart => {
                UploadError::Unsupported("Send the evidence as a multipart/form-data form.".into())
            }
            other => UploadError::Invalid(other.to_string()),
        }
    }
}

/// Text fields of the form, as sent.
#[derive(Default, Debug)]
struct Fields {
    evidence_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    controls: Vec<String>,
    effective_date: Option<String>,
    period_start: Option<String>,
    period_end: Option<String>,
    note: Option<String>,
    url: Option<String>,
    test_procedure: Option<String>,
    test_sample: Option<String>,
    test_result: Option<String>,
    tester: Option<String>,
    tested_on: Option<String>,
    return_to: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What the upload will create, once every field has been checked.
#[derive(Debug)]
struct Plan {
    target: Target,
    effective_date: String,
    period: Option<(String, String)>,
    note: String,
    url: Option<String>,
    test: Option<super::TestRecord>,
    return_to: Option<String>,
}

#[derive(Debug)]
enum Target {
    New {
        title: String,
        description: String,
        control_ids: Vec<i64>,
    },
    Existing {
        id: i64,
    },
}

fn parse_date(raw: &str, field: &str) -> Result<time::Date, UploadError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, fmt)
        .map_err(|_| UploadError::Invalid(format!("{field}: '{raw}' is not a date (YYYY-MM-DD).")))
}

fn clean_text(
    v: &Option<String>,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<String, UploadError> {
    let s = v.as_deref().unwrap_or_default().trim().to_string();
    if s.chars().count() > max {
        return Err(UploadError::Invalid(format!(
            "{field}: at most {max} characters."
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(UploadError::Invalid(format!(
            "{field}: must not contain control characters."
        )));
    }
    Ok(s)
}

/// Only `http` and `https` links, with a host, no spaces or control characters.
pub fn check_url(raw: &str) -> Result<String, String> {
    let u = raw.trim();
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| format!("Link: '{u}' must start with http:// or https://."))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with('@') || host.starts_with(':') {
        return Err(format!("Link: '{u}' has no host name."));
    }
    if u.len() > 2048 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("Link: must be at most 2048 characters, without spaces.".into());
    }
    Ok(u.to_string())
}

/// A path on this site to go to after the upload: one leading `/`, not `//` or `/\`.
fn check_return_to(raw: &str) -> Result<String, UploadError> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace())
        && raw.len() <= 512;
    if ok {
        Ok(raw.to_string())
    } else {
        Err(UploadError::Invalid(format!(
            "return_to: '{raw}' is not a path on this site (it must start with a single /)."
        )))
    }
}

fn validate(
    f: &Fields,
    has_file: bool,
    today: time::Date,
    user: &CurrentUser,
) -> Result<Plan, UploadError> {
    let return_to = nonempty(&f.return_to).map(check_return_to).transpose()?;
    let target = match nonempty(&f.evidence_id) {
        Some(raw) => Target::Existing {
            id: raw.parse().map_err(|_| {
                UploadError::Invalid(format!("evidence_id: '{raw}' is not a number."))
            })?,
        },
        None => {
            let title = clean_text(&f.title, "Title", 200, false)?;
            if title.is_empty() {
                return Err(UploadError::Invalid("Title: required.".into()));
            }
            let mut control_ids = Vec::new();
            for raw in f
                .controls
                .iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
            {
                let id: i64 = raw.parse().map_err(|_| {
                    UploadError::Invalid(format!("Controls: '{raw}' is not a control id."))
                })?;
                if !control_ids.contains(&id) {
                    control_ids.push(id);
                }
            }
            if control_ids.is_empty() {
                return Err(UploadError::Invalid(
                    "Controls: choose at least one control this evidence supports.".into(),
                ));
            }
            Target::New {
                title,
                description: clean_text(&f.description, "Description", 10_000, true)?,
                control_ids,
            }
        }
    };
    let effective_date = match nonempty(&f.effective_date) {
        None => {
            return Err(UploadError::Invalid(
                "Effective date: required (the date the evidence speaks for).".into(),
            ))
        }
        Some(raw) => {
            let d = parse_date(raw, "Effective date")?;
            if d > today {
                return Err(UploadError::Invalid(format!(
                    "Effective date: {d} is in the future (today is {today})."
                )));
            }
            d.to_string()
        }
    };
    let period = match (nonempty(&f.period_start), nonempty(&f.period_end)) {
        (None, None) => None,
        (Some(s), Some(e)) => {
            let (s, e) = (parse_date(s, "Period start")?, parse_date(e, "Period end")?);
            if e <= s {
                return Err(UploadError::Invalid(format!(
                    "Period: the end ({e}) must be after the start ({s}); the period covers [start, end)."
                )));
            }
            Some((s.to_string(), e.to_string()))
        }
        _ => {
            return Err(UploadError::Invalid(
                "Period: give both a start and an end, or neither.".into(),
            ))
        }
    };
    let url = nonempty(&f.url)
        .map(check_url)
        .transpose()
        .map_err(UploadError::Invalid)?;
    match (has_file, &url) {
        (true, Some(_)) => {
            return Err(UploadError::Invalid(
                "Give either a file or a link, not both.".into(),
            ))
        }
        (false, None) => {
            return Err(UploadError::Invalid(
                "Choose a file to upload or give a link.".into(),
            ))
        }
        _ => {}
    }
    let test_given = [
        &f.test_procedure,
        &f.test_sample,
        &f.test_result,
        &f.tester,
        &f.tested_on,
    ]
    .iter()
    .any(|v| nonempty(v).is_some());
    let test = if test_given {
        let result = match nonempty(&f.test_result) {
            Some(r @ ("pass" | "fail")) => r.to_string(),
            Some(other) => {
                return Err(UploadError::Invalid(format!(
                    "Test result: '{other}' must be pass or fail."
                )))
            }
            None => {
                return Err(UploadError::Invalid(
                    "Test result: choose pass or fail (or leave every test field empty).".into(),
                ))
            }
        };
        let procedure = clean_text(&f.test_procedure, "Test procedure", 5_000, true)?;
        if procedure.is_empty() {
            return Err(UploadError::Invalid(
                "Test procedure: describe how the control was tested.".into(),
            ));
        }
        let tested_on = match nonempty(&f.tested_on) {
            None => {
                return Err(UploadError::Invalid(
                    "Tested on: required with a test result.".into(),
                ))
            }
            Some(raw) => {
                let d = parse_date(raw, "Tested on")?;
                if d > today {
                    return Err(UploadError::Invalid(format!(
                        "Tested on: {d} is in the future (today is {today})."
                    )));
                }
                d.to_string()
            }
        };
        let tester = clean_text(&f.tester, "Tester", 200, false)?;
        Some(super::TestRecord {
            procedure,
            sample: clean_text(&f.test_sample, "Test sample", 5_000, true)?,
            result,
            tester: if tester.is_empty() {
                user.display_name.clone()
            } else {
                tester
            },
            tested_on,
        })
    } else {
        None
    };
    Ok(Plan {
        target,
        effective_date,
        period,
        note: clean_text(&f.note, "Note", 2_000, true)?,
        url,
        test,
        return_to,
    })
}

/// Checks the evidence and controls exist, the kinds agree, and the user may add to them.
/// Runs before the file is received (fail fast) and again inside the write transaction.
async fn authorize(
    conn: &mut sqlx::AnyConnection,
    plan: &Plan,
    user: &CurrentUser,
) -> Result<(), UploadError> {
    let ids = match &plan.target {
        Target::New { control_ids, .. } => control_ids.clone(),
        Target::Existing { id } => {
            let (_, kind) = sql::head(conn, *id)
                .await?
                .ok_or_else(|| UploadError::NotFound(format!("Evidence #{id} does not exist.")))?;
            let wants = if plan.url.is_some() { "link" } else { "file" };
            if kind != wants {
                return Err(UploadError::Invalid(format!(
                    "Evidence #{id} holds {kind}s: a new version must be a {kind} too."
                )));
            }
            sql::linked_controls(conn, *id)
                .await?
                .into_iter()
                .map(|c| c.id)
                .collect()
        }
    };
    match sql::check_attach(conn, user, &ids).await? {
        Ok(_) => Ok(()),
        Err(AttachDenied::Missing(id)) => Err(UploadError::Invalid(format!(
            "Controls: control #{id} does not exist."
        ))),
        Err(AttachDenied::NotOwner(code)) => Err(UploadError::Forbidden(format!(
            "You can add evidence only to controls you own, and {code} is not yours."
        ))),
    }
}

async fn read_text(
    field: &mut multer::Field<'static>,
    name: &str,
    budget: &mut usize,
) -> Result<String, UploadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = ingest::chunk(field).await? {
        if chunk.len() > *budget {
            return Err(UploadError::Invalid(format!(
                "{name}: the form's text fields are too long (at most {} KiB together).",
                FIELDS_BUDGET / 1024
            )));
        }
        *budget -= chunk.len();
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| UploadError::Invalid(format!("{name}: not valid UTF-8.")))
}

/// A received file, staged in the store but not yet visible.
struct Received {
    staged: Box<dyn StagedBlob>,
    filename: String,
    media_type: &'static str,
}

/// Streams the file field into the store, checking size and type on the way.
async fn receive_file(
    state: &AppState,
    field: multer::Field<'static>,
    filename: &str,
) -> Result<Received, UploadError> {
    let declared = field.content_type().map(|m| m.essence_str().to_string());
    let mut inspector = Inspector::new(state.max_upload_bytes);
    let stream = futures_util::stream::unfold(
        (field, &mut inspector, false),
        |(mut field, insp, done)| async move {
            if done {
                return None;
            }
            // An error item ends the stream: the store then discards what it staged.
            let fail = |e: UploadError| io::Error::other(e);
            match ingest::chunk(&mut field).await {
                Err(e) => Some((Err(fail(e.into())), (field, insp, true))),
                Ok(None) => None,
                Ok(Some(chunk)) => match insp.feed(&chunk) {
                    Ok(()) => Some((Ok(chunk), (field, insp, false))),
                    Err(p) => Some((
                        Err(fail(UploadError::file(filename, p))),
                        (field, insp, true),
                    )),
                },
            }
        },
    );
    let staged = match state.blobs.put_stream(Box::pin(stream)).await {
        Ok(s) => s,
        Err(StoreError::Source(e)) => {
            return Err(e
                .into_inner()
                .and_then(|inner| inner.downcast::<UploadError>().ok())
                .map(|b| *b)
                .unwrap_or_else(|| UploadError::Invalid("The upload was interrupted.".into())))
        }
        Err(e) => return Err(UploadError::App(AppError::internal(e))),
    };
    let kind = inspector
        .finish()
        .map_err(|p| UploadError::file(filename, p))?;
    let media_type = filecheck::media_type_for(filename, declared.as_deref(), kind)
        .map_err(|p| UploadError::file(filename, p))?;
    Ok(Received {
        staged,
        filename: filename.to_string(),
        media_type,
    })
}

/// A file now stored under its hash.
struct StoredFile {
    sha256: String,
    size: u64,
    filename: String,
    media_type: &'static str,
}

/// What a successful upload made.
struct Done {
    evidence_id: i64,
    version: i64,
    sha256: Option<String>,
    return_to: Option<String>,
}

async fn receive(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    req: Request,
) -> Result<Done, UploadError> {
    let limit = state.max_upload_bytes;
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Refused before any of the body is read.
    if declared_len.is_some_and(|n| n > limit.saturating_add(FIELDS_BUDGET as u64)) {
        return Err(UploadError::TooLarge(format!(
            "The upload is larger than the limit of {}.",
            filecheck::human_size(limit)
        )));
    }
    // Every byte is bounded: the file by the limit (counted as received, chunked or not),
    // text fields together by their budget (any one, skipped ones included, by the same), part
    // headers by theirs.
    let (parts, body) = req.into_parts();
    let mut multipart = Form::new(
        &parts.headers,
        body,
        FormLimits {
            max_bytes: limit
                .saturating_add(FIELDS_BUDGET as u64)
                .saturating_add(HEADER_BUDGET * MAX_FIELDS as u64),
            max_header: HEADER_BUDGET,
            max_fields: MAX_FIELDS,
            max_field: FIELDS_BUDGET as u64,
            file: ("file", limit),
            idle: state.upload_idle,
        },
    )?;
    let today = state.clock.now().date();
    let mut fields = Fields::default();
    let mut budget = FIELDS_BUDGET;
    let mut received: Option<Received> = None;
    let mut plan: Option<Plan> = None;
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        if received.is_some() {
            return Err(UploadError::Invalid(format!(
                "The file must be the last field of the form ('{name}' came after it)."
            )));
        }
        if name == "file" {
            let raw_name = field.file_name().unwrap_or_default().to_string();
            if raw_name.is_empty() {
                // A file input left empty: the browser still sends the (empty) part.
                read_text(&mut field, "file", &mut budget).await?;
                continue;
            }
            // Everything but the file is known: check it before receiving the bytes.
            let p = validate(&fields, true, today, user)?;
            let mut conn = state.db.pool().acquire().await?;
            authorize(&mut conn, &p, user).await?;
            drop(conn);
            plan = Some(p);
            let filename = filecheck::display_name(&raw_name);
            received = Some(receive_file(state, field, &filename).await?);
            continue;
        }
        let value = read_text(&mut field, &name, &mut budget).await?;
        let slot = match name.as_str() {
            "evidence_id" => &mut fields.evidence_id,
            "title" => &mut fields.title,
            "description" => &mut fields.description,
            "controls" => {
                fields.controls.push(value);
                continue;
            }
            "effective_date" => &mut fields.effective_date,
            "period_start" => &mut fields.period_start,
            "period_end" => &mut fields.period_end,
            "note" => &mut fields.note,
            "url" => &mut fields.url,
            "test_procedure" => &mut fields.test_procedure,
            "test_sample" => &mut fields.test_sample,
            "test_result" => &mut fields.test_result,
            "tester" => &mut fields.tester,
            "tested_on" => &mut fields.tested_on,
            "return_to" => &mut fields.return_to,
            // Unknown fields are ignored, as browsers may add some (submit buttons).
            _ => continue,
        };
        *slot = Some(value);
    }
    let plan = match plan {
        Some(p) => p,
        None => validate(&fields, false, today, user)?,
    };
    let ctx = crate::state::audit_ctx_for(state, meta, Some(user));
    // The file becomes visible under its hash before the rows that point at it; if the
    // transaction then fails, an unreferenced blob remains, never a row without its file.
    let file = match received {
        Some(r) => {
            let sha = r.staged.sha256().to_string();
            let size = r.staged.size();
            r.staged
                .commit()
                .await
                .map_err(|e| UploadError::App(AppError::internal(e)))?;
            Some(StoredFile {
                sha256: sha,
                size,
                filename: r.filename,
                media_type: r.media_type,
            })
        }
        None => None,
    };
    let (evidence_id, version) = record(state, &ctx, &plan, file.as_ref(), user).await?;
    Ok(Done {
        evidence_id,
        version,
        sha256: file.map(|f| f.sha256),
        return_to: plan.return_to,
    })
}

/// Writes the evidence (when new), the version, the blob row and the audit event, in one
/// transaction; returns the evidence id and version number.
async fn record(
    state: &AppState,
    ctx: &AuditCtx,
    plan: &Plan,
    file: Option<&StoredFile>,
    user: &CurrentUser,
) -> Result<(i64, i64), UploadError> {
    let mut tx = state.db.write().await?;
    authorize(tx.conn(), plan, user).await?;
    let now = ctx.at.clone();
    let (evidence_id, version, title) = match &plan.target {
        Target::New {
            title,
            description,
            control_ids,
        } => {
            let kind = if file.is_some() { "file" } else { "link" };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO evidence (title, description, kind, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(title)
            .bind(description)
            .bind(kind)
            .bind(user.id)
            .bind(&now)
            .fetch_one(tx.conn())
            .await?;
            for c in control_ids {
                sqlx::query(
                    "INSERT INTO evidence_controls (evidence_id, control_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(c)
                .bind(&now)
                .execute(tx.conn())
                .await?;
            }
            (id, 1_i64, title.clone())
        }
        Target::Existing { id } => {
            let (title, _) = sql::head(tx.conn(), *id)
                .await?
                .ok_or_else(|| UploadError::NotFound(format!("Evidence #{id} does not exist.")))?;
            // Writers are serialised on the audit chain head, so MAX + 1 cannot race.
            let next: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM evidence_versions WHERE evidence_id = $1",
            )
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
            sqlx::query("UPDATE evidence SET updated_at = $1 WHERE id = $2")
                .bind(&now)
                .bind(id)
                .execute(tx.conn())
                .await?;
            (*id, next, title)
        }
    };
    if let Some(f) = file {
        sqlx::query(
            "INSERT INTO blobs (sha256, size_bytes, media_type, stored_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&f.sha256)
        .bind(f.size as i64)
        .bind(f.media_type)
        .bind(&now)
        .execute(tx.conn())
        .await?;
    }
    let test = plan.test.as_ref();
    sqlx::query(
        "INSERT INTO evidence_versions (evidence_id, version, effective_date, period_start, period_end, \
         sha256, filename, media_type, size_bytes, url, note, uploaded_by, uploaded_at, \
         test_procedure, test_sample, test_result, tester, tested_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(evidence_id)
    .bind(version)
    .bind(&plan.effective_date)
    .bind(plan.period.as_ref().map(|p| p.0.clone()))
    .bind(plan.period.as_ref().map(|p| p.1.clone()))
    .bind(file.map(|f| f.sha256.clone()))
    .bind(file.map(|f| f.filename.clone()))
    .bind(file.map(|f| f.media_type.to_string()))
    .bind(file.map(|f| f.size as i64))
    .bind(plan.url.clone())
    .bind(&plan.note)
    .bind(user.id)
    .bind(&now)
    .bind(test.map(|t| t.procedure.clone()))
    .bind(test.map(|t| t.sample.clone()))
    .bind(test.map(|t| t.result.clone()))
    .bind(test.map(|t| t.tester.clone()))
    .bind(test.map(|t| t.tested_on.clone()))
    .execute(tx.conn())
    .await?;
    let content = match file {
        Some(f) => {
            format!(
                "file '{}' ({}, {} bytes, sha256 {})",
                f.filename, f.media_type, f.size, f.sha256
            )
        }
        None => format!("link {}", plan.url.as_deref().unwrap_or_default()),
    };
    let test_text = test
        .map(|t| {
            format!(
                "; control test {} on {} by {}",
                t.result, t.tested_on, t.tester
            )
        })
        .unwrap_or_default();
    let (action, summary) = if matches!(plan.target, Target::New { .. }) {
        let codes = sql::linked_controls(tx.conn(), evidence_id)
            .await?
            .into_iter()
            .map(|c| c.code)
            .collect::<Vec<_>>()
            .join(", ");
        (
            "evidence.created",
            format!(
                "Evidence #{evidence_id} '{title}' for {codes}: version 1, {content}, effective {}{test_text}",
                plan.effective_date
            ),
        )
    } else {
        (
            "evidence.version_added",
            format!(
                "Evidence #{evidence_id} '{title}': version {version}, {content}, effective {}{test_text}",
                plan.effective_date
            ),
        )
    };
    tx.audit(ctx.event(action, "evidence", evidence_id, summary))
        .await?;
    tx.commit().await?;
    Ok((evidence_id, version))
}

fn json_error(e: &UploadError) -> Response {
    let body = serde_json::json!({ "error": e.to_string() }).to_string();
    (
        e.status(),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn html_page(status: StatusCode, title: &str, message: &str, back: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{t} · Steward</title>\
         <link rel=\"stylesheet\" href=\"/pkg/steward.css\"></head><body><main class=\"content\" id=\"main\">\
         <h1>{t}</h1><p class=\"error\" role=\"alert\">{m}</p><p><a href=\"{b}\">Back</a></p></main></body></html>",
        t = esc(title),
        m = esc(message),
        b = esc(back)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The page the form was on (same origin only), without a previous error.
fn referer_path(headers: &http::HeaderMap, origin: &str) -> Option<String> {
    let r = headers.get(header::REFERER)?.to_str().ok()?;
    let path = r.strip_prefix(origin)?;
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = q
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("error="))
        .collect();
    Some(if kept.is_empty() {
        p.to_string()
    } else {
        format!("{p}?{}", kept.join("&"))
    })
}

async fn upload(State(state): State<AppState>, req: Request) -> Response {
    let Some(su) = req.extensions().get::<SessionUser>().cloned() else {
        return json_error(&UploadError::App(AppError::Unauthenticated));
    };
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let wants_html = crate::context::wants_html(req.headers());
    let back = referer_path(req.headers(), &state.security.public_origin);
    match receive(&state, &su.user, &meta, req).await {
        Ok(done) => {
            let location = done
                .return_to
                .clone()
                .unwrap_or_else(|| paths::evidence_item(done.evidence_id));
            if wants_html {
                see_other(&location)
            } else {
                let body = serde_json::json!({
                    "evidence_id": done.evidence_id,
                    "version": done.version,
                    "sha256": done.sha256,
                    "location": location,
                });
                (
                    StatusCode::CREATED,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response()
            }
        }
        Err(e) => {
            tracing::info!(status = e.status().as_u16(), error = %e, "evidence upload refused");
            match (wants_html, back, &e) {
                // Too large: the body was not read, so answer with the status itself.
                (true, back, UploadError::TooLarge(m)) => html_page(
                    e.status(),
                    "Upload too large",
                    m,
                    back.as_deref().unwrap_or("/evidence/new"),
                ),
                (true, Some(back), _) => {
                    let sep = if back.contains('?') { '&' } else { '?' };
                    see_other(&format!("{back}{sep}error={}", urlencode(&e.to_string())))
                }
                (true, None, _) => html_page(
                    e.status(),
                    "Upload refused",
                    &e.to_string(),
                    "/evidence/new",
                ),
                (false, _, _) => json_error(&e),
            }
        }
    }
}

async fn record_integrity_failure(
    state: &AppState,
    ctx: AuditCtx,
    evidence_id: i64,
    version: i64,
    filename: &str,
    expected: &str,
    found: &str,
) {
    tracing::error!(
        evidence_id,
        version,
        expected,
        found,
        "stored evidence failed its integrity check"
    );
    let summary = format!(
        "Evidence #{evidence_id} version {version} ('{filename}'): stored content does not match \
         sha256 {expected} (found {found}); download refused"
    );
    let res = async {
        let mut tx = state.db.write().await?;
        tx.audit(ctx.event(
            "evidence.integrity_failed",
            "evidence",
            evidence_id,
            summary,
        ))
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = res {
        tracing::error!(error = %e, "could not record the integrity failure");
    }
}

const READ_CHUNK: usize = 64 * 1024;

/// SHA-256 of stored content, read in chunks.
async fn hash_blob(state: &AppState, sha256: &str) -> Result<String, StoreError> {
    let mut r = state.blobs.open(sha256).await?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = r.reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn plain_error(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_string(),
    )
        .into_response()
}

async fn download(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
    req: Request,
) -> Response {
    let not_found = || plain_error(StatusCode::NOT_FOUND, "No such evidence file.");
    let (Ok(id), Ok(version)) = (id.parse::<i64>(), version.parse::<i64>()) else {
        return not_found();
    };
    let Some(su) = req.extensions().get::<SessionUser>().cloned() else {
        return plain_error(StatusCode::UNAUTHORIZED, "Please sign in.");
    };
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let fv = match sql::file_version(state.db.pool(), id, version).await {
        Ok(Some(Some(fv))) => fv,
        Ok(Some(None)) => {
            return plain_error(
                StatusCode::NOT_FOUND,
                "This version is a link, not a file: open it from the evidence page.",
            )
        }
        Ok(None) => return not_found(),
        Err(e) => return plain_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let refused = || {
        plain_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "The stored file of evidence #{id} version {version} failed its integrity check \
                 (its SHA-256 no longer matches what was uploaded), so it is not served. \
                 The failure has been recorded in the audit log."
            ),
        )
    };
    // Verify the whole file before sending any of it.
    let found = match hash_blob(&state, &fv.sha256).await {
        Ok(h) => h,
        Err(StoreError::NotFound(_)) => "(file missing)".to_string(),
        Err(e) => {
            return plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &AppError::internal(e).to_string(),
            )
        }
    };
    if found != fv.sha256 {
        let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
        record_integrity_failure(&state, ctx, id, version, &fv.filename, &fv.sha256, &found).await;
        return refused();
    }
    let reader = match state.blobs.open(&fv.sha256).await {
        Ok(r) => r,
        Err(e) => {
            return plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &AppError::internal(e).to_string(),
            )
        }
    };
    let size = reader.size;
    // Hash again while sending: if the file changed since the check, the response is cut off
    // with an error (the client sees a failed download) and the failure is recorded.
    let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
    let expected = fv.sha256.clone();
    let filename = fv.filename.clone();
    let st = state.clone();
    let body = futures_util::stream::unfold(Some((reader.reader, Sha256::new())), move |s| {
        let (ctx, expected, filename, st) =
            (ctx.clone(), expected.clone(), filename.clone(), st.clone());
        async move {
            let (mut r, mut h) = s?;
            let mut buf = vec![0u8; READ_CHUNK];
            match r.read(&mut buf).await {
                Err(e) => Some((Err(e), None)),
                Ok(0) => {
                    let got = hex::encode(h.finalize());
                    if got == expected {
                        None
                    } else {
                        record_integrity_failure(&st, ctx, id, version, &filename, &expected, &got)
                            .await;
                        Some((
                            Err(io::Error::other("stored file changed while it was sent")),
                            None,
                        ))
                    }
                }
                Ok(n) => {
                    buf.truncate(n);
                    h.update(&buf);
                    Some((Ok(Bytes::from(buf)), Some((r, h))))
                }
            }
        }
    });
    let mut res = Response::new(Body::from_stream(body.boxed()));
    let h = res.headers_mut();
    let media = HeaderValue::from_str(&fv.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, media);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&filecheck::content_disposition(&fv.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_http_or_https_only() {
        assert!(check_url("https://example.com/report").is_ok());
        assert!(check_url("HTTP://example.com").is_ok());
        assert!(check_url("javascript:alert(1)").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://exa mple.com").is_err());
    }

    #[test]
    fn return_to_is_a_local_path() {
        assert!(check_return_to("/controls/7").is_ok());
        assert!(check_return_to("//evil.example/x").is_err());
        assert!(check_return_to("/\\evil.example").is_err());
        assert!(check_return_to("https://evil.example").is_err());
        assert!(check_return_to("controls/7").is_err());
    }

    #[test]
    fn referer_must_be_this_site() {
        let mut h = http::HeaderMap::new();
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://s.test/evidence/new?control=3&error=old"),
        );
        assert_eq!(
            referer_path(&h, "http://s.test").as_deref(),
            Some("/evidence/new?control=3")
        );
        assert_eq!(referer_path(&h, "http://other.test"), None);
    }
}

//! The upload: authorization, receiving the file into the blob store, and recording the
//! evidence and its version with the audit event.

use super::blobs::{StagedBlob, StoreError};
use super::filecheck::{self, Inspector};
use super::form::*;
use super::store::{self, AttachDenied};
use crate::audit::chain::AuditCtx;
use crate::context::CurrentUser;
use crate::context::{RequestMeta, SessionUser};
use crate::error::AppError;
use crate::ingest::{self, Form, FormLimits};
use crate::paths;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{self};
use http::StatusCode;
use std::io;

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
            let (_, kind) = store::head(conn, *id)
                .await?
                .ok_or_else(|| UploadError::NotFound(format!("Evidence #{id} does not exist.")))?;
            let wants = if plan.url.is_some() { "link" } else { "file" };
            if kind != wants {
                return Err(UploadError::Invalid(format!(
                    "Evidence #{id} holds {kind}s: a new version must be a {kind} too."
                )));
            }
            store::linked_controls(conn, *id)
                .await?
                .into_iter()
                .map(|c| c.id)
                .collect()
        }
    };
    match store::check_attach(conn, user, &ids).await? {
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
            let (title, _) = store::head(tx.conn(), *id)
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
        let codes = store::linked_controls(tx.conn(), evidence_id)
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

pub(super) async fn upload(State(state): State<AppState>, req: Request) -> Response {
    let Some(su) = req.extensions().get::<SessionUser>().cloned() else {
        return AppError::Unauthenticated.into_response();
    };
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    let wants_html = crate::context::wants_html(req.headers());
    match receive(&state, &su.user, &meta, req).await {
        Ok(done) => {
            let location = done
                .return_to
                .clone()
                .unwrap_or_else(|| paths::evidence_item(done.evidence_id));
            if wants_html {
                crate::reply::see_other(&location)
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
            let e = AppError::from(e);
            tracing::info!(status = e.status(), error = %e, "evidence upload refused");
            // A browser's form goes back to the page it came from, with the message
            // (`error_reply`); scripts get the error as JSON.
            e.into_response()
        }
    }
}

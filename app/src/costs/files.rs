//! Cost files over HTTP: the upload form (multipart, works without JavaScript) streamed
//! straight into the importer, and the report's CSV export.

use crate::paths;
use leptos::prelude::*;

/// Largest cost file accepted over HTTP (CUR files run to gigabytes; the import streams).
pub const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The upload form. Hydrated, it sends the file with a progress bar (the upload; the server
/// imports once the whole file has arrived); without JavaScript the form posts itself.
#[component]
pub fn CostUploadForm() -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        crate::upload::send_with_progress(
            ev,
            paths::COST_UPLOAD,
            MAX_UPLOAD_BYTES,
            progress,
            error,
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form method="post" action=paths::COST_UPLOAD enctype="multipart/form-data" class="grid-form" id="cost-upload-form" on:submit=on_submit>
            <div class="span-all"><label for="cost-file">"Cost file"</label>
                <input id="cost-file" type="file" name="file" required accept=".csv,.gz,text/csv,application/gzip"/></div>
            <div class="span-all">
                {move || error.get().map(|e| view! { <p class="error" role="alert" id="upload-error">{e}</p> })}
                <progress max="100" hidden=move || progress.get().is_none() aria-label="Upload progress"
                    value=move || format!("{:.0}", progress.get().unwrap_or(0.0) * 100.0)></progress>
                <span class="muted" hidden=move || progress.get().is_none()>
                    {move || progress.get().map(|p| if p >= 1.0 {
                        " Uploaded; importing…".to_string()
                    } else {
                        format!(" {:.0}% uploaded", p * 100.0)
                    })}
                </span>
                <button type="submit" class="primary" disabled=move || progress.get().is_some()>
                    {move || if progress.get().is_some() { "Importing…" } else { "Import" }}
                </button>
            </div>
        </form>
    }
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::context::{RequestMeta, SessionUser};
    use crate::costs::import::import_upload;
    use crate::costs::report::{self, ReportQuery};
    use crate::error::AppError;
    use crate::ingest::{self, Form, FormError, FormLimits};
    use crate::policy::Permission;
    use crate::state::AppState;
    use axum::body::Body;
    use axum::extract::{Query, State};
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::Extension;

    /// Bytes of multipart framing allowed beside the file.
    const FRAMING_BYTES: u64 = 64 * 1024;

    /// A display name only: the last path component, printable characters, bounded.
    fn display_name(raw: Option<&str>) -> String {
        let base = raw
            .unwrap_or("upload.csv")
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("upload.csv");
        let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
        if clean.trim().is_empty() || clean == "." || clean == ".." {
            "upload.csv".into()
        } else {
            clean
        }
    }

    fn reply(html: bool, json: bool, result: Result<String, AppError>) -> Response {
        let to = |k: &str, m: &str| format!("/costs/import?{k}={}", crate::util::urlencode(m));
        if json {
            // The hydrated form: where to go next, or the message to show.
            return match result {
                Ok(m) => (
                    StatusCode::CREATED,
                    axum::Json(serde_json::json!({ "location": to("imported", &m) })),
                )
                    .into_response(),
                Err(e) => (
                    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                    axum::Json(serde_json::json!({ "error": e.to_string() })),
                )
                    .into_response(),
            };
        }
        match (html, result) {
            (true, Ok(m)) => Redirect::to(&to("imported", &m)).into_response(),
            (true, Err(e)) => Redirect::to(&to("error", &e.to_string())).into_response(),
            (false, Ok(m)) => (StatusCode::OK, m).into_response(),
            (false, Err(e)) => (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.to_string(),
            )
                .into_response(),
        }
    }

    /// Receives the file into the spool folder first, at the client's pace, and only then
    /// imports it: the import's write lock is never held while a client sends (a slow or
    /// stalled upload would hold up every other writer). A refused or abandoned upload leaves
    /// nothing behind.
    pub async fn upload(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        let html = crate::context::wants_html(&headers);
        let json = crate::context::accept(&headers).starts_with("application/json");
        let result = async {
            if !su.user.can(Permission::ManageCosts) {
                return Err(AppError::Forbidden);
            }
            let declared = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES + FRAMING_BYTES) {
                return Err(AppError::invalid(format!(
                    "The file is larger than {} GiB.",
                    MAX_UPLOAD_BYTES >> 30
                )));
            }
            let limits = FormLimits {
                max_bytes: MAX_UPLOAD_BYTES + FRAMING_BYTES,
                max_header: 16 * 1024,
                max_field: 1024,
                file: ("file", MAX_UPLOAD_BYTES),
                max_fields: 8,
                idle: state.upload_idle,
            };
            let form_error = |e: FormError| AppError::invalid(e.to_string());
            let mut form = Form::new(&headers, body, limits).map_err(form_error)?;
            let (file_name, spooled) = loop {
                match form.next_field().await.map_err(form_error)? {
                    Some(mut f) if f.name() == Some("file") => {
                        let name = display_name(f.file_name());
                        let spooled = ingest::spool(&mut f, &state.spool_dir, MAX_UPLOAD_BYTES)
                            .await
                            .map_err(form_error)?;
                        break (name, spooled);
                    }
                    // Other fields (a submit button) are read and ignored, within bounds.
                    Some(mut f) => {
                        ingest::text(&mut f, "field", 1024)
                            .await
                            .map_err(AppError::invalid)?;
                    }
                    None => return Err(AppError::invalid("Choose a cost file to import.")),
                }
            };
            let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
            let report = import_upload(&state.db, spooled.path(), file_name, ctx)
                .await
                .map_err(AppError::from)?;
            drop(spooled);
            state.cost_cube.refresh_soon(&state.db);
            Ok(report.to_text().lines().collect::<Vec<_>>().join("; "))
        }
        .await;
        reply(html, json, result)
    }

    pub async fn export(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Query(q): Query<ReportQuery>,
    ) -> Response {
        let result = async {
            if !su.user.can(Permission::ViewCosts) {
                return Err(AppError::Forbidden);
            }
            let r = report::build(&state.db, &state.cost_cube, q, state.clock.now().date()).await?;
            let body = report::to_csv(&r)?;
            let name = format!(
                "costs-{}-{}-by-{}.csv",
                r.query.from,
                r.query.to,
                r.query.group_by.replace(':', "-")
            );
            Ok((name, body))
        }
        .await;
        match result {
            Ok((name, body)) => crate::state::csv_attachment(&name, body),
            Err(e) => crate::state::error_response(e),
        }
    }
}

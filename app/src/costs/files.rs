//! Cost files over HTTP: the upload form (multipart, works without JavaScript) streamed
//! straight into the importer, and the report's CSV export.

use leptos::prelude::*;

/// Where the cost upload form posts.
pub const UPLOAD_PATH: &str = "/costs/upload";
/// Largest cost file accepted over HTTP (CUR files run to gigabytes; the import streams).
pub const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The upload form. Hydrated, it sends the file with a progress bar: the server imports while
/// the bytes arrive, so the bar follows the import; without JavaScript the form posts itself.
#[component]
pub fn CostUploadForm() -> impl IntoView {
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        crate::upload::send_with_progress(ev, UPLOAD_PATH, MAX_UPLOAD_BYTES, progress, error);
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <form method="post" action=UPLOAD_PATH enctype="multipart/form-data" class="grid-form" id="cost-upload-form" on:submit=on_submit>
            <div class="span-all"><label for="cost-file">"Cost file"</label>
                <input id="cost-file" type="file" name="file" required accept=".csv,.gz,text/csv,application/gzip"/></div>
            <div class="span-all">
                {move || error.get().map(|e| view! { <p class="error" role="alert" id="upload-error">{e}</p> })}
                <progress max="100" hidden=move || progress.get().is_none() aria-label="Import progress"
                    value=move || format!("{:.0}", progress.get().unwrap_or(0.0) * 100.0)></progress>
                <span class="muted" hidden=move || progress.get().is_none()>
                    {move || progress.get().map(|p| format!(" {:.0}% read and imported", p * 100.0))}
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
    use crate::costs::import::{import_reader, ImportMeta};
    use crate::costs::report::{self, ReportQuery};
    use crate::error::AppError;
    use crate::policy::Permission;
    use crate::state::{AppState, RequestMeta, SessionUser};
    use axum::body::Body;
    use axum::extract::{Query, State};
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::Extension;
    use futures_util::TryStreamExt;

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

    /// Streams the uploaded file into the importer as it arrives: nothing is buffered whole,
    /// and a refused file leaves nothing behind.
    pub async fn upload(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        let html = crate::state::wants_html(&headers);
        let json = crate::state::accept(&headers).starts_with("application/json");
        let result = async {
            if !su.user.can(Permission::ManageCosts) {
                return Err(AppError::Forbidden);
            }
            let declared = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
                return Err(AppError::invalid(format!(
                    "The file is larger than {} GiB.",
                    MAX_UPLOAD_BYTES >> 30
                )));
            }
            let boundary = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|ct| multer::parse_boundary(ct).ok())
                .ok_or_else(|| AppError::invalid("Send the file as a multipart form."))?;
            let constraints = multer::Constraints::new()
                .size_limit(multer::SizeLimit::new().whole_stream(MAX_UPLOAD_BYTES));
            let mut mp =
                multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
            let field = loop {
                match mp.next_field().await {
                    Ok(Some(f)) if f.name() == Some("file") => break f,
                    Ok(Some(_)) => continue,
                    Ok(None) => return Err(AppError::invalid("Choose a cost file to import.")),
                    Err(e) => {
                        return Err(AppError::invalid(format!(
                            "The upload could not be read: {e}"
                        )))
                    }
                }
            };
            let file_name = display_name(field.file_name());
            let stream = field.map_err(|e| std::io::Error::other(e.to_string()));
            let reader =
                tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
            let report = import_reader(
                &state.db,
                reader,
                ImportMeta {
                    file_name,
                    total_bytes: declared,
                    ctx: crate::state::audit_ctx_for(&state, &meta, Some(&su.user)),
                },
                |_| {},
            )
            .await
            .map_err(AppError::from)?;
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

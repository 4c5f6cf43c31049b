//! How an error reaches a browser: the one place that turns an `AppError` response of a plain
//! route into what a person sees. Scripts keep the JSON (`AppError: IntoResponse`); a page a
//! browser navigated to becomes an HTML error page with the same status; a form sent without
//! JavaScript goes back to the page it came from with `?error=<message>`, which the page shows.
//! Successes of plain routes answer through `done`.

use crate::context::wants_html;
use crate::error::{AppError, Back, Failed};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

/// The middleware (inside the policy guard, around every plain route).
pub async fn error_reply(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    if !wants_html(h) {
        return next.run(req).await;
    }
    let form_post = req.method() == Method::POST
        && h.get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.starts_with("application/x-www-form-urlencoded")
                    || v.starts_with("multipart/form-data")
            });
    // Only the header is kept: the path is worked out when there is an error to send back.
    let referer = h.get(header::REFERER).cloned();
    let res = next.run(req).await;
    let Some(Failed(e)) = res.extensions().get::<Failed>().cloned() else {
        return res;
    };
    let from = referer
        .as_ref()
        .and_then(|r| r.to_str().ok())
        .and_then(|r| referer_path(r, &st.security.public_origin));
    let back = from.or_else(|| res.extensions().get::<Back>().map(|b| b.0.clone()));
    match back {
        // A refused body was not read: answer with the status itself, not a redirect the
        // browser may never see.
        Some(back) if form_post && e.status() != 413 => {
            see_other(&with_param(&back, "error", &e.to_string()))
        }
        back => error_page(&e, back.as_deref().unwrap_or("/")),
    }
}

/// A plain route's success: a browser's form goes to `to` with the message (`imported=`), a
/// script asking for JSON gets `201 {"location", "message"}`, anything else `200` and the text.
/// (Errors answer through `AppError: IntoResponse`.)
pub fn done(headers: &http::HeaderMap, to: &str, msg: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let location = with_param(to, "imported", msg);
    if wants_html(headers) {
        axum::response::Redirect::to(&location).into_response()
    } else if crate::context::accept(headers).starts_with("application/json") {
        (
            http::StatusCode::CREATED,
            axum::Json(serde_json::json!({ "location": location, "message": msg })),
        )
            .into_response()
    } else {
        (http::StatusCode::OK, msg.to_string()).into_response()
    }
}

/// A CSV file as a download (`attachment`, ASCII-safe file name).
pub fn csv_attachment(name: &str, body: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = http::HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(http::header::CONTENT_DISPOSITION, v);
    }
    r
}

/// `path` with `key=value` added to its query.
/// An upload kept for its mapping step: on to the step at `to` (a browser follows a redirect;
/// a script asking for JSON gets 202 with the location and the upload's token).
pub fn mapping_step(headers: &http::HeaderMap, to: &str, token: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    if crate::context::accept(headers).starts_with("application/json") {
        (
            http::StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "location": to, "token": token })),
        )
            .into_response()
    } else {
        axum::response::Redirect::to(to).into_response()
    }
}

pub fn with_param(path: &str, key: &str, value: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{key}={}", crate::util::urlencode(value))
}

pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => AppError::internal("an unsendable redirect location").into_response(),
    }
}

/// The page a `Referer` names (same origin only), without a previous error.
pub fn referer_path(referer: &str, origin: &str) -> Option<String> {
    let path = referer.strip_prefix(origin)?;
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

/// A small standalone page: the message, the status, a way back (no scripts, no inline style).
pub fn error_page(e: &AppError, back: &str) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match e.status() {
        401 => "Please sign in",
        403 => "Not allowed",
        404 => "Not found",
        408 => "Upload stalled",
        413 => "Too large",
        415 => "File type refused",
        422 => "Please check the form",
        429 => "Too many attempts",
        _ => "Something went wrong",
    };
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{t} · Steward</title>\
         <link rel=\"stylesheet\" href=\"{css}\"></head><body><main class=\"content\" id=\"main\">\
         <h1>{t}</h1><p class=\"error\" role=\"alert\">{m}</p><p><a href=\"{b}\">Back</a></p></main></body></html>",
        t = esc(title),
        m = esc(&e.to_string()),
        b = esc(back),
        css = crate::assets::get().stylesheet
    );
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    r.extensions_mut().insert(Failed(e.clone()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referer_must_be_this_site() {
        let r = "http://s.test/evidence/new?control=3&error=old";
        assert_eq!(
            referer_path(r, "http://s.test").as_deref(),
            Some("/evidence/new?control=3")
        );
        assert_eq!(referer_path(r, "http://other.test"), None);
    }

    #[test]
    fn params_are_added_and_encoded() {
        assert_eq!(
            with_param("/costs", "error", "a b&c"),
            "/costs?error=a%20b%26c"
        );
        assert_eq!(with_param("/x?y=1", "error", "z"), "/x?y=1&error=z");
    }
}

//! The browser bundle served from memory, as a static file server would: the files of
//! `<site>/pkg` and their build-time `.br`/`.gz` variants are read once at start, and each
//! request picks a variant by `Accept-Encoding` and sends shared bytes. No file system,
//! session, nonce or database on this path (it sits outside the request stack), so it runs
//! at the speed of the socket. (tower-http's `ServeDir` opened and read files through the
//! blocking pool on every request: 1.7k req/s for the stylesheet, against 99k for the icon
//! served from memory.) A new build needs a restart, as the pages' names do.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// The largest file loaded (the wasm module is under 2 MiB; anything far larger in the folder
/// is not part of the bundle).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One file and its variants.
struct Entry {
    content_type: HeaderValue,
    identity: axum::body::Bytes,
    gzip: Option<axum::body::Bytes>,
    br: Option<axum::body::Bytes>,
    /// `immutable` for content-hashed names, else `no-cache` (revalidated with the ETag).
    cache: HeaderValue,
    etag: HeaderValue,
}

#[derive(Default)]
pub struct Bundle {
    files: HashMap<String, Entry>,
}

impl Bundle {
    /// Reads the regular files of `pkg` (a missing folder: an empty bundle).
    pub fn load(pkg: &std::path::Path) -> Bundle {
        let mut files = HashMap::new();
        let Ok(dir) = std::fs::read_dir(pkg) else {
            return Bundle::default();
        };
        let read = |name: &str| -> Option<axum::body::Bytes> {
            let p = pkg.join(name);
            let meta = std::fs::metadata(&p).ok()?;
            (meta.is_file() && meta.len() <= MAX_FILE_BYTES)
                .then(|| std::fs::read(&p).ok().map(axum::body::Bytes::from))
                .flatten()
        };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".gz") || name.ends_with(".br") || name.contains(".tmp") {
                continue;
            }
            let Some(identity) = read(&name) else {
                continue;
            };
            let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&identity))[..16]);
            let cache = if app::assets::is_hashed_name(&name) {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            files.insert(
                name.clone(),
                Entry {
                    content_type: HeaderValue::from_static(content_type(&name)),
                    gzip: read(&format!("{name}.gz")),
                    br: read(&format!("{name}.br")),
                    identity,
                    cache: HeaderValue::from_static(cache),
                    etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
                },
            );
        }
        Bundle { files }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Which of `br`, `gzip`, identity the client prefers among those at hand (highest q; on a
/// tie the smaller: br, then gzip). `q=0` refuses; `*` stands for anything not named.
fn choose(accept: Option<&str>, has_br: bool, has_gzip: bool) -> Option<&'static str> {
    let accept = accept?;
    let (mut br, mut gzip, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let q_br = br.or(star).filter(|_| has_br).unwrap_or(0.0);
    let q_gz = gzip.or(star).filter(|_| has_gzip).unwrap_or(0.0);
    if q_br > 0.0 && q_br >= q_gz {
        Some("br")
    } else if q_gz > 0.0 {
        Some("gzip")
    } else {
        None
    }
}

async fn serve(
    State(bundle): State<Arc<Bundle>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(e) = bundle.files.get(&file) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-cache")],
            "not found",
        )
            .into_response();
    };
    let mut h = HeaderMap::with_capacity(6);
    h.insert(header::CONTENT_TYPE, e.content_type.clone());
    h.insert(header::CACHE_CONTROL, e.cache.clone());
    h.insert(header::ETAG, e.etag.clone());
    if e.br.is_some() || e.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == e.etag || t.trim() == "*"));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let chosen = choose(accept, e.br.is_some(), e.gzip.is_some()).and_then(|enc| {
        let variant = if enc == "br" { &e.br } else { &e.gzip };
        variant.clone().map(|bytes| (enc, bytes))
    });
    let body = match chosen {
        Some((enc, bytes)) => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
            bytes
        }
        None => e.identity.clone(),
    };
    (StatusCode::OK, h, Body::from(body)).into_response()
}

/// `/pkg/{file}` from memory.
pub fn router<S: Clone + Send + Sync + 'static>(site_root: &std::path::Path) -> Router<S> {
    let bundle = Arc::new(Bundle::load(&site_root.join("pkg")));
    Router::new()
        .route("/pkg/{file}", get(serve))
        .with_state(bundle)
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn the_preferred_encoding_at_hand_is_chosen() {
        assert_eq!(choose(None, true, true), None);
        assert_eq!(choose(Some("gzip, deflate, br"), true, true), Some("br"));
        assert_eq!(choose(Some("gzip, deflate, br"), false, true), Some("gzip"));
        assert_eq!(choose(Some("br;q=0.5, gzip"), true, true), Some("gzip"));
        assert_eq!(choose(Some("br;q=0, gzip;q=0"), true, true), None);
        assert_eq!(choose(Some("identity"), true, true), None);
        assert_eq!(choose(Some("*"), true, true), Some("br"));
        assert_eq!(choose(Some("*;q=0.2, br;q=0"), true, true), Some("gzip"));
        assert_eq!(choose(Some("GZIP"), true, true), Some("gzip"));
        assert_eq!(choose(Some(";;,q=,br;q=x"), true, false), Some("br"));
    }
}

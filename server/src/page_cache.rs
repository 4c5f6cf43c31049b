//! Rendered pages kept in memory: a page its route declares `cached` (`policy::Endpoint`) is
//! a function of the signed-in user, its URL and the data's version (`context::DataVersion`:
//! the audit chain's head and the minute), so a repeat is answered with the HTML rendered the
//! first time, with a new CSP nonce in place of the old one. Any change anywhere moves the
//! version and empties the cache; so does a new minute.
//!
//! Bounded: pages of one version only, at most `MAX_PAGES` of them and `MAX_BYTES` in all;
//! a larger page is sent but not kept.

use crate::middleware::matched;
use crate::ServerState;
use app::context::{DataVersion, SessionUser};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const MAX_PAGES: usize = 512;
const MAX_BYTES: usize = 32 * 1024 * 1024;
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// A page's HTML cut where its nonce stood.
struct Page {
    content_type: HeaderValue,
    parts: Vec<Bytes>,
    len: usize,
}

#[derive(Default)]
struct Inner {
    version: Option<DataVersion>,
    pages: HashMap<(i64, String), Arc<Page>>,
    bytes: usize,
}

#[derive(Default)]
pub struct PageCache(Mutex<Inner>);

impl PageCache {
    fn get(&self, version: DataVersion, key: &(i64, String)) -> Option<Arc<Page>> {
        let inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if inner.version != Some(version) {
            return None;
        }
        inner.pages.get(key).cloned()
    }

    fn put(&self, version: DataVersion, key: (i64, String), page: Page) {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match inner.version {
            // A slower request that began before a change must not bring older pages back.
            Some(v) if (v.seq, v.minute) > (version.seq, version.minute) => return,
            Some(v) if v == version => {}
            _ => {
                inner.pages.clear();
                inner.bytes = 0;
                inner.version = Some(version);
            }
        }
        // Full: make room by dropping arbitrary pages (a flood of distinct URLs must not keep
        // everyone else's pages out until the version moves).
        while !inner.pages.is_empty()
            && (inner.pages.len() >= MAX_PAGES || inner.bytes + page.len > MAX_BYTES)
        {
            let Some(k) = inner.pages.keys().next().cloned() else {
                break;
            };
            if let Some(old) = inner.pages.remove(&k) {
                inner.bytes -= old.len;
            }
        }
        inner.bytes += page.len;
        if let Some(old) = inner.pages.insert(key, Arc::new(page)) {
            inner.bytes -= old.len;
        }
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Middleware, inside the guard (which resolved the user and the version).
pub async fn layer(State(st): State<ServerState>, req: Request, next: Next) -> Response {
    let cacheable = req.method() == Method::GET && matched(&req).is_some_and(|e| e.cached);
    let user = req.extensions().get::<SessionUser>().map(|s| s.user.id);
    let version = req.extensions().get::<DataVersion>().copied();
    let (true, Some(user), Some(version)) = (cacheable, user, version) else {
        return next.run(req).await;
    };
    let url = req.uri().path_and_query().map_or_else(
        || req.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let key = (user, url);
    if let Some(page) = st.pages.get(version, &key) {
        return answer(&page);
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
        return res;
    }
    let nonce = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .and_then(nonce_of)
        .map(str::to_string);
    let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
    let (Some(nonce), Some(content_type)) = (nonce, content_type) else {
        return res;
    };
    let (head, body) = res.into_parts();
    let html = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "page body could not be read");
            return Response::from_parts(head, Body::empty());
        }
    };
    if html.len() <= MAX_PAGE_BYTES {
        let parts = split(&html, nonce.as_bytes());
        st.pages.put(
            version,
            key,
            Page {
                content_type,
                parts,
                len: html.len(),
            },
        );
    }
    Response::from_parts(head, Body::from(html))
}

/// The page again, with this response's nonce.
fn answer(page: &Page) -> Response {
    let nonce = hex::encode(app::util::random_bytes::<16>());
    let mut html = Vec::with_capacity(page.len + page.parts.len() * nonce.len());
    for (i, part) in page.parts.iter().enumerate() {
        if i > 0 {
            html.extend_from_slice(nonce.as_bytes());
        }
        html.extend_from_slice(part);
    }
    let mut res = Response::new(Body::from(html));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, page.content_type.clone());
    if let Ok(v) = HeaderValue::from_str(&app::page_csp(&nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The nonce in a page's CSP (`'nonce-…'`).
fn nonce_of(csp: &str) -> Option<&str> {
    let rest = &csp[csp.find("'nonce-")? + "'nonce-".len()..];
    let nonce = &rest[..rest.find('\'')?];
    (!nonce.is_empty()).then_some(nonce)
}

/// `html` cut at every occurrence of `nonce`.
fn split(html: &Bytes, nonce: &[u8]) -> Vec<Bytes> {
    let mut parts = Vec::new();
    let mut start = 0;
    for at in memchr::memmem::find_iter(html, nonce) {
        parts.push(html.slice(start..at));
        start = at + nonce.len();
    }
    parts.push(html.slice(start..));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(seq: i64, minute: i64) -> DataVersion {
        DataVersion { seq, minute }
    }

    fn page(s: &'static str) -> Page {
        Page {
            content_type: HeaderValue::from_static("text/html"),
            parts: vec![Bytes::from_static(s.as_bytes())],
            len: s.len(),
        }
    }

    #[test]
    fn pages_of_the_current_version_only_and_never_older_ones_back() {
        let c = PageCache::default();
        let k = (1, "/".to_string());
        c.put(v(2, 5), k.clone(), page("two"));
        assert!(c.get(v(2, 5), &k).is_some());
        assert!(c.get(v(2, 6), &k).is_none(), "a new minute");
        assert!(c.get(v(3, 5), &k).is_none(), "the chain moved");
        assert!(c.get(v(2, 5), &(2, "/".into())).is_none(), "another user");
        c.put(v(1, 9), k.clone(), page("one"));
        assert_eq!(c.get(v(2, 5), &k).map(|p| p.len), Some(3));
        c.put(v(3, 5), (1, "/costs".into()), page("three"));
        assert!(c.get(v(2, 5), &k).is_none());
        assert_eq!(c.len(), 1, "older pages went");
    }

    #[test]
    fn the_cache_stays_bounded_and_a_full_one_still_takes_new_pages() {
        let c = PageCache::default();
        for i in 0..MAX_PAGES + 10 {
            c.put(v(1, 1), (i as i64, "/".into()), page("x"));
        }
        assert_eq!(c.len(), MAX_PAGES);
        let k = (-1, "/".to_string());
        c.put(v(1, 1), k.clone(), page("new"));
        assert!(c.get(v(1, 1), &k).is_some(), "room was made");
        assert_eq!(c.len(), MAX_PAGES);
        assert_eq!(c.0.lock().unwrap().bytes, MAX_PAGES - 1 + 3);
    }

    #[test]
    fn the_nonce_is_found_and_replaced_everywhere() {
        let csp = "default-src 'self'; script-src 'nonce-AbC_1-2' 'strict-dynamic'";
        assert_eq!(nonce_of(csp), Some("AbC_1-2"));
        assert_eq!(nonce_of("default-src 'none'"), None);
        let html = Bytes::from_static(b"<a nonce=\"N1\"><b nonce=\"N1\">N");
        let parts = split(&html, b"N1");
        assert_eq!(parts.len(), 3);
        let page = Page {
            content_type: HeaderValue::from_static("text/html"),
            len: html.len(),
            parts,
        };
        let res = answer(&page);
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        let fresh = nonce_of(&csp).unwrap().to_string();
        assert_ne!(fresh, "N1");
        let body = futures_body(res);
        assert_eq!(body, format!("<a nonce=\"{fresh}\"><b nonce=\"{fresh}\">N"));
    }

    fn futures_body(res: Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let b = rt
            .block_on(axum::body::to_bytes(res.into_body(), usize::MAX))
            .unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }
}

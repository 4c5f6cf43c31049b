//! The request path, outermost first: request context (id, client, span, metrics) → security
//! headers → CSRF origin check → session and policy guard → handler.

use crate::ServerState;
use app::auth::session;
use app::context::{DataVersion, RequestMeta, SessionUser};
use app::error::AppError;
use app::policy::{self, Kind};
use app::routes::TABLE;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use std::net::SocketAddr;
use std::time::Instant;
use tracing::Instrument;

/// The policy entry matched once by `request_context`, reused by the inner layers.
#[derive(Clone, Copy)]
struct Matched(Option<&'static policy::Endpoint>);

/// The request's policy entry (matched once, by `request_context`; looked up if it did not run).
pub fn matched(req: &Request) -> Option<&'static policy::Endpoint> {
    match req.extensions().get::<Matched>() {
        Some(m) => m.0,
        None => TABLE.lookup(req.method().as_str(), req.uri().path()),
    }
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn valid_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Gives every request an id (kept from `X-Request-Id` when well-formed), records the client
/// address, runs the rest inside a tracing span carrying the id, and observes metrics.
pub async fn request_context(
    State(st): State<ServerState>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| app::util::random_hex(8));
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client_addr = client_address(peer, req.headers(), &st.app.security.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let headers = req.headers();
    let accepts_html = app::context::wants_html(headers);
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let meta = RequestMeta {
        request_id: request_id.clone(),
        client_addr,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        html_form_post: req.method() == Method::POST && accepts_html && form,
    };
    // Metrics and logs label requests from fixed sets only: a made-up method is "OTHER" and an
    // unknown path "(unmatched)", so no client can grow the series without bound.
    let method = method_label(req.method());
    let path = req.uri().path().to_string();
    let endpoint = TABLE.lookup(req.method().as_str(), &path);
    let route = endpoint.map(|e| e.path).unwrap_or("(unmatched)");
    req.extensions_mut().insert(meta);
    req.extensions_mut().insert(Matched(endpoint));

    let span = tracing::info_span!("request", id = %request_id, method = %method, route = %route);
    let mut res = next.run(req).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = res.status().as_u16();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, path = %path, ms = took.as_millis() as u64, "request failed");
        } else {
            tracing::info!(status, path = %path, ms = took.as_millis() as u64, "request");
        }
    });
    st.metrics.observe(route, method, status, took);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    res
}

/// The method as a metrics label: the standard ones by name, anything else as `OTHER`.
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the right-most
/// `X-Forwarded-For` hop that is not itself a trusted proxy (hops to its left were written by
/// the client and prove nothing). Garbage where a trusted proxy should have written falls
/// back to the peer.
pub fn client_address(
    peer: Option<std::net::IpAddr>,
    headers: &http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`: compare them as IPv4.
    let peer = peer?.to_canonical();
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            tracing::debug!(hop = %hop, "unreadable X-Forwarded-For hop; using the last trusted one");
            return Some(client);
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    hop.parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// Headers for every response. Pages carry their own CSP with a nonce (set while rendering);
/// everything else gets a strict default.
pub async fn security_headers(State(st): State<ServerState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut http::HeaderMap, k: HeaderName, v: &'static str| {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // same-origin: server-function form posts redirect back to their page via Referer.
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if st.app.security.https {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    res
}

/// Headers for static files (`/pkg/…`, the icon), which skip the stack above. The bundle
/// sets its own caching (`crate::statics`); anything else here is revalidated.
pub async fn static_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    res
}

/// Refuses state-changing requests that do not come from Steward's own pages. Leptos server
/// functions have no CSRF protection of their own; this covers them, forms and uploads alike.
pub async fn csrf(State(st): State<ServerState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    match same_origin(req.headers(), &st.app.security.public_origin) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(reason = why, "cross-origin request refused");
            (
                StatusCode::FORBIDDEN,
                format!("Cross-origin request refused: {why}."),
            )
                .into_response()
        }
    }
}

/// Allowed: `Origin` equal to the public origin, or (behind a name the public URL does not
/// use, such as localhost) a browser's `Sec-Fetch-Site: same-origin` with an `Origin` that
/// matches the `Host` it was sent to. Anything else, including no evidence at all, is refused.
pub fn same_origin(headers: &http::HeaderMap, public_origin: &str) -> Result<(), &'static str> {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let fetch_site = get("sec-fetch-site");
    if let Some(site) = fetch_site {
        if site != "same-origin" {
            return Err("the browser reports a cross-site request");
        }
    }
    let Some(raw) = get("origin") else {
        return Err("the request has no Origin header");
    };
    // Compared as parsed origins, so `https://x:443` and `https://X` are `https://x`.
    let Some(origin) = app::util::normalized_origin(raw) else {
        return Err("the Origin header does not match this site");
    };
    if origin == public_origin {
        return Ok(());
    }
    if fetch_site == Some("same-origin") {
        let host = get("host").unwrap_or_default();
        let scheme = origin.split_once("://").map_or("http", |(s, _)| s);
        if !host.is_empty()
            && app::util::normalized_origin(&format!("{scheme}://{host}")).as_deref()
                == Some(origin.as_str())
        {
            return Ok(());
        }
    }
    Err("the Origin header does not match this site")
}

/// Resolves the session and applies the policy table: unknown endpoints are 404 (fail closed),
/// denied ones 401/403 (or a redirect to the sign-in page for pages).
pub async fn guard(State(st): State<ServerState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(ep) = matched(&req) else {
        return if TABLE.path_known(&path) {
            StatusCode::METHOD_NOT_ALLOWED.into_response()
        } else {
            not_found()
        };
    };
    let sec = &st.app.security;
    // Static files and health checks never need the user: no session query for them.
    let token = if ep.kind == Kind::Asset {
        None
    } else {
        session::read_cookie(req.headers(), session::cookie_name(sec))
    };
    // One query tells whether anything changed since the session (and the figures and pages
    // kept for it) were read.
    let version = match &token {
        Some(_) => match st.app.db.head_seq().await {
            Ok(seq) => Some(DataVersion::new(seq, st.app.clock.now())),
            Err(e) => return api_error(&e.into()),
        },
        None => None,
    };
    let su: Option<SessionUser> = match (&token, version) {
        (Some(t), Some(v)) => match session::resolve(&st.app, t, v.seq).await {
            Ok(s) => s,
            Err(e) => return api_error(&e),
        },
        _ => None,
    };
    let role = su.as_ref().map(|s| s.user.role);
    let scrape_ok = matches!(
        ep.access,
        policy::Access::Perm(policy::Permission::ViewMetrics)
    ) && bearer_matches(req.headers(), st.metrics_token.as_deref());
    if !ep.access.allows(role) && !scrape_ok {
        let html_post = req
            .extensions()
            .get::<RequestMeta>()
            .is_some_and(|m| m.html_form_post);
        tracing::info!(path = %path, role = ?role, "access denied");
        return match (ep.kind, su.is_some(), html_post) {
            (Kind::Page, false, _) | (Kind::Api, false, true) => {
                let next_path = match (ep.kind, req.uri().path_and_query()) {
                    (Kind::Page, Some(pq)) => pq.as_str().to_string(),
                    _ => "/".to_string(),
                };
                redirect_to_login(&next_path, token.is_some(), sec)
            }
            (Kind::Page, true, _) => forbidden_page(),
            (_, false, _) => api_error(&AppError::Unauthenticated),
            (_, true, _) => api_error(&AppError::Forbidden),
        };
    }
    // Until someone replaces the password an administrator set, only the account page works.
    if su.as_ref().is_some_and(|s| s.user.must_change_password)
        && ep.kind != Kind::Asset
        && !app::auth::allowed_before_password_change(ep.path)
    {
        let html_post = req
            .extensions()
            .get::<RequestMeta>()
            .is_some_and(|m| m.html_form_post);
        return if ep.kind == Kind::Page || html_post {
            Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, app::auth::MUST_CHANGE_PATH)
                .body(Body::empty())
                .unwrap_or_default()
        } else {
            api_error(&AppError::PasswordChangeRequired)
        };
    }
    let stale_cookie = token.is_some() && su.is_none();
    if let Some(su) = su {
        req.extensions_mut().insert(su);
        if let Some(v) = version {
            req.extensions_mut().insert(v);
        }
    }
    let mut res = next.run(req).await;
    if stale_cookie && !res.headers().contains_key(header::SET_COOKIE) {
        res.headers_mut()
            .append(header::SET_COOKIE, session::clear_session_cookie(sec));
    }
    res
}

fn bearer_matches(headers: &http::HeaderMap, token: Option<&str>) -> bool {
    let (Some(want), Some(got)) = (
        token,
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ")),
    ) else {
        return false;
    };
    // Compare digests so timing says nothing about the token.
    app::util::sha256_hex(want.as_bytes()) == app::util::sha256_hex(got.as_bytes())
}

fn redirect_to_login(next: &str, clear: bool, sec: &app::context::Security) -> Response {
    let target = if next == "/" || next.starts_with("/login") {
        "/login".to_string()
    } else {
        format!("/login?next={}", app::util::urlencode(next))
    };
    let mut res = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, target)
        .body(Body::empty())
        .unwrap_or_default();
    if clear {
        res.headers_mut()
            .append(header::SET_COOKIE, session::clear_session_cookie(sec));
    }
    res
}

pub fn api_error(e: &AppError) -> Response {
    e.clone().into_response()
}

fn forbidden_page() -> Response {
    app::reply::error_page(
        &AppError::Denied(
            "Your role does not give access to this page. Ask an administrator if you need it."
                .into(),
        ),
        "/",
    )
}

pub fn not_found() -> Response {
    app::reply::error_page(
        &AppError::Missing("There is nothing at this address.".into()),
        "/",
    )
}

/// A server function whose arguments cannot be decoded never runs its body, so nothing sets
/// the status and server_fn answers 500 whatever the error. Its body is then the `AppError`
/// (JSON), which knows its own status: an unreadable form is 422, not a server error.
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !api || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(e) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(code) = StatusCode::from_u16(e.status()) {
            parts.status = code;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Request bodies are bounded per endpoint, as its area declared (`policy::Body`): declared
/// lengths are refused up front, streamed bodies stop at the limit. Endpoints that stream
/// their body bound it themselves.
pub async fn body_limit(req: Request, next: Next) -> Response {
    let limit = match matched(&req) {
        Some(ep) => match ep.body_limit() {
            Some(n) => n,
            None => return next.run(req).await,
        },
        None => policy::Body::SMALL_BYTES,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request is larger than {} MiB.", limit / 1024 / 1024),
        )
            .into_response();
    }
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, limit)));
    next.run(req).await
}

#[cfg(test)]
mod tests;

//! The request context every area reads: who is signed in (`CurrentUser`, `SessionUser`),
//! facts about the request (`RequestMeta`) and the security settings it is judged by.
//!
//! A leaf: it knows the policy's vocabulary and the error type, nothing of any area, so areas,
//! `state` and the server's middleware can all depend on it.

use crate::policy::{permissions, Permission, Role};
use serde::{Deserialize, Serialize};

/// The signed-in user, as pages and server functions see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// An administrator set this user's password: until they choose their own, they may only
    /// change it (the server's guard sends every other request to the account page).
    #[serde(default)]
    pub must_change_password: bool,
    /// Unread in-app notifications (the bell): filled by `auth::me` for the page, 0 elsewhere.
    #[serde(default)]
    pub unread: i64,
}

impl CurrentUser {
    pub fn can(&self, p: Permission) -> bool {
        permissions(self.role).contains(&p)
    }
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::CurrentUser;
    use crate::error::AppError;
    use crate::policy::Permission;
    use leptos::prelude::use_context;
    use std::time::Duration;

    /// Security settings derived from the configuration.
    #[derive(Debug, Clone)]
    pub struct Security {
        /// `scheme://host[:port]` that browsers use; state-changing requests must come from it.
        pub public_origin: String,
        /// Whether the public URL is https (Secure cookies, `__Host-` prefix, HSTS).
        pub https: bool,
        pub idle_timeout: Duration,
        pub absolute_timeout: Duration,
        pub throttle: ThrottleConfig,
        /// Reverse proxies whose `X-Forwarded-For` names the client (empty: none).
        pub trusted_proxies: Vec<ipnet::IpNet>,
    }

    impl Security {
        /// Settings for a public origin as `util::normalized_origin` writes it.
        pub fn new(public_origin: String) -> Self {
            let https = url::Url::parse(&public_origin).is_ok_and(|u| u.scheme() == "https");
            Security {
                public_origin,
                https,
                idle_timeout: Duration::from_secs(30 * 60),
                absolute_timeout: Duration::from_secs(8 * 3600),
                throttle: Default::default(),
                trusted_proxies: Vec::new(),
            }
        }
    }

    /// Sign-in limits (`auth::throttle` applies them).
    #[derive(Debug, Clone)]
    pub struct ThrottleConfig {
        pub window: Duration,
        /// Attempts from unknown browsers per account.
        pub per_account: i64,
        /// Attempts from unknown browsers per client address.
        pub per_address: i64,
        /// Attempts per trusted device (its owner mistyping, or someone holding a stolen cookie).
        pub per_device: i64,
    }

    impl Default for ThrottleConfig {
        fn default() -> Self {
            ThrottleConfig {
                window: Duration::from_secs(15 * 60),
                per_account: 5,
                per_address: 20,
                per_device: 10,
            }
        }
    }

    /// Facts about the request, put into its extensions by the server's first middleware.
    #[derive(Debug, Clone, Default)]
    pub struct RequestMeta {
        pub request_id: String,
        pub client_addr: String,
        pub user_agent: Option<String>,
        /// True for a plain HTML form post (no JavaScript): errors then travel in the redirect.
        pub html_form_post: bool,
    }

    /// The signed-in user of this request, put into its extensions by the auth middleware.
    #[derive(Debug, Clone)]
    pub struct SessionUser {
        pub session_id: i64,
        pub user: CurrentUser,
    }

    impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestMeta {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(
            parts: &mut http::request::Parts,
            _: &S,
        ) -> Result<Self, Self::Rejection> {
            Ok(parts
                .extensions
                .get::<RequestMeta>()
                .cloned()
                .unwrap_or_default())
        }
    }

    /// A plain handler's signed-in user (the guard has already checked the policy entry).
    impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SessionUser {
        type Rejection = crate::error::AppError;

        async fn from_request_parts(
            parts: &mut http::request::Parts,
            _: &S,
        ) -> Result<Self, Self::Rejection> {
            parts
                .extensions
                .get::<SessionUser>()
                .cloned()
                .ok_or(crate::error::AppError::Unauthenticated)
        }
    }

    fn parts() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>()
    }

    /// This request's facts (inside a server function or a page).
    pub fn request_meta() -> RequestMeta {
        parts()
            .and_then(|p| p.extensions.get::<RequestMeta>().cloned())
            .unwrap_or_default()
    }

    /// What the data a request sees is computed from: the audit chain's head when the request
    /// began (every change writes an audit event in its own transaction, whichever process
    /// makes it: `db::WriteTx::commit` refuses one without) and the minute (views that count by
    /// the clock — due dates, 24-hour windows, month to date — move with it). The guard puts it
    /// into every signed-in request's extensions; caches of sessions, figures and pages key on
    /// it, so a change is seen by the next request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DataVersion {
        pub seq: i64,
        pub minute: i64,
    }

    impl DataVersion {
        pub fn new(seq: i64, now: time::OffsetDateTime) -> Self {
            DataVersion {
                seq,
                // Minutes since the epoch in UTC: the day is part of it.
                minute: now.unix_timestamp().div_euclid(60),
            }
        }
    }

    /// This request's data version (set by the server's guard for signed-in requests).
    pub fn data_version() -> Option<DataVersion> {
        parts().and_then(|p| p.extensions.get::<DataVersion>().copied())
    }

    pub fn session_user() -> Option<SessionUser> {
        parts().and_then(|p| p.extensions.get::<SessionUser>().cloned())
    }

    /// The signed-in user; the server's guard has already applied the endpoint's policy entry.
    pub fn require_user() -> Result<SessionUser, AppError> {
        session_user().ok_or(AppError::Unauthenticated)
    }

    /// The signed-in user, who must hold `p`: server functions check again, so they never
    /// rely on routing alone.
    pub fn require(p: Permission) -> Result<SessionUser, AppError> {
        let su = require_user()?;
        if su.user.can(p) {
            Ok(su)
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn request_headers() -> http::HeaderMap {
        parts().map(|p| p.headers).unwrap_or_default()
    }

    pub fn set_response_header(name: http::HeaderName, value: http::HeaderValue) {
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.append_header(name, value);
        }
    }

    /// The request's `Accept` header ("" when absent or not text).
    pub fn accept(h: &http::HeaderMap) -> &str {
        h.get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Whether a browser navigates (the reply is a page or a redirect), not a script.
    pub fn wants_html(h: &http::HeaderMap) -> bool {
        accept(h).contains("text/html")
    }
}

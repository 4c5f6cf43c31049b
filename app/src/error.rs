//! The error type of the application layer: what server functions and plain routes return and
//! what pages show. Internal causes are logged on the server with a reference; users see a
//! clear message.
//!
//! One wire shape everywhere (server functions and plain routes alike):
//! `{"error": "<message>", "kind": "invalid", "status": 422, "reference": null}`.
//! On the server, `AppError: IntoResponse` answers that JSON with its status and marks the
//! response (`Failed`), so the server's `error_reply` layer can answer a browser instead with
//! an HTML page, or a no-JS form with a redirect back carrying the message.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// Bad input; the message names the field and the reason.
    #[error("{0}")]
    Invalid(String),
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// Forbidden, with the reason (e.g. which control the user does not own).
    #[error("{0}")]
    Denied(String),
    #[error("Not found.")]
    NotFound,
    /// Not found, saying what was looked for.
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Conflict(String),
    /// A body or file over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// A file of a type that is not accepted.
    #[error("{0}")]
    Unsupported(String),
    /// A client that stopped sending.
    #[error("{0}")]
    Stalled(String),
    /// An administrator set this user's password; they must choose their own first.
    #[error("Choose your own password first: an administrator set the current one.")]
    PasswordChangeRequired,
    #[error("Too many attempts. Try again in {minutes} minute(s).")]
    Throttled { minutes: u32 },
    /// Stored data that failed its integrity check (and was not served).
    #[error("{0}")]
    Damaged(String),
    /// Something failed on the server; the reference finds the log line.
    #[error("Something went wrong on the server (reference {0}).")]
    Internal(String),
    /// Transport-level problems (network, decoding).
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        AppError::Invalid(msg.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden | AppError::Denied(_) | AppError::PasswordChangeRequired => 403,
            AppError::NotFound | AppError::Missing(_) => 404,
            AppError::Stalled(_) => 408,
            AppError::Conflict(_) => 409,
            AppError::TooLarge(_) => 413,
            AppError::Unsupported(_) => 415,
            AppError::Throttled { .. } => 429,
            AppError::Damaged(_) | AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }

    /// The machine-readable kind in the wire shape.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Denied(_) => "denied",
            AppError::NotFound => "not_found",
            AppError::Missing(_) => "missing",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "too_large",
            AppError::Unsupported(_) => "unsupported",
            AppError::Stalled(_) => "stalled",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Throttled { .. } => "throttled",
            AppError::Damaged(_) => "damaged",
            AppError::Internal(_) => "internal",
            AppError::Transport(_) => "transport",
        }
    }
}

/// The wire shape (see the module comment).
#[derive(Serialize, Deserialize)]
struct Wire {
    error: String,
    kind: String,
    #[serde(default)]
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_minutes: Option<u32>,
}

impl Serialize for AppError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            error: self.to_string(),
            kind: self.kind().into(),
            status: self.status(),
            reference: match self {
                AppError::Internal(r) => Some(r.clone()),
                _ => None,
            },
            retry_minutes: match self {
                AppError::Throttled { minutes } => Some(*minutes),
                _ => None,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for AppError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(match w.kind.as_str() {
            "invalid" => AppError::Invalid(w.error),
            "unauthenticated" => AppError::Unauthenticated,
            "forbidden" => AppError::Forbidden,
            "denied" => AppError::Denied(w.error),
            "not_found" => AppError::NotFound,
            "missing" => AppError::Missing(w.error),
            "conflict" => AppError::Conflict(w.error),
            "too_large" => AppError::TooLarge(w.error),
            "unsupported" => AppError::Unsupported(w.error),
            "stalled" => AppError::Stalled(w.error),
            "password_change_required" => AppError::PasswordChangeRequired,
            "throttled" => AppError::Throttled {
                minutes: w.retry_minutes.unwrap_or(1),
            },
            "damaged" => AppError::Damaged(w.error),
            "internal" => AppError::Internal(w.reference.unwrap_or_default()),
            // Unknown kinds (a newer server) keep their message.
            _ => AppError::Transport(w.error),
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::Invalid(format!("The form could not be read: {m}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::{Back, Failed};

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use axum::response::{IntoResponse, Response};

    impl AppError {
        /// Logs an internal error with a short reference and returns the user-facing error.
        pub fn internal(err: impl std::fmt::Display) -> Self {
            let reference = crate::util::random_hex(4);
            tracing::error!(reference = %reference, error = %err, "internal error");
            AppError::Internal(reference)
        }

        /// The response, naming the page a no-JS form goes back to with the message.
        pub fn back_to(self, page: &str) -> Response {
            let mut r = self.into_response();
            r.extensions_mut().insert(Back(page.to_string()));
            r
        }
    }

    /// Marks a response as an `AppError`'s, for the server's `error_reply` layer.
    #[derive(Debug, Clone)]
    pub struct Failed(pub AppError);

    /// Where a no-JS form goes back to after an error (default: the page it was sent from).
    #[derive(Debug, Clone)]
    pub struct Back(pub String);

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status = http::StatusCode::from_u16(self.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, axum::Json(&self)).into_response();
            r.extensions_mut().insert(Failed(self));
            r
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> Self {
            AppError::internal(format!("database: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_round_trips_through_the_one_wire_shape() {
        for e in [
            AppError::invalid("Title: required."),
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::Denied("You do not own AC-2.".into()),
            AppError::NotFound,
            AppError::Missing("Evidence #4 does not exist.".into()),
            AppError::Conflict("taken".into()),
            AppError::TooLarge("over 1 GiB".into()),
            AppError::Unsupported("an executable".into()),
            AppError::Stalled("nothing for 60 s".into()),
            AppError::PasswordChangeRequired,
            AppError::Throttled { minutes: 7 },
            AppError::Damaged("evidence #3 changed".into()),
            AppError::Internal("ab12cd34".into()),
            AppError::Transport("offline".into()),
        ] {
            let v = serde_json::to_value(&e).unwrap();
            assert_eq!(v["error"], e.to_string());
            assert_eq!(v["status"], e.status());
            assert_eq!(v["kind"], e.kind());
            let back: AppError = serde_json::from_value(v).unwrap();
            assert_eq!(back, e);
        }
        let v = serde_json::to_value(AppError::Internal("ab12cd34".into())).unwrap();
        assert_eq!(v["reference"], "ab12cd34");
    }
}

//! The error type of the application layer: what server functions return and what pages show.
//! Internal causes are logged on the server with a reference; users see a clear message.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input; the message names the field and the reason.
    #[error("{0}")]
    Invalid(String),
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// An administrator set this user's password; they must choose their own first.
    #[error("Choose your own password first: an administrator set the current one.")]
    PasswordChangeRequired,
    #[error("Too many attempts. Try again in {minutes} minute(s).")]
    Throttled { minutes: u32 },
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
            AppError::Forbidden | AppError::PasswordChangeRequired => 403,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::Throttled { .. } => 429,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
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
mod ssr {
    use super::AppError;

    impl AppError {
        /// Logs an internal error with a short reference and returns the user-facing error.
        pub fn internal(err: impl std::fmt::Display) -> Self {
            let reference = crate::util::random_hex(4);
            tracing::error!(reference = %reference, error = %err, "internal error");
            AppError::Internal(reference)
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> Self {
            AppError::internal(format!("database: {e}"))
        }
    }
}

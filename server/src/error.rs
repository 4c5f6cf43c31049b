//! The server layer's error type: start-up, configuration and command-line failures.

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    App(#[from] app::error::AppError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

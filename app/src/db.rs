//! Database plumbing shared by every area: one `Any` pool for SQLite or PostgreSQL, the
//! per-dialect migrations, and `WriteTx`, the only way to change business data: it serialises
//! writers on the audit chain head and refuses to commit without an audit event.

use crate::audit::chain::{self, NewEvent};
use crate::error::AppError;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(format!(
                "unsupported DATABASE_URL scheme in '{}': use sqlite://FILE or postgres://…",
                redact_url(url)
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

/// Hides a password in a connection URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    if let Ok(mut u) = url::Url::parse(url) {
        if u.password().is_some() && u.set_password(Some("***")).is_ok() {
            return u.to_string();
        }
        if u.password().is_none() {
            return url.to_string();
        }
    }
    // Unparsable: hide everything that could be credentials.
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact_url("postgres://steward:s3cret@db.internal/steward"),
            "postgres://steward:***@db.internal/steward"
        );
        assert_eq!(
            redact_url("sqlite://data/steward.db"),
            "sqlite://data/steward.db"
        );
        for odd in [
            "a@b://x",
            "postgres://u:p@ss:w@rd@h/db",
            "postgres://:pw@h",
            "x://@",
            "@://",
        ] {
            let r = redact_url(odd);
            assert!(!r.contains("pw") && !r.contains("p@ss"), "{odd} -> {r}");
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
}

impl Db {
    /// Connects (creating the SQLite file and its folder when missing). Does not migrate.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url).map_err(|e| sqlx::Error::Configuration(e.into()))?;
        let mut url = url.to_string();
        let opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let opts = match dialect {
            Dialect::Sqlite => {
                // Before any connection opens: every connection gets the bulk-insert function.
                crate::bulk::install();
                if let Some(path) = sqlite_path(&url) {
                    if let Some(parent) = std::path::Path::new(&path).parent() {
                        if !parent.as_os_str().is_empty() {
                            std::fs::create_dir_all(parent).map_err(|e| {
                                sqlx::Error::Configuration(
                                    format!("cannot create {}: {e}", parent.display()).into(),
                                )
                            })?;
                        }
                    }
                    if !url.contains("mode=") {
                        url.push(if url.contains('?') { '&' } else { '?' });
                        url.push_str("mode=rwc");
                    }
                }
                // 16 KiB pages for a new database (an existing one keeps its size): cost data
                // arrives in millions of rows, and every page is one WAL frame and one write
                // at checkpoint. WAL for concurrent readers; FULL sync because the audit trail
                // must survive power loss; writers wait rather than fail while another commits.
                opts.max_connections(8).after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA page_size = 16384; \
                             PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
            }
            Dialect::Postgres => opts.max_connections(16).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET TIME ZONE 'UTC'").await?;
                    Ok(())
                })
            }),
        };
        let pool = opts.connect(&url).await?;
        Ok(Db { pool, dialect })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn migrator(&self) -> &'static Migrator {
        migrator(self.dialect)
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        self.migrator().run(&self.pool).await
    }

    /// Whether every migration this build knows is applied (for `/readyz`).
    pub async fn migrations_current(&self) -> Result<bool, sqlx::Error> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = $1")
                .bind(true)
                .fetch_all(&self.pool)
                .await?;
        Ok(self.migrator().iter().all(|m| applied.contains(&m.version)))
    }

    /// Begins a business write. The chain head is locked first, so writers queue here (one at a
    /// time, so the audit chain cannot fork) and SQLite takes its write lock up front.
    pub async fn write(&self) -> Result<WriteTx, AppError> {
        let mut tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Dialect::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        };
        let (seq, hash): (i64, String) = sqlx::query_as(sql).fetch_one(&mut *tx).await?;
        Ok(WriteTx {
            tx,
            head_seq: seq,
            head_hash: hash,
            events: 0,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub fn migrator(dialect: Dialect) -> &'static Migrator {
    match dialect {
        Dialect::Sqlite => &SQLITE_MIGRATIONS,
        Dialect::Postgres => &POSTGRES_MIGRATIONS,
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// A write transaction that must record at least one audit event before it commits.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    head_seq: i64,
    head_hash: String,
    events: usize,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The chain head as this transaction will leave it: its last event's number and hash.
    pub fn head(&self) -> (i64, &str) {
        (self.head_seq, &self.head_hash)
    }

    /// Appends an event to the chain inside this transaction.
    pub async fn audit(&mut self, ev: NewEvent) -> Result<i64, AppError> {
        let seq = self.head_seq + 1;
        let hash = chain::insert(&mut self.tx, seq, &self.head_hash, &ev).await?;
        self.head_seq = seq;
        self.head_hash = hash;
        self.events += 1;
        Ok(seq)
    }

    pub async fn commit(mut self) -> Result<(), AppError> {
        if self.events == 0 {
            // A change without an audit event is a bug; the rollback happens on drop.
            return Err(AppError::internal(
                "write transaction committed without an audit event",
            ));
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(self.head_seq)
            .bind(&self.head_hash)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

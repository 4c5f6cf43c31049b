//! Database plumbing shared by every area: one `Any` pool for SQLite or PostgreSQL, the
//! per-dialect migrations, and `WriteTx`, the only way to change business data: it serialises
//! writers on the audit chain head and refuses to commit without an audit event.
//!
//! Bulk writers that need a dialect's own protocol (PostgreSQL `COPY`) get a `NativeWriteTx`:
//! the same lock and audit rules on a native connection. Statements that must run on either
//! kind of connection (the audit chain, the cost writer) go through the small `Sql` trait.

use crate::audit::chain::{self, NewEvent};
use crate::error::AppError;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Database, Executor, Postgres, Row, Transaction};
use std::future::Future;
use std::pin::Pin;
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
/// `($1, $2), ($3, $4)…`: the VALUES of a multi-row INSERT of `rows` rows of `cols` values,
/// bound in row order.
pub fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

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
    use super::{placeholders, redact_url};

    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(1, 1), "($1)");
        assert_eq!(placeholders(0, 4), "");
    }

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
    /// PostgreSQL only: native connections for `COPY` (connected on first use).
    native_pg: Option<PgPool>,
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
        let native_pg = match dialect {
            Dialect::Sqlite => None,
            // Few connections: only bulk writers use them, and writers queue on the chain head.
            // Never reused: a write cancelled mid-COPY (a dropped import) leaves its connection
            // in the middle of the protocol, and sqlx would hand it to the next writer.
            Dialect::Postgres => Some(
                PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_release(|_, _| Box::pin(async { Ok(false) }))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET TIME ZONE 'UTC'").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&url)?,
            ),
        };
        Ok(Db {
            pool,
            dialect,
            native_pg,
        })
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
        if self.dialect == Dialect::Postgres {
            return self.migrator().run(&self.pool).await;
        }
        // SQLite alters a constraint by rebuilding the table, which needs foreign keys off
        // (dropping the old table would cascade otherwise); they cannot change inside the
        // migration's transaction, so on one connection, around the whole run, checked after.
        let mut conn = self.pool.acquire().await?;
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let ran = self.migrator().run(&mut *conn).await;
        let broken: Result<Vec<(String,)>, sqlx::Error> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&mut *conn)
                .await;
        let on = sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await;
        if on.is_err() {
            // Never back into the pool with foreign keys off.
            drop(conn.detach());
        }
        ran?;
        on?;
        match broken? {
            b if b.is_empty() => Ok(()),
            b => Err(sqlx::migrate::MigrateError::Execute(sqlx::Error::Protocol(
                format!("foreign keys broken after migrating, in {b:?}"),
            ))),
        }
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

    /// The audit chain's head: the version of everything (`context::DataVersion`).
    pub async fn head_seq(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
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
        Ok(WriteTx::new(tx, seq, hash))
    }

    /// Begins a business write on a connection of the dialect's own driver where a bulk
    /// writer needs one (PostgreSQL: `COPY`), else as `write`. Same queueing, same audit rule.
    pub async fn write_native(&self) -> Result<NativeWriteTx, AppError> {
        match &self.native_pg {
            None => Ok(NativeWriteTx::Any(self.write().await?)),
            Some(pg) => {
                let mut tx = pg.begin().await?;
                let (seq, hash): (i64, String) =
                    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
                        .fetch_one(&mut *tx)
                        .await?;
                Ok(NativeWriteTx::Postgres(WriteTx::new(tx, seq, hash)))
            }
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(pg) = &self.native_pg {
            pg.close().await;
        }
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

/// A write transaction that must record at least one audit event before it commits. `DB` is
/// `Any` everywhere but in bulk writers (`NativeWriteTx`).
pub struct WriteTx<DB: Database = Any> {
    tx: Transaction<'static, DB>,
    head_seq: i64,
    head_hash: String,
    events: usize,
}

impl<DB: Database> WriteTx<DB>
where
    DB::Connection: Sql,
{
    fn new(tx: Transaction<'static, DB>, head_seq: i64, head_hash: String) -> Self {
        WriteTx {
            tx,
            head_seq,
            head_hash,
            events: 0,
        }
    }

    pub fn conn(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }

    /// The chain head as this transaction will leave it: its last event's number and hash.
    pub fn head(&self) -> (i64, &str) {
        (self.head_seq, &self.head_hash)
    }

    /// Appends an event to the chain inside this transaction.
    pub async fn audit(&mut self, ev: NewEvent) -> Result<i64, AppError> {
        let seq = self.head_seq + 1;
        let hash = chain::insert(&mut *self.tx, seq, &self.head_hash, &ev).await?;
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
        let conn: &mut DB::Connection = &mut self.tx;
        conn.execute_args(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[Arg::Int(self.head_seq), Arg::Text(&self.head_hash)],
        )
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// A `WriteTx` on the connection kind a bulk writer wants: `Any` (SQLite, whose bulk path is
/// `crate::bulk`) or a native PostgreSQL connection (for `COPY`).
pub enum NativeWriteTx {
    Any(WriteTx<Any>),
    Postgres(WriteTx<Postgres>),
}

impl NativeWriteTx {
    /// The connection, for statements written once for both kinds.
    pub fn sql(&mut self) -> &mut dyn Sql {
        match self {
            NativeWriteTx::Any(w) => w.conn(),
            NativeWriteTx::Postgres(w) => w.conn(),
        }
    }

    pub async fn audit(&mut self, ev: NewEvent) -> Result<i64, AppError> {
        match self {
            NativeWriteTx::Any(w) => w.audit(ev).await,
            NativeWriteTx::Postgres(w) => w.audit(ev).await,
        }
    }

    pub async fn commit(self) -> Result<(), AppError> {
        match self {
            NativeWriteTx::Any(w) => w.commit().await,
            NativeWriteTx::Postgres(w) => w.commit().await,
        }
    }
}

/// A value bound to a `Sql` statement.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

pub type SqlFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'a>>;

/// Statements written once for the `Any` connection and a native PostgreSQL one (sqlx's
/// typed queries are per database; these few shapes are all the shared writers need).
pub trait Sql: Send {
    /// Runs a statement; returns the rows affected.
    fn execute_args<'a>(&'a mut self, sql: &'a str, args: &'a [Arg<'a>]) -> SqlFuture<'a, u64>;
    /// Every row of a query whose columns are all integers (NULL as `None`).
    fn fetch_ints<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Arg<'a>],
    ) -> SqlFuture<'a, Vec<Vec<Option<i64>>>>;
}

/// A query with `Arg`s bound in order (both dialects, both `Sql` methods).
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match *a {
                Arg::Int(v) => q.bind(v),
                Arg::OptInt(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::OptText(v) => q.bind(v),
            };
        }
        q
    }};
}

macro_rules! impl_sql {
    ($conn:ty, $db:ty) => {
        impl Sql for $conn {
            fn execute_args<'a>(
                &'a mut self,
                sql: &'a str,
                args: &'a [Arg<'a>],
            ) -> SqlFuture<'a, u64> {
                Box::pin(async move {
                    let q = bind_args!(sqlx::query::<$db>(sql), args);
                    Ok(q.execute(&mut *self).await?.rows_affected())
                })
            }

            fn fetch_ints<'a>(
                &'a mut self,
                sql: &'a str,
                args: &'a [Arg<'a>],
            ) -> SqlFuture<'a, Vec<Vec<Option<i64>>>> {
                Box::pin(async move {
                    let q = bind_args!(sqlx::query::<$db>(sql), args);
                    let rows = q.fetch_all(&mut *self).await?;
                    rows.iter()
                        .map(|r| {
                            (0..r.len())
                                .map(|i| r.try_get::<Option<i64>, _>(i))
                                .collect()
                        })
                        .collect()
                })
            }
        }
    };
}

impl_sql!(AnyConnection, Any);
impl_sql!(PgConnection, Postgres);

/// Shorthands over `Sql::fetch_ints`.
pub async fn fetch_int(
    conn: &mut (impl Sql + ?Sized),
    sql: &str,
    args: &[Arg<'_>],
) -> Result<Option<i64>, sqlx::Error> {
    let rows = conn.fetch_ints(sql, args).await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .flatten())
}

//! Bulk inserts into SQLite at prepared-statement speed, inside the caller's transaction.
//!
//! Why: through sqlx's `Any` driver every bound value is copied into an owned argument, sent to
//! the connection's worker thread and copied again by SQLite; with tens of millions of values
//! per cost import that overhead cost more than SQLite's own work (perf). The driver exposes no
//! raw connection handle, so the rows take another way in:
//!
//! 1. `park` puts the rows in a process-wide registry under a fresh token;
//! 2. the caller runs `SELECT steward_bulk_insert(token)` on its own connection (so inside its
//!    transaction, on the thread sqlx already uses for that connection);
//! 3. that SQL function, registered on every SQLite connection of this process through
//!    `sqlite3_auto_extension`, takes the rows out and steps ONE prepared INSERT per row with
//!    the values bound in place (no copies until SQLite writes the record).
//!
//! Errors (a constraint, a full disk) come back as the SELECT's error and roll back with the
//! transaction like any other statement. PostgreSQL does not use this module.

use libsqlite3_sys as ffi;
use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

/// The SQL that runs a parked set of rows: bind the token as the only parameter.
pub const RUN_SQL: &str = "SELECT steward_bulk_insert($1)";

/// One bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
}

/// Rows for one INSERT statement with `width` `?` placeholders, values row after row.
#[derive(Debug)]
pub struct Rows {
    pub sql: String,
    pub width: usize,
    pub values: Vec<Value>,
}

static REGISTRY: Mutex<Vec<(u64, Rows)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);
static INSTALL: Once = Once::new();

/// Registers the function on every SQLite connection opened from now on in this process.
/// Call before opening a pool.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: `register` has exactly the entry-point signature SQLite calls.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(register)) };
        if rc != ffi::SQLITE_OK {
            tracing::error!(rc, "sqlite3_auto_extension failed: bulk inserts will fail");
        }
    });
}

/// Rows parked for one `RUN_SQL` call. Dropping it removes rows that were never run.
pub struct Parked(u64);

impl Parked {
    pub fn token(&self) -> i64 {
        self.0 as i64
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        take(self.0);
    }
}

pub fn park(rows: Rows) -> Parked {
    let token = NEXT.fetch_add(1, Ordering::Relaxed);
    lock().push((token, rows));
    Parked(token)
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(u64, Rows)>> {
    // A panic while holding the lock cannot leave the list inconsistent (push/remove only).
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn take(token: u64) -> Option<Rows> {
    let mut list = lock();
    let i = list.iter().position(|(t, _)| *t == token)?;
    Some(list.swap_remove(i).1)
}

unsafe extern "C" fn register(
    db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    ffi::sqlite3_create_function_v2(
        db,
        c"steward_bulk_insert".as_ptr(),
        1,
        // Not from triggers or views, and never constant-folded.
        ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
        std::ptr::null_mut(),
        Some(run),
        None,
        None,
        None,
    )
}

unsafe extern "C" fn run(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    let outcome = if argc != 1 {
        Err("steward_bulk_insert takes one token".to_string())
    } else {
        let token = ffi::sqlite3_value_int64(*argv);
        match u64::try_from(token).ok().and_then(take) {
            None => Err(format!("no rows are parked under token {token}")),
            Some(rows) => insert(ffi::sqlite3_context_db_handle(ctx), &rows),
        }
    };
    match outcome {
        Ok(n) => ffi::sqlite3_result_int64(ctx, n),
        Err(msg) => ffi::sqlite3_result_error(ctx, msg.as_ptr().cast(), msg.len() as c_int),
    }
}

/// Finalizes the statement however `insert` ends.
struct Stmt(*mut ffi::sqlite3_stmt);

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: a statement prepared by `insert` and finalized only here.
        unsafe { ffi::sqlite3_finalize(self.0) };
    }
}

unsafe fn errmsg(db: *mut ffi::sqlite3) -> String {
    CStr::from_ptr(ffi::sqlite3_errmsg(db))
        .to_string_lossy()
        .into_owned()
}

unsafe fn insert(db: *mut ffi::sqlite3, rows: &Rows) -> Result<i64, String> {
    if rows.width == 0 || !rows.values.len().is_multiple_of(rows.width) {
        return Err("bulk insert: the values do not make whole rows".into());
    }
    let sql_len = c_int::try_from(rows.sql.len()).map_err(|_| "bulk insert: SQL too long")?;
    let mut raw = std::ptr::null_mut();
    let rc = ffi::sqlite3_prepare_v2(
        db,
        rows.sql.as_ptr().cast(),
        sql_len,
        &mut raw,
        std::ptr::null_mut(),
    );
    let stmt = Stmt(raw);
    if rc != ffi::SQLITE_OK || stmt.0.is_null() {
        return Err(errmsg(db));
    }
    if ffi::sqlite3_bind_parameter_count(stmt.0) as usize != rows.width {
        return Err("bulk insert: the statement's parameters do not match the row width".into());
    }
    let mut n = 0i64;
    for row in rows.values.chunks(rows.width) {
        for (i, v) in row.iter().enumerate() {
            let col = i as c_int + 1;
            let rc = match v {
                // SQLITE_STATIC: the string outlives the step below (it is reset right after),
                // so SQLite reads it in place.
                Value::Text(s) => {
                    let len =
                        c_int::try_from(s.len()).map_err(|_| "bulk insert: value too long")?;
                    ffi::sqlite3_bind_text(
                        stmt.0,
                        col,
                        s.as_ptr().cast(),
                        len,
                        ffi::SQLITE_STATIC(),
                    )
                }
                Value::Int(x) => ffi::sqlite3_bind_int64(stmt.0, col, *x),
            };
            if rc != ffi::SQLITE_OK {
                return Err(errmsg(db));
            }
        }
        let rc = ffi::sqlite3_step(stmt.0);
        if rc != ffi::SQLITE_DONE {
            return Err(errmsg(db));
        }
        ffi::sqlite3_reset(stmt.0);
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    async fn count(conn: &mut sqlx::AnyConnection) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn rows_go_in_within_the_transaction_and_errors_come_back() {
        let dir = std::env::temp_dir().join(format!("steward-bulk-{}", rand::random::<u64>()));
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (a INTEGER NOT NULL CHECK (a > 0), b TEXT NOT NULL)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let rows = |values: Vec<Value>| Rows {
            sql: "INSERT INTO t (a, b) VALUES (?, ?)".into(),
            width: 2,
            values,
        };
        let run = |token: i64| sqlx::query_scalar::<_, i64>(RUN_SQL).bind(token);

        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        let tricky = "it's \"quoted\"; DROP TABLE t; --\u{0}é";
        let parked = park(rows(vec![
            Value::Int(1),
            Value::Text("x".into()),
            Value::Int(2),
            Value::Text(tricky.into()),
        ]));
        assert_eq!(run(parked.token()).fetch_one(&mut *tx).await.unwrap(), 2);
        assert_eq!(count(&mut tx).await, 2, "visible inside the transaction");
        let stored: String = sqlx::query_scalar("SELECT b FROM t WHERE a = 2")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored, tricky, "bound, not spliced into SQL");
        // The rows were taken: the token is spent.
        let again = run(parked.token()).fetch_one(&mut *tx).await.unwrap_err();
        assert!(again.to_string().contains("no rows are parked"), "{again}");
        // A constraint stops the insert with SQLite's message; rolling back removes it all.
        let bad = park(rows(vec![
            Value::Int(3),
            Value::Text("ok".into()),
            Value::Int(-1),
            Value::Text("bad".into()),
        ]));
        let e = run(bad.token()).fetch_one(&mut *tx).await.unwrap_err();
        assert!(e.to_string().contains("CHECK constraint failed"), "{e}");
        tx.rollback().await.unwrap();
        assert_eq!(count(&mut conn).await, 0, "nothing half-written");
        // Rows that do not fill whole rows are refused before anything is written.
        let ragged = park(rows(vec![Value::Int(1)]));
        let e = run(ragged.token()).fetch_one(&mut *conn).await.unwrap_err();
        assert!(e.to_string().contains("whole rows"), "{e}");
        // Parked rows that never ran are dropped with their handle.
        let token = park(rows(vec![])).token();
        assert!(take(token as u64).is_none());
        drop(conn);
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

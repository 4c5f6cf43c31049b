use super::*;
use std::collections::BTreeSet;

type Columns = BTreeSet<(String, String, bool)>;

async fn columns(db: &steward_tests::TestDb) -> Columns {
    let pool = db.pool().await;
    let rows: Vec<(String, String, i64)> = match db.backend {
        Backend::Sqlite => sqlx::query_as(
            "SELECT m.name, p.name, p.\"notnull\" FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(&pool)
        .await
        .unwrap(),
        Backend::Postgres => sqlx::query_as(
            "SELECT table_name::text, column_name::text, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END::bigint \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(&pool)
        .await
        .unwrap(),
    };
    pool.close().await;
    rows.into_iter()
        // SQLite reports INTEGER PRIMARY KEY columns as nullable; they are not.
        .map(|(t, c, nn)| {
            let pk = c == "id" || (t == "audit_events" && c == "seq");
            (t, c, nn == 1 || pk)
        })
        .collect()
}

async fn migrate(db: &steward_tests::TestDb) -> usize {
    let d = app::db::Db::connect(&db.url).await.unwrap();
    d.migrate().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(d.pool())
        .await
        .unwrap();
    d.close().await;
    n as usize
}

#[tokio::test]
async fn both_dialects_produce_the_same_tables_and_columns() {
    let lite = steward_tests::TestDb::new(Backend::Sqlite).await.unwrap();
    let Some(pg) = steward_tests::TestDb::new(Backend::Postgres).await else {
        return;
    };
    migrate(&lite).await;
    migrate(&pg).await;
    let (a, b) = (columns(&lite).await, columns(&pg).await);
    assert!(a.len() > 30, "{a:?}");
    let only_lite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_lite:?}\nonly in PostgreSQL: {only_pg:?}"
    );
    assert_eq!(
        app::db::migrator(app::db::Dialect::Sqlite)
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>(),
        app::db::migrator(app::db::Dialect::Postgres)
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>(),
        "the same migration versions on both"
    );
}

async fn idempotent(backend: Backend) {
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let first = migrate(&db).await;
    let cols = columns(&db).await;
    let second = migrate(&db).await;
    assert_eq!(first, second);
    assert_eq!(cols, columns(&db).await);
    // The CLI says the same, twice.
    for _ in 0..2 {
        let out = std::process::Command::new(steward_tests::steward_bin())
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn migrations_are_idempotent_sqlite() {
    idempotent(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrations_are_idempotent_postgres() {
    idempotent(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_runs_wal_with_full_sync_and_foreign_keys() {
    let db = steward_tests::TestDb::new(Backend::Sqlite).await.unwrap();
    let d = app::db::Db::connect(&db.url).await.unwrap();
    let mut conn = d.pool().acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    assert!(busy >= 5000);
}

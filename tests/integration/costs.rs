//! Cost data import: exact totals against the source, idempotent re-import, replacement of a
//! billing period, all-or-nothing on a broken row, CUR legacy and 2.0 as the same model, and
//! `steward import-costs`.

use super::*;
use app::audit::chain::AuditCtx;
use app::costs::import::{import_file, import_reader, ImportError, ImportMeta, ImportReport};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/costs")
        .join(name)
}

/// The official FOCUS 1.0 sample (FOCUS-Sample-Data, CC-BY-4.0), shipped in
/// `tests/fixtures/focus/`; `STEWARD_FOCUS_SAMPLE` names another copy.
fn sample() -> PathBuf {
    let path = std::env::var_os("STEWARD_FOCUS_SAMPLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/focus/focus-1.0-sample.csv")
        });
    assert!(
        path.is_file(),
        "the FOCUS sample is missing at {}",
        path.display()
    );
    path
}

fn ctx(app: &TestApp) -> AuditCtx {
    AuditCtx {
        actor: "finance".into(),
        at: app::util::ts(app.state().app.clock.now()),
        ..Default::default()
    }
}

async fn import(app: &TestApp, path: &Path) -> Result<ImportReport, ImportError> {
    import_file(&app.state().app.db, path, ctx(app), |_| {}).await
}

/// A temporary copy of a CSV with one field changed (data row `row`, 1-based, column by name).
fn edited_copy(
    src: &Path,
    edits: &[(usize, &str, &str)],
    keep: impl Fn(&csv::StringRecord) -> bool,
) -> PathBuf {
    let mut rdr = csv::Reader::from_path(src).unwrap();
    let header = rdr.headers().unwrap().clone();
    let path = std::env::temp_dir().join(format!("steward-costs-{}.csv", rand::random::<u64>()));
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&header).unwrap();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        if !keep(&rec) {
            continue;
        }
        let mut fields: Vec<String> = rec.iter().map(str::to_string).collect();
        for (row, col, value) in edits {
            if *row == i + 1 {
                let c = header.iter().position(|h| h == *col).unwrap();
                fields[c] = value.to_string();
            }
        }
        w.write_record(&fields).unwrap();
    }
    w.flush().unwrap();
    path
}

/// Expectations computed from the CSV alone, with `rust_decimal`'s own parser.
struct Expected {
    rows: i64,
    billed: Decimal,
    effective: Decimal,
    by_service: BTreeMap<String, (Decimal, Decimal)>,
    by_environment_tag: BTreeMap<String, Decimal>,
}

fn expected_from_csv(path: &Path) -> Expected {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (b, e, s, t) = (
        col("BilledCost"),
        col("EffectiveCost"),
        col("ServiceName"),
        col("Tags"),
    );
    let mut ex = Expected {
        rows: 0,
        billed: Decimal::ZERO,
        effective: Decimal::ZERO,
        by_service: BTreeMap::new(),
        by_environment_tag: BTreeMap::new(),
    };
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let billed = Decimal::from_str(&rec[b]).unwrap();
        let effective = Decimal::from_str(&rec[e]).unwrap();
        ex.rows += 1;
        ex.billed += billed;
        ex.effective += effective;
        let svc = ex.by_service.entry(rec[s].to_string()).or_default();
        svc.0 += billed;
        svc.1 += effective;
        if rec[t].starts_with('{') {
            let tags: serde_json::Value = serde_json::from_str(&rec[t]).unwrap();
            if let Some(env) = tags.get("environment").and_then(|v| v.as_str()) {
                *ex.by_environment_tag.entry(env.to_string()).or_default() += billed;
            }
        }
    }
    ex
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("'{s}' stored is not a decimal: {e}"))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let pool = app.db.pool().await;
    let n = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

const TABLES: [&str; 6] = [
    "cost_batches",
    "cost_batch_slices",
    "cost_line_items",
    "cost_daily",
    "cost_daily_tags",
    "audit_events",
];

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for t in TABLES {
        v.push(count(app, t).await);
    }
    v
}

/// (total billed, total effective, per service) summed in Rust from stored text.
async fn stored_sums(
    app: &TestApp,
    sql: &str,
) -> (Decimal, Decimal, BTreeMap<String, (Decimal, Decimal)>, i64) {
    let pool = app.db.pool().await;
    let rows: Vec<(String, String, String, i64)> =
        sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    let mut by_service: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    let (mut billed, mut effective, mut n) = (Decimal::ZERO, Decimal::ZERO, 0);
    for (svc, b, e, rows) in rows {
        let (b, e) = (dec(&b), dec(&e));
        billed += b;
        effective += e;
        n += rows;
        let s = by_service.entry(svc).or_default();
        s.0 += b;
        s.1 += e;
    }
    (billed, effective, by_service, n)
}

both_dbs!(focus_sample_reproduces_the_exact_totals, |app| {
    let ex = expected_from_csv(&sample());
    assert_eq!(ex.rows, 1000);
    let seen = std::sync::Mutex::new(Vec::new());
    let report = import_file(&app.state().app.db, &sample(), ctx(&app), |p| {
        seen.lock().unwrap().push(p)
    })
    .await
    .unwrap();
    assert!(!report.already_imported);
    assert_eq!(report.format, "focus-1.0");
    assert_eq!(
        (report.rows_read, report.rows_accepted, report.rows_rejected),
        (1000, 1000, 0)
    );
    let usd = &report.totals["USD"];
    // Exact to the last digit the source gives (11 places): compare the text too.
    assert_eq!(usd.billed.to_string(), ex.billed.to_string());
    assert_eq!(usd.effective.to_string(), ex.effective.to_string());
    assert_eq!(usd.billed.to_string(), "20.52022672899");
    assert_eq!(
        report.period_start.as_deref(),
        Some("2024-09-01T00:00:00.000000Z")
    );
    assert_eq!(
        report.period_end.as_deref(),
        Some("2024-10-01T00:00:00.000000Z")
    );

    // Progress: rows grow, and the last report covers the whole file.
    let seen = seen.into_inner().unwrap();
    assert!(seen.windows(2).all(|w| w[0].rows <= w[1].rows), "{seen:?}");
    let last = seen.last().expect("progress reported");
    assert_eq!(
        (last.rows, last.percent(), last.done),
        (1000, Some(100), true)
    );
    assert_eq!(seen.iter().filter(|p| p.done).count(), 1);

    // Line items, summed from their stored text.
    let (b, e, by_service, n) = stored_sums(
        &app,
        "SELECT service_name, billed_cost, effective_cost, 1 FROM cost_line_items",
    )
    .await;
    assert_eq!((b, e, n), (ex.billed, ex.effective, 1000));
    assert_eq!(by_service, ex.by_service);
    // The daily rollups say the same.
    let (b, e, by_service, n) = stored_sums(
        &app,
        "SELECT service_name, billed_cost, effective_cost, row_count FROM cost_daily",
    )
    .await;
    assert_eq!((b, e, n), (ex.billed, ex.effective, 1000));
    assert_eq!(by_service, ex.by_service);
    assert!(by_service.len() > 10, "{by_service:?}");
    // Grouping by a tag key from the tag rollups matches the tags in the source.
    let pool = app.db.pool().await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT tag_value, billed_cost FROM cost_daily_tags WHERE tag_key = 'environment'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut by_env: BTreeMap<String, Decimal> = BTreeMap::new();
    for (v, b) in rows {
        *by_env.entry(v).or_default() += dec(&b);
    }
    assert_eq!(by_env, ex.by_environment_tag);
    assert!(!by_env.is_empty());

    // Quirks normalised: the space-separated timestamp, the literal NULL, the scale kept.
    let (start, region, billed, extra, columns): (String, String, String, String, String) =
        sqlx::query_as(
            "SELECT i.charge_period_start, i.region_id, i.billed_cost, i.extra, b.extra_columns \
             FROM cost_line_items i JOIN cost_batches b ON b.id = i.batch_id \
             WHERE i.row_number = 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(start, "2024-09-18T22:00:00.000000Z");
    assert_eq!(region, "us-west-2");
    assert_eq!(billed, "0.00000080000");
    let extra = app::costs::import::extra_by_name(&columns, &extra);
    assert_eq!(extra["Id"], "11472", "extra columns are kept");
    assert!(
        extra.get("AvailabilityZone").is_none(),
        "NULL is not stored"
    );
    let nulls: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cost_line_items WHERE region_id = '' OR region_id = 'NULL'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(nulls, 7, "the seven rows whose RegionId is NULL");
    let (status, sha, by): (String, String, String) =
        sqlx::query_as("SELECT status, sha256, imported_by FROM cost_batches")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), by.as_str()), ("active", "finance"));
    assert_eq!(sha, report.sha256);
    pool.close().await;
    assert_eq!(
        app.audit_actions().await.last().map(String::as_str),
        Some("costs.imported")
    );
});

both_dbs!(reimporting_the_same_file_changes_nothing, |app| {
    let first = import(&app, &sample()).await.unwrap();
    let before = counts(&app).await;
    let again = import(&app, &sample()).await.unwrap();
    assert!(again.already_imported);
    assert_eq!(again.batch_id, first.batch_id);
    assert_eq!(again.totals, first.totals);
    assert!(again.to_text().contains("already imported"));
    // Also when the hash is only known after reading (an upload streamed from the browser).
    let file = std::fs::File::open(sample()).unwrap();
    let meta = ImportMeta {
        file_name: "renamed.csv".into(),
        total_bytes: None,
        ctx: ctx(&app),
    };
    let streamed = import_reader(&app.state().app.db, file, meta, |_| {})
        .await
        .unwrap();
    assert!(streamed.already_imported);
    assert_eq!(streamed.batch_id, first.batch_id);
    assert_eq!(counts(&app).await, before, "{TABLES:?}");
});

async fn rollup_sums(
    app: &TestApp,
) -> (Decimal, Decimal, BTreeMap<String, (Decimal, Decimal)>, i64) {
    stored_sums(
        app,
        "SELECT service_name, billed_cost, effective_cost, row_count FROM cost_daily",
    )
    .await
}

both_dbs!(a_newer_file_for_the_same_period_replaces_it, |app| {
    let ex = expected_from_csv(&sample());
    let first = import(&app, &sample()).await.unwrap();
    // AWS's export again, one amount corrected: replaces only the AWS slice of the first batch.
    let aws_only = edited_copy(&sample(), &[(1, "BilledCost", "1.00000080000")], |r| {
        r.iter().any(|f| f == "AWS")
    });
    let second = import(&app, &aws_only).await.unwrap();
    assert_eq!(second.replaced_batches, vec![first.batch_id]);
    assert_eq!(second.rows_accepted, 942);
    let one = Decimal::from_str("1").unwrap();
    let (b, _, _, n) = rollup_sums(&app).await;
    assert_eq!((b, n), (ex.billed + one, 1000), "no double counting");
    assert_eq!(count(&app, "cost_line_items").await, 1000);
    let pool = app.db.pool().await;
    let status: String = sqlx::query_scalar("SELECT status FROM cost_batches WHERE id = $1")
        .bind(first.batch_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "partially_replaced");

    // The whole corrected file: replaces the rest of the first batch and all of the second.
    let full = edited_copy(&sample(), &[(1, "BilledCost", "1.00000080000")], |_| true);
    let third = import(&app, &full).await.unwrap();
    assert_eq!(
        third.replaced_batches,
        vec![first.batch_id, second.batch_id]
    );
    let (b, e, _, n) = rollup_sums(&app).await;
    assert_eq!((b, e, n), (ex.billed + one, ex.effective, 1000));
    let (lb, _, _, ln) = stored_sums(
        &app,
        "SELECT service_name, billed_cost, effective_cost, 1 FROM cost_line_items",
    )
    .await;
    assert_eq!((lb, ln), (ex.billed + one, 1000));
    let batches: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, status, replaced_by FROM cost_batches ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    // The bulk tables have no foreign key (it cost a seventh of an import): the writer keeps
    // every row with the batch it belongs to.
    for table in ["cost_line_items", "cost_daily", "cost_daily_tags"] {
        let orphans: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS \
             (SELECT 1 FROM cost_batches b WHERE b.id = t.batch_id)"
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "{table} rows without their batch");
        let third_rows: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE batch_id = $1"))
                .bind(third.batch_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(third_rows > 0, "{table} holds the newest batch's rows");
    }
    pool.close().await;
    assert_eq!(
        batches,
        vec![
            (first.batch_id, "replaced".into(), Some(third.batch_id)),
            (second.batch_id, "replaced".into(), Some(third.batch_id)),
            (third.batch_id, "active".into(), None),
        ],
        "replaced batches stay visible"
    );
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "costs.replaced").count(), 3);
    let _ = std::fs::remove_file(aws_only);
    let _ = std::fs::remove_file(full);
});

both_dbs!(a_broken_row_writes_nothing_and_is_named, |app| {
    import(&app, &fixture("aws-cur-legacy.csv")).await.unwrap();
    let before = counts(&app).await;
    // Row 750: after a first chunk of rows went into the transaction.
    let bad_amount = edited_copy(&sample(), &[(750, "BilledCost", "12,50")], |_| true);
    let err = import(&app, &bad_amount).await.unwrap_err();
    match &err {
        ImportError::Row {
            row,
            line,
            column,
            reason,
        } => {
            assert_eq!((*row, *line, column.as_str()), (750, 751, "BilledCost"));
            assert!(
                reason.contains("'12,50' is not a decimal number"),
                "{reason}"
            );
        }
        other => panic!("expected a row error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("row 750 (line 751), column BilledCost: "),
        "{err}"
    );
    assert_eq!(counts(&app).await, before, "nothing written: {TABLES:?}");

    let bad_time = edited_copy(
        &sample(),
        &[(999, "ChargePeriodStart", "2024-09-31 25:00:00")],
        |_| true,
    );
    let err = import(&app, &bad_time).await.unwrap_err().to_string();
    assert!(err.starts_with("row 999 (line 1000), column ChargePeriodStart: '2024-09-31 25:00:00' is not a timestamp"), "{err}");
    assert_eq!(counts(&app).await, before);

    let bad_period = edited_copy(
        &sample(),
        &[(3, "ChargePeriodEnd", "2024-09-01 00:00:00")],
        |_| true,
    );
    let err = import(&app, &bad_period).await.unwrap_err().to_string();
    assert!(
        err.contains("row 3 (line 4), column ChargePeriodEnd: the period ends"),
        "{err}"
    );

    let missing = std::env::temp_dir().join(format!("steward-costs-{}.csv", rand::random::<u64>()));
    std::fs::write(
        &missing,
        "ChargePeriodStart,ChargePeriodEnd,BilledCost\n2024-09-01,2024-09-02,1\n",
    )
    .unwrap();
    let err = import(&app, &missing).await.unwrap_err().to_string();
    assert!(
        err.contains("required column(s) are missing") && err.contains("EffectiveCost"),
        "{err}"
    );
    std::fs::write(&missing, "name,amount\nx,1\n").unwrap();
    let err = import(&app, &missing).await.unwrap_err().to_string();
    assert!(err.contains("not a format Steward knows"), "{err}");
    let header_only = std::fs::read_to_string(sample()).unwrap();
    std::fs::write(&missing, header_only.lines().next().unwrap()).unwrap();
    let err = import(&app, &missing).await.unwrap_err().to_string();
    assert!(err.contains("no data rows"), "{err}");
    assert_eq!(counts(&app).await, before);
    for p in [bad_amount, bad_time, bad_period, missing] {
        let _ = std::fs::remove_file(p);
    }
});

/// The model fields of every stored line item of a batch; tag keys lowercased because CUR 2.0
/// writes them lowercased (`user_costcenter`) where the legacy report kept `user:CostCenter`.
type ModelRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

async fn model_rows(app: &TestApp, batch: i64) -> Vec<Vec<String>> {
    let pool = app.db.pool().await;
    let rows: Vec<ModelRow> = sqlx::query_as(
        "SELECT provider, billing_account_id, sub_account_id, service_name, region_id, \
             resource_id, charge_category, charge_period_start, charge_period_end, billed_cost, \
             effective_cost, list_cost, currency, tags FROM cost_line_items WHERE batch_id = $1 \
             ORDER BY row_number",
    )
    .bind(batch)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter()
        .map(|r| {
            let tags: BTreeMap<String, String> = serde_json::from_str(&r.13).unwrap();
            let tags: BTreeMap<String, String> = tags
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect();
            vec![
                r.0,
                r.1,
                r.2,
                r.3,
                r.4,
                r.5,
                r.6,
                r.7,
                r.8,
                r.9,
                r.10,
                r.11,
                r.12,
                serde_json::to_string(&tags).unwrap(),
            ]
        })
        .collect()
}

both_dbs!(cur_legacy_and_cur_2_land_as_the_same_model, |app| {
    let legacy = import(&app, &fixture("aws-cur-legacy.csv")).await.unwrap();
    assert_eq!(legacy.format, "aws-cur-legacy");
    let legacy_rows = model_rows(&app, legacy.batch_id).await;
    let cur2 = import(&app, &fixture("aws-cur-2.0.csv.gz")).await.unwrap();
    assert_eq!(cur2.format, "aws-cur-2.0");
    // The same account and billing period: the CUR 2.0 export replaces the legacy one.
    assert_eq!(cur2.replaced_batches, vec![legacy.batch_id]);
    let cur2_rows = model_rows(&app, cur2.batch_id).await;
    assert_eq!(legacy_rows.len(), 8);
    assert_eq!(legacy_rows, cur2_rows);
    assert_eq!(cur2.totals, legacy.totals);
    let usd = &cur2.totals["USD"];
    // Hand-checked: billed uses net unblended when given; effective uses the savings plan and
    // reservation effective costs; list uses the public on-demand cost.
    assert_eq!(usd.billed.to_string(), "-4.6504379904");
    assert_eq!(usd.effective.to_string(), "-4.5651979904");
    assert_eq!(usd.list.to_string(), "-4.5183579904");
    let row = |i: usize| legacy_rows[i].clone();
    assert_eq!(
        row(0)[3..].to_vec(),
        [
            "Amazon Elastic Compute Cloud",
            "us-east-1",
            "i-0a1b2c3d4e5f60718",
            "Usage",
            "2024-09-02T05:00:00.000000Z",
            "2024-09-02T06:00:00.000000Z",
            "0.0395200000",
            "0.0395200000",
            "0.0416000000",
            "USD",
            r#"{"costcenter":"cc-100","team":"web"}"#,
        ]
    );
    assert_eq!(
        row(1)[9..12],
        ["0.0960000000", "0.0638400000", "0.0960000000"]
    );
    assert_eq!(row(2)[9..12], ["-0.0960000000", "0", "0"]);
    assert_eq!(
        row(3)[9..12],
        ["0.0000000000", "0.0214000000", "0.0340000000"]
    );
    assert_eq!(row(4)[9], "0.000042", "4.2E-5 read exactly");
    assert_eq!((row(6)[6].as_str(), row(7)[6].as_str()), ("Tax", "Credit"));
    assert_eq!(
        row(0)[2],
        "444455556666",
        "usage account is the sub-account"
    );
    // The plain CSV of the CUR 2.0 fixture is the same file uncompressed.
    let plain = import(&app, &fixture("aws-cur-2.0.csv")).await.unwrap();
    assert_eq!(model_rows(&app, plain.batch_id).await, legacy_rows);
});

async fn cli_imports(backend: Backend) {
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let run = |file: &Path| {
        std::process::Command::new(steward_tests::steward_bin())
            .arg("import-costs")
            .arg(file)
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap()
    };
    let out = run(&sample());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "imported 'focus-1.0-sample.csv' as batch #1",
        "format: focus-1.0",
        "rows: 1000 read, 1000 accepted, 0 rejected",
        "charge periods: 2024-09-01T00:00:00.000000Z to 2024-10-01T00:00:00.000000Z",
        "total USD: billed 20.52022672899 effective 14.97651418586 list 20.39090575119",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let progress = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        progress.contains("100% read") && progress.ends_with("stored 1000 rows\n"),
        "{progress}"
    );
    let out = run(&sample());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("already imported: 'focus-1.0-sample.csv' is batch #1 (nothing changed)"));
    let broken = edited_copy(&sample(), &[(750, "BilledCost", "abc")], |_| true);
    let out = run(&broken);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 750 (line 751), column BilledCost: 'abc' is not a decimal number"),
        "{err}"
    );
    let out = run(&fixture("aws-cur-2.0.csv.gz"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("format: aws-cur-2.0"));
    // Every import left the audit chain intact.
    let out = std::process::Command::new(steward_tests::steward_bin())
        .arg("verify-audit")
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_file(broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_costs_sqlite() {
    cli_imports(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_costs_postgres() {
    cli_imports(Backend::Postgres).await;
}

both_dbs!(focus_quirks_bom_case_order_crlf_and_extra_columns, |app| {
    let header = "\u{feff}x_Owner,chargeperiodend,CHARGEPERIODSTART,billedcost,EffectiveCost,\
                  listcost,billingcurrency,billingperiodstart,billingperiodend,providername,\
                  billingaccountid,chargecategory,servicename,tags,invoiceid,regionid,\
                  ChargeDescription";
    let rows = [
        "ana,2024-09-02T01:00:00Z,2024-09-02T00:00:00Z,1.5E-3,0.0015,0.002,usd,2024-09-01,\
         2024-10-01,Google Cloud,ba-1,usage,Compute Engine,\"{\"\"env\"\": \"\"prod\"\", \
         \"\"tier\"\": 2, \"\"gone\"\": null}\",inv-9,europe-west1,n2 core",
        "bo,2024-09-03 01:00:00,2024-09-03 00:00:00,0.10,0.10,0.10,USD,2024-09-01,2024-10-01,\
         Google Cloud,ba-1,Tax,,null,inv-9,NULL,\"two\nlines\"",
    ];
    let body = format!("{header}\r\n{}\r\n", rows.join("\r\n"));
    let path = std::env::temp_dir().join(format!("steward-costs-{}.csv", rand::random::<u64>()));
    std::fs::write(&path, &body).unwrap();
    let report = import(&app, &path).await.unwrap();
    assert_eq!(report.format, "focus-1.2");
    assert_eq!(report.totals["USD"].billed.to_string(), "0.1015");
    let pool = app.db.pool().await;
    let items: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT charge_category, currency, billed_cost, tags, extra, region_id, usage_date \
         FROM cost_line_items ORDER BY row_number",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let columns: String = sqlx::query_scalar("SELECT extra_columns FROM cost_batches")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(columns, r#"["x_Owner","invoiceid","ChargeDescription"]"#);
    pool.close().await;
    assert_eq!(items[0].0, "Usage", "case variants normalised");
    assert_eq!(items[0].1, "USD");
    assert_eq!(items[0].2, "0.0015");
    assert_eq!(items[0].3, r#"{"env":"prod","tier":"2"}"#);
    let extra = app::costs::import::extra_by_name(&columns, &items[0].4);
    assert_eq!(extra["x_Owner"], "ana", "x_ columns kept, BOM gone");
    assert_eq!(extra["invoiceid"], "inv-9");
    assert_eq!(items[1].3, "{}", "null tags");
    assert_eq!(items[1].5, "", "NULL region");
    assert_eq!(items[1].6, "2024-09-03");
    let extra = app::costs::import::extra_by_name(&columns, &items[1].4);
    assert_eq!(extra["ChargeDescription"], "two\nlines");

    // A bad value after a multi-line field: the row number counts rows, the line counts lines.
    let bad = format!(
        "{body}cy,2024-09-04T01:00:00Z,2024-09-04T00:00:00Z,1,1,1,US Dollar,2024-09-01,\
         2024-10-01,Google Cloud,ba-1,Usage,Compute Engine,,inv-9,,\r\n"
    );
    std::fs::write(&path, bad).unwrap();
    let err = import(&app, &path).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "row 3 (line 5), column billingcurrency: 'US Dollar' is not a three-letter currency code"
    );
    let _ = std::fs::remove_file(path);
});

/// Serves `data`, then at `gate_at` waits for the gate (a sender dropped = the disk went away).
struct GatedReader {
    data: Vec<u8>,
    pos: usize,
    gate_at: usize,
    gate: std::sync::mpsc::Receiver<()>,
}

impl std::io::Read for GatedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.gate_at && self.gate.recv().is_err() {
            return Err(std::io::Error::other("the source went away"));
        }
        let end = (self.pos + buf.len()).min(self.data.len());
        let end = if self.pos < self.gate_at {
            end.min(self.gate_at)
        } else {
            end
        };
        let n = end - self.pos;
        buf[..n].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(n)
    }
}

both_dbs!(a_cancelled_or_failed_import_leaves_nothing, |app| {
    let before = counts(&app).await;
    let data = std::fs::read(sample()).unwrap();
    let meta = || ImportMeta {
        file_name: "focus.csv".into(),
        total_bytes: None,
        ctx: ctx(&app),
    };

    // Cancelled: the request goes away after the first rows were inserted.
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let reader = GatedReader {
        data: data.clone(),
        pos: 0,
        gate_at: 600_000,
        gate: gate_rx,
    };
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let db = app.state().app.db.clone();
    let m = meta();
    let task = tokio::spawn(async move {
        import_reader(&db, reader, m, move |p| {
            let _ = seen_tx.send(p.rows);
        })
        .await
    });
    loop {
        let rows = seen_rx.recv().await.expect("progress before the gate");
        if rows >= 500 {
            break;
        }
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    drop(gate_tx);
    assert_eq!(counts(&app).await, before, "nothing kept: {TABLES:?}");

    // Failed: the source breaks off mid-file.
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    drop(gate_tx);
    let reader = GatedReader {
        data: data.clone(),
        pos: 0,
        gate_at: 600_000,
        gate: gate_rx,
    };
    let err = import_reader(&app.state().app.db, reader, meta(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the source went away"), "{err}");
    // A truncated .gz is refused the same way.
    let gz = std::fs::read(fixture("aws-cur-2.0.csv.gz")).unwrap();
    let half = std::io::Cursor::new(gz[..gz.len() / 2].to_vec());
    let err = import_reader(&app.state().app.db, half, meta(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("could not be read"), "{err}");
    assert_eq!(counts(&app).await, before, "nothing kept: {TABLES:?}");

    // The write lock was released: the whole file imports now.
    let report = import(&app, &sample()).await.unwrap();
    assert_eq!(report.rows_accepted, 1000);
});

/// `rows` data rows: the FOCUS sample over and over; `bad` replaces one field of one row.
fn repeated_sample(rows: usize, bad: Option<(usize, &str, &str)>) -> PathBuf {
    let mut rdr = csv::Reader::from_path(sample()).unwrap();
    let header = rdr.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let path = std::env::temp_dir().join(format!("steward-costs-{}.csv", rand::random::<u64>()));
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&header).unwrap();
    for i in 0..rows {
        let rec = &records[i % records.len()];
        match bad {
            Some((row, column, value)) if row == i + 1 => {
                let col = header.iter().position(|h| h == column).unwrap();
                let fields: Vec<&str> = rec
                    .iter()
                    .enumerate()
                    .map(|(j, f)| if j == col { value } else { f })
                    .collect();
                w.write_record(&fields).unwrap();
            }
            _ => w.write_record(rec).unwrap(),
        }
    }
    w.flush().unwrap();
    path
}

// The bulk paths (PostgreSQL COPY, SQLite's bulk function) run inside the import's one
// transaction: a row that fails after many chunks were written leaves nothing, and a good
// import commits its rows with its audit event.
both_dbs!(a_late_bad_row_after_bulk_chunks_leaves_nothing, |app| {
    let before = counts(&app).await;
    let late = repeated_sample(12_000, Some((11_500, "EffectiveCost", "12,50")));
    let err = import(&app, &late).await.unwrap_err();
    let _ = std::fs::remove_file(&late);
    match &err {
        ImportError::Row { row, column, .. } => {
            assert_eq!((*row, column.as_str()), (11_500, "EffectiveCost"), "{err}")
        }
        other => panic!("expected a row error, got {other:?}"),
    }
    assert_eq!(counts(&app).await, before, "nothing written: {TABLES:?}");

    let good = repeated_sample(12_000, None);
    let report = import(&app, &good).await.unwrap();
    let _ = std::fs::remove_file(&good);
    assert_eq!(report.rows_accepted, 12_000);
    let pool = app.db.pool().await;
    let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cost_line_items WHERE batch_id = $1")
        .bind(report.batch_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(items, 12_000);
    // The audit event went in with the rows, and the chain head moved with it.
    let (seq, object): (i64, String) = sqlx::query_as(
        "SELECT seq, object_id FROM audit_events WHERE action = 'costs.imported' \
         ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(object, report.batch_id.to_string());
    let head: i64 = sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(head, seq);
    // Money is exact through the bulk path: stored text sums to the report's totals.
    let billed: Vec<String> =
        sqlx::query_scalar("SELECT billed_cost FROM cost_line_items WHERE batch_id = $1")
            .bind(report.batch_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let sum = billed.iter().fold(Decimal::ZERO, |a, b| a + dec(b));
    assert_eq!(sum, report.totals["USD"].billed);
});

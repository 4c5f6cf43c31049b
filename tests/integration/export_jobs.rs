//! Evidence exports built in the background: progress, then the same bytes as the direct
//! download; who may see and take them; failures named; files deleted when they expire; a
//! build a stopped server left unfinished is marked failed at start-up.

use super::audits::plan_audit;
use super::evidence::{audit_summaries, blob_path};
use super::exports::{download, json, setup, Setup};
use super::*;
use time::Duration;

async fn start(app: &TestApp, c: &reqwest::Client, s: &Setup, audit: &str) -> reqwest::Response {
    let (from, to) = (s.from.to_string(), s.to.to_string());
    let framework = if audit.is_empty() { "custom" } else { "" };
    app.call(
        c,
        "/api/start_evidence_export",
        &[
            ("framework", framework),
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("audit", audit),
        ],
    )
    .await
}

async fn list(app: &TestApp, c: &reqwest::Client) -> Vec<serde_json::Value> {
    let r = app
        .call(c, "/api/list_evidence_exports", steward_tests::NO_FIELDS)
        .await;
    assert_eq!(r.status(), 200);
    json(r).await.as_array().unwrap().clone()
}

/// Waits until export `id` is no longer building; its row.
async fn finished(app: &TestApp, c: &reqwest::Client, id: i64) -> serde_json::Value {
    for _ in 0..600 {
        let rows = list(app, c).await;
        let row = rows.iter().find(|r| r["id"] == id).expect("listed").clone();
        if row["status"] != "building" {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("export {id} still building after 30 s");
}

fn export_files(app: &TestApp) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(app.db.data_dir().join("exports"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

both_dbs!(background_exports_build_download_and_expire, |app| {
    let s = setup(&app).await;
    let co = app.client_as(Role::Compliance).await;
    let (direct, direct_sha) = download(&app, &co, &s).await;

    let r = start(&app, &co, &s, "").await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let id = json(r).await.as_i64().unwrap();
    let row = finished(&app, &co, id).await;
    assert_eq!(row["status"], "ready", "{row}");
    assert_eq!(row["sha256"], direct_sha.as_str());
    assert_eq!(row["size"], direct.len() as i64);
    assert!(row["expires_at"].as_str().is_some());
    assert_eq!(export_files(&app).len(), 1, "the file is kept");

    // The same bytes as the direct download (same data, same parameters).
    let r = app.get(&co, &app::paths::export_download(id)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert_eq!(r.headers()["x-steward-export-sha256"], direct_sha.as_str());
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("steward-evidence-custom-"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), direct);
    let requested = audit_summaries(&app, "export.requested").await;
    assert_eq!(requested.len(), 1);
    assert!(
        requested[0].contains(&format!("#{id} of custom")),
        "{requested:?}"
    );
    let built = audit_summaries(&app, "export.built").await;
    assert_eq!(built.len(), 1);
    assert!(built[0].contains(&direct_sha), "{built:?}");
    let downloads = audit_summaries(&app, "export.downloaded").await;
    assert_eq!(downloads.len(), 2, "the direct download and this one");
    assert!(downloads[1].contains(&format!("export #{id}")) && downloads[1].contains(&direct_sha));

    // An auditor sees only the exports of their audits: none yet, then the one they start.
    let audit = plan_audit(&app, &s).await;
    let aud = app.client_as(Role::Auditor).await;
    assert!(list(&app, &aud).await.is_empty());
    assert_eq!(
        app.get(&aud, &app::paths::export_download(id))
            .await
            .status(),
        404
    );
    let r = start(&app, &aud, &s, "").await;
    assert_eq!(r.status(), 403, "auditors export their audits only");
    let r = start(&app, &aud, &s, &audit.to_string()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let theirs = json(r).await.as_i64().unwrap();
    let row = finished(&app, &aud, theirs).await;
    assert_eq!(row["status"], "ready", "{row}");
    assert_eq!(row["audit"], audit);
    assert_eq!(list(&app, &aud).await.len(), 1);
    assert_eq!(list(&app, &co).await.len(), 2, "the organisation sees both");
    let r = app.get(&aud, &app::paths::export_download(theirs)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app::util::sha256_hex(&r.bytes().await.unwrap()),
        row["sha256"].as_str().unwrap()
    );
    for role in [Role::Finance, Role::Member] {
        let c = app.client_as(role).await;
        assert_eq!(start(&app, &c, &s, "").await.status(), 403, "{role:?}");
        assert_eq!(
            app.get(&c, &app::paths::export_download(id)).await.status(),
            403
        );
    }

    // A missing evidence file fails the build, named; nothing is left behind.
    let gone: String =
        sqlx::query_scalar("SELECT sha256 FROM evidence_versions WHERE filename LIKE '%backup%'")
            .fetch_one(app.state().app.db.pool())
            .await
            .unwrap();
    let path = blob_path(&app, &gone);
    let kept = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let failing = json(start(&app, &co, &s, "").await).await.as_i64().unwrap();
    let row = finished(&app, &co, failing).await;
    assert_eq!(row["status"], "failed", "{row}");
    let error = row["error"].as_str().unwrap();
    assert!(
        error.contains(&gone[..12]) || error.contains("backup"),
        "{error}"
    );
    assert_eq!(export_files(&app).len(), 2, "only the two built files");
    assert_eq!(
        app.get(&co, &app::paths::export_download(failing))
            .await
            .status(),
        409
    );
    std::fs::write(&path, kept).unwrap();
    assert_eq!(audit_summaries(&app, "export.failed").await.len(), 1);

    // Seven days on, the files are deleted and the exports say so.
    app.state().app.clock.advance(Duration::days(8));
    let n = app::exports::jobs::sweep(&app.state().app, false)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(export_files(&app).is_empty());
    let co = app.client_as(Role::Compliance).await; // the old session expired meanwhile
    let r = app.get(&co, &app::paths::export_download(id)).await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("expired"));
    assert_eq!(audit_summaries(&app, "export.expired").await.len(), 2);
    assert!(list(&app, &co).await.iter().all(|r| r["status"] != "ready"));

    // A build the server never finished is failed at the next start-up, its file removed.
    let left = json(start(&app, &co, &s, "").await).await.as_i64().unwrap();
    assert_eq!(finished(&app, &co, left).await["status"], "ready");
    sqlx::query("UPDATE evidence_exports SET status = 'building' WHERE id = $1")
        .bind(left)
        .execute(app.state().app.db.pool())
        .await
        .unwrap();
    std::fs::write(app.db.data_dir().join("exports").join("stray.zip"), b"x").unwrap();
    app::exports::jobs::sweep(&app.state().app, true)
        .await
        .unwrap();
    let row = list(&app, &co)
        .await
        .into_iter()
        .find(|r| r["id"] == left)
        .unwrap();
    assert_eq!(row["status"], "failed");
    assert!(row["error"].as_str().unwrap().contains("server stopped"));
    assert!(export_files(&app).is_empty(), "{:?}", export_files(&app));
});

//! Evidence: streamed uploads to content-addressed storage, versions, type and size checks,
//! ownership, hash-checked downloads.

use super::*;
use app::paths::EVIDENCE_UPLOAD as UPLOAD_PATH;
use sqlx::Row;
use std::path::{Path, PathBuf};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PDF_V2: &[u8] = b"%PDF-1.7\n% second edition\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0";

/// A multipart/form-data body written by hand, so tests control every byte of it.
pub struct Form {
    body: Vec<u8>,
}

pub const BOUNDARY: &str = "----steward-test-7d1f0c";

impl Form {
    pub fn new() -> Self {
        Form { body: Vec::new() }
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
        self
    }

    /// The part header of the file field (its bytes follow).
    pub fn file_header(mut self, filename: &str, content_type: Option<&str>) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            )
            .as_bytes(),
        );
        if let Some(ct) = content_type {
            self.body
                .extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file(self, filename: &str, content_type: Option<&str>, data: &[u8]) -> Self {
        let mut f = self.file_header(filename, content_type);
        f.body.extend_from_slice(data);
        f.body.extend_from_slice(b"\r\n");
        f
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.body
            .extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.body
    }

    pub fn into_head(self) -> Vec<u8> {
        self.body
    }
}

pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

pub fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// The fields of a new evidence item for these controls.
pub fn new_evidence(title: &str, controls: &[i64]) -> Form {
    let mut f = Form::new()
        .text("title", title)
        .text("description", "Quarterly access review export")
        .text("effective_date", &today());
    for c in controls {
        f = f.text("controls", &c.to_string());
    }
    f
}

/// Posts the form as the hydrated page does (JSON answers).
pub async fn upload(app: &TestApp, c: &reqwest::Client, form: Form) -> reqwest::Response {
    c.post(app.url(UPLOAD_PATH))
        .header("Origin", &app.base)
        .header("Accept", "application/json")
        .header("Content-Type", content_type())
        .body(form.finish())
        .send()
        .await
        .expect("upload request")
}

/// Posts the form as a browser without JavaScript does, from `referer`.
async fn upload_html(
    app: &TestApp,
    c: &reqwest::Client,
    form: Form,
    referer: &str,
) -> reqwest::Response {
    c.post(app.url(UPLOAD_PATH))
        .header("Origin", &app.base)
        .header("Accept", "text/html,application/xhtml+xml")
        .header("Referer", app.url(referer))
        .header("Content-Type", content_type())
        .body(form.finish())
        .send()
        .await
        .expect("upload request")
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// A control, inserted directly (the controls area owns their pages and functions).
pub async fn insert_control(app: &TestApp, code: &str, owner: Option<&str>) -> i64 {
    if let Some(u) = owner {
        app.password(u).await; // the owner exists from here on
    }
    let pool = app.db.pool().await;
    let owner_id: Option<i64> = match owner {
        Some(u) => Some(
            sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(u)
                .fetch_one(&pool)
                .await
                .unwrap(),
        ),
        None => None,
    };
    let now = app::util::ts(time::OffsetDateTime::now_utc());
    let id = sqlx::query_scalar(
        "INSERT INTO controls (ref, title, owner_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(code)
    .bind(format!("Control {code}"))
    .bind(owner_id)
    .bind(&now)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    id
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let pool = app.db.pool().await;
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

/// Files stored under `blobs/` (by hash), and files left in its staging folder.
pub fn blob_files(data_dir: &Path) -> (Vec<PathBuf>, usize) {
    let root = data_dir.join("blobs");
    let mut stored = Vec::new();
    let mut staging = 0;
    if let Ok(dirs) = std::fs::read_dir(&root) {
        for d in dirs.flatten() {
            let is_tmp = d.file_name() == "tmp";
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                if is_tmp {
                    staging += 1;
                } else {
                    stored.push(f.path());
                }
            }
        }
    }
    (stored, staging)
}

pub fn blob_path(app: &TestApp, sha: &str) -> PathBuf {
    app.db.data_dir().join("blobs").join(&sha[..2]).join(sha)
}

fn sha(data: &[u8]) -> String {
    app::util::sha256_hex(data)
}

pub async fn audit_summaries(app: &TestApp, action: &str) -> Vec<String> {
    let pool = app.db.pool().await;
    let v = sqlx::query_scalar("SELECT summary FROM audit_events WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    v
}

/// Evidence #1 with a file version 1, for the role matrix (its `:id` paths use 1).
pub async fn seed_for_matrix(app: &TestApp) {
    let control = insert_control(app, "SEED-2", None).await;
    let admin = app.client_as(Role::Admin).await;
    let r = upload(
        app,
        &admin,
        new_evidence("Seed evidence", &[control]).file("seed.pdf", Some("application/pdf"), PDF),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

both_dbs!(upload_versions_and_download, |app| {
    let control = insert_control(&app, "AC-2", None).await;
    let c = app.client_as(Role::Compliance).await;

    // Version 1: the row, the blob at its hash path, the audit event with the hash.
    let r = upload(
        &app,
        &c,
        new_evidence("Access review Q3", &[control]).file(
            "report.pdf",
            Some("application/pdf"),
            PDF,
        ),
    )
    .await;
    assert_eq!(r.status(), 201);
    let v = json(r).await;
    let id = v["evidence_id"].as_i64().unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["sha256"], sha(PDF));
    assert_eq!(v["location"], format!("/evidence/{id}"));
    let pool = app.db.pool().await;
    let row = sqlx::query(
        "SELECT filename, media_type, size_bytes, sha256, effective_date, uploaded_by FROM evidence_versions \
         WHERE evidence_id = $1 AND version = 1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("filename"), "report.pdf");
    assert_eq!(row.get::<String, _>("media_type"), "application/pdf");
    assert_eq!(row.get::<i64, _>("size_bytes"), PDF.len() as i64);
    assert_eq!(row.get::<String, _>("effective_date"), today());
    pool.close().await;
    assert_eq!(std::fs::read(blob_path(&app, &sha(PDF))).unwrap(), PDF);
    let created = audit_summaries(&app, "evidence.created").await;
    assert_eq!(created.len(), 1);
    assert!(created[0].contains(&sha(PDF)), "{}", created[0]);
    assert!(created[0].contains("AC-2"), "{}", created[0]);

    // The same content again (another item): still one stored file and one blob row.
    let r = upload(
        &app,
        &c,
        new_evidence("Same report, other item", &[control]).file("copy.pdf", None, PDF),
    )
    .await;
    assert_eq!(r.status(), 201);
    let (stored, staging) = blob_files(&app.db.data_dir());
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(staging, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM blobs").await, 1);

    // Version 2, with a control test; version 1 stays downloadable.
    let r = upload(
        &app,
        &c,
        Form::new()
            .text("evidence_id", &id.to_string())
            .text("effective_date", &today())
            .text("period_start", "2026-07-01")
            .text("period_end", "2026-10-01")
            .text("test_procedure", "Re-performed the review for 25 accounts")
            .text("test_sample", "25 of 310 accounts, random")
            .text("test_result", "pass")
            .text("tested_on", &today())
            .file("report-v2.pdf", Some("application/pdf"), PDF_V2),
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(json(r).await["version"], 2);
    let added = audit_summaries(&app, "evidence.version_added").await;
    assert!(added[0].contains(&sha(PDF_V2)), "{}", added[0]);
    assert!(added[0].contains("control test pass"), "{}", added[0]);

    let r = app
        .get(&c, &format!("/evidence/{id}/versions/1/download"))
        .await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    let r = app
        .get(&c, &format!("/evidence/{id}/versions/2/download"))
        .await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF_V2);
    assert_eq!(
        app.get(&c, &format!("/evidence/{id}/versions/3/download"))
            .await
            .status(),
        404
    );

    // The detail page lists both versions with their download links and the test, for a
    // reader who owns none of its controls (auditors: see audits::auditors_read_only_their_audits).
    let auditor = app.client_as(Role::Finance).await;
    let page = app.get(&auditor, &format!("/evidence/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        format!("/evidence/{id}/versions/1/download"),
        format!("/evidence/{id}/versions/2/download"),
        "report-v2.pdf".to_string(),
        "PASS".to_string(),
        "2026-07-01 to 2026-10-01".to_string(),
    ] {
        assert!(html.contains(&needle), "detail page lacks {needle}");
    }
    assert!(
        !html.contains("Add a new version"),
        "readers get no upload form"
    );
    // The list filters by text, control and kind.
    let list = app
        .get(&auditor, "/evidence?q=q3")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Access review Q3") && !list.contains("Same report"));
    assert!(
        list.contains("class=\"tag\">AC-2"),
        "the list names each item's controls"
    );
    let list = app
        .get(&auditor, &format!("/evidence?control={control}&kind=link"))
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("No evidence matches"));
});

both_dbs!(links_forms_without_js_and_bad_input, |app| {
    let control = insert_control(&app, "CM-3", None).await;
    let c = app.client_as(Role::Compliance).await;
    let before = app.audit_count().await;

    // Every refusal names the field and writes nothing.
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    let cases: Vec<(Form, u16, &str)> = vec![
        (
            Form::new()
                .text("title", "X")
                .text("controls", &control.to_string())
                .text("effective_date", &tomorrow)
                .text("url", "https://example.com"),
            422,
            "Effective date",
        ),
        (
            new_evidence("Policy", &[control]).text("url", "javascript:alert(1)"),
            422,
            "must start with http:// or https://",
        ),
        (
            new_evidence("Policy", &[]).text("url", "https://example.com"),
            422,
            "Controls: choose at least one",
        ),
        (
            new_evidence("Policy", &[999_999]).text("url", "https://example.com"),
            422,
            "control #999999 does not exist",
        ),
        (
            new_evidence("Policy", &[control])
                .text("url", "https://example.com")
                .text("period_start", "2026-05-01")
                .text("period_end", "2026-04-01"),
            422,
            "Period: the end",
        ),
        (
            new_evidence("Policy", &[control])
                .text("url", "https://example.com")
                .text("test_result", "maybe"),
            422,
            "Test result",
        ),
        (
            new_evidence("Policy", &[control])
                .text("url", "https://example.com")
                .text("return_to", "//evil.example/x"),
            422,
            "return_to",
        ),
        (new_evidence("Nothing", &[control]), 422, "Choose a file"),
        (
            new_evidence("Both", &[control])
                .text("url", "https://example.com")
                .file("a.pdf", None, PDF),
            422,
            "not both",
        ),
        (
            new_evidence("Late field", &[control])
                .file("a.pdf", None, PDF)
                .text("note", "after the file"),
            422,
            "must be the last field",
        ),
    ];
    for (form, status, needle) in cases {
        let r = upload(&app, &c, form).await;
        assert_eq!(r.status(), status, "{needle}");
        let body = json(r).await;
        let msg = body["error"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg} lacks {needle}");
    }
    let r = c
        .post(app.url(UPLOAD_PATH))
        .header("Origin", &app.base)
        .form(&[("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415, "a non-multipart post is refused");
    assert_eq!(app.audit_count().await, before, "nothing was written");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM evidence").await, 0);
    assert_eq!(blob_files(&app.db.data_dir()), (vec![], 0));

    // Without JavaScript: success is a 303 to return_to (or the evidence page) ...
    let r = upload_html(
        &app,
        &c,
        new_evidence("Change policy", &[control])
            .text("url", "https://wiki.example.com/change-policy")
            .text("return_to", &format!("/controls/{control}")),
        "/evidence/new",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/controls/{control}"));
    let r = upload_html(
        &app,
        &c,
        new_evidence("Change tickets", &[control])
            .text("url", "https://tickets.example.com/q3")
            .text("return_to", ""),
        "/evidence/new",
    )
    .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/evidence/"), "{loc}");
    let page = app.get(&c, &loc).await.text().await.unwrap();
    assert!(page.contains("https://tickets.example.com/q3"));
    // ... and an error goes back to the form with the message on it.
    let r = upload_html(
        &app,
        &c,
        new_evidence("", &[control]).text("url", "https://example.com"),
        &format!("/evidence/new?control={control}"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        loc.starts_with(&format!("/evidence/new?control={control}&error=Title")),
        "{loc}"
    );
    let page = app.get(&c, &loc).await.text().await.unwrap();
    assert!(
        page.contains("Title: required."),
        "the form shows the error"
    );
    // The form preselects the control from ?control=.
    assert!(
        page.contains(&format!("value=\"{control}\" checked")),
        "control preselected"
    );

    // A link item's next version must be a link.
    let id: i64 = {
        let pool = app.db.pool().await;
        let id = sqlx::query_scalar("SELECT MIN(id) FROM evidence")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        id
    };
    let r = upload(
        &app,
        &c,
        Form::new()
            .text("evidence_id", &id.to_string())
            .text("effective_date", &today())
            .file("a.pdf", None, PDF),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(json(r).await["error"]
        .as_str()
        .unwrap()
        .contains("a new version must be a link"));
});

both_dbs!(content_must_match_the_declared_type, |app| {
    let control = insert_control(&app, "SI-3", None).await;
    let c = app.client_as(Role::Compliance).await;
    let before = app.audit_count().await;
    let cases: [(&str, Option<&str>, &[u8], &str); 6] = [
        (
            "report.pdf",
            Some("application/pdf"),
            PNG,
            "ends in .pdf but the content is a PNG image",
        ),
        (
            "shot.png",
            Some("application/pdf"),
            PNG,
            "declared as application/pdf but the content is a PNG image",
        ),
        ("tool", None, ELF, "not an allowed type"),
        ("notes.txt", Some("text/plain"), ELF, "not an allowed type"),
        (
            "page.html",
            Some("text/html"),
            b"<script>alert(1)</script>",
            ".html are not accepted",
        ),
        ("empty.txt", Some("text/plain"), b"", "the file is empty"),
    ];
    for (name, declared, data, needle) in cases {
        let r = upload(
            &app,
            &c,
            new_evidence("Scan", &[control]).file(name, declared, data),
        )
        .await;
        assert_eq!(r.status(), 415, "{name}");
        let msg = json(r).await["error"].as_str().unwrap().to_string();
        assert!(msg.starts_with(name) && msg.contains(needle), "{msg}");
    }
    assert_eq!(app.audit_count().await, before);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM evidence").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM blobs").await, 0);
    assert_eq!(
        blob_files(&app.db.data_dir()),
        (vec![], 0),
        "no stored or staged file"
    );
    // The allowed kinds pass, a CSV declared the Windows way included.
    for (name, declared, data) in [
        ("shot.png", Some("image/png"), PNG),
        (
            "data.csv",
            Some("application/vnd.ms-excel"),
            &b"a,b\n1,2\n"[..],
        ),
        ("data.json", None, &b"{\"ok\": true}"[..]),
    ] {
        let r = upload(
            &app,
            &c,
            new_evidence("Allowed", &[control]).file(name, declared, data),
        )
        .await;
        assert_eq!(r.status(), 201, "{name}");
    }
});

both_dbs!(tampered_blob_is_not_served_and_is_audited, |app| {
    let control = insert_control(&app, "AU-9", None).await;
    let c = app.client_as(Role::Compliance).await;
    let r = upload(
        &app,
        &c,
        new_evidence("Log retention", &[control]).file("retention.pdf", None, PDF),
    )
    .await;
    let id = json(r).await["evidence_id"].as_i64().unwrap();
    let path = blob_path(&app, &sha(PDF));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();

    let auditor = app.client_as(Role::Finance).await;
    let url = format!("/evidence/{id}/versions/1/download");
    let r = app.get(&auditor, &url).await;
    assert_eq!(r.status(), 500);
    assert!(r.headers().get("content-disposition").is_none());
    let body = r.text().await.unwrap();
    assert!(body.contains("failed its integrity check"), "{body}");
    assert!(!body.contains("Catalog"), "no file bytes are served");
    let failures = audit_summaries(&app, "evidence.integrity_failed").await;
    assert_eq!(failures.len(), 1);
    assert!(failures[0].contains(&sha(PDF)), "{}", failures[0]);
    assert!(failures[0].contains(&sha(&bytes)), "{}", failures[0]);

    // A missing file is refused the same way.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(app.get(&auditor, &url).await.status(), 500);
    assert_eq!(
        audit_summaries(&app, "evidence.integrity_failed")
            .await
            .len(),
        2
    );
    // Uploading the original content again restores the stored copy.
    let r = upload(
        &app,
        &c,
        new_evidence("Log retention again", &[control]).file("retention.pdf", None, PDF),
    )
    .await;
    assert_eq!(r.status(), 201);
    let r = app.get(&auditor, &url).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
});

both_dbs!(filenames_are_only_display_names, |app| {
    let control = insert_control(&app, "SC-28", None).await;
    let c = app.client_as(Role::Compliance).await;
    let cases = [
        ("../../etc/passwd", "passwd", "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"),
        (
            "..\\..\\boot.ini.txt",
            "boot.ini.txt",
            "attachment; filename=\"boot.ini.txt\"; filename*=UTF-8''boot.ini.txt",
        ),
        (
            "a\tb\u{202e}gpj.txt",
            "abgpj.txt",
            "attachment; filename=\"abgpj.txt\"; filename*=UTF-8''abgpj.txt",
        ),
        (
            "Prüfbericht \u{85}Q3.txt",
            "Prüfbericht Q3.txt",
            "attachment; filename=\"Pr_fbericht Q3.txt\"; filename*=UTF-8''Pr%C3%BCfbericht%20Q3.txt",
        ),
    ];
    for (i, (raw, shown, disposition)) in cases.into_iter().enumerate() {
        let content = format!("evidence {i}\n");
        let r = upload(
            &app,
            &c,
            new_evidence("Names", &[control]).file(raw, Some("text/plain"), content.as_bytes()),
        )
        .await;
        assert_eq!(r.status(), 201, "{raw:?}");
        let v = json(r).await;
        let id = v["evidence_id"].as_i64().unwrap();
        let pool = app.db.pool().await;
        let stored: String =
            sqlx::query_scalar("SELECT filename FROM evidence_versions WHERE evidence_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        assert_eq!(stored, shown, "{raw:?}");
        let r = app
            .get(&c, &format!("/evidence/{id}/versions/1/download"))
            .await;
        assert_eq!(r.headers()["content-disposition"], disposition);
        assert_eq!(r.text().await.unwrap(), content);
    }
    // Only hash-named files were written, all inside the data directory's blob folder.
    let (stored, staging) = blob_files(&app.db.data_dir());
    assert_eq!(staging, 0);
    assert_eq!(stored.len(), 4);
    for p in stored {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
    }
    let top: Vec<String> = std::fs::read_dir(app.db.data_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        // The database and the audit signing key live there too, by design.
        .filter(|n| !n.starts_with("steward.db") && n != app::signing::KEY_FILE_NAME)
        .collect();
    assert_eq!(top, vec!["blobs".to_string()]);
});

both_dbs!(owners_submit_evidence_auditors_never, |app| {
    let own = insert_control(&app, "FIN-1", Some("finance")).await;
    let other = insert_control(&app, "FIN-2", Some("compliance")).await;
    let finance = app.client_as(Role::Finance).await;
    let before = app.audit_count().await;

    for controls in [vec![other], vec![own, other]] {
        let r = upload(
            &app,
            &finance,
            new_evidence("Budget sign-off", &controls).file("signoff.pdf", None, PDF),
        )
        .await;
        assert_eq!(r.status(), 403);
        let msg = json(r).await["error"].as_str().unwrap().to_string();
        assert!(
            msg.contains("only to controls you own") && msg.contains("FIN-2"),
            "{msg}"
        );
    }
    assert_eq!(app.audit_count().await, before);
    assert_eq!(blob_files(&app.db.data_dir()), (vec![], 0));

    let r = upload(
        &app,
        &finance,
        new_evidence("Budget sign-off", &[own]).file("signoff.pdf", None, PDF),
    )
    .await;
    assert_eq!(r.status(), 201);
    let own_id = json(r).await["evidence_id"].as_i64().unwrap();
    // The new-evidence form offers only the finance user's own control.
    let page = app
        .get(&finance, "/evidence/new")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("FIN-1") && !page.contains(&format!("value=\"{other}\"")));

    // A new version of evidence on someone else's control is refused too.
    let compliance = app.client_as(Role::Compliance).await;
    let r = upload(
        &app,
        &compliance,
        new_evidence("Risk register", &[other]).file("risk.pdf", None, PDF_V2),
    )
    .await;
    let other_id = json(r).await["evidence_id"].as_i64().unwrap();
    let version = |id: i64| {
        Form::new()
            .text("evidence_id", &id.to_string())
            .text("effective_date", &today())
            .file("next.pdf", None, PDF_V2)
    };
    assert_eq!(
        upload(&app, &finance, version(other_id)).await.status(),
        403
    );
    assert_eq!(upload(&app, &finance, version(own_id)).await.status(), 201);
    // Compliance staff may add to any control.
    assert_eq!(
        upload(&app, &compliance, version(own_id)).await.status(),
        201
    );

    // Auditors write nothing, and read no evidence outside their audits (they have none here).
    let auditor = app.client_as(Role::Auditor).await;
    let before = app.audit_count().await;
    let r = upload(
        &app,
        &auditor,
        new_evidence("Auditor upload", &[own]).file("a.pdf", None, PDF),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.audit_count().await, before);
    assert_eq!(app.get(&auditor, "/evidence/new").await.status(), 403);
    assert_eq!(app.get(&auditor, "/evidence").await.status(), 200);
    assert_eq!(
        app.get(&auditor, &format!("/evidence/{own_id}/versions/2/download"))
            .await
            .status(),
        404
    );
    // Anonymous downloads go to the sign-in page.
    let r = app
        .get(
            &app.client(),
            &format!("/evidence/{own_id}/versions/1/download"),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?next=/evidence/"));
});

/// Peak resident memory of a process (kB), from /proc.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The limit is measured on a real `steward serve` process (its own VmHWM, unaffected by the
/// other tests running in this process): 300 MiB sent against a 1 MiB limit, once with a
/// Content-Length (refused before the body is read) and once chunked (refused while counting).
/// A server that buffered the body would raise its peak by hundreds of MiB.
async fn oversized_upload_refused_without_buffering(backend: Backend) {
    use futures_util::StreamExt;
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let data_dir = db.data_dir().display().to_string();
    let server = steward_tests::SpawnedServer::spawn(
        &[],
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("STEWARD_DATA_DIR", &data_dir),
            ("STEWARD_MAX_UPLOAD_MB", "1"),
            ("STEWARD_LOG_LEVEL", "warn"),
        ],
    )
    .await;
    let base = server.base.clone();
    let c = server.client_as("admin").await;
    let control: i64 = {
        let pool = db.pool().await;
        let now = app::util::ts(time::OffsetDateTime::now_utc());
        let id = sqlx::query_scalar(
            "INSERT INTO controls (ref, title, created_at, updated_at) VALUES ('BIG-1', 'Big', $1, $1) RETURNING id",
        )
        .bind(&now)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        id
    };
    let send = |body: reqwest::Body, len: Option<u64>| {
        let mut req = c
            .post(format!("{base}{UPLOAD_PATH}"))
            .header("Origin", &base)
            .header("Accept", "application/json")
            .header("Content-Type", content_type())
            .body(body);
        if let Some(n) = len {
            req = req.header("Content-Length", n);
        }
        req.send()
    };
    // Just under the limit is accepted.
    let small = new_evidence("Within the limit", &[control])
        .file("ok.txt", Some("text/plain"), &vec![b'a'; 1024 * 1024])
        .finish();
    let r = send(small.into(), None).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let pid = server.pid();
    let before = vm_hwm_kib(pid);
    const MIB: usize = 1024 * 1024;
    for declared in [true, false] {
        let head = new_evidence("Too big", &[control])
            .file_header("big.txt", Some("text/plain"))
            .into_head();
        let tail = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
        let total = (head.len() + 300 * MIB + tail.len()) as u64;
        // One 1 MiB block sent 300 times: the client holds 1 MiB, not 300.
        let block = bytes::Bytes::from(vec![b'a'; MIB]);
        let parts = futures_util::stream::iter(
            std::iter::once(bytes::Bytes::from(head))
                .chain(std::iter::repeat_n(block, 300))
                .chain(std::iter::once(bytes::Bytes::from(tail))),
        )
        .map(Ok::<_, std::io::Error>);
        let res = send(reqwest::Body::wrap_stream(parts), declared.then_some(total)).await;
        match res {
            Ok(r) => {
                assert_eq!(r.status(), 413, "declared length: {declared}");
                let msg = json(r).await["error"].as_str().unwrap().to_string();
                assert!(msg.contains("limit of 1 MiB"), "{msg}");
            }
            // The server may close the connection while the client is still sending; the
            // status is then lost, but nothing may have been stored (checked below).
            Err(e) => eprintln!(
                "upload of 300 MiB (declared length: {declared}) cut off by the server: {e}"
            ),
        }
    }
    let after = vm_hwm_kib(pid);
    eprintln!("server VmHWM before {before} kB, after {after} kB");
    assert!(before > 0, "VmHWM readable");
    assert!(
        after < before + 24 * 1024,
        "the server's peak memory grew by {} kB while refusing 600 MiB",
        after - before
    );
    let pool = db.pool().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evidence")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "only the upload within the limit was stored");
    pool.close().await;
    let (stored, staging) = blob_files(&db.data_dir());
    assert_eq!((stored.len(), staging), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upload_is_refused_without_buffering_sqlite() {
    oversized_upload_refused_without_buffering(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upload_is_refused_without_buffering_postgres() {
    oversized_upload_refused_without_buffering(Backend::Postgres).await;
}

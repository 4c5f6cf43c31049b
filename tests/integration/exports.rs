//! Evidence exports: period-scoped, deterministic, signed ZIPs that standard tools and
//! `steward verify-export` can check; every download audited.

use super::evidence::{upload, Form};
use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use time::{Date, Duration};

const FRAMEWORK_CSV: &str =
    "id,title,description,group\nR-1,Access reviews,,Access\nR-2,Backups,,Ops\nR-3,Encryption,,Ops\n";

fn pdf(label: &str) -> Vec<u8> {
    format!("%PDF-1.7\n% {label}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
        .into_bytes()
}

fn sha(data: &[u8]) -> String {
    app::util::sha256_hex(data)
}

pub async fn json(r: reqwest::Response) -> serde_json::Value {
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// A control made through the app; its id.
async fn control(app: &TestApp, c: &reqwest::Client, reference: &str) -> i64 {
    let r = app
        .call(
            c,
            "/api/save_control",
            &[
                ("form[ref]", reference),
                ("form[title]", &format!("Control {reference}")),
                ("form[cadence]", "none"),
                ("form[owner]", ""),
                ("form[description]", ""),
                ("form[justification]", ""),
            ],
        )
        .await;
    json(r).await.as_i64().expect("control id")
}

/// Evidence version: a new item for `controls`, or a new version of `evidence_id`.
async fn add(
    app: &TestApp,
    c: &reqwest::Client,
    target: Result<i64, &[i64]>,
    effective: Date,
    file: Option<(&str, &[u8])>,
) -> i64 {
    let mut f = Form::new();
    match target {
        Ok(id) => f = f.text("evidence_id", &id.to_string()),
        Err(controls) => {
            f = f.text("title", "Evidence").text("description", "");
            for c in controls {
                f = f.text("controls", &c.to_string());
            }
        }
    }
    f = f.text("effective_date", &effective.to_string());
    f = match file {
        Some((name, bytes)) => f.file(name, Some("application/pdf"), bytes),
        None => f.text("url", "https://wiki.example/runbooks/backup"),
    };
    let r = upload(app, c, f).await;
    assert_eq!(r.status(), 201);
    json(r).await["evidence_id"].as_i64().unwrap()
}

pub struct Setup {
    pub from: Date,
    pub to: Date,
    v1: Vec<u8>,
    v2: Vec<u8>,
    v3: Vec<u8>,
    other: Vec<u8>,
    outside: Vec<u8>,
}

/// A framework (key `custom`) with two mapped controls and evidence around a period of 200
/// days ending tomorrow; then the clock moves past the period's end, so the exports' own audit
/// events fall outside it.
pub async fn setup(app: &TestApp) -> Setup {
    let co = app.client_as(Role::Compliance).await;
    // Through the CSV's mapping step, as guessed.
    let r = super::controls::upload(
        app,
        &co,
        app::paths::FRAMEWORK_IMPORT,
        "custom.csv",
        FRAMEWORK_CSV.as_bytes().to_vec(),
        &[("name", "Custom")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let fw: i64 = sqlx::query_scalar("SELECT id FROM frameworks WHERE key = 'custom'")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    let c1 = control(app, &co, "IAM-1").await;
    let c2 = control(app, &co, "OPS-1").await;
    let c9 = control(app, &co, "HR-9").await;
    for (c, reqs) in [(c1, "R-1"), (c2, "R-2")] {
        let r = app
            .call(
                &co,
                "/api/map_control",
                &[
                    ("control_id", c.to_string()),
                    ("framework_id", fw.to_string()),
                    ("requirements", reqs.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let today = app.state().app.clock.now().date();
    let s = Setup {
        from: today - Duration::days(200),
        to: today + Duration::days(1),
        v1: pdf("policy, first edition"),
        v2: pdf("policy, second edition"),
        v3: pdf("policy, third edition"),
        other: pdf("backup report"),
        outside: pdf("not mapped to the framework"),
    };
    // v1 was replaced before the period began; v2 was in force when it began; v3 came in it.
    let e1 = add(
        app,
        &co,
        Err(&[c1]),
        today - Duration::days(300),
        Some(("policy.pdf", &s.v1)),
    )
    .await;
    add(
        app,
        &co,
        Ok(e1),
        today - Duration::days(250),
        Some(("policy.pdf", &s.v2)),
    )
    .await;
    add(
        app,
        &co,
        Ok(e1),
        today - Duration::days(100),
        Some(("policy.pdf", &s.v3)),
    )
    .await;
    add(
        app,
        &co,
        Err(&[c2]),
        today - Duration::days(5),
        Some(("../backup report.pdf", &s.other)),
    )
    .await;
    add(app, &co, Err(&[c2]), today - Duration::days(3), None).await;
    add(
        app,
        &co,
        Err(&[c9]),
        today - Duration::days(10),
        Some(("hr.pdf", &s.outside)),
    )
    .await;
    app.state().app.clock.advance(Duration::days(3));
    s
}

pub fn query(s: &Setup) -> String {
    format!(
        "{}?framework=custom&from={}&to={}",
        app::paths::EVIDENCE_EXPORT,
        s.from,
        s.to
    )
}

pub async fn download(app: &TestApp, c: &reqwest::Client, s: &Setup) -> (Vec<u8>, String) {
    let r = app.get(c, &query(s)).await;
    assert_eq!(r.status(), 200, "{:?}", r.headers());
    assert_eq!(r.headers()["content-type"], "application/zip");
    let sha = r.headers()["x-steward-export-sha256"]
        .to_str()
        .unwrap()
        .to_string();
    (r.bytes().await.unwrap().to_vec(), sha)
}

pub fn tmp_dir(app: &TestApp, name: &str) -> PathBuf {
    let d = app.db.data_dir().join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `steward ARGS` with this app's data folder: (exit code, stdout).
pub fn steward(app: &TestApp, args: &[&str]) -> (i32, String) {
    let out = Command::new(steward_tests::steward_bin())
        .args(args)
        .env("DATABASE_URL", &app.db.url)
        .env("STEWARD_DATA_DIR", app.db.data_dir())
        .env("STEWARD_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn run_in(dir: &Path, cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (scripts/setup.sh --test installs it)"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

both_dbs!(
    an_export_is_period_scoped_signed_and_the_same_twice,
    |app| {
        let s = setup(&app).await;
        let admin = app.client_as(Role::Admin).await;
        let (zip1, sha1) = download(&app, &admin, &s).await;
        assert_eq!(sha(&zip1), sha1, "the header names the archive's own hash");
        let co = app.client_as(Role::Compliance).await;
        let (zip2, _) = download(&app, &co, &s).await;
        assert!(zip1 == zip2, "the same data exports to the same bytes");

        // The fuzz target's seed is such an archive (docs/fuzzing.md): refreshed on request.
        if let Ok(dir) = std::env::var("STEWARD_WRITE_EXPORT_SEED") {
            std::fs::write(Path::new(&dir).join("export.zip"), &zip1).unwrap();
        }
        // Standard tools: unzip, sha256sum -c, openssl for the signature.
        let dir = tmp_dir(&app, "unzipped");
        std::fs::write(dir.join("export.zip"), &zip1).unwrap();
        let (ok, out) = run_in(&dir, "unzip", &["-q", "export.zip", "-d", "x"]);
        assert!(ok, "{out}");
        let x = dir.join("x");
        let (ok, out) = run_in(&x, "sha256sum", &["--strict", "-c", "SHA256SUMS"]);
        assert!(ok, "{out}");
        assert!(!out.contains("FAILED"), "{out}");
        let (ok, out) = run_in(
            &x,
            "openssl",
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "public-key.pem",
                "-rawin",
                "-in",
                "manifest.json",
                "-sigfile",
                "manifest.sig",
            ],
        );
        assert!(
            ok && out.contains("Signature Verified Successfully"),
            "{out}"
        );

        // Only what speaks for the period: v2 (in force when it began) and v3, not v1; not the
        // evidence of a control outside the framework; the link is listed, not a file.
        let mut files: Vec<String> = walk(&x.join("evidence"));
        files.sort();
        let e1: i64 = sqlx::query_scalar("SELECT MIN(evidence_id) FROM evidence_versions")
            .fetch_one(app.state().app.db.pool())
            .await
            .unwrap();
        let expected = vec![
            format!("{e1}/v2/policy.pdf"),
            format!("{e1}/v3/policy.pdf"),
            format!("{}/v1/backup report.pdf", e1 + 1),
        ];
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(files, expected_sorted);
        assert_eq!(
            std::fs::read(x.join("evidence").join(&expected[0])).unwrap(),
            s.v2
        );
        assert_eq!(
            std::fs::read(x.join("evidence").join(&expected[1])).unwrap(),
            s.v3
        );
        let all = String::from_utf8_lossy(&zip1).to_string();
        assert!(!all.contains("first edition") && !all.contains("not mapped"));
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(x.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["format"], "steward.evidence-export.v1");
        assert_eq!(m["period"]["start"], s.from.to_string());
        assert_eq!(m["counts"]["evidence_files"], 3);
        assert_eq!(m["counts"]["links"], 1);
        assert_eq!(m["links"][0]["url"], "https://wiki.example/runbooks/backup");
        let v3 = m["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == format!("evidence/{e1}/v3/policy.pdf"))
            .unwrap();
        assert_eq!(v3["sha256"], sha(&s.v3));
        assert_eq!(v3["evidence"]["version"], 3);
        assert_eq!(v3["evidence"]["controls"][0], "IAM-1");
        assert!(v3["evidence"]["uploaded_by"].as_str().unwrap().len() > 1);
        // The period's audit trail, every event anchored by a signed checkpoint.
        let events = std::fs::read_to_string(x.join("audit/events.jsonl")).unwrap();
        assert!(
            events.contains("\"action\":\"evidence.created\""),
            "{events}"
        );
        assert!(
            !events.contains("export.downloaded"),
            "exports came after the period"
        );
        assert!(m["counts"]["checkpoints"].as_i64().unwrap() >= 1);
        // The Statement of Applicability and the index.
        let soa = std::fs::read_to_string(x.join("soa.csv")).unwrap();
        assert!(
            soa.starts_with(
                "requirement,title,group,applicability,justification,controls,control_status\r\n"
            ),
            "{soa}"
        );
        assert!(
            soa.contains("R-1,Access reviews,Access,applicable,,IAM-1,IAM-1: "),
            "{soa}"
        );
        assert!(soa.contains("R-3,Encryption,Ops,not addressed,,,"), "{soa}");
        let html = std::fs::read_to_string(x.join("index.html")).unwrap();
        assert!(
            html.contains("backup%20report.pdf"),
            "links are relative and encoded"
        );
        assert!(
            !html.contains("http://") && !html.contains("<script"),
            "opens offline"
        );

        // steward verify-export: intact; the downloads are in the audit trail with the hash.
        let zip_path = dir.join("export.zip");
        let key = app.state().app.signer.public_key_b64();
        let (code, out) = steward(
            &app,
            &[
                "verify-export",
                zip_path.to_str().unwrap(),
                "--public-key",
                &key,
            ],
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("export intact"), "{out}");
        let summaries: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, summary FROM audit_events WHERE action = 'export.downloaded' ORDER BY seq",
    )
    .fetch_all(app.state().app.db.pool())
    .await
    .unwrap();
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[0].0, "admin");
        assert!(summaries[0].1.contains(&sha1), "{}", summaries[0].1);
        assert!(summaries[0].1.contains("custom"), "{}", summaries[0].1);
    }
);

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// Flips one byte of `needle`'s first occurrence in `zip`.
fn tampered(zip: &[u8], needle: &[u8]) -> Vec<u8> {
    let at = zip
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("content stored as is");
    let mut out = zip.to_vec();
    out[at + needle.len() / 2] ^= 0x01;
    out
}

both_dbs!(
    verify_export_names_what_was_changed_and_refuses_a_wrong_key,
    |app| {
        let s = setup(&app).await;
        let admin = app.client_as(Role::Admin).await;
        let (zip, _) = download(&app, &admin, &s).await;
        let dir = tmp_dir(&app, "verify");
        let key = app.state().app.signer.public_key_b64();
        let check = |bytes: &[u8], name: &str, key: &str| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            steward(
                &app,
                &["verify-export", p.to_str().unwrap(), "--public-key", key],
            )
        };
        // One byte of an evidence file.
        let (code, out) = check(&tampered(&zip, &s.v3), "file.zip", &key);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("export FAILED"), "{out}");
        assert!(
            out.contains("FAIL evidence/") && out.contains("/v3/policy.pdf"),
            "{out}"
        );
        // One byte of the manifest: named, and the signature no longer holds.
        let (code, out) = check(
            &tampered(&zip, b"\"format\": \"steward"),
            "manifest.zip",
            &key,
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAIL manifest.json"), "{out}");
        // One byte of the audit excerpt.
        let (code, out) = check(
            &tampered(&zip, b"\"action\":\"evidence.created\""),
            "events.zip",
            &key,
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAIL audit/events.jsonl"), "{out}");
        // Another key: the signature and the checkpoints fail.
        let other = {
            let d = tmp_dir(&app, "other-key");
            app::signing::Signer::load_or_create(&d, None)
                .unwrap()
                .public_key_b64()
        };
        let (code, out) = check(&zip, "intact.zip", &other);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("FAIL manifest.sig") && out.contains("does not verify"),
            "{out}"
        );
        // Not an archive at all: named, no panic.
        let (code, out) = check(b"PK\x03\x04 not really", "junk.zip", &key);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("not a readable ZIP"), "{out}");
        // The untouched archive verifies with the key read from a PEM file too.
        let pem = dir.join("steward.pem");
        std::fs::write(&pem, app.state().app.signer.public_key().to_pem()).unwrap();
        let (code, out) = check(&zip, "intact.zip", pem.to_str().unwrap());
        assert_eq!(code, 0, "{out}");
    }
);

both_dbs!(the_command_line_writes_the_same_export, |app| {
    let s = setup(&app).await;
    let dir = tmp_dir(&app, "cli");
    let out = dir.join("export.zip");
    let (code, text) = steward(
        &app,
        &[
            "export-evidence",
            "--framework",
            "custom",
            "--from",
            &s.from.to_string(),
            "--to",
            &s.to.to_string(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("3 evidence files"), "{text}");
    assert!(!dir.join("export.zip.part").exists());
    // Checked with the key file's public half (no --public-key).
    let (code, text) = steward(&app, &["verify-export", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let actions = app.audit_actions().await;
    assert!(
        actions.contains(&"export.created".to_string()),
        "{actions:?}"
    );
    // Bad words are refused before anything is read or written.
    let (code, text) = steward(
        &app,
        &[
            "export-evidence",
            "--framework",
            "custom",
            "--from",
            "2026-05-01",
            "--to",
            "2026-04-01",
            "--out",
            "x.zip",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("to: the period ends"), "{text}");
    let (code, text) = steward(
        &app,
        &[
            "export-evidence",
            "--framework",
            "nope",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--out",
            dir.join("n.zip").to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("no imported framework has the key 'nope'"),
        "{text}"
    );
    assert!(!dir.join("n.zip").exists() && !dir.join("n.zip.part").exists());
});

both_dbs!(exports_are_for_the_roles_that_may_take_them, |app| {
    let s = setup(&app).await;
    for role in [Role::Finance, Role::Member] {
        let c = app.client_as(role).await;
        assert_eq!(app.get(&c, &query(&s)).await.status(), 403, "{role:?}");
    }
    let anonymous = app.client();
    assert_eq!(app.get(&anonymous, &query(&s)).await.status(), 303);
    // A bad period is a clear 422, not an empty archive.
    let co = app.client_as(Role::Compliance).await;
    let r = app
        .get(
            &co,
            &format!(
                "{}?framework=custom&from=2026-02-30&to=2026-03-01",
                app::paths::EVIDENCE_EXPORT
            ),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("from: '2026-02-30' is not a date"));
    // Auditors export their audits only. This one's access ends in ten minutes (time-boxed),
    // and is refused once it has.
    app.user(Role::Auditor).await;
    sqlx::query("UPDATE users SET access_expires_at = $1 WHERE username = 'auditor'")
        .bind(app::util::ts(
            app.state().app.clock.now() + Duration::minutes(10),
        ))
        .execute(app.state().app.db.pool())
        .await
        .unwrap();
    let audit = super::audits::plan_audit(&app, &s).await;
    let auditor = app.client_as(Role::Auditor).await;
    assert_eq!(
        app.get(&auditor, &query(&s)).await.status(),
        403,
        "no audit named"
    );
    let by_audit = format!("{}?audit={audit}", app::paths::EVIDENCE_EXPORT);
    assert_eq!(app.get(&auditor, &by_audit).await.status(), 200);
    let other = format!("{}?audit={}", app::paths::EVIDENCE_EXPORT, audit + 1);
    assert_eq!(app.get(&auditor, &other).await.status(), 404);
    app.state().app.clock.advance(Duration::minutes(15));
    let r = app.get(&auditor, &by_audit).await;
    assert_eq!(r.status(), 303, "sent to sign in again");
    let to = r.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/login?next=/exports/evidence.zip"), "{to}");
    let page = app
        .get(&app.client_as(Role::Compliance).await, app::paths::EXPORTS)
        .await;
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"export-form\"") && html.contains("Custom"),
        "{html}"
    );
});

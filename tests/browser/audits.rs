//! An audit in the browser: the auditor draws a sample and raises a request; the compliance
//! officer answers with evidence; the auditor accepts one answer, returns another, and
//! downloads the audit's signed export, directly and built in the background.

use super::*;
use app::policy::Role;

async fn ok(r: reqwest::Response) -> serde_json::Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Framework `custom`, control IAM-1 mapped to R-1, two evidence files; the audit with the
/// demo auditor. Returns the audit's id.
async fn prepare(app: &TestApp) -> i64 {
    app.user(Role::Auditor).await;
    let co = app.client_as(Role::Compliance).await;
    let csv = "id,title,description,group\nR-1,Access reviews,,Access\nR-2,Backups,,Ops\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("custom.csv"),
    );
    let r = co
        .post(app.url(app::paths::FRAMEWORK_IMPORT))
        .header("Origin", &app.base)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    // A CSV goes on to its mapping step: its token, then the columns.
    let token = ok(r).await["token"].as_str().unwrap().to_string();
    ok(app
        .call(
            &co,
            "/api/import_mapped_framework",
            &[
                ("token", token.as_str()),
                ("name", "Custom"),
                ("version", "1"),
                ("map[id]", "id"),
                ("map[title]", "title"),
                ("map[group]", "group"),
            ],
        )
        .await)
    .await;
    let control = ok(app
        .call(
            &co,
            "/api/save_control",
            &[
                ("form[ref]", "IAM-1"),
                ("form[title]", "Access is reviewed quarterly"),
                ("form[cadence]", "none"),
            ],
        )
        .await)
    .await
    .as_i64()
    .unwrap();
    let fw: i64 = sqlx::query_scalar("SELECT id FROM frameworks WHERE key = 'custom'")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    ok(app
        .call(
            &co,
            "/api/map_control",
            &[
                ("control_id", control.to_string()),
                ("framework_id", fw.to_string()),
                ("requirements", "R-1".into()),
            ],
        )
        .await)
    .await;
    let today = app.state().app.clock.now().date();
    for (i, days) in [(1, 40), (2, 10)] {
        let form = reqwest::multipart::Form::new()
            .text("title", format!("Access review {i}"))
            .text("description", "")
            .text(
                "effective_date",
                (today - time::Duration::days(days)).to_string(),
            )
            .text("controls", control.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(
                    format!("%PDF-1.7\n% review {i}\n%%EOF\n").into_bytes(),
                )
                .file_name(format!("review-{i}.pdf"))
                .mime_str("application/pdf")
                .unwrap(),
            );
        let r = co
            .post(app.url(app::paths::EVIDENCE_UPLOAD))
            .header("Origin", &app.base)
            .header("Accept", "application/json")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    ok(app
        .call(
            &co,
            "/api/save_audit",
            &[
                ("form[name]", "FY26 access audit"),
                (
                    "form[start]",
                    &(today - time::Duration::days(200)).to_string(),
                ),
                ("form[end]", &(today + time::Duration::days(1)).to_string()),
                ("form[frameworks]", "custom"),
                ("form[auditors]", "auditor"),
            ],
        )
        .await)
    .await
    .as_i64()
    .unwrap()
}

async fn open_request(c: &Client, app: &TestApp, audit: i64, reference: &str) {
    visit(c, &app.url(&app::paths::audit(audit))).await;
    wait_for(c, "#requests").await;
    let link = format!("//table[@id='requests']//a[text()='{reference}']");
    c.find(Locator::XPath(&link))
        .await
        .unwrap_or_else(|e| panic!("{reference}: {e}"))
        .click()
        .await
        .unwrap();
    wait_for(c, "#request-status").await;
}

async fn status_is(c: &Client, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = text(c, "#request-status").await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "status {got}, expected {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn audit_flow(app: TestApp) {
    let audit = prepare(&app).await;
    let due = (app.state().app.clock.now().date() + time::Duration::days(14)).to_string();

    // The auditor: a sample of two evidence versions, and one request by hand.
    let (_d1, c) = start(true).await;
    sign_in(&c, &app, "auditor").await;
    visit(&c, &app.url(app::paths::AUDITS)).await;
    wait_for(&c, "#audits a").await;
    click(&c, "#audits a").await;
    wait_for(&c, "#sample-form").await;
    set_value(&c, "#sm-size", "2").await;
    type_into(&c, "#sm-seed", "browser-fy26").await;
    set_value(&c, "#sm-due", &due).await;
    set_value(&c, "#sm-who", "compliance").await;
    click(&c, "#sample-form button[type=submit]").await;
    wait_for(&c, "#samples li").await;
    assert!(text(&c, "#samples").await.contains("browser-fy26"));
    wait_for(&c, "#requests tr[data-status='open']").await;
    type_into(
        &c,
        "#rq-text",
        "The joiner and leaver tickets of the period",
    )
    .await;
    set_value(&c, "#rq-due", &due).await;
    set_value(&c, "#rq-who", "compliance").await;
    click(&c, "#request-form button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !text(&c, "#requests").await.contains("PBC-003") {
        assert!(
            Instant::now() < deadline,
            "the raised request did not appear"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_clean_console(&c, "after sampling and raising").await;
    c.close().await.unwrap();

    // The officer answers the two sampled requests.
    let (_d2, c) = start(true).await;
    sign_in(&c, &app, "compliance").await;
    for (reference, note) in [("PBC-001", ""), ("PBC-002", "Both reviews are attached")] {
        open_request(&c, &app, audit, reference).await;
        wait_for(&c, "#attach-form").await;
        click(&c, "#attach-form button[type=submit]").await;
        wait_for(&c, "#request-evidence li").await;
        if !note.is_empty() {
            type_into(&c, "#mv-note", note).await;
        }
        click(&c, "#move-form button[value=submit]").await;
        status_is(&c, "submitted").await;
    }
    c.close().await.unwrap();

    // The auditor accepts one, returns the other with a reason, and takes the export.
    let (d3, c) = start(true).await;
    sign_in(&c, &app, "auditor").await;
    open_request(&c, &app, audit, "PBC-001").await;
    click(&c, "#move-form button[value=accept]").await;
    status_is(&c, "accepted").await;
    open_request(&c, &app, audit, "PBC-002").await;
    type_into(&c, "#mv-note", "Show the approvals, not only the list").await;
    click(&c, "#move-form button[value=return]").await;
    status_is(&c, "returned").await;
    assert!(text(&c, "#thread").await.contains("Show the approvals"));
    visit(&c, &app.url(&app::paths::audit(audit))).await;
    wait_for(&c, "#audit-counts").await;
    let counts = text(&c, "#audit-counts").await;
    let png = c.screenshot().await.unwrap();
    let backend = format!("{:?}", app.db.backend).to_lowercase();
    std::fs::write(artifact(&format!("browser-audit-{backend}.png")), png).unwrap();
    assert!(
        counts.contains("1 accepted") && counts.contains("1 returned"),
        "{counts}"
    );
    click(&c, "#audit-export").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let zip = loop {
        let done = std::fs::read_dir(d3.downloads()).ok().and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "zip"))
        });
        if let Some(p) = done {
            break std::fs::read(p).unwrap();
        }
        assert!(Instant::now() < deadline, "no ZIP was downloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut requests = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("requests.csv").unwrap(), &mut requests)
        .unwrap();
    assert!(
        requests.contains("PBC-001") && requests.contains(",accepted,"),
        "{requests}"
    );
    assert!(requests.contains(",returned,"), "{requests}");

    // The same export built in the background: the page shows it building (reloading itself),
    // then a download link with its SHA-256.
    visit(&c, &app.url(app::paths::EXPORTS)).await;
    click(&c, "#audit-exports .build-export").await;
    wait_for(&c, "#export-jobs a.export-download").await;
    let sha = text(&c, "#export-jobs tr[data-status=ready] code.sha").await;
    assert_eq!(sha.len(), 64, "{sha}");
    click(&c, "#export-jobs a.export-download").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let built = loop {
        let zips: Vec<_> = std::fs::read_dir(d3.downloads())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "zip"))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(p) = zips
            .iter()
            .find(|p| std::fs::read(p).is_ok_and(|b| app::util::sha256_hex(&b) == sha))
        {
            break std::fs::read(p).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the built export was not downloaded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(built)).unwrap();
    assert!(archive.by_name("manifest.sig").is_ok());
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    let actions = app.audit_actions().await;
    for a in [
        "audit.sample",
        "audit.request_accepted",
        "audit.request_returned",
        "export.downloaded",
        "export.requested",
        "export.built",
    ] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
    app.stop().await;
}

browser_test!(an_auditor_samples_and_reviews_the_officers_answers, |app| {
    audit_flow(app).await
});

//! The vendor register as CSV: the export reads back through the import's guessed mapping and
//! changes nothing; the import updates vendors by name (keeping what the file does not map)
//! and creates the others; a bad row is named by row and field and nothing is written; a
//! German semicolon file with a BOM maps itself; who may export and import.

use super::access_campaigns::member;
use super::exports::json;
use super::*;

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    c.post(app.url(app::paths::VENDOR_IMPORT))
        .header("origin", app.url(""))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Uploads `bytes` and imports them with the mapping the page offers; the response.
async fn import(app: &TestApp, c: &reqwest::Client, bytes: Vec<u8>) -> reqwest::Response {
    let r = upload(app, c, "vendors.csv", bytes).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let token = json(r).await["token"].as_str().unwrap().to_string();
    let p = json(
        app.call(c, "/api/pending_vendor_import", &[("token", token.clone())])
            .await,
    )
    .await;
    let mut form = vec![("token".to_string(), token)];
    for m in p["mapping"].as_array().unwrap() {
        if let Some(h) = m[2].as_str() {
            form.push((format!("map[{}]", m[0].as_str().unwrap()), h.to_string()));
        }
    }
    app.call(c, "/api/import_vendors", &form).await
}

async fn export(app: &TestApp, c: &reqwest::Client) -> reqwest::Response {
    app.get(c, app::paths::VENDOR_EXPORT).await
}

type VendorRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);
type VendorRest = (Option<String>, String, String, Option<i64>, String);
type ContractRow = (
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
    String,
);

/// Every vendor and contract as stored (ids and timestamps aside: owners, parents and
/// contracts' vendors by name), in a stable order.
async fn register(app: &TestApp) -> Vec<String> {
    let pool = app.state().app.db.pool();
    let vendors: Vec<VendorRow> =
        sqlx::query_as(
            "SELECT v.name, v.legal_name, v.website, v.category, u.username, v.services, v.countries, v.data_categories \
             FROM vendors v LEFT JOIN users u ON u.id = v.owner_id ORDER BY v.name",
        )
        .fetch_all(pool)
        .await
        .unwrap();
    let more: Vec<VendorRest> = sqlx::query_as(
        "SELECT p.name, v.data_sensitivity, v.business_impact, v.tier_override, v.override_reason \
         FROM vendors v LEFT JOIN vendors p ON p.id = v.subprocessor_of ORDER BY v.name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let contracts: Vec<ContractRow> =
        sqlx::query_as(
            "SELECT v.name, c.title, c.start_date, c.end_date, c.auto_renew, c.renewal_term, c.notice_period, \
             c.annual_value, c.currency FROM vendor_contracts c JOIN vendors v ON v.id = c.vendor_id ORDER BY v.name, c.title",
        )
        .fetch_all(pool)
        .await
        .unwrap();
    vendors
        .iter()
        .zip(&more)
        .map(|(v, m)| format!("{v:?} {m:?}"))
        .chain(contracts.iter().map(|c| format!("{c:?}")))
        .collect()
}

/// The username owning a vendor of the list.
async fn owner(app: &TestApp, c: &reqwest::Client, v: &serde_json::Value) -> serde_json::Value {
    let d = app
        .call(c, "/api/get_vendor", &[("id", v["id"].to_string())])
        .await;
    json(d).await["owner_username"].clone()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap()
}

async fn save(app: &TestApp, c: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> i64 {
    let form: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let r = app.call(c, path, &form).await;
    assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    json(r).await.as_i64().unwrap()
}

both_dbs!(the_vendor_export_reads_back_unchanged, |app| {
    let co = app.client_as(Role::Compliance).await;
    let fin = app.client_as(Role::Finance).await;
    member(&app, "mia", "mia@x.io").await;
    let acme = save(
        &app,
        &co,
        "/api/save_vendor",
        &[
            ("form[name]", "Acme Cloud"),
            ("form[legal_name]", "Acme Cloud GmbH"),
            ("form[website]", "https://acme.example"),
            ("form[category]", "Hosting"),
            ("form[owner]", "mia"),
            ("form[services]", "Compute, storage; \"managed\" databases"),
            ("form[countries]", "de, fr"),
            ("form[data_categories]", "Personal, Financial"),
            ("form[data_sensitivity]", "restricted"),
            ("form[business_impact]", "high"),
            ("form[tier_override]", "2"),
            ("form[override_reason]", "Encrypted at rest; keys are ours"),
        ],
    )
    .await;
    save(
        &app,
        &co,
        "/api/save_vendor",
        &[
            ("form[name]", "=cmd|' /C calc'!A0"),
            ("form[subprocessor_of]", "Acme Cloud"),
            ("form[category]", "-Mail"),
        ],
    )
    .await;
    save(
        &app,
        &co,
        "/api/save_vendor_contract",
        &[
            ("form[vendor_id]", &acme.to_string()),
            ("form[title]", "Platform"),
            ("form[start]", "2026-01-01"),
            ("form[end]", "2027-01-01"),
            ("form[auto_renew]", "on"),
            ("form[renewal_term]", "P1Y"),
            ("form[notice_period]", "P3M"),
            ("form[annual_value]", "1200.50"),
            ("form[currency]", "eur"),
        ],
    )
    .await;

    // Finance reads the register, so it downloads it.
    let r = export(&app, &fin).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = r.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(
        text.starts_with("Name,Legal name,Website,Category,Owner,"),
        "{text}"
    );
    assert!(text.contains(",Tier,Review status,Next review,Notice deadline,Spend year to date\n"));
    // Formulas neutralised as the other exports do.
    assert!(text.contains("\n'=cmd|' /C calc'!A0,"), "{text}");
    assert!(text.contains(",'-Mail,"), "{text}");
    assert!(text.contains("Acme Cloud,Acme Cloud GmbH,https://acme.example,Hosting,mia,"));
    assert!(text.contains("Platform,2026-01-01,2027-01-01,yes,P1Y,P3M,1200.50,EUR,2,"));

    // Read back whole: every field mapped from the headers alone; nothing changes.
    let before = register(&app).await;
    let events = app.audit_count().await;
    let r = upload(&app, &co, "vendors.csv", body.clone()).await;
    let token = json(r).await["token"].as_str().unwrap().to_string();
    let p = json(
        app.call(&co, "/api/pending_vendor_import", &[("token", token)])
            .await,
    )
    .await;
    assert_eq!(p["encoding"], "UTF-8");
    assert_eq!(p["delimiter"], ",");
    assert_eq!(p["rows"], 2);
    for m in p["mapping"].as_array().unwrap() {
        assert!(m[2].is_string(), "{m} is guessed");
    }
    let r = import(&app, &co, body.clone()).await;
    assert_eq!(r.status(), 200);
    let msg = json(r).await;
    assert!(
        msg.as_str().unwrap().contains(
            "0 vendor(s) created, 0 updated, 2 unchanged; 0 contract(s) created, 0 updated"
        ),
        "{msg}"
    );
    assert_eq!(register(&app).await, before);
    assert_eq!(
        app.audit_count().await,
        events + 1,
        "only the import's own event"
    );
    assert_eq!(app.audit_actions().await.last().unwrap(), "vendor.import");

    // Into an empty register the same file creates everything as it was (sub-processor after
    // its parent, whatever the file's order).
    let pool = app.state().app.db.pool();
    sqlx::query("DELETE FROM vendor_contracts")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE vendors SET subprocessor_of = NULL")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM vendors")
        .execute(pool)
        .await
        .unwrap();
    let r = import(&app, &co, body).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(register(&app).await, before);
    assert_eq!(count(&app, "vendor_contracts").await, 1);
});

both_dbs!(
    a_vendor_import_updates_by_name_and_writes_nothing_on_a_bad_row,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        member(&app, "mia", "mia@x.io").await;
        save(
            &app,
            &co,
            "/api/save_vendor",
            &[
                ("form[name]", "Acme Cloud"),
                ("form[owner]", "mia"),
                ("form[countries]", "DE"),
                ("form[data_sensitivity]", "confidential"),
            ],
        )
        .await;

        // A bad row anywhere: named by row and field; not one vendor or event written.
        let (vendors, events) = (count(&app, "vendors").await, app.audit_count().await);
        let bad = "Vendor,Category,Owner,Countries\nacme cloud,Hosting,,\nNew One,Email,nobody,US\nThird,,,USA\n";
        let r = import(&app, &co, bad.as_bytes().to_vec()).await;
        assert_eq!(r.status(), 422);
        let text = r.text().await.unwrap();
        assert!(text.contains("Nothing was imported."), "{text}");
        assert!(text.contains("Row 3, owner: no user 'nobody'"), "{text}");
        assert!(
            text.contains("Row 4, countries: 'USA' is not a two-letter country code"),
            "{text}"
        );
        assert_eq!(count(&app, "vendors").await, vendors);
        assert_eq!(app.audit_count().await, events);

        // Fixed: the existing vendor (any case) is updated and keeps what the file leaves out.
        let good = "Vendor,Category,Owner\nacme cloud,Hosting,\nNew One,Email,mia@x.io\n";
        let r = import(&app, &co, good.as_bytes().to_vec()).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let msg = json(r).await;
        assert!(
            msg.as_str()
                .unwrap()
                .contains("1 vendor(s) created, 1 updated, 0 unchanged"),
            "{msg}"
        );
        let list = json(
            app.call(&co, "/api/list_vendors", &[("filter[tier]", "0")])
                .await,
        )
        .await;
        let find = |n: &str| {
            list["vendors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == n)
                .cloned()
                .unwrap()
        };
        let acme = find("acme cloud");
        assert_eq!(acme["category"], "Hosting");
        assert_eq!(
            acme["owner"],
            serde_json::Value::Null,
            "a mapped empty cell clears"
        );
        assert_eq!(owner(&app, &co, &find("New One")).await, "mia");
        let d = json(
            app.call(&co, "/api/get_vendor", &[("id", acme["id"].to_string())])
                .await,
        )
        .await;
        assert_eq!(d["countries"], serde_json::json!(["DE"]), "unmapped: kept");
        assert_eq!(d["data_sensitivity"], "confidential");
        assert_eq!(count(&app, "vendors").await, vendors + 1);
        let actions = app.audit_actions().await;
        let n = actions.len();
        assert_eq!(
            &actions[n - 3..],
            ["vendor.update", "vendor.create", "vendor.import"]
        );
    }
);

both_dbs!(a_german_semicolon_vendor_file_maps_itself, |app| {
    let co = app.client_as(Role::Compliance).await;
    member(&app, "anna", "anna@example.de").await;
    let file = "\u{feff}Lieferant;Eigentümer;Länder;Schutzbedarf;Vertragsbeginn;Kündigungsfrist;Jahreswert;Währung\r\nMüller GmbH;anna@example.de;de,at;Vertraulich;2026-01-01;P3M;1.000,00;EUR\r\n";
    let r = upload(&app, &co, "lieferanten.csv", file.as_bytes().to_vec()).await;
    let token = json(r).await["token"].as_str().unwrap().to_string();
    let page = app
        .get(&co, &format!("{}?upload={token}", app::paths::VENDOR_MAP))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("UTF-8 with BOM") && page.contains("Müller GmbH"),
        "{page}"
    );
    let p = json(
        app.call(&co, "/api/pending_vendor_import", &[("token", token)])
            .await,
    )
    .await;
    assert_eq!(p["delimiter"], ";");
    let chosen = |f: &str| {
        p["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m[0] == f)
            .unwrap()[2]
            .clone()
    };
    assert_eq!(chosen("name"), "Lieferant");
    assert_eq!(chosen("owner"), "Eigentümer");
    assert_eq!(chosen("countries"), "Länder");
    assert_eq!(chosen("notice_period"), "Kündigungsfrist");
    assert_eq!(chosen("website"), serde_json::Value::Null);
    // The sensitivity's word is German, the amount's format too: both named.
    let r = import(&app, &co, file.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Row 2, data sensitivity: 'vertraulich'"),
        "{text}"
    );
    assert!(text.contains("Row 2, annual value:"), "{text}");
    let fixed = file
        .replace("Vertraulich", "confidential")
        .replace("1.000,00", "1000.00");
    let r = import(&app, &co, fixed.into_bytes()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let list = json(
        app.call(&co, "/api/list_vendors", &[("filter[tier]", "0")])
            .await,
    )
    .await;
    let v = &list["vendors"][0];
    assert_eq!(v["name"], "Müller GmbH");
    assert_eq!(owner(&app, &co, v).await, "anna");
    assert_eq!(v["annual_value"], serde_json::json!([["EUR", "1000"]]));
});

both_dbs!(who_may_export_and_import_vendors, |app| {
    let file = b"Name\nAcme\n".to_vec();
    for role in Role::ALL {
        let c = app.client_as(role).await;
        let may_read = matches!(role, Role::Admin | Role::Compliance | Role::Finance);
        let may_import = matches!(role, Role::Admin | Role::Compliance);
        let r = export(&app, &c).await;
        assert_eq!(
            r.status() == 200,
            may_read,
            "{role:?} export: {}",
            r.status()
        );
        let r = upload(&app, &c, "v.csv", file.clone()).await;
        assert_eq!(
            r.status() == 202,
            may_import,
            "{role:?} upload: {}",
            r.status()
        );
        if !may_import {
            assert_eq!(r.status(), 403, "{role:?}");
            let r = app
                .call(&c, "/api/import_vendors", &[("token", "0".repeat(32))])
                .await;
            assert_eq!(r.status(), 403, "{role:?}");
            let r = app
                .call(
                    &c,
                    "/api/pending_vendor_import",
                    &[("token", "0".repeat(32))],
                )
                .await;
            assert_eq!(r.status(), 403, "{role:?}");
        }
    }
    assert_eq!(
        count(&app, "vendors").await,
        0,
        "nothing imported without the mapping step"
    );
    let anon = app.client();
    assert_eq!(export(&app, &anon).await.status(), 401);
});

//! Access reviews, first part: systems, account snapshots from the IAM credential report (both
//! layouts), from any CSV through the mapping step, from Steward's own users and from the
//! command line; flags; bad rows named with nothing written.

use super::exports::json;
use super::*;
use std::process::Command;
use steward_tests::NO_FIELDS;

/// A credential report in the 22-column layout, its dates around `today`.
fn report_22(today: time::Date) -> String {
    let recent = |d: i64| format!("{}T10:00:00+00:00", today - time::Duration::days(d));
    format!(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
<root_account>,arn:aws:iam::123456789012:root,2019-01-10T09:00:00+00:00,not_supported,{r1},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
alice,arn:aws:iam::123456789012:user/alice,2020-02-01T10:00:00+00:00,true,{r2},{r2},N/A,false,true,2019-05-01T00:00:00+00:00,{r2},eu-west-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
ci-deploy,arn:aws:iam::123456789012:user/ci-deploy,2021-03-01T10:00:00+00:00,false,no_information,N/A,N/A,false,true,{r3},{r3},us-east-1,ecr,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n\
old-admin,arn:aws:iam::123456789012:user/old-admin,2018-03-01T10:00:00+00:00,true,2019-01-01T10:00:00+00:00,N/A,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
        r1 = recent(3),
        r2 = recent(2),
        r3 = recent(1),
    )
}

/// The older 16-column layout.
const REPORT_16: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_2_active,access_key_2_last_rotated,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::9:root,2014-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,false,false,N/A,false,N/A,false,N/A,false,N/A
bob,arn:aws:iam::9:user/bob,2015-01-01T00:00:00+00:00,true,2016-01-01T00:00:00+00:00,N/A,N/A,true,true,2015-06-01T00:00:00+00:00,false,N/A,false,N/A,false,N/A
";

/// A German HR-tool export: BOM, semicolons, day-first dates, non-ASCII headers.
fn german(rows: &str) -> Vec<u8> {
    format!(
        "\u{feff}Benutzer;E-Mail;Vollständiger Name;Rolle;Letzte Anmeldung;MFA;Status\r\n{rows}"
    )
    .into_bytes()
}

async fn system(app: &TestApp, c: &reqwest::Client, name: &str, kind: &str) -> i64 {
    let r = app
        .call(
            c,
            "/api/save_system",
            &[
                ("form[name]", name),
                ("form[kind]", kind),
                ("form[owner]", "compliance"),
                ("form[criticality]", "high"),
                ("form[data_categories]", "Personal, financial"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    json(r).await.as_i64().unwrap()
}

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    id: i64,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    c.post(app.url(&app::paths::access_import(id)))
        .header("origin", app.url(""))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn detail(app: &TestApp, c: &reqwest::Client, id: i64, flag: &str) -> serde_json::Value {
    let r = app
        .call(
            c,
            "/api/get_system",
            &[
                ("id", id.to_string()),
                ("q", String::new()),
                ("flag", flag.to_string()),
                ("page", "1".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    json(r).await
}

fn flags_of(d: &serde_json::Value, key: &str) -> Vec<String> {
    let a = d["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap_or_else(|| panic!("no account {key}: {d}"));
    a["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap().to_string())
        .collect()
}

both_dbs!(
    credential_reports_in_both_layouts_import_with_their_flags,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        let id = system(&app, &co, "AWS production", "cloud_account").await;
        let today = app.state().app.clock.now().date();
        let r = upload(
            &app,
            &co,
            id,
            "credential-report.csv",
            report_22(today).into_bytes(),
        )
        .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let msg = json(r).await["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains("Imported 7 account(s) from iam credential report"),
            "{msg}"
        );
        let d = detail(&app, &co, id, "").await;
        assert_eq!(d["total"], 7, "4 users and 3 active keys");
        assert_eq!(
            d["system"]["data_categories"],
            serde_json::json!(["financial", "personal"])
        );
        assert_eq!(flags_of(&d, "<root_account>"), ["privileged"]);
        assert_eq!(flags_of(&d, "alice"), ["no_mfa"]);
        assert_eq!(flags_of(&d, "alice/access_key_1"), ["stale_credential"]);
        assert_eq!(flags_of(&d, "ci-deploy"), ["shared_or_service"]);
        assert!(flags_of(&d, "ci-deploy/access_key_1").is_empty());
        assert_eq!(
            flags_of(&d, "ci-deploy/access_key_2"),
            ["dormant", "stale_credential"]
        );
        assert_eq!(flags_of(&d, "old-admin"), ["dormant", "privileged"]);
        let why = d["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == "old-admin")
            .unwrap()["flags"][0][1]
            .as_str()
            .unwrap()
            .to_string();
        assert!(why.starts_with("Last used 2019-01-01"), "explained: {why}");
        let dormant = detail(&app, &co, id, "dormant").await;
        assert_eq!(dormant["total"], 2, "the flag filter");
        // The same file again changes nothing; the older layout is a new snapshot.
        let r = upload(
            &app,
            &co,
            id,
            "credential-report.csv",
            report_22(today).into_bytes(),
        )
        .await;
        assert!(json(r).await["message"]
            .as_str()
            .unwrap()
            .contains("nothing changed"));
        let r = upload(&app, &co, id, "old.csv", REPORT_16.as_bytes().to_vec()).await;
        assert_eq!(r.status(), 201);
        let d = detail(&app, &co, id, "").await;
        assert_eq!(d["total"], 3);
        assert_eq!(d["snapshots"].as_array().unwrap().len(), 2);
        assert_eq!(
            flags_of(&d, "<root_account>"),
            ["dormant", "no_mfa", "privileged"]
        );
        assert_eq!(flags_of(&d, "bob"), ["dormant"]);
        assert_eq!(
            flags_of(&d, "bob/access_key_1"),
            ["dormant", "stale_credential"]
        );
        let events = app.audit_actions().await;
        assert_eq!(
            events
                .iter()
                .filter(|a| *a == "access.snapshot_imported")
                .count(),
            2
        );
        // Finance and auditors neither read nor import.
        for role in [Role::Finance, Role::Auditor, Role::Member] {
            let c = app.client_as(role).await;
            assert_eq!(
                app.call(&c, "/api/list_systems", NO_FIELDS).await.status(),
                403
            );
            assert_eq!(
                upload(&app, &c, id, "x.csv", REPORT_16.as_bytes().to_vec())
                    .await
                    .status(),
                403
            );
        }
    }
);

both_dbs!(
    a_csv_goes_through_the_mapping_step_and_bad_rows_write_nothing,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        let id = system(&app, &co, "HR portal", "application").await;
        let today = app.state().app.clock.now().date();
        let login = today - time::Duration::days(10);
        let de = format!(
            "{:02}.{:02}.{}",
            login.day(),
            login.month() as u8,
            login.year()
        );
        let good = german(&format!("anna;anna@example.de;Anna Müller;Admin;{de};ja;aktiv\r\nsvc-backup;;Backup;Operator;;nein;gesperrt\r\n"));
        let r = upload(&app, &co, id, "export.csv", good.clone()).await;
        assert_eq!(r.status(), 202);
        let v = json(r).await;
        let token = v["token"].as_str().unwrap().to_string();
        assert_eq!(v["location"], app::paths::access_map(id, &token));
        // The mapping page shows the rows and the columns guessed from the German headers.
        let page = app
            .get(&co, &app::paths::access_map(id, &token))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("UTF-8 with BOM") && page.contains("Anna Müller"),
            "{page}"
        );
        let p = json(
            app.call(
                &co,
                "/api/pending_account_import",
                &[("system", id.to_string()), ("token", token.clone())],
            )
            .await,
        )
        .await;
        let chosen = |field: &str| {
            p["mapping"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m[0] == field)
                .unwrap()[2]
                .clone()
        };
        assert_eq!(chosen("user_id"), "Benutzer");
        assert_eq!(chosen("email"), "E-Mail");
        assert_eq!(chosen("last_login"), "Letzte Anmeldung");
        assert_eq!(chosen("manager_email"), serde_json::Value::Null);
        let map = |mfa: &str| {
            vec![
                ("system", id.to_string()),
                ("token", token.clone()),
                ("map[user_id]", "Benutzer".to_string()),
                ("map[email]", "E-Mail".into()),
                ("map[name]", "Vollständiger Name".into()),
                ("map[entitlement]", "Rolle".into()),
                ("map[last_login]", "Letzte Anmeldung".into()),
                ("map[mfa]", mfa.into()),
                ("map[status]", "Status".into()),
            ]
        };
        // A column that is not there is named; nothing is written.
        let before = app.audit_count().await;
        let r = app
            .call(&co, "/api/import_mapped_accounts", &map("2FA"))
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("no column is named '2FA'"));
        let r = app
            .call(&co, "/api/import_mapped_accounts", &map("MFA"))
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert_eq!(app.audit_count().await, before + 1);
        let d = detail(&app, &co, id, "").await;
        assert_eq!(d["total"], 2);
        assert_eq!(flags_of(&d, "anna"), ["privileged"]);
        assert_eq!(
            flags_of(&d, "svc-backup"),
            Vec::<String>::new(),
            "inactive: nothing to flag"
        );
        let acc = &d["accounts"][0];
        assert_eq!(acc["email"], "anna@example.de");
        assert_eq!(acc["last_used"], login.to_string());
        // The upload is gone once imported.
        let r = app
            .call(&co, "/api/import_mapped_accounts", &map("MFA"))
            .await;
        assert_eq!(r.status(), 404);

        // A bad row is named (line and field) and nothing is written.
        let bad = german("anna;anna@example.de;Anna;Admin;01.11.2026;ja;aktiv\r\nbert;bert@example.de;Bert;User;31.02.2026;ja;aktiv\r\n");
        let r = upload(&app, &co, id, "bad.csv", bad).await;
        let token2 = json(r).await["token"].as_str().unwrap().to_string();
        let before = app.audit_count().await;
        let mut m = map("MFA");
        m[1].1 = token2;
        let r = app.call(&co, "/api/import_mapped_accounts", &m).await;
        assert_eq!(r.status(), 422);
        let text = r.text().await.unwrap();
        assert!(
            text.contains("Line 3, last_login: '31.02.2026' is not a date"),
            "{text}"
        );
        assert_eq!(app.audit_count().await, before);
        assert_eq!(
            detail(&app, &co, id, "").await["snapshots"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        // The command line uses the mapping saved for the system (headers and all).
        let next = german("anna;anna@example.de;Anna Müller;Admin;01.11.2026;ja;aktiv\r\n");
        let path = app.db.data_dir().join("next.csv");
        std::fs::write(&path, next).unwrap();
        let out = app.cli(&[
            "import-accounts",
            "--system",
            "hr portal",
            path.to_str().unwrap(),
        ]);
        assert!(out.contains("Imported 1 account(s) from csv"), "{out}");
        assert!(out.contains("Privileged: 1"), "{out}");
        let o = Command::new(steward_tests::steward_bin())
            .args([
                "import-accounts",
                "--system",
                "nope",
                path.to_str().unwrap(),
            ])
            .env("DATABASE_URL", &app.db.url)
            .env("STEWARD_DATA_DIR", app.db.data_dir())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("no system is named 'nope'"));
    }
);

both_dbs!(stewards_own_users_are_a_system, |app| {
    let admin = app.client_as(Role::Admin).await;
    app.user(Role::Finance).await;
    let r = app
        .call(&admin, "/api/snapshot_steward_users", NO_FIELDS)
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let out = json(r).await;
    let id = out["system_id"].as_i64().unwrap();
    let d = detail(&app, &admin, id, "").await;
    assert_eq!(d["system"]["kind"], "steward");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    assert_eq!(d["total"], users);
    let admin_row = d["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "admin")
        .unwrap()
        .clone();
    assert_eq!(admin_row["entitlement"], "admin");
    assert!(
        admin_row["last_used"].as_str().is_some(),
        "the sign-in from the audit trail"
    );
    assert_eq!(flags_of(&d, "admin"), ["no_mfa", "privileged"]);
    // Nothing changed: no second snapshot.
    let r = app
        .call(&admin, "/api/snapshot_steward_users", NO_FIELDS)
        .await;
    assert_eq!(json(r).await["unchanged"], true);
    // The built-in system's name is kept for it.
    let r = app
        .call(
            &admin,
            "/api/save_system",
            &[("form[name]", "steward"), ("form[kind]", "application")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &admin,
            "/api/save_system",
            &[
                ("form[name]", ""),
                ("form[kind]", "spaceship"),
                ("form[owner]", "auditor"),
                ("form[criticality]", "extreme"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    for part in [
        "name: required",
        "kind: 'spaceship'",
        "criticality: 'extreme'",
        "owner: ",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
});

async fn people_upload(app: &TestApp, c: &reqwest::Client, bytes: &[u8]) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("people.csv"),
    );
    c.post(app.url(app::paths::ACCESS_PEOPLE_IMPORT))
        .header("origin", app.url(""))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

both_dbs!(the_people_list_and_the_rules_shape_the_flags, |app| {
    let co = app.client_as(Role::Compliance).await;
    let id = system(&app, &co, "CRM", "application").await;
    // A bad people file is named and writes nothing.
    let before = app.audit_count().await;
    let r = people_upload(
        &app,
        &co,
        b"email,name,manager\nann@x.io,Ann,boss@x.io\nbob@x.io,Bob,not-an-email\n",
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Line 3, manager: 'not-an-email' is not an email address"));
    assert_eq!(app.audit_count().await, before);
    let r = people_upload(&app, &co, b"Email;Name;Manager;Status;Department\nann@x.io;Ann;boss@x.io;active;Sales\nbob@x.io;Bob;boss@x.io;terminated;Sales\nboss@x.io;Boss;;active;Sales\n").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert!(json(r).await["message"]
        .as_str()
        .unwrap()
        .contains("Imported 3 people (2 active)"));
    let l = json(
        app.call(&co, "/api/list_people", &[("q", "sales"), ("page", "1")])
            .await,
    )
    .await;
    assert_eq!(l["total"], 3);
    // Accounts are matched by email: a leaver and a stranger are orphans.
    let today = app.state().app.clock.now().date();
    let csv = format!(
        "login,email,role,last login,mfa\nann,ann@x.io,sales,{t},yes\nbob,bob@x.io,sales,{t},yes\neve,eve@elsewhere.io,sales,{t},yes\nsvc,,integration,{t},\n",
        t = today - time::Duration::days(40)
    );
    let token = json(upload(&app, &co, id, "crm.csv", csv.clone().into_bytes()).await).await
        ["token"]
        .as_str()
        .unwrap()
        .to_string();
    let import = |token: String| {
        vec![
            ("system", id.to_string()),
            ("token", token),
            ("map[user_id]", "login".to_string()),
            ("map[email]", "email".into()),
            ("map[entitlement]", "role".into()),
            ("map[last_login]", "last login".into()),
            ("map[mfa]", "mfa".into()),
        ]
    };
    let r = app
        .call(&co, "/api/import_mapped_accounts", &import(token))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let d = detail(&app, &co, id, "").await;
    assert!(flags_of(&d, "ann").is_empty());
    assert_eq!(flags_of(&d, "bob"), ["orphaned"]);
    assert_eq!(flags_of(&d, "eve"), ["orphaned"]);
    assert_eq!(
        flags_of(&d, "svc"),
        ["orphaned"],
        "a person's account type without an email"
    );
    // Stricter rules apply to the next import: 30 days makes them dormant, "sales" privileged.
    let r = app
        .call(
            &co,
            "/api/save_access_rules",
            &[
                ("dormant_days", "30"),
                ("stale_credential_days", "90"),
                ("privileged_patterns", "sales\nadmin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let bad = app
        .call(
            &co,
            "/api/save_access_rules",
            &[
                ("dormant_days", "0"),
                ("stale_credential_days", "99999"),
                ("privileged_patterns", ""),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let msg = bad.text().await.unwrap();
    assert!(
        msg.contains("dormant days") && msg.contains("stale credential days"),
        "{msg}"
    );
    let again = format!("{csv}zed,ann@x.io,viewer,,\n");
    let token = json(upload(&app, &co, id, "crm2.csv", again.into_bytes()).await).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.call(&co, "/api/import_mapped_accounts", &import(token))
            .await
            .status(),
        200
    );
    let d = detail(&app, &co, id, "").await;
    assert_eq!(flags_of(&d, "ann"), ["dormant", "privileged"]);
    let actions = app.audit_actions().await;
    for a in ["access.people_imported", "access.rules_changed"] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
});

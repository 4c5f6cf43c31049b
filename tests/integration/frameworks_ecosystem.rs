//! Frameworks from the ecosystem, end to end over HTTP on both databases: a CISO Assistant
//! library (hierarchy, headings not counted, languages, idempotent re-import, older versions
//! refused), crosswalks (library and CSV) suggesting coverage that one click accepts, a
//! semicolon CSV through its column-mapping step (the mapping remembered), an OSCAL profile
//! resolved against its catalog, the Statement of Applicability, and bad files refused with
//! nothing written.

use super::*;
use serde_json::Value;
use steward_tests::NO_FIELDS;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/frameworks")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Posts files to the framework import (as the page's form does, JSON accepted).
pub async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    files: &[(&str, &str, Vec<u8>)],
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (field, name, bytes) in files {
        form = form.part(
            field.to_string(),
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    c.post(app.url(app::paths::FRAMEWORK_IMPORT))
        .header("Origin", &app.base)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Waits for the mapping step of an uploaded CSV: its token and what the page shows.
async fn pending(app: &TestApp, c: &reqwest::Client, r: reqwest::Response) -> (String, Value) {
    let token = serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let p = app
        .call(
            c,
            "/api/pending_framework_import",
            &[("token", token.clone())],
        )
        .await;
    let p = serde_json::from_str(&ok(p).await).unwrap();
    (token, p)
}

/// Maps a control to requirements of a framework, as the control's page does.
async fn map_to(
    app: &TestApp,
    c: &reqwest::Client,
    control: i64,
    framework: i64,
    requirements: &str,
) -> reqwest::Response {
    let form = [
        ("control_id", control.to_string()),
        ("framework_id", framework.to_string()),
        ("requirements", requirements.to_string()),
    ];
    app.call(c, "/api/map_control", &form).await
}

async fn ok(r: reqwest::Response) -> String {
    let s = r.status();
    let t = r.text().await.unwrap();
    assert!(s.is_success(), "{s}: {t}");
    t
}

async fn refused(r: reqwest::Response) -> String {
    let s = r.status();
    let t = r.text().await.unwrap();
    assert_eq!(s, 422, "{t}");
    t
}

/// Imports the alpha and beta libraries (as compliance); the client.
pub async fn alpha_and_beta(app: &TestApp) -> reqwest::Client {
    let co = app.client_as(Role::Compliance).await;
    for f in ["ca-alpha.yaml", "ca-beta.yaml"] {
        ok(upload(app, &co, &[("file", f, fixture(f))], &[]).await).await;
    }
    co
}

async fn framework_id(app: &TestApp, key: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM frameworks WHERE key = $1")
        .bind(key)
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

async fn requirement_id(app: &TestApp, key: &str, r: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT r.id FROM requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE f.key = $1 AND r.ref = $2",
    )
    .bind(key)
    .bind(r)
    .fetch_one(app.state().app.db.pool())
    .await
    .unwrap_or_else(|e| panic!("{key} {r}: {e}"))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap()
}

async fn requirements_page(app: &TestApp, c: &reqwest::Client, fw: i64) -> Value {
    let r = app
        .call(
            c,
            "/api/list_requirements",
            &[
                ("framework", fw.to_string()),
                ("q", String::new()),
                ("page", "1".into()),
            ],
        )
        .await;
    serde_json::from_str(&ok(r).await).unwrap()
}

fn row<'a>(page: &'a Value, r: &str) -> &'a Value {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ref"] == r)
        .unwrap_or_else(|| panic!("no {r}: {page}"))
}

/// (ref, label, parent, depth, assessable, group) of a framework, in order.
async fn hierarchy(
    app: &TestApp,
    key: &str,
) -> Vec<(String, String, Option<String>, i64, i64, String)> {
    sqlx::query_as(
        "SELECT r.ref, r.label, r.parent_ref, r.depth, r.assessable, r.group_title
         FROM requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE f.key = $1 AND r.retired_at IS NULL ORDER BY r.sort_order",
    )
    .bind(key)
    .fetch_all(app.state().app.db.pool())
    .await
    .unwrap()
}

both_dbs!(
    a_library_keeps_its_hierarchy_counts_requirements_only_and_reimports_idempotently,
    |app| {
        let co = alpha_and_beta(&app).await;
        let h = hierarchy(&app, "ca:alpha-baseline").await;
        let refs: Vec<&str> = h.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(refs, ["gov", "gov-1", "gov-1.1", "node5", "acc", "acc-1"]);
        let gov11 = &h[2];
        assert_eq!(
            (gov11.1.as_str(), gov11.2.as_deref(), gov11.3, gov11.4),
            ("GOV-1.1", Some("gov-1"), 3, 1)
        );
        assert_eq!(
            (h[0].3, h[0].4),
            (1, 0),
            "a heading: depth 1, not assessable"
        );
        assert_eq!(h[5].1, "2.10", "a label keeps its source text");
        assert_eq!(h[3].1, "node5", "no ref_id, no name: the node's id");
        assert_eq!(h[5].5, "Access");
        let fws: Value =
            serde_json::from_str(&ok(app.call(&co, "/api/list_frameworks", NO_FIELDS).await).await)
                .unwrap();
        let alpha = fws["frameworks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "ca:alpha-baseline")
            .unwrap()
            .clone();
        assert_eq!(
            alpha["requirements"], 4,
            "headings are not counted: {alpha}"
        );
        assert_eq!(alpha["format"], "ciso-yaml");
        assert_eq!(alpha["locale"], "en");
        // The same file again: nothing written, not even an audit event.
        let events = app.audit_count().await;
        let again = ok(upload(
            &app,
            &co,
            &[("file", "ca-alpha.yaml", fixture("ca-alpha.yaml"))],
            &[],
        )
        .await)
        .await;
        assert!(again.contains("unchanged"), "{again}");
        assert_eq!(app.audit_count().await, events);
        // In French: the texts change, the requirements stay the same rows.
        let fr = ok(upload(
            &app,
            &co,
            &[("file", "ca-alpha.yaml", fixture("ca-alpha.yaml"))],
            &[("locale", "fr")],
        )
        .await)
        .await;
        assert!(fr.contains("updated"), "{fr}");
        let pool = app.state().app.db.pool();
        let (title, locale): (String, String) = sqlx::query_as(
        "SELECT r.title, f.locale FROM requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE f.key = 'ca:alpha-baseline' AND r.ref = 'gov-1'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
        assert_eq!(
            (title.as_str(), locale.as_str()),
            ("Politique de sécurité", "fr")
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM requirements WHERE retired_at IS NULL"
            )
            .await,
            6 + 3
        );
        // Re-imported without a language, it stays in French: nothing changes.
        let events = app.audit_count().await;
        ok(upload(
            &app,
            &co,
            &[("file", "ca-alpha.yaml", fixture("ca-alpha.yaml"))],
            &[],
        )
        .await)
        .await;
        assert_eq!(app.audit_count().await, events);
        // A newer version without a node retires it (listed); an older version is refused.
        let text = String::from_utf8(fixture("ca-alpha.yaml")).unwrap();
        let start = text
            .find("    - urn: urn:steward:risk:req_node:alpha-baseline:node5")
            .unwrap();
        let end = text[start..]
            .find("    - urn: urn:steward:risk:req_node:alpha-baseline:acc\n")
            .unwrap()
            + start;
        let v3 = format!("{}{}", &text[..start], &text[end..]).replace("version: 2", "version: 3");
        let out = ok(upload(
            &app,
            &co,
            &[("file", "ca-alpha.yaml", v3.into_bytes())],
            &[("locale", "en")],
        )
        .await)
        .await;
        assert!(out.contains("1 retired") && out.contains("node5"), "{out}");
        let old = text.replace("version: 2", "version: 1");
        let events = app.audit_count().await;
        let e = refused(
            upload(
                &app,
                &co,
                &[("file", "ca-alpha.yaml", old.into_bytes())],
                &[],
            )
            .await,
        )
        .await;
        assert!(e.contains("older than the imported version 3"), "{e}");
        assert_eq!(app.audit_count().await, events);
        // Who may import: not finance, not an auditor.
        for role in [Role::Finance, Role::Auditor, Role::Member] {
            let c = app.client_as(role).await;
            let r = upload(
                &app,
                &c,
                &[("file", "ca-alpha.yaml", fixture("ca-alpha.yaml"))],
                &[],
            )
            .await;
            assert_eq!(r.status(), 403, "{role:?}");
        }
    }
);

both_dbs!(
    a_crosswalk_suggests_coverage_and_one_click_accepts_it,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        let events = app.audit_count().await;
        // A mapping library before its frameworks: refused, naming what to import first.
        let e = refused(
            upload(
                &app,
                &co,
                &[("file", "m.yaml", fixture("ca-mapping-alpha-beta.yaml"))],
                &[],
            )
            .await,
        )
        .await;
        assert!(
            e.contains("'ca:alpha-baseline', which is not imported"),
            "{e}"
        );
        assert_eq!(app.audit_count().await, events);
        let co = alpha_and_beta(&app).await;
        let out = ok(upload(
            &app,
            &co,
            &[("file", "m.yaml", fixture("ca-mapping-alpha-beta.yaml"))],
            &[],
        )
        .await)
        .await;
        assert!(
            out.contains("1 skipped (not in the framework): b9"),
            "{out}"
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM requirement_mapping_sets").await,
            2
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM requirement_links").await,
            3 + 2
        );
        // A control mapped to Alpha's GOV-1 is suggested for Beta's B1 (equal), and for nothing
        // its requirement is not related to.
        let alpha = framework_id(&app, "ca:alpha-baseline").await;
        let beta = framework_id(&app, "ca:beta-controls").await;
        let control = app.control("POL-1", "Security policy", "annual").await;
        let r = map_to(&app, &co, control, alpha, "GOV-1").await;
        ok(r).await;
        let page = requirements_page(&app, &co, beta).await;
        let s = &row(&page, "b1")["suggestions"];
        assert_eq!(s.as_array().unwrap().len(), 1, "{s}");
        assert_eq!(
            (
                s[0]["control_ref"].as_str(),
                s[0]["relationship"].as_str(),
                s[0]["via_label"].as_str()
            ),
            (Some("POL-1"), Some("equal"), Some("GOV-1"))
        );
        assert!(row(&page, "b2")["suggestions"]
            .as_array()
            .unwrap()
            .is_empty());
        assert_eq!(
            page["framework"]["mapped"], 0,
            "coverage counts accepted mappings only"
        );
        assert_eq!(page["framework"]["suggested"], 1);
        // Seen from Alpha, a control on Beta's B2 suggests GOV-1.1 with the relationship turned
        // round (the library says GOV-1.1 is a subset of B2; from B2's side: a superset).
        let other = app.control("OWN-1", "Owners", "none").await;
        ok(map_to(&app, &co, other, beta, "B2").await).await;
        let page_a = requirements_page(&app, &co, alpha).await;
        let s = &row(&page_a, "gov-1.1")["suggestions"];
        assert!(
            s.as_array()
                .unwrap()
                .iter()
                .any(|x| x["control_ref"] == "OWN-1" && x["relationship"] == "superset"),
            "{s}"
        );
        // Only compliance accepts; an unsuggested pair is refused.
        let b1 = requirement_id(&app, "ca:beta-controls", "b1").await;
        let b3 = requirement_id(&app, "ca:beta-controls", "b3").await;
        for role in [Role::Finance, Role::Auditor, Role::Member] {
            let c = app.client_as(role).await;
            let r = app
                .call(
                    &c,
                    "/api/accept_suggestion",
                    &[("control_id", control), ("requirement_id", b1)],
                )
                .await;
            assert_eq!(r.status(), 403, "{role:?}");
        }
        let e = refused(
            app.call(
                &co,
                "/api/accept_suggestion",
                &[("control_id", control), ("requirement_id", b3)],
            )
            .await,
        )
        .await;
        assert!(e.contains("No crosswalk suggests"), "{e}");
        ok(app
            .call(
                &co,
                "/api/accept_suggestion",
                &[("control_id", control), ("requirement_id", b1)],
            )
            .await)
        .await;
        let page = requirements_page(&app, &co, beta).await;
        assert_eq!(page["framework"]["mapped"], 2, "B2 (OWN-1) and now B1");
        assert!(row(&page, "b1")["suggestions"]
            .as_array()
            .unwrap()
            .is_empty());
        assert!(app
            .audit_actions()
            .await
            .contains(&"control.map".to_string()));
        // The same crosswalk as a CSV: a bad relationship names its line; nothing is written.
        let csv = fixture("crosswalk-alpha-beta.csv");
        let events = app.audit_count().await;
        let mut bad = csv.clone();
        bad.extend_from_slice(b"ca:alpha-baseline,acc-1,ca:beta-controls,b3,related\n");
        let e = refused(upload(&app, &co, &[("file", "x.csv", bad)], &[]).await).await;
        assert!(e.contains("relationship") && e.contains("'related'"), "{e}");
        assert_eq!(app.audit_count().await, events);
        let out = ok(upload(&app, &co, &[("file", "x.csv", csv.clone())], &[]).await).await;
        assert!(out.contains("created"), "{out}");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM requirement_mapping_sets WHERE source_format = 'csv'"
            )
            .await,
            1
        );
        let events = app.audit_count().await;
        let out = ok(upload(&app, &co, &[("file", "x.csv", csv)], &[]).await).await;
        assert!(out.contains("unchanged"), "{out}");
        assert_eq!(app.audit_count().await, events);
    }
);

both_dbs!(
    a_semicolon_csv_is_mapped_and_its_mapping_remembered,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        let r = upload(
            &app,
            &co,
            &[("file", "anssi-style-fr.csv", fixture("anssi-style-fr.csv"))],
            &[],
        )
        .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let (token, p) = pending(&app, &co, r).await;
        assert_eq!(p["delimiter"], ";");
        assert_eq!(p["rows"], 4);
        let chosen: Vec<(String, Option<String>)> = p["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m[0].as_str().unwrap().to_string(),
                    m[2].as_str().map(str::to_string),
                )
            })
            .collect();
        assert_eq!(
            chosen,
            [
                ("id".to_string(), Some("id".to_string())),
                ("title".into(), Some("titre".into())),
                ("description".into(), Some("description".into())),
                ("group".into(), Some("groupe".into())),
                ("parent".into(), None)
            ]
        );
        // Imported without the description column (a choice the guess would not make).
        let form = [
            ("token", token.as_str()),
            ("name", "ANSSI style"),
            ("version", "2024"),
            ("map[id]", "id"),
            ("map[title]", "titre"),
            ("map[group]", "groupe"),
            ("map[description]", ""),
        ];
        let msg = ok(app.call(&co, "/api/import_mapped_framework", &form).await).await;
        assert!(msg.contains("4 requirement(s) added"), "{msg}");
        let h = hierarchy(&app, "anssi-style").await;
        assert_eq!(
            h.iter()
                .map(|r| (r.0.as_str(), r.5.as_str()))
                .collect::<Vec<_>>(),
            [
                ("ORG-1", "Organisation"),
                ("ORG-2", "Organisation"),
                ("TECH-1", "Technique"),
                ("TECH-2", "Technique")
            ]
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM requirements WHERE statement <> ''"
            )
            .await,
            0
        );
        // The next file with these columns opens with that mapping; a bad row writes nothing.
        let mut next = b"\xEF\xBB\xBFid;titre;description;groupe\nNET-1;R\xc3\xa9seau;x;Technique\nNET-2;;y;Technique\n".to_vec();
        let r = upload(&app, &co, &[("file", "next.csv", next.clone())], &[]).await;
        let (token, p) = pending(&app, &co, r).await;
        let description = p["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m[0] == "description")
            .unwrap()
            .clone();
        assert!(
            description[2].is_null(),
            "remembered: no description column: {p}"
        );
        let events = app.audit_count().await;
        let form = [
            ("token", token.as_str()),
            ("name", "Next"),
            ("version", "1"),
            ("map[id]", "id"),
            ("map[title]", "titre"),
        ];
        let e = refused(app.call(&co, "/api/import_mapped_framework", &form).await).await;
        assert!(e.contains("Line 3, title: empty (id 'NET-2')"), "{e}");
        assert_eq!(app.audit_count().await, events);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM frameworks").await, 1);
        next.truncate(0);
    }
);

both_dbs!(an_oscal_profile_is_resolved_against_its_catalog, |app| {
    let co = app.client_as(Role::Compliance).await;
    // Alone, with no catalog imported, the profile names what it needs; nothing is written.
    let events = app.audit_count().await;
    let e = refused(
        upload(
            &app,
            &co,
            &[("file", "tiny-profile.json", fixture("tiny-profile.json"))],
            &[],
        )
        .await,
    )
    .await;
    assert!(e.contains("tiny-catalog") || e.contains("#33333333"), "{e}");
    assert_eq!(app.audit_count().await, events);
    // With its catalog: resolved into a framework of its own (the catalog is not imported).
    let out = ok(upload(
        &app,
        &co,
        &[
            ("file", "tiny-profile.json", fixture("tiny-profile.json")),
            ("catalog", "tiny-catalog.json", fixture("tiny-catalog.json")),
        ],
        &[],
    )
    .await)
    .await;
    assert!(out.contains("Tiny Baseline"), "{out}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM frameworks").await, 1);
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT ref, group_ref, statement FROM requirements ORDER BY sort_order")
            .fetch_all(app.state().app.db.pool())
            .await
            .unwrap();
    let refs: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(refs, ["ac-1", "ac-2", "ac-2.1", "au-2"]);
    assert_eq!(rows[0].1, "ac", "as-is keeps the families");
    assert!(rows[0].2.contains("every year"), "{}", rows[0].2);
    assert!(
        rows[1].2.contains("Tiny addition: disable unused accounts"),
        "{}",
        rows[1].2
    );
    assert!(
        rows[3].2.contains("at least logons and privilege use"),
        "{}",
        rows[3].2
    );
    let fw: String = sqlx::query_scalar("SELECT source_format FROM frameworks")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    assert_eq!(fw, "oscal-profile");
    // The catalog imported first, the profile alone then resolves against it.
    ok(upload(
        &app,
        &co,
        &[("file", "tiny-catalog.json", fixture("tiny-catalog.json"))],
        &[],
    )
    .await)
    .await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM framework_sources").await,
        1
    );
    let events = app.audit_count().await;
    let out = ok(upload(
        &app,
        &co,
        &[("file", "tiny-profile.json", fixture("tiny-profile.json"))],
        &[],
    )
    .await)
    .await;
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(app.audit_count().await, events);
});

both_dbs!(
    the_statement_of_applicability_exports_every_requirement_formula_safe,
    |app| {
        let co = alpha_and_beta(&app).await;
        let acc1 = requirement_id(&app, "ca:alpha-baseline", "acc-1").await;
        let gov = requirement_id(&app, "ca:alpha-baseline", "gov").await;
        let e = refused(
            app.call(
                &co,
                "/api/set_requirement_applicability",
                &[
                    ("requirement_id", acc1.to_string()),
                    ("applicable", "no".into()),
                    ("justification", " ".into()),
                ],
            )
            .await,
        )
        .await;
        assert!(e.contains("Justification"), "{e}");
        let e = refused(
            app.call(
                &co,
                "/api/set_requirement_applicability",
                &[
                    ("requirement_id", gov.to_string()),
                    ("applicable", "no".into()),
                    ("justification", "x".into()),
                ],
            )
            .await,
        )
        .await;
        assert!(e.contains("heading"), "{e}");
        ok(app
            .call(
                &co,
                "/api/set_requirement_applicability",
                &[
                    ("requirement_id", acc1.to_string()),
                    ("applicable", "no".into()),
                    ("justification", "=No remote admin".into()),
                ],
            )
            .await)
        .await;
        let alpha = framework_id(&app, "ca:alpha-baseline").await;
        let control = app.control("POL-1", "Security policy", "annual").await;
        ok(map_to(&app, &co, control, alpha, "GOV-1").await).await;
        let page = requirements_page(&app, &co, alpha).await;
        assert_eq!(
            (
                page["framework"]["requirements"].as_i64(),
                page["framework"]["excluded"].as_i64()
            ),
            (Some(3), Some(1))
        );
        let url = app::paths::framework_soa(alpha);
        let csv = ok(app.get(&co, &url).await).await;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "Requirement,Title,Group,Applicable,Justification,Controls,Status,Suggested by crosswalks,Reference controls");
        assert_eq!(
            lines.len(),
            1 + 4,
            "every assessable requirement, no heading: {csv}"
        );
        assert!(
            lines[1].starts_with("GOV-1,Security policy,Governance,Yes,,POL-1,No evidence yet,"),
            "{csv}"
        );
        assert!(
            lines[4].starts_with(
                "2.10,Multi-factor authentication,Access,No,'=No remote admin,,Excluded,"
            ),
            "{csv}"
        );
        assert!(app
            .audit_actions()
            .await
            .contains(&"requirement.applicability".to_string()));
        // Readers of compliance may download it (finance too); an auditor only for the
        // frameworks of an audit; a member not at all.
        let finance = app.client_as(Role::Finance).await;
        assert_eq!(app.get(&finance, &url).await.status(), 200);
        let member = app.client_as(Role::Member).await;
        assert_eq!(app.get(&member, &url).await.status(), 403);
        let auditor = app.client_as(Role::Auditor).await;
        assert_eq!(app.get(&auditor, &url).await.status(), 404);
        for role in [Role::Finance, Role::Auditor] {
            let c = app.client_as(role).await;
            let r = app
                .call(
                    &c,
                    "/api/set_requirement_applicability",
                    &[
                        ("requirement_id", acc1.to_string()),
                        ("applicable", "yes".into()),
                        ("justification", String::new()),
                    ],
                )
                .await;
            assert_eq!(r.status(), 403, "{role:?}");
        }
    }
);

both_dbs!(
    bad_framework_files_are_refused_by_name_and_write_nothing,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        let events = app.audit_count().await;
        let alpha = String::from_utf8(fixture("ca-alpha.yaml")).unwrap();
        let dup = alpha.replace(
            "req_node:alpha-baseline:node5",
            "req_node:alpha-baseline:gov-1.1",
        );
        let orphan = alpha.replace(
            "parent_urn: urn:steward:risk:req_node:alpha-baseline:acc\n",
            "parent_urn: urn:steward:risk:req_node:alpha-baseline:nowhere\n",
        );
        let bomb = "urn: urn:x:risk:library:b\nlocale: en\nref_id: B\nversion: 1\nobjects:\n  a: &a [x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
        for (name, bytes, why) in [
            ("dup.yaml", dup.into_bytes(), "gov-1.1"),
            ("orphan.yaml", orphan.into_bytes(), "nowhere"),
            ("bomb.yaml", bomb.as_bytes().to_vec(), "alias"),
            ("binary.json", vec![b'{', 0xff, 0xfe], "UTF-8"),
        ] {
            let e = refused(upload(&app, &co, &[("file", name, bytes)], &[]).await).await;
            assert!(
                e.to_lowercase().contains(&why.to_lowercase()),
                "{name}: {e}"
            );
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM frameworks").await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM requirements").await, 0);
        assert_eq!(app.audit_count().await, events);
    }
);

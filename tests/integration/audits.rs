//! The auditor's workspace: audits, request lists (PBC) answered with evidence, samples that
//! can be drawn again, auditors limited to their audits, the audit's export.

use super::exports::{json, setup, steward, tmp_dir, Setup};
use super::*;
use sha2::{Digest, Sha256};
use time::Duration;

/// An audit of framework `custom` over the setup's period, with the demo auditor; its id.
pub async fn plan_audit(app: &TestApp, s: &Setup) -> i64 {
    app.user(Role::Auditor).await;
    let co = app.client_as(Role::Compliance).await;
    let r = app
        .call(
            &co,
            "/api/save_audit",
            &[
                ("form[name]", "SOC 2 type II FY26"),
                ("form[start]", &s.from.to_string()),
                ("form[end]", &s.to.to_string()),
                ("form[frameworks]", "custom"),
                ("form[auditors]", "auditor"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    json(r).await.as_i64().unwrap()
}

/// Puts the demo auditor on a new audit of these frameworks (keys, comma-separated): an
/// auditor reads only what their audits cover. The audit's id.
pub async fn assign_auditor(app: &TestApp, frameworks: &str) -> i64 {
    app.user(Role::Auditor).await;
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(
            &admin,
            "/api/save_audit",
            &[
                ("form[name]", "Assigned audit"),
                ("form[start]", "2026-01-01"),
                ("form[end]", "2027-01-01"),
                ("form[frameworks]", frameworks),
                ("form[auditors]", "auditor"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    json(r).await.as_i64().unwrap()
}

async fn call_ok(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> serde_json::Value {
    let r = app.call(c, path, form).await;
    let status = r.status();
    let v = json(r).await;
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn status_of(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> (u16, String) {
    let r = app.call(c, path, form).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The documented rule, computed here independently of the app's code.
fn by_hand(seed: &str, population: &[String], n: usize) -> Vec<String> {
    let mut v: Vec<(String, String)> = population
        .iter()
        .map(|k| {
            (
                hex::encode(Sha256::digest(format!("{seed}\n{k}").as_bytes())),
                k.clone(),
            )
        })
        .collect();
    v.sort();
    v.into_iter().take(n).map(|(_, k)| k).collect()
}

both_dbs!(
    an_audit_runs_from_sample_to_accepted_answers_and_its_export,
    |app| {
        let s = setup(&app).await;
        let audit = plan_audit(&app, &s).await;
        let auditor = app.client_as(Role::Auditor).await;
        let co = app.client_as(Role::Compliance).await;
        let today = app.state().app.clock.now().date();
        let e1: i64 = sqlx::query_scalar("SELECT MIN(evidence_id) FROM evidence_versions")
            .fetch_one(app.state().app.db.pool())
            .await
            .unwrap();

        // The auditor sees the audit, draws a sample with a seed anyone can use again.
        let list = call_ok(&app, &auditor, "/api/list_audits", &[]).await;
        assert_eq!(list["audits"].as_array().unwrap().len(), 1);
        assert_eq!(list["can_manage"], false);
        let due = (today + Duration::days(7)).to_string();
        let sample = call_ok(
            &app,
            &auditor,
            "/api/draw_sample",
            &[
                ("form[audit_id]", audit.to_string()),
                ("form[population]", "evidence_versions".into()),
                ("form[size]", "2".into()),
                ("form[seed]", "fy26-walkthrough".into()),
                ("form[due]", due.clone()),
                ("form[assignee]", "compliance".into()),
            ],
        )
        .await;
        // In the period: e1 v3, e2 v1 (a file) and e3 v1 (a link); not e1 v2 (before it) nor the
        // evidence of a control outside the framework.
        let population: Vec<String> = vec![
            format!("evidence/{e1}/v3"),
            format!("evidence/{}/v1", e1 + 1),
            format!("evidence/{}/v1", e1 + 2),
        ];
        assert_eq!(sample["population_size"], 3);
        let items: Vec<String> = serde_json::from_value(sample["items"].clone()).unwrap();
        assert_eq!(items, by_hand("fy26-walkthrough", &population, 2));
        let mut sorted = population.clone();
        sorted.sort();
        let digest = hex::encode(Sha256::digest(
            sorted
                .iter()
                .map(|k| format!("{k}\n"))
                .collect::<String>()
                .as_bytes(),
        ));
        assert_eq!(sample["population_sha256"], digest);
        // The same seed draws the same again.
        let again = call_ok(
            &app,
            &auditor,
            "/api/draw_sample",
            &[
                ("form[audit_id]", audit.to_string()),
                ("form[population]", "evidence_versions".into()),
                ("form[size]", "2".into()),
                ("form[seed]", "fy26-walkthrough".into()),
                ("form[due]", due.clone()),
                ("form[assignee]", "".into()),
            ],
        )
        .await;
        assert_eq!(again["items"], sample["items"]);
        // Bad words name their field.
        let (code, text) = status_of(
            &app,
            &auditor,
            "/api/draw_sample",
            &[
                ("form[audit_id]", audit.to_string()),
                ("form[population]", "vendors".into()),
                ("form[size]", "0".into()),
                ("form[seed]", "a b".into()),
                ("form[due]", "soon".into()),
                ("form[assignee]", "auditor".into()),
            ],
        )
        .await;
        assert_eq!(code, 422, "{text}");
        for field in ["size:", "seed:", "population:", "due:", "assignee:"] {
            assert!(text.contains(field), "{field} in {text}");
        }

        // The auditor raises a request of their own, already overdue.
        let raised = call_ok(
            &app,
            &auditor,
            "/api/add_audit_request",
            &[
                ("form[audit_id]", audit.to_string()),
                (
                    "form[text]",
                    "The access review of the first quarter".into(),
                ),
                ("form[requirement]", "R-1".into()),
                ("form[control]", "IAM-1".into()),
                ("form[population]", "".into()),
                ("form[due]", (today - Duration::days(1)).to_string()),
                ("form[assignee]", "compliance".into()),
            ],
        )
        .await;
        let manual = raised.as_i64().unwrap();
        let d = call_ok(&app, &co, "/api/get_audit", &[("id", audit.to_string())]).await;
        let reqs = d["requests"].as_array().unwrap();
        assert_eq!(reqs.len(), 5);
        assert_eq!(reqs[0]["reference"], "PBC-001");
        assert_eq!(reqs[0]["sample_item"], items[0].as_str());
        assert_eq!(d["audit"]["counts"]["open"], 5);
        assert_eq!(d["audit"]["counts"]["overdue"], 1);
        let first = reqs[0]["id"].as_i64().unwrap();
        let second = reqs[1]["id"].as_i64().unwrap();

        // The organisation answers: evidence on the first, a note on the second.
        let (code, text) = status_of(
            &app,
            &co,
            "/api/move_audit_request",
            &[
                ("id", first.to_string()),
                ("action", "submit".into()),
                ("note", "".into()),
            ],
        )
        .await;
        assert_eq!(code, 409, "nothing attached yet: {text}");
        assert!(text.contains("Attach evidence or write a note"), "{text}");
        call_ok(
            &app,
            &co,
            "/api/attach_request_evidence",
            &[("id", first.to_string()), ("evidence", format!("{e1}:3"))],
        )
        .await;
        let (code, text) = status_of(
            &app,
            &co,
            "/api/attach_request_evidence",
            &[("id", first.to_string()), ("evidence", format!("{e1}:9"))],
        )
        .await;
        assert_eq!(code, 422, "{text}");
        assert!(text.contains("has no version 9"), "{text}");
        call_ok(
            &app,
            &co,
            "/api/move_audit_request",
            &[
                ("id", first.to_string()),
                ("action", "submit".into()),
                ("note", "".into()),
            ],
        )
        .await;
        call_ok(
            &app,
            &co,
            "/api/move_audit_request",
            &[
                ("id", second.to_string()),
                ("action", "submit".into()),
                ("note", "See the backup runbook".into()),
            ],
        )
        .await;

        // The auditor accepts one and returns the other (a reason is required); writes nothing
        // else: no evidence, no audit changes.
        let (code, _) = status_of(
            &app,
            &auditor,
            "/api/move_audit_request",
            &[
                ("id", second.to_string()),
                ("action", "return".into()),
                ("note", " ".into()),
            ],
        )
        .await;
        assert_eq!(code, 409);
        let v = call_ok(
            &app,
            &auditor,
            "/api/move_audit_request",
            &[
                ("id", first.to_string()),
                ("action", "accept".into()),
                ("note", "".into()),
            ],
        )
        .await;
        assert_eq!(v, "accepted");
        call_ok(
            &app,
            &auditor,
            "/api/move_audit_request",
            &[
                ("id", second.to_string()),
                ("action", "return".into()),
                (
                    "note",
                    "The runbook is not evidence of a restore test".into(),
                ),
            ],
        )
        .await;
        let (code, _) = status_of(
            &app,
            &auditor,
            "/api/attach_request_evidence",
            &[("id", second.to_string()), ("evidence", format!("{e1}:3"))],
        )
        .await;
        assert_eq!(code, 403);
        let (code, _) = status_of(
            &app,
            &auditor,
            "/api/set_audit_status",
            &[("id", audit.to_string()), ("status", "closed".into())],
        )
        .await;
        assert_eq!(code, 403);
        let (code, _) = status_of(
            &app,
            &co,
            "/api/move_audit_request",
            &[
                ("id", second.to_string()),
                ("action", "accept".into()),
                ("note", "".into()),
            ],
        )
        .await;
        assert_eq!(
            code, 409,
            "the organisation does not accept its own answers"
        );
        call_ok(
            &app,
            &auditor,
            "/api/comment_audit_request",
            &[
                ("id", manual.to_string()),
                ("body", "Please include the approvals".into()),
            ],
        )
        .await;

        let d = call_ok(&app, &co, "/api/get_audit", &[("id", audit.to_string())]).await;
        let c = &d["audit"]["counts"];
        assert_eq!(
            (
                c["accepted"].as_i64(),
                c["returned"].as_i64(),
                c["open"].as_i64()
            ),
            (Some(1), Some(1), Some(3))
        );
        let r = call_ok(
            &app,
            &auditor,
            "/api/get_audit_request",
            &[("id", second.to_string())],
        )
        .await;
        let thread: Vec<String> = r["thread"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["action"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(thread, ["submitted", "returned"]);
        assert_eq!(
            r["candidates"].as_array().unwrap().len(),
            0,
            "auditors get no evidence picker"
        );

        // The assignee was told (outbox), and every step is in the audit trail.
        let notices: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE kind = 'audit.request' AND channel = 'inapp'",
        )
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
        assert!(notices >= 4, "{notices}");
        let actions = app.audit_actions().await;
        for a in [
            "audit.create",
            "audit.sample",
            "audit.request",
            "audit.request_evidence",
            "audit.request_submitted",
            "audit.request_accepted",
            "audit.request_returned",
            "audit.comment",
        ] {
            assert!(actions.contains(&a.to_string()), "{a} in {actions:?}");
        }

        // The audit's export, by its auditor: the requests with their answers, verifiable.
        app.state().app.clock.advance(Duration::days(3));
        let auditor = app.client_as(Role::Auditor).await;
        let co = app.client_as(Role::Compliance).await;
        let r = app
            .get(
                &auditor,
                &format!("{}?audit={audit}", app::paths::EVIDENCE_EXPORT),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("audit{audit}")));
        let zip = r.bytes().await.unwrap();
        let dir = tmp_dir(&app, "audit-export");
        let path = dir.join("audit.zip");
        std::fs::write(&path, &zip).unwrap();
        let (code, out) = steward(&app, &["verify-export", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
        let mut requests = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("requests.csv").unwrap(), &mut requests)
            .unwrap();
        assert!(
            requests.starts_with(
                "request,text,status,due,requirement,control,sample_item,evidence,thread\r\n"
            ),
            "{requests}"
        );
        assert!(requests.contains("PBC-001,"), "{requests}");
        assert!(
            requests.contains(&format!("evidence/{e1}/v3/policy.pdf")),
            "{requests}"
        );
        assert!(
            requests.contains("The runbook is not evidence of a restore test"),
            "{requests}"
        );
        let mut m = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("manifest.json").unwrap(), &mut m)
            .unwrap();
        let m: serde_json::Value = serde_json::from_str(&m).unwrap();
        assert_eq!(m["audit"]["id"], audit);
        assert_eq!(m["counts"]["requests"], 5);

        // Closed: nothing moves any more.
        call_ok(
            &app,
            &co,
            "/api/set_audit_status",
            &[("id", audit.to_string()), ("status", "closed".into())],
        )
        .await;
        let (code, text) = status_of(
            &app,
            &auditor,
            "/api/comment_audit_request",
            &[("id", manual.to_string()), ("body", "late".into())],
        )
        .await;
        assert_eq!(code, 409, "{text}");
        let (code, _) = status_of(
            &app,
            &co,
            "/api/set_audit_status",
            &[("id", audit.to_string()), ("status", "fieldwork".into())],
        )
        .await;
        assert_eq!(code, 409, "closed is final");
    }
);

both_dbs!(auditors_see_only_their_audits, |app| {
    let s = setup(&app).await;
    let audit = plan_audit(&app, &s).await;
    // A second auditor, on no audit.
    let admin = app.client_as(Role::Admin).await;
    let until = (app.state().app.clock.now().date() + Duration::days(30)).to_string();
    let r = app
        .call(
            &admin,
            "/api/create_user",
            &steward_tests::new_user_form("outsider", "auditor", "copper meadow falcon", &until),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let outsider = app.client();
    let own = "granite river lantern 2026";
    assert!(app
        .login(&outsider, "outsider", "copper meadow falcon")
        .await
        .status()
        .is_success());
    let r = app
        .call(
            &outsider,
            "/api/change_password",
            &[
                ("current_password", "copper meadow falcon"),
                ("new_password", own),
                ("confirm_password", own),
            ],
        )
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let list = call_ok(&app, &outsider, "/api/list_audits", &[]).await;
    assert_eq!(list["audits"].as_array().unwrap().len(), 0);
    let (code, text) = status_of(
        &app,
        &outsider,
        "/api/get_audit",
        &[("id", audit.to_string())],
    )
    .await;
    assert_eq!(code, 404, "{text}");
    let (code, _) = status_of(
        &app,
        &outsider,
        "/api/add_audit_request",
        &[
            ("form[audit_id]", audit.to_string()),
            ("form[text]", "x".into()),
            ("form[due]", "2026-12-31".into()),
        ],
    )
    .await;
    assert_eq!(code, 404);
    let r = app
        .get(
            &outsider,
            &format!("{}?audit={audit}", app::paths::EVIDENCE_EXPORT),
        )
        .await;
    assert_eq!(r.status(), 404);
    let page = app
        .get(&outsider, &app::paths::audit(audit))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No such audit."), "the page says so");
    reach_is_what_the_audits_cover(&app, audit, &outsider).await;
    // The audit form names every bad field.
    let co = app.client_as(Role::Compliance).await;
    let (code, text) = status_of(
        &app,
        &co,
        "/api/save_audit",
        &[
            ("form[name]", "".into()),
            ("form[start]", "2026-07-01".into()),
            ("form[end]", "2026-01-01".into()),
            ("form[frameworks]", "custom, nope".into()),
            ("form[auditors]", "compliance".into()),
        ],
    )
    .await;
    assert_eq!(code, 422, "{text}");
    for part in [
        "name: required",
        "end: the period ends",
        "no framework has the key 'nope'",
        "'compliance' is not an active auditor account",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
});

/// Frameworks, controls, evidence and their exports, read by the audit's auditor and by an
/// auditor on no audit: each sees only what their audits cover, and no costs or budgets.
async fn reach_is_what_the_audits_cover(app: &TestApp, audit: i64, outsider: &reqwest::Client) {
    let pool = app.state().app.db.pool().clone();
    let id = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(
            &admin,
            "/api/import_builtin_framework",
            &[("key", "nist-800-53r5-low")],
        )
        .await;
    assert!(r.status().is_success());
    let nist = id("SELECT id FROM frameworks WHERE key <> 'custom'").await;
    let custom = id("SELECT id FROM frameworks WHERE key = 'custom'").await;
    let (c1, c9) = (
        id("SELECT id FROM controls WHERE ref = 'IAM-1'").await,
        id("SELECT id FROM controls WHERE ref = 'HR-9'").await,
    );
    let covered = id("SELECT MIN(evidence_id) FROM evidence_controls WHERE control_id IN (SELECT id FROM controls WHERE ref = 'IAM-1')").await;
    let hr = id("SELECT MIN(evidence_id) FROM evidence_controls WHERE control_id IN (SELECT id FROM controls WHERE ref = 'HR-9')").await;
    let auditor = app.client_as(Role::Auditor).await;
    let keys = |v: serde_json::Value| -> Vec<String> {
        (v["frameworks"].as_array().unwrap().iter())
            .map(|f| f["key"].as_str().unwrap().to_string())
            .collect()
    };
    let fws = call_ok(app, &auditor, "/api/list_frameworks", &[]).await;
    assert_eq!(keys(fws), vec!["custom".to_string()]);
    assert!(keys(call_ok(app, outsider, "/api/list_frameworks", &[]).await).is_empty());
    let page = app.get(outsider, "/frameworks").await.text().await.unwrap();
    assert!(
        page.contains("not assigned to an audit yet"),
        "the page says why it is empty"
    );
    let refs = |v: serde_json::Value| -> Vec<String> {
        (v["rows"].as_array().unwrap().iter())
            .map(|c| c["ref"].as_str().unwrap().to_string())
            .collect()
    };
    let q = [("filter[q]", String::new())];
    let list = call_ok(app, &auditor, "/api/list_controls", &q).await;
    assert_eq!(list["frameworks"].as_array().unwrap().len(), 1);
    assert_eq!(refs(list), vec!["IAM-1".to_string(), "OPS-1".to_string()]);
    assert!(refs(call_ok(app, outsider, "/api/list_controls", &q).await).is_empty());
    let ev = |v: serde_json::Value| -> Vec<i64> {
        (v.as_array().unwrap().iter())
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let seen = ev(call_ok(app, &auditor, "/api/list_evidence", &q).await);
    assert!(seen.contains(&covered) && !seen.contains(&hr), "{seen:?}");
    assert!(ev(call_ok(app, outsider, "/api/list_evidence", &q).await).is_empty());
    // A page answers 200 and says "Not found." in it; files and downloads answer 404.
    let get = |c: &reqwest::Client, path: String| {
        let c = c.clone();
        async move {
            let r = app.get(&c, &path).await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            match status {
                200 if body.contains("Not found.") => 404,
                s => s,
            }
        }
    };
    for (path, theirs) in [
        (format!("/frameworks/{custom}"), 200),
        (format!("/frameworks/{custom}/export.csv"), 200),
        (format!("/frameworks/{nist}"), 404),
        (format!("/frameworks/{nist}/export.csv"), 404),
        (format!("/controls/{c1}"), 200),
        (format!("/controls/{c9}"), 404),
        (format!("/evidence/{covered}"), 200),
        (format!("/evidence/{covered}/versions/1/download"), 200),
        (format!("/evidence/{hr}"), 404),
        (format!("/evidence/{hr}/versions/1/download"), 404),
        ("/costs".to_string(), 403),
        ("/budgets".to_string(), 403),
    ] {
        assert_eq!(
            get(&auditor, path.clone()).await,
            theirs,
            "auditor GET {path}"
        );
        let outside = if theirs == 403 { 403 } else { 404 };
        assert_eq!(
            get(outsider, path.clone()).await,
            outside,
            "outsider GET {path}"
        );
    }
    let (code, _) = status_of(
        app,
        &auditor,
        "/api/list_requirements",
        &[
            ("framework", nist.to_string()),
            ("q", "".into()),
            ("page", "1".into()),
        ],
    )
    .await;
    assert_eq!(code, 404);
    let csv = app
        .get(&auditor, "/controls/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("IAM-1") && !csv.contains("HR-9"), "{csv}");
    let d = call_ok(app, &auditor, "/api/dashboard", &[]).await;
    let posture = &d["posture"];
    assert_eq!(
        posture["frameworks"].as_array().unwrap().len(),
        1,
        "{posture}"
    );
    let counted: i64 = (posture["controls"].as_array().unwrap().iter())
        .map(|p| p[1].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 2, "the two controls mapped to custom: {posture}");
    assert!(d["spend"].is_null() && d["budgets"].is_null());
    // The audit trail: the events of their audits' periods only (what the export holds).
    let (start, end): (String, String) =
        sqlx::query_as("SELECT period_start, period_end FROM audits WHERE id = $1")
            .bind(audit)
            .fetch_one(&pool)
            .await
            .unwrap();
    let q = [("filter[actor]", String::new())];
    let trail = call_ok(app, &auditor, "/api/list_audit_events", &q).await;
    let events = trail["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        let at = e["at"].as_str().unwrap();
        assert!(
            at >= start.as_str() && at < end.as_str(),
            "{at} outside [{start}, {end})"
        );
    }
    let all = call_ok(app, &admin, "/api/list_audit_events", &q).await;
    let later = (all["events"].as_array().unwrap().iter())
        .any(|e| e["at"].as_str().unwrap() >= end.as_str());
    assert!(
        later,
        "the organisation reads events after the period (the NIST import)"
    );
    let none = call_ok(app, outsider, "/api/list_audit_events", &q).await;
    assert!(none["events"].as_array().unwrap().is_empty());
    // Evidence that answers one of the audit's requests is theirs too, whatever its controls.
    let co = app.client_as(Role::Compliance).await;
    let req = call_ok(
        app,
        &co,
        "/api/add_audit_request",
        &[
            ("form[audit_id]", audit.to_string()),
            ("form[text]", "HR onboarding records".into()),
            ("form[due]", "2026-12-31".into()),
        ],
    )
    .await
    .as_i64()
    .unwrap();
    call_ok(
        app,
        &co,
        "/api/attach_request_evidence",
        &[("id", req.to_string()), ("evidence", format!("{hr}:1"))],
    )
    .await;
    assert_eq!(
        get(&auditor, format!("/evidence/{hr}/versions/1/download")).await,
        200
    );
    assert_eq!(
        get(outsider, format!("/evidence/{hr}/versions/1/download")).await,
        404
    );
}

both_dbs!(request_reminders_go_once_a_day, |app| {
    let s = setup(&app).await;
    let audit = plan_audit(&app, &s).await;
    let co = app.client_as(Role::Compliance).await;
    let today = app.state().app.clock.now().date();
    for (text, due) in [
        ("Overdue", today - Duration::days(2)),
        ("Soon", today + Duration::days(2)),
        ("Later", today + Duration::days(30)),
    ] {
        call_ok(
            &app,
            &co,
            "/api/add_audit_request",
            &[
                ("form[audit_id]", audit.to_string()),
                ("form[text]", text.into()),
                ("form[due]", due.to_string()),
                ("form[assignee]", "compliance".into()),
            ],
        )
        .await;
    }
    // "My work" lists what waits on the assignee, soonest first.
    let mine = call_ok(&app, &co, "/api/my_audit_requests", &[]).await;
    let refs: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["PBC-001", "PBC-002", "PBC-003"]);
    assert_eq!(mine[0]["overdue"], true);
    assert_eq!(mine[0]["audit"], "SOC 2 type II FY26");
    let now = app.state().app.clock.now();
    assert_eq!(
        app::audits::reminders::run(&app.state().app, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app::audits::reminders::run(&app.state().app, now)
            .await
            .unwrap(),
        0,
        "once a day"
    );
    let body: String = sqlx::query_scalar("SELECT body FROM notifications WHERE event_key LIKE 'audit.reminder:%' AND channel = 'inapp'")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    assert!(
        body.contains("PBC-001") && body.contains("overdue since"),
        "{body}"
    );
    assert!(
        body.contains("PBC-002") && !body.contains("PBC-003"),
        "{body}"
    );
});

both_dbs!(the_statement_of_applicability_stands_alone, |app| {
    let s = setup(&app).await;
    let audit = plan_audit(&app, &s).await;
    // A control that is not applicable, with its justification, on R-3.
    let co = app.client_as(Role::Compliance).await;
    let fw: i64 = sqlx::query_scalar("SELECT id FROM frameworks WHERE key = 'custom'")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    let id = json(
        app.call(
            &co,
            "/api/save_control",
            &[
                ("form[ref]", "CRY-1"),
                ("form[title]", "Disk encryption"),
                ("form[cadence]", "none"),
                ("form[applicable]", "no"),
                ("form[justification]", "No servers of our own"),
            ],
        )
        .await,
    )
    .await
    .as_i64()
    .unwrap();
    let r = app
        .call(
            &co,
            "/api/map_control",
            &[
                ("control_id", id.to_string()),
                ("framework_id", fw.to_string()),
                ("requirements", "R-3".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let q = format!(
        "{}?framework=custom&from={}&to={}",
        app::paths::SOA_EXPORT,
        s.from,
        s.to
    );
    let r = app.get(&co, &q).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with(
            "requirement,title,group,applicability,justification,controls,control_status\r\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("R-1,Access reviews,Access,applicable,,IAM-1,IAM-1: "),
        "{csv}"
    );
    assert!(
        csv.contains("R-2,Backups,Ops,applicable,,OPS-1,OPS-1: "),
        "{csv}"
    );
    assert!(
        csv.contains(
            "R-3,Encryption,Ops,not applicable,No servers of our own,CRY-1,CRY-1: Not applicable"
        ),
        "{csv}"
    );
    // The audit's auditor takes the audit's; not another scope.
    let auditor = app.client_as(Role::Auditor).await;
    let r = app
        .get(
            &auditor,
            &format!("{}?audit={audit}", app::paths::SOA_EXPORT),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), csv, "same scope, same statement");
    assert_eq!(app.get(&auditor, &q).await.status(), 403);
});

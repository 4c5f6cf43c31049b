//! Access review campaigns: planning with named fields, starting (snapshots frozen, accounts
//! routed to managers, owners or named reviewers, never to their holder), reviewers who see and
//! decide only their own entries, bulk decisions over a filter, reassignment with a reason.

use super::exports::json;
use super::*;
use steward_tests::{new_user_form, NO_FIELDS};

/// A member with an email, signed in (their own password set); the client.
pub(super) async fn member(app: &TestApp, username: &str, email: &str) -> reqwest::Client {
    let admin = app.client_as(Role::Admin).await;
    let mut form = new_user_form(username, "member", "copper meadow falcon", "");
    form[2].1 = email.to_string();
    let r = app.call(&admin, "/api/create_user", &form).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let c = app.client();
    assert!(app
        .login(&c, username, "copper meadow falcon")
        .await
        .status()
        .is_success());
    let own = "granite river lantern 2026";
    let r = app
        .call(
            &c,
            "/api/change_password",
            &[
                ("current_password", "copper meadow falcon"),
                ("new_password", own),
                ("confirm_password", own),
            ],
        )
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    c
}

pub(super) async fn import_csv(app: &TestApp, c: &reqwest::Client, system: i64, csv: &str) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("crm.csv"),
    );
    let r = c
        .post(app.url(&app::paths::access_import(system)))
        .header("origin", app.url(""))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let token = json(r).await["token"].as_str().unwrap().to_string();
    let r = app
        .call(
            c,
            "/api/import_mapped_accounts",
            &[
                ("system", system.to_string()),
                ("token", token),
                ("map[user_id]", "login".into()),
                ("map[email]", "email".into()),
                ("map[entitlement]", "role".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

pub(super) async fn queue(
    app: &TestApp,
    c: &reqwest::Client,
    campaign: i64,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let mut form = vec![
        ("filter[campaign]", campaign.to_string()),
        ("page", "1".to_string()),
    ];
    for (k, v) in extra {
        form.push((k, v.to_string()));
    }
    let r = app.call(c, "/api/my_access_entries", &form).await;
    assert_eq!(r.status(), 200);
    json(r).await
}

pub(super) fn keys(q: &serde_json::Value) -> Vec<String> {
    q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["account"]["user_id"].as_str().unwrap().to_string())
        .collect()
}

pub(super) fn entry_of(q: &serde_json::Value, user: &str) -> i64 {
    q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["account"]["user_id"] == user)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

both_dbs!(a_campaign_routes_freezes_and_keeps_reviewers_apart, |app| {
    let co = app.client_as(Role::Compliance).await;
    let admin = app.client_as(Role::Admin).await;
    let mia = member(&app, "mia", "mia@x.io").await;
    let boss = member(&app, "boss", "boss@x.io").await;
    let r = app
        .call(
            &co,
            "/api/save_system",
            &[
                ("form[name]", "CRM"),
                ("form[kind]", "application"),
                ("form[owner]", "compliance"),
            ],
        )
        .await;
    let system = json(r).await.as_i64().unwrap();
    // The people list: Ann reports to Mia, Mia to the boss.
    let people =
        b"email,name,manager\nann@x.io,Ann,mia@x.io\nmia@x.io,Mia,boss@x.io\nboss@x.io,Boss,\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(people.to_vec()).file_name("people.csv"),
    );
    let r = co
        .post(app.url(app::paths::ACCESS_PEOPLE_IMPORT))
        .header("origin", app.url(""))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    import_csv(&app, &co, system, "login,email,role\nann,ann@x.io,sales\nmia,mia@x.io,admin\nsvc,,integration\neve,eve@x.io,sales\ncompliance,,auditor-of-crm\n").await;

    // Planning names every bad field.
    let r = app
        .call(
            &co,
            "/api/save_access_campaign",
            &[
                ("form[name]", ""),
                ("form[owner]", "nobody"),
                ("form[due]", "soon"),
                ("form[systems]", "CRM, Nope"),
                ("form[recurrence]", "weekly"),
                ("form[controls]", "X-1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    for part in [
        "name: required",
        "owner: no user 'nobody'",
        "due: 'soon'",
        "no system is named 'Nope'",
        "recurrence: 'weekly'",
        "no control has the reference 'X-1'",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let r = app
        .call(
            &co,
            "/api/save_access_campaign",
            &[
                ("form[name]", "Q4 CRM review"),
                ("form[owner]", "admin"),
                ("form[due]", "2026-12-31"),
                ("form[systems]", "crm"),
                ("form[recurrence]", "quarterly"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let campaign = json(r).await.as_i64().unwrap();
    // Reviewers see nothing of a draft.
    assert!(keys(&queue(&app, &mia, campaign, &[]).await).is_empty());
    let r = app
        .call(
            &co,
            "/api/start_access_campaign",
            &[("id", campaign.to_string())],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(json(r).await, 5);
    let r = app
        .call(
            &co,
            "/api/start_access_campaign",
            &[("id", campaign.to_string())],
        )
        .await;
    assert_eq!(r.status(), 409, "a campaign starts once");

    // Routing: managers from the people list, the owner for the rest, never the holder.
    assert_eq!(keys(&queue(&app, &mia, campaign, &[]).await), ["ann"]);
    assert_eq!(keys(&queue(&app, &boss, campaign, &[]).await), ["mia"]);
    assert_eq!(keys(&queue(&app, &co, campaign, &[]).await), ["eve", "svc"]);
    let q = queue(&app, &admin, campaign, &[]).await;
    assert_eq!(
        keys(&q),
        ["compliance"],
        "the owner's own account goes to the campaign owner"
    );
    assert_eq!(q["entries"][0]["routed_by"], "self_review");

    // Later imports do not change what is under review.
    import_csv(
        &app,
        &co,
        system,
        "login,email,role\nann,ann@x.io,sales\nzed,zed@x.io,sales\n",
    )
    .await;
    let q = queue(&app, &co, campaign, &[]).await;
    assert_eq!(keys(&q), ["eve", "svc"], "the frozen snapshot");
    let d = json(
        app.call(
            &co,
            "/api/get_access_campaign",
            &[("id", campaign.to_string())],
        )
        .await,
    )
    .await;
    assert_eq!(d["campaign"]["status"], "in_review");
    assert_eq!(d["campaign"]["progress"]["total"], 5);

    // A reviewer decides only their own entries; another's does not exist for them.
    let mq = queue(&app, &mia, campaign, &[]).await;
    let ann = entry_of(&mq, "ann");
    let svc = entry_of(&q, "svc");
    let decide = |id: i64, d: &str, note: &str| {
        vec![
            ("id", id.to_string()),
            ("decision", d.to_string()),
            ("note", note.to_string()),
        ]
    };
    assert_eq!(
        app.call(&mia, "/api/decide_access_entry", &decide(svc, "keep", ""))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call(&boss, "/api/decide_access_entry", &decide(ann, "keep", ""))
            .await
            .status(),
        404
    );
    let r = app
        .call(&mia, "/api/decide_access_entry", &decide(ann, "revoke", ""))
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("note: required to revoke"));
    assert_eq!(
        app.call(
            &mia,
            "/api/decide_access_entry",
            &decide(ann, "revoke", "moved to support")
        )
        .await
        .status(),
        200
    );
    let mq = queue(&app, &mia, campaign, &[("filter[state]", "decided")]).await;
    assert_eq!(mq["entries"][0]["decision"], "revoke");
    assert_eq!(mq["open"], 0);

    // Reassigning: the campaign's owner, with a reason, never to the holder.
    let reassign = |to: &str, why: &str| {
        vec![
            ("id", svc.to_string()),
            ("to", to.to_string()),
            ("reason", why.to_string()),
        ]
    };
    assert_eq!(
        app.call(&mia, "/api/reassign_access_entry", &reassign("boss", "x"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call(&admin, "/api/reassign_access_entry", &reassign("boss", ""))
            .await
            .status(),
        422
    );
    assert_eq!(
        app.call(
            &admin,
            "/api/reassign_access_entry",
            &reassign("boss", "the integration is sales'")
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        keys(&queue(&app, &boss, campaign, &[]).await),
        ["mia", "svc"]
    );
    let comp = entry_of(&queue(&app, &admin, campaign, &[]).await, "compliance");
    let r = app
        .call(
            &admin,
            "/api/reassign_access_entry",
            &[
                ("id", comp.to_string()),
                ("to", "compliance".into()),
                ("reason", "x".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("holds this account"));

    // Bulk: every open entry the filter keeps, and no one else's.
    let bulk = |q: &str, d: &str, note: &str| {
        vec![
            ("filter[campaign]", campaign.to_string()),
            ("filter[q]", q.to_string()),
            ("filter[state]", "open".to_string()),
            ("decision", d.to_string()),
            ("note", note.to_string()),
        ]
    };
    assert_eq!(
        app.call(
            &boss,
            "/api/bulk_decide_access_entries",
            &bulk("", "revoke", "")
        )
        .await
        .status(),
        422
    );
    let r = app
        .call(
            &boss,
            "/api/bulk_decide_access_entries",
            &bulk("svc", "modify", "read-only role"),
        )
        .await;
    assert_eq!(json(r).await, 1);
    let r = app
        .call(
            &boss,
            "/api/bulk_decide_access_entries",
            &bulk("", "keep", ""),
        )
        .await;
    assert_eq!(json(r).await, 1, "only the open one left: mia");
    assert_eq!(
        json(
            app.call(
                &co,
                "/api/bulk_decide_access_entries",
                &bulk("", "keep", "")
            )
            .await
        )
        .await,
        1,
        "eve"
    );
    let d = json(
        app.call(
            &co,
            "/api/get_access_campaign",
            &[("id", campaign.to_string())],
        )
        .await,
    )
    .await;
    let p = &d["campaign"]["progress"];
    assert_eq!(
        (
            p["decided"].as_i64(),
            p["revoke"].as_i64(),
            p["modify"].as_i64()
        ),
        (Some(4), Some(1), Some(1))
    );
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_entry_history")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    assert_eq!(history, 5, "four decisions and one reassignment");
    let actions = app.audit_actions().await;
    for a in [
        "access.campaign_created",
        "access.campaign_started",
        "access.entry_decided",
        "access.entries_bulk_decided",
        "access.entry_reassigned",
    ] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
    // Finance neither plans nor sees campaigns; the queue page is everyone's who owns work.
    let fin = app.client_as(Role::Finance).await;
    assert_eq!(
        app.call(&fin, "/api/list_access_campaigns", NO_FIELDS)
            .await
            .status(),
        403
    );
    assert!(keys(&queue(&app, &fin, campaign, &[]).await).is_empty());
    let page = app.get(&mia, app::paths::ACCESS_REVIEW).await;
    assert_eq!(page.status(), 200);
});

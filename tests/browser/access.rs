//! An access review in the browser: a member reviewer finds the work on the dashboard, filters
//! the queue, keeps the whole filter at once (every non-privileged account with MFA used in the
//! last 30 days) and revokes one account with a note; compliance closes the review; a later
//! snapshot shows the account gone; the owner signs off and the report lands as evidence.

use super::*;
use app::policy::Role;

fn accounts(today: time::Date, with_ann: bool) -> String {
    let recent = today - time::Duration::days(3);
    let old = today - time::Duration::days(200);
    let mut csv = String::from("user_id,email,entitlement,last_login,mfa\n");
    if with_ann {
        csv.push_str(&format!("ann,ann@x.io,admin,{recent},yes\n"));
    }
    csv.push_str(&format!("bob,bob@x.io,sales,{recent},yes\n"));
    csv.push_str(&format!("cat,cat@x.io,sales,{recent},yes\n"));
    csv.push_str(&format!("dan,dan@x.io,sales,{old},no\n"));
    csv
}

async fn review_flow(app: TestApp) {
    app.user(Role::Member).await;
    let control = app
        .control("AC-2", "Access is reviewed quarterly", "monthly")
        .await;
    let co = app.client_as(Role::Compliance).await;
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
    assert_eq!(r.status(), 200);
    let today = app.state().app.clock.now().date();
    let file = app.db.data_dir().join("crm.csv");
    std::fs::write(&file, accounts(today, true)).unwrap();
    let out = app.cli(&["import-accounts", "--system", "CRM", file.to_str().unwrap()]);
    assert!(out.contains("Imported 4 account(s)"), "{out}");
    let due = (today + time::Duration::days(14)).to_string();
    let r = app
        .call(
            &co,
            "/api/save_access_campaign",
            &[
                ("form[name]", "CRM quarterly"),
                ("form[owner]", "compliance"),
                ("form[due]", &due),
                ("form[systems]", "CRM"),
                ("form[reviewers]", "CRM = member"),
                ("form[controls]", "AC-2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let campaign: i64 = r.text().await.unwrap().trim().parse().unwrap();
    let r = app
        .call(
            &co,
            "/api/start_access_campaign",
            &[("id", campaign.to_string())],
        )
        .await;
    assert_eq!(r.status(), 200);

    // The member reviewer: the dashboard says there is work; the queue has it.
    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "member").await;
    wait_for(&c, "#my-access-entries").await;
    assert!(text(&c, "#my-access-entries")
        .await
        .contains("4 account(s) to review"));
    click(&c, "#my-access-entries").await;
    wait_for_path(&c, app::paths::ACCESS_REVIEW).await;
    visit(
        &c,
        &app.url(&format!(
            "{}?campaign={campaign}",
            app::paths::ACCESS_REVIEW
        )),
    )
    .await;
    wait_for(&c, "#queue tr[data-entry]").await;
    assert!(text(&c, "#queue-counts").await.starts_with("4 open"));
    // The filter, filled in with the keyboard's fields: no flags, MFA on, used within 30 days.
    let select = c
        .find(fantoccini::Locator::Css(
            "#queue-filter select[name='flag']",
        ))
        .await
        .unwrap();
    select.select_by_value("none").await.unwrap();
    click(&c, "#queue-filter input[name='mfa']").await;
    type_into(&c, "#queue-filter input[name='used_within']", "30").await;
    click(&c, "#queue-filter button[type=submit]").await;
    // The old queue stays on screen until the router has swapped in the filtered one.
    wait_until_url_has(&c, "used_within=30").await;
    wait_for(&c, "#bulk-form").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut shown = text(&c, "#queue").await;
    while shown.contains("ann") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        shown = text(&c, "#queue").await;
    }
    assert!(shown.contains("bob") && shown.contains("cat"), "{shown}");
    assert!(!shown.contains("ann") && !shown.contains("dan"), "{shown}");
    click(&c, "#bulk-form button[type=submit]").await;
    wait_for(&c, "#bulk-result").await;
    assert!(text(&c, "#bulk-result").await.contains("2 entries decided"));
    // One by one: revoke the admin (a note is required), keep the dormant one.
    visit(
        &c,
        &app.url(&format!(
            "{}?campaign={campaign}",
            app::paths::ACCESS_REVIEW
        )),
    )
    .await;
    wait_for(&c, "#queue tr[data-entry]").await;
    let ann = "#queue tr[data-entry]:first-child";
    assert!(text(&c, ann).await.contains("ann"));
    type_into(
        &c,
        &format!("{ann} input[name='note']"),
        "Left the sales team",
    )
    .await;
    click(&c, &format!("{ann} button[value='revoke']")).await;
    wait_for(&c, "#queue-counts").await;
    wait_until_text(&c, "#queue-counts", "1 open").await;
    click(&c, "#queue tr[data-entry] button[value='keep']").await;
    wait_until_text(&c, "#queue-counts", "0 open").await;
    assert_clean_console(&c, "after deciding the queue").await;
    c.close().await.unwrap();

    // Compliance closes the review; the account is still there, so the item stays open.
    let (_driver2, c) = start(true).await;
    sign_in(&c, &app, "compliance").await;
    visit(&c, &app.url(&app::paths::access_campaign(campaign))).await;
    wait_for(&c, "#close-review button").await;
    click(&c, "#close-review button").await;
    wait_for(&c, "#campaign-remediation").await;
    assert!(text(&c, "#campaign-remediation").await.contains("1 open"));
    assert!(c.find(fantoccini::Locator::Css("#sign-off")).await.is_ok());
    click(&c, "#sign-off button").await;
    wait_for(&c, "p.error[role=alert]").await;
    let page = c.source().await.unwrap();
    assert!(
        page.contains("neither verified"),
        "sign-off refused while open"
    );
    // The refusal's 409 reaches the console, as expected: read it away once it is there.
    for _ in 0..50 {
        let log = c.issue_cmd(BrowserLog).await.unwrap().to_string();
        if log.contains("complete_access_campaign") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The account is removed in CRM; the next snapshot verifies the revocation.
    std::fs::write(&file, accounts(today, false)).unwrap();
    let out = app.cli(&["import-accounts", "--system", "CRM", file.to_str().unwrap()]);
    assert!(out.contains("Imported 3 account(s)"), "{out}");
    visit(
        &c,
        &app.url(&format!("{}?status=all", app::paths::ACCESS_REMEDIATION)),
    )
    .await;
    wait_for(&c, "#remediation tr[data-status='verified']").await;
    assert!(text(&c, "#remediation")
        .await
        .contains("Gone from snapshot"));
    visit(&c, &app.url(&app::paths::access_campaign(campaign))).await;
    wait_for(&c, "#sign-off button").await;
    click(&c, "#sign-off button").await;
    wait_for(&c, "#campaign-report").await;
    assert!(text(&c, "#campaign-report").await.contains("SHA-256"));
    assert!(text(&c, "#campaign-summary")
        .await
        .contains("kept 3, revoked 1"));
    wait_for(&c, "#campaign-status[data-status='completed']").await;
    visit(&c, &app.url(&app::paths::control(control))).await;
    wait_for(&c, "#control-status[data-status='effective']").await;
    assert!(c
        .source()
        .await
        .unwrap()
        .contains("Access review report: CRM quarterly"));
    assert_clean_console(&c, "after signing off").await;
    c.close().await.unwrap();
    app.stop().await;
}

/// Waits until the element's text contains `want`.
async fn wait_until_text(c: &Client, css: &str, want: &str) {
    for _ in 0..100 {
        if text(c, css).await.contains(want) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css} never said '{want}': '{}'", text(c, css).await);
}

browser_test!(a_member_reviews_and_the_owner_signs_off, |app| {
    review_flow(app).await
});

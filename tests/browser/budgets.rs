//! A budget owner's month in the browser: the alert arrives in the bell, the owner (a
//! member) acknowledges it and attests the closed month on the budget's page; finance sees
//! the acknowledgement; the control named for attestations shows it as fresh evidence.

use super::*;
use app::policy::Role;

const BUDGETS: &str = "name,owner,deputy,period,amount,currency,start,end,provider,billing_account,sub_account,service,region,tag,thresholds,notes\n\
EC2,member,,monthly,100.00,USD,2024-08,,AWS,,,Amazon EC2,,,50%actual;100%actual;100%forecast,\n";

const SEPT: &str = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ListCost,BillingCurrency,\
BillingPeriodStart,BillingPeriodEnd,ProviderName,BillingAccountId,ChargeCategory,ServiceName,RegionId\n\
2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,60,60,60,USD,2024-09-01,2024-10-01,AWS,ba-1,Usage,Amazon EC2,us-east-1\n";

async fn owner_flow(app: TestApp) {
    for r in [Role::Member, Role::Finance, Role::Compliance] {
        app.user(r).await;
    }
    let dir = app.db.data_dir();
    std::fs::write(dir.join("budgets.csv"), BUDGETS).unwrap();
    std::fs::write(dir.join("sept.csv"), SEPT).unwrap();
    app.cli(&["import-budgets", dir.join("budgets.csv").to_str().unwrap()]);
    app.cli(&["import-costs", dir.join("sept.csv").to_str().unwrap()]);
    let id = app
        .control("FIN-1", "Cloud spend is reviewed monthly", "monthly")
        .await;
    // The server lives on 20 September 2024: August has closed, September is running.
    let st = &app.state().app;
    st.clock
        .advance(time::macros::datetime!(2024-09-20 12:00 UTC) - st.clock.now());
    let ctx = server::bootstrap::system_ctx(&st.clock, "test");
    let e = app::budgets::alerts::evaluate_all(
        &st.db,
        &st.cost_cube,
        &ctx,
        st.clock.now(),
        time::Duration::days(3),
    )
    .await
    .unwrap();
    assert_eq!(e.raised, 2, "50% actual and 100% forecast");

    // The owner: the bell, the message, the budget, the acknowledgement, the attestation.
    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "member").await;
    wait_for(&c, "#bell[data-unread='2']").await;
    wait_for(&c, "#my-work-tile").await;
    click(&c, "#bell").await;
    wait_for_path(&c, "/notifications").await;
    wait_for(&c, ".inbox-item.unread").await;
    assert!(text(&c, ".inbox").await.contains("Budget 'EC2' crossed"));
    click(&c, ".inbox-item a").await;
    wait_for(&c, ".ack-form textarea").await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/budgets/"));
    // The burn-down is drawn, labelled, and its numbers listed.
    wait_for(&c, "svg.burndown-chart polyline.burndown-actual").await;
    type_into(
        &c,
        ".ack-form textarea",
        "Rightsizing the build fleet this week",
    )
    .await;
    click(&c, ".ack-form button[type=submit]").await;
    wait_for(&c, ".alert-item[data-acknowledged='true']").await;
    assert!(text(&c, ".alerts")
        .await
        .contains("Rightsizing the build fleet this week"));
    // August closed with no spend: the owner confirms it.
    wait_for(&c, ".attest-form").await;
    click(&c, ".attest-form button[type=submit]").await;
    wait_for(&c, "li[data-attested='2024-08-01']").await;
    let attested = text(&c, "#attestations").await;
    assert!(
        attested.contains("confirmed") && attested.contains("sha256"),
        "{attested}"
    );
    assert_clean_console(&c, "after acknowledging and attesting").await;
    c.close().await.unwrap();

    // Finance sees the acknowledgement.
    let (_driver2, c) = start(true).await;
    sign_in(&c, &app, "finance").await;
    visit(&c, &app.url("/budgets?state=at-risk")).await;
    wait_for(&c, "tr[data-budget='EC2']").await;
    click(&c, "tr[data-budget='EC2'] a").await;
    wait_for(&c, ".alert-item[data-acknowledged='true']").await;
    assert!(text(&c, ".alerts").await.contains("Acknowledged by"));
    c.close().await.unwrap();

    // The control named for attestations: effective, with the attestation as its evidence.
    let (_driver3, c) = start(true).await;
    sign_in(&c, &app, "compliance").await;
    visit(&c, &app.url(&app::paths::control(id))).await;
    wait_for(&c, "#control-status[data-status='effective']").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("Budget attestation: EC2, 2024-08"), "{page}");
    c.close().await.unwrap();
    app.stop().await;
}

browser_test!(a_budget_owner_acknowledges_and_attests, |app| {
    owner_flow(app).await
});

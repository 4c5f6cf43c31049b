//! A compliance officer in the browser places a legal hold on a data category and sees the
//! disposal queue change: the due record moves to "on legal hold"; releasing the hold brings
//! it back.

use super::*;
use app::policy::Role;

async fn legal_hold_flow(app: TestApp) {
    let co = app.client_as(Role::Compliance).await;
    let call = |path: &'static str, form: Vec<(&'static str, String)>| {
        let (app, co) = (&app, &co);
        async move {
            let r = app.call(co, path, &form).await;
            assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
            r.text().await.unwrap()
        }
    };
    let cat: i64 = call(
        "/api/save_retention_category",
        vec![("form[name]", "Support tickets".into())],
    )
    .await
    .trim()
    .parse()
    .unwrap();
    let rule: i64 = call(
        "/api/save_retention_rule",
        vec![
            ("form[category_id]", cat.to_string()),
            ("form[name]", "After closing".into()),
            ("form[period]", "P2Y".into()),
            ("form[trigger]", "event".into()),
            ("form[legal_basis]", "Contract".into()),
            ("form[action]", "delete".into()),
        ],
    )
    .await
    .trim()
    .parse()
    .unwrap();
    call(
        "/api/add_retention_record",
        vec![
            ("form[description]", "Tickets closed in 2021".into()),
            ("form[rule_id]", rule.to_string()),
            ("form[trigger_date]", "2021-12-31".into()),
        ],
    )
    .await;

    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "compliance").await;
    visit(&c, &app.url(app::paths::RETENTION_DISPOSALS)).await;
    wait_for(&c, "#queue-due tr[data-record='Tickets closed in 2021']").await;
    assert!(text(&c, "#queue-held")
        .await
        .contains("No due record is on hold"));

    visit(&c, &app.url(app::paths::LEGAL_HOLDS)).await;
    wait_for(&c, "#hold-form").await;
    type_into(
        &c,
        "#hold-form input[name='form[name]']",
        "Regulator inquiry 7",
    )
    .await;
    type_into(
        &c,
        "#hold-form input[name='form[reason]']",
        "Preserve support records",
    )
    .await;
    c.find(fantoccini::Locator::Css(
        "#hold-form select[name='form[target]']",
    ))
    .await
    .unwrap()
    .select_by_value(&format!("category:{cat}"))
    .await
    .unwrap();
    click(&c, "#hold-form button[type=submit]").await;
    wait_for(
        &c,
        "section[data-hold='Regulator inquiry 7'][data-in-force='true']",
    )
    .await;
    assert!(text(&c, "section[data-hold='Regulator inquiry 7']")
        .await
        .contains("suspends 1 tracked record(s)"));

    visit(&c, &app.url(app::paths::RETENTION_DISPOSALS)).await;
    wait_for(&c, "#queue-held tr[data-record='Tickets closed in 2021']").await;
    assert!(text(&c, "#queue-due")
        .await
        .contains("Nothing is due for disposal"));
    assert!(text(&c, "#queue-held")
        .await
        .contains("On legal hold: Regulator inquiry 7"));

    // Released with its reason, the record is due again.
    visit(&c, &app.url(app::paths::LEGAL_HOLDS)).await;
    wait_for(&c, ".release-form").await;
    type_into(&c, ".release-form input[name='note']", "Inquiry closed").await;
    click(&c, ".release-form button[type=submit]").await;
    wait_for(
        &c,
        "section[data-hold='Regulator inquiry 7'][data-in-force='false']",
    )
    .await;
    visit(&c, &app.url(app::paths::RETENTION_DISPOSALS)).await;
    wait_for(&c, "#queue-due tr[data-record='Tickets closed in 2021']").await;
    assert_clean_console(&c, "after the hold").await;
    c.close().await.unwrap();
    app.stop().await;
}

browser_test!(
    a_legal_hold_moves_a_record_out_of_the_disposal_queue,
    |app| { legal_hold_flow(app).await }
);

//! A vendor's owner in the browser: a member who owns a vendor whose contract is in its notice
//! window with an expired SOC 2 report sees the warning on the dashboard and the vendor's page,
//! records the new report, and the warning clears.

use super::*;
use app::policy::Role;

async fn vendor_owner_flow(app: TestApp) {
    app.user(Role::Member).await;
    let co = app.client_as(Role::Compliance).await;
    let today = app.state().app.clock.now().date();
    let day = |n: i64| (today + time::Duration::days(n)).to_string();
    let call = |path: &'static str, form: Vec<(&'static str, String)>| {
        let (app, co) = (&app, &co);
        async move {
            let r = app.call(co, path, &form).await;
            assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
            r.text().await.unwrap()
        }
    };
    let id: i64 = call(
        "/api/save_vendor",
        vec![
            ("form[name]", "Acme Cloud".into()),
            ("form[owner]", "member".into()),
            ("form[data_sensitivity]", "confidential".into()),
            ("form[business_impact]", "medium".into()),
        ],
    )
    .await
    .trim()
    .parse()
    .unwrap();
    call(
        "/api/save_vendor_contract",
        vec![
            ("form[vendor_id]", id.to_string()),
            ("form[title]", "Platform".into()),
            ("form[start]", day(-300)),
            ("form[end]", day(70)),
            ("form[auto_renew]", "on".into()),
            ("form[notice_period]", "P30D".into()),
            ("form[annual_value]", "48000".into()),
        ],
    )
    .await;
    call(
        "/api/add_vendor_assurance",
        vec![
            ("form[vendor_id]", id.to_string()),
            ("form[kind]", "soc2_type2".into()),
            ("form[issued]", day(-400)),
            ("form[valid_until]", day(-10)),
        ],
    )
    .await;

    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "member").await;
    wait_for(&c, "#my-vendors").await;
    assert!(text(&c, "#my-vendors")
        .await
        .contains("1 vendor(s) you own, 1 needing action"));
    visit(&c, &app.url(&app::paths::vendor(id))).await;
    wait_for(&c, "#vendor-warnings [data-warning='renewal_without_soc2']").await;
    assert!(text(&c, "#vendor-warnings")
        .await
        .contains("SOC 2 report expired"));
    assert!(text(&c, "#contracts")
        .await
        .contains("in its notice window"));
    let select = c
        .find(fantoccini::Locator::Css(
            "#assurance-form select[name='form[kind]']",
        ))
        .await
        .unwrap();
    select.select_by_value("soc2_type2").await.unwrap();
    set_value(&c, "#assurance-form input[name='form[issued]']", &day(-3)).await;
    set_value(
        &c,
        "#assurance-form input[name='form[valid_until]']",
        &day(362),
    )
    .await;
    type_into(
        &c,
        "#assurance-form input[name='form[note]']",
        "FY26 report, no exceptions",
    )
    .await;
    click(&c, "#assurance-form button[type=submit]").await;
    wait_for(&c, "#assurance tr[data-current='true']").await;
    for _ in 0..100 {
        if c.find(fantoccini::Locator::Css("#vendor-warnings [data-warning]"))
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        c.find(fantoccini::Locator::Css("#vendor-warnings [data-warning]"))
            .await
            .is_err(),
        "the warning clears"
    );
    assert_clean_console(&c, "after recording the report").await;
    c.close().await.unwrap();
    app.stop().await;
}

browser_test!(
    a_vendor_owner_records_a_report_and_the_warning_clears,
    |app| { vendor_owner_flow(app).await }
);

//! Frameworks from the ecosystem in a real browser: a compliance officer imports two CISO
//! Assistant libraries and their crosswalk from the frameworks page, sees on the second
//! framework the coverage a control mapped to the first suggests, and accepts it.

use super::*;
use app::policy::Role;

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/frameworks")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

async fn import_file(c: &Client, app: &TestApp, file: &str) -> String {
    visit(c, &app.url(app::paths::FRAMEWORKS)).await;
    wait_for(c, "#framework-import-form #fw-file").await;
    type_into(c, "#fw-file", &fixture(file)).await;
    click(c, "#framework-import-form button[type=submit]").await;
    wait_for(c, "p.success[role=status]").await;
    text(c, "p.success[role=status]").await
}

async fn crosswalk_flow(app: TestApp) {
    let control = app.control("POL-1", "Security policy", "annual").await;
    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "compliance").await;
    let alpha = import_file(&c, &app, "ca-alpha.yaml").await;
    assert!(alpha.contains("Alpha Security Baseline"), "{alpha}");
    import_file(&c, &app, "ca-beta.yaml").await;
    let crosswalk = import_file(&c, &app, "ca-mapping-alpha-beta.yaml").await;
    assert!(
        crosswalk.contains("Crosswalk 'Alpha -> Beta'"),
        "{crosswalk}"
    );

    // POL-1 implements Alpha's GOV-1 (mapped as the control's page does).
    let pool = app.state().app.db.pool();
    let id = |key: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT id FROM frameworks WHERE key = $1")
            .bind(key)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let (alpha_id, beta_id) = (id("ca:alpha-baseline").await, id("ca:beta-controls").await);
    let co = app.client_as(Role::Compliance).await;
    let r = app
        .call(
            &co,
            "/api/map_control",
            &[
                ("control_id", control.to_string()),
                ("framework_id", alpha_id.to_string()),
                ("requirements", "GOV-1".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);

    visit(&c, &app.url(&app::paths::framework(beta_id))).await;
    let suggestion = "tr[data-ref='b1'] li.suggestion[data-control='POL-1']";
    wait_for(&c, suggestion).await;
    let said = text(&c, suggestion).await;
    assert!(said.contains("GOV-1") && said.contains("equal"), "{said}");
    assert!(text(&c, "#framework-counts")
        .await
        .contains("1 with suggested coverage"));
    click(
        &c,
        &format!("{suggestion} .accept-form button[type=submit]"),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.find(Locator::Css(suggestion)).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the suggestion stays after accepting"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(
        &c,
        &format!("tr[data-ref='b1'] td > a[href='/controls/{control}']"),
    )
    .await;
    let mapped: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM control_requirements cr JOIN requirements r ON r.id = cr.requirement_id
         WHERE r.framework_id = $1 AND cr.control_id = $2",
    )
    .bind(beta_id)
    .bind(control)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(mapped, 1);
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        artifact(&format!("browser-crosswalk-{:?}.png", app.db.backend).to_lowercase()),
        png,
    )
    .unwrap();
    assert_clean_console(&c, "after accepting").await;
    c.close().await.unwrap();
    app.stop().await;
}

browser_test!(a_crosswalk_suggestion_is_accepted_in_the_browser, |app| {
    crosswalk_flow(app).await
});

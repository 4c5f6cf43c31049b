//! Pages kept in memory (`server/src/page_cache.rs`): a repeat is the same HTML with a fresh
//! CSP nonce, each user gets their own, and any change — by this server or another process —
//! is on the next page.

use crate::{costs_fixture_sample, Role};
use steward_tests::both_dbs;

/// A page's HTML and the nonce its CSP allows.
async fn page(app: &steward_tests::TestApp, c: &reqwest::Client, path: &str) -> (String, String) {
    let res = app.get(c, path).await;
    assert_eq!(res.status(), 200, "{path}");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"))
        .to_string();
    (res.text().await.unwrap(), nonce)
}

const EXPLORER: &str = "/costs?from=2024-09-01&to=2024-09-30&group_by=service";

both_dbs!(
    a_kept_page_comes_back_with_a_new_nonce_per_user_and_fresh_after_any_change,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        let co = app.client_as(Role::Compliance).await;
        let (first, n1) = page(&app, &fin, "/").await;
        let (second, n2) = page(&app, &fin, "/").await;
        assert!(!app.state().pages.is_empty(), "the dashboard was kept");
        assert_ne!(n1, n2, "every response has its own nonce");
        assert!(first.contains(&format!("nonce=\"{n1}\"")));
        assert!(
            second.contains(&format!("nonce=\"{n2}\"")) && !second.contains(&n1),
            "the kept page carries this response's nonce only"
        );
        assert_eq!(first.replace(&n1, "N"), second.replace(&n2, "N"));

        // Another user at the same version: their own page, not finance's.
        let (theirs, _) = page(&app, &co, "/").await;
        let (fin_name, co_name) = ("Finance (demo)", "Compliance officer (demo)");
        assert!(theirs.contains(co_name) && !theirs.contains(fin_name));
        let (mine, _) = page(&app, &fin, "/").await;
        assert!(mine.contains(fin_name) && !mine.contains(co_name));

        // The explorer before and after an import by another process.
        let (empty, _) = page(&app, &fin, EXPLORER).await;
        assert!(!empty.contains("Amazon Elastic Compute Cloud"));
        let (again, _) = page(&app, &fin, EXPLORER).await;
        assert!(!again.contains("Amazon Elastic Compute Cloud"));
        let sample = costs_fixture_sample();
        let out = app.cli(&["import-costs", sample.to_str().unwrap()]);
        assert!(out.contains("imported"), "{out}");
        let (full, _) = page(&app, &fin, EXPLORER).await;
        assert!(
            full.contains("Amazon Elastic Compute Cloud"),
            "the import is on the next page"
        );

        // A page answered by this server after a change it made: a sign-out ends the session
        // (its kept copy too), so the kept page is not served to the old cookie.
        let res = app
            .call(&fin, "/api/logout", steward_tests::NO_FIELDS)
            .await;
        assert!(res.status().is_success() || res.status().is_redirection());
        assert_eq!(app.get(&fin, EXPLORER).await.status(), 303);
    }
);

both_dbs!(
    pages_that_are_not_declared_kept_are_rendered_every_time,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        let (_, _) = page(&app, &fin, "/account").await;
        assert!(app.state().pages.is_empty(), "the account page is not kept");
        let (_, _) = page(&app, &fin, "/costs").await;
        assert_eq!(app.state().pages.len(), 1);
    }
);

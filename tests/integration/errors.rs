//! One error path: every error answers in one JSON shape for scripts, as an HTML page for a
//! browser that navigated, and as a redirect back with the message for a form sent without
//! JavaScript; internal errors carry a reference.

use super::*;

/// A controls CSV sent as a browser's form without JavaScript, from `referer` if given.
async fn form_post_csv(
    app: &TestApp,
    client: &reqwest::Client,
    csv: &str,
    referer: Option<&str>,
) -> reqwest::Response {
    let mut req = client
        .post(app.url("/controls/import"))
        .header("Origin", app.url(""))
        .header("Accept", "text/html");
    if let Some(r) = referer {
        req = req.header("Referer", app.url(r));
    }
    req.multipart(reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("c.csv"),
    ))
    .send()
    .await
    .unwrap()
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    r.json().await.expect("a JSON body")
}

both_dbs!(
    server_functions_and_plain_routes_answer_one_json_shape,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        // A server function's bad input.
        let r = app
            .call(
                &co,
                "/api/save_control",
                &[
                    ("form[ref]", ""),
                    ("form[title]", ""),
                    ("form[cadence]", "none"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        let v = json(r).await;
        assert_eq!(v["kind"], "invalid");
        assert_eq!(v["status"], 422);
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        // A plain route's refusal (a download that does not exist), asked for by a script.
        let r = co
            .get(app.url("/evidence/999/versions/1/download"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let v = json(r).await;
        assert_eq!(v["kind"], "missing");
        assert_eq!(v["error"], "No such evidence file.");
        // A permission refusal by the guard: the same shape.
        let fin = app.client_as(Role::Finance).await;
        let r = app
            .call(&fin, "/api/save_control", steward_tests::NO_FIELDS)
            .await;
        assert_eq!(r.status(), 403);
        let v = json(r).await;
        assert_eq!(v["kind"], "forbidden");
        assert_eq!(v["status"], 403);
    }
);

both_dbs!(
    a_browser_sees_an_error_page_and_a_form_goes_back_with_the_message,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        // Navigating to a missing download: an HTML page with the status and the message.
        let r = co
            .get(app.url("/evidence/999/versions/1/download"))
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = r.text().await.unwrap();
        assert!(body.contains("No such evidence file."), "{body}");
        assert!(body.contains("role=\"alert\""), "{body}");
        // A controls CSV refused, sent by a form without JavaScript: back to the page it came
        // from, with the message.
        let bad = "ref,title,cadence\n,No reference,none\n";
        let r = form_post_csv(&app, &co, bad, Some("/controls?error=old&q=x")).await;
        assert_eq!(r.status(), 303);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with("/controls?q=x&error="), "{loc}");
        assert!(!loc.contains("error=old"), "{loc}");
        // Without a Referer, the route's own page.
        let r = form_post_csv(&app, &co, bad, None).await;
        assert_eq!(r.status(), 303);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with("/controls?error="), "{loc}");
    }
);

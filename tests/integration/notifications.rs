//! The notification outbox against real listeners: budget alerts reach their owners in the
//! bell, by email (aiosmtpd, a real SMTP server) and by a signed webhook (an HTTP listener
//! that checks the HMAC and fails its first request), retried with backoff, dead letters sent
//! again by an administrator; escalation to finance; a worker that dies holding a message.

use super::budgets::{evaluate_at, sept_20};
use super::*;
use app::notifications::deliver::{signature, MailSettings, Mailer, Outbox, SmtpTls};
use axum::http::{HeaderMap, StatusCode};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use time::Duration;

struct Smtp {
    child: Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    /// A mailer that sends here, without TLS.
    fn mailer(&self) -> Mailer {
        Mailer::new(&MailSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Steward <steward@test.example>".into(),
            base_url: "https://steward.test.example".into(),
        })
        .unwrap()
    }

    /// The messages received so far, as text.
    fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.maildir.join("new"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// aiosmtpd storing what it receives in a Maildir.
async fn start_smtp(dir: &std::path::Path) -> Option<Smtp> {
    let python = steward_tests::venv_tool("smtp-venv/bin/python", "STEWARD_SMTP_PYTHON")?;
    let port = steward_tests::free_port();
    let maildir = dir.join("maildir");
    let child = Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd starts");
    let smtp = Smtp {
        child,
        port,
        maildir,
    };
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(smtp);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("aiosmtpd did not come up");
}

/// What the webhook listener saw: (delivery id, status it answered).
#[derive(Default)]
struct Hooks {
    secret: String,
    seen: Vec<(String, u16)>,
    failed_once: bool,
}

/// A webhook receiver that checks the signature and the timestamp, and fails its first
/// request with 500.
async fn start_listener(hooks: Arc<Mutex<Hooks>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let hooks = hooks.clone();
            async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let mut st = hooks.lock().unwrap();
                let stamp: i64 = h("x-steward-timestamp").parse().unwrap_or(0);
                let fresh = (time::OffsetDateTime::now_utc().unix_timestamp() - stamp).abs() < 300;
                let good = fresh && h("x-steward-signature") == signature(&st.secret, stamp, &body);
                let status = if !good {
                    StatusCode::UNAUTHORIZED
                } else if !st.failed_once {
                    st.failed_once = true;
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                };
                st.seen.push((h("x-steward-delivery"), status.as_u16()));
                status
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

/// A listener added by the administrator as a webhook for `events` (its secret kept for the
/// signature check); `reliable`: it never fails its first request.
async fn subscribe(app: &TestApp, events: &str, reliable: bool) -> Arc<Mutex<Hooks>> {
    let hooks = Arc::new(Mutex::new(Hooks {
        failed_once: reliable,
        ..Hooks::default()
    }));
    let url = start_listener(hooks.clone()).await;
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(
            &admin,
            "/api/add_webhook",
            &[("url", url.as_str()), ("events", events)],
        )
        .await;
    assert_eq!(r.status(), 200);
    hooks.lock().unwrap().secret = r.json::<String>().await.unwrap();
    hooks
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap()
}

/// Budgets and September's costs; with `email`, every user has an address.
async fn setup(app: &TestApp, email: bool) {
    super::budgets::setup(app, &[(1, "Amazon EC2", "60"), (1, "Amazon S3", "10")]).await;
    if email {
        sqlx::query("UPDATE users SET email = username || '@test.example'")
            .execute(app.state().app.db.pool())
            .await
            .unwrap();
    }
}

/// The server's own worker sleeps an hour between rounds: the test drives deliveries.
fn quiet_outbox(o: &mut server::ServeOptions) {
    o.outbox_interval = std::time::Duration::from_secs(3600);
}

steward_tests::both_dbs_with!(
    alerts_reach_owners_in_the_bell_by_email_and_by_signed_webhook,
    quiet_outbox,
    |app| {
        let Some(smtp) = start_smtp(&app.db.data_dir()).await else {
            return;
        };
        setup(&app, true).await;
        let hooks = subscribe(&app, "budget.alert", false).await;
        let admin = app.client_as(Role::Admin).await;
        // An endpoint that never answers: its messages become dead letters.
        let dead = format!("http://127.0.0.1:{}/gone", steward_tests::free_port());
        let r = app
            .call(
                &admin,
                "/api/add_webhook",
                &[("url", dead.as_str()), ("events", "*")],
            )
            .await;
        assert_eq!(r.status(), 200);

        // EC2 (owner: member) crosses 50% actual and 100% forecast; Everything (owner finance,
        // deputy compliance) 100% forecast.
        assert_eq!(evaluate_at(&app, sept_20()).await.raised, 3);
        let member = app.client_as(Role::Member).await;
        let unread: i64 = app
            .call(&member, "/api/unread_count", steward_tests::NO_FIELDS)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(unread, 2);
        let page = app
            .get(&member, "/notifications")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Budget &#x27;EC2&#x27; crossed 50%actual")
                || page.contains("Budget 'EC2' crossed 50%actual"),
            "{page}"
        );
        assert!(
            page.contains("data-unread=\"2\""),
            "the bell shows 2: {page}"
        );
        // Queued: email for member (2), finance and compliance (1 each); 3 to each webhook.
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM notifications WHERE channel = 'email'"
            )
            .await,
            4
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM notifications WHERE channel = 'webhook'"
            )
            .await,
            6
        );
        // Evaluating again queues nothing more.
        evaluate_at(&app, sept_20()).await;
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM notifications").await,
            4 + 6 + 4
        );

        let st = &app.state().app;
        let clock = app::util::Clock::default();
        let mailer = smtp.mailer();
        let outbox = Outbox::new(st.db.clone(), clock.clone(), Some(Arc::new(mailer)));
        let (sent, failed) = outbox.run_once().await.unwrap();
        // 4 emails and 2 of the listener's 3 sent; its first request and the 3 dead-end ones failed.
        assert_eq!((sent, failed), (6, 4));
        assert_eq!(
            outbox.run_once().await.unwrap(),
            (0, 0),
            "nothing due before the backoff"
        );
        clock.advance(Duration::seconds(31));
        assert_eq!(outbox.run_once().await.unwrap(), (1, 3), "the retry, once");
        {
            let h = hooks.lock().unwrap();
            let mut ids: Vec<&str> = h.seen.iter().map(|(id, _)| id.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 3, "three deliveries: {:?}", h.seen);
            assert_eq!(
                h.seen.len(),
                4,
                "one of them twice (500, then 200): {:?}",
                h.seen
            );
            assert_eq!(h.seen.iter().filter(|(_, s)| *s == 500).count(), 1);
            assert!(
                h.seen.iter().all(|(_, s)| *s != 401),
                "signatures check out"
            );
        }
        let mail = smtp.messages();
        assert_eq!(mail.len(), 4, "{mail:?}");
        let to_member: Vec<&String> = mail
            .iter()
            .filter(|m| m.contains("To: member@test.example"))
            .collect();
        assert_eq!(to_member.len(), 2);
        assert!(
            to_member
                .iter()
                .any(|m| m.contains("Subject: Budget 'EC2' crossed 50%actual")),
            "{to_member:?}"
        );
        assert!(to_member
            .iter()
            .all(|m| m.contains("https://steward.test.example/budgets/")
                && m.contains("text/html")
                && m.contains("text/plain")
                && m.contains("Message-ID: <steward-")));

        // The dead end fails until it is a dead letter, shown to administrators with a retry.
        for _ in 0..10 {
            clock.advance(Duration::hours(7));
            outbox.run_once().await.unwrap();
        }
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM notifications WHERE status = 'dead'"
            )
            .await,
            3
        );
        let page = app
            .get(&admin, "/admin/deliveries?status=dead")
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Send again"), "{page}");
        let dead_id = count(
            &app,
            "SELECT MIN(id) FROM notifications WHERE status = 'dead'",
        )
        .await;
        let r = app
            .call(&admin, "/api/retry_delivery", &[("id", dead_id)])
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM notifications WHERE status = 'dead'"
            )
            .await,
            2
        );
        let again = app
            .call(&admin, "/api/retry_delivery", &[("id", dead_id)])
            .await;
        assert_eq!(again.status(), 409, "only a dead letter is sent again");
        assert_eq!(
            app.call(&member, "/api/retry_delivery", &[("id", dead_id)])
                .await
                .status(),
            403
        );
        // Marking read empties the bell, and is the member's own.
        assert_eq!(
            app.call(&member, "/api/mark_read", steward_tests::NO_FIELDS)
                .await
                .status(),
            200
        );
        let unread: i64 = app
            .call(&member, "/api/unread_count", steward_tests::NO_FIELDS)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(unread, 0);
        let fin = app.client_as(Role::Finance).await;
        let unread: i64 = app
            .call(&fin, "/api/unread_count", steward_tests::NO_FIELDS)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(unread, 1);
    }
);

steward_tests::both_dbs_with!(
    unacknowledged_alerts_escalate_once_and_a_dead_worker_sends_nothing_twice,
    quiet_outbox,
    |app| {
        setup(&app, false).await;
        let hooks = subscribe(&app, "budget.escalation", true).await;
        assert_eq!(evaluate_at(&app, sept_20()).await.raised, 3);
        // The member acknowledges EC2's 50% alert; the other two wait.
        let member = app.client_as(Role::Member).await;
        let ec2_alert = count(&app, "SELECT MIN(a.id) FROM budget_alerts a JOIN budgets b ON b.id = a.budget_id WHERE b.name = 'EC2' AND a.threshold = '50%actual'").await;
        let r = app
            .call(
                &member,
                "/api/acknowledge_alert",
                &[
                    ("alert", ec2_alert.to_string()),
                    ("note", "Stopping idle instances".into()),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        // Not yet after 2 days; after 3, once; never again.
        assert_eq!(
            evaluate_at(&app, sept_20() + Duration::days(2))
                .await
                .escalated,
            0
        );
        assert_eq!(
            evaluate_at(&app, sept_20() + Duration::days(3))
                .await
                .escalated,
            2
        );
        assert_eq!(
            evaluate_at(&app, sept_20() + Duration::days(4))
                .await
                .escalated,
            0
        );
        let fin = app.client_as(Role::Finance).await;
        let inbox: serde_json::Value = app
            .call(&fin, "/api/inbox", steward_tests::NO_FIELDS)
            .await
            .json()
            .await
            .unwrap();
        let escalations = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "budget.escalation")
            .count();
        assert_eq!(escalations, 2);

        // A worker claims the two escalation webhooks and dies before sending: nobody else
        // sends them while its lease lasts; afterwards they go out once each.
        let st = &app.state().app;
        let clock = app::util::Clock::default();
        let held = app::notifications::store::claim(&st.db, clock.now(), Duration::minutes(2), 50)
            .await
            .unwrap();
        assert_eq!(held.len(), 2);
        drop(held);
        let outbox = Outbox::new(st.db.clone(), clock.clone(), None);
        assert_eq!(outbox.run_once().await.unwrap(), (0, 0));
        assert!(hooks.lock().unwrap().seen.is_empty());
        clock.advance(Duration::minutes(2) + Duration::seconds(1));
        assert_eq!(outbox.run_once().await.unwrap(), (2, 0));
        assert_eq!(outbox.run_once().await.unwrap(), (0, 0));
        let h = hooks.lock().unwrap();
        assert_eq!(h.seen.len(), 2, "{:?}", h.seen);
        assert_ne!(h.seen[0].0, h.seen[1].0);
    }
);

both_dbs!(
    owners_hear_of_evidence_due_once_a_day_by_the_channels_they_chose,
    |app| {
        use super::evidence::{insert_control, new_evidence, upload};
        app.user(Role::Member).await;
        let control = insert_control(&app, "OPS-1", Some("member")).await;
        sqlx::query("UPDATE controls SET cadence = 'monthly' WHERE id = $1")
            .bind(control)
            .execute(app.state().app.db.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE users SET email = 'member@test.example' WHERE username = 'member'")
            .execute(app.state().app.db.pool())
            .await
            .unwrap();
        let admin = app.client_as(Role::Admin).await;
        let r = upload(
            &app,
            &admin,
            new_evidence("Ops review", &[control]).file(
                "r.pdf",
                Some("application/pdf"),
                b"%PDF-1.7\n%%EOF\n",
            ),
        )
        .await;
        assert_eq!(r.status(), 201);
        // Today the evidence is fresh: no reminder; the member sees the control as theirs.
        let st = app.state().app.clone();
        let now = st.clock.now();
        assert_eq!(app::controls::reminders::run(&st, now).await.unwrap(), 0);
        let member = app.client_as(Role::Member).await;
        let mine: serde_json::Value = app
            .call(&member, "/api/owned_controls", steward_tests::NO_FIELDS)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(mine[0]["ref"], "OPS-1");
        assert_eq!(mine[0]["status"], "effective");
        assert_eq!(
            app.get(&member, "/controls").await.status(),
            403,
            "no other control to read"
        );
        // Seventy days on (past the end of the next month) it is overdue: one reminder that
        // day, however often it runs.
        // At 10:00, so five hours later is still the same day whenever the test runs.
        let later =
            (now + Duration::days(70)).replace_time(time::Time::from_hms(10, 0, 0).unwrap());
        assert_eq!(app::controls::reminders::run(&st, later).await.unwrap(), 1);
        assert_eq!(
            app::controls::reminders::run(&st, later + Duration::hours(5))
                .await
                .unwrap(),
            0
        );
        assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications WHERE kind = 'controls.reminder' AND channel = 'email'").await, 1);
        // The member wants no reminder by email: the next day's arrives in the bell only.
        let r = app
            .call(
                &member,
                "/api/save_preferences",
                &[
                    ("email", "on"),
                    ("kind_0", "on"),
                    ("kind_1", "on"),
                    ("kind_3", "on"),
                    ("kind_4", "on"),
                    ("kind_5", "on"),
                    ("kind_6", "on"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        let inbox: serde_json::Value = app
            .call(&member, "/api/inbox", steward_tests::NO_FIELDS)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(inbox["muted"], serde_json::json!(["controls.reminder"]));
        assert_eq!(inbox["email"], true);
        assert_eq!(
            app::controls::reminders::run(&st, later + Duration::days(1))
                .await
                .unwrap(),
            1
        );
        assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications WHERE kind = 'controls.reminder' AND channel = 'email'").await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications WHERE kind = 'controls.reminder' AND channel = 'inapp'").await, 2);
        let items = inbox["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .any(|i| i["subject"] == "1 control(s) need evidence"
                    && i["body"].as_str().unwrap().contains("OPS-1")),
            "{inbox}"
        );
    }
);

steward_tests::both_dbs_with!(
    a_daily_digest_gathers_the_days_messages_into_one_email,
    quiet_outbox,
    |app| {
        let Some(smtp) = start_smtp(&app.db.data_dir()).await else {
            return;
        };
        setup(&app, true).await;
        let member = app.client_as(Role::Member).await;
        let r = app
            .call(
                &member,
                "/api/save_preferences",
                &[
                    ("email", "on"),
                    ("digest", "on"),
                    ("kind_0", "on"),
                    ("kind_1", "on"),
                    ("kind_2", "on"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(evaluate_at(&app, sept_20()).await.raised, 3);
        let held = count(&app, "SELECT COUNT(*) FROM notifications WHERE digest = 1").await;
        assert_eq!(held, 2, "the member's two EC2 alerts wait for the digest");
        let st = &app.state().app;
        // The outbox's clock on the day of the evaluation.
        let clock = app::util::Clock::default();
        clock.advance(sept_20() - clock.now());
        let mailer = smtp.mailer();
        let outbox = Outbox::new(st.db.clone(), clock.clone(), Some(Arc::new(mailer)));
        // Finance and compliance get theirs now; the member's wait for 07:00 UTC.
        assert_eq!(outbox.run_once().await.unwrap(), (2, 0));
        let seven = app::notifications::store::next_digest(clock.now());
        clock.advance(seven - clock.now() + Duration::seconds(1));
        assert_eq!(
            outbox.run_once().await.unwrap(),
            (2, 0),
            "two messages, one email"
        );
        let to_member: Vec<String> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains("To: member@test.example"))
            .collect();
        assert_eq!(to_member.len(), 1, "{to_member:?}");
        let m = &to_member[0];
        assert!(
            m.contains("Subject: Steward: 2 notification(s) today"),
            "{m}"
        );
        assert!(
            m.contains("crossed 50%actual") && m.contains("crossed 100%forecast"),
            "{m}"
        );
    }
);

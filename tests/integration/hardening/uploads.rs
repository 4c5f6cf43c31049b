//! Uploads: a client's pace never holds the write lock; stalled or endless uploads leave nothing.

use super::super::*;
use super::{count_where, token_for};
use std::time::{Duration, Instant};
use steward_tests::both_dbs_with;

// --- Uploads: a client's pace never holds the write lock; stalled uploads leave nothing. ----

/// Sends a request head and the start of a body, then goes quiet (the stream is returned so
/// the connection stays open).
async fn stall(
    app: &TestApp,
    path: &str,
    token: &str,
    body_start: &[u8],
    chunked: bool,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let length = if chunked {
        "Transfer-Encoding: chunked\r\n".to_string()
    } else {
        "Content-Length: 50000000\r\n".to_string()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nCookie: steward_session={token}\r\n\
         Accept: application/json\r\nContent-Type: {}\r\n{length}\r\n",
        app.base.trim_start_matches("http://"),
        app.base,
        super::super::evidence::content_type()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    if chunked {
        s.write_all(format!("{:x}\r\n", body_start.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(body_start).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
    } else {
        s.write_all(body_start).await.unwrap();
    }
    s.flush().await.unwrap();
    s
}

/// Signs in and edits a control; each must answer within a second while an upload stalls.
async fn writers_are_not_held_up(app: &TestApp, control: i64) {
    let t = Instant::now();
    let c = app.client_as(Role::Compliance).await;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "sign-in took {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let r = app
        .call(
            &c,
            "/api/save_control",
            &[
                ("form[id]", control.to_string()),
                ("form[ref]", "STALL-1".into()),
                ("form[title]", format!("Edited at {:?}", t)),
                ("form[cadence]", "monthly".into()),
                ("form[owner]", "".into()),
                ("form[description]", "".into()),
                ("form[justification]", "".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "a control edit took {:?}",
        t.elapsed()
    );
}

/// Reads what the server answers, waiting at most `within`.
async fn answer(mut s: tokio::net::TcpStream, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(within, s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).to_string()
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

both_dbs_with!(
    a_stalled_cost_upload_holds_up_no_one_and_leaves_nothing,
    |o| o.upload_idle = Duration::from_secs(3),
    |app| {
        let control = super::super::evidence::insert_control(&app, "STALL-1", None).await;
        let token = token_for(&app, "finance").await;
        let csv = std::fs::read(super::super::costs_fixture_sample()).unwrap();
        // The header and two rows, then silence.
        let third_line = csv
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(2)
            .map(|(i, _)| i + 1)
            .unwrap();
        let head: Vec<u8> = super::super::evidence::Form::new()
            .file_header("focus.csv", Some("text/csv"))
            .into_head()
            .into_iter()
            .chain(csv[..third_line].iter().copied())
            .collect();
        let batches = count_where(&app, "SELECT COUNT(*) FROM cost_batches").await;
        let stalled = stall(&app, app::paths::COST_UPLOAD, &token, &head, false).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let spool = app.db.data_dir().join("tmp");
        assert_eq!(files_in(&spool), 1, "the upload is being received");
        writers_are_not_held_up(&app, control).await;
        let reply = answer(stalled, Duration::from_secs(10)).await;
        assert!(reply.contains("stalled"), "{reply}");
        assert_eq!(files_in(&spool), 0, "the partial upload is gone");
        assert_eq!(
            count_where(&app, "SELECT COUNT(*) FROM cost_batches").await,
            batches
        );
        assert_eq!(
            count_where(&app, "SELECT COUNT(*) FROM cost_line_items").await,
            0
        );
    }
);

both_dbs_with!(
    a_stalled_chunked_evidence_upload_holds_up_no_one_and_leaves_nothing,
    |o| o.upload_idle = Duration::from_secs(3),
    |app| {
        let control = super::super::evidence::insert_control(&app, "STALL-1", None).await;
        let token = token_for(&app, "compliance").await;
        let head = super::super::evidence::new_evidence("Stalled", &[control])
            .file_header("report.pdf", Some("application/pdf"))
            .into_head()
            .into_iter()
            .chain(b"%PDF-1.7\n".iter().copied())
            .collect::<Vec<u8>>();
        let stalled = stall(&app, app::paths::EVIDENCE_UPLOAD, &token, &head, true).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        writers_are_not_held_up(&app, control).await;
        let reply = answer(stalled, Duration::from_secs(10)).await;
        assert!(reply.contains("stalled"), "{reply}");
        let staging = app.db.data_dir().join("blobs").join("tmp");
        assert_eq!(files_in(&staging), 0, "nothing staged");
        assert_eq!(count_where(&app, "SELECT COUNT(*) FROM evidence").await, 0);
        assert_eq!(count_where(&app, "SELECT COUNT(*) FROM blobs").await, 0);
    }
);

/// Streams `head` and then up to 200 MiB of `fill` bytes with no `Content-Length`; returns the
/// status and how many bytes the server had pulled when it answered.
async fn endless_upload(app: &TestApp, c: &reqwest::Client, head: Vec<u8>, fill: u8) -> (u16, u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let chunks = std::iter::once(head).chain((0..200).map(move |_| vec![fill; 1 << 20]));
    let stream = futures_util::stream::iter(chunks.map(move |c| {
        counter.fetch_add(c.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(c)
    }));
    let status = c
        .post(app.url(app::paths::EVIDENCE_UPLOAD))
        .header("Origin", &app.base)
        .header("Accept", "application/json")
        .header("Content-Type", super::super::evidence::content_type())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, sent.load(Ordering::Relaxed))
}

both_dbs!(
    chunked_evidence_bodies_are_bounded_outside_the_file_too,
    |app| {
        let control = super::super::evidence::insert_control(&app, "BIG-1", None).await;
        let c = app.client_as(Role::Compliance).await;
        let boundary = super::super::evidence::BOUNDARY;
        // A field the form does not have, before the file, that never ends: refused once it
        // passes the text fields' budget, long before the 200 MiB are sent.
        let head = super::super::evidence::new_evidence("Big", &[control])
            .into_head()
            .into_iter()
            .chain(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"padding\"\r\n\r\n")
                    .into_bytes(),
            )
            .collect();
        let (status, sent) = endless_upload(&app, &c, head, b'x').await;
        assert!(matches!(status, 422 | 0), "{status}");
        assert!(
            sent < 32 << 20,
            "the server read {} MiB of an unknown field",
            sent >> 20
        );
        // A part header that never ends: refused at the header budget, not buffered.
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\nX-Padding: "
        )
        .into_bytes();
        let (status, sent) = endless_upload(&app, &c, head, b'p').await;
        assert!(matches!(status, 422 | 0), "{status}");
        assert!(
            sent < 32 << 20,
            "the server buffered {} MiB of part header",
            sent >> 20
        );
        assert_eq!(count_where(&app, "SELECT COUNT(*) FROM evidence").await, 0);
        assert_eq!(files_in(&app.db.data_dir().join("blobs").join("tmp")), 0);
    }
);

both_dbs_with!(
    an_evidence_upload_stalled_between_parts_is_dropped,
    |o| o.upload_idle = Duration::from_secs(2),
    |app| {
        // Silence inside a part header (no file data yet): the idle limit still applies.
        let token = token_for(&app, "compliance").await;
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"title\"\r\n",
            super::super::evidence::BOUNDARY
        );
        let stalled = stall(
            &app,
            app::paths::EVIDENCE_UPLOAD,
            &token,
            head.as_bytes(),
            true,
        )
        .await;
        let started = Instant::now();
        let reply = answer(stalled, Duration::from_secs(15)).await;
        assert!(reply.contains("stalled"), "{reply}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
);

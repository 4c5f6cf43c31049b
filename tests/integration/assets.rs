//! The browser bundle as a static file server would send it, and pages compressed on the fly.

use super::*;
use std::io::Read;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap(),
        "br" => brotli_decompressor::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .unwrap(),
        _ => return body.to_vec(),
    };
    out
}

async fn fetch(c: &reqwest::Client, url: String, accept: &str) -> reqwest::Response {
    c.get(url)
        .header("accept-encoding", accept)
        .send()
        .await
        .unwrap()
}

both_dbs!(
    bundle_files_are_content_named_precompressed_and_immutable,
    |app| {
        let site =
            server::find_site_root(None).expect("the bundle: run scripts/build.sh --site-only");
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(site.join("assets.json"))
                .expect("target/site/assets.json: run scripts/build.sh --site-only"),
        )
        .unwrap();
        let (bundle, css) = (
            manifest["bundle"].as_str().unwrap(),
            manifest["css"].as_str().unwrap(),
        );
        let c = app.client();
        // The page names the hashed files.
        let page = app.get(&c, app::paths::LOGIN).await.text().await.unwrap();
        for name in [
            format!("{bundle}.js"),
            format!("{bundle}.wasm"),
            css.to_string(),
        ] {
            assert!(
                page.contains(&format!("/pkg/{name}")),
                "{name} not in {page}"
            );
        }
        assert!(
            !page.contains("/pkg/steward.css"),
            "the working name is not used"
        );

        for (name, kind) in [
            (format!("{bundle}.js"), "text/javascript"),
            (format!("{bundle}.wasm"), "application/wasm"),
            (css.to_string(), "text/css"),
        ] {
            let file = std::fs::read(site.join("pkg").join(&name)).unwrap();
            for (accept, encoding) in [
                ("identity", None),
                ("gzip", Some("gzip")),
                ("br", Some("br")),
            ] {
                let r = fetch(&c, app.url(&format!("/pkg/{name}")), accept).await;
                assert_eq!(r.status(), 200, "{name} {accept}");
                assert_eq!(
                    header(&r, "content-encoding").as_deref(),
                    encoding,
                    "{name} {accept}"
                );
                assert_eq!(
                    header(&r, "cache-control").as_deref(),
                    Some(IMMUTABLE),
                    "{name}"
                );
                assert!(
                    header(&r, "content-type").is_some_and(|t| t.starts_with(kind)),
                    "{name}: {:?}",
                    header(&r, "content-type")
                );
                assert_eq!(
                    header(&r, "x-content-type-options").as_deref(),
                    Some("nosniff")
                );
                // Nothing a page needs: no session, no nonce-bearing policy, no request id.
                assert!(header(&r, "set-cookie").is_none(), "{name}");
                assert!(header(&r, "x-request-id").is_none(), "{name}");
                let body = r.bytes().await.unwrap();
                if encoding.is_some() {
                    assert!(body.len() < file.len(), "{name} {accept}: not smaller");
                }
                assert!(
                    decode(encoding.unwrap_or(""), &body) == file,
                    "{name} {accept}: not the built file"
                );
            }
        }
        // A working name (not content-hashed) is revalidated; a missing file is a plain 404.
        let r = fetch(&c, app.url("/pkg/steward.css"), "identity").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"));
        // Revalidation costs no body.
        let etag = header(&r, "etag").expect("an ETag to revalidate with");
        let r = c
            .get(app.url("/pkg/steward.css"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert!(r.bytes().await.unwrap().is_empty());
        let r = fetch(&c, app.url("/pkg/steward.0000000000000000.css"), "br").await;
        assert_eq!(r.status(), 404);
        assert_ne!(header(&r, "cache-control").as_deref(), Some(IMMUTABLE));
    }
);

both_dbs!(pages_are_compressed_when_the_browser_accepts_it, |app| {
    let c = app.client_as(Role::Admin).await;
    let plain = fetch(&c, app.url(app::paths::FRAMEWORKS), "identity").await;
    assert_eq!(header(&plain, "content-encoding"), None);
    let plain = plain.bytes().await.unwrap();
    assert!(plain.len() > 1024, "a page worth compressing");
    for encoding in ["gzip", "br"] {
        let r = fetch(&c, app.url(app::paths::FRAMEWORKS), encoding).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-encoding").as_deref(), Some(encoding));
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
        assert!(
            header(&r, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
        );
        let body = r.bytes().await.unwrap();
        let html = String::from_utf8(decode(encoding, &body)).unwrap();
        assert!(
            body.len() * 2 < html.len(),
            "{encoding}: {} of {}",
            body.len(),
            html.len()
        );
        assert!(
            html.starts_with("<!DOCTYPE html>") && html.contains("</html>"),
            "{html}"
        );
    }
    // Small answers are not worth it.
    let r = fetch(&c, app.url("/healthz"), "gzip").await;
    assert_eq!(header(&r, "content-encoding"), None);
});

//! The multipart upload path (`app::ingest`): any bytes as a request body, cut into chunks at
//! places the input chooses, read part by part the way the upload handlers read them. It must
//! end with the form read or a clear error, never a panic, never more than the limits allow,
//! and the framing tracker must agree with the parser about where parts begin.
#![no_main]

use app::ingest::{BodyError, Form, FormError, FormLimits, Framing};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

// Small limits, so inputs of a few KiB (libFuzzer's -max_len) reach every one of them.
const LIMITS: FormLimits = FormLimits {
    max_bytes: 3000,
    max_header: 256,
    max_fields: 8,
    max_field: 512,
    file: ("file", 2048),
    idle: Duration::from_secs(5),
};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size (1..=64 bytes, or all at once).
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let size = if pick == 0 { body.len().max(1) } else { usize::from(pick % 64) + 1 };
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = body
        .chunks(size)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();

    // The framing tracker alone, on the same chunks: it may refuse, never panic.
    let mut framing = Framing::new("XyZ", LIMITS.max_header);
    for c in body.chunks(size) {
        if framing.feed(c).is_err() {
            break;
        }
    }

    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
    );
    let stream = futures_util::stream::iter(chunks);
    let body = axum::body::Body::from_stream(stream);
    runtime().block_on(async {
        let mut form = match Form::new(&headers, body, LIMITS) {
            Ok(f) => f,
            Err(e) => panic!("a multipart content type was refused: {e}"),
        };
        let mut fields = 0;
        let mut total = 0u64;
        loop {
            match form.next_field().await {
                Ok(Some(mut field)) => {
                    fields += 1;
                    assert!(fields <= LIMITS.max_fields);
                    let is_file = field.name() == Some("file");
                    let _ = field.file_name();
                    let mut len = 0u64;
                    loop {
                        match app::ingest::chunk(&mut field).await {
                            Ok(Some(c)) => {
                                len += c.len() as u64;
                                total += c.len() as u64;
                            }
                            Ok(None) => break,
                            Err(e) => {
                                assert!(!e.to_string().is_empty());
                                return;
                            }
                        }
                    }
                    let limit = if is_file { LIMITS.file.1 } else { LIMITS.max_field };
                    assert!(len <= limit, "a field of {len} bytes passed a limit of {limit}");
                    assert!(total <= LIMITS.max_bytes);
                }
                Ok(None) => return,
                Err(FormError::Body(BodyError::Stalled(_))) => panic!("no stall without a clock"),
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    return;
                }
            }
        }
    });
});

//! `steward verify-export` on any bytes (`app/src/exports/verify.rs`): a report, never a panic,
//! and never an "intact" verdict for bytes that a key other than the one checked signed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // RFC 8032's first test key: the seed was signed by another, and no input can carry a
    // signature by this one that it did not get from its private half, so nothing may pass.
    let key = app::signing::PublicKey::from_b64("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
        .expect("a valid Ed25519 public key");
    let report = app::exports::verify::verify(std::io::Cursor::new(data), &key);
    assert!(!report.intact(), "{}", report.summary());
});

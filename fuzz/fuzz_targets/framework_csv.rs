//! `parse_csv` (custom framework CSV) on any text: `Ok` or a clear `Err`, never a panic; an
//! accepted framework has rows, unique non-empty ids of at most 100 bytes and titles.
#![no_main]

use app::controls::import::parse_csv;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_csv(text, "Fuzz", "1") {
        Ok(f) => {
            assert!(!f.requirements.is_empty());
            let mut seen = HashSet::new();
            for r in &f.requirements {
                assert!(!r.r#ref.is_empty() && r.r#ref.len() <= 100, "{r:?}");
                assert!(!r.title.is_empty(), "{r:?}");
                assert!(seen.insert(r.r#ref.to_ascii_lowercase()), "{r:?}");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

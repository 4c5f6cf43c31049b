//! The framework importer's entry point (`parse_any`: OSCAL JSON or CSV by content) on any
//! bytes: `Ok` or a clear `Err`, never a panic, and never a runaway expansion (the per-input
//! timeout catches one). An accepted catalog has requirements with unique ids.
#![no_main]

use app::controls::import::parse_any;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    match parse_any(data, "fuzz.json", None, None) {
        Ok(f) => {
            assert!(!f.requirements.is_empty());
            let mut seen = HashSet::new();
            for r in &f.requirements {
                assert!(seen.insert(r.r#ref.to_ascii_lowercase()), "{r:?}");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

//! The OSCAL catalog reader (`parse_oscal_bytes`, what `intake` calls for a catalog) on any
//! bytes: `Ok` or a clear `Err`, never a panic, and never a runaway expansion (the per-input
//! timeout catches one). An accepted catalog has requirements with unique ids.
#![no_main]

use app::controls::import::parse_oscal_bytes;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    match parse_oscal_bytes(data, "fuzz.json", None) {
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

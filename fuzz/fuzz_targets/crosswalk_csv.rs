//! `parse_crosswalk_csv` on any bytes (any encoding, any delimiter): `Ok` or a clear `Err`,
//! never a panic. An accepted file has sets with distinct framework pairs, each with links
//! whose ids are non-empty and at most 1,000 characters.
#![no_main]

use app::controls::crosswalk::{is_crosswalk_csv, parse_crosswalk_csv};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let _ = is_crosswalk_csv(data);
    match parse_crosswalk_csv(data, "fuzz.csv") {
        Ok(sets) => {
            let mut pairs = HashSet::new();
            for s in &sets {
                assert!(
                    pairs.insert((&s.source_framework, &s.target_framework)),
                    "{s:?}"
                );
                assert!(!s.links.is_empty(), "{s:?}");
                for l in &s.links {
                    for id in [&l.source, &l.target] {
                        assert!(!id.is_empty() && id.chars().count() <= 1000, "{l:?}");
                    }
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

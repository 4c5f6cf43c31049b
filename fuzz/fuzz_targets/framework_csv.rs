//! A framework CSV read as the command line reads it (`framework_csv::read_guessed`: encoding,
//! delimiter and BOM detected, the columns guessed from the headers) on any bytes: `Ok` or a
//! clear `Err`, never a panic; an accepted framework has rows, unique non-empty ids of at most
//! 100 characters, titles, and parents that are rows of the file.
#![no_main]

use app::controls::framework_csv::read_guessed;
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    match read_guessed(data, "Fuzz", "1") {
        Ok(f) => {
            assert!(!f.requirements.is_empty());
            let mut seen = HashSet::new();
            for r in &f.requirements {
                assert!(!r.r#ref.is_empty() && r.r#ref.chars().count() <= 100, "{r:?}");
                assert!(!r.title.is_empty(), "{r:?}");
                assert!(seen.insert(r.r#ref.to_lowercase()), "{r:?}");
            }
            for r in &f.requirements {
                if let Some(p) = &r.parent_ref {
                    assert!(seen.contains(&p.to_lowercase()), "{r:?}");
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

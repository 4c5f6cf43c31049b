//! OSCAL profile resolution (`resolve_profile`) on any bytes: the input up to the first NUL is
//! the profile, the rest one catalog it may import (either may itself be a profile, so import
//! chains and circles are reached). `Ok` or a clear `Err`, never a panic, and never a runaway
//! expansion (the per-input timeout catches one). An accepted profile has requirements with
//! unique ids.
#![no_main]

use app::controls::profile::{catalog_identity, is_profile, resolve_profile, CatalogSource};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let (profile, catalog) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], data.get(at + 1..).unwrap_or(&[])),
        None => (data, &[][..]),
    };
    let profile = String::from_utf8_lossy(profile);
    let catalog = String::from_utf8_lossy(catalog);
    // The sniffs must not panic either.
    let _ = is_profile(&profile);
    let _ = catalog_identity(&catalog);
    let sources = [CatalogSource {
        file_name: "catalog.json".into(),
        text: catalog.into_owned(),
    }];
    match resolve_profile(&profile, &sources, None) {
        Ok(f) => {
            assert!(!f.requirements.is_empty());
            assert_eq!(f.format, "oscal-profile");
            let mut seen = HashSet::new();
            for r in &f.requirements {
                assert!(seen.insert(r.r#ref.to_ascii_lowercase()), "{r:?}");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

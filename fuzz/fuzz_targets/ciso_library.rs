//! `parse_library` (CISO Assistant library YAML) on any bytes: `Ok` or a clear `Err`, never a
//! panic and never a runaway (aliases refused; depth, nodes and text bounded). An accepted
//! library has a framework or a mapping set; each framework's requirements have unique,
//! non-empty refs, depths within 1..=16, and parents listed before their children.
#![no_main]

use app::controls::library::{is_library, parse_library};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let _ = is_library(data);
    match parse_library(data, "fuzz.yaml", Some("fr")) {
        Ok(lib) => {
            assert!(!lib.frameworks.is_empty() || !lib.mapping_sets.is_empty());
            for f in &lib.frameworks {
                assert!(f.key.starts_with("ca:") && f.key.len() > 3, "{}", f.key);
                assert!(f.version.parse::<u64>().is_ok(), "{}", f.version);
                let mut seen = HashSet::new();
                for r in &f.requirements {
                    assert!(!r.r#ref.is_empty(), "{r:?}");
                    assert!((1..=16).contains(&r.depth), "{r:?}");
                    if let Some(p) = &r.parent_ref {
                        assert!(seen.contains(p), "parent after child: {r:?}");
                    }
                    assert!(seen.insert(r.r#ref.clone()), "{r:?}");
                }
            }
            for s in &lib.mapping_sets {
                let mut pairs = HashSet::new();
                for l in &s.links {
                    assert!(pairs.insert((&l.source, &l.target)), "{l:?}");
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

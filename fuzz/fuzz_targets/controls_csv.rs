//! The controls CSV import's parsing (`parse_controls_csv`) against a fixed set of users,
//! frameworks and requirements: `Ok` or a clear `Err`, never a panic; rows and errors name
//! lines in order, owners and mappings only point at what the lookups hold.
#![no_main]

use app::controls::csvio::{parse_controls_csv, ControlLookups};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn lookups() -> &'static ControlLookups {
    static L: OnceLock<ControlLookups> = OnceLock::new();
    L.get_or_init(|| ControlLookups {
        users: vec![
            (1, Some("owner@example.com".into()), 1),
            (2, Some("gone@example.com".into()), 0),
            (3, None, 1),
        ],
        frameworks: vec![
            (1, "nist-800-53r5-low".into(), "NIST SP 800-53".into()),
            (2, "custom".into(), "Custom".into()),
        ],
        requirements: vec![
            (10, 1, "ac-1".into(), "AC-1".into()),
            (11, 1, "ac-2".into(), "AC-2".into()),
            (12, 1, "ac-2.1".into(), "AC-2(1)".into()),
            (20, 2, "c-1".into(), "C-1".into()),
        ],
    })
}

fuzz_target!(|data: &[u8]| {
    let l = lookups();
    match parse_controls_csv(data, l) {
        Ok(p) => {
            let mut last = 1;
            for row in &p.rows {
                assert!(row.line > last, "lines in order");
                last = row.line;
                assert!(
                    row.form.owner.is_empty() || row.form.owner == "1",
                    "{row:?}"
                );
                for (rid, label, fname) in &row.mappings {
                    let (_, fid, _, l2) = l
                        .requirements
                        .iter()
                        .find(|r| r.0 == *rid)
                        .expect("a known requirement");
                    assert_eq!(label, l2);
                    assert!(l.frameworks.iter().any(|f| f.0 == *fid && &f.2 == fname));
                }
            }
            for e in &p.errors {
                assert!(e.starts_with("line "), "{e}");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

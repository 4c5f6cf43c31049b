//! Vendor files (`app/src/vendors/csvio.rs` over `app/src/tabular`): decoding, the delimiter,
//! bounded rows, the mapping guessed from the headers, each row into the vendor (and contract)
//! form and the form's own checks (`vendors::write::check`): `Ok` or a clear `Err` naming its
//! row, never a panic; every row has a name, none twice; a row exports and reads back the same.
#![no_main]

use app::vendors::csvio::{parse, write, COMPUTED};
use app::vendors::write::{check, check_contract};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    match parse(data, None) {
        Ok(rows) => {
            let mut names = HashSet::new();
            for r in &rows {
                assert!(!r.vendor.name.is_empty());
                assert!(names.insert(r.vendor.name.to_lowercase()), "a name twice");
                let mut errors = Vec::new();
                let c = check(&r.vendor, &mut errors);
                if errors.is_empty() {
                    assert!(!c.name.is_empty());
                }
                if let Some(f) = &r.contract {
                    let mut errors = Vec::new();
                    let _ = check_contract(f, &mut errors);
                }
            }
            // The vendor fields as the export writes them read back the same.
            if let Some(r) = rows.first() {
                let v = &r.vendor;
                let mut cells = vec![
                    v.name.clone(),
                    v.legal_name.clone(),
                    v.website.clone(),
                    v.category.clone(),
                    v.owner.clone(),
                    v.services.clone(),
                    v.countries.clone(),
                    v.data_categories.clone(),
                    v.subprocessor_of.clone(),
                    v.data_sensitivity.clone(),
                    v.business_impact.clone(),
                    v.tier_override.clone(),
                    v.override_reason.clone(),
                ];
                cells.resize(21 + COMPUTED.len(), String::new());
                let bytes = write(&[cells]).expect("written");
                let again = parse(&bytes, None).expect("an exported row reads back");
                assert_eq!(again[0].vendor, r.vendor);
            }
        }
        Err(e) => assert!(!e.is_empty()),
    }
});

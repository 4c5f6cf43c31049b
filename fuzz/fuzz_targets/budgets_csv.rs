//! The budgets file (`app/src/budgets/csvio.rs`) and each row's validation (`Spec::parse`):
//! `Ok` or a clear `Err`, never a panic; rows come in line order (never backwards), and a row that validates
//! exports back (`Budget::to_form`'s shape) to text that validates to the same budget.
#![no_main]

use app::budgets::csvio::parse;
use app::budgets::spec::Spec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(rows) => {
            let mut last = 0;
            for (line, form) in &rows {
                // Never backwards (a bare CR ends a record without starting a line).
                assert!(*line >= last, "lines in order");
                last = *line;
                if let Ok(spec) = Spec::parse(form) {
                    assert!(spec.amount.is_sign_positive() && !spec.amount.is_zero());
                    assert!(spec.end.is_none_or(|e| e > spec.start));
                    assert!(!spec.thresholds.is_empty());
                    let again = Spec::parse(&app::budgets::spec::to_form(&spec))
                        .expect("an exported budget reads back");
                    assert_eq!(again, spec);
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

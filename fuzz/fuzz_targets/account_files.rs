//! Account files for access reviews (`app/src/access_reviews`): decoding, the delimiter, the
//! IAM credential report, any CSV through the mapping its headers suggest, and the flags of
//! what reads: `Ok` or a clear `Err`, never a panic; keys are unique within a snapshot.
#![no_main]

use app::access_reviews::flags::{flags, Rules};
use app::access_reviews::{mapped, sources};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

fn check(accounts: &[app::access_reviews::accounts::Account]) {
    let mut keys = HashSet::new();
    let today = app::util::parse_date("2026-12-01").expect("a date");
    for a in accounts {
        assert!(keys.insert(a.key.as_str()), "key {} twice", a.key);
        assert!(!a.user_id.trim().is_empty());
        for (_, why) in flags(a, &Rules::default(), None, today) {
            assert!(!why.is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match sources::read(data) {
        Ok(r) => {
            assert!(r.rows.len() >= 2);
            if r.is_credential_report() {
                match sources::credential_report(&r) {
                    Ok(a) => check(&a),
                    Err(e) => assert!(e.to_string().starts_with("Line ")),
                }
            }
            let m = mapped::guess(&r.rows[0]);
            match sources::mapped(&r, &m) {
                Ok(a) => check(&a),
                Err(e) => assert!(e.to_string().starts_with("Line ")),
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

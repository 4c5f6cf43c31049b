//! `parse_amount` on any text: `Ok` or `Err`, never a panic; an accepted amount's canonical text
//! parses back to the same value and scale, and its negation parses too.
#![no_main]

use app::costs::money::parse_amount;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = parse_amount(&text) {
        let shown = d.to_string();
        let again = parse_amount(&shown).expect("the canonical form parses");
        assert_eq!(again, d, "{text:?}");
        assert_eq!(again.scale(), d.scale(), "{text:?}");
        assert_eq!(again.to_string(), shown, "{text:?}");
        let negated = match shown.strip_prefix('-') {
            Some(positive) => positive.to_string(),
            None => format!("-{shown}"),
        };
        let neg = parse_amount(&negated).expect("the negation parses");
        assert_eq!(neg, -d, "{text:?}");
        assert_eq!(neg.scale(), d.scale(), "{text:?}");
    }
});

//! `parse_instant` on any text: `Ok` or `Err`, never a panic; an accepted instant's stored
//! text (fixed width, UTC) parses back to the same instant.
#![no_main]

use app::costs::formats::parse_instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 still reaches the parser, with replacement characters (non-ASCII input).
    let text = String::from_utf8_lossy(data);
    if let Ok(t) = parse_instant(&text) {
        let stored = app::util::ts(t);
        assert_eq!(stored.len(), 27, "{text:?} stored as {stored:?}");
        let again = parse_instant(&stored).expect("the stored form parses");
        // The stored form keeps whole microseconds of the second (before 1970 too, where
        // dividing the Unix nanoseconds would round the other way).
        assert_eq!(again.unix_timestamp(), t.unix_timestamp(), "{text:?}");
        assert_eq!(again.nanosecond(), t.nanosecond() / 1000 * 1000, "{text:?}");
    }
});

//! The cost cube's segment files (`app/src/costs/cube/file.rs`) on any bytes: refused or read,
//! never a panic; a file that reads encodes back to the very same bytes (nothing read is lost
//! or changed, so a report from a file equals the report from the database).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((bytes, again)) = app::costs::cube::fuzz_file_roundtrip(data) {
        assert_eq!(again, bytes);
    }
});

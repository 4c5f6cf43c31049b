//! The global allocator is mimalloc (see `main.rs`): the cost importer moves millions of small
//! allocations between threads, which glibc's arenas serialise (the import took 1.7x as long).
//!
//! mimalloc keeps freed memory for reuse and returns it to the system only on later allocator
//! activity; an idle server has none, so the blocks of the first-run password hashes (19 MiB
//! each) stayed resident. Long-running commands purge freed memory at once instead.

/// `mi_option_purge_delay` in the bundled mimalloc (v3 in libmimalloc-sys 0.1.49), which the
/// Rust bindings do not name; a test checks the index still holds that option.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system right away (idle RSS over peak throughput).
pub fn purge_freed_memory_at_once() {
    // SAFETY: setting a documented option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_index_names_that_option() {
        // Its default in this version is 1000 (ms, src/options.c), which no other option has:
        // an upgrade that moves the enum shows here.
        let v = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        assert_eq!(v, 1000);
    }
}

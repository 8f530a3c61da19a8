//! A summary file from the network, hostile: parsing never panics, and every entry it accepts
//! comes back from the store's form (document without its volatile fields, plus the columns)
//! exactly as it was read.
#![no_main]

use communities::prepare::{prepare, restore};
use communities::source::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = parse(data, "fuzz", Some(0)) else {
        return;
    };
    let originals: Vec<_> = snapshot.entries.iter().map(|e| e.raw.clone()).collect();
    for (entry, original) in prepare(snapshot).entries.into_iter().zip(originals) {
        let back = restore(&entry.doc, entry.mtime, entry.lastchange, entry.facts.nodes, entry.nodes_in_column);
        assert_eq!(back, original);
    }
});

//! The UCI parser on arbitrary bytes: never panics, and whatever it accepts it writes back in a
//! form that parses to the same package (the round trip `portico` relies on when it rewrites a
//! file it did not write itself). Change-file and `batch` parsing get the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (lenient, _) = uci::parse_lenient("fuzz", data);
    let _ = uci::emit::to_file(&lenient);
    if let Ok(package) = uci::parse("fuzz", data) {
        let mut shown = Vec::new();
        uci::emit::show_package(&mut shown, &package, uci::emit::ShowOptions::default(), b" ");
        // uci writes section types unquoted (as the C tool does), so a type holding quote,
        // comment or escape characters cannot come back; everything else must.
        if package.sections.iter().any(|s| s.kind.contains(['\'', '"', '\\', '#', ';'])) {
            return;
        }
        let written = uci::emit::to_file(&package);
        let again = uci::parse("fuzz", &written).expect("what we write parses");
        assert_eq!(again.sections, package.sections, "round trip changed the package");
    }
    let _ = uci::delta::parse_file(data, "fuzz");
    let _ = uci::parse::batch_lines(data);
});

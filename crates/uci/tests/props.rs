//! Properties of the parser and writer over generated configs.

use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use uci::emit::to_file;
use uci::{Package, parse};

/// Any bytes but NUL (the one byte a UCI value cannot hold), quotes, backslashes, newlines,
/// `#` and `;` included.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(1u8..=255, 0..12),
        vec(prop::sample::select(b"a '\"\\#;\n\t\r=x".to_vec()), 0..8),
    ]
}

#[derive(Debug, Clone)]
enum GenValue {
    Single(Vec<u8>),
    List(Vec<Vec<u8>>),
}

#[derive(Debug, Clone)]
struct GenSection {
    kind: String,
    /// `None`: anonymous.
    name: Option<String>,
    options: Vec<(String, GenValue)>,
}

fn section() -> impl Strategy<Value = GenSection> {
    let kind = prop::sample::select(vec!["interface", "wifi-iface", "rule", "t", "a.b"])
        .prop_map(str::to_owned);
    let name = prop::option::of("[a-z][a-z0-9_]{0,6}");
    let gen_value = prop_oneof![
        value()
            .prop_filter("an empty option is absent", |v| !v.is_empty())
            .prop_map(GenValue::Single),
        vec(value(), 1..4).prop_map(GenValue::List),
    ];
    let options = btree_set("[a-z_][a-z0-9_]{0,5}", 0..5).prop_flat_map(move |names| {
        let names: Vec<String> = names.into_iter().collect();
        vec(gen_value.clone(), names.len())
            .prop_map(move |values| names.clone().into_iter().zip(values).collect())
    });
    (kind, name, options).prop_map(|(kind, name, options)| GenSection {
        kind,
        name,
        options,
    })
}

/// Builds the package through the model's own edits, so anonymous names are the ones libuci
/// would give; named sections get unique names.
fn build(sections: &[GenSection]) -> Package {
    let mut package = Package::new("gen");
    for (i, s) in sections.iter().enumerate() {
        let index = match &s.name {
            Some(name) => package.set_section(&format!("{name}_{i}"), &s.kind),
            None => package.add_section(&s.kind),
        };
        for (name, value) in &s.options {
            let section = &mut package.sections[index];
            match value {
                GenValue::Single(v) => section.set(name, v),
                GenValue::List(items) => items.iter().for_each(|item| section.add_list(name, item)),
            }
        }
    }
    package
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_write_gives_the_config_back(sections in vec(section(), 0..8)) {
        let package = build(&sections);
        let written = to_file(&package);
        let parsed = parse("gen", &written).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&written))))?;
        prop_assert_eq!(&parsed.sections, &package.sections);
    }

    #[test]
    fn write_is_a_fixed_point(sections in vec(section(), 0..8)) {
        let once = to_file(&build(&sections));
        let twice = to_file(&parse("gen", &once).unwrap());
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn any_input_parses_or_fails_cleanly(input in vec(any::<u8>(), 0..400)) {
        // Lenient parsing always yields a package; strict parsing an error or the same package.
        let (lenient, errors) = uci::parse_lenient("x", &input);
        if let Ok(strict) = parse("x", &input) {
            prop_assert_eq!(errors, vec![]);
            prop_assert_eq!(strict, lenient);
        }
    }
}

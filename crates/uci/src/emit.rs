//! Writing packages out exactly as the `uci` tool does: `export`, the committed file, `show`.

use std::collections::HashMap;

use crate::model::{Opt, Package, Section, Value};

/// `'` becomes `'\''` (close, escaped quote, reopen): how uci writes values inside single quotes.
pub(crate) fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    for &c in text {
        if c == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(c);
        }
    }
}

/// A single-quoted value as `uci show` prints it.
pub(crate) fn push_quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'\'');
    push_escaped(out, text);
    out.push(b'\'');
}

/// Export settings (`uci export` flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// Write the `package <name>` header line (`export` does, the committed file does not).
    pub header: bool,
    /// Write the generated names of anonymous sections too (`uci -n`).
    pub name_anonymous: bool,
}

/// `uci export` / the file `uci commit` writes.
pub fn export(package: &Package, options: ExportOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * package.sections.len() + 16);
    if options.header {
        out.extend_from_slice(b"package ");
        push_escaped(&mut out, package.name.as_bytes());
        out.push(b'\n');
    }
    for section in &package.sections {
        out.extend_from_slice(b"\nconfig ");
        push_escaped(&mut out, section.kind.as_bytes());
        if !section.anonymous || options.name_anonymous {
            out.extend_from_slice(b" '");
            push_escaped(&mut out, section.name.as_bytes());
            out.push(b'\'');
        }
        out.push(b'\n');
        for option in &section.options {
            match &option.value {
                Value::Single(value) => push_option_line(&mut out, b"option", &option.name, value),
                Value::List(items) => {
                    for item in items {
                        push_option_line(&mut out, b"list", &option.name, item);
                    }
                }
            }
        }
    }
    out.push(b'\n');
    out
}

fn push_option_line(out: &mut Vec<u8>, keyword: &[u8], name: &str, value: &[u8]) {
    out.push(b'\t');
    out.extend_from_slice(keyword);
    out.push(b' ');
    push_escaped(out, name.as_bytes());
    out.extend_from_slice(b" '");
    push_escaped(out, value);
    out.extend_from_slice(b"'\n");
}

/// The file `uci commit` writes for a package.
pub fn to_file(package: &Package) -> Vec<u8> {
    export(package, ExportOptions::default())
}

/// How `show` names sections: `@type[N]` for anonymous ones (the default), or their `cfg` names.
#[derive(Debug, Clone, Copy)]
pub struct ShowOptions {
    pub extended: bool,
}

impl Default for ShowOptions {
    fn default() -> Self {
        ShowOptions { extended: true }
    }
}

/// The names `show` uses for each section, in order: `@type[N]` counts every section of the type.
pub fn section_refs(package: &Package, extended: bool) -> Vec<String> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    package
        .sections
        .iter()
        .map(|s| {
            let n = seen.entry(s.kind.as_str()).or_insert(0);
            let reference = if extended && s.anonymous {
                format!("@{}[{}]", s.kind, n)
            } else {
                s.name.clone()
            };
            *n += 1;
            reference
        })
        .collect()
}

/// `uci show <package>`.
pub fn show_package(out: &mut Vec<u8>, package: &Package, options: ShowOptions, delimiter: &[u8]) {
    for (section, reference) in package
        .sections
        .iter()
        .zip(section_refs(package, options.extended))
    {
        show_section(out, &package.name, &reference, section, delimiter);
    }
}

/// `uci show <package>.<section>`.
pub fn show_section(
    out: &mut Vec<u8>,
    package: &str,
    reference: &str,
    section: &Section,
    delimiter: &[u8],
) {
    out.extend_from_slice(format!("{package}.{reference}={}\n", section.kind).as_bytes());
    for option in &section.options {
        show_option(out, package, reference, option, delimiter);
    }
}

/// `uci show <package>.<section>.<option>`.
pub fn show_option(
    out: &mut Vec<u8>,
    package: &str,
    reference: &str,
    option: &Opt,
    delimiter: &[u8],
) {
    out.extend_from_slice(format!("{package}.{reference}.{}=", option.name).as_bytes());
    push_value(out, &option.value, true, delimiter);
}

/// A value as `show` (quoted) or `get` (bare unless a list item holds whitespace) prints it.
pub fn push_value(out: &mut Vec<u8>, value: &Value, quote: bool, delimiter: &[u8]) {
    match value {
        Value::Single(text) if quote => push_quoted(out, text),
        Value::Single(text) => out.extend_from_slice(text),
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(delimiter);
                }
                let has_space = item
                    .iter()
                    .any(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
                if quote || has_space {
                    push_quoted(out, item);
                } else {
                    out.extend_from_slice(item);
                }
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn export_round_trips_quotes() {
        let p = parse(
            "t",
            b"config t 's'\n\toption a \"it's\"\n\tlist l x\n\tlist l 'y z'\n",
        )
        .unwrap();
        let text = export(
            &p,
            ExportOptions {
                header: true,
                name_anonymous: false,
            },
        );
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "package t\n\nconfig t 's'\n\toption a 'it'\\''s'\n\tlist l 'x'\n\tlist l 'y z'\n\n"
        );
    }

    #[test]
    fn show_counts_named_sections_in_indexes() {
        let p = parse("p", b"config t\nconfig t 'n'\nconfig t\n").unwrap();
        let mut out = Vec::new();
        show_package(&mut out, &p, ShowOptions::default(), b" ");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "p.@t[0]=t\np.n=t\np.@t[2]=t\n"
        );
    }
}

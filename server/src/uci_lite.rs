//! A small reader and writer for the UCI files Portico needs before the full UCI store
//! (`crates/uci`, the UCI issue) exists: `config`, `option`, `list`, comments, single and double
//! quotes. It reads the stock OpenWrt files and writes the layout `uci commit` writes.
//! The full store replaces it; nothing here is meant to be byte-faithful to the C `uci` yet.

use std::fmt::Write as _;

/// One `config TYPE 'name'` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub section_type: String,
    pub name: Option<String>,
    pub entries: Vec<Entry>,
    /// 1-based line of the `config` keyword.
    pub line: usize,
}

/// An `option` or one `list` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub list: bool,
    pub key: String,
    pub value: String,
    pub line: usize,
}

impl Section {
    /// A new section without entries.
    pub fn new(section_type: &str, name: Option<&str>) -> Section {
        Section {
            section_type: section_type.into(),
            name: name.map(Into::into),
            entries: Vec::new(),
            line: 0,
        }
    }

    /// Adds `option key 'value'`.
    #[must_use]
    pub fn option(mut self, key: &str, value: &str) -> Section {
        self.entries.push(Entry {
            list: false,
            key: key.into(),
            value: value.into(),
            line: 0,
        });
        self
    }

    /// Adds one `list key 'value'` item per value.
    #[must_use]
    pub fn list(mut self, key: &str, values: &[&str]) -> Section {
        for v in values {
            self.entries.push(Entry {
                list: true,
                key: key.into(),
                value: (*v).into(),
                line: 0,
            });
        }
        self
    }

    /// The value of option `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| !e.list && e.key == key)
            .map(|e| e.value.as_str())
    }
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, byte {byte}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub byte: usize,
    pub reason: &'static str,
}

/// Reads a UCI file.
///
/// # Errors
/// The first line that is not a valid statement.
pub fn parse(text: &str) -> Result<Vec<Section>, ParseError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = index + 1;
        let start = offset;
        offset += raw.len();
        let err = |reason| ParseError {
            line,
            byte: start,
            reason,
        };
        let words = tokenize(raw.trim_end_matches(['\n', '\r'])).map_err(err)?;
        let Some((keyword, args)) = words.split_first() else {
            continue;
        };
        match (keyword.as_str(), args) {
            ("package" | "option" | "list", [_]) => {}
            ("config", [ty]) => sections.push(Section {
                line,
                ..Section::new(ty, None)
            }),
            ("config", [ty, name]) => sections.push(Section {
                line,
                ..Section::new(ty, Some(name))
            }),
            ("option" | "list", [key, value]) => {
                let section = sections
                    .last_mut()
                    .ok_or(err("option before any section"))?;
                section.entries.push(Entry {
                    list: keyword == "list",
                    key: key.clone(),
                    value: value.clone(),
                    line,
                });
            }
            ("config" | "option" | "list" | "package", _) => {
                return Err(err("wrong number of arguments"));
            }
            _ => return Err(err("unknown statement")),
        }
    }
    Ok(sections)
}

fn tokenize(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(words),
            _ => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            match c {
                c if c.is_whitespace() => break,
                '\'' | '"' => {
                    chars.next();
                    loop {
                        match chars.next() {
                            None => return Err("unterminated quote"),
                            Some(q) if q == c => break,
                            Some('\\') if c == '"' => word.extend(chars.next()),
                            Some(other) => word.push(other),
                        }
                    }
                }
                '\\' => {
                    chars.next();
                    word.extend(chars.next());
                }
                _ => {
                    word.push(c);
                    chars.next();
                }
            }
        }
        words.push(word);
    }
}

/// Writes sections in the layout `uci commit` uses.
pub fn write(sections: &[Section]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut out = String::new();
    for section in sections {
        out.push('\n');
        let _ = write!(out, "config {}", section.section_type);
        if let Some(name) = &section.name {
            let _ = write!(out, " {}", quote(name));
        }
        out.push('\n');
        for e in &section.entries {
            let kw = if e.list { "list" } else { "option" };
            let _ = writeln!(out, "\t{kw} {} {}", e.key, quote(&e.value));
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stock_syntax_and_round_trips() {
        let text = "config defaults\n\toption syn_flood\t1 # comment\n# whole line\nconfig zone 'lan'\n\tlist network \"lan\"\n\toption name 'it''s'\n";
        let sections = parse(text).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].get("syn_flood"), Some("1"));
        assert_eq!(sections[1].name.as_deref(), Some("lan"));
        assert_eq!(sections[1].get("name"), Some("its"));
        let again = parse(&write(&sections)).unwrap();
        let strip = |s: Vec<Section>| {
            s.into_iter()
                .map(|mut s| {
                    s.line = 0;
                    s.entries.iter_mut().for_each(|e| e.line = 0);
                    s
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(again), strip(sections));
    }

    #[test]
    fn reports_line_and_byte() {
        let err = parse("config a\n\toption x 'open\n").unwrap_err();
        assert_eq!(
            (err.line, err.byte, err.reason),
            (2, 9, "unterminated quote")
        );
        assert_eq!(
            parse("option a b\n").unwrap_err().reason,
            "option before any section"
        );
    }
}

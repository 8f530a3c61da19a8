//! The in-memory form of a UCI package and the edits libuci knows.
//!
//! Every edit here behaves like its libuci counterpart (`uci_set`, `uci_add_list`, ...), including
//! the details the file format depends on: a replaced option keeps its position, `list` after
//! `option` turns the option into a list with the old value first, anonymous sections are named
//! `cfg%02x%04x` from a per-package counter and a hash of the type.

use bstr::{BStr, BString, ByteSlice};

/// One configuration file (`/etc/config/<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    pub name: String,
    pub sections: Vec<Section>,
    /// How many sections were ever allocated in this package; names anonymous sections.
    pub(crate) allocated: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section's name; anonymous sections carry their generated `cfgXXXXXX` name.
    pub name: String,
    /// The section type (`interface`, `wifi-iface`, ...).
    pub kind: String,
    pub anonymous: bool,
    pub options: Vec<Opt>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub name: String,
    pub value: Value,
}

/// Option values are bytes: UCI files may hold any byte except NUL (an SSID in Latin-1, say),
/// and a rewrite must give those bytes back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Single(BString),
    List(Vec<BString>),
}

impl Value {
    /// The single value, or `None` for a list.
    pub fn as_single(&self) -> Option<&BStr> {
        match self {
            Value::Single(v) => Some(v.as_bstr()),
            Value::List(_) => None,
        }
    }

    /// The items: one for a single value, all of them for a list.
    pub fn items(&self) -> &[BString] {
        match self {
            Value::Single(v) => std::slice::from_ref(v),
            Value::List(items) => items,
        }
    }
}

/// libuci's hash for anonymous section names (D. J. Bernstein's, on signed `char`s).
fn djb_hash(hash: Option<u32>, text: &[u8]) -> u32 {
    let mut hash = hash.unwrap_or(5381);
    for &byte in text {
        // C adds a (signed on x86) `char`; the cast reproduces that for bytes >= 0x80.
        #[expect(
            clippy::cast_possible_wrap,
            clippy::cast_sign_loss,
            reason = "mirrors C's signed char arithmetic"
        )]
        let c = i32::from(byte as i8) as u32;
        hash = (hash << 5).wrapping_add(hash).wrapping_add(c);
    }
    hash & 0x7FFF_FFFF
}

/// `true` when `text` is a valid section or option name: `[A-Za-z0-9_]+`.
pub fn valid_name(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `true` when `text` is a valid section type: printable ASCII without spaces.
pub fn valid_type(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&c| (33..=126).contains(&c))
}

/// `true` when `text` is a valid package name as the command line takes it.
pub fn valid_package(text: &[u8]) -> bool {
    valid_type(text)
}

/// A section reference that is neither a name nor `@type[N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed section reference")]
pub struct MalformedReference;

impl Package {
    pub fn new(name: impl Into<String>) -> Self {
        Package {
            name: name.into(),
            sections: Vec::new(),
            allocated: 0,
        }
    }

    /// Index of the section called `name` (anonymous sections answer to their `cfg` name).
    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub fn section_mut(&mut self, name: &str) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.name == name)
    }

    /// Sections of one type, in file order.
    pub fn sections_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.kind == kind)
    }

    /// Resolves `@type[N]` / `@[N]` (negative N counts from the end), as `uci_lookup_ext_section`.
    pub fn resolve_extended(&self, reference: &str) -> Result<Option<usize>, MalformedReference> {
        let rest = reference.strip_prefix('@').ok_or(MalformedReference)?;
        let open = rest.find('[').ok_or(MalformedReference)?;
        let (kind, index) = (&rest[..open], &rest[open + 1..]);
        let index = index.strip_suffix(']').ok_or(MalformedReference)?;
        if index.contains(']') {
            return Err(MalformedReference);
        }
        let index = parse_c_long(index).ok_or(MalformedReference)?;
        let kind = if kind.is_empty() {
            None
        } else if valid_type(kind.as_bytes()) {
            Some(kind)
        } else {
            return Err(MalformedReference);
        };
        let matching: Vec<usize> = self
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| kind.is_none_or(|k| s.kind == k))
            .map(|(i, _)| i)
            .collect();
        let index = if index < 0 {
            index + i64::try_from(matching.len()).unwrap_or(i64::MAX)
        } else {
            index
        };
        Ok(usize::try_from(index)
            .ok()
            .and_then(|i| matching.get(i).copied()))
    }

    /// `uci add`: a new anonymous section at the end, named like libuci names it.
    pub fn add_section(&mut self, kind: &str) -> usize {
        self.allocated += 1;
        let hash = djb_hash(None, kind.as_bytes());
        let name = format!("cfg{:02x}{:04x}", self.allocated, hash % (1 << 16));
        self.sections.push(Section {
            name,
            kind: kind.to_owned(),
            anonymous: true,
            options: Vec::new(),
        });
        self.sections.len() - 1
    }

    /// `uci set pkg.name=type`: creates the named section or changes the type of an existing one.
    pub fn set_section(&mut self, name: &str, kind: &str) -> usize {
        if let Some(index) = self.section_index(name) {
            kind.clone_into(&mut self.sections[index].kind);
            return index;
        }
        self.push_named(name, kind)
    }

    /// Appends a named section the caller knows to be new.
    pub(crate) fn push_named(&mut self, name: &str, kind: &str) -> usize {
        self.allocated += 1;
        self.sections.push(Section {
            name: name.to_owned(),
            kind: kind.to_owned(),
            anonymous: false,
            options: Vec::new(),
        });
        self.sections.len() - 1
    }

    pub fn delete_section(&mut self, index: usize) {
        if index < self.sections.len() {
            self.sections.remove(index);
        }
    }

    /// `uci reorder`: moves the section to position `pos` (clamped to the end).
    pub fn reorder(&mut self, index: usize, pos: usize) {
        if index >= self.sections.len() {
            return;
        }
        let section = self.sections.remove(index);
        let pos = pos.min(self.sections.len());
        self.sections.insert(pos, section);
    }
}

impl Section {
    pub fn option(&self, name: &str) -> Option<&Opt> {
        self.options.iter().find(|o| o.name == name)
    }

    fn option_index(&self, name: &str) -> Option<usize> {
        self.options.iter().position(|o| o.name == name)
    }

    /// The option's single value as text, if it is a single value.
    pub fn get(&self, name: &str) -> Option<&BStr> {
        self.option(name).and_then(|o| o.value.as_single())
    }

    /// `uci set pkg.sec.opt=value` with a non-empty value: replaces in place, appends when new.
    pub fn set(&mut self, name: &str, value: &[u8]) {
        let value = Value::Single(BString::from(value));
        match self.option_index(name) {
            Some(i) => self.options[i].value = value,
            None => self.options.push(Opt {
                name: name.to_owned(),
                value,
            }),
        }
    }

    /// `uci add_list`: appends; a single value becomes the first item of the new list.
    pub fn add_list(&mut self, name: &str, value: &[u8]) {
        let item = BString::from(value);
        match self.option_index(name) {
            Some(i) => match &mut self.options[i].value {
                Value::List(items) => items.push(item),
                Value::Single(old) => {
                    let old = std::mem::take(old);
                    self.options[i].value = Value::List(vec![old, item]);
                }
            },
            None => self.options.push(Opt {
                name: name.to_owned(),
                value: Value::List(vec![item]),
            }),
        }
    }

    /// `uci del_list`: removes every item equal to `value`; single values are left alone.
    pub fn del_list(&mut self, name: &str, value: &[u8]) {
        if let Some(Opt {
            value: Value::List(items),
            ..
        }) = self.options.iter_mut().find(|o| o.name == name)
        {
            items.retain(|item| item.as_slice() != value);
        }
    }

    /// Removes the option; `true` when it existed.
    pub fn delete(&mut self, name: &str) -> bool {
        match self.option_index(name) {
            Some(i) => {
                self.options.remove(i);
                true
            }
            None => false,
        }
    }

    /// `uci delete pkg.sec.list=N`: removes the N-th list item.
    pub fn delete_list_index(&mut self, name: &str, index: usize) {
        if let Some(Opt {
            value: Value::List(items),
            ..
        }) = self.options.iter_mut().find(|o| o.name == name)
            && index < items.len()
        {
            items.remove(index);
        }
    }

    pub fn rename_option(&mut self, from: &str, to: &str) -> bool {
        match self.options.iter_mut().find(|o| o.name == from) {
            Some(option) => {
                to.clone_into(&mut option.name);
                true
            }
            None => false,
        }
    }
}

/// C's `strtol(s, &end, 10)` with the "whole string must be consumed" check libuci applies.
fn parse_c_long(text: &str) -> Option<i64> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if trimmed.is_empty() {
        // strtol of "" consumes nothing and returns 0; libuci accepts it.
        return text.is_empty().then_some(0);
    }
    let (negative, digits) = match trimmed.as_bytes()[0] {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// C's `sscanf(s, "%d", &n)`: leading whitespace, optional sign, digits; `None` when no digits.
pub(crate) fn scan_int(text: &[u8]) -> Option<i64> {
    let text = text.trim_start_with(|c| c.is_ascii_whitespace());
    let (negative, rest) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits: Vec<u8> = rest
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return None;
    }
    let magnitude: i64 = std::str::from_utf8(&digits)
        .ok()?
        .parse()
        .unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_names_follow_libuci() {
        let mut p = Package::new("system");
        let i = p.add_section("system");
        assert_eq!(p.sections[i].name, "cfg01e48a");
        let mut p = Package::new("t");
        p.add_section("t");
        p.add_section("t");
        p.set_section("named", "t");
        let i = p.add_section("u");
        assert_eq!(p.sections[i].name, "cfg04b61a");
    }

    #[test]
    fn extended_references() {
        let mut p = Package::new("net");
        p.add_section("rule");
        p.set_section("lan", "interface");
        p.add_section("rule");
        assert_eq!(p.resolve_extended("@rule[0]"), Ok(Some(0)));
        assert_eq!(p.resolve_extended("@rule[-1]"), Ok(Some(2)));
        assert_eq!(p.resolve_extended("@[1]"), Ok(Some(1)));
        assert_eq!(p.resolve_extended("@rule[5]"), Ok(None));
        assert_eq!(p.resolve_extended("@rule[x]"), Err(MalformedReference));
        assert_eq!(p.resolve_extended("rule[0]"), Err(MalformedReference));
    }

    #[test]
    fn list_conversion_keeps_the_old_value_first_and_the_position() {
        let mut s = Section {
            name: "a".into(),
            kind: "t".into(),
            anonymous: false,
            options: Vec::new(),
        };
        s.set("m", b"first");
        s.set("z", b"last");
        s.add_list("m", b"second");
        assert_eq!(
            s.options[0].value,
            Value::List(vec!["first".into(), "second".into()])
        );
        s.set("m", b"again");
        assert_eq!(s.options[0].value, Value::Single("again".into()));
    }
}

//! `package.section.option=value` references and the edits made through them, as libuci's
//! `uci_parse_ptr`, `uci_lookup_ptr`, `uci_set`, `uci_delete`, ... behave.

use bstr::{BString, ByteSlice};

use crate::delta::{Cmd, Delta};
use crate::model::{Package, Value, scan_int, valid_name, valid_package};
use crate::parse::ParseError;

/// libuci's error codes, with the text `uci` prints for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UciError {
    #[error("Invalid argument")]
    Invalid,
    #[error("Entry not found")]
    NotFound,
    #[error("I/O error")]
    Io,
    /// A parse error; `None` when it came from a reference rather than a file.
    #[error("{}", match .0 { Some(e) => e.to_string(), None => "Parse error".to_owned() })]
    Parse(Option<ParseError>),
    #[error("Duplicate entry")]
    Duplicate,
}

impl UciError {
    /// libuci's error number (`UCI_ERR_*`), which some commands exit with.
    pub fn code(&self) -> i32 {
        match self {
            UciError::Invalid => 2,
            UciError::NotFound => 3,
            UciError::Io => 4,
            UciError::Parse(_) => 5,
            UciError::Duplicate => 6,
        }
    }
}

impl From<ParseError> for UciError {
    fn from(e: ParseError) -> Self {
        UciError::Parse(Some(e))
    }
}

/// A parsed reference such as `network.lan.ipaddr=192.168.1.1` or `network.@interface[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ptr {
    pub package: String,
    pub section: Option<String>,
    pub option: Option<String>,
    pub value: Option<BString>,
    /// The section is not a plain name (so maybe `@type[N]`).
    pub extended: bool,
}

/// `uci_validate_text`: no control characters except TAB, LF and CR (values may span lines).
fn valid_text(text: &[u8]) -> bool {
    text.iter()
        .all(|&c| c >= 32 || c == b'\t' || c == b'\n' || c == b'\r')
}

impl Ptr {
    /// `uci_parse_ptr`: split at the first `=`, then at dots (at most three parts).
    pub fn parse(text: &[u8]) -> Result<Ptr, UciError> {
        let (path, value) = match text.find_byte(b'=') {
            Some(i) => (&text[..i], Some(BString::from(&text[i + 1..]))),
            None => (text, None),
        };
        let mut parts = path.split_str(".");
        let package = parts.next().unwrap_or_default();
        let section = parts.next();
        let option = parts.next();
        if parts.next().is_some() || !valid_package(package) {
            return Err(UciError::Parse(None));
        }
        if option.is_some_and(|o| !valid_name(o)) || value.as_ref().is_some_and(|v| !valid_text(v))
        {
            return Err(UciError::Parse(None));
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(Ptr {
            package: text(package),
            extended: section.is_some_and(|s| !valid_name(s)),
            section: section.map(text),
            option: option.map(text),
            value,
        })
    }
}

/// Where a reference points in a loaded package.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    pub section: Option<usize>,
    pub option: Option<usize>,
    /// Everything the reference names exists.
    pub complete: bool,
}

/// `uci_lookup_ptr` on a loaded package. Resolves `@type[N]` into the section's name when
/// `extended` lookups are allowed (the command line allows them, change files do not).
pub fn lookup(package: &Package, ptr: &mut Ptr, extended: bool) -> Result<Found, UciError> {
    let mut found = Found::default();
    let Some(name) = &ptr.section else {
        found.complete = true;
        return Ok(found);
    };
    let index = if ptr.extended {
        if !extended {
            return Err(UciError::Invalid);
        }
        package
            .resolve_extended(name)
            .map_err(|_| UciError::Invalid)?
    } else {
        package.section_index(name)
    };
    let Some(index) = index else { return Ok(found) };
    ptr.section = Some(package.sections[index].name.clone());
    ptr.extended = false;
    found.section = Some(index);
    if let Some(option) = &ptr.option {
        let Some(o) = package.sections[index]
            .options
            .iter()
            .position(|o| &o.name == option)
        else {
            return Ok(found);
        };
        found.option = Some(o);
    }
    found.complete = true;
    Ok(found)
}

fn delta(cmd: Cmd, ptr: &Ptr, value: Option<&[u8]>) -> Delta {
    Delta {
        cmd,
        section: ptr.section.clone().unwrap_or_default(),
        option: ptr.option.clone(),
        value: value.map(BString::from),
    }
}

/// `uci set`. Returns the change to record, if any.
pub fn set(package: &mut Package, ptr: &mut Ptr, found: Found) -> Result<Option<Delta>, UciError> {
    let value = ptr.value.clone().ok_or(UciError::Invalid)?;
    let Some(section_name) = ptr.section.clone() else {
        return Err(UciError::Invalid);
    };
    if found.section.is_none() && ptr.option.is_some() {
        return Err(UciError::Invalid);
    }
    if ptr.option.is_none() && !value.is_empty() && !crate::model::valid_type(&value) {
        return Err(UciError::Invalid);
    }
    if value.is_empty() {
        if !found.complete {
            return Ok(None);
        }
        return delete(
            package,
            &mut Ptr {
                value: None,
                ..ptr.clone()
            },
            found,
        );
    }
    match (found.section, &ptr.option) {
        (Some(s), Some(option)) => {
            let section = &mut package.sections[s];
            if section.option(option).and_then(|o| o.value.as_single()) == Some(value.as_bstr()) {
                return Ok(None);
            }
            section.set(option, &value);
        }
        (Some(s), None) => {
            // The same type again changes nothing and records nothing, as in libuci.
            if package.sections[s].kind.as_bytes() == value.as_slice() {
                return Ok(None);
            }
            package.sections[s].kind = value.to_str_lossy().into_owned();
        }
        (None, _) => {
            package.set_section(&section_name, &value.to_str_lossy());
        }
    }
    Ok(Some(delta(Cmd::Change, ptr, Some(&value))))
}

/// `uci add_list`.
pub fn add_list(package: &mut Package, ptr: &Ptr, found: Found) -> Result<Option<Delta>, UciError> {
    let (Some(s), Some(option), Some(value)) = (found.section, &ptr.option, &ptr.value) else {
        return Err(UciError::Invalid);
    };
    package.sections[s].add_list(option, value);
    Ok(Some(delta(Cmd::ListAdd, ptr, Some(value))))
}

/// `uci del_list`.
pub fn del_list(package: &mut Package, ptr: &Ptr, found: Found) -> Result<Option<Delta>, UciError> {
    let (Some(s), Some(value)) = (found.section, &ptr.value) else {
        return Err(UciError::Invalid);
    };
    let (Some(o), Some(option)) = (found.option, &ptr.option) else {
        return Ok(None);
    };
    if !matches!(package.sections[s].options[o].value, Value::List(_)) {
        return Ok(None);
    }
    package.sections[s].del_list(option, value);
    Ok(Some(delta(Cmd::ListDel, ptr, Some(value))))
}

/// `uci delete`: an option, a section, or (with a numeric value) one list item.
pub fn delete(
    package: &mut Package,
    ptr: &mut Ptr,
    found: Found,
) -> Result<Option<Delta>, UciError> {
    if !found.complete {
        return Err(UciError::NotFound);
    }
    let Some(s) = found.section else {
        return Err(UciError::Invalid);
    };
    if let (Some(o), Some(value)) = (found.option, &ptr.value)
        && !value.is_empty()
        && matches!(package.sections[s].options[o].value, Value::List(_))
    {
        // sscanf("%d") failing makes libuci return 1 without an error code.
        let Some(index) = scan_int(value) else {
            return Err(UciError::Invalid);
        };
        let section = &mut package.sections[s];
        let name = section.options[o].name.clone();
        if let Ok(index) = usize::try_from(index)
            && index < section.options[o].value.items().len()
        {
            section.delete_list_index(&name, index);
            return Ok(Some(delta(Cmd::Remove, ptr, Some(value))));
        }
        return Ok(None);
    }
    match found.option {
        Some(o) => {
            package.sections[s].options.remove(o);
        }
        None => package.delete_section(s),
    }
    Ok(Some(delta(Cmd::Remove, ptr, None)))
}

/// `uci rename`: a section or an option gets the name in the value.
pub fn rename(package: &mut Package, ptr: &Ptr, found: Found) -> Result<Option<Delta>, UciError> {
    if !found.complete {
        return Err(UciError::NotFound);
    }
    let Some(s) = found.section else {
        return Err(UciError::Invalid);
    };
    let Some(value) = &ptr.value else {
        return Err(UciError::Invalid);
    };
    let new_name = value.to_str_lossy().into_owned();
    let section = &mut package.sections[s];
    if let Some(o) = found.option {
        section.options[o].name = new_name;
    } else {
        section.name = new_name;
        section.anonymous = false;
    }
    Ok(Some(delta(Cmd::Rename, ptr, Some(value))))
}

/// `uci reorder`: the section moves to the position in the value.
pub fn reorder(package: &mut Package, ptr: &Ptr, found: Found) -> Result<Option<Delta>, UciError> {
    let (Some(s), Some(value)) = (found.section, &ptr.value) else {
        return Err(UciError::NotFound);
    };
    let position = strtoul(value);
    let moved = Ptr {
        section: Some(package.sections[s].name.clone()),
        ..ptr.clone()
    };
    // libuci records the move only when the section lands somewhere else.
    let landing = position.min(package.sections.len().saturating_sub(1));
    package.reorder(s, position);
    if landing == s {
        return Ok(None);
    }
    Ok(Some(delta(
        Cmd::Reorder,
        &moved,
        Some(position.to_string().as_bytes()),
    )))
}

/// C's `strtoul(s, NULL, 10)` as libuci uses it for positions (garbage reads as 0).
fn strtoul(text: &[u8]) -> usize {
    let text = text.trim_start_with(|c| c.is_ascii_whitespace());
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    let end = digits
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end]
        .to_str()
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(if end > 0 { usize::MAX } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let p = Ptr::parse(b"network.lan.ipaddr=10.0.0.1").unwrap();
        assert_eq!(p.package, "network");
        assert_eq!(p.section.as_deref(), Some("lan"));
        assert_eq!(p.option.as_deref(), Some("ipaddr"));
        assert_eq!(p.value, Some("10.0.0.1".into()));
        assert!(Ptr::parse(b"network.@interface[0]").unwrap().extended);
        assert_eq!(Ptr::parse(b"a.b.c.d"), Err(UciError::Parse(None)));
        assert!(Ptr::parse(b"a.b.c=x\ny").is_ok(), "values may span lines");
        assert_eq!(Ptr::parse(b"a.b.c=x\0y"), Err(UciError::Parse(None)));
    }
}

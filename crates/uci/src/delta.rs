//! uci change files (`/tmp/.uci/<package>`): one change per line, a prefix for its kind.
//!
//! ```text
//! network.lan.ipaddr='192.168.1.1'      set            +network.cfg0492bd='rule'  add
//! -network.lan.dns                      delete         @network.cfg0292bd='first'  rename
//! ^network.first='2'                    reorder        |network.lan.dns='9.9.9.9' list add
//! ~network.lan.dns='1.1.1.1'            list delete
//! ```

use bstr::BString;

use crate::emit::push_quoted;
use crate::model::{Package, valid_name};
use crate::parse::{Options, Parser};
use crate::ptr::{self, Ptr, UciError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Change,
    Add,
    Remove,
    Rename,
    Reorder,
    ListAdd,
    ListDel,
}

impl Cmd {
    fn prefix(self) -> &'static str {
        match self {
            Cmd::Change => "",
            Cmd::Add => "+",
            Cmd::Remove => "-",
            Cmd::Rename => "@",
            Cmd::Reorder => "^",
            Cmd::ListAdd => "|",
            Cmd::ListDel => "~",
        }
    }

    fn from_prefix(c: u8) -> Option<Cmd> {
        Some(match c {
            b'+' => Cmd::Add,
            b'-' => Cmd::Remove,
            b'@' => Cmd::Rename,
            b'^' => Cmd::Reorder,
            b'|' => Cmd::ListAdd,
            b'~' => Cmd::ListDel,
            _ => return None,
        })
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub cmd: Cmd,
    pub section: String,
    pub option: Option<String>,
    pub value: Option<BString>,
}

impl Delta {
    /// The line libuci's `uci_save` appends to the change file.
    pub fn to_line(&self, package: &str) -> Vec<u8> {
        let mut out = format!("{}{package}.{}", self.cmd.prefix(), self.section).into_bytes();
        if let Some(option) = &self.option {
            out.push(b'.');
            out.extend_from_slice(option.as_bytes());
        }
        match (&self.value, self.cmd) {
            (None, Cmd::Remove) => {}
            (value, _) => {
                out.push(b'=');
                push_quoted(&mut out, value.as_deref().map_or(&[][..], |v| &v[..]));
            }
        }
        out.push(b'\n');
        out
    }

    /// The line `uci changes` prints for it.
    pub fn to_change(&self, package: &str) -> Vec<u8> {
        let prefix = if self.cmd == Cmd::Remove { "-" } else { "" };
        let mut out = format!("{prefix}{package}.{}", self.section).into_bytes();
        if let Some(option) = &self.option {
            out.push(b'.');
            out.extend_from_slice(option.as_bytes());
        }
        if self.cmd != Cmd::Remove {
            out.extend_from_slice(match self.cmd {
                Cmd::ListAdd => b"+=",
                Cmd::ListDel => b"-=",
                _ => b"=",
            });
            push_quoted(&mut out, self.value.as_deref().map_or(&[][..], |v| &v[..]));
        }
        out.push(b'\n');
        out
    }

    fn ptr(&self, package: &str) -> Ptr {
        Ptr {
            package: package.to_owned(),
            section: Some(self.section.clone()),
            option: self.option.clone(),
            value: self.value.clone(),
            extended: false,
        }
    }
}

/// `uci_parse_delta_tuple`: a line is one uci argument (quotes allowed) naming a change.
fn parse_tuple(arg: &[u8], package: &str) -> Option<Delta> {
    let (cmd, rest) = match arg.first().and_then(|&c| Cmd::from_prefix(c)) {
        Some(cmd) => (cmd, &arg[1..]),
        None => (Cmd::Change, arg),
    };
    let ptr = Ptr::parse(rest).ok()?;
    let section = ptr.section.clone()?;
    if ptr.extended {
        return None;
    }
    // Every change but a removal carries a value; a line without one is skipped.
    if cmd != Cmd::Remove && ptr.value.is_none() {
        return None;
    }
    match cmd {
        Cmd::Reorder if ptr.value.is_none() || ptr.option.is_some() => return None,
        Cmd::Rename if !ptr.value.as_ref().is_some_and(|v| valid_name(v)) => return None,
        Cmd::ListAdd | Cmd::ListDel if ptr.option.is_none() => return None,
        _ => {}
    }
    if ptr.package != package {
        return None;
    }
    Some(Delta {
        cmd,
        section,
        option: ptr.option,
        value: ptr.value,
    })
}

/// Reads a change file for `package`: returns the changes in order (what `uci changes` lists).
/// Malformed lines are skipped, as libuci skips them.
pub fn parse_file(text: &[u8], package: &str) -> Vec<Delta> {
    let mut parser = Parser::new(text, Options::default(), None, true);
    let mut deltas = Vec::new();
    while parser.read_line() {
        if parser.current_is_empty() {
            continue;
        }
        let Ok(start) = parser.next_arg(false, false, false) else {
            continue;
        };
        if !parser.rest_is_empty() {
            continue;
        }
        if let Some(delta) = parse_tuple(&parser.string_at(start), package) {
            deltas.push(delta);
        }
    }
    deltas
}

/// Applies one change the way `uci_parse_delta_line` does (without recording it again).
pub fn apply(package: &mut Package, delta: &Delta) -> Result<(), UciError> {
    let mut p = delta.ptr(&package.name);
    let found = ptr::lookup(package, &mut p, false)?;
    match delta.cmd {
        Cmd::Reorder => {
            if !found.complete {
                return Err(UciError::NotFound);
            }
            ptr::reorder(package, &p, found)?;
        }
        Cmd::Rename => {
            ptr::rename(package, &p, found)?;
        }
        Cmd::Remove => {
            ptr::delete(package, &mut p, found)?;
        }
        Cmd::ListAdd => {
            ptr::add_list(package, &p, found)?;
        }
        Cmd::ListDel => {
            ptr::del_list(package, &p, found)?;
        }
        Cmd::Add | Cmd::Change => {
            ptr::set(package, &mut p, found)?;
            if delta.option.is_none()
                && delta.cmd == Cmd::Add
                && let Some(section) = package.section_mut(&delta.section)
            {
                section.anonymous = true;
            }
        }
    }
    Ok(())
}

/// Applies every change in order; a change that does not fit is skipped, as in libuci.
pub fn apply_all(package: &mut Package, deltas: &[Delta]) {
    for delta in deltas {
        // libuci traps the error of each line and goes on with the next.
        let _ = apply(package, delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let text = b"net.lan.ipaddr='192.168.1.1'\n|net.lan.dns='9.9.9.9'\n-net.lan.proto\n+net.cfg0492bd='rule'\nnet.cfg0492bd.name='it'\\''s new'\n";
        let deltas = parse_file(text, "net");
        assert_eq!(deltas.len(), 5);
        let written: Vec<u8> = deltas.iter().flat_map(|d| d.to_line("net")).collect();
        assert_eq!(written, text);
        assert_eq!(parse_file(b"other.lan.x='1'\nnet.lan\n", "net").len(), 0);
        // Lines without a value are skipped (a removal needs none).
        let valueless = b"net.foo\n+net.foo\n|net.foo.x\n~net.foo.x\n@net.foo\n-net.foo\n";
        assert_eq!(parse_file(valueless, "net").len(), 1);
    }
}

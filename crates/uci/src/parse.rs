//! The UCI file parser, faithful to the C library's `file.c`.
//!
//! libuci parses a line in place: it reads it into a buffer with `fgets`, cuts the keyword out
//! with `strtok`, and unquotes arguments by copying bytes backwards within the same buffer. Some
//! of its behaviour (which byte an error reports, that `a;b` loses what follows the `;` while
//! `'a';b` keeps it, that a line with an embedded NUL loses bytes) only falls out of that
//! mechanism, so this parser keeps the same buffer, cursor and `fgets` chunking rather than a
//! tokenizer of its own. Indexing goes through [`Parser::at`] and [`Parser::put`], which never
//! panic: the fuzz target holds this module to that.

use std::collections::HashMap;
use std::fmt;

use crate::model::{Package, valid_name, valid_type};

/// A parse error as libuci reports it: `Parse error (<reason>) at line L, byte B`.
///
/// `line` counts the newline-terminated lines read so far; `byte` is the cursor's offset in the
/// logical line (a value continued over several lines keeps counting from the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Parse error ({reason}) at line {line}, byte {byte}")]
pub struct ParseError {
    pub reason: &'static str,
    pub line: usize,
    pub byte: usize,
}

/// What importing a stream can fail with besides a parse error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A `package` line named a package that the same stream already defined.
    #[error("Duplicate entry")]
    Duplicate,
}

/// How to parse.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Strict (the default of the `uci` tool): the first error rejects the whole input.
    /// Otherwise the offending line is skipped and parsing goes on.
    pub strict: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { strict: true }
    }
}

/// Parses one config file loaded as package `name` (its `package` lines are ignored), strictly.
pub fn parse(name: &str, input: &[u8]) -> Result<Package, ParseError> {
    let mut parser = Parser::new(input, Options::default(), Some(name), true);
    parser.run().map_err(|e| match e {
        ImportError::Parse(e) => e,
        ImportError::Duplicate => unreachable!("single-package parsing never switches packages"),
    })?;
    Ok(parser.finish().pop().unwrap_or_else(|| Package::new(name)))
}

/// Parses like `uci -S`: errors are collected, the lines they occur on are skipped.
pub fn parse_lenient(name: &str, input: &[u8]) -> (Package, Vec<ParseError>) {
    let mut parser = Parser::new(input, Options { strict: false }, Some(name), true);
    // Only a duplicate package can abort a lenient single-package parse, and that cannot happen.
    let _ = parser.run();
    let errors = std::mem::take(&mut parser.errors);
    (
        parser.finish().pop().unwrap_or_else(|| Package::new(name)),
        errors,
    )
}

/// `uci import [name]`: with a name, the stream is that package and `package` lines are ignored;
/// without one, `package <name>` lines start each package.
pub fn import(
    input: &[u8],
    name: Option<&str>,
    options: Options,
) -> (Result<Vec<Package>, ImportError>, Vec<ParseError>) {
    let mut parser = Parser::new(input, options, name, name.is_some());
    let result = parser.run();
    let errors = std::mem::take(&mut parser.errors);
    match result {
        Ok(()) => (Ok(parser.finish()), errors),
        Err(e) => (Err(e), errors),
    }
}

/// One command of a batch: its words, or why they could not be read.
pub type BatchLine = Result<Vec<Vec<u8>>, ParseError>;

/// `uci batch`: each line split into arguments (at most five are read; more is an error the
/// caller reports). A line whose quoting is broken yields its parse error.
pub fn batch_lines(input: &[u8]) -> Vec<(usize, BatchLine)> {
    let mut parser = Parser::new(input, Options::default(), None, true);
    let mut lines = Vec::new();
    while parser.read_line() {
        let mut words = Vec::new();
        let result = loop {
            if words.len() == 5 {
                break Ok(());
            }
            match parser.next_arg(false, false, false) {
                Err(e) => break Err(e),
                Ok(start) => {
                    let word = parser.string_at(start);
                    if word.is_empty() {
                        break Ok(());
                    }
                    words.push(word);
                }
            }
        };
        lines.push((parser.line, result.map(|()| words)));
    }
    lines
}

/// `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

const INITIAL_BUFFER: usize = 32;

pub(crate) struct Parser<'a> {
    input: &'a [u8],
    read: usize,
    eof: bool,
    buf: Vec<u8>,
    filled: usize,
    pos: usize,
    line: usize,
    options: Options,
    /// Package name from the caller (the file name), if any.
    name: Option<String>,
    single: bool,
    package: Option<Package>,
    done: Vec<Package>,
    section: Option<usize>,
    /// Section name -> index in the current package, so reopening a section stays O(1) and
    /// parsing stays linear in the size of the file.
    names: HashMap<String, usize>,
    pub(crate) errors: Vec<ParseError>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a [u8], options: Options, name: Option<&str>, single: bool) -> Self {
        Parser {
            input,
            read: 0,
            eof: false,
            buf: Vec::new(),
            filled: 0,
            pos: 0,
            line: 0,
            options,
            name: name.map(str::to_owned),
            single,
            package: None,
            done: Vec::new(),
            section: None,
            names: HashMap::new(),
            errors: Vec::new(),
        }
    }

    fn at(&self, index: usize) -> u8 {
        self.buf.get(index).copied().unwrap_or(0)
    }

    fn put(&mut self, index: usize, value: u8) {
        if let Some(slot) = self.buf.get_mut(index) {
            *slot = value;
        }
    }

    /// The NUL-terminated string starting at `start`.
    pub(crate) fn string_at(&self, start: usize) -> Vec<u8> {
        let tail = self.buf.get(start..).unwrap_or(&[]);
        let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
        tail[..end].to_vec()
    }

    fn error(&self, reason: &'static str) -> ParseError {
        ParseError {
            reason,
            line: self.line,
            byte: self.pos,
        }
    }

    /// `fgets(buf + at, size, file)`: at most `size - 1` bytes, up to and including a newline.
    /// Returns `false` when nothing could be read.
    fn fgets(&mut self, at: usize, size: usize) -> bool {
        let rest = &self.input[self.read..];
        if rest.is_empty() {
            self.eof = true;
            return false;
        }
        let limit = size.saturating_sub(1).min(rest.len());
        let take = rest[..limit]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(limit, |i| i + 1);
        // fgets sees end-of-file only when it wanted more than the input had.
        if rest[..take].last() != Some(&b'\n') && rest.len() < size - 1 {
            self.eof = true;
        }
        self.buf[at..at + take].copy_from_slice(&rest[..take]);
        self.buf[at + take] = 0;
        self.read += take;
        true
    }

    /// `uci_getln`: reads the next line into the buffer at `offset`, growing it as libuci does.
    fn getln(&mut self, offset: usize) {
        if self.buf.is_empty() {
            self.buf = vec![0; INITIAL_BUFFER];
        }
        if offset >= self.buf.len() - 1 {
            let size = self.buf.len() * 2;
            self.buf.resize(size, 0);
        }
        let mut at = offset;
        loop {
            self.buf[at] = 0;
            let size = self.buf.len() - at;
            if !self.fgets(at, size) || self.buf[at] == 0 {
                return;
            }
            let chunk = &self.buf[at..];
            at += chunk.iter().position(|&c| c == 0).unwrap_or(chunk.len());
            self.filled = at;
            if self.buf[at - 1] == b'\n' {
                self.line += 1;
                return;
            }
            // libuci doubles the buffer each round. A line broken up by NUL bytes would double
            // it once per piece (exponential memory); growing only to what the rest of the input
            // can fill reads exactly the same bytes.
            let needed = at + (self.input.len() - self.read) + 2;
            let size = (self.buf.len() * 2).min(needed).max(self.buf.len());
            self.buf.resize(size, 0);
        }
    }

    fn skip_whitespace(&mut self) {
        while self.at(self.pos) != 0 && is_space(self.at(self.pos)) {
            self.pos += 1;
        }
    }

    fn addc(&mut self, target: &mut usize) {
        let c = self.at(self.pos);
        self.put(*target, c);
        *target += 1;
        self.pos += 1;
    }

    /// Returns `true` when the escaped character is to be taken, `false` after a line join.
    fn backslash(&mut self) -> bool {
        self.pos += 1;
        let c = self.at(self.pos);
        if c == 0
            || c == b'\n'
            || (c == b'\r' && self.at(self.pos + 1) == b'\n' && self.at(self.pos + 2) == 0)
        {
            self.getln(self.pos);
            return false;
        }
        true
    }

    fn double_quote(&mut self, target: &mut usize) -> Result<(), ParseError> {
        self.pos += 1;
        loop {
            match self.at(self.pos) {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => {
                    self.getln(self.pos);
                    if self.at(self.pos) == 0 {
                        return Err(self.error("EOF with unterminated \""));
                    }
                }
                b'\\' => {
                    if self.backslash() {
                        self.addc(target);
                    }
                }
                _ => self.addc(target),
            }
        }
    }

    fn single_quote(&mut self, target: &mut usize) -> Result<(), ParseError> {
        self.pos += 1;
        loop {
            match self.at(self.pos) {
                b'\'' => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => {
                    self.getln(self.pos);
                    if self.at(self.pos) == 0 {
                        return Err(self.error("EOF with unterminated '"));
                    }
                }
                _ => self.addc(target),
            }
        }
    }

    /// `parse_str`: one argument, pieces in any quoting glued together, unquoted in place.
    fn parse_str(&mut self, target: &mut usize) -> Result<(), ParseError> {
        let mut next = true;
        loop {
            match self.at(self.pos) {
                b'\'' => self.single_quote(target)?,
                b'"' => self.double_quote(target)?,
                b'#' => {
                    self.put(self.pos, 0);
                    break;
                }
                0 => break,
                b';' => {
                    next = false;
                    break;
                }
                b'\\' => {
                    if self.backslash() {
                        self.addc(target);
                    }
                }
                _ => self.addc(target),
            }
            let c = self.at(self.pos);
            if c == 0 || is_space(c) {
                break;
            }
        }
        if self.at(self.pos) != 0 && next {
            self.pos += 1;
        }
        self.put(*target, 0);
        Ok(())
    }

    /// `next_arg`: returns the start of the (NUL-terminated) argument in the buffer.
    pub(crate) fn next_arg(
        &mut self,
        required: bool,
        name: bool,
        package: bool,
    ) -> Result<usize, ParseError> {
        self.skip_whitespace();
        let start = self.pos;
        let mut target = start;
        if self.at(self.pos) == b';' {
            self.put(self.pos, 0);
            self.pos += 1;
        } else {
            self.parse_str(&mut target)?;
        }
        if self.at(start) == 0 {
            if required {
                return Err(self.error("insufficient arguments"));
            }
            return Ok(start);
        }
        if name {
            let text = self.string_at(start);
            let ok = if package {
                text.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            } else {
                valid_name(&text)
            };
            if !ok {
                return Err(self.error("invalid character in name field"));
            }
        }
        Ok(start)
    }

    fn assert_eol(&mut self) -> Result<(), ParseError> {
        self.skip_whitespace();
        let extra = self.next_arg(false, false, false)?;
        if self.at(extra) != 0 && self.options.strict {
            return Err(self.error("too many arguments"));
        }
        Ok(())
    }

    /// Skips the keyword `strtok` cut out (`strlen(cur) + 1`), or fails with `reason`.
    fn skip_keyword(&mut self, reason: &'static str) -> Result<(), ParseError> {
        let tail = self.buf.get(self.pos..).unwrap_or(&[]);
        let len = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
        if self.pos + len + 1 > self.filled {
            return Err(self.error(reason));
        }
        self.pos += len + 1;
        Ok(())
    }

    fn switch_package(&mut self) -> Result<(), ImportError> {
        if let Some(done) = self.package.take() {
            self.done.push(done);
            self.section = None;
            self.names.clear();
        }
        let Some(name) = self.name.clone() else {
            return Ok(());
        };
        if self.done.iter().any(|p| p.name == name) {
            return Err(ImportError::Duplicate);
        }
        self.package = Some(Package::new(name));
        Ok(())
    }

    fn parse_package(&mut self) -> Result<(), ImportError> {
        self.skip_keyword("package without name")?;
        let name = self.next_arg(true, true, true)?;
        self.assert_eol()?;
        if self.single {
            return Ok(());
        }
        self.name = Some(String::from_utf8_lossy(&self.string_at(name)).into_owned());
        self.switch_package()
    }

    fn parse_config(&mut self) -> Result<(), ImportError> {
        if self.package.is_none() {
            if self.name.is_none() {
                return Err(self
                    .error("attempting to import a file without a package name")
                    .into());
            }
            self.switch_package()?;
        }
        self.skip_keyword("config without name")?;
        let kind = self.next_arg(true, false, false)?;
        if !valid_type(&self.string_at(kind)) {
            return Err(self.error("invalid character in type field").into());
        }
        let name = self.next_arg(false, true, false)?;
        self.assert_eol()?;
        // Types and names are ASCII once validated.
        let kind = String::from_utf8_lossy(&self.string_at(kind)).into_owned();
        let name = String::from_utf8_lossy(&self.string_at(name)).into_owned();
        let strict = self.options.strict;
        let error = self.error("section of different type overwrites prior section with same name");
        let Some(package) = self.package.as_mut() else {
            return Ok(());
        };
        let index = if name.is_empty() {
            let index = package.add_section(&kind);
            self.names
                .entry(package.sections[index].name.clone())
                .or_insert(index);
            index
        } else if let Some(&index) = self.names.get(&name) {
            let section = &mut package.sections[index];
            if strict && section.kind != kind {
                return Err(error.into());
            }
            section.kind = kind;
            index
        } else {
            let index = package.push_named(&name, &kind);
            self.names.insert(name, index);
            index
        };
        self.section = Some(index);
        Ok(())
    }

    fn parse_option(&mut self, list: bool) -> Result<(), ImportError> {
        if self.section.is_none() {
            return Err(self
                .error("option/list command found before the first section")
                .into());
        }
        self.skip_keyword("option without name")?;
        let name = self.next_arg(true, true, false)?;
        let value = self.next_arg(false, false, false)?;
        self.assert_eol()?;
        let name = String::from_utf8_lossy(&self.string_at(name)).into_owned();
        let value = self.string_at(value);
        let (Some(package), Some(index)) = (self.package.as_mut(), self.section) else {
            return Ok(());
        };
        let Some(section) = package.sections.get_mut(index) else {
            return Ok(());
        };
        if list {
            section.add_list(&name, &value);
        } else if !value.is_empty() {
            // An empty value would delete, but the parser's lookup is never "complete", so
            // libuci leaves the option as it was.
            section.set(&name, &value);
        }
        Ok(())
    }

    /// `uci_parse_line`: the commands of one logical line, separated by `;`.
    fn parse_line(&mut self) -> Result<(), ImportError> {
        self.skip_whitespace();
        loop {
            // strtok(cur, " \t"): skip delimiters, cut the word with a NUL.
            let mut i = self.pos;
            while matches!(self.at(i), b' ' | b'\t') {
                i += 1;
            }
            if self.at(i) == 0 {
                return Ok(());
            }
            let word_start = i;
            while !matches!(self.at(i), 0 | b' ' | b'\t') {
                i += 1;
            }
            self.put(i, 0);
            let word = self.buf.get(word_start..i).unwrap_or(&[]).to_vec();
            match word.as_slice() {
                [b'#', ..] => return Ok(()),
                b"p" | b"package" => self.parse_package()?,
                b"c" | b"config" => self.parse_config()?,
                b"o" | b"option" => self.parse_option(false)?,
                b"l" | b"list" => self.parse_option(true)?,
                _ => return Err(self.error("invalid command").into()),
            }
        }
    }

    pub(crate) fn run(&mut self) -> Result<(), ImportError> {
        while !self.eof {
            self.pos = 0;
            self.getln(0);
            if self.at(0) == 0 {
                continue;
            }
            match self.parse_line() {
                Ok(()) => {}
                Err(ImportError::Parse(e)) if !self.options.strict => self.errors.push(e),
                Err(e) => return Err(e),
            }
        }
        if self.package.is_none() && self.name.is_some() {
            self.switch_package()?;
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<Package> {
        if let Some(package) = self.package.take() {
            self.done.push(package);
        }
        self.done
    }

    /// For the change-file reader: start on a fresh line.
    pub(crate) fn read_line(&mut self) -> bool {
        if self.eof {
            return false;
        }
        self.pos = 0;
        self.getln(0);
        true
    }

    pub(crate) fn current_is_empty(&self) -> bool {
        self.at(0) == 0
    }

    pub(crate) fn rest_is_empty(&self) -> bool {
        self.at(self.pos) == 0
    }
}

impl fmt::Debug for Parser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("line", &self.line)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;

    fn single(p: &Package, sec: &str, opt: &str) -> String {
        p.section(sec).unwrap().get(opt).unwrap().to_string()
    }

    #[test]
    fn quoting_and_joining() {
        let p = parse(
            "t",
            b"config t 's'\n\toption a 'it'\\''s'\n\toption b a\\\nb\n\toption c 'x'\"y\"z\n",
        )
        .unwrap();
        assert_eq!(single(&p, "s", "a"), "it's");
        assert_eq!(single(&p, "s", "b"), "ab");
        assert_eq!(single(&p, "s", "c"), "xyz");
    }

    #[test]
    fn errors_carry_line_and_byte() {
        let e = parse("t", b"config t 's'\n\toption my-opt 'x'\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Parse error (invalid character in name field) at line 2, byte 15"
        );
        let e = parse("t", b"config\n").unwrap_err();
        assert_eq!((e.reason, e.line, e.byte), ("invalid command", 1, 0));
    }

    #[test]
    fn lenient_mode_skips_bad_lines() {
        let (p, errors) = parse_lenient("t", b"config t 's'\n\toption a b c\n\toption my-opt x\n");
        assert_eq!(single(&p, "s", "a"), "b");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn semicolon_after_an_unquoted_word_eats_the_rest_like_libuci() {
        let p = parse("t", b"config t s;option a 1\n").unwrap();
        assert_eq!(p.section("s").unwrap().options, []);
        let p = parse("t", b"config t 's';option a 1\n").unwrap();
        assert_eq!(
            p.section("s").unwrap().options[0].value,
            Value::Single("1".into())
        );
    }

    #[test]
    fn nul_bytes_do_not_blow_up_the_buffer() {
        let input = b"\t\0\n".repeat(200);
        let (_, errors) = parse_lenient("t", &input);
        assert_eq!(errors, []);
    }

    #[test]
    fn long_lines_grow_the_buffer() {
        let value = "x".repeat(10_000);
        let text = format!("config t 's'\n\toption a '{value}'\n");
        let p = parse("t", text.as_bytes()).unwrap();
        assert_eq!(single(&p, "s", "a"), value);
    }
}

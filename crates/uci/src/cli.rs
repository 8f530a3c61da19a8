//! The `uci` command line: same commands, output, messages and exit codes as OpenWrt's tool.
//!
//! Portico exposes it as `portico uci`, so scripts and people can check Portico's files against
//! OpenWrt's (and use them on a machine without `uci`). Error messages start with `uci: ` as the
//! reference tool's do, so the two can be compared byte for byte.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::delta::Delta;
use crate::emit::{self, ExportOptions};
use crate::parse::{self, Options};
use crate::ptr::{self, Found, Ptr, UciError};
use crate::store::{LoadError, Loaded, Store};

const APP: &str = "uci";

const USAGE: &str = "\
Usage: portico uci [<options>] <command> [<arguments>]

Commands:
\tbatch
\texport     [<config>]
\timport     [<config>]
\tchanges    [<config>]
\tcommit     [<config>]
\tadd        <config> <section-type>
\tadd_list   <config>.<section>.<option>=<string>
\tdel_list   <config>.<section>.<option>=<string>
\tshow       [<config>[.<section>[.<option>]]]
\tget        <config>.<section>[.<option>]
\tset        <config>.<section>[.<option>]=<value>
\tdelete     <config>[.<section>[[.<option>][=<id>]]]
\trename     <config>.<section>[.<option>]=<name>
\trevert     <config>[.<section>[.<option>]]
\treorder    <config>.<section>=<position>

Options:
\t-c <path>  set the search path for config files (default: <root>/etc/config)
\t-C <path>  set the search path for config override files (default: <root>/var/run/uci)
\t-t <path>  set the folder for change files (default: <root>/tmp/.uci)
\t-d <str>   set the delimiter for list values in uci show
\t-f <file>  use <file> as input instead of stdin
\t-m         when importing, merge data into an existing package
\t-n         name unnamed sections on export
\t-N         don't name unnamed sections
\t-p <path>  add a search path for config change files
\t-P <path>  add a search path for config change files and use as default
\t-q         quiet mode (don't print error messages)
\t-s         force strict mode (stop on parser errors, default)
\t-S         disable strict mode
\t-X         do not use extended syntax on 'show'

";

/// Standard streams for one run.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "one field per getopt flag of the reference tool"
)]
struct Cli<'a, 'b> {
    store: Store,
    strict: bool,
    quiet: bool,
    extended: bool,
    name_anonymous: bool,
    no_commit: bool,
    merge: bool,
    delimiter: Vec<u8>,
    input: Option<PathBuf>,
    /// What libuci prints after an error's text. libuci keeps it in a static buffer: a parse
    /// error's position replaces it and every message printed appends a newline to it, so in
    /// one process (a batch) later messages end in more and more blank lines — reproduced, as
    /// scripts may compare the output.
    error_info: Vec<u8>,
    /// In `batch`: the input's line so far and the last reason its parser gave, which libuci
    /// reports after errors that come from a reference (they have no position of their own).
    batch: Option<(usize, &'static str)>,
    io: &'a mut Io<'b>,
}

enum Command {
    Show,
    Changes,
    Export,
    Commit,
    Get,
    Set,
    AddList,
    DelList,
    Delete,
    Rename,
    Revert,
    Reorder,
}

/// Runs `uci` with `args` (without the program name); returns the exit code.
pub fn run(args: &[OsString], confdir: PathBuf, savedir: PathBuf, io: &mut Io<'_>) -> i32 {
    run_in(args, Store::new(confdir, savedir), io)
}

/// [`run`] with the defaults as a store (config, override and change folders).
pub fn run_in(args: &[OsString], store: Store, io: &mut Io<'_>) -> i32 {
    let mut cli = Cli {
        store,
        strict: true,
        quiet: false,
        extended: true,
        name_anonymous: false,
        no_commit: false,
        merge: false,
        delimiter: b" ".to_vec(),
        input: None,
        error_info: Vec::new(),
        batch: None,
        io,
    };
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut iter = args.iter().map(|a| a.as_bytes().to_vec());
    let mut only_words = false;
    while let Some(arg) = iter.next() {
        if only_words || arg.len() < 2 || arg[0] != b'-' {
            words.push(arg);
            continue;
        }
        if arg == b"--" {
            only_words = true;
            continue;
        }
        // getopt "c:C:d:f:LmnNp:P:qsSt:X": flags may be grouped, values attached or separate.
        // `-L` is in the string but not handled: the reference tool prints its usage.
        let mut i = 1;
        while i < arg.len() {
            let flag = arg[i];
            i += 1;
            if b"cCdfpPt".contains(&flag) {
                let value = if i < arg.len() {
                    arg[i..].to_vec()
                } else if let Some(v) = iter.next() {
                    v
                } else {
                    cli.usage();
                    return 0;
                };
                i = arg.len();
                let path = PathBuf::from(std::ffi::OsStr::from_bytes(&value));
                match flag {
                    b'c' => cli.store.confdir = path,
                    b'C' => cli.store.conf2dir = Some(path),
                    b't' => cli.store.set_savedir(path),
                    b'd' => cli.delimiter = value,
                    b'f' => cli.input = Some(path),
                    b'p' => cli.store.add_delta_path(path),
                    _ => {
                        cli.store.set_savedir(path);
                        cli.no_commit = true;
                    }
                }
                continue;
            }
            match flag {
                b's' => cli.strict = true,
                b'S' => cli.strict = false,
                b'q' => cli.quiet = true,
                b'X' => cli.extended = false,
                b'n' => cli.name_anonymous = true,
                b'N' => cli.name_anonymous = false,
                b'm' => cli.merge = true,
                _ => {
                    cli.usage();
                    return 0;
                }
            }
        }
    }
    if words.is_empty() {
        cli.usage();
        return 0;
    }
    let code = cli.command(&words);
    if code == 255 {
        cli.usage();
    }
    code
}

impl Cli<'_, '_> {
    fn usage(&mut self) {
        let _ = self.io.stderr.write_all(USAGE.as_bytes());
    }

    fn perror(&mut self, error: &UciError) {
        if !self.quiet {
            self.print_error(Some(APP), error);
        }
    }

    /// `uci_perror`: `prefix: ` (if any), the error's text, then the error info (see
    /// [`Cli::error_info`]).
    fn print_error(&mut self, prefix: Option<&str>, error: &UciError) {
        match (error, self.batch) {
            (UciError::Parse(Some(p)), _) => {
                self.error_info =
                    format!(" ({}) at line {}, byte {}", p.reason, p.line, p.byte).into_bytes();
            }
            (UciError::Parse(None), Some((line, reason))) => {
                self.error_info = format!(" ({reason}) at line {line}, byte 0").into_bytes();
            }
            _ => {}
        }
        self.error_info.push(b'\n');
        let text = match error {
            UciError::Parse(_) => "Parse error".to_owned(),
            other => other.to_string(),
        };
        let mut line = Vec::new();
        if let Some(prefix) = prefix {
            line.extend_from_slice(prefix.as_bytes());
            line.extend_from_slice(b": ");
        }
        line.extend_from_slice(text.as_bytes());
        line.extend_from_slice(&self.error_info);
        let _ = self.io.stderr.write_all(&line);
    }

    /// Parse errors skipped in lenient mode, printed as libuci prints them (no prefix).
    fn warn(&mut self, warnings: &[crate::parse::ParseError]) {
        if !self.quiet {
            for warning in warnings {
                self.print_error(None, &UciError::Parse(Some(warning.clone())));
            }
        }
    }

    fn out(&mut self, bytes: &[u8]) {
        let _ = self.io.stdout.write_all(bytes);
    }

    fn command(&mut self, words: &[Vec<u8>]) -> i32 {
        let name = String::from_utf8_lossy(&words[0]).to_ascii_lowercase();
        let command = match name.as_str() {
            "batch" => return self.batch(),
            "show" => Command::Show,
            "changes" => Command::Changes,
            "export" => Command::Export,
            "commit" => Command::Commit,
            "get" => Command::Get,
            "set" => Command::Set,
            "add_list" => Command::AddList,
            "del_list" => Command::DelList,
            "del" | "delete" => Command::Delete,
            "ren" | "rename" => Command::Rename,
            "revert" => Command::Revert,
            "reorder" => Command::Reorder,
            "import" => return self.import(words),
            "add" => return self.add(words),
            "help" => {
                self.usage();
                return 0;
            }
            _ => return 255,
        };
        match command {
            Command::Show | Command::Changes | Command::Export | Command::Commit => {
                self.package_command(&command, words)
            }
            _ => self.section_command(&command, words),
        }
    }

    /// Loads the package a reference names, printing lenient-mode warnings as libuci does.
    fn load(&mut self, name: &str) -> Result<Loaded, UciError> {
        match self.store.load(name, self.strict) {
            Ok(loaded) => {
                self.warn(&loaded.warnings);
                Ok(loaded)
            }
            Err(LoadError::NotFound) => Err(UciError::NotFound),
            Err(LoadError::Parse(e)) => Err(UciError::Parse(Some(e))),
            Err(LoadError::Io(_)) => Err(UciError::Io),
        }
    }

    fn lookup(&mut self, text: &[u8]) -> Result<(Ptr, Loaded, Found), UciError> {
        let mut ptr = Ptr::parse(text)?;
        let loaded = self.load(&ptr.package.clone())?;
        let found = ptr::lookup(&loaded.package, &mut ptr, true)?;
        Ok((ptr, loaded, found))
    }

    fn package_command(&mut self, command: &Command, words: &[Vec<u8>]) -> i32 {
        match words.len() {
            1 => {
                // libuci globs `<confdir>/*`: no match at all is "Entry not found".
                let any_entry = std::fs::read_dir(&self.store.confdir).is_ok_and(|mut entries| {
                    entries.any(|e| e.is_ok_and(|e| !e.file_name().as_bytes().starts_with(b".")))
                });
                if !any_entry {
                    self.perror(&UciError::NotFound);
                    return 1;
                }
                let names = self.store.list().unwrap_or_default();
                for name in names {
                    self.package_command_one(command, name.as_bytes());
                }
                0
            }
            2 => self.package_command_one(command, &words[1]),
            _ => 255,
        }
    }

    fn package_command_one(&mut self, command: &Command, text: &[u8]) -> i32 {
        let (ptr, loaded, found) = match self.lookup(text) {
            Ok(v) => v,
            Err(e) => {
                self.perror(&e);
                return 1;
            }
        };
        let package = &loaded.package;
        let mut out = Vec::new();
        match command {
            Command::Changes => {
                for change in &loaded.changes {
                    out.extend(change.to_change(&package.name));
                }
            }
            Command::Commit => {
                if !self.no_commit
                    && let Err(e) = self.store.commit(&package.name, self.strict)
                {
                    self.perror(&match e {
                        LoadError::NotFound => UciError::NotFound,
                        LoadError::Parse(p) => UciError::Parse(Some(p)),
                        LoadError::Io(_) => UciError::Io,
                    });
                    return 1;
                }
            }
            Command::Export => {
                out = emit::export(
                    package,
                    ExportOptions {
                        header: true,
                        name_anonymous: self.name_anonymous,
                    },
                );
            }
            _ => {
                if !found.complete {
                    self.perror(&UciError::NotFound);
                    return 1;
                }
                let delimiter = self.delimiter.clone();
                match (found.section, found.option) {
                    (None, _) => {
                        emit::show_package(
                            &mut out,
                            package,
                            emit::ShowOptions {
                                extended: self.extended,
                            },
                            &delimiter,
                        );
                    }
                    (Some(s), None) => {
                        let section = &package.sections[s];
                        emit::show_section(
                            &mut out,
                            &package.name,
                            &section.name,
                            section,
                            &delimiter,
                        );
                    }
                    (Some(s), Some(o)) => {
                        let section = &package.sections[s];
                        emit::show_option(
                            &mut out,
                            &package.name,
                            &section.name,
                            &section.options[o],
                            &delimiter,
                        );
                    }
                }
            }
        }
        let _ = ptr;
        self.out(&out);
        0
    }

    fn section_command(&mut self, command: &Command, words: &[Vec<u8>]) -> i32 {
        if words.len() != 2 {
            return 255;
        }
        let (mut ptr, mut loaded, found) = match self.lookup(&words[1]) {
            Ok(v) => v,
            Err(e) => {
                self.perror(&e);
                return 1;
            }
        };
        let takes_value = !matches!(command, Command::Get | Command::Revert);
        if ptr.value.is_some() && !takes_value {
            return 1;
        }
        let package = &mut loaded.package;
        let result: Result<Option<Delta>, UciError> = match command {
            Command::Get => {
                if !found.complete {
                    self.perror(&UciError::NotFound);
                    return 1;
                }
                let mut out = Vec::new();
                match (found.section, found.option) {
                    (Some(s), None) => {
                        out.extend_from_slice(package.sections[s].kind.as_bytes());
                        out.push(b'\n');
                    }
                    (Some(s), Some(o)) => {
                        emit::push_value(
                            &mut out,
                            &package.sections[s].options[o].value,
                            false,
                            &self.delimiter,
                        );
                    }
                    _ => {}
                }
                self.out(&out);
                return 0;
            }
            Command::Revert => {
                let _ =
                    self.store
                        .revert(&package.name, ptr.section.as_deref(), ptr.option.as_deref());
                return 0;
            }
            Command::Set => ptr::set(package, &mut ptr, found),
            Command::AddList => ptr::add_list(package, &ptr, found),
            Command::DelList => ptr::del_list(package, &ptr, found),
            Command::Rename => ptr::rename(package, &ptr, found),
            Command::Reorder => {
                if found.section.is_none() || ptr.value.is_none() {
                    self.perror(&UciError::NotFound);
                    return 1;
                }
                ptr::reorder(package, &ptr, found)
            }
            Command::Delete => {
                if ptr
                    .value
                    .as_ref()
                    .is_some_and(|v| crate::model::scan_int(v).is_none())
                {
                    return 1;
                }
                ptr::delete(package, &mut ptr, found)
            }
            Command::Show | Command::Changes | Command::Export | Command::Commit => {
                unreachable!("package commands")
            }
        };
        match result {
            Ok(change) => {
                let changes: Vec<Delta> = change.into_iter().collect();
                if self.store.save_changes(&package.name, &changes).is_err() {
                    self.perror(&UciError::Io);
                    return 1;
                }
                0
            }
            Err(e) => {
                self.perror(&e);
                1
            }
        }
    }

    fn add(&mut self, words: &[Vec<u8>]) -> i32 {
        if words.len() != 3 {
            return 255;
        }
        let name = String::from_utf8_lossy(&words[1]).into_owned();
        // `uci add` exits with libuci's error number (3: not found), as the reference does.
        let mut loaded = match self.load(&name) {
            Ok(l) => l,
            Err(e) => {
                self.perror(&e);
                return e.code();
            }
        };
        let kind = String::from_utf8_lossy(&words[2]).into_owned();
        let index = loaded.package.add_section(&kind);
        let section = loaded.package.sections[index].name.clone();
        let change = Delta {
            cmd: crate::delta::Cmd::Add,
            section: section.clone(),
            option: None,
            value: Some(kind.into()),
        };
        if self.store.save_changes(&name, &[change]).is_err() {
            self.perror(&UciError::Io);
            return UciError::Io.code();
        }
        self.out(format!("{section}\n").as_bytes());
        0
    }

    fn read_input(&mut self) -> Result<Vec<u8>, std::io::Error> {
        if let Some(path) = &self.input {
            return std::fs::read(path);
        }
        let mut bytes = Vec::new();
        self.io.stdin.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn import(&mut self, words: &[Vec<u8>]) -> i32 {
        if words.len() > 2 {
            return 255;
        }
        let name = words
            .get(1)
            .map(|w| String::from_utf8_lossy(w).into_owned());
        if self.merge {
            // A merge needs the package to merge into; without one it is a plain import.
            let Some(name) = &name else { return 255 };
            if let Ok(loaded) = self.store.load(name, self.strict) {
                return self.merge_into(loaded);
            }
        }
        let Some(packages) = self.read_packages(name.as_deref()) else {
            return 1;
        };
        for package in &packages {
            if self.store.write(package).is_err() {
                self.perror(&UciError::Io);
                return 1;
            }
        }
        0
    }

    /// The import input parsed into packages (`name` for input without a `package` line);
    /// `None` after printing why not, as libuci does.
    fn read_packages(&mut self, name: Option<&str>) -> Option<Vec<crate::model::Package>> {
        let Ok(input) = self.read_input() else {
            self.perror(&UciError::Io);
            return None;
        };
        let (result, warnings) = parse::import(
            &input,
            name,
            Options {
                strict: self.strict,
            },
        );
        self.warn(&warnings);
        match result {
            Ok(packages) => Some(packages),
            Err(parse::ImportError::Parse(e)) => {
                self.perror(&UciError::Parse(Some(e)));
                None
            }
            Err(parse::ImportError::Duplicate) => {
                self.perror(&UciError::Duplicate);
                None
            }
        }
    }

    /// `uci -m import NAME`: the input's sections and options are set on the loaded package as
    /// pending changes (what `uci set`, `uci add` and `uci add_list` would record); the
    /// config file itself is left as it is.
    fn merge_into(&mut self, mut loaded: Loaded) -> i32 {
        let name = loaded.package.name.clone();
        let Some(imported) = self.read_packages(Some(&name)) else {
            return 1;
        };
        let package = &mut loaded.package;
        let mut changes = Vec::new();
        for section in imported
            .iter()
            .filter(|p| p.name == name)
            .flat_map(|p| &p.sections)
        {
            let target = if section.anonymous {
                let index = package.add_section(&section.kind);
                let created = package.sections[index].name.clone();
                changes.push(Delta {
                    cmd: crate::delta::Cmd::Add,
                    section: created.clone(),
                    option: None,
                    value: Some(section.kind.clone().into()),
                });
                created
            } else {
                let mut ptr = Ptr {
                    package: name.clone(),
                    section: Some(section.name.clone()),
                    value: Some(section.kind.clone().into()),
                    ..Ptr::default()
                };
                let found = ptr::lookup(package, &mut ptr, false).unwrap_or_default();
                match ptr::set(package, &mut ptr, found) {
                    Ok(change) => changes.extend(change),
                    Err(e) => {
                        self.perror(&e);
                        return 1;
                    }
                }
                section.name.clone()
            };
            for option in &section.options {
                let values: Vec<&bstr::BStr> = match &option.value {
                    crate::model::Value::Single(v) => vec![v.as_ref()],
                    crate::model::Value::List(items) => items.iter().map(AsRef::as_ref).collect(),
                };
                let list = matches!(option.value, crate::model::Value::List(_));
                for value in values {
                    let mut ptr = Ptr {
                        package: name.clone(),
                        section: Some(target.clone()),
                        option: Some(option.name.clone()),
                        value: Some(value.to_owned()),
                        extended: false,
                    };
                    let found = ptr::lookup(package, &mut ptr, false).unwrap_or_default();
                    let change = if list {
                        ptr::add_list(package, &ptr, found)
                    } else {
                        ptr::set(package, &mut ptr, found)
                    };
                    match change {
                        Ok(change) => changes.extend(change),
                        Err(e) => {
                            self.perror(&e);
                            return 1;
                        }
                    }
                }
            }
        }
        if self.store.save_changes(&name, &changes).is_err() {
            self.perror(&UciError::Io);
            return 1;
        }
        0
    }

    /// `uci batch`: one command per line of the input, until `exit` or the end.
    fn batch(&mut self) -> i32 {
        let Ok(input) = self.read_input() else {
            self.perror(&UciError::Io);
            return 1;
        };
        for (line, words) in parse::batch_lines(&input) {
            let reason = self.batch.map_or("unknown", |(_, r)| r);
            self.batch = Some((line, reason));
            match words {
                Err(e) => {
                    self.batch = Some((line, e.reason));
                    self.perror(&UciError::Parse(Some(e)));
                }
                Ok(words) if words.is_empty() => {}
                Ok(words) if words[0].eq_ignore_ascii_case(b"exit") => return 0,
                Ok(words) if words.len() > 4 => {
                    if !self.quiet {
                        let _ = self.io.stderr.write_all(b"Too many arguments\n");
                    }
                }
                Ok(words) if words[0].eq_ignore_ascii_case(b"batch") => {
                    let _ = self.io.stderr.write_all(b"Unknown command\n");
                }
                Ok(words) => {
                    if self.command(&words) == 255 && !self.quiet {
                        let _ = self.io.stderr.write_all(b"Unknown command\n");
                    }
                }
            }
        }
        0
    }
}

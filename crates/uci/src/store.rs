//! Config files on disk: loading with change files, committing atomically, locking.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::delta::{self, Delta};
use crate::emit;
use crate::model::Package;
use crate::parse::{self, ParseError};

/// Where configs and change files live (`/etc/config` and `/tmp/.uci` on OpenWrt).
#[derive(Debug, Clone)]
pub struct Store {
    pub confdir: PathBuf,
    /// Override configs (`uci -C`, `/var/run/uci` on OpenWrt): a config found there is read and
    /// committed there instead of in `confdir`.
    pub conf2dir: Option<PathBuf>,
    pub savedir: PathBuf,
    /// The change-file folders, each read once in this order: libuci's delta path. It starts
    /// with the default save folder; `uci -p` appends, `-t`/`-P` move the new save folder to
    /// the end ([`Store::set_savedir`]).
    pub delta_paths: Vec<PathBuf>,
}

/// A package as `uci` sees it: the file with pending changes applied.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub package: Package,
    /// The pending changes, in order (`uci changes`).
    pub changes: Vec<Delta>,
    /// Errors skipped in lenient mode.
    pub warnings: Vec<ParseError>,
}

/// Why loading failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no such config")]
    NotFound,
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// An exclusive lock; released when dropped.
#[derive(Debug)]
pub struct WriteLock {
    file: Flock<File>,
}

/// Mode for new config files, as libuci's `UCI_FILEMODE`.
const FILE_MODE: u32 = 0o600;

impl Store {
    pub fn new(confdir: impl Into<PathBuf>, savedir: impl Into<PathBuf>) -> Self {
        let savedir = savedir.into();
        Store {
            confdir: confdir.into(),
            conf2dir: None,
            delta_paths: vec![savedir.clone()],
            savedir,
        }
    }

    /// `uci -p DIR` (`uci_add_delta_path`): another change-file folder, ignored when the path
    /// is already in the list (compared as given, as libuci compares the strings).
    pub fn add_delta_path(&mut self, dir: PathBuf) {
        if !self
            .delta_paths
            .iter()
            .any(|d| d.as_os_str() == dir.as_os_str())
        {
            self.delta_paths.push(dir);
        }
    }

    /// `uci -t DIR` (`uci_set_savedir`): changes are saved in `dir`, which moves to the end of
    /// the delta path (the previous folders stay in it).
    pub fn set_savedir(&mut self, dir: PathBuf) {
        self.delta_paths
            .retain(|d| d.as_os_str() != dir.as_os_str());
        self.delta_paths.push(dir.clone());
        self.savedir = dir;
    }

    /// The file a config is read from and committed to: the override folder's when it has
    /// one, else the config folder's.
    pub fn path(&self, name: &str) -> PathBuf {
        if let Some(dir) = &self.conf2dir {
            let over = dir.join(name);
            if over.is_file() {
                return over;
            }
        }
        self.confdir.join(name)
    }

    /// The config names in `confdir`, sorted, as `uci show` without arguments lists them.
    pub fn list(&self) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(&self.confdir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.contains('.') && crate::model::valid_package(n.as_bytes()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Reads a config file's bytes (shared lock, as libuci takes one while reading).
    pub fn read(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        let path = self.path(name);
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(LoadError::NotFound),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LoadError::NotFound),
            Err(e) => return Err(e.into()),
        }
        let file = File::open(&path)?;
        let file = Flock::lock(file, FlockArg::LockShared).map_err(|(_, e)| io::Error::from(e))?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut &*file, &mut bytes)?;
        Ok(bytes)
    }

    /// Loads a package with its pending changes; `strict` as `uci` (`-S` turns it off).
    pub fn load(&self, name: &str, strict: bool) -> Result<Loaded, LoadError> {
        let bytes = self.read(name)?;
        self.load_bytes(name, &bytes, strict)
    }

    /// Like [`Store::load`], with the file's bytes already read.
    fn load_bytes(&self, name: &str, bytes: &[u8], strict: bool) -> Result<Loaded, LoadError> {
        let (mut package, warnings) = if strict {
            (parse::parse(name, bytes)?, Vec::new())
        } else {
            parse::parse_lenient(name, bytes)
        };
        let mut changes = Vec::new();
        let mut search: Vec<&PathBuf> = self.delta_paths.iter().collect();
        if !search.contains(&&self.savedir) {
            search.push(&self.savedir);
        }
        for dir in search {
            let Ok(text) = fs::read(dir.join(name)) else {
                continue;
            };
            let deltas = delta::parse_file(&text, name);
            delta::apply_all(&mut package, &deltas);
            changes.extend(deltas);
        }
        Ok(Loaded {
            package,
            changes,
            warnings,
        })
    }

    /// Appends changes to the package's change file (`uci set` without commit).
    pub fn save_changes(&self, name: &str, deltas: &[Delta]) -> io::Result<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        fs::create_dir_all(&self.savedir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(FILE_MODE)
            .open(self.savedir.join(name))?;
        let mut file =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        let lines: Vec<u8> = deltas.iter().flat_map(|d| d.to_line(name)).collect();
        file.write_all(&lines)?;
        Ok(())
    }

    /// Drops pending changes that touch `section` (and `option`), or all of them.
    pub fn revert(
        &self,
        name: &str,
        section: Option<&str>,
        option: Option<&str>,
    ) -> io::Result<()> {
        let path = self.savedir.join(name);
        let Ok(text) = fs::read(&path) else {
            return Ok(());
        };
        let kept: Vec<u8> = delta::parse_file(&text, name)
            .into_iter()
            .filter(|d| {
                let hit = section.is_none_or(|s| d.section == s)
                    && option.is_none_or(|o| d.option.as_deref() == Some(o));
                !hit
            })
            .flat_map(|d| d.to_line(name))
            .collect();
        write_atomically(&path, &kept)
    }

    /// `uci commit <name>`: applies the change file to the config and writes it atomically.
    /// Returns `false` when there was nothing to commit (the file is then not rewritten).
    pub fn commit(&self, name: &str, strict: bool) -> Result<bool, LoadError> {
        if !self.path(name).is_file() {
            return Err(LoadError::NotFound);
        }
        // Read through the locked handle: a second open would wait for our own lock.
        let lock = self.lock_file(name)?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut &*lock.file, &mut bytes)?;
        let loaded = self.load_bytes(name, &bytes, strict)?;
        let changes_path = self.savedir.join(name);
        if loaded.changes.is_empty() {
            return Ok(false);
        }
        write_atomically(&self.path(name), &emit::to_file(&loaded.package))?;
        fs::write(changes_path, b"")?;
        Ok(true)
    }

    /// Writes a whole package as its config file, atomically (`uci import`).
    pub fn write(&self, package: &Package) -> io::Result<()> {
        let _lock = self.lock_file(&package.name)?;
        write_atomically(&self.path(&package.name), &emit::to_file(package))
    }

    /// Exclusive lock on one config file, the lock libuci takes while committing it.
    fn lock_file(&self, name: &str) -> io::Result<WriteLock> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(FILE_MODE)
            .open(self.path(name))?;
        let lock =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        Ok(WriteLock { file: lock })
    }

    /// The writers' lock for the whole config folder: one change set at a time, across processes.
    /// Temporary files a killed writer left behind (`.<name>.uci-XXXXXX`) are removed once the
    /// lock is held, since no other writer can be using them then.
    pub fn lock(&self) -> io::Result<WriteLock> {
        fs::create_dir_all(&self.confdir)?;
        let file = File::open(&self.confdir)?;
        let lock =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
        for entry in fs::read_dir(&self.confdir)?.filter_map(Result::ok) {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(".uci-") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(WriteLock { file: lock })
    }
}

/// Replaces `path` with `bytes` so that readers see the old or the new file, never a mix:
/// a temporary file in the same folder, fsync, the old file's mode, rename, fsync of the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically_with_mode(path, bytes, None)
}

/// [`write_atomically`] with a given mode (`None`: the old file's, or 0600 for a new file);
/// creates the folder if needed. Every file Portico writes goes through here.
pub fn write_atomically_with_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = mode.unwrap_or_else(|| {
        fs::metadata(path).map_or(FILE_MODE, |m| m.permissions().mode() & 0o7777)
    });
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.uci-"))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

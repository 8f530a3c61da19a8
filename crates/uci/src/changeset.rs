//! Change sets: edits across several packages, previewed as a diff, committed together.
//!
//! ```text
//! let mut changes = ChangeSet::new(&store);
//! changes.package("network")?.section_mut("lan").unwrap().set("ipaddr", b"10.0.0.1");
//! print!("{}", changes.diff());          // per-file unified diff
//! let applied = changes.commit()?;       // atomic per file, under the store's writer lock
//! store.restore(&applied.snapshots)?;    // what a rollback does
//! ```
//!
//! A file that does not parse is refused (with its name, line and byte) and never rewritten.
//! Commit takes the store's lock and checks that no file changed since it was read, so two
//! writers never interleave and neither silently overwrites the other.

use std::collections::BTreeMap;
use std::io;

use crate::emit;
use crate::model::{Package, valid_type};
use crate::parse::{self, ParseError};
use crate::ptr::{self, Ptr, UciError};
use crate::store::{LoadError, Store, write_atomically};

/// Why a change set could not be built or committed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{file}: {error}")]
    Parse { file: String, error: ParseError },
    #[error("{file} changed on disk while the change was prepared")]
    Conflict { file: String },
    #[error("{file}: {error}")]
    Io { file: String, error: io::Error },
}

/// One edit, addressed as `uci` addresses things (`network.lan.ipaddr`, `firewall.@rule[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// `uci set`: an option's value, or (for `package.section`) a section's type. An empty
    /// value deletes, as in uci.
    Set {
        path: String,
        value: Vec<u8>,
    },
    /// Replaces an option with a list of these items.
    SetList {
        path: String,
        items: Vec<Vec<u8>>,
    },
    Delete {
        path: String,
    },
    AddList {
        path: String,
        value: Vec<u8>,
    },
    DelList {
        path: String,
        value: Vec<u8>,
    },
    Rename {
        path: String,
        name: String,
    },
    Reorder {
        path: String,
        position: usize,
    },
    /// `uci add`: a new anonymous section of `kind`.
    Add {
        package: String,
        kind: String,
    },
}

/// Why an edit does not apply.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Load(#[from] ChangeError),
    #[error("{path}: {error}")]
    Uci { path: String, error: UciError },
}

/// A file's content before and after a committed change; `before: None` means it did not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
}

#[derive(Debug)]
struct Staged {
    original: Option<Vec<u8>>,
    package: Package,
}

/// Pending edits to packages of one store.
#[derive(Debug)]
pub struct ChangeSet<'s> {
    store: &'s Store,
    staged: BTreeMap<String, Staged>,
}

/// What a commit wrote.
#[derive(Debug, Clone, Default)]
pub struct Committed {
    /// One snapshot per file that changed, in name order.
    pub snapshots: Vec<Snapshot>,
}

impl Committed {
    pub fn changed(&self) -> impl Iterator<Item = &str> {
        self.snapshots.iter().map(|s| s.name.as_str())
    }
}

fn read_current(store: &Store, name: &str) -> Result<Option<Vec<u8>>, ChangeError> {
    match store.read(name) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(LoadError::NotFound) => Ok(None),
        Err(LoadError::Io(error)) => Err(ChangeError::Io {
            file: name.to_owned(),
            error,
        }),
        Err(LoadError::Parse(error)) => Err(ChangeError::Parse {
            file: name.to_owned(),
            error,
        }),
    }
}

impl<'s> ChangeSet<'s> {
    pub fn new(store: &'s Store) -> Self {
        ChangeSet {
            store,
            staged: BTreeMap::new(),
        }
    }

    /// The package to edit, read (strictly) on first use; a missing file starts empty.
    pub fn package(&mut self, name: &str) -> Result<&mut Package, ChangeError> {
        let staged = match self.staged.entry(name.to_owned()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let original = read_current(self.store, name)?;
                let package = match &original {
                    Some(bytes) => {
                        parse::parse(name, bytes).map_err(|error| ChangeError::Parse {
                            file: name.to_owned(),
                            error,
                        })?
                    }
                    None => Package::new(name),
                };
                entry.insert(Staged { original, package })
            }
        };
        Ok(&mut staged.package)
    }

    /// Stages `package` as the whole new content of its file. The current file is not parsed:
    /// a restore may replace a broken one.
    ///
    /// # Errors
    /// When the current file cannot be read.
    pub fn replace(&mut self, package: Package) -> Result<(), ChangeError> {
        let original = read_current(self.store, &package.name)?;
        self.staged
            .insert(package.name.clone(), Staged { original, package });
        Ok(())
    }

    /// Applies one edit with uci's semantics.
    pub fn edit(&mut self, edit: &Edit) -> Result<(), EditError> {
        let (path, value) = match edit {
            Edit::Add { package, kind } => {
                if !valid_type(kind.as_bytes()) {
                    return Err(EditError::Uci {
                        path: package.clone(),
                        error: UciError::Invalid,
                    });
                }
                self.package(package)?.add_section(kind);
                return Ok(());
            }
            Edit::Set { path, value }
            | Edit::AddList { path, value }
            | Edit::DelList { path, value } => (path, Some(value.clone())),
            Edit::Rename { path, name } => (path, Some(name.clone().into_bytes())),
            Edit::Reorder { path, position } => (path, Some(position.to_string().into_bytes())),
            Edit::Delete { path } | Edit::SetList { path, .. } => (path, None),
        };
        let fail = |error| EditError::Uci {
            path: path.clone(),
            error,
        };
        let mut ptr = Ptr::parse(path.as_bytes()).map_err(fail)?;
        if ptr.value.is_some() {
            // `=` belongs in the value, not the path.
            return Err(fail(UciError::Invalid));
        }
        ptr.value = value.map(Into::into);
        let package = self.package(&ptr.package.clone())?;
        let found = ptr::lookup(package, &mut ptr, true).map_err(fail)?;
        let result = match edit {
            Edit::Set { .. } => ptr::set(package, &mut ptr, found),
            Edit::AddList { .. } => ptr::add_list(package, &ptr, found),
            Edit::DelList { .. } => ptr::del_list(package, &ptr, found),
            Edit::Rename { .. } => ptr::rename(package, &ptr, found),
            Edit::Reorder { .. } => ptr::reorder(package, &ptr, found),
            Edit::Delete { .. } => ptr::delete(package, &mut ptr, found),
            Edit::SetList { items, .. } => {
                let (Some(s), Some(option)) = (found.section, ptr.option.clone()) else {
                    return Err(fail(UciError::Invalid));
                };
                // In place: the option keeps its position (an empty list removes it).
                package.sections[s].set_list(&option, items);
                Ok(None)
            }
            Edit::Add { .. } => unreachable!("handled above"),
        };
        result.map(|_| ()).map_err(fail)
    }

    /// The files this change set would write, with their old and new bytes.
    pub fn files(&self) -> Vec<Snapshot> {
        self.staged
            .iter()
            .filter_map(|(name, staged)| {
                let after = emit::to_file(&staged.package);
                let unchanged = staged.original.as_ref().is_some_and(|before| {
                    // A file we did not change stays untouched, even if uci would format it
                    // differently (comments, quoting): compare meaning, not bytes.
                    *before == after
                        || parse::parse(name, before)
                            .is_ok_and(|p| p.sections == staged.package.sections)
                });
                (!unchanged).then(|| Snapshot {
                    name: name.clone(),
                    before: staged.original.clone(),
                    after,
                })
            })
            .collect()
    }

    /// A unified diff per changed file (`--- a/etc/config/network`), as a preview.
    pub fn diff(&self) -> String {
        diff(&self.files())
    }

    pub fn is_empty(&self) -> bool {
        self.files().is_empty()
    }

    /// Writes every changed file atomically under the store's writer lock. Fails without
    /// writing anything if one of the files changed since it was read.
    pub fn commit(self) -> Result<Committed, ChangeError> {
        let files = self.files();
        let _lock = self.store.lock().map_err(|error| ChangeError::Io {
            file: String::new(),
            error,
        })?;
        for file in &files {
            let current = read_current(self.store, &file.name)?;
            if current != self.staged[&file.name].original {
                return Err(ChangeError::Conflict {
                    file: file.name.clone(),
                });
            }
        }
        for file in &files {
            write_atomically(&self.store.path(&file.name), &file.after).map_err(|error| {
                ChangeError::Io {
                    file: file.name.clone(),
                    error,
                }
            })?;
        }
        Ok(Committed { snapshots: files })
    }
}

/// Unified diffs of snapshots, `before` to `after`.
pub fn diff(files: &[Snapshot]) -> String {
    let mut out = String::new();
    for file in files {
        let before = String::from_utf8_lossy(file.before.as_deref().unwrap_or_default());
        let after = String::from_utf8_lossy(&file.after);
        let old_name = if file.before.is_some() {
            format!("a/etc/config/{}", file.name)
        } else {
            "/dev/null".into()
        };
        let text = similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &format!("b/etc/config/{}", file.name))
            .to_string();
        out.push_str(&text);
    }
    out
}

impl Store {
    /// Puts files back as they were before a commit (a rollback), atomically per file, under
    /// the writer lock. A file that did not exist before is removed.
    pub fn restore(&self, snapshots: &[Snapshot]) -> io::Result<()> {
        let _lock = self.lock()?;
        for snapshot in snapshots {
            let path = self.path(&snapshot.name);
            match &snapshot.before {
                Some(bytes) => write_atomically(&path, bytes)?,
                None => match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                },
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("config"), dir.path().join("changes"));
        std::fs::create_dir_all(&store.confdir).unwrap();
        (dir, store)
    }

    #[test]
    fn edits_preview_commit_and_restore() {
        let (_dir, store) = store();
        let original = b"# comment kept until we change the file\nconfig interface 'lan'\n\toption ipaddr '192.168.1.1'\n";
        std::fs::write(store.path("network"), original).unwrap();
        std::fs::write(
            store.path("system"),
            b"config system\n\toption hostname OpenWrt # untouched\n",
        )
        .unwrap();

        let mut changes = ChangeSet::new(&store);
        changes.package("system").unwrap();
        let lan = changes
            .package("network")
            .unwrap()
            .section_mut("lan")
            .unwrap();
        lan.set("ipaddr", b"10.0.0.1");
        let diff = changes.diff();
        assert!(
            diff.contains("--- a/etc/config/network\n+++ b/etc/config/network\n"),
            "{diff}"
        );
        assert!(
            diff.contains("-\toption ipaddr '192.168.1.1'")
                || diff.contains("-config interface 'lan'"),
            "{diff}"
        );
        assert!(diff.contains("+\toption ipaddr '10.0.0.1'"), "{diff}");
        assert!(
            !diff.contains("system"),
            "an untouched file is not part of the change: {diff}"
        );

        let committed = changes.commit().unwrap();
        assert_eq!(committed.changed().collect::<Vec<_>>(), ["network"]);
        assert_eq!(
            std::fs::read(store.path("network")).unwrap(),
            b"\nconfig interface 'lan'\n\toption ipaddr '10.0.0.1'\n\n"
        );
        store.restore(&committed.snapshots).unwrap();
        assert_eq!(std::fs::read(store.path("network")).unwrap(), original);
    }

    #[test]
    fn edits_address_like_uci() {
        let (_dir, store) = store();
        std::fs::write(
            store.path("firewall"),
            b"config rule
	option name a
config rule
	option name b
",
        )
        .unwrap();
        let mut changes = ChangeSet::new(&store);
        for edit in [
            Edit::Set {
                path: "firewall.@rule[-1].name".into(),
                value: b"last".to_vec(),
            },
            Edit::Add {
                package: "firewall".into(),
                kind: "zone".into(),
            },
            Edit::SetList {
                path: "firewall.@zone[0].network".into(),
                items: vec![b"lan".to_vec(), b"guest".to_vec()],
            },
            Edit::Delete {
                path: "firewall.@rule[0]".into(),
            },
        ] {
            changes.edit(&edit).unwrap();
        }
        let files = changes.files();
        assert_eq!(
            String::from_utf8_lossy(&files[0].after),
            "\nconfig rule\n\toption name 'last'\n\nconfig zone\n\tlist network 'lan'\n\tlist network 'guest'\n\n"
        );
        let missing = changes.edit(&Edit::Set {
            path: "firewall.nope.x".into(),
            value: b"1".to_vec(),
        });
        assert_eq!(
            missing.unwrap_err().to_string(),
            "firewall.nope.x: Invalid argument"
        );
    }

    #[test]
    fn a_broken_file_is_reported_and_left_alone() {
        let (_dir, store) = store();
        std::fs::write(
            store.path("network"),
            b"config interface 'lan'\n\toption ipaddr '1\n",
        )
        .unwrap();
        let error = ChangeSet::new(&store).package("network").unwrap_err();
        assert_eq!(
            error.to_string(),
            "network: Parse error (EOF with unterminated ') at line 2, byte 18"
        );
    }

    #[test]
    fn a_file_changed_meanwhile_is_a_conflict() {
        let (_dir, store) = store();
        std::fs::write(store.path("network"), b"config interface 'lan'\n").unwrap();
        let mut changes = ChangeSet::new(&store);
        changes
            .package("network")
            .unwrap()
            .section_mut("lan")
            .unwrap()
            .set("proto", b"static");
        std::fs::write(
            store.path("network"),
            b"config interface 'lan'\n\toption proto dhcp\n",
        )
        .unwrap();
        assert!(matches!(
            changes.commit(),
            Err(ChangeError::Conflict { .. })
        ));
        assert_eq!(
            std::fs::read(store.path("network")).unwrap(),
            b"config interface 'lan'\n\toption proto dhcp\n"
        );
    }
}

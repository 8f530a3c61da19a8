//! Backups as OpenWrt's `sysupgrade -b` lays them out: a gzip'd tar of paths relative to `/`
//! — `etc/config/*`, `etc/passwd`, `etc/shadow` — plus Portico's state under `etc/portico/`
//! (the state database copied consistently with `VACUUM INTO`, the portal's logo).
//!
//! A restore reads such an archive with bounds on everything (compressed and unpacked size,
//! entries, each file), takes only the UCI files under `etc/config/` (each must parse; an error
//! names the file, line and byte), and leaves the rest alone: what it did not restore is listed.

use std::io::Read as _;
use std::path::Path;

use crate::state::StateDb;

/// The largest upload taken (a router's backup is tens of kilobytes).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;
/// The most bytes read out of an archive, all entries together.
const MAX_UNPACKED: u64 = 32 * 1024 * 1024;
/// The most entries read.
const MAX_ENTRIES: usize = 2048;
/// The largest settings file taken.
const MAX_CONFIG: u64 = 1024 * 1024;

/// Why an upload cannot be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("not a gzip'd tar archive")]
    NotAnArchive,
    #[error("the archive is larger than a backup can be")]
    TooBig,
    #[error("the archive has no settings files (etc/config)")]
    NoSettings,
    #[error("{file}: line {line}, byte {byte}: {reason}")]
    Broken {
        file: String,
        line: usize,
        byte: usize,
        reason: String,
    },
}

/// A settings file's name under `etc/config`: letters, digits, `_` and `-` (`https-dns-proxy`).
fn config_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What an archive restores.
#[derive(Debug, Default)]
pub struct Restore {
    /// The settings files, parsed.
    pub packages: Vec<uci::Package>,
    /// Files in the archive that a restore leaves alone (passwords, Portico's state, …).
    pub skipped: Vec<String>,
}

/// The backup of the router under `root`, with Portico's state from `db`.
///
/// # Errors
/// When a file cannot be read or the database copied.
pub fn create(root: &Path, db: &StateDb) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let add = |tar: &mut tar::Builder<_>, name: &str, path: &Path| -> std::io::Result<()> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut header = tar::Header::new_gnu();
                header.set_size(bytes.len() as u64);
                // The passwords and the state are for root's eyes only.
                header.set_mode(if name == "etc/shadow" || name == "etc/portico/state.db" {
                    0o600
                } else {
                    0o644
                });
                header.set_mtime(
                    std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs()),
                );
                header.set_cksum();
                tar.append_data(&mut header, name, bytes.as_slice())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    };
    let mut configs: Vec<_> = std::fs::read_dir(root.join("etc/config"))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| config_name(n))
        .collect();
    configs.sort();
    for name in configs {
        add(
            &mut tar,
            &format!("etc/config/{name}"),
            &root.join("etc/config").join(&name),
        )?;
    }
    for name in ["etc/passwd", "etc/shadow"] {
        add(&mut tar, name, &root.join(name))?;
    }
    // The state database as of now, consistent (a plain copy could catch a write half done).
    let copy = tempfile::NamedTempFile::new_in(root.join("etc/portico"))?;
    let target = copy.path().to_string_lossy().into_owned();
    std::fs::remove_file(copy.path())?;
    db.with(|c| c.execute("VACUUM INTO ?1", [&target]).map(drop))
        .map_err(std::io::Error::other)?;
    let added = add(&mut tar, "etc/portico/state.db", Path::new(&target));
    let _ = std::fs::remove_file(&target);
    added?;
    if let Ok(entries) = std::fs::read_dir(root.join("etc/portico")) {
        let mut logos: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("portal-logo."))
            .collect();
        logos.sort();
        for logo in logos {
            add(
                &mut tar,
                &format!("etc/portico/{logo}"),
                &root.join("etc/portico").join(&logo),
            )?;
        }
    }
    tar.into_inner()?.finish()
}

/// The settings files an uploaded archive restores.
///
/// # Errors
/// An upload that is no backup, too big, without settings, or with a settings file that does
/// not parse (named with line and byte).
pub fn read(bytes: &[u8]) -> Result<Restore, Error> {
    if bytes.len() > MAX_UPLOAD {
        return Err(Error::TooBig);
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(Error::NotAnArchive);
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut restore = Restore::default();
    let mut unpacked = 0u64;
    let entries = archive.entries().map_err(|_| Error::NotAnArchive)?;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|_| Error::NotAnArchive)?;
        if count >= MAX_ENTRIES {
            return Err(Error::TooBig);
        }
        let size = entry.header().size().map_err(|_| Error::NotAnArchive)?;
        unpacked = unpacked.saturating_add(size);
        if unpacked > MAX_UNPACKED {
            return Err(Error::TooBig);
        }
        let path = entry
            .path()
            .map_err(|_| Error::NotAnArchive)?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./").to_owned();
        let config = path
            .strip_prefix("etc/config/")
            .filter(|n| config_name(n))
            .map(str::to_owned);
        let regular = entry.header().entry_type().is_file();
        match config {
            Some(name) if regular => {
                if size > MAX_CONFIG {
                    return Err(Error::TooBig);
                }
                let mut text = Vec::new();
                (&mut entry)
                    .take(MAX_CONFIG)
                    .read_to_end(&mut text)
                    .map_err(|_| Error::NotAnArchive)?;
                let package = uci::parse(&name, &text).map_err(|e| Error::Broken {
                    file: path.clone(),
                    line: e.line,
                    byte: e.byte,
                    reason: e.to_string(),
                })?;
                restore.packages.retain(|p| p.name != name);
                restore.packages.push(package);
            }
            _ if regular => restore.skipped.push(path.chars().take(200).collect()),
            // Folders, links and devices are never restored.
            _ => {}
        }
    }
    if restore.packages.is_empty() {
        return Err(Error::NoSettings);
    }
    restore.skipped.truncate(100);
    Ok(restore)
}

/// The restore waiting for the admin to look at its diff and apply it (one at a time, kept
/// in memory for a quarter of an hour).
/// The waiting restore: its token, when it was uploaded, what it restores.
type Slot = Option<(String, std::time::Instant, std::sync::Arc<Restore>)>;

#[derive(Clone, Default)]
pub struct Waiting {
    slot: std::sync::Arc<std::sync::Mutex<Slot>>,
}

/// How long an uploaded restore waits.
const WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `restore` (replacing one that waited); its token.
    pub fn put(&self, restore: Restore) -> String {
        let token = hex::encode(rand::random::<[u8; 16]>());
        *self.lock() = Some((
            token.clone(),
            std::time::Instant::now(),
            std::sync::Arc::new(restore),
        ));
        token
    }

    /// The restore of `token`, while it waits.
    pub fn get(&self, token: &str) -> Option<std::sync::Arc<Restore>> {
        let mut slot = self.lock();
        if slot.as_ref().is_some_and(|(_, at, _)| at.elapsed() > WAIT) {
            *slot = None;
        }
        slot.as_ref()
            .filter(|(t, _, _)| t == token)
            .map(|(_, _, r)| r.clone())
    }

    /// Forgets the restore of `token` (it was applied).
    pub fn take(&self, token: &str) -> Option<std::sync::Arc<Restore>> {
        let restore = self.get(token)?;
        *self.lock() = None;
        Some(restore)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            // Written as given, `..` included (the builder would refuse what an attacker sends).
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            tar.append(&header, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_backup_has_the_settings_and_the_state_and_restores_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        crate::platform::dev::create_fresh_root(dir.path()).unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let bytes = create(dir.path(), &db).unwrap();
        let mut names = Vec::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        for entry in archive.entries().unwrap() {
            names.push(
                entry
                    .unwrap()
                    .path()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        for expected in [
            "etc/config/network",
            "etc/config/wireless",
            "etc/shadow",
            "etc/portico/state.db",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        let restore = read(&bytes).unwrap();
        assert!(restore.packages.iter().any(|p| p.name == "network"));
        assert!(
            restore.skipped.contains(&"etc/shadow".to_owned()),
            "passwords are not restored here"
        );
    }

    #[test]
    fn uploads_that_are_no_backup_are_refused_with_a_reason() {
        assert_eq!(read(b"hello").unwrap_err(), Error::NotAnArchive);
        assert_eq!(
            read(&vec![0x1f; MAX_UPLOAD + 1]).unwrap_err(),
            Error::TooBig
        );
        assert_eq!(
            read(&[0x1f, 0x8b, 0, 1, 2]).unwrap_err(),
            Error::NotAnArchive
        );
        assert_eq!(
            read(&archive(&[("etc/passwd", b"root:x:0:0::/root:/bin/ash\n")])).unwrap_err(),
            Error::NoSettings
        );
        let broken = read(&archive(&[(
            "etc/config/system",
            b"config system\n\toption hostname 'unclosed\n",
        )]))
        .unwrap_err();
        let Error::Broken { file, line, .. } = broken else {
            panic!("{broken:?}")
        };
        assert_eq!((file.as_str(), line), ("etc/config/system", 2));
        // Paths outside etc/config and odd names are never settings.
        let r = read(&archive(&[
            (
                "etc/config/system",
                b"config system\n\toption hostname 'x'\n",
            ),
            ("../../etc/config/evil", b"config x\n"),
            ("etc/config/../../evil", b"config x\n"),
            ("etc/config/two words", b"config x\n"),
        ]))
        .unwrap();
        assert_eq!(
            r.packages
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["system"]
        );
        // A huge file inside a small upload (a zip bomb) is refused by its unpacked size.
        let zeros = vec![0u8; 40 * 1024 * 1024];
        assert_eq!(
            read(&archive(&[("etc/config/system", &zeros)])).unwrap_err(),
            Error::TooBig
        );
    }
}

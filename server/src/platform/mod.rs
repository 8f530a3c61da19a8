//! The platform under Portico (design.md principle 3): where configuration lives, how
//! services are reloaded, where the root password is kept. Capability code receives an
//! `Arc<dyn Platform>` and never asks which implementation it has.

pub mod dev;
pub mod dev_apply;
pub mod fresh;
pub mod openwrt;

use std::path::{Path, PathBuf};

/// A service whose configuration Portico may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Network,
    Wireless,
    Dhcp,
    Firewall,
    System,
    /// The OpenVPN servers (`openvpn`): restarted, so that new certificates are read.
    OpenVpn,
    /// The babel routing daemon (`babeld`): restarted on its new interfaces.
    Babeld,
    /// LibreMesh (`lime-node`): `lime-config` writes the system's files from it.
    Lime,
}

/// What went wrong on the platform.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command of the platform failed.
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    /// A file under the root could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The platform cannot do this here (e.g. kernel changes in the host's namespace).
    #[error("{0}")]
    Unavailable(String),
    /// The platform writes these services' files but does not apply them (the dev platform:
    /// Wi-Fi and system settings, or everything outside the lab). Expected there; the
    /// overview says so once, no apply reports it.
    #[error("{0:?} are written but not applied on this platform")]
    NotHere(Vec<Service>),
    /// Hashing the password failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// A UCI file that exists but cannot be read or parsed (the parse error has its line and
    /// byte). Never read as empty: settings would silently turn into defaults.
    #[error("{path}: {source}")]
    Config {
        path: PathBuf,
        #[source]
        source: uci::store::LoadError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Display facts for the overview page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    OpenWrt,
    Dev { root: PathBuf },
}

/// Where the overview reads what the kernel's netlink does not say (design: the platform
/// says which source the status comes from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The LAN DHCP server's lease file (dnsmasq's format), when one runs.
    pub leases: Option<PathBuf>,
    /// The resolv.conf naming the WAN's DNS servers.
    pub resolv: PathBuf,
    /// The file system settings are kept on (the overlay on `OpenWrt`).
    pub storage: PathBuf,
    /// The kernel's thermal zones are the router's own (not a development host's).
    pub temperature: bool,
    /// The IEEE's OUI table (`oui.csv`) naming devices' vendors.
    pub vendors: Option<PathBuf>,
}

/// Where Debian's `ieee-data` puts the IEEE's OUI table (the same path on a router that has it).
pub const VENDORS: &str = "/usr/share/ieee-data/oui.csv";

/// What restarting the router means on a platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// The machine reboots (OpenWrt); it is back after about this many seconds.
    Machine { seconds: u64 },
    /// Only Portico restarts (the dev platform: the lab is not Portico's to reboot); the caller
    /// restarts the process.
    Portico,
}

/// A platform Portico runs on.
pub trait Platform: Send + Sync {
    /// What this platform is, for display only.
    fn kind(&self) -> Kind;
    /// The state root (`/` on OpenWrt).
    fn root(&self) -> &Path;
    /// Where the UCI files are: `<root>/etc/config`.
    fn config_dir(&self) -> PathBuf {
        self.root().join("etc/config")
    }
    /// Whether kernel-touching functions may run (design.md, namespace lab rule 1).
    fn network_functions_available(&self) -> bool;
    /// The router's UCI store: `/etc/config`, change files in `/tmp/.uci`.
    fn store(&self) -> uci::Store {
        store(self.root())
    }
    /// UCI package `name` as committed; see [`package_in`].
    ///
    /// # Errors
    /// [`Error::Config`] when the file exists but cannot be read or parsed.
    fn package(&self, name: &str) -> Result<uci::Package> {
        package_in(&self.store(), name)
    }
    /// Where the overview's facts come from on this platform.
    fn observed(&self) -> Observed;
    /// Wi-Fi clients per network (the `wifi-iface` section's name), or `None` where the
    /// platform cannot count them.
    fn wifi_clients(&self) -> Option<std::collections::HashMap<String, u32>> {
        None
    }
    /// The system log's last lines (OpenWrt's `logread`), or `None` where the platform has
    /// none (the dev platform: the log page shows Portico's own).
    ///
    /// # Errors
    /// When the log cannot be read.
    fn system_log(&self) -> Option<Result<Vec<String>>> {
        None
    }
    /// This router's board (`/tmp/sysinfo/board_name` on OpenWrt), what firmware images name in
    /// their supported devices; `None` where it is not known (the dev platform).
    fn board(&self) -> Option<String> {
        None
    }
    /// The platform's own check of a firmware image (OpenWrt: `sysupgrade -T`): `None` where
    /// there is none, else whether it passed and what it said.
    fn test_image(&self, image: &Path) -> Option<(bool, String)> {
        let _ = image;
        None
    }
    /// Flashes a firmware image and reboots (OpenWrt: `sysupgrade`, `-n` to drop the
    /// settings). `Ok(None)` where the platform never flashes (the dev platform).
    ///
    /// # Errors
    /// When the flash command fails to start.
    fn flash(&self, image: &Path, keep_settings: bool) -> Result<Option<Restart>> {
        let _ = (image, keep_settings);
        Ok(None)
    }
    /// Restarts the router (or says that only Portico restarts here).
    ///
    /// # Errors
    /// When the reboot command fails.
    fn reboot(&self) -> Result<Restart> {
        Ok(Restart::Portico)
    }
    /// Makes the running system follow the configuration files of `services`.
    ///
    /// # Errors
    /// When a reload command fails or cannot run here.
    fn reload_services(&self, services: &[Service]) -> Result<()>;
    /// Sets the root password in `<root>/etc/shadow` (SHA-512 crypt, as OpenWrt's login reads).
    ///
    /// # Errors
    /// When the shadow file cannot be read or written.
    fn set_root_password(&self, password: &str) -> Result<()> {
        shadow::set_root_password(self.root(), password)
    }
}

/// The UCI store under `root`: `<root>/etc/config`, change files in `<root>/tmp/.uci`.
pub fn store(root: &Path) -> uci::Store {
    uci::Store::new(root.join("etc/config"), root.join("tmp/.uci"))
}

/// UCI package `name` of `store` as committed, read under the store's shared lock (a writer
/// holds the exclusive one). A missing file is an empty package (a router without radios has
/// no `wireless`); a file that exists but does not parse is an error, never read as empty.
///
/// # Errors
/// [`Error::Config`] with the path and the cause (a parse error says line and byte).
pub fn package_in(store: &uci::Store, name: &str) -> Result<uci::Package> {
    let failed = |source| Error::Config {
        path: store.path(name),
        source,
    };
    match store.read(name) {
        Ok(bytes) => uci::parse(name, &bytes).map_err(|e| failed(e.into())),
        Err(uci::store::LoadError::NotFound) => Ok(uci::Package::new(name)),
        Err(e) => Err(failed(e)),
    }
}

/// The platform for a root: OpenWrt when running on it with root `/`, the dev platform
/// otherwise (its root is prepared as a fresh router's on first use).
///
/// # Errors
/// When the dev root cannot be created.
pub fn open(root: &Path) -> Result<std::sync::Arc<dyn Platform>> {
    if openwrt::OpenWrtPlatform::detect() && root == Path::new("/") {
        return Ok(std::sync::Arc::new(openwrt::OpenWrtPlatform::new(
            Box::new(openwrt::SystemRunner),
        )));
    }
    Ok(std::sync::Arc::new(dev::DevPlatform::open(root)?))
}

/// The state root when none is given: `/` on OpenWrt, else `./var/dev-root`.
pub fn default_root() -> PathBuf {
    if openwrt::OpenWrtPlatform::detect() {
        PathBuf::from("/")
    } else {
        PathBuf::from("var/dev-root")
    }
}

pub mod shadow {
    //! `/etc/shadow` under a root: only the root line's hash field is changed; every other line
    //! and field is kept. The file is replaced atomically.
    use std::path::Path;

    use super::{Error, Result};

    /// Hashes `password` with SHA-512 crypt and stores it as root's password.
    ///
    /// # Errors
    /// When hashing fails or the file cannot be written.
    pub fn set_root_password(root: &Path, password: &str) -> Result<()> {
        let params = sha_crypt::Sha512Params::default();
        let hash = sha_crypt::sha512_simple(password, &params)
            .map_err(|e| Error::Hash(format!("{e:?}")))?;
        let path = root.join("etc/shadow");
        let old = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        let new = replace_root_hash(&old, &hash, days);
        crate::state::write_atomically(&path, new.as_bytes(), 0o600)
            .map_err(|source| Error::Io { path, source })
    }

    /// `old` with root's hash field (and last-change day) replaced; a missing root line is added.
    pub fn replace_root_hash(old: &str, hash: &str, days: u64) -> String {
        let mut found = false;
        let mut out = String::with_capacity(old.len() + hash.len());
        for line in old.lines() {
            let mut fields: Vec<String> = line.split(':').map(str::to_owned).collect();
            if fields.first().map(String::as_str) == Some("root") && fields.len() >= 3 {
                hash.clone_into(&mut fields[1]);
                fields[2] = days.to_string();
                found = true;
            }
            out.push_str(&fields.join(":"));
            out.push('\n');
        }
        if !found {
            out.insert_str(0, &format!("root:{hash}:{days}:0:99999:7:::\n"));
        }
        out
    }

    /// Whether `password` matches root's SHA-512 crypt hash in `shadow`.
    pub fn check(shadow: &str, password: &str) -> bool {
        shadow
            .lines()
            .find_map(|l| l.strip_prefix("root:"))
            .and_then(|rest| rest.split(':').next())
            .is_some_and(|hash| sha_crypt::sha512_check(password, hash).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::shadow;

    #[test]
    fn shadow_keeps_other_lines_and_fields() {
        let old = "root:::0:99999:7:::\ndaemon:*:0:0:99999:7:::\n";
        let new = shadow::replace_root_hash(old, "$6$abc$def", 20000);
        assert_eq!(
            new,
            "root:$6$abc$def:20000:0:99999:7:::\ndaemon:*:0:0:99999:7:::\n"
        );
        let added = shadow::replace_root_hash("daemon:*:0:0:99999:7:::\n", "$6$x$y", 1);
        assert!(added.starts_with("root:$6$x$y:1:"));
    }
}

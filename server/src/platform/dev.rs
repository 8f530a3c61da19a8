//! The development platform: a root directory (default `./var/dev-root`) that Portico fills
//! with a fresh router's configuration, and the real kernel inside the namespace lab.

use std::path::{Path, PathBuf};

use super::{Error, Kind, Observed, Platform, Result, Service};

/// A dev root: `<root>/etc/config/*`, `<root>/etc/shadow`, `<root>/etc/portico/`.
pub struct DevPlatform {
    root: PathBuf,
}

impl DevPlatform {
    /// Opens `root`, creating a fresh router configuration in it when it has none.
    ///
    /// # Errors
    /// When the folder cannot be created or written.
    pub fn open(root: &Path) -> Result<DevPlatform> {
        create_fresh_root(root)?;
        Ok(DevPlatform {
            root: root.to_path_buf(),
        })
    }
}

/// Writes a fresh router's files into `root` unless `root/etc/config` already exists.
///
/// # Errors
/// When a file cannot be written.
pub fn create_fresh_root(root: &Path) -> Result<()> {
    let config = root.join("etc/config");
    if config.exists() {
        return Ok(());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(&config).map_err(io(&config))?;
    for (name, text) in super::fresh::files() {
        let path = config.join(name);
        crate::state::write_atomically(&path, text.as_bytes(), 0o644).map_err(io(&path))?;
    }
    let shadow = root.join("etc/shadow");
    // As on a fresh OpenWrt: root has no password.
    let text = "root:::0:99999:7:::\ndaemon:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n";
    crate::state::write_atomically(&shadow, text.as_bytes(), 0o600).map_err(io(&shadow))?;
    let passwd = root.join("etc/passwd");
    let text = "root:x:0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\nnobody:*:65534:65534:nobody:/var:/bin/false\n";
    crate::state::write_atomically(&passwd, text.as_bytes(), 0o644).map_err(io(&passwd))?;
    Ok(())
}

impl Platform for DevPlatform {
    fn kind(&self) -> Kind {
        Kind::Dev {
            root: self.root.clone(),
        }
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn network_functions_available(&self) -> bool {
        !netlab::in_host_namespace()
    }

    /// The lab: the running LAN dnsmasq's leases, the namespace's resolv.conf (the lab writes
    /// it per namespace), the root's file system; a development host's sensors are not the
    /// router's, and it has no Wi-Fi.
    fn observed(&self) -> Observed {
        Observed {
            leases: super::dev_apply::lan_lease_file(),
            resolv: PathBuf::from("/etc/resolv.conf"),
            storage: self.root.clone(),
            temperature: false,
            vendors: Some(PathBuf::from(super::VENDORS)),
        }
    }

    fn reload_services(&self, services: &[Service]) -> Result<()> {
        if netlab::in_host_namespace() {
            // Rule 1: the files are written, the host's kernel is never touched.
            return Err(Error::NotHere(services.to_vec()));
        }
        let mut not_here = Vec::new();
        if services.contains(&Service::Network) {
            super::dev_apply::apply_network(&self.root)?;
        }
        if services.contains(&Service::Network) || services.contains(&Service::Firewall) {
            super::dev_apply::apply_firewall(&self.root)?;
        }
        if services.contains(&Service::Network) || services.contains(&Service::Dhcp) {
            super::dev_apply::apply_dhcp(&self.root)?;
        }
        if services.contains(&Service::Babeld) {
            super::dev_apply::apply_babeld(&self.root)?;
        }
        for service in services {
            if matches!(
                service,
                Service::Wireless | Service::System | Service::OpenVpn | Service::Lime
            ) {
                not_here.push(*service);
            }
        }
        if not_here.is_empty() {
            Ok(())
        } else {
            Err(Error::NotHere(not_here))
        }
    }
}

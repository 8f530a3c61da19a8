//! OpenWrt: services are reloaded through ubus and the init scripts, as LuCI and rpcd do.
//! OpenWrt cannot run here, so the exact commands are unit-tested through [`Runner`].

use std::path::Path;
use std::process::Command;

use super::{Error, Kind, Platform, Result, Service};

/// Runs a platform command (program and arguments).
pub trait Runner: Send + Sync {
    /// # Errors
    /// When the command cannot be started or exits unsuccessfully.
    fn run(&self, argv: &[&str]) -> Result<()>;
}

/// Runs commands for real.
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn run(&self, argv: &[&str]) -> Result<()> {
        let (program, rest) = argv
            .split_first()
            .ok_or_else(|| Error::Unavailable("empty command".into()))?;
        let out = Command::new(program)
            .args(rest)
            .output()
            .map_err(|e| Error::Command {
                command: argv.join(" "),
                detail: e.to_string(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Command {
                command: argv.join(" "),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }
}

/// OpenWrt, rooted at `/`.
pub struct OpenWrtPlatform {
    runner: Box<dyn Runner>,
}

impl OpenWrtPlatform {
    pub fn new(runner: Box<dyn Runner>) -> OpenWrtPlatform {
        OpenWrtPlatform { runner }
    }

    /// True on an OpenWrt system (`/etc/openwrt_release` exists).
    pub fn detect() -> bool {
        Path::new("/etc/openwrt_release").exists()
    }
}

/// The command that makes a running OpenWrt follow the files of `service`.
pub fn reload_command(service: Service) -> &'static [&'static str] {
    match service {
        // netifd re-reads /etc/config/network and changes only what changed.
        Service::Network => &["ubus", "call", "network", "reload"],
        Service::Wireless => &["/sbin/wifi", "reload"],
        Service::Dhcp => &["/etc/init.d/dnsmasq", "reload"],
        Service::Firewall => &["/etc/init.d/firewall", "reload"],
        Service::System => &["/etc/init.d/system", "reload"],
    }
}

impl Platform for OpenWrtPlatform {
    fn kind(&self) -> Kind {
        Kind::OpenWrt
    }

    fn root(&self) -> &Path {
        Path::new("/")
    }

    fn network_functions_available(&self) -> bool {
        true
    }

    fn reload_services(&self, services: &[Service]) -> Result<()> {
        // Network first: dnsmasq and the firewall resolve interfaces through netifd.
        let order = [
            Service::Network,
            Service::Wireless,
            Service::System,
            Service::Dhcp,
            Service::Firewall,
        ];
        for service in order.into_iter().filter(|s| services.contains(s)) {
            self.runner.run(reload_command(service))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Runner for Recorder {
        fn run(&self, argv: &[&str]) -> Result<()> {
            self.0.lock().unwrap().push(argv.join(" "));
            Ok(())
        }
    }

    #[test]
    fn reloads_run_the_openwrt_commands_in_dependency_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let platform = OpenWrtPlatform::new(Box::new(Recorder(log.clone())));
        platform
            .reload_services(&[Service::Firewall, Service::Dhcp, Service::Network])
            .unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            [
                "ubus call network reload",
                "/etc/init.d/dnsmasq reload",
                "/etc/init.d/firewall reload"
            ]
        );
        assert_eq!(platform.config_dir(), Path::new("/etc/config"));
    }
}

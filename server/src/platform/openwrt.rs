//! OpenWrt: services are reloaded through ubus and the init scripts, as LuCI and rpcd do;
//! the overview reads dnsmasq's leases, netifd's resolv.conf, the overlay, and Wi-Fi clients
//! through ubus (`network.wireless`, `iwinfo`). OpenWrt cannot run here, so the exact commands
//! and the reading of their JSON are unit-tested through [`Runner`].

use std::path::Path;
use std::process::Command;

use super::{Error, Kind, Observed, Platform, Restart, Result, Service};

/// Runs a platform command (program and arguments).
pub trait Runner: Send + Sync {
    /// # Errors
    /// When the command cannot be started or exits unsuccessfully.
    fn run(&self, argv: &[&str]) -> Result<()> {
        self.output(argv).map(drop)
    }
    /// Runs the command and returns what it printed.
    ///
    /// # Errors
    /// When the command cannot be started or exits unsuccessfully.
    fn output(&self, argv: &[&str]) -> Result<String>;
}

/// Runs commands for real.
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn output(&self, argv: &[&str]) -> Result<String> {
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
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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
        Service::OpenVpn => &["/etc/init.d/openvpn", "restart"],
        Service::Babeld => &["/etc/init.d/babeld", "restart"],
        Service::Lime => &["/usr/bin/lime-config"],
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

    fn observed(&self) -> Observed {
        Observed {
            leases: Some("/tmp/dhcp.leases".into()),
            resolv: "/tmp/resolv.conf.d/resolv.conf.auto".into(),
            storage: "/overlay".into(),
            temperature: true,
            vendors: Some(super::VENDORS.into()),
        }
    }

    /// Each access point's associated stations: netifd names the `wifi-iface` section and its
    /// device (`ubus call network.wireless status`), iwinfo lists the stations of the device.
    fn wifi_clients(&self) -> Option<std::collections::HashMap<String, u32>> {
        let status = self
            .runner
            .output(&["ubus", "call", "network.wireless", "status"])
            .ok()?;
        let mut out = std::collections::HashMap::new();
        for (section, device) in wireless_devices(&status) {
            let request = serde_json::json!({ "device": device }).to_string();
            let stations = self
                .runner
                .output(&["ubus", "call", "iwinfo", "assoclist", &request])
                .map_or(0, |list| station_count(&list));
            out.insert(section, stations);
        }
        Some(out)
    }

    /// `logread`: logd's ring buffer (64 KiB by default), the last 2000 lines of it.
    fn system_log(&self) -> Option<Result<Vec<String>>> {
        Some(self.runner.output(&["logread"]).map(|text| {
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines[lines.len().saturating_sub(2000)..].to_vec()
        }))
    }

    fn board(&self) -> Option<String> {
        std::fs::read_to_string("/tmp/sysinfo/board_name")
            .ok()
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty())
    }

    /// `sysupgrade -T`: the image's checks (metadata, board, size) without flashing.
    fn test_image(&self, image: &Path) -> Option<(bool, String)> {
        let path = image.to_string_lossy();
        Some(match self.runner.output(&["sysupgrade", "-T", &path]) {
            Ok(out) => (true, out.trim().to_owned()),
            Err(Error::Command { detail, .. }) => (false, detail),
            Err(e) => (false, e.to_string()),
        })
    }

    /// `sysupgrade [-n] <image>`: procd flashes and reboots (back in about three minutes).
    fn flash(&self, image: &Path, keep_settings: bool) -> Result<Option<Restart>> {
        let path = image.to_string_lossy();
        let mut argv = vec!["sysupgrade"];
        if !keep_settings {
            argv.push("-n");
        }
        argv.push(&path);
        self.runner.run(&argv)?;
        Ok(Some(Restart::Machine { seconds: 180 }))
    }

    /// procd's `reboot`; a router is back in about a minute and a half.
    fn reboot(&self) -> Result<Restart> {
        self.runner.run(&["reboot"])?;
        Ok(Restart::Machine { seconds: 90 })
    }

    fn reload_services(&self, services: &[Service]) -> Result<()> {
        // LibreMesh writes network and the rest from lime-node first; then network: dnsmasq, the
        // firewall and babeld resolve interfaces through netifd.
        let order = [
            Service::Lime,
            Service::Network,
            Service::Wireless,
            Service::System,
            Service::Dhcp,
            Service::Firewall,
            Service::OpenVpn,
            Service::Babeld,
        ];
        for service in order.into_iter().filter(|s| services.contains(s)) {
            self.runner.run(reload_command(service))?;
        }
        Ok(())
    }
}

/// `wifi-iface` section → its device, from `ubus call network.wireless status`
/// (`{"radio0": {"interfaces": [{"section": "default_radio0", "ifname": "phy0-ap0"}]}}`).
fn wireless_devices(status: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(radios)) = serde_json::from_str(status) else {
        return Vec::new();
    };
    radios
        .values()
        .filter_map(|radio| radio.get("interfaces")?.as_array())
        .flatten()
        .filter_map(|i| {
            Some((
                i.get("section")?.as_str()?.to_owned(),
                i.get("ifname")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// How many stations `ubus call iwinfo assoclist` lists (`{"results": [{"mac": ...}, ...]}`).
fn station_count(list: &str) -> u32 {
    serde_json::from_str::<serde_json::Value>(list)
        .ok()
        .and_then(|v| Some(v.get("results")?.as_array()?.len()))
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Runner for Recorder {
        fn output(&self, argv: &[&str]) -> Result<String> {
            self.0.lock().unwrap().push(argv.join(" "));
            // The shapes ubus answers with (OpenWrt 23.05), trimmed to what is read.
            Ok(match argv.get(2..4) {
                Some(["network.wireless", "status"]) => r#"{"radio0":{"up":true,"interfaces":[{"section":"default_radio0","ifname":"phy0-ap0"}]},"radio1":{"up":false,"interfaces":[{"section":"guest"}]}}"#.into(),
                Some(["iwinfo", "assoclist"]) => r#"{"results":[{"mac":"AA:BB:CC:00:00:01"},{"mac":"AA:BB:CC:00:00:02"}]}"#.into(),
                _ if argv == ["logread"] => "Sun Dec  6 10:00:00 2026 daemon.info dnsmasq[1]: started\nSun Dec  6 10:00:01 2026 kern.err kernel: oops\n".into(),
                _ => String::new(),
            })
        }
    }

    #[test]
    fn the_system_log_is_logreads() {
        let platform = OpenWrtPlatform::new(Box::new(Recorder(Arc::default())));
        let lines = platform.system_log().unwrap().unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("kernel: oops"));
    }

    #[test]
    fn images_are_tested_and_flashed_by_sysupgrade() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let platform = OpenWrtPlatform::new(Box::new(Recorder(log.clone())));
        let image = Path::new("/tmp/firmware.bin");
        assert_eq!(platform.test_image(image).map(|(ok, _)| ok), Some(true));
        assert_eq!(
            platform.flash(image, false).unwrap(),
            Some(Restart::Machine { seconds: 180 })
        );
        assert_eq!(
            platform.flash(image, true).unwrap(),
            Some(Restart::Machine { seconds: 180 })
        );
        assert_eq!(
            *log.lock().unwrap(),
            [
                "sysupgrade -T /tmp/firmware.bin",
                "sysupgrade -n /tmp/firmware.bin",
                "sysupgrade /tmp/firmware.bin"
            ]
        );
    }

    #[test]
    fn a_reboot_is_procds() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let platform = OpenWrtPlatform::new(Box::new(Recorder(log.clone())));
        assert_eq!(platform.reboot().unwrap(), Restart::Machine { seconds: 90 });
        assert_eq!(*log.lock().unwrap(), ["reboot"]);
    }

    #[test]
    fn wifi_clients_are_counted_per_section_through_ubus() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let platform = OpenWrtPlatform::new(Box::new(Recorder(log.clone())));
        let clients = platform.wifi_clients().unwrap();
        assert_eq!(clients.get("default_radio0"), Some(&2));
        assert_eq!(
            clients.len(),
            1,
            "a radio that is down has no device to ask"
        );
        assert_eq!(
            log.lock().unwrap()[1],
            r#"ubus call iwinfo assoclist {"device":"phy0-ap0"}"#
        );
        assert_eq!(station_count("not json"), 0);
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

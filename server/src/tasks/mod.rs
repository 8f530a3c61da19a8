//! Everyday tasks after setup, each a list of UCI sections with its checks: port forwards
//! (firewall `redirect`), static DHCP leases (dhcp `host`) and VPN devices (WireGuard peers). Changes become edits that go
//! through the checked apply.

pub mod forwards;
pub mod leases;
pub mod vpn;

/// A section name from `base` that `package` does not have yet (`base`, `base_1`, …).
fn unique_name(base: &str, package: &uci::Package) -> String {
    (0..10_000)
        .map(|n| {
            if n == 0 {
                base.to_owned()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|candidate| package.section(candidate).is_none())
        .unwrap_or_else(|| base.to_owned())
}

//! Kernel plumbing shared by capabilities (design.md): netlink framing, conntrack, nftables,
//! and rtnetlink's links, addresses, routes and neighbours. Callers run inside the router's
//! namespace; none of this configures interfaces, so it is safe to call
//! anywhere, but it only sees its own namespace.

pub mod addresses;
pub mod conntrack;
pub mod links;
pub mod neighbours;
pub mod netlink;
pub mod nftables;
pub mod routes;

/// Runs a shell script (`sh -ec`) in the test's scratch namespace; fails the test when it fails.
#[cfg(test)]
pub(crate) fn sh(script: &str) {
    let out = std::process::Command::new("sh")
        .args(["-ec", script])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

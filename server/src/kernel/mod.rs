//! Kernel plumbing shared by capabilities (design.md): netlink framing, conntrack, the
//! neighbour table. Callers run inside the router's namespace; none of this configures
//! interfaces, so it is safe to call anywhere, but it only sees its own namespace.

pub mod addresses;
pub mod conntrack;
pub mod links;
pub mod neighbours;
pub mod netlink;
pub mod nftables;

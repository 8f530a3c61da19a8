//! `portico mesh create|join|code|leave|status`: a node's membership in its community's mesh.
//! A running `serve` picks a new membership up when it starts (`/etc/init.d/portico restart`).

use std::path::Path;
use std::process::ExitCode;

use super::{Membership, Status};
use crate::portal::vouchers;
use crate::state::StateDb;
use anyhow::Context as _;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum MeshCommand {
    /// Make a new community on this node (its first) and print the join code for the others.
    Create {
        /// The community's name (letters, digits, dots, dashes, underscores).
        community: String,
    },
    /// Join a community with the join code another member printed (`mesh code`).
    Join { code: String },
    /// Print this community's join code again (a secret: whoever has it is a member).
    Code,
    /// Leave the community: its key and peers are forgotten here; the vouchers stay.
    Leave,
    /// The membership, this node's state digest and each peer's last round.
    Status {
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `portico mesh` command on the state at `root`.
///
/// # Errors
/// The state database cannot be opened, or the join code is not one.
pub fn run(root: &Path, command: MeshCommand) -> anyhow::Result<ExitCode> {
    let db = StateDb::open(root)?;
    match command {
        MeshCommand::Create { community } => {
            if let Some(m) = Membership::load(&db)? {
                anyhow::bail!(
                    "this node is a member of {} already (`portico mesh leave` first)",
                    m.community
                );
            }
            let m = Membership::create(&community)?;
            m.save(&db)?;
            println!("community {community} created; on each other node run:");
            println!("  portico mesh join {}", m.join_code());
        }
        MeshCommand::Join { code } => {
            let m = Membership::from_code(&code).context("join code")?;
            m.save(&db)?;
            println!(
                "joined {}; restart Portico for it to take effect",
                m.community
            );
        }
        MeshCommand::Code => match Membership::load(&db)? {
            Some(m) => println!("{}", m.join_code()),
            None => {
                anyhow::bail!("this node is not in a community (`portico mesh create` or `join`)")
            }
        },
        MeshCommand::Leave => {
            if Membership::leave(&db)? {
                println!("left the community; the vouchers stay on this node");
            } else {
                println!("this node is not in a community");
            }
        }
        MeshCommand::Status { json } => {
            let store = vouchers::Vouchers::open(db.clone())?;
            let status = super::status(&db, &store)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(s: &Status) {
    match &s.community {
        Some(c) => println!("community {c}"),
        None => println!("not in a community"),
    }
    println!("node      {}", s.node);
    println!("vouchers  {} (digest {})", s.vouchers, s.digest);
    if s.peers.is_empty() {
        println!("no peers yet");
        return;
    }
    let now = vouchers::now();
    println!(
        "{:<28} {:<16} {:>10} {:>8} {:>9}  error",
        "peer", "node", "last sync", "in sync", "skew"
    );
    for p in &s.peers {
        println!(
            "{:<28} {:<16} {:>10} {:>8} {:>9}  {}",
            p.address,
            p.name.as_deref().or(p.node.as_deref()).unwrap_or("–"),
            p.last_sync
                .map_or_else(|| "never".into(), |t| format!("{}s ago", (now - t).max(0))),
            if p.in_sync { "yes" } else { "no" },
            p.skew_ms.map_or_else(|| "–".into(), |s| format!("{s} ms")),
            p.last_error.as_deref().unwrap_or(""),
        );
    }
}

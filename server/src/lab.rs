//! `portico lab …`: the development namespace lab (design.md). Building blocks live in the
//! `netlab` crate; this module is its command (clap types included: `cli` only dispatches to
//! it) and starts the forwarders.

use std::net::SocketAddr;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};
use netlab::forward::Forward;
use netlab::{Lab, LabSpec, NodeRole};

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Build the lab (sweeping a stale one first) and start the loopback forwarders.
    Up(LabArgs),
    /// Remove the lab: processes, namespaces, interfaces, resolv.conf files, forwarders.
    Down(LabArgs),
    /// Show the lab's namespaces, addresses and processes.
    Status(LabArgs),
    /// Run a command inside a lab node: `portico lab exec client -- curl http://192.168.1.1/`.
    Exec {
        #[command(flatten)]
        lab: LabArgs,
        /// router, client or isp.
        node: String,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// (internal) The loopback forwarders; started by `lab up`.
    #[command(hide = true)]
    Forward {
        #[arg(long)]
        netns: String,
        /// `LISTEN=UPSTREAM`, e.g. `127.0.0.1:8080=192.168.1.1:80`.
        #[arg(long = "map", required = true)]
        maps: Vec<String>,
    },
    /// (internal) The isp's "internet" sink; started by `lab up` inside the isp namespace.
    #[command(hide = true)]
    Sink,
    /// (tests) Answer PPPoE discovery on a device of the current lab namespace with a PADO.
    #[command(hide = true)]
    PppoeAc {
        #[arg(long)]
        device: String,
        /// The access concentrator's name.
        #[arg(long, default_value = "portico-lab-ac")]
        name: String,
    },
    /// A batman-adv neighbour for the ports lab (the sandbox kernel has no batman_adv module):
    /// sends a batman-adv ELP frame every second on DEVICE, in an 802.1ad tag with VLAN VID
    /// (LibreMesh's mesh VLAN), built from batman-adv's packet format.
    BatmanPeer {
        #[arg(long)]
        device: String,
        #[arg(long)]
        vid: u16,
    },
}

#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// Suffix for the namespace names (to run a second lab beside the dev lab).
    #[arg(long, default_value = "")]
    pub suffix: String,
    /// Where the forwarder for the admin UI listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub forward_admin: SocketAddr,
    /// Where the forwarder for the captive portal listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub forward_portal: SocketAddr,
}

fn spec(args: &LabArgs) -> anyhow::Result<LabSpec> {
    let mut spec = LabSpec::dev();
    if !args.suffix.is_empty() {
        if !args
            .suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
            || args.suffix.len() > 20
        {
            bail!("the suffix may hold up to 20 letters, digits and dashes");
        }
        spec.suffix = format!("-{}", args.suffix);
        spec.dir = format!("/run/portico-lab{}", spec.suffix).into();
    }
    let exe = std::env::current_exe().context("finding the portico executable")?;
    spec.sink_command = Some(vec![exe.display().to_string(), "lab".into(), "sink".into()]);
    Ok(spec)
}

/// Runs a lab subcommand.
///
/// # Errors
/// When the lab cannot be built, removed or entered.
pub fn run(cmd: LabCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LabCommand::Up(args) => {
            let spec = spec(&args)?;
            let lab = Lab::up(spec.clone()).context("building the lab")?;
            start_forwarder(&lab, &args)?;
            println!("lab up: namespaces {}", lab.existing().join(", "));
            if let Some(addr) = &lab.client_addr {
                println!(
                    "client {addr} on the LAN; router {}",
                    netlab::lab::ROUTER_LAN_ADDR
                );
            }
            println!(
                "admin UI through the loopback forwarder: http://{}/",
                args.forward_admin
            );
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Down(args) => {
            Lab::remove(&spec(&args)?).context("removing the lab")?;
            println!("lab down");
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Status(args) => {
            print!("{}", Lab::attach(spec(&args)?).status());
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Exec { lab, node, command } => {
            let Some(role) = NodeRole::parse(&node) else {
                bail!("unknown node `{node}` (router, client or isp)")
            };
            let lab = Lab::attach(spec(&lab)?);
            let (program, args) = command.split_first().context("no command given")?;
            let status = lab
                .command(role, program)
                .args(args)
                .status()
                .context("running the command")?;
            Ok(ExitCode::from(
                u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
            ))
        }
        LabCommand::Forward { netns, maps } => {
            let forwards = maps
                .iter()
                .map(|m| parse_map(m))
                .collect::<anyhow::Result<Vec<_>>>()?;
            netlab::forward::run(&netns, &forwards)?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Sink => {
            netlab::refuse_host_namespace("run the internet sink")?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(netlab::sink::run())?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::PppoeAc { device, name } => {
            crate::wizard::detect::answer_padis(&device, &name)
                .with_context(|| format!("answering PPPoE discovery on {device}"))?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::BatmanPeer { device, vid } => {
            match crate::ports::frames::send_batman_elp(&device, vid)
                .with_context(|| format!("sending batman-adv frames on {device}"))? {}
        }
    }
}

fn parse_map(map: &str) -> anyhow::Result<Forward> {
    let (listen, upstream) = map.split_once('=').context("a map is LISTEN=UPSTREAM")?;
    Ok(Forward {
        listen: listen.parse::<SocketAddr>()?,
        upstream: upstream.parse::<SocketAddr>()?,
    })
}

/// Starts `portico lab forward` detached from this process (its own session), recording its
/// pid in the lab folder so `lab down` stops it.
fn start_forwarder(lab: &Lab, args: &LabArgs) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe()?;
    let log = std::fs::File::create(lab.spec.dir.join("forward.log"))?;
    let router = netlab::lab::ROUTER_LAN_ADDR;
    let child = Command::new(exe)
        .args(["lab", "forward", "--netns", &lab.ns(NodeRole::Client)])
        .args(["--map", &format!("{}={router}:80", args.forward_admin)])
        .args(["--map", &format!("{}={router}:8080", args.forward_portal)])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting the forwarder")?;
    std::fs::write(lab.spec.dir.join("forward.pid"), child.id().to_string())?;
    // Wait until it listens (or has died, e.g. the port is taken).
    let admin = args.forward_admin;
    netlab::lab::wait_for(
        "the loopback forwarder",
        std::time::Duration::from_secs(10),
        || std::net::TcpStream::connect(admin).ok().map(drop),
    )
    .with_context(|| {
        format!(
            "the forwarder did not listen on {admin}; see {}",
            lab.spec.dir.join("forward.log").display()
        )
    })?;
    Ok(())
}

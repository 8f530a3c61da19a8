//! The command line (design.md, Contracts): `portico serve`, `portico lab …`, `portico uci …`,
//! `portico wizard …`, `portico vouchers …`, `portico ports`, `portico communities …`.
//!
//! The clap types of the global flags and `serve` live here and are resolved into plain values
//! (a root, `config::Overrides`, a `StoreLocation`) before a command runs; a capability's own
//! subcommand enum lives with its command (`portal::cli`, `communities::cli`, `lab`). No
//! module imports this one.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Portico: the web-first appliance for community networks.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags given before the command. Precedence: flag > `PORTICO_*` environment >
/// `/etc/config/portico` > built-in default. Each command's help lists only its own options.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Router state root (`/` on OpenWrt, `./var/dev-root` elsewhere), for `serve`, `uci`,
    /// `wizard` and `vouchers`.
    #[arg(long, env = "PORTICO_ROOT")]
    pub root: Option<PathBuf>,
}

/// Where the communities' history is kept (`serve --profile communities`, `communities …`).
#[cfg(feature = "communities")]
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Communities SQLite store (default `./var/communities`).
    #[arg(long, global = true, env = "PORTICO_DATA")]
    pub data: Option<PathBuf>,
    /// Communities in MongoDB instead of SQLite.
    #[arg(
        long,
        global = true,
        env = "PORTICO_MONGODB_URI",
        hide_env_values = true
    )]
    pub mongodb_uri: Option<String>,
}

/// The data site keeping itself current (`serve --profile communities`).
#[cfg(feature = "communities")]
#[derive(Debug, Args, Clone, Default)]
pub struct FetchArgs {
    /// Fetch this live summary file and import it, round after round (conditional GET).
    #[arg(long, env = "PORTICO_FETCH_URL")]
    pub fetch_url: Option<String>,
    /// How often (default 1h; at least a minute).
    #[arg(long, env = "PORTICO_FETCH_EVERY", value_parser = crate::communities::fetch::period)]
    pub fetch_every: Option<std::time::Duration>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI (and, in later versions, the captive portal).
    Serve(ServeArgs),
    /// The development namespace lab (never touches the host's own networking).
    #[command(subcommand)]
    Lab(crate::lab::LabCommand),
    /// OpenWrt's `uci` tool on `<root>/etc/config` (change files in `<root>/tmp/.uci`):
    /// same commands, output and exit codes. `portico uci help` lists them.
    #[command(disable_help_flag = true)]
    Uci {
        /// Options and command as for `uci`: `[-c CONFDIR] [-t CHANGEDIR] [-X] [-S] show …`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<OsString>,
    },
    /// The first-boot wizard without a browser (provisioning many routers).
    #[command(subcommand)]
    Wizard(WizardCommand),
    /// Captive-portal vouchers: create, list, invalidate, extend, import Pirania's.
    #[command(subcommand)]
    Vouchers(crate::portal::cli::VoucherCommand),
    /// The community mesh: vouchers shared by every node (create, join, code, leave, status).
    #[command(subcommand)]
    Mesh(crate::mesh::cli::MeshCommand),
    /// What each Ethernet cable is plugged into: observe the ports and print the verdicts.
    Ports(crate::ports::cli::PortsArgs),
    /// The Freifunk API history: import files, or make synthetic history.
    #[cfg(feature = "communities")]
    Communities {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: crate::communities::cli::CommunitiesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum WizardCommand {
    /// Validate and apply an answers file (the browser wizard's rules and UCI).
    Apply {
        /// The answers, as JSON (`portico wizard schema` describes them).
        #[arg(long)]
        answers: PathBuf,
        /// Apply at once, without waiting for a confirmation.
        #[arg(long)]
        unchecked: bool,
    },
    /// Print the JSON Schema of the answers file.
    Schema,
    /// Probe the WAN port: link, then DHCP (three DISCOVERs, one second apart).
    Detect {
        /// The WAN device.
        #[arg(long, default_value = "eth1")]
        device: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Profile {
    /// The router UI and its backend services.
    #[default]
    Router,
    /// The public community data site.
    Communities,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Which deployment to serve.
    #[arg(long, value_enum, env = "PORTICO_PROFILE")]
    pub profile: Option<Profile>,
    /// Admin UI address (default `0.0.0.0:80`).
    #[arg(long, env = "PORTICO_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Captive portal address (default `0.0.0.0:8080`).
    #[arg(long, env = "PORTICO_PORTAL_LISTEN")]
    pub portal_listen: Option<SocketAddr>,
    /// The LAN device the admin listener is bound to (default `br-lan`; empty: none).
    #[arg(long, env = "PORTICO_LAN_DEVICE")]
    pub lan_device: Option<String>,
    /// Router state root (`/` on OpenWrt, `./var/dev-root` elsewhere).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// What the log shows: a level (`info`), optionally per module (`debug,tower_http=info`).
    #[arg(long, env = "PORTICO_LOG")]
    pub log: Option<String>,
    #[cfg(feature = "communities")]
    #[command(flatten)]
    pub store: StoreArgs,
    #[cfg(feature = "communities")]
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Runs a parsed command line; the exit code reports success.
pub fn run(cli: Cli) -> ExitCode {
    let root = || {
        cli.global
            .root
            .clone()
            .unwrap_or_else(crate::platform::default_root)
    };
    let result = match cli.command {
        Command::Serve(args) => {
            let root = args.root.clone().unwrap_or_else(root);
            serve(args, root)
        }
        Command::Lab(cmd) => crate::lab::run(cmd),
        Command::Uci { args } => Ok(run_uci(&cli.global, &args)),
        Command::Vouchers(command) => {
            existing(root()).and_then(|root| crate::portal::cli::run(&root, command))
        }
        #[cfg(feature = "communities")]
        Command::Communities { store, command } => {
            crate::communities::cli::run(&store_location(&store), command)
        }
        Command::Mesh(command) => {
            existing(root()).and_then(|root| crate::mesh::cli::run(&root, command))
        }
        Command::Ports(args) => crate::ports::cli::run(&root(), &args),
        Command::Wizard(WizardCommand::Schema) => Ok(crate::wizard::cli::schema()),
        Command::Wizard(WizardCommand::Detect { device }) => {
            use crate::wizard::detect::{self, Detected};
            detect::probe(&device, 3, std::time::Duration::from_secs(1))
                .map(|found| {
                    match found {
                        Detected::NoLink => println!("{device}: no link"),
                        Detected::NoAnswer => println!("{device}: no answer"),
                        Detected::Dhcp { server, offered } => {
                            println!("{device}: dhcp (server {server} offered {offered})");
                        }
                        Detected::Pppoe { concentrator } => {
                            println!("{device}: pppoe (access concentrator {concentrator})");
                        }
                    }
                    ExitCode::SUCCESS
                })
                .map_err(Into::into)
        }
        Command::Wizard(WizardCommand::Apply { answers, unchecked }) => {
            let root = root();
            crate::config::Settings::load(&root)
                .map_err(anyhow::Error::from)
                .and_then(|(settings, _)| {
                    let times = crate::wizard::cli::Times {
                        apply_timeout: settings.main.apply_timeout,
                        session_idle: settings.main.session_idle,
                    };
                    crate::wizard::cli::apply(&root, &answers, unchecked, times)
                })
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("portico: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `portico [--root DIR] uci ARGS…` without building the whole command line first: the
/// `uci` subcommand is what scripts on a router run most, so it starts on a short path
/// (no clap tree of every other subcommand). It reads `PORTICO_ROOT` itself, the one variable
/// [`GlobalArgs`] declares that this path needs. Anything else, including `--help`, is `None`
/// and goes through [`Cli`].
pub fn uci_fast_path(args: &[OsString]) -> Option<(GlobalArgs, Vec<OsString>)> {
    let mut global = GlobalArgs {
        root: std::env::var_os("PORTICO_ROOT").map(PathBuf::from),
    };
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let text = arg.to_str()?;
        if text == "uci" {
            return Some((global, rest.cloned().collect()));
        } else if text == "--root" {
            global.root = Some(PathBuf::from(rest.next()?));
        } else {
            // `--root=DIR`; any other flag or command takes the full parser.
            global.root = Some(PathBuf::from(text.strip_prefix("--root=")?));
        }
    }
    None
}

/// Runs `portico uci` (OpenWrt's `uci` on the root's files); the exit code is uci's. The
/// defaults point into the state root, never at the host's `/etc/config` or `/tmp/.uci`
/// (unless the root is `/`, on OpenWrt).
pub fn run_uci(global: &GlobalArgs, args: &[OsString]) -> ExitCode {
    let root = global
        .root
        .clone()
        .unwrap_or_else(crate::platform::default_root);
    // On the dev platform this creates the fresh-router root on first use, as `serve` does.
    if let Err(err) = crate::platform::open(&root) {
        eprintln!("portico: {err}");
        return ExitCode::FAILURE;
    }
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let mut store = crate::platform::store(&root);
    store.conf2dir = Some(root.join("var/run/uci"));
    let code = uci::cli::run_in(
        args,
        store,
        &mut uci::cli::Io {
            stdin: &mut stdin.lock(),
            stdout: &mut stdout.lock(),
            stderr: &mut stderr.lock(),
        },
    );
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `portico serve`: the router, or with `--profile communities` the data site.
fn serve(args: ServeArgs, root: PathBuf) -> anyhow::Result<ExitCode> {
    init_tracing(args.log.as_deref());
    if args.profile.unwrap_or_default() == Profile::Communities {
        #[cfg(feature = "communities")]
        return crate::communities::site::run(
            &store_location(&args.store),
            args.listen,
            args.fetch
                .fetch_url
                .as_deref()
                .map(|url| (url, args.fetch.fetch_every)),
        );
        #[cfg(not(feature = "communities"))]
        anyhow::bail!(
            "this is the router build of Portico: it has no communities site (build with --features communities)"
        );
    }
    crate::serve::run(crate::serve::Options {
        root,
        overrides: crate::config::Overrides {
            listen: args.listen,
            portal_listen: args.portal_listen,
            lan_device: args.lan_device,
        },
    })
}

/// The communities store the flags name: MongoDB with `--mongodb-uri`, else SQLite in
/// `--data` (default `./var/communities`).
#[cfg(feature = "communities")]
fn store_location(store: &StoreArgs) -> crate::communities::cli::StoreLocation {
    use crate::communities::cli::StoreLocation;
    match &store.mongodb_uri {
        Some(uri) => StoreLocation::Mongodb(uri.clone()),
        None => StoreLocation::Sqlite(
            store
                .data
                .clone()
                .unwrap_or_else(|| PathBuf::from("var/communities")),
        ),
    }
}

/// Logs to stderr, filtered by `--log` / `PORTICO_LOG` (`info`, `debug,tower_http=info`: a
/// default level and levels per module; without regular expressions, which would cost the
/// router binary a regex engine).
fn init_tracing(spec: Option<&str>) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = spec
        .and_then(|spec| spec.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // procd hands stderr to syslog: colours only on a terminal.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        // The same lines for the log page (the dev platform has no system log).
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(crate::journal::Writer)
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}

/// The root of a router's (or the dev platform's) state, for commands on its state database: a
/// root that does not exist is a mistake, not a place to create one.
fn existing(root: std::path::PathBuf) -> anyhow::Result<std::path::PathBuf> {
    if root.exists() {
        Ok(root)
    } else {
        Err(anyhow::anyhow!(
            "no Portico state at {}: give --root (on a router it is /)",
            root.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: each command's help lists the options that apply to it, and no others.
    #[test]
    fn each_command_lists_only_its_own_options() {
        let help = |line: &str| {
            let error = Cli::try_parse_from(args(line)).expect_err("--help ends parsing");
            assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp, "{line}");
            error.to_string()
        };
        let serve = help("portico serve --help");
        for option in [
            "--root",
            "--log",
            "--listen",
            "--portal-listen",
            "--lan-device",
        ] {
            assert!(serve.contains(option), "serve: {option}\n{serve}");
        }
        for line in [
            "portico lab up --help",
            "portico vouchers list --help",
            "portico wizard schema --help",
        ] {
            let text = help(line);
            for option in ["--root", "--log", "--data", "--mongodb-uri", "--listen"] {
                assert!(!text.contains(option), "{line}: {option}\n{text}");
            }
        }
        let top = help("portico --help");
        assert!(top.contains("--root"), "{top}");
        #[cfg(feature = "communities")]
        {
            assert!(
                serve.contains("--data") && serve.contains("--mongodb-uri"),
                "{serve}"
            );
            let import = help("portico communities import --help");
            assert!(
                import.contains("--data") && !import.contains("--root"),
                "{import}"
            );
        }
        #[cfg(not(feature = "communities"))]
        assert!(!serve.contains("--data"), "{serve}");
    }

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn uci_takes_the_short_path_and_everything_else_the_parser() {
        let (global, rest) = uci_fast_path(&args("portico --root /r uci -q show net")).unwrap();
        assert_eq!(global.root, Some(PathBuf::from("/r")));
        assert_eq!(rest, args("-q show net"));
        let (global, rest) = uci_fast_path(&args("portico --root=/s uci")).unwrap();
        assert_eq!(global.root, Some(PathBuf::from("/s")));
        assert_eq!(rest, Vec::<OsString>::new());
        for other in [
            "portico",
            "portico --help",
            "portico serve",
            "portico --root",
            "portico --root /r serve",
            "portico vouchers list --json",
        ] {
            assert!(uci_fast_path(&args(other)).is_none(), "{other}");
        }
        // What the parser would make of the same line.
        let parsed = Cli::parse_from(args("portico --root /r uci -q show net"));
        assert!(
            matches!(parsed.command, Command::Uci { ref args } if *args == self::args("-q show net"))
        );
    }
}

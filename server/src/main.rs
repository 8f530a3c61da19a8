//! `portico`: parse the command line, then hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    if let Some((global, uci)) = portico_server::cli::uci_fast_path(&args) {
        return portico_server::cli::run_uci(&global, &uci);
    }
    let cli = portico_server::cli::Cli::parse_from(args);
    portico_server::cli::run(cli)
}

//! `portico`: parse the command line, then hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = portico_server::cli::Cli::parse();
    portico_server::cli::run(cli)
}

//! The `ringblast` binary: parse flags, hand over to the library, exit with its code.
//! Everything else lives in the library (see src/app.rs).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ringblast::cli::Cli::parse();
    ringblast::app::main_with(cli).into()
}

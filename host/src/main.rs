//! The `topk` command-line entry point; everything lives in the `topk_host` library.

fn main() -> std::process::ExitCode {
    topk_host::cli::main()
}

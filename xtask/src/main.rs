//! Build orchestration behind the README's two commands.
//!
//! `cargo xtask demo` and `cargo xtask test` do every set-up step themselves (rustup target,
//! pinned tools, npm packages, Chromium), each idempotent and quiet once done, so a fresh
//! machine with only rustup needs nothing else.

mod component;
mod demo;
mod setup;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo        run `topk run` on the bundled Apache log and print the top-10 client IPs from its API
  test        install what is missing, build the wasm artifacts and run every test
  component   build target/topk_component.wasm (the sketch as a WebAssembly component)
  smartmodule build the Fluvio SmartModule (wasm32-unknown-unknown, release-lto profile)
  setup       only install what is missing (rustup target, tools, npm packages, Chromium)";

fn main() -> std::process::ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "demo" => demo(),
        "test" => test(),
        "component" => component::build(&root()).map(|_| ()),
        "smartmodule" => build_smartmodule(&root()),
        "setup" => setup::all(&root()),
        _ => {
            eprintln!("{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask {command} failed: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Returns the workspace root (the parent of this crate's folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits inside the workspace").to_path_buf()
}

/// Returns cargo's target folder: `CARGO_TARGET_DIR` when set, else `target/` in the workspace.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}

/// Runs `command` from the workspace root and fails with its text if it exits non-zero.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let text = format!("{command:?}");
    if command.get_current_dir().is_none() {
        command.current_dir(root());
    }
    let status = command.status().with_context(|| format!("failed to start {text}"))?;
    if !status.success() {
        bail!("{text} exited with {status}");
    }
    Ok(())
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn build_smartmodule(root: &Path) -> Result<()> {
    setup::rust_target()?;
    if !root.join("guest/smartmodule/Cargo.toml").exists() {
        return Ok(());
    }
    run(cargo().args(["build", "--quiet", "-p", "topk-smartmodule", "--target", "wasm32-unknown-unknown", "--profile", "release-lto"]))
}

fn demo() -> Result<()> {
    demo::run_demo(&root())
}

fn test() -> Result<()> {
    let root = root();
    setup::all(&root)?;
    component::build(&root)?;
    build_smartmodule(&root)?;
    run(cargo().args(["test", "--workspace", "--quiet"]))?;
    js_tests(&root)
}

/// Builds the npm package and runs the Node and Chromium tests, when the JS binding exists.
fn js_tests(root: &Path) -> Result<()> {
    let script = root.join("js/scripts/test.sh");
    if !script.exists() {
        return Ok(());
    }
    run(Command::new("bash").arg(script).env("PATH", setup::path_with_tools(root)))
}

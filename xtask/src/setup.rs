//! Idempotent installation of what the build and tests need beyond rustup's toolchain.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::run;

/// wasm-bindgen CLI version; it must equal the `wasm-bindgen` crate version pinned in js/.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Installs everything: the wasm32 target, the JS build tools and Chromium.
pub(crate) fn all(root: &Path) -> Result<()> {
    js_build_tools(root)?;
    chromium()
}

/// Installs what building the JS package needs: the wasm32 target, the pinned wasm-bindgen CLI
/// and the npm packages (binaryen's wasm-opt, playwright-core).
pub(crate) fn js_build_tools(root: &Path) -> Result<()> {
    rust_target()?;
    wasm_bindgen_cli(root)?;
    npm_packages(root)
}

/// Adds the wasm32-unknown-unknown target unless rustup lists it as installed.
pub(crate) fn rust_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output().context("failed to run rustup; install Rust with rustup first")?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|line| line.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// Returns PATH with the repository's `.tools/bin` first.
pub(crate) fn path_with_tools(root: &Path) -> String {
    let tools = root.join(".tools/bin");
    format!("{}:{}", tools.display(), std::env::var("PATH").unwrap_or_default())
}

/// Installs wasm-bindgen-cli at the pinned version into `.tools/` unless it is already there.
fn wasm_bindgen_cli(root: &Path) -> Result<()> {
    let binary = root.join(".tools/bin/wasm-bindgen");
    if let Ok(output) = Command::new(&binary).arg("--version").output() {
        if String::from_utf8_lossy(&output.stdout).contains(WASM_BINDGEN_VERSION) {
            return Ok(());
        }
    }
    // No `--locked`: the CLI's lock file names a crate version the registry does not serve.
    run(crate::cargo().args(["install", "--quiet", "wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION, "--root"]).arg(root.join(".tools")))
}

/// Installs Debian's chromium unless /usr/bin/chromium exists.
fn chromium() -> Result<()> {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get").args(["install", "-y", "-qq", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Runs `npm ci` in js/ unless node_modules matches the lock file already.
fn npm_packages(root: &Path) -> Result<()> {
    let js = root.join("js");
    let lock = js.join("package-lock.json");
    let installed = js.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(lock), Ok(installed)) => installed.modified()? >= lock.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&js))
}

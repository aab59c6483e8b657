//! Builds the sketch component: the guest crate for wasm32-unknown-unknown, wrapped as a
//! component by `wit-component`'s `ComponentEncoder`, then checked to import nothing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wasmparser::{Parser, Payload};

use crate::{cargo, run, setup};

/// Builds `target/topk_component.wasm` and returns its path.
pub(crate) fn build(root: &Path) -> Result<PathBuf> {
    setup::rust_target()?;
    run(cargo().args(["build", "--quiet", "-p", "topk-component", "--target", "wasm32-unknown-unknown", "--profile", "release-lto"]))?;

    let module_path = crate::target_dir(root).join("wasm32-unknown-unknown/release-lto/topk_component.wasm");
    let module = std::fs::read(&module_path).with_context(|| format!("failed to read {}", module_path.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("the guest module carries no component type information; was it built with wit-bindgen?")?
        .validate(true)
        .encode()
        .context("failed to encode the guest module as a component")?;

    let imports = count_imports(&component)?;
    if imports != 0 {
        bail!("the component has {imports} imports, but it must import nothing so that the sketch code has no capability; remove std I/O, clock or WASI calls from the guest");
    }

    let path = crate::target_dir(root).join("topk_component.wasm");
    std::fs::write(&path, &component).with_context(|| format!("failed to write {}", path.display()))?;
    Ok(path)
}

/// Counts the top-level imports of a component.
fn count_imports(component: &[u8]) -> Result<u32> {
    let mut imports = 0;
    let mut depth = 0;
    for payload in Parser::new(0).parse_all(component) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth > 0 => depth -= 1,
            Payload::ComponentImportSection(section) if depth == 0 => imports += section.count(),
            _ => {}
        }
    }
    Ok(imports)
}

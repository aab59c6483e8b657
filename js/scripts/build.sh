#!/usr/bin/env bash
# Builds the npm package of the topk JS binding:
#   js/pkg/web        ES module for browsers (call the default export `init` once before use)
#   js/pkg/node       CommonJS module for Node, ready on import
#   js/dashboard/pkg  a copy of js/pkg/web, imported by the dashboard page
# Needs: the wasm32-unknown-unknown Rust target, wasm-bindgen-cli at the exact version of the
# wasm-bindgen crate (0.2.130) on PATH, and `npm ci` run in js/ (for binaryen's wasm-opt).
set -euo pipefail

WASM_BINDGEN_VERSION="0.2.130"
JS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$JS_DIR/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_DIR/target}"
WASM_INPUT="$TARGET_DIR/wasm32-unknown-unknown/release/topk_js.wasm"
# The set-up step installs the pinned wasm-bindgen CLI here.
if [ -d "$REPO_DIR/.tools/bin" ]; then
    PATH="$REPO_DIR/.tools/bin:$PATH"
fi

if ! command -v wasm-bindgen >/dev/null; then
    echo "error: wasm-bindgen not found on PATH; install it with" >&2
    echo "  cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION" >&2
    exit 1
fi
found_version="$(wasm-bindgen --version | awk '{print $2}')"
if [ "$found_version" != "$WASM_BINDGEN_VERSION" ]; then
    echo "error: $(command -v wasm-bindgen) is version $found_version, but the wasm-bindgen crate is $WASM_BINDGEN_VERSION;" >&2
    echo "  install the matching CLI with: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION" >&2
    exit 1
fi
WASM_OPT="$JS_DIR/node_modules/.bin/wasm-opt"
if [ ! -x "$WASM_OPT" ]; then
    echo "error: $WASM_OPT not found; run \`npm ci\` in $JS_DIR first (it installs binaryen's wasm-opt)" >&2
    exit 1
fi

echo "build.sh: compiling topk-js for wasm32-unknown-unknown" >&2
cargo build -p topk-js --target wasm32-unknown-unknown --release --manifest-path "$REPO_DIR/Cargo.toml"

echo "build.sh: generating bindings with wasm-bindgen $found_version" >&2
rm -rf "$JS_DIR/pkg/web" "$JS_DIR/pkg/node" "$JS_DIR/dashboard/pkg"
wasm-bindgen --target web --out-dir "$JS_DIR/pkg/web" "$WASM_INPUT"
wasm-bindgen --target nodejs --out-dir "$JS_DIR/pkg/node" "$WASM_INPUT"
# js/package.json declares "type": "module", but the Node build is CommonJS, so its folder declares that.
printf '{\n  "type": "commonjs"\n}\n' > "$JS_DIR/pkg/node/package.json"

# Both targets embed the same WebAssembly module, so it is optimized once and copied.
echo "build.sh: optimizing with $("$WASM_OPT" --version)" >&2
"$WASM_OPT" -O3 "$JS_DIR/pkg/web/topk_js_bg.wasm" -o "$JS_DIR/pkg/web/topk_js_bg.wasm"
cp "$JS_DIR/pkg/web/topk_js_bg.wasm" "$JS_DIR/pkg/node/topk_js_bg.wasm"

mkdir -p "$JS_DIR/dashboard/pkg"
cp "$JS_DIR/pkg/web/topk_js.js" "$JS_DIR/pkg/web/topk_js.d.ts" "$JS_DIR/pkg/web/topk_js_bg.wasm" "$JS_DIR/dashboard/pkg/"
echo "build.sh: wrote $JS_DIR/pkg/web, $JS_DIR/pkg/node and $JS_DIR/dashboard/pkg" >&2

#!/usr/bin/env bash
# Cached top-K query latency of `topk run` under wrk load while it ingests a followed file.
# Needs: wrk (apt-get install wrk), a release build of topk and the component.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p topk-host
exec python3 scripts/bench-host.py latency --topk "$target/release/topk" "$@"

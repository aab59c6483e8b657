#!/usr/bin/env bash
# Staleness of `topk run`: time from appending an event to a followed file until a query
# returns it, with appends at 1 M events/s. Needs a release build of topk and the component.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p topk-host
exec python3 scripts/bench-host.py staleness --topk "$target/release/topk" "$@"

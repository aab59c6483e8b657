#!/usr/bin/env bash
# Builds the JS package and runs its Node and Chromium tests against native fixtures.
#   bash js/scripts/test.sh
# Environment: CARGO_TARGET_DIR (default target/), CHROMIUM (default /usr/bin/chromium),
# TOPK_E2E_SNAPSHOTS (default target/e2e: *.snap files from the host and the SmartModule).
# Exits non-zero when a build step or a test fails; the last lines are node's test summary.
set -euo pipefail

JS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$JS_DIR/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_DIR/target}"

bash "$JS_DIR/scripts/build.sh"

# One set of native fixtures for every test file; generated fresh so they match this build.
FIXTURES_DIR="$TARGET_DIR/js-fixtures"
rm -rf "$FIXTURES_DIR"
echo "test.sh: writing native fixtures to $FIXTURES_DIR" >&2
(cd "$REPO_DIR" && cargo run --quiet -p topk-js --example fixtures -- generate "$FIXTURES_DIR")

cd "$REPO_DIR"
TOPK_JS_FIXTURES="$FIXTURES_DIR" node --test js/test/

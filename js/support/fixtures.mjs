// Native fixtures for the tests: snapshots and expected answers written by the Rust example
// `js/examples/fixtures.rs` with the sketch core, so every JavaScript result is compared with
// the native one.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const JS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = resolve(JS_DIR, "..");

let generatedDir = null;

/**
 * Runs the fixtures example with `args` through cargo and throws with its output when it fails.
 */
export function runFixtures(args) {
  const result = spawnSync("cargo", ["run", "--quiet", "-p", "topk-js", "--example", "fixtures", "--", ...args], {
    cwd: REPO_DIR,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.status !== 0) {
    throw new Error(`cargo run --example fixtures -- ${args.join(" ")} failed (status ${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Returns the directory of the native fixtures: $TOPK_JS_FIXTURES when set (js/scripts/test.sh
 * generates it once for all test files), else a fresh temporary directory generated now.
 */
export function fixturesDir() {
  const fromEnv = process.env.TOPK_JS_FIXTURES;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, "nasa-hosts-merged.snap"))) {
      throw new Error(`TOPK_JS_FIXTURES=${fromEnv} has no nasa-hosts-merged.snap; generate it with \`cargo run -p topk-js --example fixtures -- generate ${fromEnv}\``);
    }
    return fromEnv;
  }
  if (generatedDir === null) {
    generatedDir = mkdtempSync(join(tmpdir(), "topk-js-fixtures-"));
    runFixtures(["generate", generatedDir]);
  }
  return generatedDir;
}

/** Reads a fixture file as a Uint8Array. */
export function readSnapshot(path) {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Reads a fixture file as JSON. */
export function readExpected(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Formats bytes as lower-case hex, as the fixtures write `itemHex`. */
export function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

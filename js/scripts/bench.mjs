// Benchmarks merging 100 snapshots of map size 1024 in Chromium against the native merge.
//   bash js/scripts/build.sh && node js/scripts/bench.mjs [RUNS]
// The native fixtures example (release build) writes 100 snapshots and times the native decode
// and merge. Then the page js/bench/bench.html times the same merge in Chromium. Both timings and
// their ratio are printed as a Markdown table.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { JS_DIR, REPO_DIR } from "../support/fixtures.mjs";
import { startServer } from "../support/server.mjs";

const runs = Number(process.argv[2] ?? 21);
if (!Number.isInteger(runs) || runs < 1) {
  throw new Error(`invalid RUNS ${process.argv[2]}: pass a positive integer`);
}
if (!existsSync(join(JS_DIR, "dashboard", "pkg", "topk_js_bg.wasm"))) {
  throw new Error("js/dashboard/pkg is missing; run `bash js/scripts/build.sh` first");
}

const dataDir = join(process.env.CARGO_TARGET_DIR ?? join(REPO_DIR, "target"), "js-bench");
const generated = spawnSync("cargo", ["run", "--quiet", "--release", "-p", "topk-js", "--example", "fixtures", "--", "bench", dataDir], {
  cwd: REPO_DIR,
  stdio: ["ignore", "inherit", "inherit"],
});
if (generated.status !== 0) {
  throw new Error(`cargo run --release --example fixtures -- bench ${dataDir} failed with status ${generated.status}`);
}
const native = JSON.parse(readFileSync(join(dataDir, "native.json"), "utf8"));

const server = await startServer({ mounts: { "/": join(JS_DIR, "dashboard"), "/bench/": join(JS_DIR, "bench"), "/bench-data/": dataDir } });
const userDataDir = mkdtempSync(join(tmpdir(), "topk-chromium-bench-"));
let browser;
try {
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  await page.goto(`${server.url}/bench/bench.html?runs=${runs}`);
  await page.waitForFunction(() => window.benchResult !== undefined, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.benchResult);
  if (result.error) {
    throw new Error(`benchmark page failed: ${result.error}`);
  }
  if (!result.equalsNative) {
    throw new Error("the merge in Chromium differs from the native merge; the timings would compare different work");
  }

  const ratio = (value) => (value / native.decodeAndMergeMedianMs).toFixed(1);
  console.log(`Chromium: ${result.userAgent}`);
  console.log(`${result.snapshots} snapshots, ${result.inputBytes} bytes, ${result.runs} runs each, medians:`);
  console.log("");
  console.log("| step | Chromium (ms) | native (ms) | Chromium / native |");
  console.log("|---|---|---|---|");
  console.log(`| decode 100 + merge | ${result.decodeAndMergeMedianMs.toFixed(1)} | ${native.decodeAndMergeMedianMs.toFixed(1)} | ${ratio(result.decodeAndMergeMedianMs)} |`);
  console.log(`| decode 100 + merge + top 10 | ${result.decodeMergeTop10MedianMs.toFixed(1)} | | |`);
  console.log(`| merge 99 decoded (+ decode 1) | ${result.mergeOnlyMedianMs.toFixed(1)} | ${native.mergeOnlyMedianMs.toFixed(1)} | ${(result.mergeOnlyMedianMs / native.mergeOnlyMedianMs).toFixed(1)} |`);
  console.log("");
  console.log(`slowest Chromium decode + merge run: ${result.decodeAndMergeMaxMs.toFixed(1)} ms; merged bytes equal the native merge: ${result.equalsNative}`);
} finally {
  await browser?.close();
  await server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

// Browser tests of the dashboard: Debian Chromium driven by playwright-core loads the dashboard
// from a local server, merges snapshots in WebAssembly, and every table is compared with the
// native core's merge of the same snapshots.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";

import { JS_DIR, REPO_DIR, fixturesDir, readExpected, readSnapshot, runFixtures } from "../support/fixtures.mjs";
import { startServer } from "../support/server.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS_DIR = join(REPO_DIR, "tests", "artifacts");
const E2E_DIR = process.env.TOPK_E2E_SNAPSHOTS ?? join(REPO_DIR, "target", "e2e");
/** Rows the chart draws at most (CHART_ROWS in dashboard/chart.js). */
const CHART_ROWS = 50;
/** Every element the dashboard itself creates; a snapshot's text must never add another. */
const DASHBOARD_TAGS = new Set(
  ("html head meta title link script body header h1 p main section div label code input button fieldset legend " +
    "select option output table caption thead tbody tr th td dl dt dd figure figcaption svg g line text rect")
    .split(" "),
);

const dir = fixturesDir();
const dimensionDir = join(dir, "dimension");

/** What the mock host API returns; tests change it. */
const api = { mode: "snapshots", snapshot: null, heavyHitters: null, requests: [] };

let server;
let browser;
let userDataDir;

function answerApi(request, response, url) {
  if (!url.pathname.startsWith("/api/v1/")) {
    return false;
  }
  api.requests.push(url.pathname + url.search);

  if (api.mode === "failing") {
    response.writeHead(500, { "content-type": "text/plain" });
    response.end("state store unavailable <img src=x onerror=alert(5)>");
  } else if (url.pathname === "/api/v1/snapshots" && api.mode === "snapshots") {
    response.writeHead(200, { "content-type": "application/octet-stream" });
    response.end(api.snapshot);
  } else if (url.pathname === "/api/v1/heavy-hitters" && api.heavyHitters !== null) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(api.heavyHitters));
  } else {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: `not found: ${url.pathname}` }));
  }
  return true;
}

before(async () => {
  assert.ok(existsSync(join(JS_DIR, "dashboard", "pkg", "topk_js_bg.wasm")), "js/dashboard/pkg is missing; run js/scripts/build.sh first");
  server = await startServer({ mounts: { "/": join(JS_DIR, "dashboard"), "/fixtures/": dir }, handle: answerApi });
  userDataDir = mkdtempSync(join(tmpdir(), "topk-chromium-"));
  browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (userDataDir) {
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

/**
 * Opens the dashboard in a new page and records dialogs, page errors and console errors, which
 * every test expects to stay empty.
 */
async function openDashboard() {
  const page = await browser.newPage();
  const problems = { dialogs: [], errors: [], failedRequests: [] };
  page.on("dialog", async (dialog) => {
    problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("pageerror", (error) => problems.errors.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400) {
      const url = new URL(response.url());
      problems.failedRequests.push(`${response.status()} ${url.pathname}${url.search}`);
    }
  });
  page.on("console", (message) => {
    // Chromium logs every failed request as "Failed to load resource"; failedRequests has its URL.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.errors.push(`console error: ${message.text()}`);
    }
  });
  await page.goto(`${server.url}/`);
  await page.waitForSelector("body[data-state=ready]");
  return { page, problems };
}

/** Waits until the dashboard has rendered after `action`. */
async function afterRender(page, action) {
  const before = await page.evaluate(() => Number(document.body.dataset.renders ?? 0));
  await action();
  await page.waitForFunction((count) => Number(document.body.dataset.renders ?? 0) > count, before);
}

/** Reads the top-K table as rows of cell texts. */
function readTable(page) {
  return page.$$eval("#topk-table tbody tr", (rows) => rows.map((row) => Array.from(row.cells, (cell) => cell.textContent)));
}

/** Reads the summary figures. */
function readStats(page) {
  return page.evaluate(() => ({
    snapshots: document.getElementById("stat-snapshots").textContent,
    totalWeight: document.getElementById("stat-total-weight").textContent,
    maximumError: document.getElementById("stat-maximum-error").textContent,
    distinct: document.getElementById("stat-distinct").textContent,
  }));
}

const digits = (text) => text.replaceAll(",", "");

/** Asserts that the table lists exactly the native rows, in order. */
function assertTableEquals(table, expected, label) {
  assert.equal(table.length, expected.rows.length, `${label}: row count`);
  table.forEach((cells, index) => {
    const want = expected.rows[index];
    assert.deepEqual(
      [cells[0], cells[1], digits(cells[2]), digits(cells[3]), digits(cells[4])],
      [String(index + 1), want.item, want.estimate, want.lowerBound, want.upperBound],
      `${label}: row ${index + 1}`,
    );
  });
}

/** Asserts that the summary figures are the native merge's. */
async function assertStatsEqual(page, expected, snapshots, label) {
  const stats = await readStats(page);
  assert.equal(stats.snapshots, String(snapshots), `${label}: snapshots merged`);
  assert.equal(digits(stats.totalWeight), expected.totalWeight, `${label}: total weight`);
  assert.equal(digits(stats.maximumError), expected.maximumError, `${label}: maximum error`);
  assert.equal(digits(stats.distinct), `≈ ${Math.round(expected.distinct)}`, `${label}: distinct`);
}

/** Asserts that the chart draws one bar and one error bar per row, up to CHART_ROWS. */
async function assertChartDrawn(page, rows, label) {
  const chart = await page.evaluate(() => ({
    bars: Array.from(document.querySelectorAll("#chart rect.bar"), (bar) => Number(bar.getAttribute("width"))),
    errorBars: document.querySelectorAll("#chart line.error-bar").length,
    labels: Array.from(document.querySelectorAll("#chart text.label"), (label) => label.textContent),
  }));
  const drawn = Math.min(rows, CHART_ROWS);
  assert.equal(chart.bars.length, drawn, `${label}: bars`);
  assert.equal(chart.errorBars, drawn, `${label}: error bars`);
  assert.ok(chart.bars.every((width) => width > 0), `${label}: every bar has a width`);
  assert.ok(chart.bars[0] >= chart.bars[chart.bars.length - 1], `${label}: bars follow the estimates`);
  return chart;
}

/**
 * Asserts that no dialog opened, no script failed, no request failed except `allowedFailures`,
 * and the page holds only dashboard elements.
 */
async function assertInert(page, problems, label, allowedFailures = []) {
  const tags = await page.evaluate(() => [...new Set(Array.from(document.querySelectorAll("*"), (node) => node.localName))]);
  const handlers = await page.evaluate(() =>
    Array.from(document.querySelectorAll("*")).flatMap((node) =>
      Array.from(node.attributes).filter((attribute) => attribute.name.startsWith("on")).map((attribute) => `${node.localName}[${attribute.name}]`),
    ),
  );
  assert.deepEqual(tags.filter((tag) => !DASHBOARD_TAGS.has(tag)), [], `${label}: elements the dashboard never creates`);
  assert.deepEqual(handlers, [], `${label}: inline event handlers`);
  assert.deepEqual(problems.dialogs, [], `${label}: dialogs`);
  assert.deepEqual(problems.errors, [], `${label}: errors`);
  assert.deepEqual(problems.failedRequests.filter((request) => !allowedFailures.includes(request)), [], `${label}: failed requests`);
}

test("merged NASA table equals native merge", async () => {
  const { page, problems } = await openDashboard();
  const parts = [2, 0, 1].map((part) => join(dir, `nasa-hosts-p${part}.snap`));
  const expected = readExpected(join(dir, "nasa-hosts-merged.json"));

  await afterRender(page, () => page.setInputFiles("#file-input", parts));
  assertTableEquals(await readTable(page), { rows: expected.rows.slice(0, 10) }, "K=10");
  await afterRender(page, () => page.selectOption("#k-select", "all"));
  assertTableEquals(await readTable(page), expected, "K=all");
  await assertStatsEqual(page, expected, 3, "NASA hosts");
  await assertChartDrawn(page, expected.rows.length, "NASA hosts");

  await afterRender(page, () => page.selectOption("#k-select", "25"));
  await page.screenshot({ path: join(ARTIFACTS_DIR, "dashboard-nasa-hosts.png"), fullPage: true });
  await assertInert(page, problems, "NASA hosts");
  await page.close();
});

test("dropped files merge like chosen files", async () => {
  const { page, problems } = await openDashboard();
  const expected = readExpected(join(dir, "nasa-hosts-merged.json"));

  await page.selectOption("#k-select", "all");
  await afterRender(page, () =>
    page.evaluate(async (names) => {
      const transfer = new DataTransfer();
      for (const name of names) {
        const bytes = await (await fetch(`/fixtures/${name}`)).arrayBuffer();
        transfer.items.add(new File([bytes], name, { type: "application/octet-stream" }));
      }
      document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, ["nasa-hosts-p1.snap", "nasa-hosts-p0.snap", "nasa-hosts-p2.snap"]),
  );

  assertTableEquals(await readTable(page), expected, "dropped parts");
  await assertStatsEqual(page, expected, 3, "dropped parts");
  await assertInert(page, problems, "dropped parts");
  await page.close();
});

test("hostile items render as inert text", async () => {
  const { page, problems } = await openDashboard();
  const expected = readExpected(join(dir, "hostile.json"));

  await afterRender(page, () => page.setInputFiles("#file-input", [join(dir, "hostile.snap")]));
  const table = await readTable(page);
  assertTableEquals(table, expected, "hostile");
  assert.equal(table[0][1], "<img src=x onerror=alert(1)>");
  assert.equal(table[3][1], "bad\\xFF\\xFEbytes");
  assert.equal(await page.getAttribute("#topk-table tbody tr:nth-child(4) td.item", "class"), "item escaped");

  const chart = await assertChartDrawn(page, expected.rows.length, "hostile");
  assert.equal(chart.labels[0], "<img src=x onerror=alert(1)>");
  const dimension = await page.$$eval("#dimension-select option", (options) => options.map((option) => option.textContent));
  assert.deepEqual(dimension, ["label=<b onmouseover=alert(4)>x</b>"]);

  // An injected <img src=x> would fail to load and fire onerror within this time.
  await page.hover("#chart g.row text.label");
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(ARTIFACTS_DIR, "dashboard-hostile-items.png"), fullPage: true });
  await assertInert(page, problems, "hostile");
  await page.close();
});

test("invalid file shows its error and the rest merge", async () => {
  const { page, problems } = await openDashboard();
  const brokenDir = mkdtempSync(join(tmpdir(), "topk-broken-"));
  const broken = join(brokenDir, "broken.snap");
  writeFileSync(broken, readSnapshot(join(dir, "nasa-hosts-p0.snap")).subarray(0, 100));

  await afterRender(page, () => page.setInputFiles("#file-input", [broken, join(dir, "big-weights.snap")]));
  rmSync(brokenDir, { recursive: true, force: true });

  const messages = await page.$$eval("#messages p", (paragraphs) => paragraphs.map((paragraph) => paragraph.textContent));
  assert.equal(messages.length, 1);
  assert.match(messages[0], /^broken\.snap: invalid snapshot: (truncated input|checksum mismatch)/);
  assertTableEquals(await readTable(page), readExpected(join(dir, "big-weights.json")), "big weights");
  assert.equal(digits((await readStats(page)).totalWeight), readExpected(join(dir, "big-weights.json")).totalWeight);
  await assertInert(page, problems, "invalid file");
  await page.close();
});

test("dimension and window filters select snapshots", async () => {
  const { page, problems } = await openDashboard();
  const files = readdirSync(dimensionDir).filter((name) => /^response-\d+-w\d\.snap$/.test(name)).map((name) => join(dimensionDir, name));
  assert.equal(files.length, 9);

  await page.selectOption("#k-select", "all");
  await afterRender(page, () => page.setInputFiles("#file-input", files));
  const dimensions = await page.$$eval("#dimension-select option", (options) => options.map((option) => option.textContent));
  assert.deepEqual(dimensions, ["response=200", "response=304", "response=404"]);
  assertTableEquals(await readTable(page), readExpected(join(dimensionDir, "response-200-all.json")), "response=200, all windows");

  await afterRender(page, () => page.selectOption("#dimension-select", "response=404"));
  const all404 = readExpected(join(dimensionDir, "response-404-all.json"));
  assertTableEquals(await readTable(page), all404, "response=404, all windows");
  await assertStatsEqual(page, all404, 3, "response=404, all windows");
  assert.equal(await page.$$eval("#window-select option", (options) => options.length), 4);

  const second = readExpected(join(dimensionDir, "response-404-w1.json"));
  await afterRender(page, () => page.selectOption("#window-select", `${second.window.start}/${second.window.end}`));
  assertTableEquals(await readTable(page), second, "response=404, second window");
  await assertStatsEqual(page, second, 1, "response=404, second window");
  await assertInert(page, problems, "filters");
  await page.close();
});

test("live mode polls the host API", async () => {
  const { page, problems } = await openDashboard();
  const merged = readExpected(join(dir, "nasa-hosts-merged.json"));
  api.mode = "snapshots";
  api.snapshot = readSnapshot(join(dir, "nasa-hosts-merged.snap"));
  api.requests = [];

  await page.selectOption("#k-select", "all");
  await page.fill("#live-window", "last_day");
  await page.selectOption("#live-interval", "1000");
  await afterRender(page, () => page.check("#live-toggle"));
  assertTableEquals(await readTable(page), merged, "live snapshot");
  assert.equal(digits((await readStats(page)).totalWeight), merged.totalWeight);
  assert.ok(api.requests.includes("/api/v1/snapshots?window=last_day"), `requests: ${api.requests.join(", ")}`);

  // A host without the snapshots endpoint: the dashboard falls back to heavy hitters as JSON.
  const hostile = readExpected(join(dir, "hostile.json"));
  api.mode = "heavy-hitters";
  api.heavyHitters = {
    rows: hostile.rows.map((row) => ({
      item: row.item,
      estimated_count: Number(row.estimate),
      lower_bound: Number(row.lowerBound),
      upper_bound: row.upperBound,
      error_bound: Number(row.upperBound) - Number(row.lowerBound),
      last_updated: "1995-08-01T12:00:00Z",
    })),
    metadata: { window_start: "1995-08-01T11:00:00Z", window_end: "1995-08-01T12:00:00Z", consistency_lag: "PT0.2S", version: 7, accuracy: 0.01 },
  };
  await page.waitForFunction(() => document.querySelector("#topk-table tbody td.item")?.textContent === "<img src=x onerror=alert(1)>");
  assertTableEquals(await readTable(page), hostile, "live heavy hitters");
  assert.ok(api.requests.some((path) => path.startsWith("/api/v1/heavy-hitters?k=10000&window=last_day")), `requests: ${api.requests.join(", ")}`);
  assert.match(await page.textContent("#live-status"), /^updated .* from \/api\/v1\/heavy-hitters/);

  // A failing host: the status shows the error as text, keeps the last rows and keeps polling.
  api.mode = "failing";
  await page.waitForFunction(() => document.getElementById("live-status").textContent.startsWith("poll failed"));
  assert.match(
    await page.textContent("#live-status"),
    /^poll failed at .*: GET \/api\/v1\/snapshots\?window=last_day returned 500: state store unavailable <img src=x onerror=alert\(5\)>; retrying$/,
  );
  assertTableEquals(await readTable(page), hostile, "rows kept while the host fails");
  const failedPolls = api.requests.length;
  await page.waitForFunction((count) => document.body.dataset.renders > count, Number(await page.evaluate(() => document.body.dataset.renders)));
  assert.ok(api.requests.length > failedPolls, "polling continues after a failure");

  await page.uncheck("#live-toggle");
  const polls = api.requests.length;
  await page.waitForTimeout(1500);
  assert.equal(api.requests.length, polls, "no poll after live mode is off");
  await assertInert(page, problems, "live", ["404 /api/v1/snapshots?window=last_day", "500 /api/v1/snapshots?window=last_day"]);
  await page.close();
});

test("host and SmartModule snapshots merge like native", async (t) => {
  const files = existsSync(E2E_DIR) ? readdirSync(E2E_DIR).filter((name) => name.endsWith(".snap")).sort() : [];
  if (files.length === 0) {
    t.skip(`no *.snap files in ${E2E_DIR} (set TOPK_E2E_SNAPSHOTS); the NASA tests above cover natively built snapshots`);
    return;
  }

  // Partitions "NAME-pN.snap" merge into one view; every other file is shown alone.
  const groups = new Map();
  for (const name of files) {
    const key = name.match(/^(.*)-p\d+\.snap$/)?.[1] ?? name;
    groups.set(key, [...(groups.get(key) ?? []), join(E2E_DIR, name)]);
  }

  const expectedDir = mkdtempSync(join(tmpdir(), "topk-e2e-expected-"));
  try {
    for (const [key, paths] of groups) {
      const prefix = join(expectedDir, basename(key));
      runFixtures(["merge", prefix, ...paths]);
      const expected = readExpected(`${prefix}.json`);
      if (expected.error) {
        t.diagnostic(`${key}: the native merge fails, so the dashboard cannot merge it either: ${expected.error}`);
        continue;
      }

      const { page, problems } = await openDashboard();
      await page.selectOption("#k-select", "all");
      await afterRender(page, () => page.setInputFiles("#file-input", paths));
      assertTableEquals(await readTable(page), expected, key);
      await assertStatsEqual(page, expected, paths.length, key);
      await assertChartDrawn(page, expected.rows.length, key);
      await page.screenshot({ path: join(ARTIFACTS_DIR, `dashboard-e2e-${basename(key)}.png`), fullPage: true });
      await assertInert(page, problems, key);
      await page.close();
      t.diagnostic(`${key}: ${paths.length} snapshot(s), ${expected.rows.length} rows equal the native merge`);
    }
  } finally {
    rmSync(expectedDir, { recursive: true, force: true });
  }
});

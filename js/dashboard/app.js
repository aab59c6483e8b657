// The topk dashboard: loads snapshot files or polls a running host, merges with the topk
// WebAssembly module and shows the merged top-K as a table and a chart.
//
// Every string that comes from a snapshot or the API (items, dimension values, error messages)
// is written with textContent or as an attribute value, never parsed as HTML.

import { renderChart } from "./chart.js";
import { dimensionKey, formatCount, formatEstimate, formatTime, formatWindow, windowKey } from "./format.js";

/** The window selector's value that merges every window. */
const ALL_WINDOWS = "all";

/** `topK` argument for "all": every tracked item qualifies. */
const ALL_ROWS = Infinity;

/** Most rows requested from the heavy-hitters endpoint when K is "all". */
const LIVE_ALL_ROWS = 10000;

/** Status codes of a host without the snapshots endpoint; the live mode then reads heavy hitters. */
const NO_SNAPSHOT_ENDPOINT = new Set([404, 405, 501]);

const state = {
  /** Loaded files sorted by name: `{name, size, bytes, window, dimension, totalWeight, error}`. */
  files: [],
  k: 10,
  dimension: null,
  window: ALL_WINDOWS,
  live: { running: false, generation: 0, timer: null },
};

/** The wasm-bindgen module, set once it has loaded. */
let topk = null;
let renderCount = 0;

const byId = (id) => document.getElementById(id);

async function start() {
  try {
    topk = await import("./pkg/topk_js.js");
    await topk.default();
  } catch (error) {
    showMessages([
      `Could not load the topk WebAssembly module from ./pkg/ (${error.message}). ` +
        "Build it with js/scripts/build.sh, which writes js/dashboard/pkg/.",
    ]);
    document.body.dataset.state = "failed";
    return;
  }

  bindEvents();
  render();
  document.body.dataset.state = "ready";

  const parameters = new URLSearchParams(location.search);
  if (parameters.has("live")) {
    byId("live-window").value = parameters.get("window") || byId("live-window").value;
    byId("live-toggle").checked = true;
    startLive();
  }
}

function bindEvents() {
  const input = byId("file-input");
  input.addEventListener("change", async () => {
    await addFiles(input.files);
    input.value = "";
  });

  const dropZone = byId("drop-zone");
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });
  // A file dropped next to the zone would make the browser navigate away from the dashboard.
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => event.preventDefault());

  byId("clear-files").addEventListener("click", () => {
    state.files = [];
    render();
  });
  byId("k-select").addEventListener("change", (event) => {
    state.k = event.target.value === "all" ? ALL_ROWS : Number(event.target.value);
    refresh();
  });
  byId("dimension-select").addEventListener("change", (event) => {
    state.dimension = event.target.value;
    state.window = ALL_WINDOWS;
    render();
  });
  byId("window-select").addEventListener("change", (event) => {
    state.window = event.target.value;
    render();
  });

  byId("live-toggle").addEventListener("change", (event) => (event.target.checked ? startLive() : stopLive()));
  byId("live-window").addEventListener("change", restartLiveIfRunning);
  byId("live-interval").addEventListener("change", restartLiveIfRunning);
}

/** Redraws from the live API when live, else from the loaded files. */
function refresh() {
  if (state.live.running) {
    startLive();
  } else {
    render();
  }
}

/** Reads and decodes dropped or chosen files; a file with an existing name replaces it. */
async function addFiles(fileList) {
  if (state.live.running) {
    byId("live-toggle").checked = false;
    stopLive();
  }

  const entries = await Promise.all(Array.from(fileList, readSnapshotFile));
  for (const entry of entries) {
    const index = state.files.findIndex((file) => file.name === entry.name);
    if (index >= 0) {
      state.files[index] = entry;
    } else {
      state.files.push(entry);
    }
  }
  // Merges run in name order, so the same files give the same result in any drop order.
  state.files.sort((a, b) => compareValues(a.name, b.name));
  render();
}

async function readSnapshotFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const entry = { name: file.name, size: bytes.length, bytes, error: null };
  let snapshot = null;
  try {
    snapshot = topk.Snapshot.fromBytes(bytes);
    entry.window = snapshot.window;
    entry.dimension = snapshot.dimension;
    entry.totalWeight = snapshot.totalWeight;
  } catch (error) {
    entry.error = error.message;
  } finally {
    snapshot?.free();
  }
  return entry;
}

/** Returns the distinct values of `keys` in first-seen order. */
function unique(keys) {
  return [...new Set(keys)];
}

/** Replaces the options of a select; disables it when there is nothing to choose. */
function fillSelect(select, options, selected) {
  select.replaceChildren(
    ...options.map(({ value, label }) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      option.selected = value === selected;
      return option;
    }),
  );
  select.disabled = options.length <= 1;
}

/** Merges the loaded files that the dimension and window selectors select, and shows them. */
function render() {
  if (state.live.running) {
    return;
  }
  renderFileTable();

  const valid = state.files.filter((file) => file.error === null);
  const messages = state.files.filter((file) => file.error !== null).map((file) => `${file.name}: ${file.error}`);

  // Snapshots of different dimensions cannot merge, so one dimension is shown at a time.
  const dimensions = unique(valid.map((file) => dimensionKey(file.dimension))).sort();
  if (!dimensions.includes(state.dimension)) {
    state.dimension = dimensions[0] ?? null;
  }
  fillSelect(
    byId("dimension-select"),
    dimensions.map((key) => ({ value: key, label: key === "" ? "none" : key })),
    state.dimension,
  );

  const inDimension = valid.filter((file) => dimensionKey(file.dimension) === state.dimension);
  const windows = [];
  for (const file of inDimension) {
    if (!windows.some((window) => windowKey(window) === windowKey(file.window))) {
      windows.push(file.window);
    }
  }
  windows.sort((a, b) => compareWindows(a, b));
  if (state.window !== ALL_WINDOWS && !windows.some((window) => windowKey(window) === state.window)) {
    state.window = ALL_WINDOWS;
  }
  fillSelect(
    byId("window-select"),
    [
      { value: ALL_WINDOWS, label: `all windows (${windows.length})` },
      ...windows.map((window) => ({ value: windowKey(window), label: formatWindow(window) })),
    ],
    state.window,
  );

  const selected = inDimension.filter((file) => state.window === ALL_WINDOWS || windowKey(file.window) === state.window);
  if (selected.length === 0) {
    showStats(null);
    renderRows([]);
    showMessages(messages);
    finishRender();
    return;
  }

  let merged = null;
  try {
    merged = topk.mergeSnapshots(selected.map((file) => file.bytes));
    renderRows(merged.topK(state.k));
    showStats({
      snapshots: String(selected.length),
      totalWeight: formatCount(merged.totalWeight),
      maximumError: formatCount(merged.maximumError),
      distinct: formatEstimate(merged.distinct()),
      window: formatWindow(merged.window),
    });
  } catch (error) {
    messages.push(`Merging ${selected.length} snapshots failed: ${error.message}`);
    showStats(null);
    renderRows([]);
  } finally {
    merged?.free();
  }
  showMessages(messages);
  finishRender();
}

/** Orders windows by start then end; "no window" sorts first. */
function compareWindows(a, b) {
  if (a === undefined || b === undefined) {
    return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  }
  const byStart = compareValues(BigInt(a.start), BigInt(b.start));
  if (byStart !== 0) {
    return byStart;
  }
  return compareValues(BigInt(a.end), BigInt(b.end));
}

/** Compares two strings or two BigInts with `<`, returning -1, 0 or 1 as sort expects. */
function compareValues(a, b) {
  if (a < b) {
    return -1;
  }
  if (a > b) {
    return 1;
  }
  return 0;
}

function finishRender() {
  renderCount += 1;
  document.body.dataset.renders = String(renderCount);
}

/** Creates a table cell holding `text` as text. */
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) {
    td.className = className;
  }
  return td;
}

function renderFileTable() {
  const table = byId("file-table");
  table.hidden = state.files.length === 0;
  table.tBodies[0].replaceChildren(
    ...state.files.map((file) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(file.name),
        cell(formatCount(file.size), "number"),
        cell(file.error === null ? formatWindow(file.window) : ""),
        cell(file.error === null ? dimensionKey(file.dimension) || "none" : ""),
        cell(file.error === null ? formatCount(file.totalWeight) : "", "number"),
        cell(file.error === null ? "ok" : "invalid", file.error === null ? "ok" : "invalid"),
      );
      if (file.error !== null) {
        tr.title = file.error;
      }
      return tr;
    }),
  );
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Returns whether `bytes` are valid UTF-8 (the binding escapes them otherwise). */
function isUtf8(bytes) {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Shows rows `{item, itemBytes?, estimate, lowerBound, upperBound}` in the table and chart. */
function renderRows(rows) {
  byId("topk-table").tBodies[0].replaceChildren(
    ...rows.map((row, index) => {
      const tr = document.createElement("tr");
      const item = cell(row.item, "item");
      if (row.itemBytes !== undefined && !isUtf8(row.itemBytes)) {
        item.classList.add("escaped");
        item.title = "not valid UTF-8: bytes outside UTF-8 are shown as \\xNN";
      }
      tr.append(
        cell(String(index + 1), "number"),
        item,
        cell(formatCount(row.estimate), "number estimate"),
        cell(formatCount(row.lowerBound), "number lower-bound"),
        cell(formatCount(row.upperBound), "number upper-bound"),
      );
      return tr;
    }),
  );
  renderChart(byId("chart"), rows);
}

/** Shows the summary figures, or dashes when `stats` is null. */
function showStats(stats) {
  byId("stat-snapshots").textContent = stats?.snapshots ?? "0";
  byId("stat-total-weight").textContent = stats?.totalWeight ?? "–";
  byId("stat-maximum-error").textContent = stats?.maximumError ?? "–";
  byId("stat-distinct").textContent = stats?.distinct ?? "–";
  byId("stat-window").textContent = stats?.window ?? "–";
}

function showMessages(messages) {
  byId("messages").replaceChildren(
    ...messages.map((message) => {
      const paragraph = document.createElement("p");
      paragraph.textContent = message;
      return paragraph;
    }),
  );
}

// Live mode: poll the host that served this page (same origin, so no CORS).

function startLive() {
  cancelPolling();
  state.live.running = true;
  const generation = state.live.generation;
  byId("dimension-select").disabled = true;
  byId("window-select").disabled = true;

  // Each poll starts after the previous one finished, so slow responses never pile up.
  const poll = async () => {
    await pollOnce(generation);
    if (generation === state.live.generation) {
      state.live.timer = setTimeout(poll, Number(byId("live-interval").value));
    }
  };
  poll();
}

/** Stops the pending poll; a poll still in flight finds a newer generation and drops its result. */
function cancelPolling() {
  state.live.generation += 1;
  clearTimeout(state.live.timer);
}

function stopLive() {
  const wasRunning = state.live.running;
  cancelPolling();
  state.live.running = false;
  if (wasRunning) {
    setLiveStatus("off", false);
    render();
  }
}

function restartLiveIfRunning() {
  if (state.live.running) {
    startLive();
  }
}

function setLiveStatus(text, failed) {
  const status = byId("live-status");
  status.textContent = text;
  status.classList.toggle("invalid", failed);
}

async function pollOnce(generation) {
  const windowName = byId("live-window").value.trim() || "last_hour";
  try {
    const view = (await fetchLiveSnapshot(windowName)) ?? (await fetchLiveHeavyHitters(windowName));
    if (generation !== state.live.generation) {
      return;
    }
    renderRows(view.rows);
    showStats(view.stats);
    showMessages([]);
    setLiveStatus(`updated ${formatTime(Date.now())} UTC from ${view.source}`, false);
  } catch (error) {
    if (generation === state.live.generation) {
      setLiveStatus(`poll failed at ${formatTime(Date.now())} UTC: ${error.message}; retrying`, true);
    }
  }
  finishRender();
}

/** Returns the response body as text for an error message, at most 300 characters. */
async function bodyText(response) {
  const text = await response.text().catch(() => "");
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/**
 * Reads `GET /api/v1/snapshots?window=…`, whose body is one snapshot covering the window.
 * Returns null when the host has no such endpoint.
 */
async function fetchLiveSnapshot(windowName) {
  const path = `/api/v1/snapshots?window=${encodeURIComponent(windowName)}`;
  const response = await fetch(path, { cache: "no-store" });
  if (NO_SNAPSHOT_ENDPOINT.has(response.status)) {
    return null;
  }
  if (!response.ok) {
    throw new Error(`GET ${path} returned ${response.status}: ${await bodyText(response)}`);
  }

  const bytes = new Uint8Array(await response.arrayBuffer());
  let snapshot = null;
  try {
    snapshot = topk.Snapshot.fromBytes(bytes);
    return {
      source: path,
      rows: snapshot.topK(state.k),
      stats: {
        snapshots: "live",
        totalWeight: formatCount(snapshot.totalWeight),
        maximumError: formatCount(snapshot.maximumError),
        distinct: formatEstimate(snapshot.distinct()),
        window: formatWindow(snapshot.window),
      },
    };
  } catch (error) {
    throw new Error(`GET ${path}: ${error.message}`);
  } finally {
    snapshot?.free();
  }
}

/** Converts a JSON count (number or decimal string) to a number, or a BigInt above 2^53 - 1. */
function jsonCount(value, field) {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
    return value;
  }
  if (typeof value === "string" && /^[0-9]+$/.test(value)) {
    const count = BigInt(value);
    return count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : count;
  }
  throw new Error(`invalid ${field} ${JSON.stringify(value)}: expected a non-negative integer`);
}

/** Reads `GET /api/v1/heavy-hitters?k=…&window=…` (rows with snake_case fields). */
async function fetchLiveHeavyHitters(windowName) {
  const k = state.k === ALL_ROWS ? LIVE_ALL_ROWS : state.k;
  const path = `/api/v1/heavy-hitters?k=${k}&window=${encodeURIComponent(windowName)}`;
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`GET ${path} returned ${response.status}: ${await bodyText(response)}`);
  }

  const body = await response.json();
  if (!Array.isArray(body?.rows)) {
    throw new Error(`GET ${path} returned no "rows" array`);
  }
  const rows = body.rows.map((row, index) => {
    if (typeof row?.item !== "string") {
      throw new Error(`GET ${path}: row ${index + 1} has no "item" string`);
    }
    return {
      item: row.item,
      estimate: jsonCount(row.estimated_count, `row ${index + 1} estimated_count`),
      lowerBound: jsonCount(row.lower_bound, `row ${index + 1} lower_bound`),
      upperBound: jsonCount(row.upper_bound, `row ${index + 1} upper_bound`),
    };
  });
  const metadata = body.metadata ?? {};
  const window =
    metadata.window_start !== undefined && metadata.window_end !== undefined
      ? `${liveTime(metadata.window_start)} – ${liveTime(metadata.window_end)}`
      : "–";
  return {
    source: path,
    rows,
    stats: { snapshots: "live", totalWeight: "–", maximumError: "–", distinct: "–", window },
  };
}

/** Formats a window bound of the heavy-hitters metadata: epoch milliseconds or a date string. */
function liveTime(value) {
  return typeof value === "number" ? formatTime(value) : String(value);
}

start();

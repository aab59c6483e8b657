// Times merges of the benchmark snapshots in the browser; js/scripts/bench.mjs serves this page
// and reads `window.benchResult`.

import init, { Snapshot, mergeSnapshots } from "../pkg/topk_js.js";

const SNAPSHOTS = 100;
const WARM_UP_RUNS = 3;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function fetchBytes(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`GET ${path} returned ${response.status}; run the benchmark with node js/scripts/bench.mjs`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

async function run() {
  const runs = Number(new URLSearchParams(location.search).get("runs") ?? 21);
  await init();
  const names = Array.from({ length: SNAPSHOTS }, (_, index) => `snapshot-${String(index).padStart(3, "0")}.snap`);
  const inputs = await Promise.all(names.map((name) => fetchBytes(`/bench-data/${name}`)));
  const nativeMerge = await fetchBytes("/bench-data/merged.snap");

  for (let run = 0; run < WARM_UP_RUNS; run += 1) {
    mergeSnapshots(inputs).free();
  }

  // What the dashboard does: decode every file and merge, then read the top 10.
  const decodeAndMerge = [];
  const decodeMergeTopK = [];
  let equalsNative = true;
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    const merged = mergeSnapshots(inputs);
    const mergedAt = performance.now();
    merged.topK(10);
    decodeMergeTopK.push(performance.now() - started);
    decodeAndMerge.push(mergedAt - started);
    equalsNative &&= equalBytes(merged.toBytes(), nativeMerge);
    merged.free();
  }

  // Merges alone, over snapshots decoded beforehand (the first is decoded inside the timing).
  const decoded = inputs.slice(1).map((bytes) => Snapshot.fromBytes(bytes));
  const mergeOnly = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    const merged = Snapshot.fromBytes(inputs[0]);
    for (const snapshot of decoded) {
      merged.merge(snapshot);
    }
    mergeOnly.push(performance.now() - started);
    merged.free();
  }
  decoded.forEach((snapshot) => snapshot.free());

  return {
    snapshots: SNAPSHOTS,
    runs,
    equalsNative,
    inputBytes: inputs.reduce((sum, bytes) => sum + bytes.length, 0),
    decodeAndMergeMedianMs: median(decodeAndMerge),
    decodeAndMergeMaxMs: Math.max(...decodeAndMerge),
    decodeMergeTop10MedianMs: median(decodeMergeTopK),
    mergeOnlyMedianMs: median(mergeOnly),
    userAgent: navigator.userAgent,
  };
}

run().then(
  (result) => {
    window.benchResult = result;
    document.getElementById("result").textContent = JSON.stringify(result, null, 2);
  },
  (error) => {
    window.benchResult = { error: error.message };
    document.getElementById("result").textContent = `failed: ${error.message}`;
  },
);

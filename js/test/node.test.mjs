// Node tests of the @topk/sketch package: every answer is compared with the native sketch core's
// answer for the same snapshot, written by js/examples/fixtures.rs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";

import { Snapshot, mergeSnapshots } from "@topk/sketch";
import { fixturesDir, readExpected, readSnapshot, toHex } from "../support/fixtures.mjs";

const dir = fixturesDir();
const dimensionDir = join(dir, "dimension");

/** Every fixture snapshot that has an expected-answers JSON beside it. */
const SNAPSHOTS_WITH_ANSWERS = [
  ...readdirSync(dir).filter((name) => name.endsWith(".snap")).map((name) => join(dir, name)),
  ...readdirSync(dimensionDir).filter((name) => name.endsWith(".snap")).map((name) => join(dimensionDir, name)),
];

/** Converts a count (number or BigInt) to the decimal string the fixtures use. */
function decimal(count) {
  return typeof count === "bigint" ? count.toString() : String(count);
}

/** Asserts that a count has the type the documented rule gives it and the expected value. */
function assertCount(actual, expectedDecimal, context) {
  const expected = BigInt(expectedDecimal);
  if (expected <= BigInt(Number.MAX_SAFE_INTEGER)) {
    assert.equal(typeof actual, "number", `${context}: ${expectedDecimal} must be a number`);
  } else {
    assert.equal(typeof actual, "bigint", `${context}: ${expectedDecimal} must be a BigInt`);
  }
  assert.equal(decimal(actual), expectedDecimal, context);
}

/** Asserts that every query on a decoded snapshot returns context the native core returns. */
function assertMatchesNative(snapshot, expected, name) {
  const rows = snapshot.topK(Infinity);
  assert.equal(rows.length, expected.rows.length, `${name}: row count`);
  rows.forEach((row, index) => {
    const want = expected.rows[index];
    assert.equal(row.item, want.item, `${name} row ${index}: item`);
    assert.equal(toHex(row.itemBytes), want.itemHex, `${name} row ${index}: itemBytes`);
    assertCount(row.estimate, want.estimate, `${name} row ${index}: estimate`);
    assertCount(row.lowerBound, want.lowerBound, `${name} row ${index}: lowerBound`);
    assertCount(row.upperBound, want.upperBound, `${name} row ${index}: upperBound`);
  });
  assert.equal(snapshot.topK(Infinity, "no-false-positives").length, expected.noFalsePositiveRows, `${name}: no-false-positives rows`);

  for (const want of expected.estimates) {
    const estimate = snapshot.estimate(Buffer.from(want.itemHex, "hex"));
    assertCount(estimate.estimate, want.estimate, `${name} estimate of ${want.itemHex}`);
    assertCount(estimate.lowerBound, want.lowerBound, `${name} lower bound of ${want.itemHex}`);
    assertCount(estimate.upperBound, want.upperBound, `${name} upper bound of ${want.itemHex}`);
  }

  assertCount(snapshot.totalWeight, expected.totalWeight, `${name}: totalWeight`);
  assertCount(snapshot.maximumError, expected.maximumError, `${name}: maximumError`);
  assert.equal(snapshot.distinct(), expected.distinct, `${name}: distinct`);
  assert.equal(snapshot.activeItems, expected.activeItems, `${name}: activeItems`);
  assert.equal(snapshot.maxMapSize, expected.maxMapSize, `${name}: maxMapSize`);
  assert.equal(snapshot.hllPrecision, expected.hllPrecision, `${name}: hllPrecision`);
  assert.deepEqual(snapshot.countMin ?? null, expected.countMin, `${name}: countMin`);
  assertCount(snapshot.lateEvents, expected.lateEvents, `${name}: lateEvents`);
  assertCount(snapshot.malformedRecords, expected.malformedRecords, `${name}: malformedRecords`);

  const window = snapshot.window;
  assert.deepEqual(window && { start: decimal(window.start), end: decimal(window.end) }, expected.window ?? undefined, `${name}: window`);
  const watermark = snapshot.watermark;
  assert.equal(watermark === undefined ? null : decimal(watermark), expected.watermark, `${name}: watermark`);
  const dimension = snapshot.dimension;
  assert.deepEqual(dimension && { name: dimension.name, value: dimension.value }, expected.dimension ?? undefined, `${name}: dimension`);
  const sources = snapshot.sources.map((range) => ({ source: range.source, start: decimal(range.start), end: decimal(range.end) }));
  assert.deepEqual(sources, expected.sources, `${name}: sources`);
}

/** CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as the snapshot trailer uses. */
function crc32c(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Rewrites the CRC32C trailer, so a corruption reaches the field checks behind the checksum. */
function withValidChecksum(bytes) {
  const fixed = Uint8Array.from(bytes);
  new DataView(fixed.buffer).setUint32(fixed.length - 4, crc32c(fixed.subarray(0, fixed.length - 4)), true);
  return fixed;
}

/** Returns the error `action` throws, failing when it returns instead or throws a non-Error. */
function thrownBy(action) {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${error}`);
    assert.ok(!(error instanceof WebAssembly.RuntimeError), `the WebAssembly module trapped: ${error.message}`);
    return error;
  }
  assert.fail("expected an Error to be thrown");
}

test("fixtures cover parts, dimensions and synthetic cases", () => {
  assert.ok(SNAPSHOTS_WITH_ANSWERS.length >= 19, `found only ${SNAPSHOTS_WITH_ANSWERS.length} fixture snapshots in ${dir}`);
});

test("round trip keeps every byte", () => {
  for (const path of SNAPSHOTS_WITH_ANSWERS) {
    const expected = readExpected(path.replace(/\.snap$/, ".json"));
    const bytes = readSnapshot(path);
    const snapshot = Snapshot.fromBytes(bytes);
    const reencoded = snapshot.toBytes();
    assert.equal(toHex(reencoded), expected.reencodedHex, `${path}: native re-encode`);
    assert.deepEqual(reencoded, bytes, `${path}: input bytes`);

    const again = Snapshot.fromBytes(reencoded);
    assertMatchesNative(again, expected, `${path} re-encoded`);
    snapshot.free();
    again.free();
  }
});

test("decoded answers equal native answers", () => {
  for (const path of SNAPSHOTS_WITH_ANSWERS) {
    const snapshot = Snapshot.fromBytes(readSnapshot(path));
    assertMatchesNative(snapshot, readExpected(path.replace(/\.snap$/, ".json")), path);
    snapshot.free();
  }
});

test("mergeSnapshots equals native merge byte for byte", () => {
  const groups = [
    [join(dir, "nasa-hosts-merged"), [0, 1, 2].map((part) => join(dir, `nasa-hosts-p${part}.snap`))],
    ...["200", "304", "404"].map((code) => [
      join(dimensionDir, `response-${code}-all`),
      [0, 1, 2].map((window) => join(dimensionDir, `response-${code}-w${window}.snap`)),
    ]),
  ];
  for (const [prefix, parts] of groups) {
    const merged = mergeSnapshots(parts.map(readSnapshot));
    assert.deepEqual(merged.toBytes(), readSnapshot(`${prefix}.snap`), `${prefix}.snap`);
    assertMatchesNative(merged, readExpected(`${prefix}.json`), prefix);
    merged.free();
  }
});

test("merge method equals native merge byte for byte", () => {
  const [first, ...rest] = [0, 1, 2].map((part) => Snapshot.fromBytes(readSnapshot(join(dir, `nasa-hosts-p${part}.snap`))));
  const restBytes = rest.map((snapshot) => snapshot.toBytes());
  for (const snapshot of rest) {
    first.merge(snapshot);
  }

  assert.deepEqual(first.toBytes(), readSnapshot(join(dir, "nasa-hosts-merged.snap")));
  rest.forEach((snapshot, index) => assert.deepEqual(snapshot.toBytes(), restBytes[index], "merge must not change its argument"));
});

test("merged window covers every part", () => {
  const merged = mergeSnapshots([0, 1, 2].map((part) => readSnapshot(join(dir, `nasa-hosts-p${part}.snap`))));
  const parts = [0, 1, 2].map((part) => readExpected(join(dir, `nasa-hosts-p${part}.json`)));

  assert.equal(decimal(merged.window.start), parts[0].window.start);
  assert.equal(decimal(merged.window.end), parts[2].window.end);
  assert.equal(decimal(merged.totalWeight), String(parts.reduce((sum, part) => sum + Number(part.totalWeight), 0)));
});

test("counts above 2^53 are BigInt", () => {
  const snapshot = Snapshot.fromBytes(readSnapshot(join(dir, "big-weights.snap")));
  const byItem = new Map(snapshot.topK(10).map((row) => [row.item, row]));

  assert.equal(byItem.get("two-to-the-60").estimate, 2n ** 60n);
  assert.equal(byItem.get("two-to-the-60").lowerBound, 2n ** 60n);
  assert.equal(byItem.get("two-to-the-53").upperBound, 2n ** 53n);
  assert.equal(byItem.get("max-safe-integer").lowerBound, Number.MAX_SAFE_INTEGER);
  assert.equal(byItem.get("three").lowerBound, 3);
  assert.equal(snapshot.totalWeight, 2n ** 60n + 2n ** 53n + BigInt(Number.MAX_SAFE_INTEGER) + 3n);
  assert.equal(snapshot.estimate("two-to-the-60").upperBound, 2n ** 60n);
  assert.equal(snapshot.estimate("three").upperBound, 3);
});

test("merge overflowing 2^64 throws and keeps the snapshot", () => {
  const bytes = readSnapshot(join(dir, "big-weights.snap"));
  const snapshot = Snapshot.fromBytes(bytes);
  for (let doubling = 0; doubling < 3; doubling += 1) {
    snapshot.merge(Snapshot.fromBytes(snapshot.toBytes()));
  }
  const before = snapshot.toBytes();

  const error = thrownBy(() => snapshot.merge(Snapshot.fromBytes(before)));
  assert.match(error.message, /weight overflow/);
  assert.deepEqual(snapshot.toBytes(), before);
});

test("item bytes that are not UTF-8 are escaped", () => {
  const snapshot = Snapshot.fromBytes(readSnapshot(join(dir, "hostile.snap")));
  const rows = snapshot.topK(10);
  const escaped = rows.find((row) => row.item.startsWith("bad"));

  assert.equal(rows.length, 6, "no item is dropped");
  assert.equal(escaped.item, "bad\\xFF\\xFEbytes");
  assert.deepEqual(Array.from(escaped.itemBytes), [...Buffer.from("bad"), 0xff, 0xfe, ...Buffer.from("bytes")]);
  assert.equal(rows.find((row) => row.item.startsWith("caf")).item, "café");
  assert.equal(rows[0].item, "<img src=x onerror=alert(1)>");
  assert.equal(snapshot.estimate(escaped.itemBytes).lowerBound, 30);
  assert.equal(snapshot.dimension.value, "<b onmouseover=alert(4)>x</b>");
});

test("truncated snapshots throw naming the field", () => {
  const bytes = readSnapshot(join(dir, "nasa-hosts-p0.snap"));

  assert.match(thrownBy(() => Snapshot.fromBytes(new Uint8Array())).message, /^invalid snapshot: truncated input: magic/);
  assert.match(thrownBy(() => Snapshot.fromBytes(bytes.subarray(0, 5))).message, /^invalid snapshot: truncated input: format version/);
  assert.match(thrownBy(() => Snapshot.fromBytes(bytes.subarray(0, 8))).message, /truncated input: checksum/);
  for (const length of [9, 100, bytes.length >> 1, bytes.length - 1]) {
    const error = thrownBy(() => Snapshot.fromBytes(bytes.subarray(0, length)));
    assert.match(error.message, /^invalid snapshot: (truncated input|checksum mismatch)/, `length ${length}`);
  }
  for (const length of [40, 100, bytes.length >> 1, bytes.length - 5]) {
    const error = thrownBy(() => Snapshot.fromBytes(withValidChecksum(Uint8Array.from([...bytes.subarray(0, length), 0, 0, 0, 0]))));
    assert.match(error.message, /^invalid snapshot: (truncated input|malformed input): /, `length ${length} with a valid checksum`);
  }
});

test("corrupted snapshots throw naming the field", () => {
  const bytes = readSnapshot(join(dir, "nasa-hosts-p0.snap"));
  const corrupt = (offset, value) => {
    const copy = Uint8Array.from(bytes);
    copy[offset] = value;
    return copy;
  };

  assert.match(thrownBy(() => Snapshot.fromBytes(corrupt(0, 0x58))).message, /malformed input: magic/);
  assert.match(thrownBy(() => Snapshot.fromBytes(corrupt(4, 9))).message, /malformed input: format version is 9/);
  assert.match(thrownBy(() => Snapshot.fromBytes(corrupt(200, bytes[200] ^ 0x10))).message, /checksum mismatch: stored CRC32C 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
  assert.match(thrownBy(() => Snapshot.fromBytes(withValidChecksum(corrupt(6, 7)))).message, /malformed input: kind is 7/);
  assert.match(thrownBy(() => Snapshot.fromBytes(withValidChecksum(corrupt(7, 0xf0)))).message, /malformed input: flags/);
});

test("random corruption never traps", () => {
  const bytes = readSnapshot(join(dir, "dimension/response-404-w1.snap"));
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };

  let rejected = 0;
  for (let trial = 0; trial < 2000; trial += 1) {
    const copy = Uint8Array.from(bytes);
    for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips -= 1) {
      copy[Math.floor(random() * (copy.length - 4))] = Math.floor(random() * 256);
    }
    try {
      Snapshot.fromBytes(withValidChecksum(copy)).free();
    } catch (error) {
      assert.ok(error instanceof Error, `trial ${trial}: ${error}`);
      assert.ok(!(error instanceof WebAssembly.RuntimeError), `trial ${trial}: the module trapped: ${error.message}`);
      assert.match(error.message, /^invalid snapshot: /, `trial ${trial}`);
      rejected += 1;
    }
  }
  assert.ok(rejected > 0, "some corruptions must be rejected");

  // The module still works after thousands of rejected inputs.
  assert.deepEqual(Snapshot.fromBytes(bytes).toBytes(), bytes);
});

test("mergeSnapshots names the failing input", () => {
  const good = readSnapshot(join(dir, "nasa-hosts-p0.snap"));
  const status200 = readSnapshot(join(dimensionDir, "response-200-w0.snap"));
  const status404 = readSnapshot(join(dimensionDir, "response-404-w0.snap"));

  assert.match(thrownBy(() => mergeSnapshots([])).message, /at least one snapshot/);
  assert.match(thrownBy(() => mergeSnapshots([good, "not bytes"])).message, /^snapshot 2 of 2: expected a Uint8Array, got string/);
  assert.match(thrownBy(() => mergeSnapshots([good, good.subarray(0, 20), good])).message, /^snapshot 2 of 3: invalid snapshot: /);
  assert.match(
    thrownBy(() => mergeSnapshots([status200, status404])).message,
    /^snapshot 2 of 2: cannot merge: dimension differs \(response=200 here, response=404 in the other sketch\)/,
  );
});

test("failed merge keeps the snapshot", () => {
  const snapshot = Snapshot.fromBytes(readSnapshot(join(dimensionDir, "response-200-w0.snap")));
  const before = snapshot.toBytes();

  const error = thrownBy(() => snapshot.merge(Snapshot.fromBytes(readSnapshot(join(dimensionDir, "response-404-w0.snap")))));
  assert.match(error.message, /dimension differs/);
  assert.deepEqual(snapshot.toBytes(), before);
});

test("bad arguments throw with the fix", () => {
  const snapshot = Snapshot.fromBytes(readSnapshot(join(dir, "nasa-hosts-p0.snap")));

  assert.match(thrownBy(() => snapshot.estimate(42)).message, /invalid item of type number: pass a string or a Uint8Array/);
  assert.match(thrownBy(() => snapshot.topK(5, "exact")).message, /invalid errorType "exact": use "no-false-negatives" or "no-false-positives"/);
  for (const k of [-1, 2.5, Number.NaN, -Infinity]) {
    assert.match(thrownBy(() => snapshot.topK(k)).message, /^invalid k .*: pass a non-negative integer, or Infinity for every row$/, `k = ${k}`);
  }
  assert.equal(snapshot.topK(5).length, 5);
  assert.equal(snapshot.topK(0).length, 0);
  assert.equal(snapshot.topK(Infinity).length, snapshot.topK(2 ** 40).length);
  assert.equal(snapshot.topK(Infinity).length, readExpected(join(dir, "nasa-hosts-p0.json")).rows.length);
});

test("package exports the Node build", async () => {
  const module = await import("@topk/sketch");
  assert.equal(typeof module.Snapshot.fromBytes, "function");
  assert.equal(typeof module.mergeSnapshots, "function");
  assert.equal(module.initSync, undefined, "the Node build is ready on import and has no init function");
});

//! JavaScript binding of the topk sketch core, built with wasm-bindgen for browsers and Node.
//!
//! It loads snapshots written by any topk runtime (host, WebAssembly component, Fluvio
//! SmartModule), merges them with the same code those runtimes use, and runs top-k, point and
//! distinct-count queries on them. A merge here produces the same bytes as the same merge done natively.
//!
//! Counts cross into JavaScript as a `number` while they are at most `Number.MAX_SAFE_INTEGER`
//! (2^53 - 1) and as a `bigint` above, so no count is ever rounded. Item bytes that are not valid
//! UTF-8 are shown with `\xNN` escapes (see [`escape_item`]), and the raw bytes come along.
//!
//! ```js
//! // In a browser; under Node, `import { mergeSnapshots } from "@topk/sketch"` needs no `init`.
//! import init, { mergeSnapshots } from "./pkg/topk_js.js";
//!
//! await init();
//! const merged = mergeSnapshots([bytesOfPartition0, bytesOfPartition1]);
//! for (const row of merged.topK(10)) {
//!   console.log(row.item, row.lowerBound, row.upperBound);
//! }
//! ```

mod convert;
mod text;

use js_sys::{Array, Uint8Array};
use topk_sketch::{snapshot, ErrorType, Summary};
use wasm_bindgen::prelude::*;

pub use text::escape_item;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/**
 * A count: a `number` while it is at most `Number.MAX_SAFE_INTEGER` (2^53 - 1), a `bigint` above.
 * Compare or add mixed counts after converting with `BigInt(count)`.
 */
export type Count = number | bigint;

/** Milliseconds since the Unix epoch: a `number` within +-(2^53 - 1), a `bigint` outside. */
export type Millis = number | bigint;

/** The guarantee that `topK` gives about the rows it keeps or leaves out. */
export type ErrorType = "no-false-negatives" | "no-false-positives";

/** One row of a top-k result. `lowerBound <= true count <= upperBound` always holds. */
export interface TopKRow {
  /** The item as text; bytes that are not valid UTF-8 appear as `\xNN`. */
  item: string;
  /** The item's bytes exactly as they were counted. */
  itemBytes: Uint8Array;
  /** Estimated count (the upper bound of a tracked item). */
  estimate: Count;
  lowerBound: Count;
  upperBound: Count;
}

/** A point estimate with its guaranteed bounds. */
export interface Estimate {
  estimate: Count;
  lowerBound: Count;
  upperBound: Count;
}

/** An event-time window `[start, end)`. */
export interface Window {
  start: Millis;
  end: Millis;
}

/** The field a snapshot is restricted to and its value, as text and as raw bytes. */
export interface Dimension {
  name: string;
  value: string;
  nameBytes: Uint8Array;
  valueBytes: Uint8Array;
}

/** The offsets `[start, end)` counted from one source (a file, stream or Fluvio partition). */
export interface SourceRange {
  source: string;
  sourceBytes: Uint8Array;
  start: Count;
  end: Count;
}

/** The shape of the Count-Min sketch inside a snapshot. */
export interface CountMinShape {
  width: number;
  depth: number;
}
"#;

/// One decoded snapshot: frequent items, distinct count, optional Count-Min and the metadata of
/// the window and sources it covers.
#[wasm_bindgen]
pub struct Snapshot {
    summary: Summary,
}

#[wasm_bindgen]
impl Snapshot {
    /// Decodes a snapshot from its bytes, as the host exports it or the SmartModule emits it.
    ///
    /// # Errors
    ///
    /// Throws an `Error` whose message names the field that is wrong: a bad magic or version, a
    /// truncated field, a checksum mismatch or a malformed value.
    ///
    /// ```js
    /// const snapshot = Snapshot.fromBytes(new Uint8Array(await file.arrayBuffer()));
    /// ```
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, JsError> {
        let summary = snapshot::decode(bytes).map_err(|error| JsError::new(&format!("invalid snapshot: {error}")))?;
        Ok(Snapshot { summary })
    }

    /// Encodes this snapshot (merged or not) in the snapshot format.
    ///
    /// ```js
    /// const copy = Snapshot.fromBytes(snapshot.toBytes());
    /// ```
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        snapshot::encode(&self.summary)
    }

    /// Merges `other` into this snapshot: counts and errors add, windows unite and the distinct
    /// count covers both. `other` is left as it is.
    ///
    /// # Errors
    ///
    /// Throws an `Error` when the dimensions or Count-Min shapes differ, or when the total
    /// weight would exceed 2^64 - 1. This snapshot is then unchanged.
    ///
    /// ```js
    /// partition0.merge(partition1);
    /// ```
    pub fn merge(&mut self, other: &Snapshot) -> Result<(), JsError> {
        self.summary.merge(&other.summary).map_err(|error| JsError::new(&error.to_string()))
    }

    /// Returns up to `k` rows `{item, itemBytes, estimate, lowerBound, upperBound}`, highest
    /// estimate first and ties by item bytes. `k = Infinity` returns every row.
    ///
    /// `errorType` defaults to `"no-false-negatives"`: every item whose true count exceeds the
    /// maximum error is kept (when `k` allows), but some rows may be below it.
    /// `"no-false-positives"` keeps only rows whose lower bound exceeds the maximum error.
    ///
    /// # Errors
    ///
    /// Throws an `Error` when `k` is not a non-negative integer or `Infinity`, or when
    /// `errorType` is neither of the two values above.
    ///
    /// ```js
    /// const [first] = snapshot.topK(10);
    /// ```
    #[wasm_bindgen(js_name = topK, unchecked_return_type = "TopKRow[]")]
    pub fn top_k(
        &self,
        k: f64,
        #[wasm_bindgen(js_name = errorType, unchecked_optional_param_type = "ErrorType")] error_type: Option<String>,
    ) -> Result<Array, JsError> {
        // A number is taken as it is, so -1 or 2.5 is rejected instead of wrapping to a u32.
        let k = if k == f64::INFINITY {
            usize::MAX
        } else if k >= 0.0 && k.fract() == 0.0 {
            // `as` saturates, so a huge k requests every row.
            k as usize
        } else {
            return Err(JsError::new(&format!("invalid k {k}: pass a non-negative integer, or Infinity for every row")));
        };
        let error_type = match error_type.as_deref() {
            None | Some("no-false-negatives") => ErrorType::NoFalseNegatives,
            Some("no-false-positives") => ErrorType::NoFalsePositives,
            Some(other) => {
                return Err(JsError::new(&format!(
                    "invalid errorType {other:?}: use \"no-false-negatives\" or \"no-false-positives\""
                )))
            }
        };

        let rows = Array::new();
        for row in self.summary.top_k(k, error_type) {
            let object = convert::object([
                ("item", convert::text(row.item)),
                ("itemBytes", convert::bytes(row.item)),
                ("estimate", convert::count(row.estimate)),
                ("lowerBound", convert::count(row.lower_bound)),
                ("upperBound", convert::count(row.upper_bound)),
            ]);
            rows.push(&object);
        }
        Ok(rows)
    }

    /// Returns the estimate and guaranteed bounds of one item's count. An item that is not
    /// tracked has lower bound 0 and an upper bound of at most the maximum error.
    ///
    /// # Errors
    ///
    /// Throws an `Error` unless `item` is a string (counted as its UTF-8 bytes) or a `Uint8Array`.
    ///
    /// ```js
    /// const { lowerBound, upperBound } = snapshot.estimate("piweba3y.prodigy.com");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Estimate")]
    pub fn estimate(&self, #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] item: JsValue) -> Result<JsValue, JsError> {
        let bytes = item_bytes(&item)?;
        let estimate = self.summary.estimate(&bytes);
        let object = convert::object([
            ("estimate", convert::count(estimate.estimate)),
            ("lowerBound", convert::count(estimate.lower_bound)),
            ("upperBound", convert::count(estimate.upper_bound)),
        ]);
        Ok(object.into())
    }

    /// Returns the HyperLogLog estimate of the number of distinct items.
    ///
    /// ```js
    /// const hosts = Math.round(snapshot.distinct());
    /// ```
    pub fn distinct(&self) -> f64 {
        self.summary.distinct()
    }

    /// The sum of all weights counted.
    #[wasm_bindgen(getter, js_name = totalWeight, unchecked_return_type = "Count")]
    pub fn total_weight(&self) -> JsValue {
        convert::count(self.summary.total_weight())
    }

    /// The maximum error of any frequent-items count: `upperBound - lowerBound` never exceeds
    /// it, and it is 0 while every count is exact.
    #[wasm_bindgen(getter, js_name = maximumError, unchecked_return_type = "Count")]
    pub fn maximum_error(&self) -> JsValue {
        convert::count(self.summary.maximum_error())
    }

    /// The number of items the frequent-items sketch tracks.
    #[wasm_bindgen(getter, js_name = activeItems)]
    pub fn active_items(&self) -> u32 {
        self.summary.frequent().active_items() as u32
    }

    /// The maximum map size of the frequent-items sketch (it tracks 3/4 of this many items).
    #[wasm_bindgen(getter, js_name = maxMapSize)]
    pub fn max_map_size(&self) -> u32 {
        self.summary.config().max_map_size
    }

    /// The HyperLogLog precision p (2^p registers).
    #[wasm_bindgen(getter, js_name = hllPrecision)]
    pub fn hll_precision(&self) -> u8 {
        self.summary.hyperloglog().precision()
    }

    /// The Count-Min shape `{width, depth}`, or `undefined` when the snapshot has none.
    #[wasm_bindgen(getter, js_name = countMin, unchecked_return_type = "CountMinShape | undefined")]
    pub fn count_min(&self) -> JsValue {
        match self.summary.count_min() {
            Some(count_min) => convert::object([
                ("width", JsValue::from(count_min.width())),
                ("depth", JsValue::from(count_min.depth())),
            ])
            .into(),
            None => JsValue::UNDEFINED,
        }
    }

    /// The event-time window `{start, end}` covered, or `undefined` when the snapshot is not
    /// windowed. A merged snapshot covers the union of the windows.
    #[wasm_bindgen(getter, unchecked_return_type = "Window | undefined")]
    pub fn window(&self) -> JsValue {
        match self.summary.metadata.window {
            Some(window) => convert::object([("start", convert::signed(window.start)), ("end", convert::signed(window.end))]).into(),
            None => JsValue::UNDEFINED,
        }
    }

    /// The highest watermark seen, or `undefined`.
    #[wasm_bindgen(getter, unchecked_return_type = "Millis | undefined")]
    pub fn watermark(&self) -> JsValue {
        self.summary.metadata.watermark.map_or(JsValue::UNDEFINED, convert::signed)
    }

    /// The dimension `{name, value, nameBytes, valueBytes}` the snapshot is restricted to, or
    /// `undefined`.
    #[wasm_bindgen(getter, unchecked_return_type = "Dimension | undefined")]
    pub fn dimension(&self) -> JsValue {
        match &self.summary.metadata.dimension {
            Some(dimension) => convert::object([
                ("name", convert::text(&dimension.name)),
                ("value", convert::text(&dimension.value)),
                ("nameBytes", convert::bytes(&dimension.name)),
                ("valueBytes", convert::bytes(&dimension.value)),
            ])
            .into(),
            None => JsValue::UNDEFINED,
        }
    }

    /// The offset ranges counted per source, sorted by source name.
    #[wasm_bindgen(getter, unchecked_return_type = "SourceRange[]")]
    pub fn sources(&self) -> Array {
        let sources = Array::new();
        for range in &self.summary.metadata.sources {
            let object = convert::object([
                ("source", convert::text(&range.source)),
                ("sourceBytes", convert::bytes(&range.source)),
                ("start", convert::count(range.start)),
                ("end", convert::count(range.end)),
            ]);
            sources.push(&object);
        }
        sources
    }

    /// The number of events that arrived after their window's watermark and were still counted.
    #[wasm_bindgen(getter, js_name = lateEvents, unchecked_return_type = "Count")]
    pub fn late_events(&self) -> JsValue {
        convert::count(self.summary.metadata.late_events)
    }

    /// The number of records that could not be parsed and were not counted.
    #[wasm_bindgen(getter, js_name = malformedRecords, unchecked_return_type = "Count")]
    pub fn malformed_records(&self) -> JsValue {
        convert::count(self.summary.metadata.malformed_records)
    }
}

/// Decodes every snapshot of `snapshots` and merges them in array order into a new snapshot: the
/// first one decoded, then each following one merged into it. The inputs are not changed.
///
/// # Errors
///
/// Throws an `Error` when the array is empty. The message starts with `snapshot N of M:` when
/// the N-th input is not a `Uint8Array`, does not decode, or cannot be merged with the ones
/// before it (different dimension or Count-Min shape, total weight above 2^64 - 1).
///
/// ```js
/// const merged = mergeSnapshots(await Promise.all(files.map(async (f) => new Uint8Array(await f.arrayBuffer()))));
/// ```
#[wasm_bindgen(js_name = mergeSnapshots)]
pub fn merge_snapshots(#[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] snapshots: Array) -> Result<Snapshot, JsError> {
    let count = snapshots.length();
    if count == 0 {
        return Err(JsError::new("mergeSnapshots needs at least one snapshot; pass a non-empty array of Uint8Array"));
    }

    let mut merged: Option<Summary> = None;
    for (index, value) in snapshots.iter().enumerate() {
        let position = index + 1;
        let Some(array) = value.dyn_ref::<Uint8Array>() else {
            return Err(JsError::new(&format!(
                "snapshot {position} of {count}: expected a Uint8Array, got {}",
                value.js_typeof().as_string().unwrap_or_default()
            )));
        };

        let summary = snapshot::decode(&array.to_vec())
            .map_err(|error| JsError::new(&format!("snapshot {position} of {count}: invalid snapshot: {error}")))?;
        match &mut merged {
            None => merged = Some(summary),
            Some(merged) => merged
                .merge(&summary)
                .map_err(|error| JsError::new(&format!("snapshot {position} of {count}: {error}")))?,
        }
    }

    // The loop ran at least once because the array is not empty.
    let summary = merged.ok_or_else(|| JsError::new("mergeSnapshots received no snapshot"))?;
    Ok(Snapshot { summary })
}

/// Reads an item argument: a string as its UTF-8 bytes, or a `Uint8Array` as it is.
fn item_bytes(item: &JsValue) -> Result<Vec<u8>, JsError> {
    if let Some(text) = item.as_string() {
        return Ok(text.into_bytes());
    }
    match item.dyn_ref::<Uint8Array>() {
        Some(array) => Ok(array.to_vec()),
        None => Err(JsError::new(&format!(
            "invalid item of type {}: pass a string or a Uint8Array",
            item.js_typeof().as_string().unwrap_or_default()
        ))),
    }
}

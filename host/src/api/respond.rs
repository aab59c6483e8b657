//! JSON shapes of query responses: rows and metadata.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::pipeline::{Answer, AnswerRow};
use crate::service::{Published, Shared};

/// Formats ms since the Unix epoch as RFC 3339 with milliseconds (UTC).
pub(crate) fn rfc3339(millis: i64) -> String {
    // humantime writes years 1970 to 9999 only (it panics past 9999), so clamp to that span;
    // window arithmetic near the accepted time limits can step just outside it.
    let millis = millis.clamp(0, 253_402_300_799_999);
    let time = UNIX_EPOCH + Duration::from_millis(millis as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

/// Formats a duration as an ISO-8601 duration with millisecond precision, e.g. `PT0.250S`.
pub(crate) fn iso_duration(duration: Duration) -> String {
    format!("PT{}.{:03}S", duration.as_secs(), duration.subsec_millis())
}

/// Returns the item as text when it is UTF-8, or as lowercase hex with `"item_encoding":"hex"`.
pub(crate) fn item_fields(item: &[u8]) -> (Cow<'_, str>, &'static str) {
    match std::str::from_utf8(item) {
        Ok(text) => (Cow::Borrowed(text), "utf-8"),
        Err(_) => (
            Cow::Owned(item.iter().map(|byte| format!("{byte:02x}")).collect()),
            "hex",
        ),
    }
}

/// One response row: `{item, estimated_count, lower_bound, upper_bound, error_bound,
/// last_updated}`, plus `item_encoding: "hex"` for an item that is not UTF-8.
///
/// Serialized directly rather than through a `serde_json::Value`, because the cached top-K
/// path is bound by allocations.
#[derive(serde::Serialize)]
pub(crate) struct Row<'a> {
    item: Cow<'a, str>,
    estimated_count: u64,
    lower_bound: u64,
    upper_bound: u64,
    error_bound: u64,
    last_updated: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_encoding: Option<&'static str>,
}

/// The body of a heavy-hitters or frequency response.
#[derive(serde::Serialize)]
pub(crate) struct Body<'a> {
    pub rows: Vec<Row<'a>>,
    pub metadata: Value,
}

/// Builds one row from an answer row.
pub(crate) fn row<'a>(row: &'a AnswerRow, last_updated: &'a str) -> Row<'a> {
    let (item, encoding) = item_fields(&row.item);
    Row {
        item,
        estimated_count: row.estimate,
        lower_bound: row.lower_bound,
        upper_bound: row.upper_bound,
        error_bound: row.upper_bound - row.lower_bound,
        last_updated,
        item_encoding: (encoding == "hex").then_some("hex"),
    }
}

/// Returns the wall-clock time since the oldest event read but not yet visible (0 when every
/// event read is visible).
pub(crate) fn consistency_lag(shared: &Shared) -> Duration {
    let pending = shared.pending_since_ms.load(Ordering::Relaxed);
    if pending == 0 {
        return Duration::ZERO;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_millis() as i64)
        .unwrap_or(0);
    Duration::from_millis((now - pending).max(0) as u64)
}

/// Returns the time the state was built, RFC 3339.
pub(crate) fn built_at(published: &Published) -> String {
    let time = published.built_at.unwrap_or(UNIX_EPOCH);
    humantime::format_rfc3339_millis(time).to_string()
}

/// The inputs of a response's metadata object.
pub(crate) struct MetadataInput<'a> {
    pub window: &'a str,
    pub start: i64,
    pub end: i64,
    /// The `[start, end)` in ms the client requested.
    pub requested: (i64, i64),
    pub answer: &'a Answer,
    pub dimension: Option<(&'a str, Option<&'a [u8]>)>,
}

/// Builds the metadata object of a response. `input.start` and `input.end` are the span of the
/// panes and rollups merged, and `input.requested` the `[start, end)` in ms the client
/// requested. Coverage snaps the request outward to pane bounds, and to hour or day bounds where
/// only a rollup remains. When the merged span reaches beyond the request, the response counts
/// more than was requested, and `widened` is true.
pub(crate) fn metadata(shared: &Shared, published: &Published, input: MetadataInput<'_>) -> Value {
    let answer = input.answer;
    let relative_error = if answer.total_weight == 0 {
        0.0
    } else {
        (answer.maximum_error + answer.untracked_weight) as f64 / answer.total_weight as f64
    };
    let mut value = json!({
        "window": input.window,
        "window_start": rfc3339(input.start),
        "window_end": rfc3339(input.end),
        "consistency_lag": iso_duration(consistency_lag(shared)),
        "version": published.version,
        "watermark": published.watermark.map(rfc3339),
        "offsets": published.offsets,
        "accuracy": {
            "guarantee": "lower_bound <= true count <= upper_bound for every row",
            "maximum_error": answer.maximum_error,
            "untracked_dimension_weight": answer.untracked_weight,
            "total_weight": answer.total_weight,
            "relative_error": relative_error,
            "exact": answer.maximum_error == 0 && answer.untracked_weight == 0,
            "distinct_items": answer.distinct,
            "late_events": answer.late_events,
            "units_merged": answer.units,
        },
    });
    let (requested_start, requested_end) = input.requested;
    value["requested_start"] = json!(rfc3339(requested_start));
    value["requested_end"] = json!(rfc3339(requested_end));
    // A cover can also be narrower than the request where no unit exists, before the first
    // event or after the newest pane. Only a cover that counts beyond the request is wider.
    value["widened"] = json!(input.start < requested_start || input.end > requested_end);
    if let Some((name, item)) = input.dimension {
        value["dimension"] = json!(name);
        if let Some(item) = item {
            let (text, encoding) = item_fields(item);
            value["value"] = json!(text);
            if encoding == "hex" {
                value["value_encoding"] = json!("hex");
            }
        }
    }
    value
}

//! JSON shapes of query responses: rows and metadata.

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
pub(crate) fn item_fields(item: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(item) {
        Ok(text) => (text.to_string(), "utf-8"),
        Err(_) => (
            item.iter().map(|byte| format!("{byte:02x}")).collect(),
            "hex",
        ),
    }
}

/// Builds one row: `{item, estimated_count, lower_bound, upper_bound, error_bound, last_updated}`.
pub(crate) fn row(row: &AnswerRow, last_updated: &str) -> Value {
    let (item, encoding) = item_fields(&row.item);
    let mut value = json!({
        "item": item,
        "estimated_count": row.estimate,
        "lower_bound": row.lower_bound,
        "upper_bound": row.upper_bound,
        "error_bound": row.upper_bound - row.lower_bound,
        "last_updated": last_updated,
    });
    if encoding == "hex" {
        value["item_encoding"] = json!("hex");
    }
    value
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

/// Builds the metadata object of a response.
pub(crate) struct MetadataInput<'a> {
    pub window: &'a str,
    pub start: i64,
    pub end: i64,
    pub answer: &'a Answer,
    pub dimension: Option<(&'a str, Option<&'a [u8]>)>,
}

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
    if let Some((name, item)) = input.dimension {
        value["dimension"] = json!(name);
        if let Some(item) = item {
            value["value"] = json!(item_fields(item).0);
        }
    }
    value
}

//! `POST /api/v1/events`: NDJSON lines, validated, then stored durably in the HTTP ingest log
//! before the response.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{ApiError, AppState};
use crate::input::Scratch;

/// Accepts a body of NDJSON lines. Every non-empty line must yield its selected fields, or the
/// whole request is rejected with 400 naming the first bad line, and nothing is stored. On
/// success, the lines are committed to the state store and the response carries the offset to
/// pass as `min_offset` for read-your-writes.
pub(super) async fn events(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let max_line = state.shared.config.read.max_line_bytes;
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut scratch = Scratch::default();

    for (index, raw) in body.split(|byte| *byte == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = index + 1;
        if line.len() > max_line {
            return Err(ApiError::bad_parameter(
                "body",
                format!(
                    "line {number} is {} bytes, over the maximum of {max_line}",
                    line.len()
                ),
            ));
        }
        if let Err(bad) = state
            .shared
            .http_extractor
            .extract(line, &mut scratch, |_| {})
        {
            metrics::counter!("topk_http_rejected_lines_total", "reason" => bad.reason.as_str())
                .increment(1);
            return Err(ApiError::bad_parameter(
                "body",
                format!("line {number} rejected ({bad}); nothing of this request was stored"),
            ));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(ApiError::bad_parameter(
            "body",
            "the body has no event: send NDJSON, one JSON object per line",
        ));
    }

    let count = lines.len();
    let owned: Vec<Vec<u8>> = lines.into_iter().map(<[u8]>::to_vec).collect();
    let store = state.shared.store.clone();
    let appended = tokio::task::spawn_blocking(move || {
        let borrowed: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        store.append_http(&borrowed)
    })
    .await
    .map_err(|error| {
        ApiError::internal(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("ingest task failed: {error}"),
        )
    })?
    .map_err(|error| {
        ApiError::internal(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("failed to store the events: {error}; nothing was accepted"),
        )
    })?;

    let Some((first, last)) = appended else {
        return Err(ApiError::bad_parameter("body", "the body has no event"));
    };
    metrics::counter!("topk_http_events_accepted_total").increment(count as u64);
    state.shared.wake();
    Ok((
        StatusCode::OK,
        Json(json!({ "accepted": count, "first_offset": first, "offset": last })),
    )
        .into_response())
}

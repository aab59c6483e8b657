//! Query handlers: heavy hitters, item frequency, snapshots and the list of windows.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::respond::{self, MetadataInput};
use super::{ApiError, AppState};
use crate::pipeline::{Answer, QueryError, Target, UnitData};
use crate::service::{Published, CACHED_WINDOWS};
use crate::state::HTTP_SOURCE;
use crate::window::{cover, parse_window, Horizon, QueryWindow};

/// Maximum item length in a path, in bytes.
const MAX_ITEM_BYTES: usize = 4096;

type Params = Query<HashMap<String, String>>;

/// The dimension part of a request.
enum Selection {
    All,
    Values,
    Value(Vec<u8>),
}

/// A resolved window: its label, bounds and the units to merge.
struct Resolved {
    window: QueryWindow,
    start: i64,
    end: i64,
    /// The `[start, end)` in ms the client requested, before coverage widened it.
    requested: (i64, i64),
    units: Vec<Arc<UnitData>>,
}

fn parse_k(params: &HashMap<String, String>, max_k: u32) -> Result<u32, ApiError> {
    let Some(text) = params.get("k") else {
        return Ok(10.min(max_k));
    };
    let k: u32 = text.parse().map_err(|_| {
        ApiError::bad_parameter(
            "k",
            format!("invalid k `{text}`: use an integer from 1 to {max_k}"),
        )
    })?;
    if k == 0 {
        return Err(ApiError::bad_parameter(
            "k",
            format!("invalid k 0: use an integer from 1 to {max_k}"),
        ));
    }
    if k > max_k {
        return Err(ApiError::bad_parameter(
            "k",
            format!("k {k} is over the maximum {max_k}; ask for fewer rows or raise --max-k"),
        ));
    }
    Ok(k)
}

/// Returns the bytes of query parameter `name` from the raw query string. The decoded
/// parameters replace invalid UTF-8 by U+FFFD, which would select another dimension value.
fn raw_parameter(raw: Option<&str>, name: &str) -> Option<Vec<u8>> {
    let raw = raw?;
    raw.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name.as_bytes()).then(|| percent_decode(value))
    })
}

/// Decodes `+` and `%XX` escapes of a form-encoded query component; a malformed escape stays
/// as written.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = (byte == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                index += 1;
            }
            (other, None) => {
                out.push(other);
                index += 1;
            }
        }
    }
    out
}

/// Returns the dimension value of a request: the raw bytes of `value`, or with
/// `value_encoding=hex` the bytes its hex digits spell.
fn value_bytes(
    params: &HashMap<String, String>,
    raw: Option<&str>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(text) = params.get("value") else {
        return Ok(None);
    };
    match params.get("value_encoding").map(String::as_str) {
        None | Some("utf-8") => Ok(Some(raw_parameter(raw, "value").unwrap_or_else(|| text.as_bytes().to_vec()))),
        Some("hex") => decode_hex(text).map(Some).ok_or_else(|| {
            ApiError::bad_parameter("value", format!("malformed value `{text}`: with value_encoding=hex it must be an even number of hex digits"))
        }),
        Some(other) => Err(ApiError::bad_parameter("value_encoding", format!("unknown value_encoding `{other}`: use utf-8 or hex"))),
    }
}

fn parse_selection(
    state: &AppState,
    params: &HashMap<String, String>,
    raw: Option<&str>,
) -> Result<Selection, ApiError> {
    let configured = state.shared.config.pipeline.dimension.as_deref();
    match (params.get("dimension"), params.get("value")) {
        (None, None) => Ok(Selection::All),
        (None, Some(_)) => Err(ApiError::bad_parameter(
            "value",
            "value needs a dimension parameter naming the dimension field",
        )),
        (Some(name), value) => {
            let Some(configured) = configured else {
                return Err(ApiError::bad_parameter("dimension", format!("unknown dimension `{name}`: this server counts no dimension; start it with --dimension FIELD")));
            };
            if name != configured {
                return Err(ApiError::bad_parameter(
                    "dimension",
                    format!(
                        "unknown dimension `{name}`: this server counts dimension `{configured}`"
                    ),
                ));
            }
            match value.and(value_bytes(params, raw)?) {
                None => Ok(Selection::Values),
                Some(value) => Ok(Selection::Value(value)),
            }
        }
    }
}

fn target(selection: &Selection) -> Target<'_> {
    match selection {
        Selection::All => Target::All,
        Selection::Values => Target::DimensionValues,
        Selection::Value(value) => Target::Value(value),
    }
}

fn resolve(
    state: &AppState,
    published: &Published,
    params: &HashMap<String, String>,
) -> Result<Resolved, ApiError> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let window = parse_window(get("window"), get("start"), get("end"), get("at"))
        .map_err(|(parameter, message)| ApiError::bad_parameter(parameter, message))?;
    let pane_ms = state.shared.config.pipeline.window.pane_ms;
    let (start, end) = window
        .spec
        .resolve(published.newest_end(pane_ms), published.oldest_start());
    let horizon = Horizon::new(&state.shared.config.pipeline.window, published.watermark);
    let covered = cover(start, end, pane_ms, &published.keys, horizon);
    let units = covered
        .units
        .iter()
        .filter_map(|key| published.units.get(key).cloned())
        .collect();
    Ok(Resolved {
        window,
        start: covered.start,
        end: covered.end,
        requested: (start, end),
        units,
    })
}

/// Waits until the HTTP ingest offset `min_offset` is visible, or fails after the maximum wait.
async fn wait_visible(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<Arc<Published>, ApiError> {
    let Some(text) = params.get("min_offset") else {
        return Ok(state.shared.current());
    };
    let wanted: u64 = text.parse().map_err(|_| {
        ApiError::bad_parameter(
            "min_offset",
            format!("invalid min_offset `{text}`: use the offset returned by POST /api/v1/events"),
        )
    })?;

    let visible =
        |published: &Published| published.offsets.get(HTTP_SOURCE).copied().unwrap_or(0) >= wanted;
    let mut versions = state.shared.versions.subscribe();
    let deadline = tokio::time::Instant::now() + state.config.max_wait;
    loop {
        let published = state.shared.current();
        if visible(&published) {
            return Ok(published);
        }
        match tokio::time::timeout_at(deadline, versions.changed()).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) | Err(_) => {
                let reached = published.offsets.get(HTTP_SOURCE).copied().unwrap_or(0);
                return Err(ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    parameter: Some("min_offset".into()),
                    message: format!(
                        "min_offset {wanted} is not visible after {} ms (visible HTTP offset: {reached}); retry later",
                        state.config.max_wait.as_millis()
                    ),
                });
            }
        }
    }
}

async fn run_query<F>(state: &Arc<AppState>, query: F) -> Result<Answer, ApiError>
where
    F: FnOnce(&crate::pipeline::QueryEngine) -> Result<Answer, QueryError> + Send + 'static,
{
    let shared = state.shared.clone();
    let result = tokio::task::spawn_blocking(move || query(&shared.queries)).await;
    match result {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(error)) => {
            if matches!(&error, QueryError::Guest(guest) if guest.is_trap()) {
                metrics::counter!("topk_guest_traps_total").increment(1);
            }
            Err(ApiError::internal(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("query failed: {error}"),
            ))
        }
        Err(error) => Err(ApiError::internal(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("query task failed: {error}"),
        )),
    }
}

/// `GET /api/v1/heavy-hitters?k=&window=&start=&end=&at=&dimension=&value=&min_offset=`
pub(super) async fn heavy_hitters(
    State(state): State<Arc<AppState>>,
    Query(params): Params,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let k = parse_k(&params, state.shared.config.max_k)?;
    let selection = parse_selection(&state, &params, raw.as_deref())?;
    let published = wait_visible(&state, &params).await?;

    // A named window over all events is answered from the cache built at publish time,
    // without resolving units or copying the answer.
    let explicit = params.contains_key("start") || params.contains_key("end") || params.contains_key("at");
    let cached = match (&selection, explicit) {
        (Selection::All, false) => {
            let name = params.get("window").map_or("all", String::as_str);
            CACHED_WINDOWS
                .iter()
                .find(|cached| **cached == name)
                .and_then(|name| published.cache.get(name))
                .cloned()
        }
        _ => None,
    };
    let (answer, label, start, end, requested) = match cached {
        Some(cached) => {
            let label = params.get("window").cloned().unwrap_or_else(|| "all".to_string());
            let (start, end, requested) = (cached.start, cached.end, cached.requested);
            (CachedOrOwned::Cached(cached), label, start, end, requested)
        }
        None => {
            let resolved = resolve(&state, &published, &params)?;
            let units = resolved.units;
            let selection_for_query = match &selection {
                Selection::All => Selection::All,
                Selection::Values => Selection::Values,
                Selection::Value(value) => Selection::Value(value.clone()),
            };
            let answer = run_query(&state, move |engine| {
                engine.top_k(&units, target(&selection_for_query), k)
            })
            .await?;
            (CachedOrOwned::Owned(answer), resolved.window.label, resolved.start, resolved.end, resolved.requested)
        }
    };
    let answer = answer.get();

    let last_updated = respond::built_at(&published);
    let rows = answer
        .rows
        .iter()
        .take(k as usize)
        .map(|row| respond::row(row, &last_updated))
        .collect();
    let dimension = dimension_of(&state, &selection);
    let metadata = respond::metadata(
        &state.shared,
        &published,
        MetadataInput {
            window: &label,
            start,
            end,
            requested,
            answer,
            dimension,
        },
    );
    Ok(Json(respond::Body { rows, metadata }).into_response())
}

/// An answer from the publish-time cache, shared, or computed for this request.
enum CachedOrOwned {
    Cached(Arc<crate::service::CachedAnswer>),
    Owned(Answer),
}

impl CachedOrOwned {
    fn get(&self) -> &Answer {
        match self {
            CachedOrOwned::Cached(cached) => &cached.answer,
            CachedOrOwned::Owned(answer) => answer,
        }
    }
}

fn dimension_of<'a>(
    state: &'a AppState,
    selection: &'a Selection,
) -> Option<(&'a str, Option<&'a [u8]>)> {
    let name = state.shared.config.pipeline.dimension.as_deref()?;
    match selection {
        Selection::All => None,
        Selection::Values => Some((name, None)),
        Selection::Value(value) => Some((name, Some(value.as_slice()))),
    }
}

fn parse_item(item: &str, params: &HashMap<String, String>) -> Result<Vec<u8>, ApiError> {
    let bytes = match params.get("encoding").map(String::as_str) {
        None | Some("utf-8") => item.as_bytes().to_vec(),
        Some("hex") => decode_hex(item).ok_or_else(|| ApiError::bad_parameter("item", format!("malformed item `{item}`: with encoding=hex it must be an even number of hex digits")))?,
        Some(other) => return Err(ApiError::bad_parameter("encoding", format!("unknown encoding `{other}`: use utf-8 or hex"))),
    };
    if bytes.is_empty() {
        return Err(ApiError::bad_parameter(
            "item",
            "malformed item: it is empty",
        ));
    }
    if bytes.len() > MAX_ITEM_BYTES {
        return Err(ApiError::bad_parameter(
            "item",
            format!(
                "malformed item: {} bytes is over the maximum of {MAX_ITEM_BYTES}",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

/// `GET /api/v1/items/{item}/frequency?window=&dimension=&value=&min_offset=&encoding=`
pub(super) async fn frequency(
    State(state): State<Arc<AppState>>,
    Path(item): Path<String>,
    Query(params): Params,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let item = parse_item(&item, &params)?;
    let selection = parse_selection(&state, &params, raw.as_deref())?;
    if matches!(selection, Selection::Values) {
        return Err(ApiError::bad_parameter(
            "value",
            "a frequency query per dimension needs both dimension and value",
        ));
    }
    let published = wait_visible(&state, &params).await?;
    let resolved = resolve(&state, &published, &params)?;

    let units = resolved.units.clone();
    let query_item = item.clone();
    let selection_value = match &selection {
        Selection::Value(value) => Some(value.clone()),
        _ => None,
    };
    let answer = run_query(&state, move |engine| {
        let target = match &selection_value {
            Some(value) => Target::Value(value),
            None => Target::All,
        };
        engine.frequency(&units, target, &query_item)
    })
    .await?;

    let estimate = answer.estimate.unwrap_or(topk_sketch::Estimate {
        estimate: 0,
        lower_bound: 0,
        upper_bound: 0,
    });
    let row = crate::pipeline::AnswerRow {
        item,
        estimate: estimate.estimate,
        lower_bound: estimate.lower_bound,
        upper_bound: estimate.upper_bound,
    };
    let last_updated = respond::built_at(&published);
    let dimension = dimension_of(&state, &selection);
    let metadata = respond::metadata(
        &state.shared,
        &published,
        MetadataInput {
            window: &resolved.window.label,
            start: resolved.start,
            end: resolved.end,
            requested: resolved.requested,
            answer: &answer,
            dimension,
        },
    );
    let rows = vec![respond::row(&row, &last_updated)];
    Ok(Json(respond::Body { rows, metadata }).into_response())
}

/// `GET /api/v1/snapshots?window=&dimension=&value=` returns the merged snapshot bytes.
pub(super) async fn snapshots(
    State(state): State<Arc<AppState>>,
    Query(params): Params,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let selection = parse_selection(&state, &params, raw.as_deref())?;
    let published = wait_visible(&state, &params).await?;
    let resolved = resolve(&state, &published, &params)?;

    let units = resolved.units.clone();
    let answer = run_query(&state, move |engine| {
        engine.snapshot(&units, target(&selection))
    })
    .await?;
    let bytes = answer.snapshot.unwrap_or_default();
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (
            header::HeaderName::from_static("x-topk-version"),
            published.version.to_string(),
        ),
        (
            header::HeaderName::from_static("x-topk-window-start"),
            respond::rfc3339(resolved.start),
        ),
        (
            header::HeaderName::from_static("x-topk-window-end"),
            respond::rfc3339(resolved.end),
        ),
    ];
    Ok((headers, bytes).into_response())
}

/// `GET /api/v1/windows` lists the named windows and the stored panes and rollups.
pub(super) async fn windows(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let published = state.shared.current();
    let pane_ms = state.shared.config.pipeline.window.pane_ms;

    let named: Vec<_> = CACHED_WINDOWS
        .iter()
        .filter_map(|name| {
            let cached = published.cache.get(name)?;
            Some(json!({
                "window": name,
                "window_start": respond::rfc3339(cached.start),
                "window_end": respond::rfc3339(cached.end),
                "total_weight": cached.answer.total_weight,
                "distinct_items": cached.answer.distinct,
            }))
        })
        .collect();
    let units: Vec<_> = published
        .units
        .values()
        .map(|unit| {
            json!({
                "level": unit.key.level,
                "start": respond::rfc3339(unit.key.start),
                "end": respond::rfc3339(unit.key.end(pane_ms)),
                "closed": unit.closed,
                "total_weight": unit.total_weight,
                "maximum_error": unit.maximum_error,
                "dimension_values": unit.by_value.len(),
            })
        })
        .collect();
    let body = json!({
        "version": published.version,
        "pane_ms": pane_ms,
        "watermark": published.watermark.map(respond::rfc3339),
        "offsets": published.offsets,
        "dimension": state.shared.config.pipeline.dimension,
        "windows": named,
        "other_windows": ["tumbling:SIZE (with at=TIME)", "sliding:SIZE (with end=TIME)", "start=TIME&end=TIME"],
        "units": units,
        "counters": published.counters,
    });
    Ok(Json(body).into_response())
}

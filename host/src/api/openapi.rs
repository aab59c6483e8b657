//! The OpenAPI 3.1 document of the API, served at `GET /api/v1/openapi.json`.

use axum::Json;
use serde_json::{json, Value};

fn parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn window_parameters() -> Vec<Value> {
    vec![
        parameter("window", "all (default), last_hour, last_day, last_week, tumbling:SIZE or sliding:SIZE (SIZE such as 15m or 1h)", json!({"type": "string"})),
        parameter("start", "Inclusive start of an explicit window: epoch ms or RFC 3339", json!({"type": "string"})),
        parameter("end", "Exclusive end of an explicit or sliding window: epoch ms or RFC 3339", json!({"type": "string"})),
        parameter("at", "A time inside the requested tumbling window: epoch ms or RFC 3339", json!({"type": "string"})),
        parameter("dimension", "The configured dimension field", json!({"type": "string"})),
        parameter("value", "A value of the dimension, matched byte for byte (percent-encode bytes that are not UTF-8), or hex with value_encoding=hex", json!({"type": "string"})),
        parameter("value_encoding", "utf-8 (default) or hex", json!({"type": "string", "enum": ["utf-8", "hex"]})),
        parameter("min_offset", "Wait (bounded) until this HTTP ingest offset is visible", json!({"type": "integer", "minimum": 0})),
    ]
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// Returns the OpenAPI document.
pub(super) async fn document() -> Json<Value> {
    let mut heavy_parameters = vec![parameter(
        "k",
        "Rows to return, 1 to the configured maximum (default 10)",
        json!({"type": "integer", "minimum": 1}),
    )];
    heavy_parameters.extend(window_parameters());
    let mut frequency_parameters = vec![
        json!({ "name": "item", "in": "path", "required": true, "description": "The item (UTF-8, or hex with encoding=hex)", "schema": {"type": "string"} }),
        parameter(
            "encoding",
            "utf-8 (default) or hex",
            json!({"type": "string", "enum": ["utf-8", "hex"]}),
        ),
    ];
    frequency_parameters.extend(window_parameters());

    let answer = json!({ "description": "Rows and metadata", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } });
    Json(json!({
        "openapi": "3.1.0",
        "info": { "title": "topk", "version": env!("CARGO_PKG_VERSION"), "description": "Heavy hitters with guaranteed bounds over event-time windows" },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Row": { "type": "object", "required": ["item", "estimated_count", "lower_bound", "upper_bound", "error_bound", "last_updated"], "properties": {
                    "item": {"type": "string"},
                    "item_encoding": {"type": "string", "enum": ["hex"], "description": "Present when the item is not UTF-8"},
                    "estimated_count": {"type": "integer"},
                    "lower_bound": {"type": "integer"},
                    "upper_bound": {"type": "integer"},
                    "error_bound": {"type": "integer", "description": "upper_bound - lower_bound"},
                    "last_updated": {"type": "string", "format": "date-time", "description": "When the state that produced the row was built"}
                }},
                "Metadata": { "type": "object", "required": ["window_start", "window_end", "consistency_lag", "version", "accuracy"], "properties": {
                    "window": {"type": "string"},
                    "window_start": {"type": "string", "format": "date-time"},
                    "window_end": {"type": "string", "format": "date-time"},
                    "requested_start": {"type": "string", "format": "date-time", "description": "Start of the window as requested, before it was aligned to the stored panes and rollups"},
                    "requested_end": {"type": "string", "format": "date-time", "description": "End of the window as requested, before it was aligned to the stored panes and rollups"},
                    "widened": {"type": "boolean", "description": "True when window_start..window_end covers more than requested_start..requested_end: the request was not aligned to panes, or only an hour or day rollup remains of its edges after pane retention, so the counts include events outside the requested window"},
                    "consistency_lag": {"type": "string", "description": "ISO-8601 duration since the oldest event read but not yet visible"},
                    "version": {"type": "integer", "description": "Increases with every published state"},
                    "accuracy": {"type": "object"}
                }},
                "Answer": { "type": "object", "properties": { "rows": { "type": "array", "items": { "$ref": "#/components/schemas/Row" } }, "metadata": { "$ref": "#/components/schemas/Metadata" } } },
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "status": {"type": "integer"}, "parameter": {"type": ["string", "null"]}, "message": {"type": "string"}
                }}}}
            }
        },
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/heavy-hitters": { "get": { "summary": "Top-K items of a window", "parameters": heavy_parameters,
                "responses": { "200": answer, "400": error_response("Invalid parameter"), "401": error_response("Missing or wrong token"), "503": error_response("min_offset not visible in time") } } },
            "/api/v1/items/{item}/frequency": { "get": { "summary": "Estimate and bounds of one item", "parameters": frequency_parameters,
                "responses": { "200": answer, "400": error_response("Invalid parameter") } } },
            "/api/v1/snapshots": { "get": { "summary": "Merged snapshot bytes of a window (topk envelope around DataSketches frequent items)", "parameters": window_parameters(),
                "responses": { "200": { "description": "Snapshot", "content": { "application/octet-stream": {} } }, "400": error_response("Invalid parameter") } } },
            "/api/v1/windows": { "get": { "summary": "Named windows, stored panes and rollups, counters", "responses": { "200": { "description": "Windows" } } } },
            "/api/v1/events": { "post": { "summary": "Ingest NDJSON events; durable before the response",
                "requestBody": { "required": true, "content": { "application/x-ndjson": {} } },
                "responses": { "200": { "description": "Accepted: {accepted, first_offset, offset}" }, "400": error_response("A line was rejected; nothing stored") } } },
            "/healthz": { "get": { "summary": "Ingest state, without authentication", "security": [], "responses": { "200": { "description": "Healthy" }, "503": { "description": "Ingest stopped after guest failures" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Prometheus text format" } } } }
        }
    }))
}

//! Window bounds over HTTP against a real `topk run`: the metadata of a response names the
//! requested window beside the span of panes and rollups that were merged, and flags a
//! request that coverage widened.

mod common;

use std::io::Write;
use std::time::Duration;

use common::Server;
use serde_json::Value;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// A UTC midnight (2020-09-13T00:00:00Z), so hour and day rollups start at plain offsets.
const DAY_START: i64 = 1_599_955_200_000;

/// Time of the newest event: 26 h 37 min 30 s after `DAY_START`, so the newest one-minute pane
/// ends at 26 h 38 min, which is not on an hour.
const NEWEST: i64 = DAY_START + 26 * HOUR_MS + 37 * MINUTE_MS + 30_000;

/// Formats `millis` as the RFC 3339 text the API writes.
fn rfc3339(millis: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_millis(millis as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

/// Starts a server over events every 10 minutes from `DAY_START` to `NEWEST`, keeping panes
/// for one hour only, and waits until every event is counted.
fn start_with_expired_panes(directory: &std::path::Path) -> Server {
    let input = directory.join("events.ndjson");
    let mut file = std::fs::File::create(&input).unwrap();
    let mut events = 0;
    let mut time = DAY_START;
    while time < NEWEST {
        writeln!(file, "{{\"item\":\"a\",\"time\":{time}}}").unwrap();
        events += 1;
        time += 10 * MINUTE_MS;
    }
    writeln!(file, "{{\"item\":\"b\",\"time\":{NEWEST}}}").unwrap();
    events += 1;
    drop(file);

    let server = Server::start(
        &directory.join("state.redb"),
        &[
            input.to_str().unwrap(),
            "--format",
            "ndjson",
            "--item",
            "/item",
            "--time",
            "/time",
            "--time-format",
            "epoch-ms",
            "--pane-retention",
            "1h",
            "--hour-retention",
            "1day",
        ],
    );
    server.wait_for("/api/v1/windows", Duration::from_secs(60), |body| {
        body["counters"]["events"].as_u64() == Some(events)
    });
    server
}

fn metadata(server: &Server, query: &str) -> Value {
    let (status, body) = server.get(&format!("/api/v1/heavy-hitters?k=5&{query}"));
    assert_eq!(status, 200, "{query}: {body}");
    body["metadata"].clone()
}

#[test]
fn named_windows_report_widening() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with_expired_panes(directory.path());
    let newest_end = DAY_START + 26 * HOUR_MS + 38 * MINUTE_MS;

    // last_day starts at 2 h 38 min, inside an hour whose panes expired after one hour, so
    // that hour's rollup is merged whole and the covered span starts at 2 h.
    let day = metadata(&server, "window=last_day");
    assert_eq!(day["requested_start"], rfc3339(newest_end - 24 * HOUR_MS), "{day}");
    assert_eq!(day["requested_end"], rfc3339(newest_end), "{day}");
    assert_eq!(day["window_start"], rfc3339(DAY_START + 2 * HOUR_MS), "{day}");
    assert_eq!(day["window_end"], rfc3339(newest_end), "{day}");
    assert_eq!(day["widened"], true, "{day}");

    // The last hour's panes are all still kept, so the covered span equals the request.
    let hour = metadata(&server, "window=last_hour");
    assert_eq!(hour["requested_start"], rfc3339(newest_end - HOUR_MS), "{hour}");
    assert_eq!(hour["window_start"], hour["requested_start"], "{hour}");
    assert_eq!(hour["window_end"], hour["requested_end"], "{hour}");
    assert_eq!(hour["widened"], false, "{hour}");

    let all = metadata(&server, "window=all");
    assert_eq!(all["requested_start"], rfc3339(DAY_START), "{all}");
    assert_eq!(all["widened"], false, "{all}");
}

#[test]
fn other_windows_report_widening() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with_expired_panes(directory.path());
    let newest_end = DAY_START + 26 * HOUR_MS + 38 * MINUTE_MS;

    // Ten minutes of an hour whose panes expired, of which only the hour rollup remains.
    let at = DAY_START + 2 * HOUR_MS + 30 * MINUTE_MS;
    let tumbling = metadata(&server, &format!("window=tumbling:10m&at={at}"));
    assert_eq!(tumbling["requested_start"], rfc3339(at), "{tumbling}");
    assert_eq!(tumbling["requested_end"], rfc3339(at + 10 * MINUTE_MS), "{tumbling}");
    assert_eq!(tumbling["window_start"], rfc3339(DAY_START + 2 * HOUR_MS), "{tumbling}");
    assert_eq!(tumbling["window_end"], rfc3339(DAY_START + 3 * HOUR_MS), "{tumbling}");
    assert_eq!(tumbling["widened"], true, "{tumbling}");

    // An explicit start inside a kept pane widens to that pane's start.
    let start = newest_end - 30 * MINUTE_MS + 15_000;
    let range = metadata(&server, &format!("start={start}&end={newest_end}"));
    assert_eq!(range["requested_start"], rfc3339(start), "{range}");
    assert_eq!(range["window_start"], rfc3339(start - 15_000), "{range}");
    assert_eq!(range["widened"], true, "{range}");

    // A sliding window over kept panes, on pane bounds, has a covered span equal to the request.
    let sliding = metadata(&server, "window=sliding:30m");
    assert_eq!(sliding["requested_start"], rfc3339(newest_end - 30 * MINUTE_MS), "{sliding}");
    assert_eq!(sliding["window_start"], sliding["requested_start"], "{sliding}");
    assert_eq!(sliding["widened"], false, "{sliding}");

    // The frequency of one item carries the same fields.
    let (status, frequency) = server.get(&format!("/api/v1/items/a/frequency?window=tumbling:10m&at={at}"));
    assert_eq!(status, 200, "{frequency}");
    assert_eq!(frequency["metadata"]["widened"], true, "{frequency}");
    assert_eq!(frequency["metadata"]["requested_start"], rfc3339(at), "{frequency}");
}

#[test]
fn partly_expired_hour_answers_from_rollup() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with_expired_panes(directory.path());

    // Hour 25 keeps its last panes, but those of 25:00 to 25:30 expired, so its rollup is merged.
    let start = DAY_START + 25 * HOUR_MS;
    let end = start + 30 * MINUTE_MS;
    let (status, body) = server.get(&format!("/api/v1/items/a/frequency?start={start}&end={end}"));
    assert_eq!(status, 200, "{body}");
    let row = &body["rows"][0];
    assert!(row["lower_bound"].as_u64().unwrap() >= 3, "the 3 events of the request are counted: {body}");
    assert_eq!(row["estimated_count"], 6, "the whole hour is merged: {body}");
    assert_eq!(body["metadata"]["window_start"], rfc3339(start), "{body}");
    assert_eq!(body["metadata"]["window_end"], rfc3339(start + HOUR_MS), "{body}");
    assert_eq!(body["metadata"]["widened"], true, "{body}");
}

#[test]
fn narrower_cover_is_not_widened() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with_expired_panes(directory.path());

    // last_week reaches before the first event: the cover is the request, not wider, and the
    // cached answer (shared with `all`) reports the same span as an uncached query.
    let cached = metadata(&server, "window=last_week");
    assert_eq!(cached["widened"], false, "{cached}");
    assert_eq!(cached["window_start"], cached["requested_start"], "{cached}");
    let (status, frequency) = server.get("/api/v1/items/a/frequency?window=last_week");
    assert_eq!(status, 200, "{frequency}");
    assert_eq!(frequency["metadata"]["window_start"], cached["window_start"], "{frequency}");
    assert_eq!(frequency["metadata"]["widened"], false, "{frequency}");
}

#[test]
fn openapi_documents_widening() {
    let directory = tempfile::tempdir().unwrap();
    let server = Server::start(&directory.path().join("state.redb"), &[]);

    let (status, document) = server.get("/api/v1/openapi.json");

    assert_eq!(status, 200, "{document}");
    let properties = &document["components"]["schemas"]["Metadata"]["properties"];
    assert_eq!(properties["widened"]["type"], "boolean", "{properties}");
    assert_eq!(properties["requested_start"]["format"], "date-time", "{properties}");
    assert_eq!(properties["requested_end"]["format"], "date-time", "{properties}");
}

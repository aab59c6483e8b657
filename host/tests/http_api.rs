//! The HTTP API of `topk run` over a real socket: every route, every 4xx case, the bearer
//! token, read-your-writes with `min_offset`, and monotonic versions during ingest.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{rows, Server};
use serde_json::Value;

const TOKEN: &str = "test-token";
const BASE_TIME: i64 = 1_700_000_000_000;

fn event(ip: &str, status: u16, time: i64) -> String {
    format!("{{\"ip\":\"{ip}\",\"status\":\"{status}\",\"time\":{time}}}\n")
}

fn start(directory: &std::path::Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--http-item",
        "/ip",
        "--http-dimension",
        "/status",
        "--http-time",
        "/time",
        "--dimension",
        "status",
        "--token",
        TOKEN,
        "--max-k",
        "50",
        "--max-wait",
        "500ms",
        "--publish-interval",
        "50ms",
    ];
    args.extend_from_slice(extra);
    Server::start(&directory.join("state.redb"), &args).with_token(TOKEN)
}

fn error_parameter(body: &Value) -> &str {
    body["error"]["parameter"]
        .as_str()
        .unwrap_or_else(|| panic!("no parameter in {body}"))
}

#[test]
fn routes_answer_with_bounds() {
    let directory = tempfile::tempdir().unwrap();
    let dashboard = directory.path().join("dashboard");
    std::fs::create_dir(&dashboard).unwrap();
    std::fs::write(
        dashboard.join("index.html"),
        "<html>dashboard marker</html>",
    )
    .unwrap();
    let server = start(
        directory.path(),
        &["--dashboard", dashboard.to_str().unwrap()],
    );

    let mut body = String::new();
    for index in 0..300i64 {
        let ip = match index % 10 {
            0..=4 => "10.0.0.1",
            5..=7 => "10.0.0.2",
            _ => "10.0.0.3",
        };
        let status = if index % 2 == 0 { 200 } else { 404 };
        body.push_str(&event(ip, status, BASE_TIME + index * 1000));
    }
    let (status, posted) = server.post("/api/v1/events", &body);
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["accepted"], 300);
    let offset = posted["offset"].as_u64().unwrap();

    let (status, top) = server.get(&format!("/api/v1/heavy-hitters?k=2&min_offset={offset}"));
    assert_eq!(status, 200, "{top}");
    assert_eq!(
        rows(&top),
        vec![
            ("10.0.0.1".into(), 150, 150, 150),
            ("10.0.0.2".into(), 90, 90, 90)
        ]
    );
    let row = &top["rows"][0];
    assert_eq!(row["error_bound"], 0);
    assert!(row["last_updated"].as_str().unwrap().ends_with('Z'));
    let metadata = &top["metadata"];
    for field in [
        "window_start",
        "window_end",
        "consistency_lag",
        "version",
        "accuracy",
    ] {
        assert!(
            !metadata[field].is_null(),
            "metadata lacks {field}: {metadata}"
        );
    }
    assert!(metadata["consistency_lag"]
        .as_str()
        .unwrap()
        .starts_with("PT"));
    assert_eq!(metadata["accuracy"]["total_weight"], 300);
    assert_eq!(metadata["accuracy"]["exact"], true);

    let (status, frequency) = server.get("/api/v1/items/10.0.0.3/frequency?window=last_hour");
    assert_eq!(status, 200, "{frequency}");
    assert_eq!(rows(&frequency), vec![("10.0.0.3".into(), 60, 60, 60)]);

    let hex: String = "10.0.0.2"
        .bytes()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let (status, frequency) = server.get(&format!("/api/v1/items/{hex}/frequency?encoding=hex"));
    assert_eq!(status, 200, "{frequency}");
    assert_eq!(rows(&frequency)[0].1, 90);

    // Per dimension value: 10.0.0.1 has indices 0..=4 mod 10, of which 0, 2, 4 are even (200).
    let (status, per_value) = server.get("/api/v1/heavy-hitters?k=5&dimension=status&value=200");
    assert_eq!(status, 200, "{per_value}");
    assert_eq!(rows(&per_value)[0], ("10.0.0.1".into(), 90, 90, 90));
    assert_eq!(per_value["metadata"]["value"], "200");
    let (status, values) = server.get("/api/v1/heavy-hitters?k=5&dimension=status");
    assert_eq!(status, 200, "{values}");
    assert_eq!(
        rows(&values),
        vec![("200".into(), 150, 150, 150), ("404".into(), 150, 150, 150)]
    );

    let (status, tumbling) = server.get(&format!(
        "/api/v1/heavy-hitters?k=1&window=tumbling:1m&at={}",
        BASE_TIME + 60_000
    ));
    assert_eq!(status, 200, "{tumbling}");
    let window_total = tumbling["metadata"]["accuracy"]["total_weight"]
        .as_u64()
        .unwrap();
    assert!(window_total > 0, "the one-minute window is empty");
    assert!(
        window_total <= 60,
        "a one-minute window contains at most 60 events, got {window_total}"
    );
    let (status, range) = server.get(&format!(
        "/api/v1/heavy-hitters?start={BASE_TIME}&end={}",
        BASE_TIME + 300_000
    ));
    assert_eq!(status, 200, "{range}");
    assert_eq!(range["metadata"]["accuracy"]["total_weight"], 300);
    let (status, sliding) = server.get("/api/v1/heavy-hitters?window=sliding:2m");
    assert_eq!(status, 200, "{sliding}");

    let (status, bytes) = server.get_bytes("/api/v1/snapshots?window=all");
    assert_eq!(status, 200);
    let snapshot =
        topk_sketch::snapshot::decode(&bytes).expect("the snapshot route returns a valid snapshot");
    assert_eq!(snapshot.total_weight(), 300);
    assert_eq!(snapshot.estimate(b"10.0.0.1").lower_bound, 150);

    let (status, windows) = server.get("/api/v1/windows");
    assert_eq!(status, 200);
    assert!(windows["units"]
        .as_array()
        .unwrap()
        .iter()
        .any(|unit| unit["level"] == "pane"));
    assert_eq!(windows["dimension"], "status");

    let (status, openapi) = server.get("/api/v1/openapi.json");
    assert_eq!(status, 200);
    for path in [
        "/api/v1/heavy-hitters",
        "/api/v1/items/{item}/frequency",
        "/api/v1/snapshots",
        "/api/v1/windows",
        "/api/v1/events",
        "/healthz",
        "/metrics",
    ] {
        assert!(openapi["paths"][path].is_object(), "OpenAPI lacks {path}");
    }

    let (status, metrics) = server.get_text("/metrics");
    assert_eq!(status, 200);
    for name in [
        "topk_events_read_total",
        "topk_processing_lag_seconds",
        "topk_distinct_items",
        "topk_http_events_accepted_total",
        "topk_late_events",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}:\n{metrics}");
    }
    let (status, page) = server.get_text("/");
    assert_eq!(status, 200);
    assert!(page.contains("dashboard marker"));
}

#[test]
fn bad_requests_name_parameter() {
    let directory = tempfile::tempdir().unwrap();
    let server = start(directory.path(), &["--dashboard", "/nonexistent/dashboard"]);
    let (status, _) = server.post("/api/v1/events", &event("10.0.0.1", 200, BASE_TIME));
    assert_eq!(status, 200);

    let cases: &[(&str, u16, &str)] = &[
        ("/api/v1/heavy-hitters?k=0", 400, "k"),
        ("/api/v1/heavy-hitters?k=51", 400, "k"),
        ("/api/v1/heavy-hitters?k=ten", 400, "k"),
        ("/api/v1/heavy-hitters?window=last_month", 400, "window"),
        ("/api/v1/heavy-hitters?window=tumbling:soon", 400, "window"),
        ("/api/v1/heavy-hitters?start=5", 400, "end"),
        ("/api/v1/heavy-hitters?start=noon&end=5", 400, "start"),
        ("/api/v1/heavy-hitters?dimension=country", 400, "dimension"),
        ("/api/v1/heavy-hitters?value=200", 400, "value"),
        ("/api/v1/heavy-hitters?min_offset=soon", 400, "min_offset"),
        (
            "/api/v1/heavy-hitters?min_offset=1000000",
            503,
            "min_offset",
        ),
        ("/api/v1/items/zz/frequency?encoding=hex", 400, "item"),
        (
            "/api/v1/items/abc/frequency?encoding=rot13",
            400,
            "encoding",
        ),
        (
            "/api/v1/items/abc/frequency?window=yesterday",
            400,
            "window",
        ),
        ("/api/v1/snapshots?window=last_month", 400, "window"),
    ];
    for (path, expected_status, parameter) in cases {
        let (status, body) = server.get(path);
        assert_eq!(status, *expected_status, "{path}: {body}");
        assert_eq!(error_parameter(&body), *parameter, "{path}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }

    let long_item = "a".repeat(5000);
    let (status, body) = server.get(&format!("/api/v1/items/{long_item}/frequency"));
    assert_eq!(status, 400, "long item: {}", body["error"]);
    assert_eq!(error_parameter(&body), "item");

    let (status, body) = server.post(
        "/api/v1/events",
        &format!(
            "{}{{\"status\":\"200\"}}\n",
            event("10.0.0.9", 200, BASE_TIME)
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{body}"
    );
    let (status, body) = server.post("/api/v1/events", "not json\n");
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.post("/api/v1/events", "\n\n");
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_parameter(&body), "body");

    let (status, body) = server.get("/api/v1/no-such-route");
    assert_eq!(status, 404, "{body}");
    let (status, page) = server.get_text("/");
    assert_eq!(status, 200);
    assert!(page.contains("dashboard files were not found"), "{page}");

    // The rejected requests stored nothing.
    let (_, top) = server.get("/api/v1/heavy-hitters?min_offset=1");
    assert_eq!(top["metadata"]["accuracy"]["total_weight"], 1);
}

#[test]
fn token_guards_all_but_healthz() {
    let directory = tempfile::tempdir().unwrap();
    let server = start(directory.path(), &[]);

    for path in [
        "/api/v1/heavy-hitters",
        "/api/v1/windows",
        "/api/v1/openapi.json",
        "/metrics",
        "/",
    ] {
        let (status, body) = server.get_text_with(path, None);
        assert_eq!(status, 401, "{path}: {body}");
        let (status, _) = server.get_text_with(path, Some("wrong"));
        assert_eq!(status, 401, "{path}");
    }
    let (status, body) = server.get_text_with("/healthz", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("running"), "{body}");
}

#[test]
fn versions_never_decrease_during_ingest() {
    let directory = tempfile::tempdir().unwrap();
    let server = Arc::new(start(directory.path(), &[]));
    let stop = Arc::new(AtomicBool::new(false));

    let writer = {
        let server = server.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut posted = 0u64;
            let mut batch = 0i64;
            while !stop.load(Ordering::Relaxed) && batch < 2000 {
                let body: String = (0..50)
                    .map(|index| {
                        event(
                            &format!("10.1.{}.{}", batch % 7, index % 13),
                            200,
                            BASE_TIME + batch * 100,
                        )
                    })
                    .collect();
                let (status, response) = server.post("/api/v1/events", &body);
                assert_eq!(status, 200, "{response}");
                posted += 50;
                batch += 1;
            }
            posted
        })
    };

    let mut last_version = 0u64;
    let mut last_total = 0u64;
    let mut versions_seen = std::collections::BTreeSet::new();
    let started = Instant::now();
    for _ in 0..1000 {
        let (status, body) = server.get("/api/v1/heavy-hitters?k=3");
        assert_eq!(status, 200, "{body}");
        let version = body["metadata"]["version"].as_u64().unwrap();
        let total = body["metadata"]["accuracy"]["total_weight"]
            .as_u64()
            .unwrap();
        assert!(
            version >= last_version,
            "version went from {last_version} to {version}"
        );
        assert!(
            total >= last_total,
            "total weight went from {last_total} to {total} at version {version}"
        );
        last_version = version;
        last_total = total;
        versions_seen.insert(version);
    }
    stop.store(true, Ordering::Relaxed);
    let posted = writer.join().unwrap();
    assert!(
        versions_seen.len() > 1,
        "ingest never published during {:?}",
        started.elapsed()
    );

    // Everything posted becomes visible, and nothing is counted twice.
    let (status, top) = server.get("/api/v1/heavy-hitters?k=1");
    assert_eq!(status, 200);
    let final_body = server.wait_for("/api/v1/windows", Duration::from_secs(30), |body| {
        body["counters"]["events"].as_u64() == Some(posted)
    });
    assert!(
        final_body["version"].as_u64().unwrap() >= top["metadata"]["version"].as_u64().unwrap()
    );
}

#[test]
fn untracked_dimension_values_keep_bounds() {
    let directory = tempfile::tempdir().unwrap();
    let server = start(directory.path(), &["--max-dimension-values", "2"]);

    // Statuses 200 and 404 arrive first and get their own summaries; 500 is untracked.
    let mut body = String::new();
    for index in 0..30i64 {
        let status = [200, 404, 500][(index % 3) as usize];
        let ip = if index % 2 == 0 {
            "10.0.0.1"
        } else {
            "10.0.0.2"
        };
        body.push_str(&event(ip, status, BASE_TIME + index * 100));
    }
    let (status, posted) = server.post("/api/v1/events", &body);
    assert_eq!(status, 200, "{posted}");
    let offset = posted["offset"].as_u64().unwrap();

    let (status, tracked) = server.get(&format!(
        "/api/v1/heavy-hitters?k=5&dimension=status&value=404&min_offset={offset}"
    ));
    assert_eq!(status, 200, "{tracked}");
    assert_eq!(tracked["metadata"]["accuracy"]["exact"], true, "{tracked}");
    assert_eq!(tracked["metadata"]["accuracy"]["total_weight"], 10);

    let (status, frequency) =
        server.get("/api/v1/items/10.0.0.1/frequency?dimension=status&value=500");
    assert_eq!(status, 200, "{frequency}");
    let row = &rows(&frequency)[0];
    // 10.0.0.1 has 5 events with status 500; their 10 untracked events bound it from above.
    assert_eq!(row.2, 0, "lower bound");
    assert!(
        row.3 >= 5,
        "upper bound {} is below the true count 5",
        row.3
    );
    assert_eq!(row.3, 10, "upper bound is the untracked weight");
    assert_eq!(
        frequency["metadata"]["accuracy"]["untracked_dimension_weight"],
        10
    );
    assert_eq!(frequency["metadata"]["accuracy"]["exact"], false);

    let (_, windows) = server.get("/api/v1/windows");
    assert_eq!(windows["counters"]["untracked_dimension_events"], 10);
}

#[test]
fn frequent_dimension_value_replaces_rare_one() {
    let directory = tempfile::tempdir().unwrap();
    let server = start(directory.path(), &["--max-dimension-values", "2"]);

    // 200 and 404 arrive first, once each, and fill the table.
    let first = format!("{}{}", event("10.0.0.1", 200, BASE_TIME), event("10.0.0.1", 404, BASE_TIME + 1));
    let (status, posted) = server.post("/api/v1/events", &first);
    assert_eq!(status, 200, "{posted}");
    server.wait_for("/api/v1/windows", Duration::from_secs(30), |body| body["counters"]["events"].as_u64() == Some(2));

    // Then 500 arrives 50 times: it replaces one of them and is counted exactly.
    let mut body = String::new();
    for index in 0..50i64 {
        let ip = if index % 5 == 0 { "10.0.0.2" } else { "10.0.0.3" };
        body.push_str(&event(ip, 500, BASE_TIME + 10 + index));
    }
    let (status, posted) = server.post("/api/v1/events", &body);
    assert_eq!(status, 200, "{posted}");
    let offset = posted["offset"].as_u64().unwrap();

    let (status, top) = server.get(&format!("/api/v1/heavy-hitters?k=5&dimension=status&value=500&min_offset={offset}"));
    assert_eq!(status, 200, "{top}");
    assert_eq!(top["metadata"]["accuracy"]["exact"], true, "{top}");
    assert_eq!(top["metadata"]["accuracy"]["total_weight"], 50);
    assert_eq!(rows(&top), [("10.0.0.3".to_string(), 40, 40, 40), ("10.0.0.2".to_string(), 10, 10, 10)]);

    let (_, windows) = server.get("/api/v1/windows");
    assert_eq!(windows["counters"]["evicted_dimension_values"], 1, "{windows}");
    assert_eq!(windows["counters"]["untracked_dimension_events"], 1, "{windows}");
    let (_, metrics) = server.get_text("/metrics");
    assert!(metrics.contains("topk_evicted_dimension_values 1"), "{metrics}");
}

#[test]
fn http_log_trim_keeps_state_small() {
    let directory = tempfile::tempdir().unwrap();
    let server = start(directory.path(), &["--map-size", "8"]);

    // 20,000 events over two hours: the checkpoint that counts them also trims the HTTP log.
    let mut body = String::new();
    for index in 0..20_000i64 {
        body.push_str(&event(&format!("10.0.{}.{}", index % 7, index % 5), 200, BASE_TIME + index * 360));
    }
    let (status, posted) = server.post("/api/v1/events", &body);
    assert_eq!(status, 200, "{posted}");
    server.wait_for("/api/v1/windows", Duration::from_secs(60), |body| {
        body["counters"]["events"].as_u64() == Some(20_000)
    });
    std::thread::sleep(Duration::from_millis(2_500));

    // The units and the trimmed log take a few MiB; trimming with redb's `retain_in` made the
    // file 135 MB.
    let size = std::fs::metadata(directory.path().join("state.redb")).unwrap().len();
    assert!(size < 32 << 20, "the state file is {size} bytes after 20,000 posted events");
}

#[test]
fn non_utf8_dimension_value_selected_by_bytes() {
    let directory = tempfile::tempdir().unwrap();
    let input = directory.path().join("values.csv");
    let mut content = b"item,dim\n".to_vec();
    for _ in 0..30 {
        content.extend_from_slice(b"A,\xff\n");
    }
    // U+FFFD itself, which a lossy decoding of %FF would also give.
    content.extend_from_slice("B,\u{fffd}\n".as_bytes());
    std::fs::write(&input, content).unwrap();
    let server = Server::start(
        &directory.path().join("state.redb"),
        &[input.to_str().unwrap(), "--format", "csv", "--item", "item", "--dimension", "dim", "--publish-interval", "50ms"],
    );
    server.wait_for("/api/v1/windows", Duration::from_secs(30), |body| body["counters"]["events"].as_u64() == Some(31));

    let (status, raw) = server.get("/api/v1/heavy-hitters?dimension=dim&value=%FF");
    assert_eq!(status, 200, "{raw}");
    assert_eq!(rows(&raw), [("A".to_string(), 30, 30, 30)], "{raw}");
    assert_eq!(raw["metadata"]["value"], "ff", "{raw}");
    assert_eq!(raw["metadata"]["value_encoding"], "hex", "{raw}");

    let (status, hex) = server.get("/api/v1/items/A/frequency?dimension=dim&value=ff&value_encoding=hex");
    assert_eq!(status, 200, "{hex}");
    assert_eq!(rows(&hex), [("A".to_string(), 30, 30, 30)], "{hex}");

    let (status, replacement) = server.get("/api/v1/heavy-hitters?dimension=dim&value=%EF%BF%BD");
    assert_eq!(status, 200, "{replacement}");
    assert_eq!(rows(&replacement), [("B".to_string(), 1, 1, 1)], "{replacement}");

    let (status, bad) = server.get("/api/v1/heavy-hitters?dimension=dim&value=f&value_encoding=hex");
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["parameter"], "value", "{bad}");
}

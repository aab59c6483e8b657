//! Bad input and guest faults: late, too-late and malformed events are counted (and written to
//! the dead-letter file), and a guest that traps does not stop the server.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{rows, Server};

/// A minute boundary, so pane arithmetic in the test is plain.
const BASE: i64 = 1_000_000_020_000;

#[test]
fn late_and_malformed_events_are_counted() {
    let directory = tempfile::tempdir().unwrap();
    let input = directory.path().join("events.ndjson");
    let dead_letter = directory.path().join("dead.ndjson");
    let mut file = std::fs::File::create(&input).unwrap();
    for second in 0..100 {
        writeln!(file, "{{\"item\":\"a\",\"time\":{}}}", BASE + second * 1000).unwrap();
    }
    // Watermark is now BASE + 94 s. Pane [60 s, 120 s) is open: this event is late but counted.
    writeln!(file, "{{\"item\":\"late\",\"time\":{}}}", BASE + 92_000).unwrap();
    // Pane [0 s, 60 s) has closed: this event is too late and not counted.
    writeln!(file, "{{\"item\":\"too-late\",\"time\":{}}}", BASE + 10_000).unwrap();
    writeln!(file, "not json").unwrap();
    writeln!(file, "{{\"other\":1,\"time\":{}}}", BASE + 99_000).unwrap();
    writeln!(
        file,
        "{{\"item\":\"{}\",\"time\":{}}}",
        "x".repeat(300),
        BASE + 99_000
    )
    .unwrap();
    writeln!(file, "{{\"item\":\"b\",\"time\":{}}}", BASE + 99_500).unwrap();
    drop(file);

    let server = Server::start(
        &directory.path().join("state.redb"),
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
            "--max-line-bytes",
            "200",
            "--dead-letter",
            dead_letter.to_str().unwrap(),
        ],
    );
    let windows = server.wait_for("/api/v1/windows", Duration::from_secs(60), |body| {
        body["counters"]["events"].as_u64() == Some(102)
    });
    let counters = &windows["counters"];
    assert_eq!(counters["late_events"], 1, "{counters}");
    assert_eq!(counters["too_late_events"], 1, "{counters}");
    assert_eq!(counters["malformed"]["malformed"], 1, "{counters}");
    assert_eq!(counters["malformed"]["missing_field"], 1, "{counters}");
    assert_eq!(counters["malformed"]["line_too_long"], 1, "{counters}");

    let (_, top) = server.get("/api/v1/heavy-hitters?k=10");
    let answer = rows(&top);
    assert_eq!(answer[0], ("a".into(), 100, 100, 100));
    assert!(
        answer.iter().any(|row| row.0 == "late"),
        "the late event is counted: {answer:?}"
    );
    assert!(
        !answer.iter().any(|row| row.0 == "too-late"),
        "the too-late event is not counted: {answer:?}"
    );
    assert_eq!(top["metadata"]["accuracy"]["late_events"], 1);

    let (_, metrics) = server.get_text("/metrics");
    for line in [
        "topk_malformed_lines_total{reason=\"malformed\"} 1",
        "topk_malformed_lines_total{reason=\"missing_field\"} 1",
        "topk_too_late_events 1",
    ] {
        assert!(metrics.contains(line), "metrics lack `{line}`:\n{metrics}");
    }

    // The dead-letter file is flushed at each checkpoint.
    std::thread::sleep(Duration::from_millis(1500));
    let letters = std::fs::read_to_string(&dead_letter).unwrap();
    let reasons: Vec<String> = letters
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for reason in ["too_late", "malformed", "missing_field", "line_too_long"] {
        assert!(
            reasons.iter().any(|found| found == reason),
            "dead-letter file lacks {reason}: {reasons:?}"
        );
    }
    // `not json` is line 103 of the input: 100 events, the late and the too-late one first.
    let malformed: serde_json::Value = letters
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|record| record["reason"] == "malformed")
        .unwrap();
    assert_eq!(malformed["line_number"], 103, "{malformed}");
    assert_eq!(malformed["line"], "not json", "{malformed}");
}

#[test]
fn trapping_guest_keeps_server_serving() {
    let directory = tempfile::tempdir().unwrap();
    let server = Server::start(
        &directory.path().join("state.redb"),
        &["--guest-memory-mib", "16", "--publish-interval", "50ms"],
    );

    let (status, posted) = server.post("/api/v1/events", &"{\"item\":\"ok\"}\n".repeat(5));
    assert_eq!(status, 200, "{posted}");
    let offset = posted["offset"].as_u64().unwrap();
    let (status, before) = server.get(&format!("/api/v1/heavy-hitters?min_offset={offset}"));
    assert_eq!(status, 200, "{before}");
    assert_eq!(rows(&before), vec![("ok".into(), 5, 5, 5)]);

    // 200 distinct items of 64 KiB: copying this batch into the guest needs more than 16 MiB,
    // so the guest traps at its memory limit on every retry.
    let body: String = (0..200)
        .map(|index| format!("{{\"item\":\"{index:05}{}\"}}\n", "y".repeat(64 << 10)))
        .collect();
    let (status, posted) = server.post("/api/v1/events", &body);
    assert_eq!(status, 200, "{posted}");

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let health = loop {
        let (status, health) = server.get_text("/healthz");
        if status == 503 {
            break health;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ingest never stopped; log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.contains("degraded"), "{health}");
    assert!(health.contains("trapped"), "{health}");

    // Queries still return the last published state.
    let (status, after) = server.get("/api/v1/heavy-hitters");
    assert_eq!(status, 200, "{after}");
    assert_eq!(rows(&after), vec![("ok".into(), 5, 5, 5)]);
    let (status, metrics) = server.get_text("/metrics");
    assert_eq!(status, 200);
    let traps = metrics
        .lines()
        .find_map(|line| line.strip_prefix("topk_guest_traps_total "))
        .unwrap_or_else(|| panic!("no trap counter:\n{metrics}"));
    assert!(
        traps.trim().parse::<f64>().unwrap() >= 3.0,
        "traps: {traps}"
    );
    assert!(
        server.log_text().contains("memory"),
        "the log names the memory limit"
    );
}

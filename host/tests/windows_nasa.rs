//! Event-time windows on the NASA-HTTP log of 1 August 1995: the top host of every hour from
//! `topk run` (tumbling one-hour windows over panes and hour rollups) equals an exact count.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{rows, workspace, Server};

const HOUR_MS: i64 = 3_600_000;

/// Exact counts of each host per hour, from the TSV's `host` and `time` (epoch seconds) columns.
fn exact_hourly() -> BTreeMap<i64, HashMap<String, u64>> {
    let text =
        std::fs::read_to_string(workspace().join("data/nasa_http_19950801/nasa_19950801.tsv"))
            .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let host = header.iter().position(|name| *name == "host").unwrap();
    let time = header.iter().position(|name| *name == "time").unwrap();

    let mut hours: BTreeMap<i64, HashMap<String, u64>> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let millis = fields[time].parse::<i64>().unwrap() * 1000;
        let hour = millis.div_euclid(HOUR_MS) * HOUR_MS;
        *hours
            .entry(hour)
            .or_default()
            .entry(fields[host].to_string())
            .or_default() += 1;
    }
    hours
}

#[test]
fn top_host_per_hour_matches_exact_count() {
    let directory = tempfile::tempdir().unwrap();
    let server = Server::start(
        &directory.path().join("state.redb"),
        &[
            "data/nasa_http_19950801/nasa_19950801.tsv",
            "--format",
            "tsv",
            "--item",
            "host",
            "--time",
            "time",
            "--time-format",
            "epoch-s",
            "--map-size",
            "65536",
        ],
    );
    let expected = exact_hourly();
    let total: u64 = expected.values().flat_map(|hosts| hosts.values()).sum();
    let windows = server.wait_for("/api/v1/windows", Duration::from_secs(120), |body| {
        body["counters"]["events"].as_u64() == Some(total)
    });
    assert_eq!(
        windows["counters"]["too_late_events"], 0,
        "the NASA log is in time order"
    );
    let hour_rollups = windows["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|unit| unit["level"] == "hour")
        .count();
    assert!(
        hour_rollups >= 10,
        "expected hour rollups for the closed hours, got {hour_rollups}"
    );

    for (hour, hosts) in &expected {
        let (status, body) = server.get(&format!(
            "/api/v1/heavy-hitters?k=10&window=tumbling:1h&at={hour}"
        ));
        assert_eq!(status, 200, "{body}");
        let answer = rows(&body);
        let top_count = *hosts.values().max().unwrap();

        let (item, estimate, lower, upper) = &answer[0];
        assert_eq!(*estimate, top_count, "hour {hour}: top estimate");
        assert_eq!(
            hosts.get(item).copied(),
            Some(top_count),
            "hour {hour}: {item} is not a top host"
        );
        assert!(lower <= estimate, "hour {hour}: lower bound above estimate");
        assert!(estimate <= upper, "hour {hour}: estimate above upper bound");
        for (item, _, lower, upper) in &answer {
            let truth = hosts.get(item).copied().unwrap_or(0);
            assert!(
                *lower <= truth,
                "hour {hour}: {item} true {truth} below lower bound {lower}"
            );
            assert!(
                truth <= *upper,
                "hour {hour}: {item} true {truth} above upper bound {upper}"
            );
        }
        assert_eq!(
            body["metadata"]["accuracy"]["total_weight"].as_u64(),
            Some(hosts.values().sum::<u64>()),
            "hour {hour}: total"
        );
    }
}

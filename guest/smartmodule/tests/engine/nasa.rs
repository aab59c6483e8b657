//! The NASA HTTP log of 1 August 1995 (30,969 requests) as JSON records in three partitions.

use std::collections::HashMap;

use fluvio_smartengine::Lookback;
use topk_sketch::{snapshot, Summary};

use crate::harness::*;

const PARTITIONS: usize = 3;

/// Records per engine call, like a producer batch.
const BATCH: usize = 500;

/// One request of the log.
pub struct Request {
    pub host: String,
    pub time: i64,
    pub json: Vec<u8>,
}

/// Reads the log and turns each row into a JSON record with host, time, method, url and response.
pub fn requests() -> Vec<Request> {
    let path = workspace_root().join("data/nasa_http_19950801/nasa_19950801.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header row").split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|found| *found == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let (host, time, method, url, response) = (
        column("host"),
        column("time"),
        column("method"),
        column("url"),
        column("response"),
    );

    lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let time_s: i64 = fields[time].parse().expect("time is epoch seconds");
            let json = serde_json::json!({
                "host": fields[host],
                "time": time_s,
                "method": fields[method],
                "url": fields[url],
                "response": fields[response],
            });
            Request {
                host: fields[host].to_string(),
                time: time_s,
                json: serde_json::to_vec(&json).unwrap(),
            }
        })
        .collect()
}

/// Exact request count per host.
pub fn exact_counts(requests: &[Request]) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for request in requests {
        *counts.entry(request.host.clone()).or_insert(0) += 1;
    }
    counts
}

/// Returns a record with only the event-time field. It moves the watermark past the last pane so
/// that pane closes, and it is counted as malformed.
fn heartbeat(requests: &[Request]) -> Vec<u8> {
    let last = requests.iter().map(|request| request.time).max().unwrap();
    format!(r#"{{"time":{}}}"#, last + 7_200).into_bytes()
}

fn params(source: &str) -> Vec<(&'static str, String)> {
    vec![
        ("item", "/host".into()),
        ("event_time", "/time".into()),
        ("event_time_unit", "s".into()),
        ("pane_size", "1h".into()),
        ("allowed_lateness", "1m".into()),
        // 4,096 slots track 3,072 hosts per pane and partition, more than any hour of this log
        // has, so the counts are exact and comparable with the exact ones.
        ("capacity", "4096".into()),
        ("source", source.into()),
        ("skip_counted", "true".into()),
    ]
}

fn chain_for(
    source: &str,
    lookback: Option<Lookback>,
) -> fluvio_smartengine::SmartModuleChainInstance {
    let params = params(source);
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    chain_with(
        topk_module(),
        &pairs,
        ChainOptions {
            lookback,
            ..ChainOptions::default()
        },
    )
    .expect("chain initializes")
}

/// Splits the log round-robin into partitions, so every busy host appears in all of them.
fn partition(requests: &[Request], index: usize) -> Vec<Vec<u8>> {
    requests
        .iter()
        .skip(index)
        .step_by(PARTITIONS)
        .map(|request| request.json.clone())
        .collect()
}

/// Runs each partition through its own chain and returns each partition's snapshots.
pub fn partition_snapshots(requests: &[Request]) -> Vec<Vec<Vec<u8>>> {
    (0..PARTITIONS)
        .map(|index| {
            let mut records = partition(requests, index);
            records.push(heartbeat(requests));
            let mut chain = chain_for(&format!("nasa/{index}"), None);
            process_all(&mut chain, 0, &records, BATCH)
                .into_iter()
                .map(|output| output.value)
                .collect()
        })
        .collect()
}

/// Merges every snapshot of every partition: the module's result for the whole log.
pub fn merged_answer(snapshots: &[Vec<Vec<u8>>]) -> Summary {
    merge(snapshots.iter().flatten().map(Vec::as_slice))
}

fn assert_matches_exact(merged: &Summary, counts: &HashMap<String, u64>) {
    let exact = exact_top_k(counts, 10);
    let answer = top_k(merged, 10);
    assert_eq!(answer.len(), 10);
    for (host, estimate) in &answer {
        assert_eq!(Some(estimate), counts.get(host), "estimate of {host}");
    }
    let exact_counts: Vec<u64> = exact.iter().map(|(_, count)| *count).collect();
    let answer_counts: Vec<u64> = answer.iter().map(|(_, count)| *count).collect();
    assert_eq!(answer_counts, exact_counts, "top-10 counts");

    for (host, count) in counts {
        let estimate = merged.estimate(host.as_bytes());
        assert!(
            estimate.lower_bound <= *count,
            "lower bound of {host}: {} > {count}",
            estimate.lower_bound
        );
        assert!(
            *count <= estimate.upper_bound,
            "upper bound of {host}: {} < {count}",
            estimate.upper_bound
        );
    }
}

#[test]
fn nasa_partitions_merge_exact() {
    let requests = requests();
    let counts = exact_counts(&requests);
    let snapshots = partition_snapshots(&requests);

    let hours: std::collections::BTreeSet<i64> = requests
        .iter()
        .map(|request| request.time / 3_600)
        .collect();
    for (index, partition) in snapshots.iter().enumerate() {
        assert!(
            partition.len() >= hours.len(),
            "partition {index} emitted {} snapshots for {} hourly panes",
            partition.len(),
            hours.len()
        );
    }
    let merged = merged_answer(&snapshots);
    assert_eq!(merged.total_weight(), requests.len() as u64);
    assert_eq!(merged.maximum_error(), 0);
    assert_eq!(
        merged.metadata.malformed_records, PARTITIONS as u64,
        "one heartbeat per partition"
    );
    assert_matches_exact(&merged, &counts);

    let ranges: Vec<(Vec<u8>, u64, u64)> = merged
        .metadata
        .sources
        .iter()
        .map(|range| (range.source.clone(), range.start, range.end))
        .collect();
    for (index, (source, start, end)) in ranges.iter().enumerate() {
        assert_eq!(source, format!("nasa/{index}").as_bytes());
        assert_eq!(*start, 0);
        assert_eq!(
            *end as usize,
            partition(&requests, index).len() + 1,
            "offsets of nasa/{index}, heartbeat included"
        );
    }

    // One snapshot file per partition for the browser and host tests (the partition's merge),
    // and the merged top-10 as JSON rows for comparison with other runtimes' results.
    let directory = workspace_root().join("target/e2e");
    std::fs::create_dir_all(&directory).unwrap();
    for (index, partition) in snapshots.iter().enumerate() {
        let summary = merge(partition.iter().map(Vec::as_slice));
        std::fs::write(
            directory.join(format!("smartmodule-nasa-p{index}.snap")),
            snapshot::encode(&summary),
        )
        .unwrap();
    }
    let rows: Vec<serde_json::Value> = top_k(&merged, 10)
        .into_iter()
        .map(|(item, count)| serde_json::json!({"item": item, "count": count}))
        .collect();
    std::fs::write(
        directory.join("smartmodule-nasa-top10.json"),
        serde_json::to_vec_pretty(&rows).unwrap(),
    )
    .unwrap();
    println!("top-10 hosts from the merged SmartModule snapshots: {rows:?}");
}

#[test]
fn restart_resumes_exact() {
    let requests = requests();
    let counts = exact_counts(&requests);
    let mut all_snapshots = Vec::new();

    for index in 0..PARTITIONS {
        let mut records = partition(&requests, index);
        records.push(heartbeat(&requests));
        let source = format!("nasa/{index}");

        // The first instance stops two thirds in; what it counted since its last snapshot is lost.
        let stop = records.len() * 2 / 3;
        let mut first = chain_for(&source, None);
        let before: Vec<Vec<u8>> = process_all(&mut first, 0, &records[..stop], BATCH)
            .into_iter()
            .map(|output| output.value)
            .collect();
        drop(first);
        let resume = before
            .iter()
            .filter_map(|bytes| snapshot::decode(bytes).ok())
            .map(|summary| summary.metadata.sources[0].end)
            .max()
            .unwrap();
        assert!(
            (resume as usize) < stop,
            "the first instance has unsent counts at the stop"
        );

        // The new instance reads the last snapshots back while the source replays from an older
        // offset. Records below the restored end offset are skipped, so none counts twice.
        let mut second = chain_for(&source, Some(Lookback::Last(4)));
        look_back(
            &mut second,
            before[before.len().saturating_sub(4)..].to_vec(),
        )
        .expect("look_back succeeds");
        let replay_from = stop / 2;
        let after = process_all(
            &mut second,
            replay_from as i64,
            &records[replay_from..],
            BATCH,
        );

        all_snapshots.extend(before);
        all_snapshots.extend(after.into_iter().map(|output| output.value));
    }

    let merged = merge(all_snapshots.iter().map(Vec::as_slice));
    assert_eq!(
        merged.total_weight(),
        requests.len() as u64,
        "every request counted once"
    );
    assert_matches_exact(&merged, &counts);
}

#[test]
fn restart_without_lookback_double_counts() {
    let requests = requests();
    let mut records = partition(&requests, 0);
    records.push(heartbeat(&requests));

    let stop = records.len() / 2;
    let mut first = chain_for("nasa/0", None);
    let mut snapshots: Vec<Vec<u8>> = process_all(&mut first, 0, &records[..stop], BATCH)
        .into_iter()
        .map(|output| output.value)
        .collect();
    let mut second = chain_for("nasa/0", None);
    snapshots.extend(
        process_all(&mut second, 0, &records, BATCH)
            .into_iter()
            .map(|output| output.value),
    );

    // Without look_back the replay counts the first half again: the check above is not vacuous.
    let merged = merge(snapshots.iter().map(Vec::as_slice));
    assert!(merged.total_weight() > (records.len() - 1) as u64);
}

/// Returns the `topk` binary that `cargo test --workspace` builds for the host's own tests.
fn topk_binary() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("debug/topk");
    assert!(
        path.exists(),
        "{} is missing; build it with `cargo build -p topk-host` (cargo test --workspace does)",
        path.display()
    );
    path
}

#[test]
fn nasa_partitions_match_host_query() {
    let requests = requests();
    let merged = merged_answer(&partition_snapshots(&requests));

    // The host counts the whole file through the component, in one process.
    let output = std::process::Command::new(topk_binary())
        .args(["query", "--format", "tsv", "--item", "host", "--k", "10", "--json"])
        .arg(workspace_root().join("data/nasa_http_19950801/nasa_19950801.tsv"))
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let host_rows: Vec<(String, u64)> = answer["groups"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["item"].as_str().unwrap().to_string(), row["estimate"].as_u64().unwrap()))
        .collect();

    assert_eq!(host_rows.len(), 10);
    assert_eq!(top_k(&merged, 10), host_rows);
    assert_eq!(answer["groups"][0]["total"].as_u64(), Some(merged.total_weight()));
}
